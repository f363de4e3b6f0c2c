"""Sharing one large MIMIC CSV among tasks: a splitting pass, then a reading pass over Parquet parts.

`MimicSplitter` (one task per CSV file) runs the reader's own CSV parsing and filters (`csv_notes`:
categories, ISERROR, empty texts, duplicate texts) and writes the raw string columns of each kept note,
plus the layout and the file's base name, to `<parts>/<file index>_<part number>.parquet`, each part one
row group of at most `part_rows` rows or `part_bytes` of text. Memory stays flat: one part is buffered.

`MimicPartReader` then turns parts into documents with `note_document`; task `rank` reads the sorted
parts `[rank::world_size]`, so N workers share one file. The documents are those of reading the CSV
directly, whatever N is (compare them sorted by id). Rejects are recorded by the splitting pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.io.atomic import atomic_open
from medcorpus.sources.mimic.reader import MimicReader, note_document

PART_ROWS = 20_000
PART_BYTES = 64 * 1024 * 1024
LAYOUT, FILE = "_layout", "_file"


def csv_inputs(files: list[str]) -> list[str]:
    """The inputs the splitting pass takes: everything but MIMIC-CXR reports and zips."""
    return [path for path in files if not path.lower().endswith((".zip", ".txt"))]


def list_parts(folder: str, files: int) -> list[str]:
    """Parts of the first `files` split inputs, sorted (input order, then part order)."""
    root = Path(folder)
    keys = {f"{index:05d}" for index in range(files)}
    found = root.glob("*_*.parquet") if root.is_dir() else []
    return sorted(str(path) for path in found if path.name.split("_")[0] in keys)


class _PartWriter:
    """Buffers kept rows of one input file and writes them out as numbered Parquet parts."""

    def __init__(self, folder: Path, key: str, file: str, rows: int, size: int):
        self.folder, self.key, self.file, self.rows, self.size = folder, key, file, rows, size
        self.columns: tuple[str, ...] = ()
        self.buffer: list[tuple[str, ...]] = []
        self.bytes = self.parts = 0
        for stale in folder.glob(f"{key}_*.parquet"):  # left by an earlier, interrupted run
            stale.unlink()

    def add(self, layout: str, fields: dict[str, str]) -> None:
        if not self.columns:
            self.columns = (*fields, LAYOUT, FILE)
        self.buffer.append((*fields.values(), layout, self.file))
        self.bytes += len(fields["text"])
        if len(self.buffer) >= self.rows or self.bytes >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        values = zip(*self.buffer)
        table = pa.table({name: pa.array(column, pa.string()) for name, column in zip(self.columns, values)})
        self.buffer, self.bytes = [], 0
        target = self.folder / f"{self.key}_{self.parts:06d}.parquet"
        with atomic_open(target) as handle:
            pq.write_table(table, handle, compression="zstd", row_group_size=table.num_rows, use_dictionary=False)
        self.parts += 1


class MimicSplitter(MimicReader):
    """Splitting pass: each CSV input (one per task) becomes row-group-sized Parquet parts of kept notes."""

    name = "MIMIC CSV splitter"

    def __init__(
        self,
        inputs: list[str],
        parts_folder: str,
        exclusion_writer: DiskWriter | None = None,
        part_rows: int = PART_ROWS,
        part_bytes: int = PART_BYTES,
        **options,
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, **options)
        self.parts_folder = parts_folder
        self.part_rows = part_rows
        self.part_bytes = part_bytes

    def read_file(self, path: str) -> Iterator[Document]:
        folder = Path(self.parts_folder)
        folder.mkdir(parents=True, exist_ok=True)
        key = f"{self.files.index(path):05d}"
        writer = _PartWriter(folder, key, os.path.basename(path), self.part_rows, self.part_bytes)
        rows = 0
        try:
            for layout, fields in self.csv_notes(path):
                writer.add(layout, fields)
                rows += 1
        finally:  # rows read before a damaged end of file are kept, as direct reading keeps them
            writer.flush()
            self.stat_update("rows_split", value=rows)
            self.stat_update("parts", value=writer.parts)
        yield from ()


class MimicPartReader(MimicReader):
    """Reading pass: documents from the parts of the first `files` split inputs; a task reads every Nth part."""

    name = "MIMIC part reader"

    def __init__(
        self,
        parts_folder: str,
        files: int,
        exclusion_writer: DiskWriter | None = None,
        batch_rows: int = 1024,
        **options,
    ):
        super().__init__([], exclusion_writer=exclusion_writer, **options)
        self.parts_folder = parts_folder
        self.split_files = files
        self.batch_rows = batch_rows

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.files = list_parts(self.parts_folder, self.split_files)  # written by the pass before this one
        yield from super().run(data, rank, world_size)

    def read_file(self, path: str) -> Iterator[Document]:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=self.batch_rows):
            columns = batch.to_pydict()
            layouts = columns.pop(LAYOUT)
            columns.pop(FILE)
            names = list(columns)
            for layout, *values in zip(layouts, *columns.values()):
                yield note_document(layout, dict(zip(names, values)))
