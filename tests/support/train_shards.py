"""Small token shards and metrics logs for the training tests."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np

from medcorpus.tokenize import ShardWriter


def write_shards(folder, seed: int, docs: int) -> str:
    rng = np.random.default_rng(seed)
    with ShardWriter(str(folder / "00000"), 512) as writer:
        for number in range(docs):
            tokens = [1, *rng.integers(3, 512, size=int(rng.integers(5, 60))).tolist(), 2]  # BOS ... EOS
            writer.add(tokens, f"doc-{seed}-{number}", "test", "general")
    return str(folder)


def read_jsonl(path) -> dict:
    """Last record per (rank, step): a resumed run re-logs nothing, but a crash could leave repeats."""
    records = {}
    for line in open(path):
        record = json.loads(line)
        records[(record.get("rank", 0), record["step"])] = record
    return records


def train_three_steps(out, shards: str, *args: str) -> dict:
    """`python -m medcorpus.train` for 3 steps on CPU (micro-batch 2); checks the run and returns its metrics."""
    command = [sys.executable, "-m", "medcorpus.train", "--shards", shards, *args]
    command += ["--micro-batch", "2", "--steps", "3", "--warmup", "1", "--out", str(out)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = read_jsonl(out / "metrics.jsonl")
    assert sorted(metrics) == [(0, 1), (0, 2), (0, 3)]
    assert abs(metrics[(0, 1)]["loss"] - math.log(512)) < 0.05 * math.log(512)  # a random model: near uniform
    return metrics
