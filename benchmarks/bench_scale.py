"""Benchmark (issue 20): whole-pipeline throughput of `medcorpus run` on N copies of a PubMed baseline file.

The corpus (`scale_corpus.py`, seeded and byte-reproducible, cached under `--work`) is the shared
`pubmed20n0014.xml.gz` plus N-1 copies with shifted PMIDs and 30% of the title and abstract words replaced,
so they are neither exact nor near duplicates. The run has every curation step on with its defaults
(clean, lang, quality, dedup, near_dedup, deid, decontam against all of `../shared/data/benchmarks`), the
default tokenizer, `mix: {ratios: {biomedical: 1}}` and 2 workers, as a `python -m medcorpus run` child
process. Reported per scale:

- CPU seconds: user + system time of that process and every process it started and waited for (`wait4`);
- MB of text per CPU-second: UTF-8 bytes (10^6 per MB) of the documents the sources stage wrote;
- wall time, and peak RSS: the largest single process (`ru_maxrss`, what the kernel keeps for a waited-for
  process tree) and the whole tree's RSS summed from /proc (sampled every 0.2 s; forked
  workers share pages, so the sum overstates what the tree really holds);
- task-seconds per stage: each task's time from its "Launching pipeline" to its "Processing done" log line,
  summed over the stage's tasks (all its pipelines); `timed` is the part datatrove's step timers saw,
  the rest is mostly what no step times: readers that parse their own input (the PubMed reader), the
  stage counter, process start-up.

Usage: python benchmarks/bench_scale.py [--scale 1 6] [--seed 0] [--work /tmp/medcorpus_bench_scale]
       [--set count_stage_tokens=false ...] [--json] [--keep] [--max-articles N] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import yaml
from benchutil import DEFAULT_DATA, tree_rss_kb
from scale_corpus import build_corpus

PROJECT = Path(__file__).resolve().parents[1]
_TASK_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \|.*\b(Launching pipeline|Processing done) for rank=")


def scale_config(inputs: list[Path], output: Path, benchmarks: Path) -> dict:
    """Every curation step on, defaults otherwise, 2 workers."""
    return {
        "output": str(output),
        "workers": 2,
        "sources": {"pubmed": {"type": "pubmed", "inputs": [str(path) for path in inputs]}},
        "curation": {"quality": {}, "decontam": {"benchmarks": [str(benchmarks)]}},
        "mix": {"ratios": {"biomedical": 1}},
    }


def _tree_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """Keep in `peak[0]` the largest RSS (bytes) summed over process `pid` and its descendants, until `stop`."""
    while not stop.wait(0.2):
        peak[0] = max(peak[0], tree_rss_kb(pid) * 1024)


def measure(command: list[str], log: Path) -> dict:
    """Run `command` (output to `log`): exit code, wall and CPU seconds, peak RSS in MB (largest process, tree)."""
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_tree_rss, args=(process.pid, stop, peak), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    stop.set()
    sampler.join()
    return {
        "returncode": process.returncode,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "peak_tree_rss_mb": peak[0] / 2**20,
    }


def _task_times(log: Path) -> tuple[datetime, datetime] | None:
    """(first launch, last finish) of a datatrove task log, None when it did not finish."""
    launched = finished = None
    with open(log, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = _TASK_LINE.match(line)
            if match:
                moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f")
                if match.group(2) == "Launching pipeline":
                    launched = launched or moment
                else:
                    finished = moment
    return (launched, finished) if launched and finished else None


def _step_label(name: str) -> str:
    """ "📖 - READER: 📒 Parquet" -> "📒 Parquet (reader)": readers and writers of one format share a name."""
    kind, _, label = name.partition(": ")
    if not label:
        return name
    kind = kind.rpartition(" - ")[2].lower()
    return f"{label} ({kind})" if kind in ("reader", "writer") else label


def stage_times(root: Path) -> dict[str, dict]:
    """Per stage (in the order they ran): tasks, task-seconds, wall seconds (first launch to last finish),
    seconds datatrove's step timers recorded (`timed`) and per step (`steps`), from `<pipeline>/logs/task_*.log`
    and `<pipeline>/stats/*.json` of every pipeline folder (`<stage>_<i>`) under `root`."""
    stages: dict[str, dict] = defaultdict(
        lambda: {"tasks": 0, "task_s": 0.0, "timed_s": 0.0, "steps": defaultdict(float)}
    )
    spans: dict[str, list[datetime]] = defaultdict(list)
    for log in sorted(root.rglob("logs/*/logs/task_*.log")):
        times = _task_times(log)
        if times is None:
            continue
        pipeline = log.parent.parent
        name = pipeline.name.rpartition("_")[0]
        stage = stages[name]
        stage["tasks"] += 1
        stage["task_s"] += (times[1] - times[0]).total_seconds()
        spans[name] += times
        stats = pipeline / "stats" / log.name.replace("task_", "").replace(".log", ".json")
        for step in json.loads(stats.read_text()) if stats.exists() else []:
            timing = step.get("time_stats") or 0  # 0 for a step whose timer never ran
            seconds = float(timing.get("total", 0.0) if isinstance(timing, dict) else timing)
            stage["timed_s"] += seconds
            stage["steps"][_step_label(step["name"])] += seconds
    order = sorted(stages, key=lambda name: min(spans[name]))
    return {
        name: {**stages[name], "wall_s": (max(spans[name]) - min(spans[name])).total_seconds()}
        | {"steps": dict(stages[name]["steps"])}
        for name in order
    }


def text_bytes(folder: Path, fmt: str) -> int:
    """UTF-8 bytes of the text of every document a stage wrote to `folder` (`<folder>/<source>/<file>`)."""
    if fmt == "parquet":
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        columns = (pq.read_table(path, columns=["text"]).column("text") for path in sorted(folder.glob("*/*.parquet")))
        return sum(pc.sum(pc.binary_length(column)).as_py() or 0 for column in columns)
    total = 0
    for path in sorted(folder.glob("*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            total += sum(len(json.loads(line)["text"].encode("utf-8")) for line in handle)
    return total


def run_scale(scale: int, args: argparse.Namespace) -> dict:
    """Build (or reuse) the corpus of `scale` files, run the pipeline on it and measure the run."""
    work = Path(args.work)
    key = f"seed{args.seed}" + (f"-first{args.max_articles}" if args.max_articles else "")
    source = Path(args.data) / "pubmed" / "pubmed20n0014.xml.gz"
    inputs = build_corpus(source, work / "corpus" / key, scale, args.seed, max_articles=args.max_articles, log=_note)
    run_dir = work / f"run-{scale}x"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    config = run_dir / "config.yaml"
    config.write_text(yaml.safe_dump(scale_config(inputs, run_dir / "out", Path(args.data) / "benchmarks")))
    command = [sys.executable, "-m", "medcorpus", "run", str(config), "--overwrite"]
    for setting in args.set:
        command += ["--set", setting]
    _note(f"{scale}x: running {' '.join(command[1:])} (log {run_dir / 'run.log'})")
    measured = measure(command, run_dir / "run.log")
    if measured["returncode"] != 0:
        tail = (run_dir / "run.log").read_text(errors="replace").splitlines()[-20:]
        sys.exit(f"{scale}x: medcorpus run failed ({measured['returncode']}):\n" + "\n".join(tail))
    manifest = json.loads((run_dir / "out" / "manifest.json").read_text())
    sources = manifest["stages"][0]
    text = text_bytes(Path(sources["output"]), manifest["config"]["format"])
    result = {
        "scale": scale,
        "setting": ", ".join(args.set) or "defaults",
        "files": len(inputs),
        "xml_gz_bytes": sum(path.stat().st_size for path in inputs),
        "documents": sum(row.get("documents", 0) for row in sources["out"].values()),
        "text_mb": text / 1e6,
        **{key: value for key, value in measured.items() if key != "returncode"},
        "mb_per_cpu_s": text / 1e6 / measured["cpu_s"],
        "mixed_tokens": (manifest.get("mix") or {}).get("total_tokens"),
        "stages": stage_times(run_dir / "out"),
    }
    if not args.keep:
        shutil.rmtree(run_dir / "out", ignore_errors=True)
    return result


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def print_tables(results: list[dict]) -> None:
    head = f"{'scale':<6}{'setting':<28}{'docs':>8}{'text MB':>9}{'CPU s':>8}{'MB/CPU-s':>10}{'wall':>9}"
    print(head + f"{'RSS GB':>8}{'tree GB':>9}")
    for r in results:
        tree = f"{r['peak_tree_rss_mb'] / 1024:.2f}" if r["peak_tree_rss_mb"] is not None else "-"
        print(
            f"{r['scale']}x{'':<4}{r['setting']:<28}{r['documents']:>8,}{r['text_mb']:>9.1f}{r['cpu_s']:>8.0f}"
            f"{r['mb_per_cpu_s']:>10.3f}{_clock(r['wall_s']):>9}{r['peak_rss_mb'] / 1024:>8.2f}{tree:>9}"
        )
    for r in results:
        print(f"\n{r['scale']}x, {r['setting']}: task-seconds per stage (timed: seen by datatrove's step timers)")
        print(f"{'stage':<12}{'tasks':>6}{'task-s':>9}{'share':>7}{'timed':>8}{'wall s':>8}  largest steps")
        total = sum(stage["task_s"] for stage in r["stages"].values()) or 1.0
        for name, stage in sorted(r["stages"].items(), key=lambda item: -item[1]["task_s"]):
            steps = sorted(stage["steps"].items(), key=lambda item: -item[1])[:2]
            listed = ", ".join(f"{step} {seconds:.1f}" for step, seconds in steps if seconds >= 0.05)
            print(
                f"{name:<12}{stage['tasks']:>6}{stage['task_s']:>9.1f}{stage['task_s'] / total:>7.0%}"
                f"{stage['timed_s']:>8.1f}{stage['wall_s']:>8.1f}  {listed}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 6], help="corpus sizes, in baseline files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the copies' word replacement")
    parser.add_argument("--work", default="/tmp/medcorpus_bench_scale", help="corpus cache and run folders")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed to medcorpus run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep each run's output folder")
    parser.add_argument(
        "--max-articles", type=int, default=None, help="only the first records of each file (a smoke test)"
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args()
    if not (Path(args.data) / "pubmed" / "pubmed20n0014.xml.gz").exists():
        print(f"SKIP: real data not found at {args.data}")
        return
    if any(scale < 1 for scale in args.scale):
        parser.error("--scale: a number of files, at least 1")
    results = [run_scale(scale, args) for scale in args.scale]
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "runs": results}, indent=1))
    else:
        print_tables(results)


if __name__ == "__main__":
    main()
