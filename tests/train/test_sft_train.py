"""SFT training: the masked loss, and `--sft` runs of the loop (loss by hand, resume, --doc-mask)."""

from __future__ import annotations

import numpy as np
import pytest
from support.requirements import require_module
from support.train_shards import read_jsonl, train_run, write_sft_shards

from medcorpus.train import BlendedWindows, SftRows


@pytest.fixture(scope="module")
def torch():
    for name in ("torch", "transformers"):
        require_module(name, f"{name} is not installed (the train extra: pip install -e '.[train]')")
    import torch

    return torch


def by_hand(torch, logits, tokens, mask) -> tuple[float, int]:
    """Mean of -log p(target) over the targets whose mask is 1, written out position by position."""
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    picked = [
        -float(log_probs[b, t, tokens[b, t + 1]])
        for b in range(tokens.shape[0])
        for t in range(tokens.shape[1] - 1)
        if mask[b, t + 1]
    ]
    return sum(picked) / len(picked), len(picked)


def test_masked_loss_by_hand(torch):
    from medcorpus.train.loss import next_token_loss

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 12, 50, generator=generator)
    tokens = torch.randint(0, 50, (3, 13), generator=generator)
    mask = torch.zeros(3, 13, dtype=torch.uint8)
    mask[0, 5:] = 1
    mask[2, 1:4] = 1
    loss, count = next_token_loss(logits, tokens, mask)
    expected, trained = by_hand(torch, logits, tokens, mask)
    assert float(loss) == pytest.approx(expected, rel=1e-6) and int(count) == trained == 8 + 3
    changed = torch.where(mask.bool(), tokens, (tokens + 7) % 50)  # other tokens at every masked-out target
    assert float(next_token_loss(logits, changed, mask)[0]) == pytest.approx(float(loss), rel=1e-7)
    assert float(next_token_loss(logits, changed, torch.ones_like(mask))[0]) != pytest.approx(float(loss), rel=1e-3)
    plain, all_targets = next_token_loss(logits, tokens)
    assert float(plain) == pytest.approx(by_hand(torch, logits, tokens, torch.ones_like(mask))[0], rel=1e-6)
    assert int(all_targets) == 3 * 12


def test_rows_without_trained_tokens_give_zero_loss_and_gradients(torch):
    from medcorpus.train.loss import next_token_loss
    from medcorpus.train.model import build_model

    torch.manual_seed(0)
    model = build_model(None, "tiny", 97, 32)
    tokens = torch.randint(0, 97, (2, 17))
    loss, count = next_token_loss(model(input_ids=tokens[:, :-1]).logits, tokens, torch.zeros_like(tokens))
    loss.backward()
    assert float(loss.detach()) == 0.0 and int(count) == 0
    assert all(not torch.any(p.grad) for p in model.parameters() if p.grad is not None)

    mask = torch.zeros_like(tokens)
    mask[1, 9:] = 1  # row 0 trains nothing, so it changes neither the loss nor its mean
    with torch.no_grad():
        both = next_token_loss(model(input_ids=tokens[:, :-1]).logits, tokens, mask)[0]
        alone = next_token_loss(model(input_ids=tokens[1:, :-1]).logits, tokens[1:], mask[1:])[0]
    assert float(both) == pytest.approx(float(alone), rel=1e-5)


def test_padding_changes_nothing(torch, tmp_path):
    from medcorpus.train.loss import next_token_loss
    from medcorpus.train.model import build_model

    rows = SftRows([write_sft_shards(tmp_path, 3, 6)], seq_len=40, mode="pad")
    torch.manual_seed(0)
    model = build_model(None, "tiny", 512, 40).eval()
    shard = rows.shards[0]
    for index in range(rows.num_windows):
        row = {key: torch.from_numpy(value.astype(np.int64))[None] for key, value in rows.sample(index).items()}
        example = torch.from_numpy(shard.tokens(index).astype(np.int64))[None]
        mask = torch.from_numpy(shard.mask(index).astype(np.int64))[None]
        assert row["tokens"].shape[1] > example.shape[1]  # really padded
        with torch.no_grad():
            padded = next_token_loss(model(input_ids=row["tokens"][:, :-1]).logits, row["tokens"], row["mask"])
            plain = next_token_loss(model(input_ids=example[:, :-1]).logits, example, mask)
        assert float(padded[0]) == pytest.approx(float(plain[0]), rel=1e-5) and int(padded[1]) == int(plain[1])


def test_cli_sft_choices():
    from medcorpus.cli.train import parser

    base = ["--shards", "x", "--tiny-llama", "--out", "o"]
    assert parser().parse_args(base).sft is None
    assert parser().parse_args([*base, "--sft"]).sft == "pack"
    assert parser().parse_args([*base, "--sft", "--doc-mask"]).sft == "pack"
    assert parser().parse_args([*base, "--sft", "pad"]).sft == "pad"
    with pytest.raises(SystemExit):
        parser().parse_args([*base, "--sft", "stack"])


@pytest.mark.slow
@pytest.mark.parametrize(("doc_mask", "split"), [(False, False), (True, False), (False, True)])
def test_first_step_loss_is_the_masked_loss_of_the_model(torch, tmp_path, doc_mask, split):
    from medcorpus.train.doc_mask import model_inputs
    from medcorpus.train.model import build_model

    shards = write_sft_shards(tmp_path / "sft", 4, 30, shards=2, long_tokens=90)
    args = ["--tiny-llama", "--vocab-size", "512", "--seq-len", "64", "--sft", "--seed", "5", "--log-samples"]
    # split: the same two rows as two micro-batches of one; the loss is still the mean over all trained tokens
    batching = ["--micro-batch", "1", "--grad-accum", "2"] if split else ["--micro-batch", "2"]
    args += [*batching, "--steps", "3", "--warmup", "1"] + (["--doc-mask"] if doc_mask else [])
    result = train_run(tmp_path / "o", shards, *args)
    assert "2 examples of" in result.stderr and "longer than 65 tokens skipped" in result.stderr
    metrics = read_jsonl(tmp_path / "o" / "metrics.jsonl")
    assert sorted(metrics) == [(0, 1), (0, 2), (0, 3)]

    ids = read_jsonl(tmp_path / "o" / "samples.rank0.jsonl")[(0, 1)]["samples"]
    windows = BlendedWindows([(shards, 1.0)], seq_len=64, seed=5, sft="pack", return_boundaries=True)
    assert ids == [list(pair) for pair in windows.order(0)[:2].tolist()]
    rows = [windows.sample(*pair) for pair in ids]
    tokens, mask = np.stack([row["tokens"] for row in rows]), np.stack([row["mask"] for row in rows])
    assert all(len(row["boundaries"]) > 2 for row in rows)  # packed: several examples per row
    extra = model_inputs([row["boundaries"] for row in rows], 64, "sdpa", "cpu") if doc_mask else {}
    torch.manual_seed(5)  # the loop's random model
    model = build_model(None, "tiny", 512, 64)
    with torch.no_grad():
        logits = model(input_ids=torch.from_numpy(tokens[:, :-1]), **extra).logits
    expected, trained = by_hand(torch, logits, tokens, mask)
    assert metrics[(0, 1)]["loss"] == pytest.approx(expected, rel=1e-5)
    assert metrics[(0, 1)]["trained_tokens"] == trained < mask.size / 2
    per_row = [by_hand(torch, logits[i : i + 1], tokens[i : i + 1], mask[i : i + 1])[0] for i in range(2)]
    assert sum(per_row) / 2 != pytest.approx(expected, rel=1e-5)  # a mean of the rows' means would differ


@pytest.mark.slow
def test_sft_resume_reproduces_uninterrupted_run(torch, tmp_path):
    shards = write_sft_shards(tmp_path / "sft", 6, 20)
    args = ["--tiny-llama", "--vocab-size", "512", "--seq-len", "40", "--sft", "pad", "--micro-batch", "2"]
    args += ["--grad-accum", "2", "--steps", "6", "--warmup", "1", "--lr", "1e-3", "--seed", "3", "--log-samples"]
    train_run(tmp_path / "full", shards, *args)
    train_run(tmp_path / "part", shards, *args, "--stop-at", "3")
    resumed = train_run(tmp_path / "part", shards, *args, "--resume")
    assert "resumed from" in resumed.stderr
    for name in ("metrics.jsonl", "samples.rank0.jsonl"):
        full, part = read_jsonl(tmp_path / "full" / name), read_jsonl(tmp_path / "part" / name)
        assert sorted(full) == sorted(part) == [(0, step) for step in range(1, 7)]
        for key in full:
            if name == "metrics.jsonl":
                assert part[key]["loss"] == pytest.approx(full[key]["loss"], rel=1e-5, abs=1e-6)
                assert part[key]["trained_tokens"] == full[key]["trained_tokens"] > 0
            else:
                assert part[key]["samples"] == full[key]["samples"]
    assert len({tuple(pair) for step in range(1, 7) for pair in full[(0, step)]["samples"]}) == 20  # > 1 epoch
