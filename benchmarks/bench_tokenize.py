"""Benchmark: tokenize + shard writing vs raw encode speed and vs a Megatron-LM-style baseline, on PubMed abstracts.

Usage: python benchmarks/bench_tokenize.py [--input ../shared/data/pubmed/pubmed20n0014.xml.gz] [--repeat 2]
       [--workers 1 2] [--limit N]

Measured on the same texts, tokenizer and machine:
  raw      the tokenizer's own encode in one process, texts already in memory (tokens/s; one core)
  ours     `medcorpus tokenize` (CLI code path: datatrove reader over intermediate Parquet -> ShardTokenizer ->
           .bin/.idx + provenance sidecar + manifest with sha256), in a fresh process, N workers
  megatron what Megatron-LM's tools/preprocess_data.py does: a multiprocessing Pool of N encoders over a JSONL
           file (json.loads, encode, BOS/EOS), the parent writing with megatron-core's IndexedDatasetBuilder
Each run happens in a fresh process, `--rounds` times interleaved; the table shows the best round (the
machine may be shared) and the largest peak RSS of any process of the run (parent or worker). Skips when the
PubMed file is absent; the Megatron rows are skipped when megatron-core is not installed (`pip install -e '.[train]'`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import DEFAULT_DATA, process_tree, rss_kb  # noqa: E402
from datatrove.data import Document  # noqa: E402

from medcorpus.sources.pubmed.reader import PubMedReader  # noqa: E402
from medcorpus.tokenize import ShardReader, list_shards, load_tokenizer  # noqa: E402

RAW, OURS, MEGATRON = "raw encode (1 process)", "medcorpus tokenize", "megatron-style pool"
DEFAULT_INPUT = DEFAULT_DATA / "pubmed" / "pubmed20n0014.xml.gz"
FILES = 8  # intermediate files, so that every worker count up to 8 gets an equal share


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _sample_rss(stop: threading.Event, peaks: dict[int, int]) -> None:
    """Every 100 ms, the resident set of this process and each descendant (ru_maxrss survives exec, so it
    would report the spawning parent's memory)."""
    while not stop.wait(0.1):
        for pid in process_tree(os.getpid()):
            peaks[pid] = max(peaks.get(pid, 0), rss_kb(pid))


def _measured(function, args: tuple, queue) -> None:
    """Child side of `in_fresh_process`: the result plus the largest peak RSS of any process of its tree."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # datatrove's per-task logs; they also go to its logs folder
    stop, peaks = threading.Event(), {}
    sampler = threading.Thread(target=_sample_rss, args=(stop, peaks), daemon=True)
    sampler.start()
    result = function(*args)
    stop.set()
    sampler.join()
    result["peak_rss_mb"] = max(peaks.values(), default=rss_kb(os.getpid())) / 1024
    queue.put(result)


def in_fresh_process(function, *args) -> dict:
    """Run `function(*args)` in a newly spawned interpreter (nothing inherited, so its RSS is its own)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measured, args=(function, args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def read_abstracts(path: Path, limit: int, repeat: int) -> list[Document]:
    """Every PubMed citation with an abstract, through the project's reader (no filters), `repeat` times."""
    reader = PubMedReader([str(path)], limit=limit, min_abstract_chars=0, languages=(), exclude_publication_types=())
    base = list(reader.run())
    return [
        Document(text=doc.text, id=f"{doc.id}#{copy}", metadata=dict(doc.metadata))
        for copy in range(repeat)
        for doc in base
    ]


def write_inputs(documents: list[Document], folder: Path) -> tuple[str, str]:
    """The same documents as an intermediate Parquet folder (ours) and as one JSONL file (Megatron)."""
    from medcorpus.io.formats import make_writer

    writer = make_writer(str(folder / "docs"), "parquet", filename="pubmed/${rank}")
    step = -(-len(documents) // FILES)
    for rank in range(FILES):
        for _ in writer.run(iter(documents[rank * step : (rank + 1) * step]), rank=rank):
            pass
    jsonl = folder / "docs.jsonl"
    with open(jsonl, "w", encoding="utf-8") as handle:
        for document in documents:
            row = {"id": document.id, "text": document.text, "metadata": document.metadata}  # what ours reads too
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return str(folder / "docs"), str(jsonl)


def raw_encode(tokenizer_name: str, texts: list[str]) -> dict:
    """The tokenizer library alone, one process, one thread: the faster of one-by-one and batch calls."""
    tokenizer = load_tokenizer(tokenizer_name)
    model = tokenizer._load()
    rates, cpu = [], []
    started, cpu_started = time.perf_counter(), time.process_time()
    tokens = sum(len(tokenizer.encode_document(text)) for text in texts)
    rates.append(tokens / (time.perf_counter() - started))
    cpu.append(time.process_time() - cpu_started)
    if tokenizer.kind == "sentencepiece":
        started, cpu_started = time.perf_counter(), time.process_time()
        batch = model.encode(texts, add_bos=True, add_eos=True, num_threads=1)
        rates.append(sum(map(len, batch)) / (time.perf_counter() - started))
        cpu.append(time.process_time() - cpu_started)
    return {"tokens": tokens, "tokens_per_s": max(rates), "cpu_s": min(cpu)}


def run_ours(docs: str, out: str, tokenizer_name: str, workers: int) -> dict:
    """`medcorpus tokenize DOCS -o OUT --workers N`, timed end to end (start-up and manifest included)."""
    from click.testing import CliRunner

    from medcorpus.cli.main import main

    os.environ["MEDCORPUS_PROGRESS"] = "0"
    started, cpu_started = time.perf_counter(), cpu_seconds()
    arguments = ["tokenize", docs, "-o", out, "--tokenizer", tokenizer_name, "--workers", str(workers)]
    result = CliRunner().invoke(main, arguments)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    if result.exit_code != 0:
        raise RuntimeError(f"medcorpus tokenize failed: {result.output[-2000:]}")
    tokens = sum(ShardReader(prefix).total_tokens for prefix in list_shards(out))
    return {"tokens": tokens, "seconds": seconds, "cpu_s": cpu}


_ENCODER = None


def _init_encoder(tokenizer_name: str) -> None:
    global _ENCODER
    _ENCODER = load_tokenizer(tokenizer_name)._load(), load_tokenizer(tokenizer_name)


def _encode_line(line: str) -> list[int]:
    """Megatron's Encoder.encode: parse the JSON line, tokenize its text, add the document markers."""
    model, tokenizer = _ENCODER
    ids = model.encode(json.loads(line)["text"]) if tokenizer.kind == "sentencepiece" else tokenizer.encode(line)
    return [tokenizer.bos_id, *ids, tokenizer.eos_id]


def run_megatron(jsonl: str, out: str, tokenizer_name: str, workers: int) -> dict:
    """Megatron-LM preprocess_data.py's shape: Pool(workers).imap(encode, lines, 32) -> IndexedDatasetBuilder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torch
        from megatron.core.datasets.indexed_dataset import DType, IndexedDatasetBuilder

    vocab_size = load_tokenizer(tokenizer_name).vocab_size
    started, cpu_started = time.perf_counter(), cpu_seconds()
    os.makedirs(out, exist_ok=True)
    builder = IndexedDatasetBuilder(os.path.join(out, "00000.bin"), dtype=DType.optimal_dtype(vocab_size))
    tokens = 0
    with (
        open(jsonl, encoding="utf-8") as lines,
        multiprocessing.Pool(workers, _init_encoder, (tokenizer_name,)) as pool,
    ):
        for ids in pool.imap(_encode_line, lines, 32):
            builder.add_document(torch.IntTensor(ids), [len(ids)])
            tokens += len(ids)
    builder.finalize(os.path.join(out, "00000.idx"))
    return {"tokens": tokens, "seconds": time.perf_counter() - started, "cpu_s": cpu_seconds() - cpu_started}


def megatron_available() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import megatron.core.datasets.indexed_dataset  # noqa: F401
    except ImportError:
        return False
    return True


def same_bytes(first: str, second: str) -> bool:
    return all(Path(first + s).read_bytes() == Path(second + s).read_bytes() for s in (".bin", ".idx"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--limit", type=int, default=1_000_000, help="most abstracts to read")
    parser.add_argument("--repeat", type=int, default=2, help="use the abstracts this many times (a larger corpus)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tokenizer", default="mistral-7b-v0.1")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; the best is shown")
    args = parser.parse_args()
    if not args.input.is_file():
        print(f"SKIP: PubMed input not found at {args.input}")
        return
    documents = read_abstracts(args.input, args.limit, args.repeat)
    characters = sum(len(document.text) for document in documents)
    print(f"{len(documents):,} abstracts ({characters / 1e6:.1f} M chars), {os.cpu_count()} CPUs, {args.tokenizer}")
    # (run, workers) -> [tokens, best tokens/s, best tokens per CPU second, largest peak RSS]
    best: dict[tuple[str, int], list] = {}

    def record(name: str, workers: int, result: dict) -> None:
        rate = result.get("tokens_per_s") or result["tokens"] / result["seconds"]
        entry = best.setdefault((name, workers), [result["tokens"], 0.0, 0.0, 0.0])
        entry[1] = max(entry[1], rate)
        entry[2] = max(entry[2], result["tokens"] / result["cpu_s"])
        entry[3] = max(entry[3], result["peak_rss_mb"])

    identical = None
    with tempfile.TemporaryDirectory() as tmp:
        docs, jsonl = write_inputs(documents, Path(tmp))
        texts = [document.text for document in documents]
        del documents
        for round_ in range(args.rounds):
            raw = in_fresh_process(raw_encode, args.tokenizer, texts)
            record(RAW, 1, raw)
            for workers in args.workers:
                out = os.path.join(tmp, f"ours{workers}-{round_}")
                ours = in_fresh_process(run_ours, docs, out, args.tokenizer, workers)
                assert ours["tokens"] == raw["tokens"], "our shards hold a different number of tokens"
                record(OURS, workers, ours)
                if megatron_available():
                    theirs = os.path.join(tmp, f"megatron{workers}-{round_}")
                    record(MEGATRON, workers, in_fresh_process(run_megatron, jsonl, theirs, args.tokenizer, workers))
                    if workers == 1:
                        identical = same_bytes(os.path.join(out, "00000"), os.path.join(theirs, "00000"))
                    shutil.rmtree(theirs)
                shutil.rmtree(out)
    raw_rate = best[(RAW, 1)][1]
    print(f"best of {args.rounds} rounds")
    header = f"{'run':<24} {'workers':>7} {'tokens':>11} {'M tok/s':>8} {'per worker/raw':>15} {'M tok/CPU-s':>12}"
    print(header + f" {'peak RSS MB':>12}")
    for (name, workers), (tokens, rate, per_cpu, rss) in best.items():
        share = rate / workers / raw_rate
        figures = f"{rate / 1e6:>8.2f} {share:>15.2f} {per_cpu / 1e6:>12.2f} {rss:>12.0f}"
        print(f"{name:<24} {workers:>7} {tokens:>11,} {figures}")
    for workers in args.workers:
        if (MEGATRON, workers) in best:
            ratio = best[(OURS, workers)][1] / best[(MEGATRON, workers)][1]
            print(f"{workers} worker(s): medcorpus / megatron-style = {ratio:.2f}x")
    if identical is not None:
        print(f"1-worker .bin/.idx byte-identical to megatron-core's IndexedDatasetBuilder output: {identical}")
    if not megatron_available():
        print("megatron-style baseline skipped: megatron-core not installed (pip install -e '.[train]')")


if __name__ == "__main__":
    main()
