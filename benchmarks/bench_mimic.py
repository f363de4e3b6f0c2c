"""Benchmark: the MIMIC reader on a synthetic ~200 MB NOTEEVENTS.csv, read directly and through the split path.

No real MIMIC text exists here: the file is generated at benchmark time in a temporary folder from
made-up sentences (note lengths skewed like MIMIC-III's, ~2% exact duplicates, CRLF and LF notes,
quoted phrases, one note over Python csv's default 131,072-character field limit).

Measured, each in its own forked process so that its peak RSS is its own:
- direct: `MimicReader` over the CSV, one task (documents produced, not written);
- split: the splitting pass (one task per file) writing Parquet parts, then the reading pass over the
  parts with `--workers` tasks in parallel (documents produced, not written); notes/s and MB/s are
  given for the whole path and per core (wall time x cores used);
- stage: the same two, each through the source stage with its Parquet writer (direct = one task).

Usage: python benchmarks/bench_mimic.py [--mb 200] [--workers 2] [--folder /tmp/...]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import tempfile
import time
from pathlib import Path

from benchutil import in_child

os.environ.setdefault("LOGURU_LEVEL", "WARNING")  # before datatrove sets up its logger

from datatrove.pipeline.base import PipelineStep  # noqa: E402

SENTENCES = [
    "Patient resting comfortably overnight with no acute events.",
    "Vital signs stable, afebrile, heart rate in the seventies and regular.",
    'He reports "much less" shortness of breath since yesterday, and walked the hallway twice.',
    "Lungs with scattered crackles at the bases, no wheezes.",
    "Abdomen soft, nontender, bowel sounds present in all quadrants.",
    "Continue intravenous diuresis with a goal of one liter negative today.",
    "Potassium repleted; recheck electrolytes this evening.",
    "Tolerating a regular diet; no nausea or vomiting.",
    "Pain controlled with oral acetaminophen; declined opioids.",
    "Family updated at the bedside and questions answered.",
    "Plan discussed with the attending physician, who agrees.",
    "Chest radiograph shows improving bilateral effusions without new consolidation.",
]
SECTIONS = ["HISTORY OF PRESENT ILLNESS:", "PHYSICAL EXAM:", "LABS:", "ASSESSMENT AND PLAN:", "DISPOSITION:"]
CATEGORIES = ["Nursing/other"] * 5 + ["Radiology"] * 4 + ["Nursing", "Physician ", "ECG", "Discharge summary"]
COLUMNS = "ROW_ID SUBJECT_ID HADM_ID CHARTDATE CHARTTIME STORETIME CATEGORY DESCRIPTION CGID ISERROR TEXT".split()
HEADER = ",".join(f'"{column}"' for column in COLUMNS)


def make_note(rng: random.Random) -> str:
    """A made-up note: mostly short, some long (discharge-summary sized)."""
    sentences = int(rng.lognormvariate(2.1, 1.0)) + 1
    lines = []
    for number in range(sentences):
        if number % 8 == 0:
            lines.append("\n" + rng.choice(SECTIONS))
        lines.append(" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 3))))
    text = "\n".join(lines).strip()
    return text.replace("\n", "\r\n") if rng.random() < 0.3 else text


def write_noteevents(path: Path, megabytes: int, seed: int = 0) -> int:
    """Write the synthetic NOTEEVENTS.csv; returns its number of notes."""
    rng = random.Random(seed)
    target, size, notes, recent = megabytes * 1_000_000, 0, 0, []
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER + "\n")
        writer = csv.writer(handle, lineterminator="\n")
        while size < target:
            notes += 1
            if notes == 1000:
                text = make_note(rng) + "\n" + "Long addendum line with repeated content.\n" * 8000
            elif recent and rng.random() < 0.02:
                text = rng.choice(recent)
            else:
                text = make_note(rng)
                recent = (recent + [text])[-50:]
            category = rng.choice(CATEGORIES)
            row = [notes, 10000 + notes % 40000, "" if notes % 9 == 0 else 100000 + notes // 3]
            row += ["2142-03-12 00:00:00", "", "", category, "Report", "", "1" if notes % 997 == 0 else "", text]
            writer.writerow(row)
            size += len(text) + 70
    return notes


class Drain(PipelineStep):
    """The last step: consumes a task's documents without writing them."""

    name = "drain"

    def run(self, data, rank: int = 0, world_size: int = 1):
        for _ in data:
            pass
        yield from ()


def direct(path: Path, _workers: int, _work: str) -> dict:
    from medcorpus.sources.mimic.reader import MimicReader

    started = time.perf_counter()
    documents = sum(1 for _ in MimicReader([str(path)]).run())
    return {"seconds": time.perf_counter() - started, "documents": documents, "cores": 1}


def split(path: Path, workers: int, work: str) -> dict:
    from medcorpus.run.executors import build_executors
    from medcorpus.run.stages import Stage
    from medcorpus.sources.mimic.split import MimicPartReader, MimicSplitter

    parts = os.path.join(work, "parts")
    started = time.perf_counter()
    list(MimicSplitter([str(path)], parts).run())
    splitting = time.perf_counter() - started

    stage = Stage("read", work, [([MimicPartReader(parts, 1), Drain()], workers)])
    build_executors([stage], "local", workers).run()
    seconds = time.perf_counter() - started
    documents = sum(1 for _ in MimicPartReader(parts, 1).run())
    return {"seconds": seconds, "split_seconds": splitting, "documents": documents, "cores": workers}


def stage(path: Path, workers: int, work: str) -> dict:
    from medcorpus.run.config import SourceConfig
    from medcorpus.run.context import StageContext
    from medcorpus.run.executors import run_stages
    from medcorpus.run.stages import source_stage

    sources = {"mimic": SourceConfig(type="mimic", inputs=[str(path)])}
    built = source_stage(sources, StageContext(os.path.join(work, "out"), "parquet", workers))
    started = time.perf_counter()
    run_stages([built], "local", workers)
    return {"seconds": time.perf_counter() - started, "cores": workers}


def stage_direct(path: Path, _workers: int, work: str) -> dict:
    from medcorpus.io.formats import make_writer
    from medcorpus.run.executors import run_stages
    from medcorpus.run.stages import Stage
    from medcorpus.sources.mimic.reader import MimicReader

    out = os.path.join(work, "direct")
    built = Stage("direct", out, [([MimicReader([str(path)]), make_writer(out, "parquet")], 1)])
    started = time.perf_counter()
    run_stages([built], "local", 1)
    return {"seconds": time.perf_counter() - started, "cores": 1}


def show(name: str, result: dict, megabytes: float, notes: int) -> None:
    seconds, cores = result["seconds"], result["cores"]
    line = (
        f"{name:<28}{seconds:>8.2f} s{notes / seconds:>10,.0f} notes/s{megabytes / seconds:>8.1f} MB/s"
        f"{megabytes / seconds / cores:>8.1f} MB/s/core{result['peak_rss_mb']:>8.0f} MB peak RSS"
    )
    if "split_seconds" in result:
        line += f"  (splitting pass {result['split_seconds']:.2f} s)"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200, help="size of the synthetic NOTEEVENTS.csv")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folder", default=None, help="temporary folder (default: the system's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as work:
        path = Path(work) / "NOTEEVENTS.csv"
        started = time.perf_counter()
        notes = write_noteevents(path, args.mb)
        megabytes = path.stat().st_size / 1e6
        print(f"synthetic NOTEEVENTS.csv: {megabytes:.0f} MB, {notes:,} notes ({time.perf_counter() - started:.1f} s)")
        print(f"cpu cores available: {os.cpu_count()}")
        for name, function, workers in [
            ("direct reading, 1 task", direct, 1),
            (f"split path, {args.workers} workers", split, args.workers),
            ("stage direct + writer, 1", stage_direct, 1),
            (f"stage split + writer, {args.workers}", stage, args.workers),
        ]:
            with tempfile.TemporaryDirectory(dir=work) as scratch:
                show(name, in_child(function, path, workers, scratch, quiet=True), megabytes, notes)


if __name__ == "__main__":
    main()
