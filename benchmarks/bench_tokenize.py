"""Benchmark: tokenization speed on real PubMed abstracts (encode_documents and the ShardTokenizer step).

Usage: python benchmarks/bench_tokenize.py [--input ../shared/data/pubmed/pubmed20n0014.xml.gz] [--limit N]
Skips with a message when the PubMed file is absent.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from datatrove.data import Document

from medcorpus.sources.pubmed import PubMedReader
from medcorpus.tokenize import ShardReader, ShardTokenizer, load_tokenizer

DEFAULT_INPUT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pubmed" / "pubmed20n0014.xml.gz"


def read_abstracts(path: Path, limit: int) -> list[Document]:
    """Documents of every PubMed citation with an abstract, through the project's own reader (no filters)."""
    reader = PubMedReader([str(path)], limit=limit, min_abstract_chars=0, languages=(), exclude_publication_types=())
    return list(reader.run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--limit", type=int, default=1_000_000, help="most abstracts to use")
    parser.add_argument("--tokenizer", default="mistral-7b-v0.1")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    if not args.input.is_file():
        print(f"SKIP: PubMed input not found at {args.input}")
        return

    started = time.perf_counter()
    documents = read_abstracts(args.input, args.limit)
    characters = sum(len(document.text) for document in documents)
    seconds = time.perf_counter() - started
    print(f"parsed {len(documents):,} abstracts ({characters / 1e6:.1f} M chars) in {seconds:.1f} s")
    tokenizer = load_tokenizer(args.tokenizer)
    texts = [document.text for document in documents]

    started = time.perf_counter()
    one_by_one = [tokenizer.encode_document(text) for text in texts]
    seconds = time.perf_counter() - started
    tokens = sum(len(ids) for ids in one_by_one)
    rate = tokens / seconds / 1e6
    print(f"encode_document (one by one): {tokens:,} tokens in {seconds:.2f} s = {rate:.2f} M tokens/s")

    started = time.perf_counter()
    batched = []
    for start in range(0, len(texts), args.batch_size):
        batched.extend(tokenizer.encode_documents(texts[start : start + args.batch_size]))
    seconds = time.perf_counter() - started
    assert batched == one_by_one, "batched encoding differs from one-by-one encoding"
    print(
        f"encode_documents (batch {args.batch_size}, {os.cpu_count()} CPUs): {tokens / seconds / 1e6:.2f} M tokens/s "
        f"({characters / seconds / 1e6:.1f} M chars/s, {characters / tokens:.2f} chars/token)"
    )

    with tempfile.TemporaryDirectory() as folder:
        step = ShardTokenizer(folder, tokenizer=args.tokenizer, batch_size=args.batch_size)
        started = time.perf_counter()
        for _ in step.run(iter(documents), rank=0):
            pass
        seconds = time.perf_counter() - started
        reader = ShardReader(os.path.join(folder, "00000"))
        assert reader.total_tokens == tokens
        print(f"ShardTokenizer step (tokenize + write shard): {tokens / seconds / 1e6:.2f} M tokens/s")


if __name__ == "__main__":
    main()
