"""A PubMed first pass with nothing to resolve is published as it is (`publish.py`): the same files, bytes and
figures as the second pass that re-reads and rewrites every document."""

from __future__ import annotations

import json

import pytest

from medcorpus.run.config import validate
from medcorpus.run.demo import SAMPLES
from medcorpus.run.runner import run
from medcorpus.sources.pubmed.publish import PublishUnresolved


def run_pubmed(out, files: list[str]) -> dict:
    config = {
        "output": str(out),
        "workers": 1,
        "sources": {"pubmed": {"type": "pubmed", "inputs": files, "options": {"languages": []}}},
        "curation": {"clean": {}, "dedup": {}},
        "mix": {"ratios": {"biomedical": 1}},
    }
    run(validate(config))
    return json.loads((out / "manifest.json").read_text())


def documents(out) -> dict:
    folder = out / "stages" / "01_sources"
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.glob("pubmed/*.parquet")}


@pytest.mark.parametrize("twice", [False, True], ids=["nothing to resolve", "a PMID read twice"])
def test_published_first_pass_equals_the_second_pass(tmp_path, monkeypatch, shared_data, twice):
    files = [str(SAMPLES / "pubmed"), str(shared_data / "pubmed" / "pubmed-29768149.xml")]
    if twice:  # the same citation in a later file: the resolution drops the earlier record, so no publishing
        (tmp_path / "later").mkdir()
        (tmp_path / "later" / "z_update.xml").write_bytes((shared_data / "pubmed" / "pubmed-29768149.xml").read_bytes())
        files.append(str(tmp_path / "later" / "z_update.xml"))
    fast = run_pubmed(tmp_path / "fast", files)
    published = list((tmp_path / "fast" / "stages" / "01_sources" / "stats" / "pubmed").glob("published-*.json"))
    assert bool(published) is not twice

    def second_pass_only(self, data=None, rank=0, world_size=1):
        yield from data or []

    monkeypatch.setattr(PublishUnresolved, "run", second_pass_only)
    slow = run_pubmed(tmp_path / "slow", files)
    assert documents(tmp_path / "fast") and documents(tmp_path / "fast") == documents(tmp_path / "slow")
    figures = [[(s["name"], s.get("in"), s.get("out"), s.get("removed")) for s in m["stages"]] for m in (fast, slow)]
    assert figures[0] == figures[1]
    assert fast["stages"][0]["out"]["pubmed"]["tokens"] > 0
    shards = [{e["path"]: e["sha256"] for e in m["outputs"] if e["path"].startswith("shards/")} for m in (fast, slow)]
    assert shards[0] and shards[0] == shards[1]
