"""Polite mirror of one remote HTTP directory: listing, resumed downloads, checksum or size checks, retries, a ledger.

Each selected file is fetched to `NAME.part` (resumed with an HTTP Range request when a partial file is
there), checked against a published digest (NLM's `NAME.md5`; the Hub's sha256, see `hub.py`) or,
where none is published, only against the size the server announces, and renamed into place only
then. Every verified file is recorded in `medcorpus-ledger.json` in the destination, so a later run
fetches nothing it already holds. `Downloader` is that per-file engine; `mirror` drives it over one
HTML directory listing.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import requests
import urllib3
from datatrove.utils.logging import logger

from medcorpus import __version__
from medcorpus.io.atomic import atomic_write_bytes
from medcorpus.io.hashing import file_digest
from medcorpus.sources.download.remote_files import (  # noqa: F401 (re-exported for callers of this module)
    CHUNK,
    LEDGER_NAME,
    Ledger,
    parse_listing,
    parse_md5,
    select,
)

USER_AGENT = f"medcorpus/{__version__} (bulk mirror; python-requests/{requests.__version__})"
MAX_DELAY = 120.0
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
NETWORK_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError)
T = TypeVar("T")


class MirrorError(Exception):
    """The directory cannot be mirrored at all: listing unreachable, destination unusable."""


class _Retry(Exception):
    """One attempt failed in a way a later attempt may not; `delay` is the server's Retry-After."""

    def __init__(self, reason: str, delay: float | None = None):
        super().__init__(reason)
        self.delay = delay


class FetchError(Exception):
    """A failure no retry mends (HTTP 404, an unreadable .md5, no way to verify)."""


@dataclass(frozen=True)
class Expected:
    """What a file must match: its published `digest` under `algorithm` (a hashlib name), else `size`.

    `algorithm` is also the ledger key of the digest ("md5": null for a size-only NLM file)."""

    algorithm: str = "md5"
    digest: str | None = None
    size: int | None = None

    @property
    def verified(self) -> str:
        return self.algorithm if self.digest else "size-only"


@dataclass
class FileResult:
    """What happened to one remote file; `verified` is the algorithm or "size-only" (what was really checked)."""

    name: str
    status: str  # downloaded | skipped | failed | planned
    size: int = 0
    verified: str | None = None
    digest: str | None = None
    fetched: int = 0  # bytes transferred for this file in this run, retries included
    reason: str = ""
    tokens: int | None = None  # estimated tokens, where a token budget asked for them

    @property
    def md5(self) -> str | None:
        return self.digest if self.verified == "md5" else None


@dataclass
class MirrorReport:
    """The outcome of one `mirror` call, files in name order."""

    base_url: str
    dest: str
    files: list[FileResult] = field(default_factory=list)

    def with_status(self, status: str) -> list[FileResult]:
        """The files that ended with `status`."""
        return [result for result in self.files if result.status == status]

    @property
    def failed(self) -> list[FileResult]:
        return self.with_status("failed")

    @property
    def bytes_fetched(self) -> int:
        return sum(result.fetched for result in self.files)


def _number(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _retry_after(response: requests.Response) -> float | None:
    value = _number(response.headers.get("Retry-After"))
    return None if value is None else float(value)


def _content_range(response: requests.Response) -> tuple[int | None, int | None]:
    """(first byte, total size) of a `Content-Range: bytes A-B/N` or `bytes */N` header."""
    match = re.fullmatch(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", response.headers.get("Content-Range", "").strip())
    if not match:
        return None, None
    return _number(match[1]), _number(match[2])


class Downloader:
    """One download run below `base_url` into `dest`: HTTP sessions (one per worker thread), retries and
    per-file work. `headers` go with every request (an `Authorization` is dropped by requests on a
    redirect to another host)."""

    def __init__(
        self,
        base_url: str,
        dest: Path,
        retries: int = 5,
        backoff: float = 2.0,
        timeout: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        headers: dict[str, str] | None = None,
    ):
        self.base_url, self.dest, self.retries, self.backoff = base_url, dest, retries, backoff
        self.timeout, self.shared, self.sleep, self.headers = timeout, session, sleep, dict(headers or {})
        self.local, self.lock, self.sessions = threading.local(), threading.Lock(), []
        if dest.exists() and not dest.is_dir():
            raise MirrorError(f"destination {dest} exists and is not a folder")
        self.ledger: Ledger | None = None
        self.stop = threading.Event()

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open_ledger(self) -> None:
        """Create `dest` and read its ledger, before the first download."""
        try:
            self.dest.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MirrorError(f"cannot create destination {self.dest}: {error}") from error
        self.ledger = Ledger(self.dest)

    def plan(self, names: list[str], verified_of: Callable[[str], str]) -> list[FileResult]:
        """A dry run's results: how each file would be checked and whether the ledger holds it (nothing written)."""
        ledger = Ledger(self.dest) if self.dest.is_dir() else None
        return [planned(name, verified_of(name), ledger) for name in names]

    def session(self) -> requests.Session:
        if self.shared is not None:
            return self.shared
        if getattr(self.local, "session", None) is None:
            self.local.session = requests.Session()
            with self.lock:
                self.sessions.append(self.local.session)
        return self.local.session

    def close(self) -> None:
        for session in self.sessions:
            session.close()

    def retrying(self, what: str, action: Callable[[], T]) -> T:
        """`action()`, tried again after exponential backoff (or the server's Retry-After) on `_Retry`."""
        for attempt in range(self.retries + 1):
            try:
                return action()
            except _Retry as error:
                if attempt == self.retries:
                    raise FetchError(f"{error} (gave up after {attempt + 1} attempts)") from error
                delay = min(MAX_DELAY, self.backoff * 2**attempt if error.delay is None else error.delay)
                logger.warning(f"{what}: {error}; retry {attempt + 1}/{self.retries} in {delay:g}s")
                self.sleep(delay)
        raise AssertionError("unreachable")

    def request(self, method: str, url: str, headers: dict | None = None, stream: bool = False):
        """One request; transient trouble raises `_Retry`, other HTTP errors `FetchError`."""
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **self.headers, **(headers or {})}
        try:
            response = self.session().request(method, url, headers=headers, stream=stream, timeout=self.timeout)
        except NETWORK_ERRORS as error:
            raise _Retry(f"{type(error).__name__}: {error}") from error
        if response.status_code in RETRY_STATUS or (response.status_code >= 400 and response.status_code != 416):
            response.close()
            reason = f"HTTP {response.status_code} for {url}"
            if response.status_code in RETRY_STATUS:
                raise _Retry(reason, _retry_after(response))
            raise FetchError(reason)
        return response

    def get_text(self, url: str) -> str:
        return self.request("GET", url).content.decode("utf-8", "replace")

    def head_size(self, url: str) -> int | None:
        """The size a HEAD request announces; None when the server gives none (the GET may still)."""
        try:
            response = self.request("HEAD", url)
        except FetchError:
            return None
        return _number(response.headers.get("Content-Length")) if response.status_code == 200 else None

    def process(self, name: str, expect: Callable[[str], Expected]) -> FileResult:
        """Skip, verify in place, or download one file, checked against `expect(name)`; never raises."""
        try:
            expected = expect(name)
            url, target = self.base_url + quote(name), self.dest / name
            return self._check_local(name, url, target, expected) or self._download(name, url, target, expected)
        except FetchError as error:
            logger.error(f"{name}: {error}")
            return FileResult(name, "failed", reason=str(error))
        except OSError as error:
            logger.error(f"{name}: local file error: {error}")
            return FileResult(name, "failed", reason=f"local file error: {error}")

    def run(self, names: list[str], expect: Callable[[str], Expected], workers: int) -> list[FileResult]:
        """`process` each name with at most `workers` at once; results in the order of `names`."""
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="medcorpus-download") as pool:
            try:
                return list(pool.map(lambda name: self.process(name, expect), names))
            except BaseException:  # Ctrl-C: stop the transfers under way, keep their .part files
                self.stop.set()
                pool.shutdown(cancel_futures=True)
                raise

    def published_md5(self, name: str) -> Expected:
        """The md5 in `NAME.md5` beside the file (kept beside the download too)."""
        url = self.base_url + quote(name)
        text = self.retrying(f"{name}.md5", lambda: self.get_text(url + ".md5"))
        digest = parse_md5(text, name)
        if digest is None:
            raise FetchError(f"{name}.md5 holds no md5 for {name}")
        md5_path = self.dest / f"{name}.md5"
        if not md5_path.is_file() or md5_path.read_text(errors="replace") != text:
            atomic_write_bytes(md5_path, text.encode(), unique=True)
        return Expected("md5", digest)

    def announced_size(self, name: str) -> Expected:
        """Only the size a HEAD request announces (nothing else published)."""
        url = self.base_url + quote(name)
        return Expected("md5", size=self.retrying(name, lambda: self.head_size(url)))

    def _record(self, name: str, url: str, size: int, expected: Expected) -> None:
        entry = {"size": size, expected.algorithm: expected.digest, "verified": expected.verified, "url": url}
        self.ledger.record(name, entry)

    def _check_local(self, name: str, url: str, target: Path, expected: Expected):
        """A "skipped" result when the file on disk is already verified (by the ledger, else by hashing)."""
        if not target.is_file():
            return None
        size, entry, digest = target.stat().st_size, self.ledger.get(name) or {}, expected.digest
        if entry.get("size") == size and (
            entry.get(expected.algorithm) == digest
            if digest
            else entry.get("verified") == "size-only" and expected.size == size
        ):
            return FileResult(name, "skipped", size, entry["verified"], digest, reason="already verified")
        if digest:
            if expected.size not in (None, size) or file_digest(target, expected.algorithm).hexdigest() != digest:
                return None
        elif expected.size != size:
            return None
        self._record(name, url, size, expected)
        return FileResult(name, "skipped", size, expected.verified, digest, reason="verified file already on disk")

    def _download(self, name: str, url: str, target: Path, expected: Expected) -> FileResult:
        target.parent.mkdir(parents=True, exist_ok=True)
        part, fetched = target.with_name(target.name + ".part"), [0]

        def attempt() -> int:
            size, total, digest = self._fetch(url, part, fetched, expected.algorithm)
            if expected.digest and digest != expected.digest:
                part.unlink(missing_ok=True)
                raise _Retry(f"{expected.algorithm} mismatch: got {digest}, expected {expected.digest}")
            if expected.size is not None and size != expected.size:
                part.unlink(missing_ok=True)
                raise _Retry(f"size mismatch: got {size} bytes, expected {expected.size}")
            if not expected.digest and expected.size is None and total is None:
                raise FetchError("no checksum published and the server gave no size: cannot verify")
            return size

        size = self.retrying(name, attempt)
        os.replace(part, target)
        self._record(name, url, size, expected)
        logger.info(f"{name}: {size} bytes, {expected.verified} verified")
        return FileResult(name, "downloaded", size, expected.verified, expected.digest, fetched[0])

    def _fetch(self, url: str, part: Path, fetched: list[int], algorithm: str) -> tuple[int, int | None, str]:
        """Fill `part` (resuming from its length); (size, announced total size, hex digest) of the result."""
        have = part.stat().st_size if part.is_file() else 0
        response = self.request("GET", url, {"Range": f"bytes={have}-"} if have else None, stream=True)
        with response:
            start, total = _content_range(response)
            if response.status_code == 416:  # the partial file may already be whole
                if total != have:
                    part.unlink(missing_ok=True)
                    raise _Retry(f"range {have}- refused; starting over")
                return have, total, file_digest(part, algorithm).hexdigest()
            if response.status_code == 206:
                if start != have:
                    part.unlink(missing_ok=True)
                    raise _Retry(f"asked for bytes {have}-, got {start}-; starting over")
                mode, digest = "ab", file_digest(part, algorithm)
                if total is None and _number(response.headers.get("Content-Length")) is not None:
                    total = have + int(response.headers["Content-Length"])
            elif response.status_code == 200:
                have, mode, digest = 0, "wb", hashlib.new(algorithm)
                total = _number(response.headers.get("Content-Length"))
            else:
                raise FetchError(f"unexpected HTTP {response.status_code} for {url}")
            with open(part, mode) as out:
                try:
                    for chunk in response.raw.stream(CHUNK, decode_content=False):
                        if self.stop.is_set():
                            raise FetchError("interrupted; the partial file is kept for the next run")
                        out.write(chunk)
                        digest.update(chunk)
                        have += len(chunk)
                        fetched[0] += len(chunk)
                except NETWORK_ERRORS as error:
                    raise _Retry(f"transfer broke after {have} bytes ({type(error).__name__})") from error
        if total is not None and have != total:
            if have > total:
                part.unlink(missing_ok=True)
            raise _Retry(f"body ended after {have} of {total} bytes")
        return have, total, digest.hexdigest()


def mirror(
    base_url: str,
    dest: str | Path,
    patterns: Iterable[str],
    *,
    workers: int = 3,
    retries: int = 5,
    backoff: float = 2.0,
    timeout: float = 60.0,
    max_files: int | None = None,
    dry_run: bool = False,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> MirrorReport:
    """Mirror the files of the remote directory `base_url` matching `patterns` into `dest`.

    Files that fail after `retries` retries are reported as failed while the others complete; a
    listing that cannot be fetched or an unusable `dest` raises `MirrorError`. A dry run fetches the
    listing only, writes nothing and reports the selected files as "planned".
    """
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    dest = Path(dest)
    with Downloader(base_url, dest, retries, backoff, timeout, session, sleep) as job:
        try:
            listed = set(parse_listing(job.retrying(base_url, lambda: job.get_text(base_url)), base_url))
        except FetchError as error:
            raise MirrorError(f"cannot list {base_url}: {error}") from error
        checksums = {name + ".md5" for name in listed}
        names = select((name for name in listed if name not in checksums), patterns, max_files)
        logger.info(f"{base_url}: {len(names)} of {len(listed)} listed files selected")
        if dry_run:
            files = job.plan(names, lambda name: "md5" if name + ".md5" in listed else "size-only")
            return MirrorReport(base_url, str(dest), files)
        job.open_ledger()

        def expect(name: str) -> Expected:
            return job.published_md5(name) if name + ".md5" in listed else job.announced_size(name)

        return MirrorReport(base_url, str(dest), job.run(names, expect, workers))


def planned(name: str, verified: str, ledger: Ledger | None) -> FileResult:
    """The dry-run result for one file: how it would be checked, and whether the ledger holds it."""
    entry = ledger.get(name) if ledger else None
    return FileResult(name, "planned", verified=verified, reason="in the ledger" if entry else "")
