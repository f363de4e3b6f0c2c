"""Each publisher's adapter crawls its recorded snapshot (tests/snapshots/guidelines/<site>/) as expected."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from snapshot_server import SNAPSHOTS, serve_snapshot

from medcorpus.sources.guidelines.adapters import ADAPTERS
from medcorpus.sources.guidelines.crawl import RawStore, crawl
from medcorpus.sources.guidelines.crawl import fetcher as fetcher_module


def _snapshot_sites() -> list:
    """The snapshot folders that are complete (routes.json and expected.json), or one skipped case."""
    sites = []
    if SNAPSHOTS.is_dir():
        sites = sorted(
            folder.name
            for folder in SNAPSHOTS.iterdir()
            if (folder / "routes.json").is_file() and (folder / "expected.json").is_file()
        )
    return sites or [pytest.param(None, marks=pytest.mark.skip(reason=f"no recorded snapshots in {SNAPSHOTS}"))]


def _target(url: str) -> str:
    """The request target ("/path?query") of an absolute URL, as routes.json and expected.json write it."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize("site", _snapshot_sites())
def test_snapshot_crawl(site, tmp_path, monkeypatch):
    monkeypatch.setattr(fetcher_module, "MAX_CRAWL_DELAY", 0.0)  # recorded robots.txt files ask for seconds
    assert site in ADAPTERS, f"snapshot folder {site!r} names no registered adapter"
    expected = json.loads((SNAPSHOTS / site / "expected.json").read_text())["documents"]
    assert expected, "expected.json lists no documents"
    raw = tmp_path / "raw"
    with serve_snapshot(site) as server:
        report = crawl(site, raw, base_url=server.url, delay=0, retries=0)
        first = server.targets()
        documents = [_target(entry.url) for entry in RawStore(raw).entries("document") if entry.status == 200]
        assert documents == expected, f"failures: {[(f.url, f.reason) for f in report.failures]}"
        assert "/robots.txt" in first
        assert report.documents == len(expected) and report.listing_pages >= 1

        second_start = len(server.log)
        again = crawl(site, raw, base_url=server.url, delay=0, retries=0)
        refetched = [target for target in server.targets()[second_start:] if target in expected]
    assert refetched == [] and again.fetched == 0
    assert again.documents == len(expected) and again.cached >= len(expected)
