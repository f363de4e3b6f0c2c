"""Intermediate data between stages: Parquet (zstd) by default, JSONL.gz on request.

Metadata is stored as one JSON string column so documents from different sources, with
different metadata keys, share one schema and nothing is dropped by schema inference.
"""

from __future__ import annotations

import json
import os
import sys

import orjson
from datatrove.data import Document
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.documents import PREVIOUS_TEXT
from medcorpus.io.noted_stats import NotedDocStats
from medcorpus.io.writers import AtomicJsonlWriter, AtomicParquetWriter

FORMATS = ("parquet", "jsonl")
# as json.dumps(sort_keys=True, separators=(",", ":"), default=str) writes them; datetimes through `default`
_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
SUFFIX = {"parquet": ".parquet", "jsonl": ".jsonl.gz"}
DOCUMENTS = "${source}/${rank}"  # an output file name: one file per source and task


def show_progress() -> bool:
    """Progress bars only on an interactive terminal, never in CI logs."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def _parquet_schema():
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("text", pa.string()), ("metadata", pa.string())])


class _Rows:
    """Turns a Document into the row written to disk; `reason` fills in a missing exclusion reason."""

    def __init__(self, as_json: bool, reason: str | None = None):
        self.as_json = as_json
        self.reason = reason

    def __call__(self, writer: DiskWriter, document: Document) -> dict:
        metadata = document.metadata
        if PREVIOUS_TEXT in metadata:  # a text kept in memory for a pending token count is never written
            metadata = {key: value for key, value in metadata.items() if key != PREVIOUS_TEXT}
        if self.reason and "filter_reason" not in metadata:
            metadata = metadata | {"filter_reason": self.reason}
        if self.as_json:
            encoded = orjson.dumps(metadata, default=str, option=_JSON_OPTIONS)
            if b"null" in encoded:  # orjson writes NaN and Infinity as null, json keeps them: the same layout
                metadata = json.dumps(metadata, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
            else:
                metadata = encoded.decode()
        return {"id": document.id, "text": document.text, "metadata": metadata}


def make_writer(folder: str, fmt: str = "parquet", filename: str = DOCUMENTS, reason: str | None = None) -> DiskWriter:
    """A datatrove writer for an intermediate folder (crash-safe: files appear complete or not at all).

    Documents go to `<folder>/<source>/<rank>.<suffix>` by default (`filename` may use ${rank}
    and metadata tags); `reason` is recorded as `filter_reason` where a step gave none.
    """
    if fmt == "parquet":
        return AtomicParquetWriter(
            folder,
            output_filename=filename + SUFFIX[fmt],
            compression="zstd",
            adapter=_Rows(True, reason),
            schema=_parquet_schema(),
            max_file_size=-1,
        )
    if fmt == "jsonl":
        adapter = _Rows(False, reason)
        return AtomicJsonlWriter(folder, output_filename=filename + ".jsonl", compression="gzip", adapter=adapter)
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")


def _metadata(metadata) -> dict:
    """A row's metadata: its JSON decoded by orjson (about twice as fast as json), a non-object wrapped."""
    if isinstance(metadata, str):
        try:
            metadata = orjson.loads(metadata)
        except orjson.JSONDecodeError:  # NaN or Infinity, which json.dumps writes and orjson refuses
            metadata = json.loads(metadata)
    return metadata if isinstance(metadata, dict) else {"metadata": metadata}


def _read_row(self, data: dict, path: str, id_in_file: int | str) -> dict:
    """datatrove's default adapter, with the metadata JSON decoded by orjson (about twice as fast to read)."""
    metadata = _metadata(data.pop("metadata", {}))
    return {
        "text": data.pop(self.text_key, ""),
        "id": data.pop(self.id_key, f"{path}/{id_in_file}"),
        "media": data.pop("media", []),
        "metadata": metadata | data,
    }


class _MayBeEmpty(NotedDocStats):
    """An intermediate folder with no files holds no documents (a source that matched nothing): read none.

    datatrove's readers raise on a folder without files, which would fail the whole run. Per-document stats are
    noted and added when the run ends (`noted_stats.py`)."""

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        try:
            if self.data_folder.list_files(recursive=self.recursive, glob_pattern=self.glob_pattern):
                yield from super().run(data, rank, world_size)
            elif data:
                yield from data
        finally:
            self.add_noted_doc_stats()


class IntermediateParquetReader(_MayBeEmpty, ParquetReader):
    """`ParquetReader` of an intermediate folder, which may be empty.

    Files in the intermediate layout (`id`, `text`, `metadata` columns, read with `_read_row` and no default
    metadata) are read a column at a time instead of a row dict at a time: the same documents as datatrove's
    `read_file` (tested), at about half its CPU. Any other file goes through datatrove's."""

    def read_file(self, filepath: str):
        if self.adapter.__func__ is not _read_row or self.default_metadata or self.add_file_path:
            yield from super().read_file(filepath)
            return
        import pyarrow.parquet as pq

        with self.data_folder.open(filepath, "rb") as handle, pq.ParquetFile(handle) as parquet:
            if set(parquet.schema_arrow.names) != {"id", "text", "metadata"} or not self.read_metadata:
                yield from super().read_file(filepath)
                return
            for batch in parquet.iter_batches(batch_size=self.batch_size):
                with self.track_time("batch"):
                    columns = batch.to_pydict()
                    rows = zip(columns["text"], columns["id"], columns["metadata"])
                    # datatrove skips a row without text
                    documents = [
                        Document(text, doc_id, metadata=_metadata(meta)) for text, doc_id, meta in rows if text
                    ]
                yield from documents


class IntermediateJsonlReader(_MayBeEmpty, JsonlReader):
    """`JsonlReader` of an intermediate folder, which may be empty."""


def make_reader(folder: str, fmt: str = "parquet", **kwargs) -> BaseDiskReader:
    """A datatrove reader of the documents in an intermediate folder (`<folder>/<source>/<file>`); an empty
    folder gives no documents."""
    kwargs.setdefault("doc_progress", show_progress())
    kwargs.setdefault("adapter", _read_row)
    if fmt == "parquet":
        reader: BaseDiskReader = IntermediateParquetReader(folder, glob_pattern="*/*.parquet", **kwargs)
    elif fmt == "jsonl":
        reader = IntermediateJsonlReader(folder, glob_pattern="*/*.jsonl.gz", compression="gzip", **kwargs)
    else:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    reader.add_file_path = False  # local paths in metadata would make outputs depend on where a run lives
    return reader


def detect_format(folder: str) -> str:
    """The intermediate format found in a local folder (parquet wins when both are present)."""
    from pathlib import Path

    root = Path(folder)
    if any(root.glob("*/*.parquet")):
        return "parquet"
    if any(root.glob("*/*.jsonl.gz")):
        return "jsonl"
    raise FileNotFoundError(f"no .parquet or .jsonl.gz files under {folder}")
