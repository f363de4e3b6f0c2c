"""Bounded PDF extraction: each PDF is parsed in a forked child process with a time and memory limit.

A broken or hostile PDF can make a parser loop, allocate without end or crash in native code. The
child gets an address-space limit (`RLIMIT_AS`: its size at the fork plus `memory_mb`) and a CPU-time
limit; the parent waits at most `timeout_s` seconds of wall-clock time for the result (sent back
pickled over a pipe) and kills the child when it is late. Failures come back as `PdfError` reasons:
`pdf_timeout`, `pdf_memory_limit`, `pdf_worker_crashed`, or the extractor's own (`unreadable_pdf`,
`encrypted_pdf`, `too_many_pages`). Forking costs a few milliseconds; nothing is re-imported.

Where `os.fork` is missing (Windows), or both limits are 0, extraction runs in-process without bounds;
where `/proc/self/statm` is missing (macOS), the memory limit is not applied.
"""

from __future__ import annotations

import faulthandler
import math
import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable

from medcorpus.sources.guidelines.pdf.extract import PdfError, PdfText, extract_pdf

MEMORY_WORDS = ("out of memory", "alloc")  # mupdf: "malloc (N bytes) failed", "out of memory"


def _address_space() -> int | None:
    """This process's virtual size in bytes, or None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _limit(timeout_s: float, memory_mb: int) -> None:
    """Set the child's own limits: address space grown by `memory_mb`, CPU seconds a little over the timeout."""
    if memory_mb > 0 and (size := _address_space()) is not None:
        cap = size + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if timeout_s > 0:
        seconds = math.ceil(timeout_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))


def _reason(error: BaseException) -> str:
    """The rejection reason for an exception raised while extracting."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in chain:
        if isinstance(item, MemoryError) or any(word in str(item).lower() for word in MEMORY_WORDS):
            return "pdf_memory_limit"
    return error.reason if isinstance(error, PdfError) else "pdf_worker_crashed"


def _child(write_fd: int, function: Callable, args: tuple, timeout_s: float, memory_mb: int) -> None:
    """Run in the forked child: compute, send the pickled outcome, and leave without cleanup handlers."""
    status = 0
    try:
        faulthandler.disable()  # a crash here is reported by the parent, not dumped onto the run's stderr
        _limit(timeout_s, memory_mb)
        try:
            outcome: tuple[str, object] = ("ok", function(*args))
        except BaseException as error:  # noqa: BLE001 - every failure becomes a reason for the parent
            outcome = ("error", _reason(error))
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_fd, "wb") as out:
            out.write(payload)
    except BaseException:  # noqa: BLE001 - the parent sees no result and reports a crash
        status = 1
    finally:
        os._exit(status)


def _failure(status: int) -> str:
    """The reason for a child that sent nothing back, from its wait status."""
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return "pdf_timeout"
    return "pdf_worker_crashed"


def run_bounded(function: Callable, args: tuple, timeout_s: float = 60.0, memory_mb: int = 2048) -> object:
    """`function(*args)` in a forked child with the limits above; its result, or PdfError with the reason."""
    if not hasattr(os, "fork") or (timeout_s <= 0 and memory_mb <= 0):
        try:
            return function(*args)
        except MemoryError as error:
            raise PdfError("pdf_memory_limit") from error
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(write_fd, function, args, timeout_s, memory_mb)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s if timeout_s > 0 else math.inf
    running = True
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PdfError("pdf_timeout")
            ready, _, _ = select.select([read_fd], [], [], min(remaining, 5.0))
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        running = False
    finally:
        os.close(read_fd)
        if running:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    if not chunks:
        raise PdfError(_failure(status))
    try:
        kind, value = pickle.loads(b"".join(chunks))  # our own child's bytes
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise PdfError("pdf_worker_crashed") from error
    if kind == "error":
        raise PdfError(str(value))
    return value


def extract_pdf_bounded(
    data: bytes, max_pages: int = 2000, tables: str = "drop", timeout_s: float = 60.0, memory_mb: int = 2048
) -> PdfText:
    """`extract_pdf` in a bounded child process; raises PdfError with the reason when it fails."""
    return run_bounded(_extract, (data, max_pages, tables), timeout_s, memory_mb)


def _extract(data: bytes, max_pages: int, tables: str) -> PdfText:
    return extract_pdf(data, max_pages, tables)  # looked up at call time, so tests can replace it
