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
Reject reasons: ``iserror``, ``category_filtered``, ``empty_text``, ``bad_row`` (wrong column count or
unparsable CSV), ``oversized`` (a report or zip member above the size bound), ``unknown_header`` (whole
file). Note text never goes to logs or exception messages.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator

import fsspec
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.documents import make_document
from medcorpus.inputs import open_input
from medcorpus.sources.base import SourceReader

LICENSE = "physionet-credentialed"
MIMIC3_COLUMNS = (
    "row_id", "subject_id", "hadm_id", "chartdate", "charttime", "storetime",
    "category", "description", "cgid", "iserror", "text",
)  # fmt: skip
MIMIC4_COLUMNS = ("note_id", "subject_id", "hadm_id", "note_type", "note_seq", "charttime", "storetime", "text")
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
    return text.replace("\r\n", "\n").replace("\r", "\n")


class MimicReader(SourceReader):
    """Reads MIMIC-III, MIMIC-IV-Note and MIMIC-CXR note files into one document per note."""

    name = "🏥 MIMIC"
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
        max_report_bytes: int = MAX_REPORT_BYTES,
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit)
        self.categories = {c.strip().lower() for c in categories} if categories is not None else None
        self.drop_categories = {c.strip().lower() for c in drop_categories}
        self.drop_iserror = drop_iserror
        self.max_report_bytes = max_report_bytes

    def read_file(self, path: str) -> Iterator[Document]:
        lowered = path.lower()
        if lowered.endswith(".zip"):
            yield from self._read_zip(path)
        elif lowered.endswith(".txt"):
            yield from self._read_report_file(path)
        else:
            yield from self._read_csv(path)

    # --- filters -----------------------------------------------------------------------------------------
    def _note_text(self, path: str, doc_id: str, raw: str, *names: str) -> str | None:
        """The cleaned text of a note that passes the category filter and is not empty; else reject it."""
        if not self._keep_category(*names):
            self.reject(path, "category_filtered", doc_id)
            return None
        text = _clean(raw)
        if not text.strip():
            self.reject(path, "empty_text", doc_id)
            return None
        return text

    def _keep_category(self, *names: str | None) -> bool:
        wanted = {n.strip().lower() for n in names if n}
        if wanted & self.drop_categories:
            return False
        return self.categories is None or bool(wanted & self.categories)

    # --- CSV (MIMIC-III / MIMIC-IV-Note) -----------------------------------------------------------------
    def _read_csv(self, path: str) -> Iterator[Document]:
        if csv.field_size_limit() < CSV_FIELD_LIMIT:
            csv.field_size_limit(CSV_FIELD_LIMIT)
        with open_input(path, "rb") as raw:
            rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            header = next(rows, None)
            columns = tuple(c.strip().lstrip("\ufeff").strip().lower() for c in header or ())
            if sorted(columns) == sorted(MIMIC3_COLUMNS):
                build = self._mimic3
            elif sorted(columns) == sorted(MIMIC4_COLUMNS):
                build = self._mimic4
            else:
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
                document = build(path, dict(zip(columns, row)))
                if document is not None:
                    yield document

    def _mimic3(self, path: str, fields: dict[str, str]) -> Document | None:
        doc_id = f"mimic3:{fields['row_id'].strip()}"
        if self.drop_iserror and fields["iserror"].strip() == "1":
            self.reject(path, "iserror", doc_id)
            return None
        category = fields["category"].strip()
        text = self._note_text(path, doc_id, fields["text"], category)
        if text is None:
            return None
        return make_document(
            text, doc_id, "mimic3", self.category, LICENSE, restricted=True,
            row_id=_int_or_none(fields["row_id"]), subject_id=_int_or_none(fields["subject_id"]),
            hadm_id=_int_or_none(fields["hadm_id"]), note_category=category or None,
            note_description=fields["description"].strip() or None, chart_date=_date(fields["chartdate"]),
            charttime=fields["charttime"].strip() or None, iserror=fields["iserror"].strip() == "1",
        )  # fmt: skip

    def _mimic4(self, path: str, fields: dict[str, str]) -> Document | None:
        note_id = fields["note_id"].strip()
        doc_id = f"mimic4:{note_id}"
        note_type = fields["note_type"].strip().upper()
        category = MIMIC4_NOTE_TYPES.get(note_type, note_type)
        text = self._note_text(path, doc_id, fields["text"], category, note_type)
        if text is None:
            return None
        return make_document(
            text, doc_id, "mimic4", self.category, LICENSE, restricted=True,
            note_id=note_id, subject_id=_int_or_none(fields["subject_id"]), hadm_id=_int_or_none(fields["hadm_id"]),
            note_type=note_type or None, note_category=category or None, note_seq=_int_or_none(fields["note_seq"]),
            chart_date=_date(fields["charttime"]), charttime=fields["charttime"].strip() or None,
        )  # fmt: skip

    # --- MIMIC-CXR reports -------------------------------------------------------------------------------
    def _read_report_file(self, path: str) -> Iterator[Document]:
        match = _CXR_PATH.search(path.replace(os.sep, "/"))
        if not match:
            self.reject(path, "unknown_header")
            return
        with fsspec.open(path, "rb") as handle:
            data = handle.read(self.max_report_bytes + 1)
        document = self._report(path, match, data)
        if document is not None:
            yield document

    def _read_zip(self, path: str) -> Iterator[Document]:
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
                document = self._report(path, match, data)
                if document is not None:
                    yield document

    def _report(self, path: str, match: re.Match, data: bytes) -> Document | None:
        doc_id = f"mimiccxr:s{match.group(2)}"
        if len(data) > self.max_report_bytes:
            self.reject(path, "oversized", doc_id)
            return None
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            self.reject(path, "bad_row", doc_id)
            return None
        text = self._note_text(path, doc_id, raw, "Radiology", "CXR")
        if text is None:
            return None
        return make_document(
            text, doc_id, "mimiccxr", self.category, LICENSE, restricted=True,
            subject_id=int(match.group(1)), study_id=int(match.group(2)),
            note_category="Radiology", note_type="CXR",
        )  # fmt: skip
