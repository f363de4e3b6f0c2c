"""Each publisher's adapter crawls its recorded snapshot (tests/snapshots/guidelines/<site>/) as expected."""

from __future__ import annotations

import json

import pytest
from support.helpers import read_all
from support.snapshot_server import SNAPSHOTS, serve_snapshot, target

from medcorpus.sources.guidelines import GuidelineReader
from medcorpus.sources.guidelines.adapters import ADAPTERS, adapter_class
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
        documents = [target(entry.url) for entry in RawStore(raw).entries("document") if entry.status == 200]
        assert documents == expected, f"failures: {[(f.url, f.reason) for f in report.failures]}"
        assert "/robots.txt" in first
        assert report.documents == len(expected) and report.listing_pages >= 1

        second_start = len(server.log)
        again = crawl(site, raw, base_url=server.url, delay=0, retries=0)
        refetched = [target for target in server.targets()[second_start:] if target in expected]
    assert refetched == [] and again.fetched == 0
    assert again.documents == len(expected) and again.cached >= len(expected)


@pytest.mark.parametrize("site", _snapshot_sites())
def test_crawled_snapshot_extracts_offline_with_publisher_metadata(site, tmp_path, monkeypatch):
    """Crawl, then extract from the raw store alone: recommendations kept, references and funding gone."""
    monkeypatch.setattr(fetcher_module, "MAX_CRAWL_DELAY", 0.0)
    raw = tmp_path / "raw"
    with serve_snapshot(site) as server:
        crawl(site, raw, base_url=server.url, delay=0, retries=0)
    docs, rejects = read_all(GuidelineReader([str(raw)], min_chars=200))
    adapter = adapter_class(site)
    assert rejects == [] and len(docs) == len(json.loads((SNAPSHOTS / site / "expected.json").read_text())["documents"])
    for doc in docs:
        meta = doc.metadata
        assert (meta["site"], meta["license"], meta["redistributable"]) == (
            site,
            adapter.license,
            adapter.redistributable,
        )
        assert meta["audience"] == adapter.audience and meta["raw_sha256"] and meta["url"].startswith(server.url)
        assert "[edit]" not in doc.text and len(doc.text) >= 200
        headings = [line.lstrip("#").strip().lower() for line in doc.text.splitlines() if line.startswith("#")]
        assert not any(h.startswith(("references", "funding", "disclosures")) for h in headings), headings
    if adapter.redistributable:
        assert len(read_all(GuidelineReader([str(raw)], redistributable_only=True, min_chars=200))[0]) == len(docs)
    else:
        assert read_all(GuidelineReader([str(raw)], redistributable_only=True, min_chars=200))[0] == []
