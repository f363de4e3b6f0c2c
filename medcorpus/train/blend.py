"""Weighted blend of several shard sets, with the same windows, rank split and exact resume as PackedWindows.

Each shard set (a list of shard prefixes/folders) is a PackedWindows stream of its own. A blend epoch
has L = the total window count of all sets; set i gets c_i of its positions (largest-remainder
rounding of weight_i / sum(weights) * L), and the positions' set labels are a permutation seeded by
(seed, epoch). Set i's draws in epoch e are numbers e * c_i .. (e + 1) * c_i - 1 of an endless
sequence that walks set i's own seeded permutations (set epoch = draw // n_i), so an up-weighted
set repeats and a down-weighted one is visited partly per blend epoch. Rank r takes positions
r, r + world_size, ... of the first L - L % world_size positions. Everything is a pure function of
(seed, epoch, shard contents); the state dict carries a fingerprint of the shards and refuses others.
With one set the order is exactly PackedWindows' order. With `sft` ("pack" or "pad") every set is
SftRows instead (whole instruction examples with loss masks), blended the same way.
"""

from __future__ import annotations

import os
from functools import partial

import numpy as np
import xxhash

from medcorpus.train.dataset import EpochCursor, PackedWindows
from medcorpus.train.sft_rows import SftRows


def parse_shard_spec(spec: str) -> tuple[str, float]:
    """'DIR' or 'DIR:WEIGHT' (also a shard prefix) -> (path, weight); weight defaults to 1."""
    path, sep, tail = spec.rpartition(":")
    if sep and path and not os.path.exists(spec):
        try:
            weight = float(tail)
        except ValueError:
            return spec, 1.0
        if not weight > 0:
            raise ValueError(f"blend weight must be positive in {spec!r}")
        return path, weight
    return spec, 1.0


def fingerprint(windows: PackedWindows) -> str:
    """Hex digest of the shard index contents (document lengths, dtype), the window length and layout."""
    digest = xxhash.xxh64()
    digest.update(f"{windows.layout}seq_len={windows.seq_len};shards={len(windows.shards)};".encode())
    for shard in windows.shards:
        digest.update(f"{shard.dtype.str};{len(shard)};{shard.total_tokens};".encode())
        digest.update(np.ascontiguousarray(shard.lengths).tobytes())
    return digest.hexdigest()


def largest_remainder(weights: list[float], total: int) -> np.ndarray:
    """Integer counts summing to `total`, proportional to `weights` (ties go to the earlier set)."""
    shares = np.asarray(weights, dtype=np.float64) / float(sum(weights)) * total
    counts = np.floor(shares).astype(np.int64)
    remainder = total - int(counts.sum())
    order = np.lexsort((np.arange(len(shares)), -(shares - counts)))
    counts[order[:remainder]] += 1
    return counts


class BlendedWindows(EpochCursor):
    """Windows of `seq_len + 1` tokens drawn from weighted shard sets; items carry their (set, window) id."""

    def __init__(
        self,
        sets: list[tuple[list[str] | str, float]],
        seq_len: int = 4096,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        return_boundaries: bool = False,
        sft: str | None = None,
    ):
        if not sets:
            raise ValueError("need at least one shard set")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        rows = partial(SftRows, mode=sft) if sft else PackedWindows
        self.sets = [rows(paths, seq_len=seq_len, seed=seed, return_boundaries=return_boundaries) for paths, _ in sets]
        self.weights = [float(weight) for _, weight in sets]
        for (paths, weight), windows in zip(sets, self.sets):
            if not weight > 0:
                raise ValueError(f"blend weight must be positive, got {weight} for {paths}")
            if windows.num_windows == 0:
                what = "example of at most" if sft else "complete window of"
                raise ValueError(f"shard set {paths} has no {what} {seq_len + 1} tokens")
        self.seq_len, self.seed, self.rank, self.world_size = seq_len, seed, rank, world_size
        self.return_boundaries, self.sft = return_boundaries, sft
        self.sizes = np.array([windows.num_windows for windows in self.sets], dtype=np.int64)
        self.epoch_length = int(self.sizes.sum())
        self.counts = largest_remainder(self.weights, self.epoch_length)
        self.fingerprint = xxhash.xxh64(
            ";".join(f"{fingerprint(w)}*{c}" for w, c in zip(self.sets, self.counts)).encode()
        ).hexdigest()
        self.epoch = 0
        self.sample_index = 0
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.epoch_length // self.world_size

    def _set_permutation(self, number: int, set_epoch: int) -> np.ndarray:
        key = [self.seed, set_epoch] + ([number] if number else [])  # set 0 matches PackedWindows
        return np.random.default_rng(key).permutation(int(self.sizes[number]))

    def global_order(self, epoch: int) -> np.ndarray:
        """(set, window) pairs of all L positions of blend epoch `epoch`, shape (L, 2)."""
        if len(self.sets) == 1:
            labels = np.zeros(self.epoch_length, dtype=np.int64)
        else:
            labels = np.repeat(np.arange(len(self.sets)), self.counts)
            labels = labels[np.random.default_rng([self.seed, epoch, len(self.sets)]).permutation(len(labels))]
        out = np.empty((self.epoch_length, 2), dtype=np.int64)
        out[:, 0] = labels
        for number, count in enumerate(self.counts.tolist()):
            draws = epoch * count + np.arange(count, dtype=np.int64)
            size = int(self.sizes[number])
            windows = np.empty(count, dtype=np.int64)
            for set_epoch in np.unique(draws // size).tolist():
                chosen = draws // size == set_epoch
                windows[chosen] = self._set_permutation(number, set_epoch)[draws[chosen] % size]
            out[labels == number, 1] = windows
        return out

    def order(self, epoch: int) -> np.ndarray:
        """The (set, window) pairs this rank visits in `epoch`, in order, shape (len(self), 2)."""
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, self.global_order(epoch)[: len(self) * self.world_size])
        return self._order[1][self.rank :: self.world_size]

    def sample(self, number: int, index: int) -> dict:
        """Sample dict of window `index` of set `number`: tokens, id (set, window), boundaries if asked, and
        the loss mask of SFT rows."""
        return {**self.sets[number].sample(index), "id": (number, index)}

    def item(self, entry: np.ndarray) -> dict:
        number, index = entry.tolist()
        return self.sample(number, index)

    def state_dict(self) -> dict:
        return super().state_dict() | {"fingerprint": self.fingerprint}

    def load_state_dict(self, state: dict) -> None:
        if state.get("fingerprint") != self.fingerprint:
            raise ValueError("dataset state was saved for different shards, weights or seq_len; refusing to resume")
        super().load_state_dict(state)
