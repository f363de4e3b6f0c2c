"""Benchmark: the curation chain clean -> lang -> quality -> exact-dedup signatures -> MinHash signatures, one core.

Input: every English-or-not document the PubMed reader gives for the real baseline file, and the 697-page
Common Crawl file of the Dolma samples, parsed first (parsing is not timed). Each step runs over the previous
step's output in this process, exactly as one datatrove task runs it; MB/s counts the text characters that
enter the chain, over the process's CPU time (one core; other load on the machine does not count). Also
prints the MinHash signature memory per million documents (the bucket files a task writes, and the full
signatures kept for verification).

Usage: python benchmarks/bench_curation_chain.py [--data ../shared/data] [--lang-backend fasttext|langdetect]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchutil import DEFAULT_DATA, peak_rss_mb


def documents(data: Path) -> list:
    from medcorpus.sources.general import GeneralReader
    from medcorpus.sources.pubmed.reader import PubMedReader

    pubmed = list(PubMedReader([str(data / "pubmed" / "pubmed20n0014.xml.gz")]).run())
    cc = data / "general" / "dolma_test_data" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    general = list(GeneralReader([str(cc)]).run())
    return pubmed + general


def chain(work: Path, backend: str) -> list[tuple[str, object]]:
    from medcorpus.curation.clean.cleaner import TextCleaner
    from medcorpus.curation.dedup.exact import exact_dedup_steps
    from medcorpus.curation.dedup.near.pipeline import NearDedupSignature, minhash_config
    from medcorpus.curation.language.filter import LanguageFilter
    from medcorpus.curation.quality.filter import QualityFilter

    signature, _find, _drop = exact_dedup_steps(str(work / "exact"), str(work / "dups"), ["pubmed", "general"])
    near = NearDedupSignature(str(work / "minhash"), str(work / "docs"), minhash_config(3, 20, 5), ["pubmed"])
    return [
        ("clean", TextCleaner()),
        (f"lang ({backend})", LanguageFilter(seed=1234, backend=backend)),
        ("quality", QualityFilter()),
        ("exact dedup signatures", signature),
        ("MinHash signatures", near),
    ]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--lang-backend", choices=("langdetect", "fasttext"), default="fasttext")
    args = parser.parse_args()
    if not (args.data / "pubmed").is_dir():
        print(f"skipped: no real data under {args.data}")
        return
    docs = documents(args.data)
    megabytes = sum(len(d.text) for d in docs) / 1e6
    print(f"chain input: {len(docs)} documents, {megabytes:.1f} MB of text (PubMed baseline + Common Crawl)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        total = 0.0
        current = docs
        for name, step in chain(work, args.lang_backend):
            size = sum(len(d.text) for d in current) / 1e6
            started = time.process_time()
            output = step.run(iter(current), rank=0, world_size=1)  # signature steps write files, yield nothing
            current = list(output) if output is not None else current
            seconds = time.process_time() - started
            total += seconds
            print(f"  {name:24s} {len(current):6d} docs out  {seconds:6.2f} s  {size / seconds:6.2f} MB/s")
        signatures = folder_bytes(work / "minhash") + folder_bytes(work / "docs")
        print(f"chain: {megabytes / total:.2f} MB/s per core over {total:.1f} s of CPU time (target >= 2 MB/s)")
        print(
            f"MinHash files: {signatures / 1e6:.1f} MB for {len(current)} documents = "
            f"{signatures / len(current) * 1e6 / 1e9:.2f} GB per million documents on disk"
        )
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
