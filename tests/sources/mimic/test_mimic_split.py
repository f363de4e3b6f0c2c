"""Splitting large MIMIC CSVs into Parquet parts: same documents as direct reading, for any number of workers."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support.helpers import read_all
from support.paths import SAMPLES

from medcorpus.run.config import SourceConfig
from medcorpus.run.context import StageContext
from medcorpus.run.counts import read_exclusions
from medcorpus.run.executors import run_stages
from medcorpus.run.stages import source_stage
from medcorpus.sources.mimic.reader import MIMIC3_COLUMNS, MimicReader
from medcorpus.sources.mimic.split import MimicPartReader, MimicSplitter, csv_inputs, list_parts

SAMPLES = SAMPLES / "mimic"
HEADER = ",".join(f'"{c.upper()}"' for c in MIMIC3_COLUMNS)
WORDS = "patient rested overnight with stable vitals clear lungs and a plan to continue therapy".split()


def note(i: int) -> str:
    """A distinct multi-line note; every 9th one repeats an earlier text, every 5th has a quoted phrase."""
    base = i - 4 if i % 9 == 0 else i
    lines = [" ".join(WORDS[(base + k) % len(WORDS)] for k in range(12)) + f" number {base}." for _ in range(3)]
    if i % 5 == 0:
        lines.append('He said "no pain", twice.')
    return "\r\n".join(lines) if i % 2 else "\n".join(lines)


def noteevents(path: Path, count: int, huge: int | None = None) -> Path:
    """A NOTEEVENTS-like CSV with errors, filtered categories, duplicates, bad rows and an optional huge note."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for i in range(1, count + 1):
        text = ("x" * 90 + "\n") * 3000 if i == huge else note(i)
        category = "Echo" if i % 11 == 0 else "Nursing"
        row = [i, 30000 + i, "" if i % 7 == 0 else 150000 + i, "2150-01-01 00:00:00", "", "", category, "Report"]
        row += ["", "1" if i % 13 == 0 else "", "  " if i % 17 == 0 else text]
        writer.writerow(row[:9] if i % 19 == 0 else row)
    data = HEADER + "\n" + buffer.getvalue()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data.encode("utf-8")))
    else:
        path.write_text(data, encoding="utf-8", newline="")
    return path


def run_split(inputs: list[str], out: Path, workers: int, part_rows: int = 40, **options) -> list:
    """Run the source stage as a config run does; the documents written, sorted by id."""
    stage = source_stage(
        {"mimic": SourceConfig(type="mimic", inputs=inputs, options=options)},
        StageContext(str(out), "parquet", workers),
    )
    splitter = stage.pipelines[0][0][0]
    assert isinstance(splitter, MimicSplitter)
    splitter.part_rows = part_rows
    run_stages([stage], "local", workers)
    rows = [row for path in sorted(out.glob("mimic*/*.parquet")) for row in pq.read_table(path).to_pylist()]
    return sorted((row["id"], row["text"], json.loads(row["metadata"])) for row in rows)


def direct(inputs: list[str], **options) -> tuple[list, Counter]:
    docs, rejects = read_all(MimicReader(inputs, **options))
    return sorted((d.id, d.text, d.metadata) for d in docs), Counter(reason for reason, _ in rejects)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    return noteevents(tmp_path_factory.mktemp("raw") / "NOTEEVENTS.csv", 400, huge=123)


def test_split_equals_direct_reading_for_any_worker_count(big, tmp_path):
    expected, reasons = direct([str(big), str(SAMPLES / "discharge.csv")])
    assert {"duplicate_text", "iserror", "empty_text", "bad_row"} <= set(reasons)
    assert any(len(text) > 131_072 for _, text, _ in expected)
    for workers in (1, 3):
        out = tmp_path / f"w{workers}"
        assert run_split([str(big), str(SAMPLES / "discharge.csv")], out, workers) == expected
        parts = list_parts(str(out / "work" / "mimic" / "parts"), 2)
        assert len(parts) > 3 and parts == sorted(parts)
        assert sum(pq.ParquetFile(p).metadata.num_row_groups for p in parts) == len(parts)
        removed = read_exclusions(out / "excluded")["mimic"]
        assert removed == dict(sorted(reasons.items()))
    assert len(list((tmp_path / "w3" / "mimic3").glob("*.parquet"))) == 3  # three tasks shared one file


def test_options_apply_in_the_splitting_pass(big, tmp_path):
    options = {"drop_iserror": False, "drop_duplicate_texts": False, "drop_categories": ["echo"]}
    expected, reasons = direct([str(big)], **options)
    assert "duplicate_text" not in reasons and reasons["category_filtered"] > 0
    assert run_split([str(big)], tmp_path / "out", 2, **options) == expected


def test_truncated_gzip_keeps_the_rows_before_the_damage(tmp_path):
    whole = noteevents(tmp_path / "whole.csv.gz", 300)
    broken = tmp_path / "raw" / "NOTEEVENTS.csv.gz"
    broken.parent.mkdir()
    broken.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) * 2 // 3])
    expected, reasons = direct([str(broken)])
    assert reasons["unreadable_file:EOFError"] == 1 and 50 < len(expected) < 250
    assert run_split([str(broken)], tmp_path / "out", 2) == expected


def test_cxr_inputs_are_read_beside_the_split_csv(big, tmp_path, shared_data):
    report = (shared_data / "mimic/lookalikes/mimic_website_cxr_example/example_report.txt").read_text()
    archive = tmp_path / "mimic-cxr-reports.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("files/p10/p10000032/s50414267.txt", report)
    inputs = [str(big), str(archive)]
    assert csv_inputs(inputs) == [str(big)]
    expected, _ = direct(inputs)
    got = run_split(inputs, tmp_path / "out", 2)
    assert got == expected and got[-1][0] == "mimiccxr:s50414267"


def test_stale_parts_are_removed_or_ignored(big, tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    for name in ("00000_000999.parquet", "00001_000000.parquet"):
        (parts / name).write_bytes(b"not parquet")
    list(MimicSplitter([str(big)], str(parts), part_rows=500).run())
    assert [Path(p).name for p in list_parts(str(parts), 1)] == ["00000_000000.parquet"]
    docs = list(MimicPartReader(str(parts), 1).run())
    assert sorted((d.id, d.text, d.metadata) for d in docs) == direct([str(big)])[0]


def test_unknown_header_is_rejected_by_the_splitting_pass(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('"ID","TEXT"\n1,"a note"\n', encoding="utf-8")
    assert run_split([str(path)], tmp_path / "out", 1) == []
    assert read_exclusions(tmp_path / "out" / "excluded") == {"mimic": {"unknown_header": 1}}
