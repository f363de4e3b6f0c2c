"""Crash-safe files: written under a temporary name, flushed to disk, then renamed into place.

A file that exists under its final name is complete. Temporary files follow one convention
(`.<name>.tmp`, or `.<name>.<anything>.tmp`, or `<name>.partial` for older writers), so a resumed
run can remove what a killed task left behind before it re-runs that task from scratch.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_SUFFIX = ".tmp"
PARTIAL_SUFFIX = ".partial"
KEPT_DIRS = {"logs"}  # datatrove's own logs and completion markers are never touched

REASONS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a path component is not a folder",
}


def temp_name(path: str, unique: bool = False) -> str:
    """The temporary name of `path` (same folder, hidden, `.tmp`): `a/b.parquet` -> `a/.b.parquet.tmp`.

    `unique` adds the process and thread (`a/.b.parquet.<pid>.<thread>.tmp`) for files that several
    writers may replace at once, such as a ledger shared by download threads.
    """
    head, tail = os.path.split(path)
    middle = f".{os.getpid()}.{threading.get_ident()}" if unique else ""
    name = f".{tail}{middle}{TMP_SUFFIX}"
    return os.path.join(head, name) if head else name


def final_name(temp: str) -> str:
    """The final name of a `temp_name`."""
    head, tail = os.path.split(temp)
    if not (tail.startswith(".") and tail.endswith(TMP_SUFFIX)):
        raise ValueError(f"{temp} is not a temporary name")
    name = tail[1 : -len(TMP_SUFFIX)]
    return os.path.join(head, name) if head else name


def is_temp_name(name: str) -> bool:
    """Whether a file name follows the temporary-file convention."""
    return (name.startswith(".") and name.endswith(TMP_SUFFIX) and len(name) > 5) or name.endswith(PARTIAL_SUFFIX)


def with_path(error: OSError, path: str | os.PathLike) -> OSError:
    """The same OS error (same type and errno) naming `path`, the file the user asked for."""
    if error.errno is None:
        return error
    named = OSError(error.errno, error.strerror or os.strerror(error.errno), str(path))
    named.__cause__ = error
    return named


def describe_os_error(error: OSError) -> str:
    """One line for a user: what went wrong and with which path (no traceback)."""
    reason = REASONS.get(error.errno or -1, error.strerror or str(error) or type(error).__name__)
    where = error.filename if error.filename is not None else "(path unknown)"
    detail = f" ({error.strerror})" if error.strerror and error.strerror.lower() != reason else ""
    return f"{where}: {reason}{detail}"


def _drop_io_traceback(record: dict) -> None:
    exception = record["exception"]
    if exception is None:
        return
    error = exception.value
    if (isinstance(error, OSError) and error.filename is not None) or getattr(error, "quiet", False):
        record["exception"] = None  # the message already names the path (or the setting) and the reason


def quiet_io_tracebacks() -> None:
    """Log OS errors that name their path (disk full, permission denied) and errors marked `quiet` (an
    infeasible mix, a bad setting) as one line, without a traceback."""
    from loguru import logger

    logger.configure(patcher=_drop_io_traceback)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush a written file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename) to disk; ignored where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_quietly(path: str | os.PathLike) -> None:
    """Delete a file if it exists, ignoring errors (used while handling another one)."""
    try:
        os.remove(path)
    except OSError:
        pass


def publish(temp: str | os.PathLike, final: str | os.PathLike) -> None:
    """Flush `temp` to disk and rename it onto `final` (atomic on one file system)."""
    try:
        fsync_file(temp)
        os.replace(temp, final)
    except OSError as error:
        remove_quietly(temp)
        raise with_path(error, final) from error
    fsync_dir(os.path.dirname(os.path.abspath(final)))


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", unique: bool = False, **kwargs) -> Iterator:
    """Open `path` for writing under its temporary name; it appears under `path` only on a clean exit.

    This is the one way medcorpus writes a whole file; `unique` as in `temp_name`.
    """
    if "w" not in mode:
        raise ValueError("atomic_open only writes")
    final = Path(path)
    temp = Path(temp_name(str(final), unique))
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        handle = open(temp, mode, **kwargs)
    except FileExistsError as error:  # a file where a folder should be
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(final)) from error
    except OSError as error:
        raise with_path(error, final) from error
    try:
        with handle:
            yield handle
    except OSError as error:
        remove_quietly(temp)
        raise with_path(error, final) from error
    except BaseException:
        remove_quietly(temp)
        raise
    publish(temp, final)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, unique: bool = False) -> None:
    """Write `data` to `path` atomically."""
    with atomic_open(path, "wb", unique) as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temps(root: str | os.PathLike) -> list[Path]:
    """Delete every temporary file under `root` (logs excepted) left by killed tasks; returns them.

    Only call this while nothing else writes to `root` (before a resume starts its tasks).
    """
    removed = []
    base = Path(root)
    if not base.is_dir():
        return removed
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in KEPT_DIRS)
        for name in sorted(files):
            if is_temp_name(name):
                path = Path(folder) / name
                remove_quietly(path)
                removed.append(path)
    return removed
