"""The raw store of a guideline crawl: every response kept as fetched, so extraction can re-run offline.

Layout of RAWDIR:
- `bodies/<sha256[:2]>/<sha256>`: response bodies, content-addressed, written atomically;
- `index.jsonl`: one JSON object per fetch (see `Entry`), appended and flushed after its body is on disk;
- `crawl.json`: the site, its base URL and what its adapter says (see `read_crawl_info`).

The latest line for a URL wins. A revalidation answered "304 Not Modified" is recorded as the stored
200 response again, with `not_modified: true` and the new `fetched_at`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from datatrove.utils.logging import logger

from medcorpus.io.atomic import atomic_write_bytes

INDEX_NAME = "index.jsonl"
BODIES_NAME = "bodies"
CRAWL_INFO_NAME = "crawl.json"
ROLES = ("robots", "listing", "document")


class StoreError(Exception):
    """The raw store cannot be used: unwritable folder, or a body that is missing or does not match its hash."""


@dataclass
class Entry:
    """One line of index.jsonl: one fetch of one URL."""

    url: str
    final_url: str
    fetched_at: str  # ISO-8601 UTC, e.g. "2025-01-31T12:00:00Z"
    status: int
    content_type: str
    sha256: str
    size: int
    etag: str | None
    last_modified: str | None
    body: str  # relative path "bodies/<sha256[:2]>/<sha256>"
    site: str
    role: str  # "robots" | "listing" | "document"
    not_modified: bool = False  # a 304 revalidation that reused the stored body

    @classmethod
    def from_dict(cls, data: dict) -> Entry:
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def utc_now() -> str:
    """The current time as ISO-8601 UTC with a Z suffix, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def is_raw_store(path: str | Path) -> bool:
    """True when `path` is a folder holding a raw store's index.jsonl."""
    return (Path(path) / INDEX_NAME).is_file()


def read_crawl_info(folder: str | Path) -> dict:
    """The contents of RAWDIR/crawl.json ({} when there is none or it is unreadable)."""
    path = Path(folder) / CRAWL_INFO_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        if path.exists():
            logger.warning(f"ignoring unreadable {path}: {error}")
        return {}


def write_crawl_info(folder: str | Path, info: dict) -> None:
    """Write RAWDIR/crawl.json atomically (sorted keys, so the same info gives the same bytes)."""
    atomic_write_bytes(Path(folder) / CRAWL_INFO_NAME, (json.dumps(info, indent=1, sort_keys=True) + "\n").encode())


class RawStore:
    """A folder of raw responses with its index; the index is read once and kept in memory."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.index_path = self.folder / INDEX_NAME
        self._latest: dict[str, Entry] = {}  # insertion order = first-seen order of URLs
        if self.index_path.is_file():
            self._load()

    def _load(self) -> None:
        with open(self.index_path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    entry = Entry.from_dict(json.loads(line))
                except (ValueError, TypeError) as error:  # e.g. a line cut short by an interruption
                    logger.warning(f"{self.index_path}:{number}: skipping unreadable index line ({error})")
                    continue
                self._latest[entry.url] = entry

    def add(
        self,
        url: str,
        status: int,
        content_type: str,
        body: bytes,
        role: str,
        site: str,
        etag: str | None = None,
        last_modified: str | None = None,
        final_url: str | None = None,
        not_modified: bool = False,
    ) -> Entry:
        """Store `body` (if not already there), then append and flush its index line; the new entry."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
        sha256 = hashlib.sha256(body).hexdigest()
        relative = f"{BODIES_NAME}/{sha256[:2]}/{sha256}"
        entry = Entry(
            url=url,
            final_url=final_url or url,
            fetched_at=utc_now(),
            status=int(status),
            content_type=content_type or "",
            sha256=sha256,
            size=len(body),
            etag=etag,
            last_modified=last_modified,
            body=relative,
            site=site,
            role=role,
            not_modified=not_modified,
        )
        try:
            path = self.folder / relative
            if not (path.is_file() and path.stat().st_size == len(body)):
                atomic_write_bytes(path, body, unique=True)
            with open(self.index_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(entry), sort_keys=True, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise StoreError(f"cannot write to the raw store {self.folder}: {error}") from error
        self._latest[url] = entry  # a URL seen before keeps its place
        return entry

    def latest(self, url: str) -> Entry | None:
        """The latest entry for `url`, or None."""
        return self._latest.get(url)

    def entries(self, role: str | None = None) -> Iterator[Entry]:
        """The latest entry of each URL (of `role` when given), in the order URLs were first stored."""
        for entry in list(self._latest.values()):
            if role is None or entry.role == role:
                yield entry

    def body(self, entry: Entry) -> bytes:
        """The stored body of `entry`, checked against its sha256; `StoreError` when missing or altered."""
        path = self.folder / entry.body
        try:
            data = path.read_bytes()
        except OSError as error:
            raise StoreError(f"body of {entry.url} missing from the raw store: {error}") from error
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise StoreError(f"body of {entry.url} in {path} does not match its sha256")
        return data

    def __len__(self) -> int:
        return len(self._latest)
