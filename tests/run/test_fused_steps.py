"""Consecutive single-pass steps share one pipeline (fuse_steps): the same shards and per-stage figures as
stage by stage, without writing the documents between them."""

from __future__ import annotations

import json

import pytest

from medcorpus.run.config import validate
from medcorpus.run.demo import demo_config
from medcorpus.run.runner import run


def run_demo_config(out, fuse: bool, boilerplate: bool = False) -> dict:
    config = demo_config(out, workers=2) | {"fuse_steps": fuse}
    if boilerplate:  # clean becomes a multi-pass stage, whose last pass lang and quality continue
        config["curation"]["clean"] = {"boilerplate": {"min_documents": 2}}
    run(validate(config))
    return json.loads((out / "run" / "manifest.json").read_text())


def figures(manifest: dict) -> list[dict]:
    keys = ("name", "in", "out", "removed", "steps", "benchmarks")
    return [{key: stage.get(key) for key in keys} for stage in manifest["stages"]]


def documents_in(stage) -> list:
    """A stage folder's document files (not what it excluded, not its work files)."""
    return [p for p in stage.rglob("*.parquet") if not {"excluded", "work"} & set(p.relative_to(stage).parts)]


@pytest.mark.slow
@pytest.mark.parametrize("boilerplate", [False, True])
def test_fused_steps_give_the_same_shards_and_figures(tmp_path, boilerplate):
    fused = run_demo_config(tmp_path / "fused", True, boilerplate)
    apart = run_demo_config(tmp_path / "apart", False, boilerplate)
    assert figures(fused) == figures(apart)
    names = [stage["name"] for stage in fused["stages"]]
    assert names[:9] == ["sources", "clean", "lang", "quality", "dedup", "near_dedup", "deid", "decontam", "tokenize"]
    assert all(figures(fused)[i]["steps"] for i in (1, 2, 3, 7))  # each step's own counts, fused or not

    def shards(manifest: dict) -> dict:
        return {e["path"]: e["sha256"] for e in manifest["outputs"] if e["path"].startswith("shards/")}

    assert shards(fused) and shards(fused) == shards(apart)
    stages = tmp_path / "fused" / "run" / "stages"
    assert not documents_in(stages / "02_clean")  # clean's documents went straight on to lang
    assert documents_in(stages / "04_quality") and list((stages / "02_clean" / "stats").glob("*"))
    assert documents_in(tmp_path / "apart" / "run" / "stages" / "02_clean")
    # the near-dup filter pass went on into deid and decontam; its other passes ran in its own folder
    assert not documents_in(stages / "06_near_dedup") and documents_in(stages / "08_decontam")
    near = fused["stages"][5]
    assert near["ran_in"] == "08_decontam" and near["steps"]["near-dup filter"]["total"]
    assert {"near-dup signatures", "near-dup clusters"} <= set(near["steps"])
    assert documents_in(tmp_path / "apart" / "run" / "stages" / "06_near_dedup")
