"""The training loop: schedule, checkpoint bookkeeping, and torchrun (2 ranks, gloo) exact resume."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys

import pytest
from support.requirements import require_module
from support.train_shards import read_jsonl, train_three_steps, write_shards

from medcorpus.train import checkpoint
from medcorpus.train.schedule import warmup_cosine


@pytest.fixture
def train_extra() -> None:
    """torch and transformers, which the `train` extra installs."""
    for name in ("torch", "transformers"):
        require_module(name, f"{name} is not installed (the train extra: pip install -e '.[train]')")


def test_warmup_cosine():
    values = [warmup_cosine(step, warmup=4, total=20, min_ratio=0.1) for step in range(25)]
    assert values[:4] == [0.25, 0.5, 0.75, 1.0]
    assert values[4] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(values[4:], values[5:]))  # non-increasing after warmup
    assert values[12] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert values[20] == pytest.approx(0.1) and values[24] == pytest.approx(0.1)
    assert warmup_cosine(3, warmup=0, total=0) == 1.0


def test_latest_checkpoint_ignores_partial_and_prunes(tmp_path):
    out = str(tmp_path)
    assert checkpoint.latest_checkpoint(out) is None
    assert checkpoint.latest_checkpoint(str(tmp_path / "missing")) is None
    for step in (2, 4):
        os.makedirs(checkpoint.step_dir(out, step))
        (tmp_path / f"step_{step:08d}" / checkpoint.STATE_FILE).write_text("{}")
    os.makedirs(checkpoint.step_dir(out, 9))  # no state file: an incomplete folder is never "latest"
    os.makedirs(tmp_path / ".step_00000006.tmp")  # an interrupted save
    assert checkpoint.latest_checkpoint(out) == checkpoint.step_dir(out, 4)
    checkpoint.remove_partial(out)
    assert not (tmp_path / ".step_00000006.tmp").exists()
    checkpoint.prune(out, keep=1)
    assert sorted(os.listdir(out)) == ["step_00000009"]


def test_cli_rejects_bad_arguments(capsys):
    from medcorpus.cli.train import main

    with pytest.raises(SystemExit):
        main(["--shards", "x", "--tiny-llama", "--out", "o", "--micro-batch", "0"])
    with pytest.raises(SystemExit):  # a model source is required
        main(["--shards", "x", "--out", "o"])
    with pytest.raises(SystemExit):  # only one model source
        main(["--shards", "x", "--tiny-llama", "--model", "m", "--out", "o"])


def torchrun(out, shards: list[str], *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command += ["-m", "medcorpus.train", "--shards", *shards, "--tiny-llama", "--vocab-size", "512"]
    command += ["--seq-len", "32", "--micro-batch", "2", "--grad-accum", "2", "--steps", "8", "--warmup", "2"]
    command += ["--lr", "1e-3", "--seed", "7", "--save-every", "100", "--log-samples", "--out", str(out), *extra]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.usefixtures("train_extra")
@pytest.mark.slow
def test_torchrun_resume_reproduces_uninterrupted_run(tmp_path):
    from medcorpus.train.blend import BlendedWindows, parse_shard_spec

    shards = [write_shards(tmp_path / "pubmed", 1, 25) + ":2", write_shards(tmp_path / "web", 2, 20) + ":1"]
    torchrun(tmp_path / "full", shards)
    torchrun(tmp_path / "part", shards, "--stop-at", "4")
    assert sorted(os.listdir(tmp_path / "part" / "step_00000004")) != []
    assert not (tmp_path / "part" / "step_00000008").exists()
    resumed = torchrun(tmp_path / "part", shards, "--resume")
    assert "resumed from" in resumed.stderr + resumed.stdout

    assert checkpoint.latest_checkpoint(str(tmp_path / "part")) == checkpoint.step_dir(str(tmp_path / "part"), 8)
    assert not [name for name in os.listdir(tmp_path / "part") if name.endswith(".tmp")]
    spec = [parse_shard_spec(s) for s in shards]
    for rank in (0, 1):
        full = read_jsonl(tmp_path / "full" / f"samples.rank{rank}.jsonl")
        part = read_jsonl(tmp_path / "part" / f"samples.rank{rank}.jsonl")
        assert sorted(full) == sorted(part) == [(rank, step) for step in range(1, 9)]
        assert all(full[key]["samples"] == part[key]["samples"] for key in full)  # identical data order
        consumed = [tuple(pair) for step in range(1, 9) for pair in full[(rank, step)]["samples"]]
        windows = BlendedWindows(spec, seq_len=32, seed=7, rank=rank, world_size=2)
        assert len(consumed) == 32 > len(windows)  # the run crosses an epoch boundary
        expected = [item["id"] for item in itertools.islice(itertools.chain(windows, windows), len(consumed))]
        assert consumed == expected  # exactly the dataset's order: none skipped, none repeated
    full = read_jsonl(tmp_path / "full" / "metrics.jsonl")
    part = read_jsonl(tmp_path / "part" / "metrics.jsonl")
    assert sorted(full) == sorted(part)
    for key in full:
        assert part[key]["loss"] == pytest.approx(full[key]["loss"], rel=1e-5, abs=1e-6)
        assert part[key]["lr"] == pytest.approx(full[key]["lr"], rel=1e-9)
        assert 0 <= full[key]["data_wait"] < 1 and full[key]["tokens_per_s"] > 0
    losses = [full[(0, step)]["loss"] for step in range(1, 9)]
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[0] == pytest.approx(math.log(512), rel=0.05)  # a random model starts near uniform


@pytest.mark.usefixtures("train_extra")
@pytest.mark.slow
def test_local_checkpoint_folder_with_activation_checkpointing(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2
    )
    LlamaForCausalLM(config).save_pretrained(tmp_path / "model")
    shards = write_shards(tmp_path / "shards", 3, 30)
    train_three_steps(
        tmp_path / "o", shards, "--model", str(tmp_path / "model"), "--seq-len", "16", "--activation-checkpointing"
    )
    assert checkpoint.latest_checkpoint(str(tmp_path / "o")) == checkpoint.step_dir(str(tmp_path / "o"), 3)
