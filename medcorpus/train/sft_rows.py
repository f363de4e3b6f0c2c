"""Supervised fine-tuning rows: whole instruction examples with their loss masks, shuffled, resumable, rank-split.

An SFT shard holds one document per example, already templated (BOS, prompt, answer, end marker), and a
loss mask beside it (`<prefix>.mask.bin/.idx`, 1 = train on this token). A row has `seq_len + 1` tokens
like a PackedWindows window, but an example is never cut across rows:

- `pack`: rows are filled greedily with consecutive examples in shard order (the mixer already shuffled
  them); an example that does not fit in the rest of a row starts the next one;
- `pad`: one example per row.

The rest of a row is padding: token PAD_ID with mask 0, starting a segment of its own in the boundaries
(so `--doc-mask` keeps it apart from the examples). Examples longer than `seq_len + 1` tokens are skipped
and counted in `too_long`; examples without tokens are skipped too. Row k takes the place of window k, so
the seeded per-epoch order, the rank split, blending in BlendedWindows and exact resume are PackedWindows'.
"""

from __future__ import annotations

import numpy as np

from medcorpus.tokenize.shards import MASK_SUFFIX
from medcorpus.train.dataset import PackedWindows

PAD_ID = 0  # padding token; never trained on (mask 0), so any id is safe
MODES = ("pack", "pad")


def pack_rows(lengths: np.ndarray, capacity: int) -> np.ndarray:
    """Greedy packing of consecutive examples (each at most `capacity` tokens) into rows of `capacity`:
    the index of each row's first example, then the number of examples."""
    ends = np.cumsum(lengths, dtype=np.int64)
    firsts = [0]
    while firsts[-1] < len(lengths):
        first = firsts[-1]
        firsts.append(int(np.searchsorted(ends, ends[first] - lengths[first] + capacity, side="right")))
    return np.asarray(firsts, dtype=np.int64)


class SftRows(PackedWindows):
    """Rows of `seq_len + 1` tokens holding whole examples (`mode` pack or pad); samples carry the loss mask."""

    def __init__(
        self,
        paths: list[str],
        seq_len: int = 4096,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        return_boundaries: bool = False,
        mode: str = "pack",
    ):
        if mode not in MODES:
            raise ValueError(f"SFT mode must be one of {MODES}, got {mode!r}")
        super().__init__(paths, seq_len, seed, rank, world_size, return_boundaries)
        for shard in self.shards:
            if not shard.has_masks:
                raise ValueError(
                    f"shard {shard.prefix} has no loss mask ({shard.prefix}{MASK_SUFFIX}.idx): "
                    "SFT training needs shards written with masks"
                )
        self.mode = mode
        self.layout = f"sft={mode};"
        capacity = seq_len + 1
        lengths = np.concatenate([np.empty(0, np.int64)] + [shard.lengths.astype(np.int64) for shard in self.shards])
        self.document_offsets = np.zeros(len(self.shards) + 1, dtype=np.int64)  # first document number per shard
        np.cumsum([len(shard) for shard in self.shards], out=self.document_offsets[1:])
        self.too_long = int(np.count_nonzero(lengths > capacity))
        self.examples = np.flatnonzero((lengths > 0) & (lengths <= capacity))  # kept documents, in shard order
        if mode == "pack":
            self.row_starts = pack_rows(lengths[self.examples], capacity)
        else:
            self.row_starts = np.arange(len(self.examples) + 1, dtype=np.int64)
        self.num_windows = len(self.row_starts) - 1

    def row(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row `index`: tokens (int64), loss mask (uint8) and the start of each example (then of the padding)."""
        if not 0 <= index < self.num_windows:
            raise IndexError(f"row {index} out of range for {self.num_windows} rows")
        tokens = np.full(self.seq_len + 1, PAD_ID, dtype=np.int64)
        mask = np.zeros(self.seq_len + 1, dtype=np.uint8)
        starts = []
        at = 0
        for number in self.examples[self.row_starts[index] : self.row_starts[index + 1]].tolist():
            shard = int(np.searchsorted(self.document_offsets, number, side="right")) - 1
            local = number - int(self.document_offsets[shard])
            piece = self.shards[shard].tokens(local)
            tokens[at : at + len(piece)] = piece
            mask[at : at + len(piece)] = self.shards[shard].mask(local)
            starts.append(at)
            at += len(piece)
        if at <= self.seq_len:
            starts.append(at)
        return tokens, mask, np.asarray(starts, dtype=np.int64)

    def window(self, index: int) -> np.ndarray:
        return self.row(index)[0]

    def mask(self, index: int) -> np.ndarray:
        """The loss mask of row `index`, aligned with `window(index)`."""
        return self.row(index)[1]

    def boundaries(self, index: int) -> np.ndarray:
        return self.row(index)[2]

    def sample(self, index: int) -> dict:
        tokens, mask, starts = self.row(index)
        item = {"tokens": tokens, "mask": mask}
        if self.return_boundaries:
            item["boundaries"] = starts
        return item
