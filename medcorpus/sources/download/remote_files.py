"""Remote listings, checksum files and the local ledger of verified downloads (used by `download`)."""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from datatrove.utils.logging import logger

from medcorpus.io.atomic import atomic_write_bytes
from medcorpus.paths import LEDGER_NAME

CHUNK = 1 << 20
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_MD5_BSD = re.compile(r"MD5\s*\((?P<name>.+)\)\s*=\s*(?P<hex>[0-9a-fA-F]{32})")
_MD5_GNU = re.compile(r"(?P<hex>[0-9a-fA-F]{32})\s+\*?(?P<name>.+)")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for key, value in attrs if key == "href" and value)


def parse_listing(html: str, base_url: str) -> list[str]:
    """Sorted names of the files an HTML index page links to inside `base_url` itself (no sub-folders,
    parents, sort links or other hosts; only plain names such as `pubmed25n0001.xml.gz`)."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    base = urlsplit(base_url)
    names = set()
    for href in parser.hrefs:
        target = urlsplit(urljoin(base_url, href.strip()))
        if target.query or target.fragment or (target.scheme, target.netloc) != (base.scheme, base.netloc):
            continue
        folder, _, name = target.path.rpartition("/")
        name = unquote(name)
        if folder + "/" == base.path and _SAFE_NAME.fullmatch(name) and ".." not in name:
            names.add(name)
    return sorted(names)


def parse_md5(text: str, name: str) -> str | None:
    """The lowercase md5 given for `name` in a checksum file: `MD5(name)= hex`, `hex  name` or a bare hex."""
    for line in text.splitlines():
        line = line.strip()
        match = _MD5_BSD.fullmatch(line) or _MD5_GNU.fullmatch(line)
        if match and match["name"].strip().rsplit("/", 1)[-1] == name:
            return match["hex"].lower()
        if re.fullmatch(r"[0-9a-fA-F]{32}", line):
            return line.lower()
    return None


def select(names: Iterable[str], patterns: Iterable[str], max_files: int | None = None) -> list[str]:
    """The names matching any glob pattern, sorted, at most `max_files` of them."""
    patterns = list(patterns)
    chosen = sorted(name for name in names if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns))
    return chosen if max_files is None else chosen[:max_files]


class Ledger:
    """The verified files of one folder: name -> {size, md5, verified, url}, saved atomically after each."""

    def __init__(self, folder: Path):
        self.path = folder / LEDGER_NAME
        self.lock = threading.Lock()
        self.entries: dict[str, dict] = {}
        if self.path.is_file():
            try:
                self.entries = dict(json.loads(self.path.read_text())["files"])
            except (ValueError, KeyError, TypeError, OSError) as error:
                logger.warning(f"ignoring unreadable ledger {self.path} ({error}); files on disk will be re-hashed")

    def get(self, name: str) -> dict | None:
        with self.lock:
            return self.entries.get(name)

    def record(self, name: str, entry: dict) -> None:
        with self.lock:
            self.entries[name] = entry
            document = {"version": 1, "files": dict(sorted(self.entries.items()))}
            atomic_write_bytes(self.path, (json.dumps(document, indent=1, sort_keys=True) + "\n").encode())
