"""SftRows: whole examples per row (pack and pad), aligned loss masks and boundaries, blending and resume."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from support.train_shards import sft_example, write_sft_shards

from medcorpus.tokenize import ShardWriter
from medcorpus.train import BlendedWindows, PackedWindows, SftRows
from medcorpus.train.batches import batches
from medcorpus.train.sft_rows import PAD_ID


@pytest.fixture()
def examples(tmp_path):
    """Two SFT shards (one with an empty and one 80-token example); returns (folder, examples in shard order)."""
    rng = np.random.default_rng(5)
    everything = []
    for shard, count in enumerate((30, 17)):
        with ShardWriter(str(tmp_path / f"{shard:05d}"), 512, masks=True) as writer:
            for number in range(count):
                tokens, mask = sft_example(rng, length={(0, 4): 80}.get((shard, number)))
                if (shard, number) == (1, 2):
                    tokens, mask = [], []
                writer.add(tokens, f"s{shard}-{number}", "test", "instruction", mask=mask)
                everything.append((np.array(tokens, dtype=np.int64), np.array(mask, dtype=np.uint8)))
    return tmp_path, everything


def reference_rows(lengths: list[int], capacity: int) -> list[list[int]]:
    """Greedy packing written out plainly: example numbers per row."""
    rows, current, used = [], [], 0
    for number, length in enumerate(lengths):
        if used + length > capacity:
            rows.append(current)
            current, used = [], 0
        current.append(number)
        used += length
    return rows + ([current] if current else [])


def check_row(rows: SftRows, index: int, members: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Row `index` is exactly `members` laid end to end, then padding (PAD_ID, mask 0, a segment of its own)."""
    tokens, mask, starts = rows.row(index)
    assert tokens.shape == mask.shape == (rows.seq_len + 1,) and tokens.dtype == np.int64 and mask.dtype == np.uint8
    at, expected_starts = 0, []
    for example_tokens, example_mask in members:
        assert np.array_equal(tokens[at : at + len(example_tokens)], example_tokens)  # whole, never cut
        assert np.array_equal(mask[at : at + len(example_tokens)], example_mask)  # the mask stays aligned
        expected_starts.append(at)
        at += len(example_tokens)
    assert np.all(tokens[at:] == PAD_ID) and np.all(mask[at:] == 0)
    assert starts.tolist() == expected_starts + ([at] if at <= rows.seq_len else [])
    assert np.array_equal(rows.window(index), tokens) and np.array_equal(rows.boundaries(index), starts)


@pytest.mark.parametrize("seq_len", [47, 79, 120, 400])
def test_pack_fills_rows_with_whole_consecutive_examples(examples, seq_len):
    folder, everything = examples
    kept = [example for example in everything if 0 < len(example[0]) <= seq_len + 1]
    rows = SftRows([str(folder)], seq_len=seq_len)
    assert rows.too_long == (1 if seq_len + 1 < 80 else 0)
    expected = reference_rows([len(tokens) for tokens, _ in kept], seq_len + 1)
    assert rows.num_windows == len(expected) < len(kept)
    for index, members in enumerate(expected):
        check_row(rows, index, [kept[number] for number in members])
    assert sum(len(members) for members in expected) == len(kept)  # every kept example exactly once


def test_pad_puts_one_example_per_row(examples):
    folder, everything = examples
    rows = SftRows([str(folder)], seq_len=60, mode="pad")
    kept = [example for example in everything if 0 < len(example[0]) <= 61]
    assert rows.too_long == 1 and rows.num_windows == len(kept) == len(everything) - 2
    for index, example in enumerate(kept):
        check_row(rows, index, [example])
    sample = rows.sample(3)
    assert set(sample) == {"tokens", "mask"} and np.array_equal(sample["mask"], rows.mask(3))


def test_an_example_of_exactly_seq_len_plus_one_fills_a_row(tmp_path):
    with ShardWriter(str(tmp_path / "a"), 512, masks=True) as writer:
        for length in (9, 4, 5):
            writer.add(np.arange(1, length + 1), f"e{length}", "test", "instruction", mask=[0] * (length - 1) + [1])
    rows = SftRows([str(tmp_path)], seq_len=8, return_boundaries=True)
    assert rows.num_windows == 2 and rows.too_long == 0
    assert rows.boundaries(0).tolist() == [0]  # no padding, so no padding segment
    assert rows.boundaries(1).tolist() == [0, 4]  # 4 + 5 tokens fill the second row exactly
    assert rows.sample(1)["boundaries"].tolist() == [0, 4]
    with pytest.raises(IndexError):
        rows.row(2)


def test_refuses_shards_without_masks_naming_the_shard(tmp_path):
    write_sft_shards(tmp_path / "sft", 1, 5)
    with ShardWriter(str(tmp_path / "sft" / "plain"), 512) as writer:
        writer.add([1, 5, 6, 2], "p", "test", "general")
    with pytest.raises(ValueError, match=r"shard .*/sft/plain has no loss mask"):
        SftRows([str(tmp_path / "sft")], seq_len=16)
    assert PackedWindows([str(tmp_path / "sft")], seq_len=16).num_windows > 0  # pretraining reads them all
    with pytest.raises(ValueError, match="SFT mode"):
        SftRows([str(tmp_path / "sft" / "00000")], seq_len=16, mode="stack")


def test_blended_sft_rows_carry_masks_and_resume_exactly(tmp_path):
    spec = [([write_sft_shards(tmp_path / "a", 1, 40)], 2.0), ([write_sft_shards(tmp_path / "b", 2, 25)], 1.0)]
    blend = BlendedWindows(spec, seq_len=40, seed=3, rank=1, world_size=2, sft="pack", return_boundaries=True)
    assert all(isinstance(rows, SftRows) for rows in blend.sets)
    item = next(iter(blend))
    number, index = item["id"]
    tokens, mask, starts = blend.sets[number].row(index)
    assert np.array_equal(item["tokens"], tokens) and np.array_equal(item["mask"], mask)
    assert np.array_equal(item["boundaries"], starts)

    def reader(state=None):
        windows = BlendedWindows(spec, seq_len=40, seed=3, rank=1, world_size=2, sft="pack")
        if state:
            windows.load_state_dict(state)
        return batches(windows, micro_batch=3)

    expected = list(itertools.islice(reader(), 30))  # crosses epochs
    assert 30 * 3 > len(blend)
    first = list(itertools.islice(reader(), 11))
    got = first + list(itertools.islice(reader(first[-1].state), 19))
    for a, b in zip(got, expected):
        assert a.ids == b.ids and np.array_equal(a.tokens, b.tokens) and np.array_equal(a.mask, b.mask)
        assert a.mask.shape == a.tokens.shape == (3, 41)
    assert next(batches(BlendedWindows(spec, seq_len=40), 2)).mask is None  # pretraining batches carry none

    state = blend.state_dict()
    for other in (
        BlendedWindows(spec, seq_len=40, seed=3, rank=1, world_size=2, sft="pad"),
        BlendedWindows(spec, seq_len=40, seed=3, rank=1, world_size=2),
    ):
        with pytest.raises(ValueError, match="different shards"):
            other.load_state_dict(state)


def test_blend_names_a_set_whose_examples_are_all_too_long(tmp_path):
    folder = write_sft_shards(tmp_path / "a", 1, 5)
    with pytest.raises(ValueError, match="no example of at most 4 tokens"):  # the shortest has 5
        BlendedWindows([([folder], 1.0)], seq_len=3, sft="pad")
