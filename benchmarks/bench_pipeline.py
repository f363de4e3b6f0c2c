"""Benchmark: the whole pipeline on real public data, stage by stage (wall time, documents/s, peak RSS).

Sources: the full PubMed baseline file (30,000 citations), the 38 PMC articles, the guideline
HTML pages and PDFs, and the Dolma general-domain samples from ../shared/data.
Usage: python benchmarks/bench_pipeline.py [--workers 2] [--out /tmp/medcorpus_bench_pipeline] [--keep]
       [--lang-backend langdetect|fasttext]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

from benchutil import DEFAULT_DATA

from medcorpus.run.config import validate
from medcorpus.run.counts import read_counts
from medcorpus.run.executors import run_stages
from medcorpus.run.runner import plan_run, prepare_output

DATA = DEFAULT_DATA


def config(out: Path, workers: int, lang_backend: str) -> dict:
    return {
        "output": str(out),
        "workers": workers,
        "count_stage_tokens": False,
        "sources": {
            "pubmed": {"type": "pubmed", "inputs": [str(DATA / "pubmed" / "pubmed20n0014.xml.gz")]},
            "pmc": {"type": "pmc", "inputs": [str(DATA / "pmc_oa")]},
            "guidelines": {"type": "guidelines", "inputs": [str(DATA / "guidelines")], "options": {"site": "bench"}},
            "general": {"type": "general", "inputs": [str(DATA / "general")], "options": {"name": "dolma"}},
        },
        "curation": {
            "deid": None,
            "lang": {"backend": lang_backend},
            "quality": {},
            "decontam": {"benchmarks": [str(DATA / "benchmarks" / "pubmedqa" / "ori_pqal.json")]},
        },
        "mix": {"ratios": {"biomedical": 15, "general": 4}},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="/tmp/medcorpus_bench_pipeline")
    parser.add_argument("--keep", action="store_true", help="keep the run folder")
    parser.add_argument("--lang-backend", choices=("langdetect", "fasttext"), default="langdetect")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"SKIP: real data not found at {DATA}")
        return
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    settings = validate(config(out, args.workers, args.lang_backend))
    prepare_output(out, overwrite=True, resume=False)
    stages = plan_run(settings)
    print(f"{'stage':<10}{'seconds':>9}{'docs out':>10}{'docs/s':>10}")
    total = time.perf_counter()
    for stage in stages:
        started = time.perf_counter()
        run_stages([stage], "local", args.workers)
        seconds = time.perf_counter() - started
        docs = sum(row.get("documents", 0) for row in read_counts(Path(stage.output) / "stats").values())
        rate = f"{docs / seconds:,.0f}" if docs else "-"
        print(f"{stage.name:<10}{seconds:>9.1f}{docs:>10}{rate:>10}", flush=True)
    manifest = json.loads((out / "manifest.json").read_text())
    print(
        f"total {time.perf_counter() - total:.1f}s; mixed tokens {manifest['mix']['total_tokens']:,}; "
        f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
        f"of its workers {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB"
    )
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
