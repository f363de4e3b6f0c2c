"""Benchmark: benchmark decontamination over real PubMed abstracts, against every shared benchmark set.

Indexes all of `../shared/data/benchmarks` (13-grams of every question, option, context and answer),
then runs the `Decontaminator` over the English abstracts of the PubMed baseline file `pubmed20n0014`
and reports the index size, abstracts/s and MB/s on one core (process CPU time), and the documents hit.

Usage: python benchmarks/bench_decontam.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from benchutil import DEFAULT_DATA


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=str, default=str(DEFAULT_DATA))
    args = parser.parse_args()
    from pathlib import Path

    from medcorpus.curation.decontam.decontaminator import Decontaminator
    from medcorpus.sources.pubmed.reader import PubMedReader

    data = Path(args.data)
    if not (data / "benchmarks").is_dir():
        sys.exit(f"no benchmark sets under {data}: give --data")
    abstracts = [doc for doc in PubMedReader([str(data / "pubmed" / "pubmed20n0014.xml.gz")]).run()]
    step = Decontaminator([str(data / "benchmarks")])
    started = time.process_time()
    index = step.index
    indexed = time.process_time() - started
    started = time.process_time()
    kept = list(step.run(iter(abstracts)))
    seconds = time.process_time() - started
    megabytes = sum(len(doc.text.encode("utf-8")) for doc in abstracts) / 1e6
    hits = Counter(k for k in step.stats.stats if k.startswith("benchmark_") and k.endswith("_documents"))
    print(f"benchmark files: {len(step.files)}; n-gram hashes indexed: {len(index.hashes):,}", end="")
    size = (index.hashes.nbytes + index.refs.nbytes) / 2**20
    print(f" ({size:.1f} MiB with their item references, built in {indexed:.1f} s CPU)")
    print(f"abstracts: {len(abstracts):,} ({megabytes:.1f} MB); kept {len(kept):,}; hits by benchmark: {dict(hits)}")
    print(f"throughput: {len(abstracts) / seconds:,.0f} abstracts/s, {megabytes / seconds:.2f} MB/s per core")


if __name__ == "__main__":
    main()
