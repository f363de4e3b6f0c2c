"""Dataset files from the Hugging Face Hub, mirrored like NLM's: listed, resumed, sha256-checked, budgeted.

The Hub's HTTP API, as `huggingface_hub` itself calls it:

- listing: `GET {endpoint}/api/datasets/{repo}/tree/{revision}/{folder}?recursive=true` answers a JSON
  list of `{"type": "file" | "directory", "path", "size", "oid", "lfs": {"oid", "size", ...}}`, each
  `path` from the repository root. LFS (and Xet) files carry their content's sha256 in `lfs.oid`;
  plain git files only a git blob id in `oid`, so they are checked by size only. A long listing
  comes in pages, the next named by a `Link: <URL>; rel="next"` header (followed on the same host only).
- a file: `GET {endpoint}/datasets/{repo}/resolve/{revision}/{path}`, redirected to a CDN that honours Range.

`endpoint` is `--endpoint`, else `$HF_ENDPOINT`, else https://huggingface.co. `$HF_TOKEN`, when set,
goes as `Authorization: Bearer ...` (requests drops it on a redirect to another host; never logged).

Selection: the listed files matching any glob pattern (`*` also crosses `/`), in sorted path order,
at most `max_files`. With `max_tokens`, files are fetched one at a time in that order and, after
each verified file, its tokens are estimated; the run stops once the total reaches the budget (the
last file may go past it), so the same listing and budget always select the same files. The
estimate is ceil(UTF-8 bytes of the file's text field / 4) (`BYTES_PER_TOKEN`; about right for
English under GPT-2/Llama-style BPE tokenizers, not any tokenizer's count); it is kept in the
ledger (`text_key`, `text_bytes`) so a rerun does not read the file again.

Listed paths that are absolute or malformed, hold `..`, `.` or empty segments, or would overwrite
the ledger or a `.part` file are never written; they are reported as failed.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import requests

from medcorpus.sources.base import FILE_ERRORS
from medcorpus.sources.download.mirror import (
    Downloader,
    Expected,
    FetchError,
    FileResult,
    MirrorError,
    MirrorReport,
    select,
)
from medcorpus.sources.download.remote_files import LEDGER_NAME
from medcorpus.sources.general import DECOMPRESSION_ERRORS, text_bytes

DEFAULT_ENDPOINT = "https://huggingface.co"
BYTES_PER_TOKEN = 4
_REPO = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GLOB = re.compile(r"[*?[]")


@dataclass(frozen=True)
class HubFile:
    """One listed file: its path in the repository, size and (LFS files) content sha256."""

    path: str
    size: int | None
    sha256: str | None

    def expected(self) -> Expected:
        return Expected("sha256", self.sha256, self.size)


@dataclass
class HubReport(MirrorReport):
    """A `MirrorReport` plus the token estimate of a budgeted run."""

    tokens: int = 0
    budget_reached: bool = False


def endpoint_url(endpoint: str | None = None) -> str:
    """`endpoint`, else `$HF_ENDPOINT`, else the public Hub; without a trailing slash."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def auth_headers() -> dict[str, str]:
    """`Authorization: Bearer $HF_TOKEN` when the variable is set, else nothing."""
    token = os.environ.get("HF_TOKEN", "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def estimate_tokens(text_bytes: int) -> int:
    """The token estimate for `text_bytes` UTF-8 bytes of text: ceil(bytes / BYTES_PER_TOKEN)."""
    return -(-text_bytes // BYTES_PER_TOKEN)


def unsafe_path(path: str) -> str | None:
    """Why a listed path may not be written below the destination; None when it may."""
    if not path or path.startswith("/") or "\\" in path or "\0" in path or re.match(r"[A-Za-z]:", path):
        return "absolute or malformed path"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "'..', '.' or empty path segment"
    if path == LEDGER_NAME or path.endswith(".part"):
        return "would overwrite the ledger or a partial download"
    return None


def list_root(patterns: Iterable[str]) -> str:
    """The deepest folder all `patterns` start with literally: the listing needs nothing outside it."""
    literal = [list(itertools.takewhile(lambda part: not _GLOB.search(part), p.split("/")[:-1])) for p in patterns]
    return "/".join(os.path.commonprefix(literal)) if literal else ""


def _hub_file(entry: dict) -> HubFile:
    lfs = entry.get("lfs") if isinstance(entry.get("lfs"), dict) else {}
    sha = str(lfs.get("oid", "")).lower()
    size = lfs.get("size", entry.get("size"))
    return HubFile(entry["path"], size if isinstance(size, int) else None, sha if _SHA256.fullmatch(sha) else None)


def list_files(job: Downloader, endpoint: str, repo: str, revision: str, folder: str = "") -> list[HubFile]:
    """Every file below `folder` of the dataset `repo` at `revision`, all pages of the listing."""
    url: str | None = f"{endpoint}/api/datasets/{repo}/tree/{quote(revision, safe='')}"
    url += (f"/{quote(folder)}" if folder else "") + "?recursive=true"
    site, files, seen = urlsplit(endpoint)[:2], [], set()
    while url:
        if url in seen:
            raise FetchError(f"the listing's pages loop back to {url}")
        seen.add(url)
        response = job.retrying(url, lambda page=url: job.request("GET", page))
        try:
            entries = response.json()
        except ValueError as error:
            raise FetchError(f"the listing at {url} is not JSON") from error
        if not isinstance(entries, list):
            raise FetchError(f"the listing at {url} is not a JSON list")
        files += [
            _hub_file(e)
            for e in entries
            if isinstance(e, dict) and e.get("type") == "file" and isinstance(e.get("path"), str)
        ]
        following = response.links.get("next", {}).get("url")
        url = urljoin(url, following) if following else None
        if url and urlsplit(url)[:2] != site:
            raise FetchError(f"the listing's next page is on another site ({urlsplit(url).netloc})")
    return files


def download(
    repo: str,
    dest: str | Path,
    patterns: Iterable[str],
    *,
    revision: str = "main",
    endpoint: str | None = None,
    text_key: str = "text",
    max_files: int | None = None,
    max_tokens: int | None = None,
    workers: int = 4,
    retries: int = 5,
    backoff: float = 2.0,
    timeout: float = 60.0,
    dry_run: bool = False,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> HubReport:
    """Mirror the files of the Hub dataset `repo` matching `patterns` into `dest` (paths kept).

    Raises `ValueError` for a malformed repo id or no patterns, `MirrorError` when the listing cannot
    be had or `dest` is unusable; a file that fails after `retries` retries is reported as failed.
    A dry run lists only (no token budget applied: that needs the files) and writes nothing.
    """
    patterns = list(patterns)
    if not _REPO.fullmatch(repo):
        raise ValueError(f"not a Hub dataset id: {repo!r} (expected OWNER/NAME)")
    if not patterns:
        raise ValueError("no file patterns given")
    dest, endpoint = Path(dest), endpoint_url(endpoint)
    base = f"{endpoint}/datasets/{repo}/resolve/{quote(revision, safe='')}/"
    report = HubReport(base, str(dest))
    with Downloader(base, dest, retries, backoff, timeout, session, sleep, auth_headers()) as job:
        try:
            listed = {f.path: f for f in list_files(job, endpoint, repo, revision, list_root(patterns))}
        except FetchError as error:
            raise MirrorError(f"cannot list {repo}@{revision}: {error}") from error
        chosen = select(listed, patterns)
        unsafe = {name: why for name in chosen if (why := unsafe_path(name))}
        names = [name for name in chosen if name not in unsafe][:max_files]
        report.files += [
            FileResult(name, "failed", reason=f"{why} in the listing; not written") for name, why in unsafe.items()
        ]
        if dry_run:
            report.files += job.plan(names, lambda name: listed[name].expected().verified)
        else:
            _fetch_all(job, names, listed, report, workers, text_key, max_tokens)
    report.files.sort(key=lambda result: result.name)
    return report


def _fetch_all(
    job: Downloader,
    names: list[str],
    listed: dict[str, HubFile],
    report: HubReport,
    workers: int,
    text_key: str,
    max_tokens: int | None,
) -> None:
    """Fetch `names` into `job.dest`, all at once (`workers` at a time) or, under a token budget, in order."""
    job.open_ledger()

    def expect(name: str) -> Expected:
        return listed[name].expected()

    if max_tokens is None:
        report.files += job.run(names, expect, workers)
        return
    for name in names:
        if report.tokens >= max_tokens:
            break
        result = job.process(name, expect)
        report.files.append(result)
        if result.status == "failed":
            return  # the files after it depend on its count
        try:
            result.tokens = _tokens(job, name, text_key)
        except (*FILE_ERRORS, *DECOMPRESSION_ERRORS) as error:
            result.status, result.reason = "failed", f"verified, but its tokens cannot be estimated: {error}"
            return
        report.tokens += result.tokens
    report.budget_reached = report.tokens >= max_tokens


def _tokens(job: Downloader, name: str, text_key: str) -> int:
    """The file's token estimate, from the ledger or counted now (and recorded there)."""
    entry = job.ledger.get(name) or {}
    if entry.get("text_key") != text_key or not isinstance(entry.get("text_bytes"), int):
        entry = {**entry, "text_key": text_key, "text_bytes": text_bytes(str(job.dest / name), text_key)[1]}
        job.ledger.record(name, entry)
    return estimate_tokens(entry["text_bytes"])
