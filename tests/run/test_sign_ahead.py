"""Signing ahead (`run/ahead.py`): exact-dedup signatures made on the way out of the stage before dedup (and
near-dup signatures on the way out of dedup) equal the ones those stages make by reading their input back, and
are used only when task r reads exactly what task r of the stage before wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datatrove.data import Document

from medcorpus.run.ahead import Ahead, SignAhead
from medcorpus.run.config import validate
from medcorpus.run.runner import run
from medcorpus.sources.pubmed.reader import PubMedReader


class _Recorder:
    def __init__(self) -> None:
        self.added: list[str] = []
        self.saved = False

    def signer(self, rank: int) -> _Recorder:
        return self

    def add(self, document: Document) -> None:
        self.added.append(document.id)

    def __enter__(self) -> _Recorder:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.saved = exc_type is None  # a signer saves when the documents have all passed


def _touch(folder: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")


def test_a_full_grid_is_one_file_per_task_in_every_source_folder(tmp_path):
    ahead = Ahead(str(tmp_path / "markers"), str(tmp_path / "in"), ".parquet")
    assert not ahead.full_grid(2)  # no files at all
    _touch(tmp_path / "in", ["a/00000.parquet", "a/00001.parquet", "b/00000.parquet"])
    assert not ahead.full_grid(2)
    _touch(tmp_path / "in", ["b/00001.parquet"])
    assert ahead.full_grid(2) and not ahead.full_grid(3)
    ahead.mark(1, 2, 7, True)
    assert ahead.signed(1, 2) == 7 and ahead.signed(0, 2) is None and ahead.signed(1, 3) is None
    ahead.mark(0, 2, 5, False)
    assert ahead.signed(0, 2) is None  # not grouped: positions would differ


@pytest.mark.parametrize(
    ("sources", "grouped"),
    [(["a", "a", "b", "b"], True), (["b", "a"], False), (["a", "b", "a"], False), (["a", "a!"], False)],
)
def test_signing_ahead_passes_every_document_on_and_checks_the_source_order(tmp_path, sources, grouped):
    """Grouped means the sorted listing of `<source>/<rank>` files reads the documents back in this order
    ("a!/" sorts before "a/")."""
    recorder, ahead = _Recorder(), Ahead(str(tmp_path), str(tmp_path / "in"), ".parquet")
    docs = [Document(f"text {i}", str(i), metadata={"source": s}) for i, s in enumerate(sources)]
    passed = list(SignAhead(recorder, ahead).run(iter(docs), rank=0, world_size=1))
    assert passed == docs and recorder.added == [d.id for d in docs] and recorder.saved
    marker = json.loads((tmp_path / "00000.json").read_text())
    assert marker == {"tasks": 1, "documents": len(docs), "grouped": grouped}


def _run(tmp_path, name: str, inputs: Path, fuse: bool) -> dict:
    config = {
        "output": str(tmp_path / name),
        "workers": 2,
        "fuse_steps": fuse,
        "sources": {"abstracts": {"type": "general", "inputs": [str(inputs)]}},
        "curation": {"deid": None, "decontam": None},
        "mix": {"ratios": {"general": 1}},
    }
    run(validate(config))
    return json.loads((tmp_path / name / "manifest.json").read_text())


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_signatures_made_ahead_equal_the_stages_own(tmp_path, shared_data):
    path = str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")
    texts = [document.text for _, document in zip(range(600), PubMedReader([path]).read_file(path))]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for number, part in enumerate((texts[:300] + texts[:20], texts[300:] + texts[280:310])):  # copies across files
        rows = [json.dumps({"id": f"{number}-{i}", "text": text}) for i, text in enumerate(part)]
        (inputs / f"part{number}.jsonl").write_text("\n".join(rows) + "\n")
    ahead = _run(tmp_path, "ahead", inputs, True)
    apart = _run(tmp_path, "apart", inputs, False)
    keys = ("name", "in", "out", "removed", "steps")
    assert [{k: s.get(k) for k in keys} for s in ahead["stages"]] == [
        {k: s.get(k) for k in keys} for s in apart["stages"]
    ]
    dedup = next(s for s in ahead["stages"] if s["name"] == "dedup")
    assert dedup["removed"]["general"]["exact_duplicate"] == 50
    shards = [{e["path"]: e["sha256"] for e in m["outputs"] if e["path"].startswith("shards/")} for m in (ahead, apart)]
    assert shards[0] and shards[0] == shards[1]
    for step, folders in (("dedup", ("signatures",)), ("near_dedup", ("signatures", "docs"))):
        work = [Path(next(s for s in m["stages"] if s["name"] == step)["output"]) / "work" for m in (ahead, apart)]
        markers = [json.loads(p.read_text()) for p in sorted((work[0] / "ahead").glob("*.json"))]
        assert [m["grouped"] for m in markers] == [True, True] and all(m["documents"] for m in markers), step
        for folder in folders:
            assert _files(work[0] / folder) == _files(work[1] / folder) != {}, (step, folder)
        assert not (work[1] / "ahead").exists()
