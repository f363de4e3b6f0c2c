"""Small token shards and metrics logs for the training tests."""

from __future__ import annotations

import json

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
