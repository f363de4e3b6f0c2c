"""File hashing, in one place: the manifest, the input record, the mixer's selection, tokenizer
fingerprints and the download clients' checksums all read files through `file_digest`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from medcorpus.paths import is_remote, local_path

CHUNK = 1 << 22


def file_digest(path: str | os.PathLike, algorithm: str = "sha256", digest=None) -> hashlib._Hash:
    """A hashlib object fed with the bytes of `path`, continuing `digest` when one is given (resumed downloads)."""
    digest = digest or hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    return file_digest(path).hexdigest()


def file_change(path: Path, entry: dict) -> str | None:
    """How a file differs from its recorded `size` and `sha256`: "missing", "size NOW != THEN", "sha256" or None."""
    if not path.is_file():
        return "missing"
    if path.stat().st_size != entry["size"]:
        return f"size {path.stat().st_size} != {entry['size']}"
    return "sha256" if sha256_file(path) != entry["sha256"] else None


def recorded_path(path: str) -> str:
    """A path as `describe_files` records it: a remote URL as given, a local path without `file://`."""
    return path if is_remote(path) else str(Path(local_path(path)))


def describe_files(paths: list[str]) -> list[dict]:
    """Path, size and sha256 of local files (remote URLs are listed by name only)."""
    out = []
    for path in paths:
        recorded = recorded_path(path)
        if is_remote(path):
            out.append({"path": recorded})
        else:
            out.append({"path": recorded, "size": Path(recorded).stat().st_size, "sha256": sha256_file(recorded)})
    return out
