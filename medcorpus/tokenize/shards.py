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
per document of exactly the document's length. `list_shards` does not list mask shards as shards.
"""

from __future__ import annotations

import os
import struct
import tempfile
from array import array
from pathlib import Path

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
