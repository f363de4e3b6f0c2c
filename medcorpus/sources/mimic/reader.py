"""MIMIC clinical notes: MIMIC-III NOTEEVENTS, MIMIC-IV-Note discharge/radiology CSVs, MIMIC-CXR reports.

The CSV layout is recognised from its header row (column names compared case-insensitively, quoted or
not, CRLF or LF line ends; `.csv` or `.csv.gz`):

- MIMIC-III ``NOTEEVENTS`` (ROW_ID, SUBJECT_ID, HADM_ID, CHARTDATE, CHARTTIME, STORETIME, CATEGORY,
  DESCRIPTION, CGID, ISERROR, TEXT) -> id ``mimic3:<ROW_ID>``, source ``mimic3``;
- MIMIC-IV-Note ``discharge`` / ``radiology`` (note_id, subject_id, hadm_id, note_type, note_seq,
  charttime, storetime, text) -> id ``mimic4:<note_id>``, source ``mimic4``;
- MIMIC-CXR reports ``files/pNN/pNNNNNNNN/sNNNNNNNN.txt``, as files or as members of a ``.zip`` read in
  memory (never extracted; member size bounded) -> id ``mimiccxr:s<study_id>``, source ``mimiccxr``.

Every document is category "clinical", license "physionet-credentialed" and ``restricted: True``.
Reject reasons: ``iserror``, ``category_filtered``, ``empty_text``, ``duplicate_text``, ``bad_row``
(wrong column count, unparsable CSV, an unterminated or stray quote), ``oversized`` (a report or zip
member above the size bound), ``unknown_header`` (whole file). Note text never goes to logs or exception messages.

``drop_duplicate_texts`` drops a note whose cleaned text equals that of an earlier kept note *of the
same input file* (a CSV or a zip; first occurrence kept): deterministic whatever the number of tasks,
since a file is always read whole, in order, by one task. Duplicates across files are left to the
corpus-wide exact-dedup stage. CSV parsing and filtering (`csv_notes`) is shared by direct reading and
the splitting pass of `split.py`; `note_document` turns a kept row into its document in both.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator

import fsspec
import numpy as np
import xxhash
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.documents import make_document
from medcorpus.paths import open_input
from medcorpus.sources.base import SourceReader

LICENSE = "physionet-credentialed"
MIMIC3_COLUMNS = (
    "row_id", "subject_id", "hadm_id", "chartdate", "charttime", "storetime",
    "category", "description", "cgid", "iserror", "text",
)  # fmt: skip
MIMIC4_COLUMNS = ("note_id", "subject_id", "hadm_id", "note_type", "note_seq", "charttime", "storetime", "text")
LAYOUTS = {"mimic3": MIMIC3_COLUMNS, "mimic4": MIMIC4_COLUMNS}
MIMIC4_NOTE_TYPES = {
    "DS": "Discharge summary",
    "AD": "Discharge addendum",
    "RR": "Radiology",
    "AR": "Radiology addendum",
}
# Large enough for any real note (the longest MIMIC notes are well under 1 MB), small enough for a C long.
CSV_FIELD_LIMIT = 64 * 1024 * 1024
MAX_REPORT_BYTES = 1024 * 1024
_CXR_PATH = re.compile(r"(?:^|/)files/p\d\d/p(\d+)/s(\d+)\.txt$")
_MAX_CSV_ERRORS = 1000


def _int_or_none(value: str) -> int | str | None:
    """'123' -> 123, '' -> None; anything else is kept as the string it is."""
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() else value


def _date(value: str) -> str | None:
    """The date part of a MIMIC timestamp ('2142-03-14 00:00:00' -> '2142-03-14')."""
    return value.strip().split(" ")[0] or None


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def text_key(text: str) -> int:
    """A 63-bit digest (xxh3) of a note's text, for exact-duplicate detection."""
    return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass")) >> 1


class SeenTexts:
    """Keys of the texts kept so far in a file, in about 8 bytes each (a set would take ~80).

    Recent keys sit in a set that is merged into a sorted int64 array every `batch` keys.
    """

    def __init__(self, batch: int = 1 << 16):
        self.recent: set[int] = set()
        self.merged = np.zeros(0, dtype=np.int64)
        self.batch = batch

    def add(self, key: int) -> bool:
        """Record `key`; False when it was recorded before."""
        if key in self.recent:
            return False
        merged = self.merged
        if len(merged):
            index = int(merged.searchsorted(key))
            if index < len(merged) and merged[index] == key:
                return False
        self.recent.add(key)
        if len(self.recent) >= self.batch:
            new = np.sort(np.fromiter(self.recent, dtype=np.int64, count=len(self.recent)))
            self.merged = np.insert(merged, merged.searchsorted(new), new)
            self.recent = set()
        return True


def _mimic4_category(note_type: str) -> str:
    return MIMIC4_NOTE_TYPES.get(note_type, note_type)


def note_document(layout: str, fields: dict[str, str]) -> Document:
    """The document of one kept CSV row (`layout` "mimic3" or "mimic4", raw string fields by column)."""
    if layout == "mimic3":
        category = fields["category"].strip()
        return make_document(
            _clean(fields["text"]), f"mimic3:{fields['row_id'].strip()}", "mimic3", "clinical", LICENSE,
            restricted=True, row_id=_int_or_none(fields["row_id"]), subject_id=_int_or_none(fields["subject_id"]),
            hadm_id=_int_or_none(fields["hadm_id"]), note_category=category or None,
            note_description=fields["description"].strip() or None, chart_date=_date(fields["chartdate"]),
            charttime=fields["charttime"].strip() or None, iserror=fields["iserror"].strip() == "1",
        )  # fmt: skip
    note_id = fields["note_id"].strip()
    note_type = fields["note_type"].strip().upper()
    return make_document(
        _clean(fields["text"]), f"mimic4:{note_id}", "mimic4", "clinical", LICENSE, restricted=True,
        note_id=note_id, subject_id=_int_or_none(fields["subject_id"]), hadm_id=_int_or_none(fields["hadm_id"]),
        note_type=note_type or None, note_category=_mimic4_category(note_type) or None,
        note_seq=_int_or_none(fields["note_seq"]), chart_date=_date(fields["charttime"]),
        charttime=fields["charttime"].strip() or None,
    )  # fmt: skip


class MimicReader(SourceReader):
    """Reads MIMIC-III, MIMIC-IV-Note and MIMIC-CXR note files into one document per note."""

    name = "MIMIC reader"
    source = "mimic"
    category = "clinical"
    suffixes = (".csv", ".csv.gz", ".txt", ".zip")

    def __init__(
        self,
        inputs: list[str],
        exclusion_writer: DiskWriter | None = None,
        limit: int = -1,
        categories: Iterable[str] | None = None,
        drop_categories: Iterable[str] = (),
        drop_iserror: bool = True,
        drop_duplicate_texts: bool = True,
        max_report_bytes: int = MAX_REPORT_BYTES,
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit)
        self.categories = {c.strip().lower() for c in categories} if categories is not None else None
        self.drop_categories = {c.strip().lower() for c in drop_categories}
        self.drop_iserror = drop_iserror
        self.drop_duplicate_texts = drop_duplicate_texts
        self.max_report_bytes = max_report_bytes

    def read_file(self, path: str) -> Iterator[Document]:
        lowered = path.lower()
        if lowered.endswith(".zip"):
            yield from self._read_zip(path)
        elif lowered.endswith(".txt"):
            yield from self._read_report_file(path)
        else:
            for layout, fields in self.csv_notes(path):
                yield note_document(layout, fields)

    # --- filters -----------------------------------------------------------------------------------------
    def _keep(self, path: str, doc_id: str, text: str, names: tuple[str | None, ...], seen: SeenTexts | None) -> bool:
        """Whether a note passes the category filter, is not empty and (with `seen`) not a repeat; else reject."""
        if not self._keep_category(*names):
            self.reject(path, "category_filtered", doc_id)
            return False
        if not text.strip():
            self.reject(path, "empty_text", doc_id)
            return False
        if seen is not None and not seen.add(text_key(text)):
            self.reject(path, "duplicate_text", doc_id)
            return False
        return True

    def _keep_category(self, *names: str | None) -> bool:
        if self.categories is None and not self.drop_categories:
            return True
        wanted = {n.strip().lower() for n in names if n}
        if wanted & self.drop_categories:
            return False
        return self.categories is None or bool(wanted & self.categories)

    def _seen(self) -> SeenTexts | None:
        return SeenTexts() if self.drop_duplicate_texts else None

    # --- CSV (MIMIC-III / MIMIC-IV-Note) -----------------------------------------------------------------
    def csv_notes(self, path: str) -> Iterator[tuple[str, dict[str, str]]]:
        """(layout, raw fields) of every note of a CSV file that passes the filters; the others are rejected."""
        seen = self._seen()
        for layout, fields in self._csv_rows(path):
            if layout == "mimic3":
                doc_id = f"mimic3:{fields['row_id'].strip()}"
                if self.drop_iserror and fields["iserror"].strip() == "1":
                    self.reject(path, "iserror", doc_id)
                    continue
                names: tuple[str | None, ...] = (fields["category"].strip(),)
            else:
                doc_id = f"mimic4:{fields['note_id'].strip()}"
                note_type = fields["note_type"].strip().upper()
                names = (_mimic4_category(note_type), note_type)
            if self._keep(path, doc_id, _clean(fields["text"]), names, seen):
                yield layout, fields

    def _csv_rows(self, path: str) -> Iterator[tuple[str, dict[str, str]]]:
        """Every well-formed row of a MIMIC CSV as (layout, {column: raw string}); bad rows are rejected."""
        if csv.field_size_limit() < CSV_FIELD_LIMIT:
            csv.field_size_limit(CSV_FIELD_LIMIT)
        with open_input(path, "rb") as raw:
            # strict: an unterminated or stray quote is a bad row, never a note that swallows the rows after it
            rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""), strict=True)
            header = next(rows, None)
            columns = tuple(c.strip().lstrip("\ufeff").strip().lower() for c in header or ())
            layout = next((name for name, known in LAYOUTS.items() if sorted(columns) == sorted(known)), None)
            if layout is None:
                self.reject(path, "unknown_header")
                return
            errors = 0
            while True:
                try:
                    row = next(rows)
                except StopIteration:
                    return
                except csv.Error:
                    errors += 1
                    self.reject(path, "bad_row")
                    if errors >= _MAX_CSV_ERRORS:
                        return
                    continue
                if not row:
                    continue
                if len(row) != len(columns):
                    self.reject(path, "bad_row")
                    continue
                yield layout, dict(zip(columns, row))

    # --- MIMIC-CXR reports -------------------------------------------------------------------------------
    def _read_report_file(self, path: str) -> Iterator[Document]:
        match = _CXR_PATH.search(path.replace(os.sep, "/"))
        if not match:
            self.reject(path, "unknown_header")
            return
        with fsspec.open(path, "rb") as handle:
            data = handle.read(self.max_report_bytes + 1)
        document = self._report(path, match, data, None)
        if document is not None:
            yield document

    def _read_zip(self, path: str) -> Iterator[Document]:
        seen = self._seen()
        with fsspec.open(path, "rb") as handle, zipfile.ZipFile(handle) as archive:
            members = sorted((info for info in archive.infolist() if not info.is_dir()), key=lambda i: i.filename)
            for info in members:
                match = _CXR_PATH.search(info.filename)
                if not match:
                    self.stat_update("zip_members_skipped")
                    continue
                if info.file_size > self.max_report_bytes:
                    self.reject(path, "oversized", f"mimiccxr:s{match.group(2)}")
                    continue
                with archive.open(info) as member:
                    data = member.read(self.max_report_bytes + 1)
                document = self._report(path, match, data, seen)
                if document is not None:
                    yield document

    def _report(self, path: str, match: re.Match, data: bytes, seen: SeenTexts | None) -> Document | None:
        doc_id = f"mimiccxr:s{match.group(2)}"
        if len(data) > self.max_report_bytes:
            self.reject(path, "oversized", doc_id)
            return None
        try:
            text = _clean(data.decode("utf-8"))
        except UnicodeDecodeError:
            self.reject(path, "bad_row", doc_id)
            return None
        if not self._keep(path, doc_id, text, ("Radiology", "CXR"), seen):
            return None
        return make_document(
            text, doc_id, "mimiccxr", self.category, LICENSE, restricted=True,
            subject_id=int(match.group(1)), study_id=int(match.group(2)),
            note_category="Radiology", note_type="CXR",
        )  # fmt: skip
