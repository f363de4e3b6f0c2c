"""Hostile and broken inputs through every reader and through a whole run: no crash, no hang, no escape;
and one huge input file shared by several tasks.

Each reader runs in a child process under a timeout, with a local TCP listener standing in for the
network (the XXE files point at it) and an audit hook that refuses sockets. Nothing may be written
outside the output folder, /etc/passwd must never reach a document, and every bad file is counted
with its reason (directly, and in the manifest of a run).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from support.hostile import EVIL_NAME, PASSWD_MARK, SAMPLES, big_jsonl, write_corpus

PYTHON = sys.executable
READER_BOUND_S = 240  # a whole reader over the corpus; hostile PDFs are bounded at 5 s each
CHILD = r"""
import json, sys, time
events = []
def refuse(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
        events.append(event)
        raise PermissionError("network access refused in this test")
sys.addaudithook(refuse)
from medcorpus.paths import expand_inputs
from medcorpus.sources import reader_class
name, folder, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
cls = reader_class(name)
for path in expand_inputs([folder], cls.suffixes):
    reader, rejects, started = cls([path], **options), [], time.monotonic()
    original = reader.reject
    reader.reject = lambda p, reason, doc_id=None: (rejects.append(reason), original(p, reason, doc_id))
    docs = list(reader.run())
    print(json.dumps({
        "file": path.rsplit("/", 1)[-1], "docs": len(docs), "rejects": rejects,
        "longest": max((len(d.text) for d in docs), default=0),
        "passwd": any(%r in d.text for d in docs), "seconds": time.monotonic() - started,
    }), flush=True)
print(json.dumps({"network": events}), flush=True)
""".replace("%r", repr(PASSWD_MARK))

OPTIONS = {
    "pubmed": {"languages": []},
    "pmc": {},
    "guidelines": {"pdf_timeout_s": 5, "pdf_memory_mb": 512},
    "mimic": {},
    "general": {},
}
# Files a reader may turn (partly) into documents: what is hostile about them is removed or bounded.
MAY_KEEP = ("xxe_", "truncated_pubmed", "truncated.jsonl", "bad_utf8.html", "huge_field", "unterminated")


class Listener:
    """A TCP server on localhost that counts the connections it receives."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            client.close()


def snapshot(root: Path, skip: Path | None = None) -> dict[str, int]:
    """Relative path -> size of every file below `root` (except below `skip`)."""
    return {
        str(p.relative_to(root)): p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and (skip is None or skip not in p.parents)
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    listener = Listener()
    absolute = root / "absolute_target"
    write_corpus(root / "in", listener.url, str(absolute))
    (root / "cwd").mkdir()
    (root / "tmp").mkdir()  # TMPDIR of the children: pymupdf's import leaves a small `.ses` file there
    before = snapshot(root)
    yield root, listener
    listener.server.close()
    after = snapshot(root, skip=root / "run")
    # nothing written beside the inputs, by any test
    assert {k: v for k, v in after.items() if not k.startswith("tmp/")} == before
    assert not list(root.rglob(EVIL_NAME)) and not absolute.exists()


def run_reader(name: str, root: Path) -> tuple[list[dict], list[str]]:
    env = os.environ | {"TMPDIR": str(root / "tmp")}
    done = subprocess.run(
        [PYTHON, "-c", CHILD, name, str(root / "in"), json.dumps(OPTIONS[name])],
        cwd=root / "cwd",
        env=env,
        capture_output=True,
        text=True,
        timeout=READER_BOUND_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return lines[:-1], lines[-1]["network"]


@pytest.mark.parametrize("name", list(OPTIONS))
def test_every_reader_survives_the_hostile_corpus(corpus, name):
    root, listener = corpus
    results, network = run_reader(name, root)
    assert results, f"{name} accepted no file of the corpus"
    for result in results:
        file = result["file"]
        assert not result["passwd"], f"{name}: /etc/passwd reached a document of {file}"
        assert result["seconds"] < 60, f"{name}: {file} took {result['seconds']:.0f} s"
        assert result["rejects"] or result["docs"], f"{name}: {file} neither read nor counted"
        if not file.startswith(MAY_KEEP):
            assert result["rejects"] and not result["docs"], f"{name}: {file} was not rejected"
        if not file.startswith("huge_field"):
            assert result["longest"] < 100_000, f"{name}: an entity was expanded in {file}"
    assert network == [] and listener.connections == 0
    assert not any((root / "cwd").iterdir())
    by_file = {r["file"]: set(r["rejects"]) for r in results}
    expected = {
        "pubmed": {"billion_laughs_pubmed.xml": "malformed_xml", "truncated_pubmed.xml.gz": "unreadable_file:EOFError"},
        "pmc": {"evil_pmc.tar.gz": "unsafe_member:path_outside_archive", "truncated_pmc.tar.gz": "unreadable_archive"},
        "guidelines": {"empty.pdf": "unreadable_pdf", "page_loop.pdf": "pdf_worker_crashed"},
        "mimic": {"unterminated_NOTEEVENTS.csv": "bad_row", "empty_csv.csv": "unknown_header"},
        "general": {"empty_jsonl.jsonl": "empty_file", "deep_nesting.jsonl": "bad_json"},
    }[name]
    for file, reason in expected.items():
        assert reason in by_file[file], f"{name}: {file} rejected as {by_file[file]}"


def test_tar_links_and_climbing_members_are_rejected_one_by_one(corpus):
    from support.helpers import read_all

    from medcorpus.sources.pmc.reader import PMCReader

    root, _ = corpus
    docs, rejects = read_all(PMCReader([str(root / "in" / "evil_pmc.tar.gz")]))
    reasons = sorted(reason for reason, _ in rejects)
    assert docs == []
    assert reasons == ["unsafe_member:not_a_regular_file"] * 4 + ["unsafe_member:path_outside_archive"] * 3


@pytest.mark.slow
def test_a_run_over_the_hostile_corpus_counts_every_bad_file(corpus):
    root, listener = corpus
    folder, out = str(root / "in"), root / "run"
    sources = {
        "pubmed": [folder, str(SAMPLES / "pubmed")],
        "pmc": [folder, str(SAMPLES / "pmc")],
        "guidelines": [folder],
        "mimic": [folder, str(SAMPLES / "mimic")],
        "general": [folder, str(SAMPLES / "general")],
    }
    config = {
        "output": str(out),
        "workers": 2,
        "sources": {name: {"type": name, "inputs": paths, "options": OPTIONS[name]} for name, paths in sources.items()},
        "curation": {step: None for step in ("clean", "lang", "dedup", "near_dedup", "deid")},
        "mix": {"ratios": {"biomedical": 1, "clinical": 1, "general": 1}},
    }
    path = root / "cwd" / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    try:
        done = subprocess.run(
            [PYTHON, "-m", "medcorpus", "run", str(path)],
            cwd=root / "cwd",
            capture_output=True,
            text=True,
            timeout=2 * READER_BOUND_S,
        )
    finally:
        path.unlink()
    assert done.returncode == 0, done.stderr[-3000:]
    assert listener.connections == 0
    manifest = json.loads((out / "manifest.json").read_text())
    removed = manifest["stages"][0]["removed"]
    for source, reason in [
        ("pubmed", "malformed_xml"),
        ("pmc", "unsafe_member:path_outside_archive"),
        ("guidelines", "unreadable_pdf"),
        ("mimic", "bad_row"),
        ("general", "empty_file"),
    ]:
        assert removed.get(source, {}).get(reason, 0) >= 1, (source, reason, removed.get(source))
    excluded = out / "stages" / "01_sources" / "excluded"
    records = [m for p in excluded.rglob("*.parquet") for m in pq.read_table(p)["metadata"].to_pylist()]
    named = {json.loads(m)["file"] for m in records}
    bad = {p.name for p in (root / "in").iterdir() if p.name.startswith(("empty", "garbage", "billion", "quadratic"))}
    assert bad <= named, f"bad files not in excluded/: {sorted(bad - named)}"
    for file in out.rglob("*"):
        if file.suffix == ".parquet":
            table = pq.read_table(file)
            if "text" in table.column_names:
                assert not any(PASSWD_MARK in text for text in table["text"].to_pylist()), file
        elif file.is_file():
            assert PASSWD_MARK.encode() not in file.read_bytes(), file


# --- one huge input file shared across tasks -----------------------------------------------------------------
def read_ranks(path: Path, world: int, split_bytes: int) -> tuple[list[list], list[str]]:
    """(id, text) of the documents each of `world` tasks reads from one JSONL file, and all reject reasons."""
    from medcorpus.sources.general import GeneralReader

    per_rank, rejects = [], []
    for rank in range(world):
        reader = GeneralReader([str(path)], split_bytes=split_bytes)
        original = reader.reject
        reader.reject = lambda p, reason, doc_id=None, keep=original: (rejects.append(reason), keep(p, reason, doc_id))
        per_rank.append([(d.id, d.text) for d in reader.run(rank=rank, world_size=world)])
    return per_rank, sorted(rejects)


def test_a_big_jsonl_is_split_by_bytes_and_any_task_count_reads_the_same(tmp_path):
    path = big_jsonl(tmp_path / "big.jsonl", 3000)
    whole, whole_rejects = read_ranks(path, 1, split_bytes=0)
    one, one_rejects = read_ranks(path, 1, split_bytes=4096)
    four, four_rejects = read_ranks(path, 4, split_bytes=4096)
    assert len(whole[0]) > 2500 and whole_rejects.count("bad_json") == 60
    assert [text for _, text in one[0]] == [text for _, text in whole[0]]  # every line once, in file order
    assert sorted(one[0]) == sorted(doc for rank in four for doc in rank)
    assert one_rejects == four_rejects == whole_rejects
    assert all(len(rank) > 500 for rank in four)  # every task got part of the one file
    assert len({doc_id for doc_id, _ in one[0]}) == len(one[0])


def test_byte_ranges_cut_anywhere_in_a_line(tmp_path):
    path = big_jsonl(tmp_path / "small.jsonl", 30)
    whole, _ = read_ranks(path, 1, split_bytes=0)
    for split in (1, 7, 64, 333):
        tasks, _ = read_ranks(path, 3, split_bytes=split)
        assert sorted(text for rank in tasks for _, text in rank) == sorted(text for _, text in whole[0]), split


def test_one_big_csv_and_one_big_jsonl_are_shared_by_four_tasks(tmp_path):
    from support.hostile import PARAGRAPH, _csv, _note

    from medcorpus.run.config import SourceConfig
    from medcorpus.run.context import StageContext
    from medcorpus.run.executors import run_stages
    from medcorpus.run.stages import source_stage

    notes = tmp_path / "NOTEEVENTS.csv"
    notes.write_bytes(_csv([_note(i, f"Note {i}. {PARAGRAPH}") for i in range(1, 401)]))
    sources = {
        "notes": SourceConfig(type="mimic", inputs=[str(notes)]),
        "web": SourceConfig(
            type="general", inputs=[str(big_jsonl(tmp_path / "web.jsonl", 2000))], options={"split_bytes": 8192}
        ),
    }
    out = tmp_path / "out"
    stage = source_stage(sources, StageContext(str(out), "parquet", 4))
    stage.pipelines[0][0][0].part_rows = 40  # the MIMIC splitting pass: ten parts of the one CSV
    assert [tasks for _, tasks in stage.pipelines] == [1, 4, 4]
    run_stages([stage], "local", 4)
    for folder, expected in (("mimic3", 400), ("general", 2000 - 40)):
        files = sorted((out / folder).glob("*.parquet"))
        rows = [pq.read_table(f).num_rows for f in files]
        assert len(files) == 4 and min(rows) > 0 and sum(rows) == expected, (folder, rows)
