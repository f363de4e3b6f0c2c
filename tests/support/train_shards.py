"""Small token shards (pretraining and SFT) and metrics logs for the training tests."""

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


def sft_example(rng, vocab: int = 512, length: int | None = None) -> tuple[list[int], list[int]]:
    """(tokens, mask) of one templated example: BOS and prompt (mask 0), answer and end marker 2 (mask 1).
    `length` fixes the total number of tokens (at least 4)."""
    prompt = int(rng.integers(2, 20)) if length is None else length // 2
    answer = int(rng.integers(1, 15)) if length is None else length - prompt - 2
    tokens = [1, *rng.integers(3, vocab, size=prompt + answer).tolist(), 2]
    return tokens, [0] * (1 + prompt) + [1] * (answer + 1)


def write_sft_shards(folder, seed: int, examples: int, shards: int = 1, long_tokens: int | None = None) -> str:
    """`shards` SFT shards (with loss masks) of `examples` examples each; with `long_tokens`, example 3 of every
    shard has that many tokens (too long to train on). Returns the folder."""
    rng = np.random.default_rng(seed)
    for shard in range(shards):
        with ShardWriter(str(folder / f"{shard:05d}"), 512, masks=True) as writer:
            for number in range(examples):
                tokens, mask = sft_example(rng, length=long_tokens if number == 3 else None)
                writer.add(tokens, f"sft-{seed}-{shard}-{number}", "test", "instruction", mask=mask)
    return str(folder)


def read_jsonl(path) -> dict:
    """Last record per (rank, step): a resumed run re-logs nothing, but a crash could leave repeats."""
    records = {}
    for line in open(path):
        record = json.loads(line)
        records[(record.get("rank", 0), record["step"])] = record
    return records


def train_run(out, shards: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m medcorpus.train` (one process, CPU) with `args`; asserts that it succeeded."""
    command = [sys.executable, "-m", "medcorpus.train", "--shards", shards, *args, "--out", str(out)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def train_three_steps(out, shards: str, *args: str) -> dict:
    """`python -m medcorpus.train` for 3 steps on CPU (micro-batch 2); checks the run and returns its metrics."""
    train_run(out, shards, *args, "--micro-batch", "2", "--steps", "3", "--warmup", "1")
    metrics = read_jsonl(out / "metrics.jsonl")
    assert sorted(metrics) == [(0, 1), (0, 2), (0, 3)]
    assert abs(metrics[(0, 1)]["loss"] - math.log(512)) < 0.05 * math.log(512)  # a random model: near uniform
    return metrics
