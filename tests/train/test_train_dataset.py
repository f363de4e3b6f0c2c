"""PackedWindows: exact reconstruction of the token stream, resumability, rank partition, boundaries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from support.requirements import require_module

from medcorpus.tokenize import ShardWriter
from medcorpus.train import PackedWindows


@pytest.fixture()
def corpus(tmp_path):
    """Three shards (one empty-document, one tiny) of random documents; returns (folder, docs in stream order)."""
    rng = np.random.default_rng(11)
    docs_all = []
    for shard, count in enumerate((40, 1, 25)):
        docs = [rng.integers(3, 32000, size=int(rng.integers(1, 200))) for _ in range(count)]
        if shard == 0:
            docs[5] = np.array([], dtype=np.int64)  # an empty document must not disturb anything
        with ShardWriter(str(tmp_path / f"{shard:05d}"), 32000) as writer:
            for number, doc in enumerate(docs):
                writer.add(doc, f"s{shard}-{number}", "test", "general")
        docs_all.extend(docs)
    return tmp_path, docs_all


def test_windows_reconstruct_the_stream(corpus):
    folder, docs = corpus
    stream = np.concatenate(docs).astype(np.int64)
    for seq_len in (1, 7, 64, 333):
        windows = PackedWindows([str(folder)], seq_len=seq_len)
        assert windows.num_windows == (len(stream) - 1) // seq_len
        for index in range(windows.num_windows):
            window = windows.window(index)
            assert window.dtype == np.int64 and len(window) == seq_len + 1
            assert np.array_equal(window, stream[index * seq_len : index * seq_len + seq_len + 1])
        rebuilt = np.concatenate([windows.window(i)[:-1] for i in range(windows.num_windows)])
        assert np.array_equal(rebuilt, stream[: len(rebuilt)])
        assert len(stream) - len(rebuilt) <= seq_len  # only the last partial window is dropped


def test_prefixes_and_folders_are_equivalent(corpus):
    folder, _ = corpus
    by_prefix = PackedWindows([str(folder / "00000"), str(folder / "00001.idx"), str(folder / "00002")], seq_len=50)
    by_folder = PackedWindows([str(folder)], seq_len=50)
    assert by_prefix.num_windows == by_folder.num_windows
    assert all(np.array_equal(by_prefix.window(i), by_folder.window(i)) for i in range(by_folder.num_windows))


def test_epoch_is_a_seeded_permutation(corpus):
    folder, _ = corpus
    windows = PackedWindows([str(folder)], seq_len=16, seed=3)
    first = [item["tokens"] for item in windows]
    second = [item["tokens"] for item in windows]
    keys = {window.tobytes() for window in first}
    assert len(first) == windows.num_windows == len(keys)
    assert {window.tobytes() for window in second} == keys
    assert any(not np.array_equal(a, b) for a, b in zip(first, second))  # reshuffled per epoch
    again = PackedWindows([str(folder)], seq_len=16, seed=3)
    assert all(np.array_equal(a, b["tokens"]) for a, b in zip(first, again))
    other_seed = PackedWindows([str(folder)], seq_len=16, seed=4)
    assert any(not np.array_equal(a, b["tokens"]) for a, b in zip(first, other_seed))


@pytest.mark.parametrize("stop_at", [0, 1, 17, 40])
def test_resume_mid_epoch_equals_uninterrupted(corpus, stop_at):
    folder, _ = corpus
    uninterrupted = PackedWindows([str(folder)], seq_len=32, seed=5, rank=1, world_size=2)
    per_epoch = len(uninterrupted)
    assert per_epoch > 40
    reference = [item["tokens"] for item in itertools.chain(iter(uninterrupted), iter(uninterrupted))]

    first = PackedWindows([str(folder)], seq_len=32, seed=5, rank=1, world_size=2)
    consumed = [item["tokens"] for item in itertools.islice(iter(first), stop_at)]
    state = first.state_dict()
    assert state == {"epoch": 0, "sample_index": stop_at}
    resumed = PackedWindows([str(folder)], seq_len=32, seed=5, rank=1, world_size=2)
    resumed.load_state_dict(state)
    consumed += [item["tokens"] for item in resumed]
    consumed += [item["tokens"] for item in resumed]  # the next epoch continues the same schedule
    assert len(consumed) == len(reference) == 2 * per_epoch
    assert all(np.array_equal(a, b) for a, b in zip(consumed, reference))


def test_resume_at_exact_epoch_end(corpus):
    folder, _ = corpus
    windows = PackedWindows([str(folder)], seq_len=32, seed=1)
    epoch0 = list(itertools.islice(iter(windows), len(windows)))
    assert windows.state_dict() == {"epoch": 0, "sample_index": len(windows)}
    resumed = PackedWindows([str(folder)], seq_len=32, seed=1)
    resumed.load_state_dict(windows.state_dict())
    epoch1 = [item["tokens"] for item in resumed]
    fresh = PackedWindows([str(folder)], seq_len=32, seed=1)
    expected = [item["tokens"] for item in itertools.islice(itertools.chain(fresh, fresh), 2 * len(fresh))]
    assert all(np.array_equal(a, b) for a, b in zip([item["tokens"] for item in epoch0] + epoch1, expected))
    with pytest.raises(ValueError):
        resumed.load_state_dict({"epoch": 0, "sample_index": len(resumed) + 1})


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_ranks_partition_the_windows(corpus, world_size):
    folder, _ = corpus
    ranks = [PackedWindows([str(folder)], seq_len=20, seed=9, rank=r, world_size=world_size) for r in range(world_size)]
    total = ranks[0].num_windows
    assert all(len(rank) == total // world_size for rank in ranks)
    orders = [rank.order(0) for rank in ranks]
    combined = np.concatenate(orders)
    assert len(np.unique(combined)) == len(combined) == (total // world_size) * world_size
    permutation = np.random.default_rng([9, 0]).permutation(total)
    for r, order in enumerate(orders):  # rank r takes every world_size-th window of the epoch's order
        assert np.array_equal(order, permutation[r : (total // world_size) * world_size : world_size])
    yielded = [[item["tokens"] for item in rank] for rank in ranks]
    for r in range(world_size):
        assert all(np.array_equal(t, ranks[r].window(int(i))) for t, i in zip(yielded[r], orders[r]))


def test_boundaries(corpus):
    folder, docs = corpus
    starts = set(np.cumsum([0] + [len(doc) for doc in docs[:-1]]).tolist())
    windows = PackedWindows([str(folder)], seq_len=45, return_boundaries=True)
    for index in range(windows.num_windows):
        begin = index * 45
        expected = sorted(position - begin for position in starts if begin <= position <= begin + 45)
        assert windows.boundaries(index).tolist() == expected
    item = next(iter(windows))
    assert set(item) == {"tokens", "boundaries"}
    assert "boundaries" not in next(iter(PackedWindows([str(folder)], seq_len=45)))


def test_small_and_invalid_inputs(tmp_path):
    with ShardWriter(str(tmp_path / "one"), 100) as writer:
        writer.add([1, 2, 3, 4], "a", "s", "general")
    assert len(PackedWindows([str(tmp_path)], seq_len=3)) == 1
    empty = PackedWindows([str(tmp_path)], seq_len=4)
    assert len(empty) == 0 and list(empty) == []
    assert len(PackedWindows([str(tmp_path)], seq_len=1, world_size=5, rank=4)) == 0
    with pytest.raises(ValueError):
        PackedWindows([str(tmp_path)], rank=2, world_size=2)
    with pytest.raises(ValueError):
        PackedWindows([str(tmp_path / "nothing-here")])
    with pytest.raises(IndexError):
        empty.window(0)


def test_torch_wrapper(corpus):
    torch = require_module("torch")
    from medcorpus.train import torch_dataset

    folder, _ = corpus
    windows = PackedWindows([str(folder)], seq_len=16, seed=2)
    batches = list(torch.utils.data.DataLoader(torch_dataset(windows), batch_size=4, num_workers=0))
    assert batches[0]["tokens"].shape == (4, 17) and batches[0]["tokens"].dtype == torch.int64
    assert sum(len(batch["tokens"]) for batch in batches) == len(windows)


def test_a_mixed_folder_gives_its_train_shards_unless_valid_is_asked_for(tmp_path):
    from medcorpus.tokenize.shards import ShardWriter
    from medcorpus.train.dataset import expand_shard_paths

    for name in ("train_00000", "train_00001", "valid_00000"):
        writer = ShardWriter(str(tmp_path / name), 32000)
        writer.add([1, 2, 3], f"doc-{name}", "pubmed", "biomedical", False)
        writer.close()
    assert [p.rsplit("/", 1)[1] for p in expand_shard_paths([str(tmp_path)])] == ["train_00000", "train_00001"]
    assert [p.rsplit("/", 1)[1] for p in expand_shard_paths([str(tmp_path)], split="valid")] == ["valid_00000"]
