"""Benchmark: de-identification throughput (MB of note text per second, one core) and token-level scores.

Runs the `Deidentifier`'s span finder over the PhysioNet deid dev notes (placeholders + residual PHI),
after one warm-up pass (word lists load once per process), and reports MB/s, notes/s, recall, precision
and F2, overall and on the two halves (even / odd patient numbers).

Usage: python benchmarks/bench_deid.py [--data ../shared/data] [--repeats 2]
Skips with a message when the data is absent.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchutil import DEFAULT_DATA


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    folder = args.data / "deid" / "physionet_deid_dev"
    if not (folder / "id.text").is_file():
        print(f"SKIP deid: {folder} not found")
        return
    from medcorpus.curation.deid.deidentifier import Deidentifier
    from medcorpus.curation.deid.evaluate import evaluate, load_gold

    started = time.perf_counter()
    step = Deidentifier()
    step.phi_spans("Warm-up note: Dr. Example saw the patient on 3/14.")
    print(f"word lists and detectors loaded in {time.perf_counter() - started:.2f} s")
    notes, _gold = load_gold(folder)
    texts = list(notes.values())
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    best = float("inf")
    for _ in range(args.repeats):
        started = time.perf_counter()
        for text in texts:
            step.phi_spans(text)
        best = min(best, time.perf_counter() - started)
    print(f"deid: {len(texts)} notes, {megabytes:.2f} MB in {best:.2f} s (best of {args.repeats})")
    print(f"deid: {megabytes / best:.3f} MB/s per core, {len(texts) / best:.0f} notes/s (target >= 1 MB/s)")
    for label, keep in (
        ("all", None),
        ("even patients", lambda k: k[0] % 2 == 0),
        ("odd patients", lambda k: k[0] % 2),
    ):
        result = evaluate(folder, step.phi_spans, keep)
        print(
            f"deid {label}: recall {result.recall:.4f}  precision {result.precision:.4f}  F2 {result.f2:.4f}  "
            f"misses/100k words {result.misses_per_100k_words:.1f}"
        )


if __name__ == "__main__":
    main()
