"""Intermediate data between stages: Parquet (zstd) by default, JSONL.gz on request.

Metadata is stored as one JSON string column so documents from different sources, with
different metadata keys, share one schema and nothing is dropped by schema inference.
"""

from __future__ import annotations

import json

from datatrove.data import Document
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter
from datatrove.pipeline.writers.disk_base import DiskWriter

FORMATS = ("parquet", "jsonl")
SUFFIX = {"parquet": ".parquet", "jsonl": ".jsonl.gz"}


def _parquet_schema():
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("text", pa.string()), ("metadata", pa.string())])


def _row(writer: DiskWriter, document: Document) -> dict:
    return {
        "id": document.id,
        "text": document.text,
        "metadata": json.dumps(document.metadata, sort_keys=True, ensure_ascii=False, default=str),
    }


def _jsonl_row(writer: DiskWriter, document: Document) -> dict:
    return {"id": document.id, "text": document.text, "metadata": document.metadata}


def make_writer(folder: str, fmt: str = "parquet", filename: str = "${rank}") -> DiskWriter:
    """A datatrove writer for an intermediate folder; `filename` may use ${rank} and metadata tags."""
    if fmt == "parquet":
        return ParquetWriter(
            folder,
            output_filename=filename + SUFFIX[fmt],
            compression="zstd",
            adapter=_row,
            schema=_parquet_schema(),
            max_file_size=-1,
        )
    if fmt == "jsonl":
        return JsonlWriter(folder, output_filename=filename + ".jsonl", compression="gzip", adapter=_jsonl_row)
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")


def make_reader(folder: str, fmt: str = "parquet", **kwargs) -> BaseDiskReader:
    """A datatrove reader for an intermediate folder written by `make_writer` (all files below it)."""
    if fmt == "parquet":
        reader: BaseDiskReader = ParquetReader(folder, glob_pattern="**/*.parquet", **kwargs)
    elif fmt == "jsonl":
        reader = JsonlReader(folder, glob_pattern="**/*.jsonl.gz", compression="gzip", **kwargs)
    else:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    reader.add_file_path = False  # local paths in metadata would make outputs depend on where a run lives
    return reader


def detect_format(folder: str) -> str:
    """The intermediate format found in a local folder (parquet wins when both are present)."""
    from pathlib import Path

    root = Path(folder)
    if any(root.rglob("*.parquet")):
        return "parquet"
    if any(root.rglob("*.jsonl.gz")):
        return "jsonl"
    raise FileNotFoundError(f"no .parquet or .jsonl.gz files under {folder}")
