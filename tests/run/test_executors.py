"""Executors: a real local Ray instance gives the same shards as the local executor; Slurm scripts are built."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from support.paths import SAMPLES
from support.requirements import require_module

from medcorpus.run.config import validate
from medcorpus.run.executors import build_executors
from medcorpus.run.runner import plan_run, run


def small_config(out: Path) -> dict:
    return {
        "output": str(out),
        "workers": 2,
        "sources": {
            "pmc": {"type": "pmc", "inputs": [str(SAMPLES / "pmc")]},
            "general": {"type": "general", "inputs": [str(SAMPLES / "general")]},
        },
        "curation": {"deid": None},
        "mix": {"ratios": {"biomedical": 3, "general": 1}},
    }


def shard_hashes(root: Path) -> dict[str, str]:
    manifest = json.loads((root / "manifest.json").read_text())
    return {e["path"]: e["sha256"] for e in manifest["outputs"] if e["path"].startswith("shards/")}


@pytest.mark.slow
def test_ray_run_matches_local_run(tmp_path):
    ray = require_module("ray", "ray is not installed (the ray extra)")
    run(validate(small_config(tmp_path / "local")), "local")
    assert gc.get_freeze_count() == 0  # the local run froze the runner's objects for its forks, and unfroze them
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        run(validate(small_config(tmp_path / "ray")), "ray")
    finally:
        ray.shutdown()
    local = shard_hashes(tmp_path / "local")
    assert local and local == shard_hashes(tmp_path / "ray")


def test_slurm_executors_are_chained_per_stage(tmp_path):
    require_module("datatrove.executor.slurm")
    stages = plan_run(validate(small_config(tmp_path / "slurm")))
    last = build_executors(stages, "slurm", workers=2)
    chain = []
    while last is not None:
        chain.append(last)
        last = last.depends
    assert len(chain) == sum(len(stage.pipelines) for stage in stages)
    assert chain[0].job_name.startswith("medcorpus-manifest")
    assert chain[-1].job_name.startswith("medcorpus-sources")
