"""Consecutive single-pass steps share one pipeline (fuse_steps): the same shards and per-stage figures as
stage by stage, without writing the documents between them."""

from __future__ import annotations

import json

import pytest

from medcorpus.run.config import validate
from medcorpus.run.demo import demo_config
from medcorpus.run.runner import run


def run_demo_config(out, fuse: bool) -> dict:
    config = demo_config(out, workers=2) | {"fuse_steps": fuse}
    run(validate(config))
    return json.loads((out / "run" / "manifest.json").read_text())


def figures(manifest: dict) -> list[dict]:
    keys = ("name", "in", "out", "removed", "steps", "benchmarks")
    return [{key: stage.get(key) for key in keys} for stage in manifest["stages"]]


@pytest.mark.slow
def test_fused_steps_give_the_same_shards_and_figures(tmp_path):
    fused = run_demo_config(tmp_path / "fused", True)
    apart = run_demo_config(tmp_path / "apart", False)
    assert figures(fused) == figures(apart)
    names = [stage["name"] for stage in fused["stages"]]
    assert names[:9] == ["sources", "clean", "lang", "quality", "dedup", "near_dedup", "deid", "decontam", "tokenize"]
    assert all(figures(fused)[i]["steps"] for i in (1, 2, 3, 7))  # each step's own counts, fused or not

    def shards(manifest: dict) -> dict:
        return {e["path"]: e["sha256"] for e in manifest["outputs"] if e["path"].startswith("shards/")}

    assert shards(fused) and shards(fused) == shards(apart)
    stages = tmp_path / "fused" / "run" / "stages"
    assert not list((stages / "02_clean").rglob("*.parquet"))  # clean's documents went straight on to lang
    assert list((stages / "04_quality").rglob("*.parquet")) and list((stages / "02_clean" / "stats").glob("*"))
    assert list((tmp_path / "apart" / "run" / "stages" / "02_clean").rglob("*.parquet"))
