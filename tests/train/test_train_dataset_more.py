"""BlendedWindows (weighted shard sets), the micro-batch reader and its resume states."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from medcorpus.tokenize import ShardWriter
from medcorpus.train import PackedWindows
from medcorpus.train.batches import Prefetcher, batches
from medcorpus.train.blend import BlendedWindows, largest_remainder, parse_shard_spec


def write_set(folder, seed: int, docs: int, shards: int = 1) -> str:
    rng = np.random.default_rng(seed)
    for shard in range(shards):
        with ShardWriter(str(folder / f"{shard:05d}"), 1000) as writer:
            for number in range(docs):
                writer.add(rng.integers(3, 1000, size=int(rng.integers(1, 60))), f"{seed}-{number}", "t", "general")
    return str(folder)


@pytest.fixture()
def sets(tmp_path):
    """Three shard sets of different sizes."""
    return [
        write_set(tmp_path / name, seed, docs, shards)
        for name, seed, docs, shards in (("a", 1, 30, 2), ("b", 2, 12, 1), ("c", 3, 50, 1))
    ]


def test_parse_shard_spec(tmp_path):
    assert parse_shard_spec("out/shards") == ("out/shards", 1.0)
    assert parse_shard_spec("out/shards:0.25") == ("out/shards", 0.25)
    assert parse_shard_spec("out/shards:3") == ("out/shards", 3.0)
    odd = tmp_path / "with:colon"
    odd.mkdir()
    assert parse_shard_spec(str(odd)) == (str(odd), 1.0)  # an existing path is never split
    assert parse_shard_spec("dir:notanumber") == ("dir:notanumber", 1.0)
    with pytest.raises(ValueError):
        parse_shard_spec("out/shards:0")
    with pytest.raises(ValueError):
        parse_shard_spec("out/shards:-1")


def test_largest_remainder():
    assert largest_remainder([1, 1, 1], 10).tolist() == [4, 3, 3]
    assert largest_remainder([2, 1], 9).tolist() == [6, 3]
    counts = largest_remainder([0.7, 0.2, 0.1], 1001)
    assert counts.sum() == 1001 and np.all(np.abs(counts - np.array([700.7, 200.2, 100.1])) < 1)


@pytest.mark.parametrize("world_size", [1, 3])
def test_one_set_equals_packed_windows(sets, world_size):
    for rank in range(world_size):
        packed = PackedWindows([sets[0]], seq_len=16, seed=4, rank=rank, world_size=world_size)
        blend = BlendedWindows([([sets[0]], 1.0)], seq_len=16, seed=4, rank=rank, world_size=world_size)
        assert len(blend) == len(packed)
        for epoch in range(3):
            assert np.array_equal(blend.order(epoch)[:, 1], packed.order(epoch))
            assert np.all(blend.order(epoch)[:, 0] == 0)


def test_blend_proportions_and_walk(sets):
    weights = [1.0, 3.0, 0.5]
    blend = BlendedWindows([([path], w) for path, w in zip(sets, weights)], seq_len=16, seed=9)
    assert blend.counts.sum() == blend.epoch_length == sum(w.num_windows for w in blend.sets)
    assert np.all(np.abs(blend.counts - np.array(weights) / sum(weights) * blend.epoch_length) < 1)
    epochs = [blend.global_order(epoch) for epoch in range(6)]
    for epoch in epochs:
        assert np.bincount(epoch[:, 0], minlength=3).tolist() == blend.counts.tolist()
    assert not np.array_equal(epochs[0][:, 0], epochs[1][:, 0])  # set labels reshuffled per epoch
    for number, size in enumerate(blend.sizes.tolist()):
        drawn = np.concatenate([epoch[epoch[:, 0] == number, 1] for epoch in epochs])
        key = lambda e, n=number: [9, e] + ([n] if n else [])  # noqa: E731
        walk = np.concatenate([np.random.default_rng(key(e)).permutation(size) for e in range(len(drawn) // size + 1)])
        assert np.array_equal(drawn, walk[: len(drawn)])  # each set's windows: no repeat before all seen, none skipped
    assert blend.counts[1] > blend.sizes[1]  # the up-weighted set repeats inside one blend epoch


@pytest.mark.parametrize("world_size", [2, 3])
def test_blend_ranks_partition(sets, world_size):
    ranks = [
        BlendedWindows([([p], 1.0) for p in sets], seq_len=20, seed=2, rank=r, world_size=world_size)
        for r in range(world_size)
    ]
    full = ranks[0].global_order(0)
    usable = len(ranks[0]) * world_size
    for r, windows in enumerate(ranks):
        assert np.array_equal(windows.order(0), full[r:usable:world_size])
        items = list(itertools.islice(iter(windows), 5))
        assert [item["id"] for item in items] == [tuple(pair) for pair in windows.order(0)[:5].tolist()]
        for item in items:
            number, index = item["id"]
            assert np.array_equal(item["tokens"], windows.sets[number].window(index))


@pytest.mark.parametrize("stop_at", [0, 40, 100])
def test_blend_resume(sets, stop_at):
    spec = [([sets[0]], 2.0), ([sets[1], sets[2]], 1.0)]
    reference = BlendedWindows(spec, seq_len=24, seed=3, rank=1, world_size=2)
    per_epoch = len(reference)
    assert 40 < per_epoch < 100
    expected = [
        item["id"] for item in itertools.islice(itertools.chain(reference, reference, reference), 2 * per_epoch)
    ]
    first = BlendedWindows(spec, seq_len=24, seed=3, rank=1, world_size=2)
    got = [item["id"] for item in itertools.islice(itertools.chain(first, first), stop_at)]
    resumed = BlendedWindows(spec, seq_len=24, seed=3, rank=1, world_size=2)
    resumed.load_state_dict(first.state_dict())
    got += [
        item["id"] for item in itertools.islice(itertools.chain(resumed, resumed, resumed), 2 * per_epoch - stop_at)
    ]
    assert got == expected


def test_fingerprint_guards_resume(sets):
    state = BlendedWindows([([sets[0]], 1.0), ([sets[1]], 1.0)], seq_len=24, seed=3).state_dict()
    same = BlendedWindows([([sets[0]], 1.0), ([sets[1]], 1.0)], seq_len=24, seed=3)
    same.load_state_dict(state)
    for other in (
        BlendedWindows([([sets[0]], 1.0), ([sets[1]], 2.0)], seq_len=24, seed=3),  # other weights
        BlendedWindows([([sets[0]], 1.0), ([sets[2]], 1.0)], seq_len=24, seed=3),  # other shards
        BlendedWindows([([sets[0]], 1.0), ([sets[1]], 1.0)], seq_len=25, seed=3),  # other window length
    ):
        with pytest.raises(ValueError, match="different shards"):
            other.load_state_dict(state)
    with pytest.raises(ValueError):
        same.load_state_dict({**state, "sample_index": len(same) + 1})


def test_blend_boundaries_and_errors(sets, tmp_path):
    blend = BlendedWindows([([sets[1]], 1.0), ([sets[2]], 1.0)], seq_len=30, return_boundaries=True)
    item = next(iter(blend))
    number, index = item["id"]
    assert np.array_equal(item["boundaries"], blend.sets[number].boundaries(index))
    with pytest.raises(ValueError):
        BlendedWindows([([sets[0]], 0.0)], seq_len=8)
    with pytest.raises(ValueError):
        BlendedWindows([], seq_len=8)
    small = write_set(tmp_path / "small", 5, 1)
    with pytest.raises(ValueError, match="no complete window"):
        BlendedWindows([([sets[0]], 1.0), ([small], 1.0)], seq_len=500)


@pytest.mark.parametrize("prefetch", [False, True])
def test_batches_resume_from_consumed_state(sets, prefetch):
    spec = [([sets[0]], 1.0), ([sets[2]], 2.0)]

    def reader(windows):
        source = batches(windows, micro_batch=3)
        return Prefetcher(source, depth=4) if prefetch else source

    uninterrupted = reader(BlendedWindows(spec, seq_len=16, seed=1, rank=0, world_size=2))
    expected = [next(uninterrupted) for _ in range(40)]  # crosses several epochs
    assert len({tuple(b.ids[0]) for b in expected}) > 1
    first = reader(BlendedWindows(spec, seq_len=16, seed=1, rank=0, world_size=2))
    consumed = [next(first) for _ in range(13)]  # the prefetch thread has read further than this
    resumed_windows = BlendedWindows(spec, seq_len=16, seed=1, rank=0, world_size=2)
    resumed_windows.load_state_dict(consumed[-1].state)
    resumed = reader(resumed_windows)
    consumed += [next(resumed) for _ in range(27)]
    for a, b in zip(consumed, expected):
        assert a.ids == b.ids and np.array_equal(a.tokens, b.tokens) and a.tokens.shape == (3, 17)
    for source in (uninterrupted, first, resumed):
        if prefetch:
            source.close()
