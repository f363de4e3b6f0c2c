"""`medcorpus sources guidelines crawl --site NAME -o RAWDIR`: fetch a publisher's guidelines into a raw store."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import click

from medcorpus.sources.guidelines.adapters import ADAPTERS


def _check_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise click.BadParameter(f"{value!r} is not an http(s) URL")
    return value


@click.command("crawl")
@click.option("--site", required=True, type=click.Choice(list(ADAPTERS)), help="The publisher to crawl.")
@click.option(
    "-o", "--output", "raw_dir", required=True, type=click.Path(file_okay=False), help="Raw store folder (RAWDIR)."
)
@click.option("--base-url", callback=_check_url, help="Crawl a mirror or a test server instead of the publisher.")
@click.option("--max-documents", type=click.IntRange(min=1), default=None, help="Fetch at most N documents.")
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between requests to one host (a robots.txt Crawl-delay raises it).",
)
@click.option("--refresh", is_flag=True, help="Revalidate stored pages (conditional requests) instead of reusing them.")
@click.option("--retries", type=click.IntRange(0, 20), default=4, show_default=True, help="Retries per URL.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Network timeout, seconds.",
)
def guidelines_crawl(
    site: str,
    raw_dir: str,
    base_url: str | None,
    max_documents: int | None,
    delay: float,
    refresh: bool,
    retries: int,
    timeout: float,
) -> None:
    """Crawl one guideline publisher into RAWDIR: every response stored raw, with an index.

    robots.txt is honoured, requests to a host are spaced by --delay, and a re-run fetches nothing
    already stored (unless --refresh) and continues an interrupted crawl. Extract the documents
    afterwards, offline, with `medcorpus sources guidelines RAWDIR -o OUTDIR`.

    \b
    Example: medcorpus sources guidelines crawl --site nice -o raw/guidelines/nice --max-documents 20
    """
    from medcorpus.sources.guidelines.crawl import CrawlError, StoreError, crawl

    try:
        report = crawl(
            site,
            raw_dir,
            base_url=base_url,
            max_documents=max_documents,
            delay=delay,
            refresh=refresh,
            retries=retries,
            timeout=timeout,
        )
    except (CrawlError, StoreError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    for failure in report.failures:
        click.echo(f"failed: {failure.role} {failure.url}: {failure.reason}", err=True)
    click.echo(
        f"{site}: {report.documents} documents, {report.listing_pages} listing pages; {report.fetched} fetched, "
        f"{report.cached} from the store, {report.not_modified} not modified, {report.failed} failed, "
        f"{report.robots_blocked} blocked by robots.txt; raw store {raw_dir}"
    )
    if report.failed:
        sys.exit(1)
