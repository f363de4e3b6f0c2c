"""General-domain replay text from JSON lines or Parquet: RedPajama, Dolma, CCNet and FineWeb layouts.

RedPajama lines are `{"text": ..., "meta": {...}}`; Dolma lines are `{id, text, source, added,
created, metadata}`; CCNet lines keep the text in `raw_content` and their fields at the top
level. A `.json` file may also hold one JSON array of such records. A `.parquet` file (FineWeb:
`text, id, dump, url, date, language, ...`) gives one record a row, read a batch at a time, with
the same text field and metadata as a JSON line. The ledger `medcorpus sources general download`
leaves in its folder (`medcorpus-ledger.json`) is never read as data (`expand_inputs` leaves it out).

A plain `.jsonl` file larger than `split_bytes` is read as byte ranges of that size, each its own
work unit (`path#bytes=START-END`), so many tasks share one huge file. A line belongs to the range
holding its first byte; a task seeks to the range start and skips the partial line there. The split
depends only on the file's size, never on the number of tasks, so ids stay the same for any task
count: lines of a split file without their own id are numbered by byte offset (`...:b<offset>`)
rather than by line. Compressed files cannot be seeked into and are read whole.
"""

from __future__ import annotations

import lzma
import os
import re
from collections.abc import Iterable, Iterator

import fsspec
import orjson
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter
from zstandard import ZstdError

from medcorpus.documents import make_document, url_hash
from medcorpus.paths import open_input
from medcorpus.sources.base import SourceReader

DECOMPRESSION_ERRORS = (lzma.LZMAError, ZstdError)
URL_KEYS = ("url", "warc_url", "source_url", "link")
SOURCE_KEYS = ("redpajama_set_name", "source", "dataset", "source_domain")
DATE_KEYS = ("created", "timestamp", "date_download", "date", "added")
SPLIT_BYTES = 128 * 2**20
PARQUET_BATCH = 1024
_RANGE = re.compile(r"#bytes=(\d+)-(\d+)$")


def _string(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text or None
    return None


def _pick(records: Iterable[dict], keys: tuple[str, ...]) -> str | None:
    """First non-empty scalar under any of `keys`, looking in each record in turn."""
    for record in records:
        for key in keys:
            value = _string(record.get(key))
            if value:
                return value
    return None


def _whole_json(first_line: bytes) -> bool:
    """Whether a `.json` file starting with this line is one JSON value (an array, or an object spread over
    lines) rather than JSON lines."""
    start = first_line.lstrip()
    if start.startswith(b"["):
        return True
    if not start.startswith(b"{"):
        return False
    try:
        orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return True
    return False


def _text(record: dict, text_key: str) -> object:
    """The record's text under `text_key`; for "text", CCNet's `raw_content` where there is no "text"."""
    text = record.get(text_key)
    return record.get("raw_content") if text is None and text_key == "text" else text


def _parquet_rows(path: str, columns: list[str] | None = None) -> Iterator[tuple[int, dict]]:
    """(row number from 1, row as a dict) of a Parquet file, `PARQUET_BATCH` rows in memory at a time."""
    with fsspec.open(path, "rb") as handle:
        number = 0
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=PARQUET_BATCH, columns=columns):
            for row in batch.to_pylist():
                number += 1
                yield number, row


def text_bytes(path: str, text_key: str = "text") -> tuple[int, int]:
    """(records with text, UTF-8 bytes of that text) in one file, the text chosen as `GeneralReader` does.

    A Parquet file is read one column at a time (no rows built); raises `ValueError` when it has no
    such column, and when a file that holds records has text under no record's `text_key`."""
    if path.endswith(".parquet"):
        with fsspec.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            names = parquet.schema_arrow.names
            key = text_key if text_key in names or text_key != "text" else "raw_content"
            if key not in names:
                raise ValueError(f"{os.path.basename(path)} has no {text_key!r} column (it has: {', '.join(names)})")
            records = size = 0
            for group in range(parquet.num_row_groups):
                column = parquet.read_row_group(group, columns=[key]).column(0)
                records += len(column) - column.null_count
                size += pc.sum(pc.binary_length(column)).as_py() or 0
        return records, size
    reader = GeneralReader([path], text_key=text_key, split_bytes=0)
    seen = records = size = 0
    for _, raw in reader._records(path):
        seen += 1
        try:
            record = orjson.loads(raw) if isinstance(raw, bytes) else raw
        except orjson.JSONDecodeError:
            continue
        text = _text(record, text_key) if isinstance(record, dict) else None
        if isinstance(text, str):
            records += 1
            size += len(text.encode("utf-8"))
    if seen and not records:
        raise ValueError(f"no record of {os.path.basename(path)} has text under {text_key!r}")
    return records, size


class GeneralReader(SourceReader):
    """General-domain documents from JSON lines (plain or compressed) or Parquet, one document a line or row.

    Ids are `general:<name>:<record id>`, or `general:<name>:<hash of file name>:<line>` for a
    record without an id (`:b<byte offset>` in a split file). Bad JSON, non-object lines and records
    without text are rejected (`bad_json`, `not_object`, `no_text`), a file without any record as
    `empty_file`, and reading goes on. `split_bytes` (0: never split) sets the byte ranges above.
    """

    name = "general reader"
    source = "general"
    category = "general"
    id_prefix = "general"  # ids are `<id_prefix>:<name>:...`
    suffixes = (".jsonl", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json", ".parquet")

    def __init__(
        self,
        inputs: list[str],
        exclusion_writer: DiskWriter | None = None,
        limit: int = -1,
        name: str = "general",
        license: str = "unknown",
        text_key: str = "text",
        split_bytes: int = SPLIT_BYTES,
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit)
        if split_bytes < 0:
            raise ValueError("split_bytes must be 0 (never split) or more")
        self.source = name
        self.license = license
        self.text_key = text_key
        self.split_bytes = split_bytes
        self.files = [part for path in self.files for part in self._parts(path)]

    def _parts(self, path: str) -> list[str]:
        """`path` itself, or `path#bytes=START-END` ranges of `split_bytes` for a large plain JSONL file."""
        if not self.split_bytes or not path.endswith(".jsonl"):
            return [path]
        fs, local = fsspec.core.url_to_fs(path)
        size = fs.size(local)
        if size is None or size <= self.split_bytes:
            return [path]
        step = self.split_bytes
        return [f"{path}#bytes={start}-{min(start + step, size)}" for start in range(0, size, step)]

    def read_file(self, path: str) -> Iterator[Document]:
        byte_range = _RANGE.search(path)
        if byte_range is not None:
            path = path[: byte_range.start()]
            records = self._range_records(path, int(byte_range.group(1)), int(byte_range.group(2)))
        elif path.endswith(".parquet"):
            records = _parquet_rows(path)
        else:
            records = self._records(path)
        file_key = url_hash(os.path.basename(path))
        empty, rejected = byte_range is None, self._rejected
        try:
            for number, raw in records:
                empty = False
                line_id = f"{self.id_prefix}:{self.source}:{file_key}:{number}"
                try:
                    record = orjson.loads(raw) if isinstance(raw, bytes) else raw
                except orjson.JSONDecodeError:
                    self.reject(path, "bad_json", doc_id=line_id)
                    continue
                document = self._document(record, path, line_id)
                if document is not None:
                    yield document
        except DECOMPRESSION_ERRORS as error:
            self.reject(path, f"unreadable_file:{type(error).__name__}")
        if empty and self._rejected == rejected:
            self.reject(path, "empty_file")

    @staticmethod
    def _range_records(path: str, start: int, end: int) -> Iterator[tuple[str, bytes]]:
        """("b<offset>", line) for every non-blank line starting in [start, end) of a plain file."""
        with fsspec.open(path, "rb") as handle:
            if start > 0:
                handle.seek(start - 1)
                handle.readline()  # the end of the line that began before `start` (just "\n" if none did)
            position = handle.tell()
            while position < end:
                line = handle.readline()
                if not line:
                    return
                if line.strip():
                    yield f"b{position}", line
                position += len(line)

    def _records(self, path: str) -> Iterator[tuple[int | str, object]]:
        """(line number, raw line) pairs; a `.json` file holding one JSON array gives (index, record) pairs, and
        one holding a single JSON object over several lines gives that object."""
        with open_input(path) as handle:
            first = True
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if first and path.endswith((".json", ".json.gz")) and _whole_json(line):
                    try:
                        array = orjson.loads(line + handle.read())
                    except orjson.JSONDecodeError:
                        self.reject(path, "bad_json")
                        return
                    yield from enumerate(array if isinstance(array, list) else [array], start=1)
                    return
                first = False
                yield number, line

    def _document(self, record: object, path: str, line_id: str) -> Document | None:
        if not isinstance(record, dict):
            self.reject(path, "not_object", doc_id=line_id)
            return None
        text = _text(record, self.text_key)
        if not isinstance(text, str) or not text.strip():
            self.reject(path, "no_text", doc_id=line_id)
            return None
        meta = record.get("meta")
        meta = meta if isinstance(meta, dict) else record.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        original_id = _string(record.get("id")) or _string(meta.get("id"))
        doc_id = f"{self.id_prefix}:{self.source}:{original_id}" if original_id else line_id
        urls = [u for u in (_string(m.get(k)) for m in (meta, record) for k in URL_KEYS) if u]
        url = next((u for u in urls if u.lower().startswith(("http://", "https://"))), urls[0] if urls else None)
        return make_document(
            text,
            doc_id,
            source=self.source,
            category=self.category,
            license=_pick((meta, record), ("license",)) or self.license,
            url=url,
            original_source=_pick((record, meta), SOURCE_KEYS),
            original_id=original_id,
            title=_pick((meta, record), ("title",)),
            language=_pick((meta, record), ("language", "lang")),
            date=_pick((record, meta), DATE_KEYS),
        )
