"""Reading Megatron-LM indexed-dataset shards written by `ShardWriter` (the layout is in `shards.py`): memory-mapped
tokens, the provenance sidecar, the loss mask when there is one, and the shards of a folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from medcorpus.tokenize.shards import (
    DTYPE_CODES,
    HEADER,
    INDEX_MAGIC,
    INDEX_VERSION,
    MASK_SUFFIX,
    SIDECAR_COLUMNS,
    SIDECAR_SUFFIX,
    ShardFormatError,
)


def _fail(path: str, reason: str) -> ShardFormatError:
    return ShardFormatError(f"corrupt or truncated shard file {path}: {reason}")


class ShardReader:
    """Memory-mapped read access to one shard; the header and sizes are checked on open."""

    def __init__(self, prefix: str):
        self.prefix = str(prefix)
        idx_path, bin_path = self.prefix + ".idx", self.prefix + ".bin"
        for path in (idx_path, bin_path):
            if not os.path.isfile(path):
                raise ShardFormatError(f"missing shard file {path}")
        idx_size = os.path.getsize(idx_path)
        if idx_size < HEADER.size:
            raise _fail(idx_path, f"{idx_size} bytes is shorter than the {HEADER.size}-byte header")
        with open(idx_path, "rb") as handle:
            magic, version, code, count, doc_count = HEADER.unpack(handle.read(HEADER.size))
        if magic != INDEX_MAGIC:
            raise _fail(idx_path, "not a Megatron index (bad magic bytes)")
        if version != INDEX_VERSION:
            raise _fail(idx_path, f"unsupported index version {version}")
        if code not in DTYPE_CODES:
            raise _fail(idx_path, f"unsupported dtype code {code}")
        expected = HEADER.size + 12 * count + 8 * doc_count
        if idx_size != expected:
            raise _fail(idx_path, f"{idx_size} bytes, expected {expected} for {count} sequences")
        self.dtype: np.dtype = DTYPE_CODES[code]
        index = np.memmap(idx_path, dtype=np.uint8, mode="r")
        start = HEADER.size
        self.lengths: np.ndarray = np.frombuffer(index, dtype="<i4", count=count, offset=start)
        self.pointers: np.ndarray = np.frombuffer(index, dtype="<i8", count=count, offset=start + 4 * count)
        self.document_indices: np.ndarray = np.frombuffer(
            index, dtype="<i8", count=doc_count, offset=start + 12 * count
        )
        if count and int(self.lengths.min()) < 0:
            raise _fail(idx_path, "negative sequence length")
        offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        if not np.array_equal(self.pointers, offsets[:-1] * self.dtype.itemsize):
            raise _fail(idx_path, "sequence pointers do not match the sequence lengths")
        docs = self.document_indices
        if doc_count < 1 or docs[0] != 0 or docs[-1] != count or (doc_count > 1 and np.any(np.diff(docs) < 0)):
            raise _fail(idx_path, "document indices do not cover the sequences")
        self.offsets: np.ndarray = offsets  # token offset of each sequence in .bin, plus the total at the end
        self.total_tokens: int = int(offsets[-1])
        bin_size = os.path.getsize(bin_path)
        if bin_size != self.total_tokens * self.dtype.itemsize:
            raise _fail(bin_path, f"{bin_size} bytes, the index expects {self.total_tokens * self.dtype.itemsize}")
        stored = self.dtype.newbyteorder("<")
        self._bin = np.memmap(bin_path, dtype=stored, mode="r") if self.total_tokens else np.empty(0, stored)
        self._sidecar: dict[str, list] | None = None
        self._masks: ShardReader | None = None
        if os.path.isfile(self.prefix + MASK_SUFFIX + ".idx"):
            self._masks = ShardReader(self.prefix + MASK_SUFFIX)
            if self._masks.dtype != np.uint8 or not np.array_equal(self._masks.lengths, self.lengths):
                raise _fail(self.prefix + MASK_SUFFIX + ".idx", "the loss mask does not match the shard's documents")

    @property
    def has_masks(self) -> bool:
        """Whether the shard has a loss mask (`<prefix>.mask.bin/.idx`)."""
        return self._masks is not None

    def mask(self, i: int) -> np.ndarray:
        """The loss mask (uint8, 1 = trained on) of document `i`, aligned with `tokens(i)`."""
        if self._masks is None:
            raise ShardFormatError(f"shard {self.prefix} has no loss mask ({self.prefix}{MASK_SUFFIX}.idx)")
        return self._masks.tokens(i)

    def mask_stream(self, start: int, stop: int) -> np.ndarray:
        """The loss mask of tokens [start, stop) of the shard's stream (see `stream`)."""
        if self._masks is None:
            raise ShardFormatError(f"shard {self.prefix} has no loss mask ({self.prefix}{MASK_SUFFIX}.idx)")
        return self._masks.stream(start, stop)

    def __len__(self) -> int:
        return len(self.lengths)

    def __repr__(self) -> str:
        return f"ShardReader({self.prefix!r}, documents={len(self)}, tokens={self.total_tokens})"

    def tokens(self, i: int) -> np.ndarray:
        """Tokens of sequence `i` as a zero-copy view of the memory-mapped .bin."""
        count = len(self.lengths)
        if not -count <= i < count:
            raise IndexError(f"document {i} out of range for {count} documents in {self.prefix}")
        i %= count
        return self._bin[self.offsets[i] : self.offsets[i + 1]]

    def stream(self, start: int, stop: int) -> np.ndarray:
        """Zero-copy view of tokens [start, stop) of the shard's documents laid end to end."""
        return self._bin[start:stop]

    def _load_sidecar(self) -> dict[str, list]:
        if self._sidecar is None:
            import pyarrow.parquet as pq

            path = self.prefix + SIDECAR_SUFFIX
            if not os.path.isfile(path):
                raise ShardFormatError(f"missing provenance sidecar {path}")
            try:
                table = pq.read_table(path)
                table = table.select([c for c in SIDECAR_COLUMNS if c != "restricted" or c in table.column_names])
            except Exception as error:  # pyarrow raises several types for damaged files
                raise _fail(path, f"unreadable parquet ({type(error).__name__})") from None
            if table.num_rows != len(self) or not np.array_equal(table.column("tokens").to_numpy(), self.lengths):
                raise _fail(path, "rows do not match the index")
            self._sidecar = {name: table.column(name).to_pylist() for name in table.column_names if name != "tokens"}
        return self._sidecar

    @property
    def doc_ids(self) -> list[str]:
        return self._load_sidecar()["id"]

    @property
    def sources(self) -> list[str]:
        return self._load_sidecar()["source"]

    @property
    def categories(self) -> list[str]:
        return self._load_sidecar()["category"]

    @property
    def restricted(self) -> list[bool] | None:
        """Each document's restricted flag; None for a shard written before the flag was recorded."""
        return self._load_sidecar().get("restricted")


def list_shards(folder: str) -> list[str]:
    """Prefixes of all shards (files ending in .idx, not loss masks) under `folder`, recursively, in sorted
    path order."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"not a folder of shards: {folder}")
    prefixes = [path.with_suffix("") for path in root.rglob("*.idx") if path.is_file()]
    prefixes = [prefix for prefix in prefixes if not prefix.name.endswith(MASK_SUFFIX)]
    return [str(prefix) for prefix in sorted(prefixes, key=lambda prefix: prefix.relative_to(root).parts)]
