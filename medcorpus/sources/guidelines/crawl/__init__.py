"""The polite guideline crawler: fetch a publisher's listing pages and documents into a raw store."""

from medcorpus.sources.guidelines.crawl.crawler import (
    CrawlError,
    CrawlFailure,
    CrawlReport,
    crawl,
    crawl_adapter,
)
from medcorpus.sources.guidelines.crawl.fetcher import DEFAULT_USER_AGENT, MAX_BYTES, Fetcher, FetchError, Response
from medcorpus.sources.guidelines.crawl.store import Entry, RawStore, StoreError, is_raw_store, read_crawl_info

__all__ = [
    "DEFAULT_USER_AGENT",
    "MAX_BYTES",
    "CrawlError",
    "CrawlFailure",
    "CrawlReport",
    "Entry",
    "FetchError",
    "Fetcher",
    "RawStore",
    "Response",
    "StoreError",
    "crawl",
    "crawl_adapter",
    "is_raw_store",
    "read_crawl_info",
]
