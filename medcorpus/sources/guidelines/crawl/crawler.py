"""Crawl one guideline publisher into a raw store: listing pages breadth-first, then documents.

Each listing page is read once (from the store when it is there) and handed to the adapter's
`parse_listing`; document URLs are fetched in the order they were first found, deduplicated, up to
`max_documents` (listing stops as soon as that many are known). A URL stored with status 200 is
not requested again unless `refresh` is set; then it is revalidated with If-None-Match /
If-Modified-Since and a 304 reuses the stored body. Because listing pages come from the store, a
crawl that was interrupted continues where it stopped when started again on the same RAWDIR.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from datatrove.utils.logging import logger

from medcorpus.sources.guidelines.adapters import SiteAdapter, adapter_class
from medcorpus.sources.guidelines.crawl.fetcher import MAX_BYTES, Fetcher, FetchError, Response, RobotsBlocked
from medcorpus.sources.guidelines.crawl.store import (
    RawStore,
    StoreError,
    read_crawl_info,
    utc_now,
    write_crawl_info,
)


class CrawlError(Exception):
    """The crawl cannot start: unknown site, unusable RAWDIR, a RAWDIR holding another site's crawl."""


@dataclass
class CrawlFailure:
    """A URL the crawl could not get, and why."""

    url: str
    role: str  # "listing" | "document"
    reason: str


@dataclass
class CrawlReport:
    """What one crawl did. `fetched`, `cached`, `not_modified` count URLs of both roles."""

    site: str
    base_url: str
    raw_dir: str
    fetched: int = 0  # 200 responses downloaded and stored by this run
    cached: int = 0  # URLs taken from the store without a request
    not_modified: int = 0  # revalidated URLs the server answered 304 for
    failed: int = 0  # URLs that gave no usable body (see `failures`)
    robots_blocked: int = 0  # URLs robots.txt forbids (never requested)
    documents: int = 0  # documents held with status 200 after this run (of those this run considered)
    listing_pages: int = 0  # listing pages read (fetched or from the store)
    requests: int = 0  # HTTP requests sent, retries and robots.txt included
    failures: list[CrawlFailure] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def crawl(
    site: str,
    raw_dir: str | Path,
    base_url: str | None = None,
    max_documents: int | None = None,
    delay: float = 1.0,
    refresh: bool = False,
    retries: int = 4,
    timeout: float = 30.0,
    user_agent: str | None = None,
    *,
    backoff: float = 1.0,
    max_bytes: int = MAX_BYTES,
) -> CrawlReport:
    """Crawl the publisher registered as `site` (see `adapters.ADAPTERS`) into `raw_dir`."""
    try:
        adapter = adapter_class(site)(base_url)
    except KeyError as error:
        raise CrawlError(str(error.args[0])) from error
    return crawl_adapter(
        adapter,
        raw_dir,
        max_documents=max_documents,
        delay=delay,
        refresh=refresh,
        retries=retries,
        timeout=timeout,
        user_agent=user_agent,
        backoff=backoff,
        max_bytes=max_bytes,
    )


def crawl_adapter(
    adapter: SiteAdapter,
    raw_dir: str | Path,
    max_documents: int | None = None,
    delay: float = 1.0,
    refresh: bool = False,
    retries: int = 4,
    timeout: float = 30.0,
    user_agent: str | None = None,
    *,
    backoff: float = 1.0,
    max_bytes: int = MAX_BYTES,
) -> CrawlReport:
    """Crawl with an adapter instance (what `crawl` does after looking the site up)."""
    raw_dir = Path(raw_dir)
    previous = read_crawl_info(raw_dir)
    if previous.get("site") not in (None, adapter.name):
        raise CrawlError(f"{raw_dir} holds a crawl of {previous['site']!r}, not {adapter.name!r}")
    store, info = _open(adapter, raw_dir, max_documents, delay, refresh, retries, timeout)
    report = CrawlReport(adapter.name, adapter.base_url, str(raw_dir))
    fetcher = Fetcher(user_agent, delay, retries, timeout, max_bytes, backoff)
    fetcher.on_robots = lambda response: _store(store, adapter, response, "robots")
    info["user_agent"] = fetcher.user_agent
    try:
        write_crawl_info(raw_dir, info)
    except OSError as error:
        fetcher.close()
        raise CrawlError(f"cannot write to the raw store {raw_dir}: {error}") from error
    status = "interrupted"
    try:
        with fetcher:
            documents = _list(adapter, store, fetcher, report, max_documents, refresh)
            for url in documents:
                if _obtain(url, "document", adapter, store, fetcher, report, refresh) is not None:
                    report.documents += 1
        status = "finished"
    finally:
        report.requests = fetcher.requests
        info.update(status=status, finished_at=utc_now(), report=report.as_dict())
        try:
            write_crawl_info(raw_dir, info)
        except OSError as error:
            logger.error(f"cannot update {raw_dir}/crawl.json: {error}")
    logger.info(
        f"{adapter.name}: {report.documents} documents, {report.listing_pages} listing pages; fetched "
        f"{report.fetched}, cached {report.cached}, not modified {report.not_modified}, failed {report.failed}, "
        f"blocked by robots.txt {report.robots_blocked}"
    )
    return report


def _open(adapter: SiteAdapter, raw_dir: Path, max_documents, delay, refresh, retries, timeout):
    """The store, and the crawl.json contents for this run."""
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
        store = RawStore(raw_dir)
    except OSError as error:
        raise CrawlError(f"cannot use {raw_dir} as the raw store: {error}") from error
    info = {
        "version": 1,
        "site": adapter.name,
        "base_url": adapter.base_url,
        "metadata": adapter.metadata(),
        "publisher": adapter.publisher,
        "extractor": adapter.extractor,
        "removed_sections": list(adapter.removed_sections),
        "javascript_only": adapter.javascript_only,
        "notes": adapter.notes,
        "settings": {
            "max_documents": max_documents,
            "delay": delay,
            "refresh": refresh,
            "retries": retries,
            "timeout": timeout,
        },
        "started_at": utc_now(),
        "finished_at": None,
        "status": "running",
        "report": None,
    }
    return store, info


def _list(adapter, store, fetcher, report, max_documents, refresh) -> list[str]:
    """Document URLs from the listing pages, breadth-first, deduplicated, at most `max_documents`."""
    queue, seen, documents = deque(adapter.start_urls()), set(), {}
    while queue and (max_documents is None or len(documents) < max_documents):
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        got = _obtain(url, "listing", adapter, store, fetcher, report, refresh)
        if got is None:
            continue
        body, content_type, final_url = got
        report.listing_pages += 1
        try:
            listing = adapter.parse_listing(final_url, body, content_type)
        except Exception as error:  # an adapter's trouble with one page must not end the crawl
            _fail(report, url, "listing", f"cannot parse listing page: {type(error).__name__}: {error}")
            continue
        queue.extend(page for page in listing.pages if page not in seen)
        for document in listing.documents:
            documents.setdefault(document, None)
    found = list(documents)
    return found if max_documents is None else found[:max_documents]


def _obtain(url, role, adapter, store, fetcher, report, refresh) -> tuple[bytes, str, str] | None:
    """(body, content type, final URL) of `url` from the store or the web; None when it failed or is blocked."""
    entry = store.latest(url)
    if entry is not None and entry.status != 200:
        entry = None
    if entry is not None and not refresh:
        try:
            body = store.body(entry)
            report.cached += 1
            return body, entry.content_type, entry.final_url
        except StoreError as error:
            logger.warning(f"{error}; fetching it again")
            entry = None
    try:
        response = fetcher.get(url, entry.etag if entry else None, entry.last_modified if entry else None)
    except RobotsBlocked as error:
        report.robots_blocked += 1
        logger.info(f"{role} {error}")
        return None
    except FetchError as error:
        _fail(report, url, role, str(error))
        return None
    if response.status == 304 and entry is not None:
        try:
            body = store.body(entry)
        except StoreError as error:
            _fail(report, url, role, f"304 Not Modified but {error}")
            return None
        response.body, response.content_type = body, entry.content_type
        response.etag = response.etag or entry.etag
        response.last_modified = response.last_modified or entry.last_modified
        _store(store, adapter, response, role, status=200, not_modified=True)
        report.not_modified += 1
        return body, entry.content_type, entry.final_url
    _store(store, adapter, response, role)
    if response.status != 200:
        _fail(report, url, role, f"HTTP {response.status}")
        return None
    report.fetched += 1
    return response.body, response.content_type, response.final_url


def _store(store: RawStore, adapter: SiteAdapter, response: Response, role: str, status=None, not_modified=False):
    store.add(
        response.url,
        status or response.status,
        response.content_type,
        response.body,
        role,
        adapter.name,
        etag=response.etag,
        last_modified=response.last_modified,
        final_url=response.final_url,
        not_modified=not_modified,
    )


def _fail(report: CrawlReport, url: str, role: str, reason: str) -> None:
    logger.warning(f"{role} {url}: {reason}")
    report.failed += 1
    report.failures.append(CrawlFailure(url, role, reason))
