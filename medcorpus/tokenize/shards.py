"""Megatron-LM indexed-dataset shards (`<prefix>.bin` + `<prefix>.idx`) with a per-document provenance sidecar.

`.idx` layout (little-endian), as Megatron-LM's `indexed_dataset` writes it:
    b"MMIDIDX\\x00\\x00" | <Q version=1 | <B dtype code | <Q sequence count N | <Q document count D
    | int32[N] sequence lengths (tokens) | int64[N] sequence byte offsets into .bin | int64[D] document indices
Each document here is one sequence, so the document indices are 0, 1, ..., N (D = N + 1).
`.bin` holds the raw tokens back to back. `<prefix>.docs.parquet` (zstd) has one row per sequence:
id, source, category, tokens, restricted (the document's `restricted` metadata flag: credentialed-licence
data that must not be published; shards written before the column existed read as unknown, None).

Memory stays flat whatever the shard size: tokens are flushed to `.bin` every FLUSH_TOKENS, sidecar rows go
out as Parquet row groups of SIDECAR_ROWS, and only the sequence lengths (4 bytes a document) are kept.
`add_batch` takes many documents as one flat token array (one validation and one copy per batch).

Writes are atomic: everything goes to temporary names in the same folder and is renamed into place
with `os.replace`, the `.idx` last, so a shard whose `.idx` exists is always complete.

Loss masks (supervised fine-tuning): a shard written with `masks=True` also has `<prefix>.mask.bin` +
`<prefix>.mask.idx`, itself a Megatron indexed dataset of uint8 (1 = train on this token), one sequence
per document of exactly the document's length. Reading shards: `shard_reader.py` (`ShardReader`; `list_shards`,
which does not list mask shards as shards).
"""

from __future__ import annotations

import os
import struct
import tempfile
from array import array

import numpy as np

INDEX_MAGIC = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
HEADER = struct.Struct("<9sQBQQ")  # magic, version, dtype code, sequence count, document count (34 bytes)
DTYPE_CODES: dict[int, np.dtype] = {
    1: np.dtype(np.uint8),
    2: np.dtype(np.int8),
    3: np.dtype(np.int16),
    4: np.dtype(np.int32),
    5: np.dtype(np.int64),
    8: np.dtype(np.uint16),
}
CODE_OF_DTYPE = {dtype: code for code, dtype in DTYPE_CODES.items()}
SIDECAR_SUFFIX = ".docs.parquet"
SIDECAR_COLUMNS = ("id", "source", "category", "tokens", "restricted")
FLUSH_TOKENS = 1 << 20  # buffered tokens written to .bin in one go
SIDECAR_ROWS = 1 << 16  # sidecar rows per Parquet row group
UINT16_LIMIT = 65500  # megatron-core's DType.optimal_dtype: uint16 only below this vocabulary size
MASK_SUFFIX = ".mask"  # <prefix>.mask.bin / .mask.idx: the loss mask of a shard's tokens


class ShardFormatError(ValueError):
    """A shard file is missing, truncated or not in the expected format."""


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when the vocabulary is below 65,500 ids, else int32 (the rule megatron-core's tools apply)."""
    if vocab_size <= 0:
        raise ValueError(f"vocab_size must be positive, got {vocab_size}")
    return np.dtype(np.uint16) if vocab_size < UINT16_LIMIT else np.dtype(np.int32)


def encode_index(lengths: np.ndarray, dtype: np.dtype) -> bytes:
    """The complete `.idx` file for one-sequence-per-document token sequences of the given lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    count = len(lengths)
    pointers = np.zeros(count, dtype=np.int64)
    if count:
        np.cumsum(lengths[:-1] * np.dtype(dtype).itemsize, out=pointers[1:])
    documents = np.arange(count + 1, dtype=np.int64)
    header = HEADER.pack(INDEX_MAGIC, INDEX_VERSION, CODE_OF_DTYPE[np.dtype(dtype)], count, count + 1)
    return b"".join(
        [header, lengths.astype("<i4").tobytes(), pointers.astype("<i8").tobytes(), documents.astype("<i8").tobytes()]
    )


class ShardWriter:
    """Writes one shard. Use as a context manager: a clean exit publishes it, an exception discards it."""

    def __init__(self, prefix: str, vocab_size: int, masks: bool = False):
        self.prefix = str(prefix)
        self.masks = bool(masks)  # every document then comes with its loss mask (see the module docstring)
        self.vocab_size = int(vocab_size)
        self.dtype = token_dtype(self.vocab_size)
        folder = os.path.dirname(os.path.abspath(self.prefix))
        os.makedirs(folder, exist_ok=True)
        base = os.path.basename(self.prefix)
        handle, self._bin_tmp = tempfile.mkstemp(dir=folder, prefix=f".{base}.", suffix=".bin.tmp")
        self._bin = os.fdopen(handle, "wb")
        self._pending: list[np.ndarray] = []
        self._pending_tokens = 0
        self._lengths = array("i")  # int32 sequence lengths, the only per-document state kept to the end
        self._rows: dict[str, list] = {name: [] for name in SIDECAR_COLUMNS}
        self._docs_tmp = self._tmp_name(".docs.tmp")
        self._sidecar = None  # pyarrow ParquetWriter, opened with the first row group
        self._tokens = 0
        self._result: dict | None = None
        self._aborted = False
        self._mask_pending: list[np.ndarray] = []
        self._mask_bin = None
        if self.masks:
            handle, self._mask_tmp = tempfile.mkstemp(dir=folder, prefix=f".{base}.", suffix=".mask.bin.tmp")
            self._mask_bin = os.fdopen(handle, "wb")

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None and not self._aborted:
            self.close()
        else:
            self.abort()

    def add(self, tokens, doc_id: str, source: str, category: str, restricted: bool = False, mask=None) -> None:
        """Append one document's tokens (already with its BOS/EOS) and its provenance (and loss mask)."""
        if self._result is not None or self._aborted:
            raise ValueError(f"shard {self.prefix} is already closed")
        flat = np.asarray(tokens)
        if flat.ndim != 1:
            raise ValueError(f"tokens of document {doc_id!r} must be one-dimensional")
        if flat.size > np.iinfo(np.int32).max:
            raise ValueError(f"document {doc_id!r} is too long for the index ({flat.size} tokens)")
        self._check_ids(flat, doc_id)
        self._check_mask(mask, flat.size, doc_id)
        self._append(flat, [flat.size], [doc_id], [source], [category], [restricted], mask)

    def _check_mask(self, mask, size: int, doc_id: str | None) -> None:
        """A mask goes with every document of a masked shard, and only there, as long as its tokens."""
        if not self.masks:
            if mask is not None:
                raise ValueError(f"shard {self.prefix} was opened without masks, but {doc_id!r} has one")
            return
        if mask is None or np.asarray(mask).shape != (size,):
            raise ValueError(f"document {doc_id!r} needs a loss mask of {size} values (one per token)")

    def _check_ids(self, flat: np.ndarray, doc_id: str | None, sizes: np.ndarray | None = None, ids=()) -> None:
        """Refuse non-integer tokens and ids outside the vocabulary, naming the (first) offending document."""
        if not flat.size:
            return
        if flat.dtype.kind not in "iu":
            raise ValueError(f"tokens of document {doc_id!r} must be integers, got {flat.dtype}")
        low, high = int(flat.min()), int(flat.max())
        if low < 0 or high >= self.vocab_size:
            if sizes is not None:
                position = int(np.argmax((flat < 0) | (flat >= self.vocab_size)))
                doc_id = ids[int(np.searchsorted(np.cumsum(sizes), position, side="right"))]
            raise ValueError(f"document {doc_id!r} has token ids outside [0, {self.vocab_size}): {low}..{high}")

    def add_batch(self, tokens, lengths, ids, sources, categories, restricted, masks=None) -> None:
        """Append several documents at once: `tokens` is their ids laid end to end, `lengths` splits them.

        The batch is validated as a whole (nothing of a bad batch is written); per-document columns are
        sequences of the same length as `lengths`.
        """
        if self._result is not None or self._aborted:
            raise ValueError(f"shard {self.prefix} is already closed")
        flat = np.asarray(tokens)
        sizes = np.asarray(lengths, dtype=np.int64)
        count = len(sizes)
        if not len(ids) == len(sources) == len(categories) == len(restricted) == count:
            raise ValueError("add_batch: per-document columns and lengths differ in length")
        first = ids[0] if count else None
        if flat.ndim != 1 or sizes.ndim != 1:
            raise ValueError(f"tokens of documents from {first!r} must be one-dimensional")
        if count and (int(sizes.min()) < 0 or int(sizes.max()) > np.iinfo(np.int32).max):
            raise ValueError(f"a document from {first!r} is too long for the index")
        if int(sizes.sum()) != flat.size:
            raise ValueError(f"lengths add up to {int(sizes.sum())}, but {flat.size} tokens were given")
        self._check_ids(flat, first, sizes, ids)
        self._check_mask(masks, flat.size, first)
        self._append(flat, sizes.tolist(), ids, sources, categories, restricted, masks)

    def _append(self, flat: np.ndarray, sizes: list[int], ids, sources, categories, restricted, mask=None) -> None:
        self._pending.append(flat.astype(self.dtype, copy=False))
        if self.masks:
            self._mask_pending.append((np.asarray(mask) != 0).astype(np.uint8))
        self._pending_tokens += flat.size
        self._lengths.extend(sizes)
        for name, column in zip(SIDECAR_COLUMNS, (ids, sources, categories, sizes, restricted)):
            self._rows[name].extend(column)
        self._tokens += int(flat.size)
        if self._pending_tokens >= FLUSH_TOKENS:
            self._flush()
        if len(self._rows["id"]) >= SIDECAR_ROWS:
            self._write_rows()

    def _write_rows(self) -> None:
        """Write the buffered sidecar rows as one Parquet row group."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = self._rows
        table = pa.table(
            {
                "id": pa.array([str(value) for value in rows["id"]], pa.string()),
                "source": pa.array([str(value) for value in rows["source"]], pa.string()),
                "category": pa.array([str(value) for value in rows["category"]], pa.string()),
                "tokens": pa.array(rows["tokens"], pa.int64()),
                "restricted": pa.array([bool(value) for value in rows["restricted"]], pa.bool_()),
            }
        )
        if self._sidecar is None:
            self._sidecar = pq.ParquetWriter(self._docs_tmp, table.schema, compression="zstd")
        self._sidecar.write_table(table, row_group_size=SIDECAR_ROWS)
        self._rows = {name: [] for name in SIDECAR_COLUMNS}

    def _flush(self) -> None:
        if self._pending:
            np.concatenate(self._pending).astype(self.dtype.newbyteorder("<"), copy=False).tofile(self._bin)
            self._pending, self._pending_tokens = [], 0
        if self._mask_pending:
            np.concatenate(self._mask_pending).tofile(self._mask_bin)
            self._mask_pending = []

    def _tmp_name(self, suffix: str) -> str:
        return self._bin_tmp[: -len(".bin.tmp")] + suffix

    def close(self) -> dict:
        """Publish the shard (.bin, sidecar, then .idx) and return {"prefix", "documents", "tokens"}."""
        if self._result is not None:
            return self._result
        if self._aborted:
            raise ValueError(f"shard {self.prefix} was aborted")
        idx_tmp, docs_tmp = self._tmp_name(".idx.tmp"), self._docs_tmp
        try:
            self._flush()
            self._bin.flush()
            os.fsync(self._bin.fileno())
            self._bin.close()
            with open(idx_tmp, "wb") as handle:
                handle.write(encode_index(np.frombuffer(self._lengths, dtype=np.int32), self.dtype))
                handle.flush()
                os.fsync(handle.fileno())
            if self._rows["id"] or self._sidecar is None:
                self._write_rows()
            self._sidecar.close()
            # An older shard of the same name stops looking complete before any of its files is replaced.
            if os.path.exists(self.prefix + ".idx"):
                os.remove(self.prefix + ".idx")
            self._publish_mask()
            os.replace(self._bin_tmp, self.prefix + ".bin")
            os.replace(docs_tmp, self.prefix + SIDECAR_SUFFIX)
            os.replace(idx_tmp, self.prefix + ".idx")
        except BaseException:
            self.abort()
            for name in (idx_tmp, docs_tmp, self._tmp_name(".mask.idx.tmp")):
                if os.path.exists(name):
                    os.remove(name)
            raise
        self._result = {"prefix": self.prefix, "documents": len(self._lengths), "tokens": self._tokens}
        self._rows = {name: [] for name in SIDECAR_COLUMNS}
        return self._result

    def _publish_mask(self) -> None:
        """Write the mask's index and move mask files into place (before the shard's own .idx); without
        masks, remove those an older shard of the same name left."""
        if not self.masks:
            for suffix in (".idx", ".bin"):
                if os.path.exists(self.prefix + MASK_SUFFIX + suffix):
                    os.remove(self.prefix + MASK_SUFFIX + suffix)
            return
        self._mask_bin.flush()
        os.fsync(self._mask_bin.fileno())
        self._mask_bin.close()
        idx_tmp = self._tmp_name(".mask.idx.tmp")
        with open(idx_tmp, "wb") as handle:
            handle.write(encode_index(np.frombuffer(self._lengths, dtype=np.int32), np.dtype(np.uint8)))
        os.replace(self._mask_tmp, self.prefix + MASK_SUFFIX + ".bin")
        os.replace(idx_tmp, self.prefix + MASK_SUFFIX + ".idx")

    def abort(self) -> None:
        """Discard everything written so far; nothing is published."""
        if self._result is not None:
            return
        self._aborted = True
        if not self._bin.closed:
            self._bin.close()
        if self._mask_bin is not None and not self._mask_bin.closed:
            self._mask_bin.close()
        if self.masks and os.path.exists(self._mask_tmp):
            os.remove(self._mask_tmp)
        if self._sidecar is not None:
            self._sidecar.close()
        for name in (self._bin_tmp, self._docs_tmp):
            if os.path.exists(name):
                os.remove(name)
        self._pending = []

    @property
    def documents(self) -> int:
        return len(self._lengths)

    @property
    def tokens(self) -> int:
        return self._tokens
