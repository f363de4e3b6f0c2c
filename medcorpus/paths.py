"""Resolve user-given inputs (paths, directories, globs, fsspec URLs) into a sorted list of files."""

from __future__ import annotations

import gzip
import io
import re

import fsspec
from fsspec.core import url_to_fs

LEDGER_NAME = "medcorpus-ledger.json"  # the downloaders' record of what a folder holds: never an input
GLOB_CHARS = "*?["


def flat_name(path: str) -> str:
    """A relative path as one file name: every run of characters other than letters, digits, `_` and `.` is `-`."""
    return re.sub(r"[^A-Za-z0-9_.]+", "-", path).strip("-")


def has_scheme(path: str) -> bool:
    """Whether `path` is a URL (`s3://...`, `https://...`, `file://...`) rather than a plain path."""
    return "://" in str(path)


def is_remote(path: str) -> bool:
    """Whether `path` names a file on another file system (any URL but `file://`)."""
    return has_scheme(path) and not str(path).startswith("file://")


def local_path(path: str) -> str:
    """A local path without its `file://` prefix."""
    return str(path).removeprefix("file://")


class InputError(ValueError):
    """An input path or pattern that matches nothing: raised before any work starts."""


def expand_inputs(inputs: list[str] | tuple[str, ...], suffixes: tuple[str, ...] = ()) -> list[str]:
    """Every file named by `inputs`, as fsspec URLs or local paths, sorted and de-duplicated.

    A directory contributes the files below it whose names end with one of `suffixes`
    (all files when `suffixes` is empty); a glob contributes its matches; a missing path fails. A downloader's
    ledger (`LEDGER_NAME`) in a folder is not an input.
    """
    files: set[str] = set()
    for item in inputs:
        fs, path = url_to_fs(item)
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        prefix = "" if protocol in ("file", "local") else f"{protocol}://"
        if any(ch in path for ch in GLOB_CHARS):
            matches = [m for m in fs.glob(path) if fs.isfile(m) and not m.endswith("/" + LEDGER_NAME)]
        elif fs.isdir(path):
            matches = [m for m in fs.find(path) if (not suffixes or m.endswith(suffixes))]
            matches = [m for m in matches if not m.endswith("/" + LEDGER_NAME)]
        elif fs.isfile(path):
            matches = [path]
        else:
            raise InputError(f"input not found: {item}")
        if not matches:
            raise InputError(f"input matches no files: {item}")
        files.update(m if has_scheme(m) else prefix + m for m in matches)  # http paths are whole URLs already
    return sorted(files)


class _StdlibGzip(gzip.GzipFile):
    """The standard library's gzip reader over an open file, which it closes too."""

    def __init__(self, raw) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def open_input(path: str, mode: str = "rb"):
    """Open an input file, decompressing by its suffix (.gz, .bz2, .zst, ...); binary handles iterate by line.

    gzip is always read by the standard library's reader: fsspec switches to `isal` where that is installed,
    which keeps fewer of a truncated file's records, so the same inputs would give different documents."""
    if path.endswith(".gz"):
        handle = _StdlibGzip(fsspec.open(path, "rb").open())
    else:
        handle = fsspec.open(path, "rb", compression="infer").open()
    if not isinstance(handle, io.BufferedIOBase):  # zstandard's reader cannot iterate lines by itself
        handle = io.BufferedReader(handle)
    return handle if mode == "rb" else io.TextIOWrapper(handle, encoding="utf-8")
