"""Packed next-token-prediction windows over Megatron shards: numpy only, resumable, rank-partitioned.

All documents of all shards, in shard order, form one token stream (documents already carry their
BOS/EOS). Window k is stream[k * seq_len : k * seq_len + seq_len + 1] (inputs plus the shifted
target); a last partial window is dropped. Each epoch visits the windows in a permutation seeded by
(seed, epoch); rank r takes positions r, r + world_size, ... of it, and every rank gets the same
number of windows (the last `count % world_size` of the permutation are left out that epoch), so
distributed training never waits on a rank that ran out.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

import numpy as np

from medcorpus.tokenize.shard_reader import ShardReader, list_shards


def expand_shard_paths(paths: list[str], split: str = "train") -> list[str]:
    """Shard prefixes from a list of prefixes and/or folders of shards, in the given order.

    A folder written by the mixer holds `train_*` and `valid_*` shards: only those of `split` are taken."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    prefixes: list[str] = []
    for path in paths:
        path = str(path)
        if os.path.isdir(path):
            found = list_shards(path)
            if any(os.path.basename(f).startswith(("train_", "valid_")) for f in found):
                found = [f for f in found if os.path.basename(f).startswith(f"{split}_")]
            if not found:
                raise ValueError(f"no shards (.idx files) under {path}")
            prefixes.extend(found)
        else:
            prefixes.append(path.removesuffix(".idx").removesuffix(".bin"))
    return prefixes


class EpochCursor(ABC):
    """Resumable iteration over a per-epoch order: the position is (epoch, sample_index), saved and restored as a
    small dict. Subclasses set `epoch` and `sample_index` to 0 and give `__len__`, `order(epoch)` (this rank's
    entries) and `item(entry)`."""

    epoch: int
    sample_index: int

    @abstractmethod
    def __len__(self) -> int:
        """Entries this rank visits per epoch."""

    @abstractmethod
    def order(self, epoch: int) -> np.ndarray:
        """This rank's entries of `epoch`, in order."""

    @abstractmethod
    def item(self, entry: np.ndarray) -> dict:
        """The sample dict of one entry of the order."""

    def __iter__(self):
        """Yields the rest of the current epoch from the saved position, then moves to the next epoch."""
        if len(self) == 0:
            return
        if self.sample_index >= len(self):
            self.epoch, self.sample_index = self.epoch + 1, 0
        order = self.order(self.epoch)
        while self.sample_index < len(order):
            entry = order[self.sample_index]
            self.sample_index += 1  # counted as consumed once handed out
            yield self.item(entry)
        self.epoch, self.sample_index = self.epoch + 1, 0

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "sample_index": self.sample_index}

    def load_state_dict(self, state: dict) -> None:
        epoch, sample_index = int(state["epoch"]), int(state["sample_index"])
        if epoch < 0 or not 0 <= sample_index <= len(self):
            raise ValueError(f"invalid dataset state {state} for {len(self)} windows per epoch")
        self.epoch, self.sample_index = epoch, sample_index


class PackedWindows(EpochCursor):
    """Windows of `seq_len + 1` tokens with stride `seq_len`, shuffled per epoch, split across ranks."""

    layout = ""  # what a window is, for the resume fingerprint: empty for packed pretraining windows

    def __init__(
        self,
        paths: list[str],
        seq_len: int = 4096,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        return_boundaries: bool = False,
    ):
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        self.prefixes = expand_shard_paths(paths)
        self.shards = [ShardReader(prefix) for prefix in self.prefixes]
        self.seq_len, self.seed, self.rank, self.world_size = seq_len, seed, rank, world_size
        self.return_boundaries = return_boundaries
        self.shard_offsets = np.zeros(len(self.shards) + 1, dtype=np.int64)  # stream position of each shard
        np.cumsum([shard.total_tokens for shard in self.shards], out=self.shard_offsets[1:])
        self.total_tokens = int(self.shard_offsets[-1])
        self.num_windows = max(0, (self.total_tokens - 1) // seq_len)
        self.epoch = 0
        self.sample_index = 0
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.num_windows // self.world_size

    def _pieces(self, start: int, stop: int):
        """(shard number, shard-local start, shard-local stop, position in [start, stop)) of each overlap."""
        first = int(np.searchsorted(self.shard_offsets, start, side="right")) - 1
        position = start
        shard = first
        while position < stop:
            base = int(self.shard_offsets[shard])
            end = min(stop, int(self.shard_offsets[shard + 1]))
            if end > position:
                yield shard, position - base, end - base, position - start
            position = max(position, end)
            shard += 1

    def window(self, index: int) -> np.ndarray:
        """Window `index` of the unshuffled stream: seq_len + 1 tokens as int64."""
        if not 0 <= index < self.num_windows:
            raise IndexError(f"window {index} out of range for {self.num_windows} windows")
        start = index * self.seq_len
        out = np.empty(self.seq_len + 1, dtype=np.int64)
        for shard, local_start, local_stop, at in self._pieces(start, start + self.seq_len + 1):
            out[at : at + local_stop - local_start] = self.shards[shard].stream(local_start, local_stop)
        return out

    def boundaries(self, index: int) -> np.ndarray:
        """Positions inside window `index` where a document starts (0 when one starts exactly there)."""
        start = index * self.seq_len
        found = []
        for shard, local_start, local_stop, at in self._pieces(start, start + self.seq_len + 1):
            offsets = self.shards[shard].offsets[:-1]
            lo, hi = np.searchsorted(offsets, [local_start, local_stop], side="left")
            found.append(offsets[lo:hi] - local_start + at)
        positions = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
        return np.unique(positions)  # empty documents share a start with the next one

    def order(self, epoch: int) -> np.ndarray:
        """The global window indices this rank visits in `epoch`, in order."""
        if self._order is None or self._order[0] != epoch:
            permutation = np.random.default_rng([self.seed, epoch]).permutation(self.num_windows)
            self._order = (epoch, permutation[: len(self) * self.world_size])
        return self._order[1][self.rank :: self.world_size]

    def sample(self, index: int) -> dict:
        """The sample dict of global window `index`."""
        item = {"tokens": self.window(index)}
        if self.return_boundaries:
            item["boundaries"] = self.boundaries(index)
        return item

    def item(self, entry: np.ndarray) -> dict:
        return self.sample(int(entry))


def torch_dataset(windows: PackedWindows):
    """Wrap `windows` as a torch IterableDataset yielding tensors (torch needed only here).

    The shuffle position lives in `windows`, so use it with a DataLoader of num_workers <= 1 and
    checkpoint `windows.state_dict()`.
    """
    import torch
    from torch.utils.data import IterableDataset, get_worker_info

    class _TorchWindows(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            if info is not None and info.num_workers > 1:
                raise ValueError("PackedWindows keeps one resumable position: use num_workers <= 1")
            for item in windows:
                yield {key: torch.from_numpy(value) for key, value in item.items()}

        def __len__(self) -> int:
            return len(windows)

    return _TorchWindows()
