"""Every guideline adapter on its recorded snapshot, by one set of parametrised tests.

Each snapshot (tests/snapshots/guidelines/<site>/) is walked offline the way the crawler walks a
site: breadth-first over listing pages from `start_urls()`, each fetched once, then the documents
in the order they were found. Everything is resolved against a fake base URL, so these tests also
show that a mirror (or the local snapshot server) works in place of the publisher's site. What each
site's snapshot holds is tabled in `support/guideline_sites.py`; rules of single sites are tested
in `test_guideline_adapter_rules.py`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import pymupdf
import pytest
import requests
from support.guideline_sites import GARBAGE, LISTINGS, MAX_SNAPSHOT_BYTES, OPEN_LICENSES, SIGNS, TERMS
from support.snapshot_server import BASE, SNAPSHOTS, expected_documents, recorded, routes, serve_snapshot, walk

from medcorpus.sources.guidelines.adapters import ADAPTERS, Listing, adapter_class
from medcorpus.sources.guidelines.html import extract_html
from medcorpus.sources.guidelines.pdf.extract import extract_pdf

SITES = sorted(ADAPTERS)
NO_REFERENCE_LIST = {"nice"}  # NICE chapters carry no reference list
PAGE_TYPES = ("text/html", "application/xml", "application/json", "application/hal+json")


def test_every_registered_site_has_a_recorded_snapshot():
    assert SITES == sorted(LISTINGS) == sorted(TERMS) == sorted(SIGNS)
    assert SITES == sorted(folder.name for folder in SNAPSHOTS.iterdir() if (folder / "routes.json").is_file())


@pytest.mark.parametrize("site", SITES)
def test_class_attributes(site):
    cls = adapter_class(site)
    assert cls.name == site and cls.__name__ == ADAPTERS[site].partition(":")[2]
    assert cls.publisher and len(cls.notes) > 100
    assert cls.default_base_url.startswith("https://") and cls.default_base_url.endswith("/")
    assert cls.audience in {"clinicians", "patients", "both"}
    assert cls.extractor in {"html", "pdf", "auto"}
    if cls.redistributable:  # redistributable only under a licence that allows it
        assert cls.license.startswith(OPEN_LICENSES), cls.license
    if cls.license == "proprietary":
        assert not cls.redistributable
    if cls.javascript_only:  # the notes say which plain-HTTP route is used instead
        assert "JavaScript" in cls.notes
    assert (cls.license, cls.redistributable, cls.extractor, cls.audience, cls.javascript_only) == TERMS[site]
    meta = cls().metadata()
    assert meta == {
        "site": site,
        "publisher": cls.publisher,
        "audience": cls.audience,
        "license": cls.license,
        "redistributable": cls.redistributable,
    }
    assert {"references", "funding"} <= set(cls.removed_sections)


@pytest.mark.parametrize("site", SITES)
def test_base_url_override(site):
    cls = adapter_class(site)
    default, mirror = cls(), cls("http://mirror.test:8080/sub")
    assert default.base_url == cls.default_base_url and mirror.base_url == "http://mirror.test:8080/sub/"
    for a, b in zip(default.start_urls(), mirror.start_urls(), strict=True):
        assert a.startswith(cls.default_base_url) and b.startswith(mirror.base_url)
        assert a[len(cls.default_base_url) :] == b[len(mirror.base_url) :]
    # the recorded listing pages give publisher URLs when parsed as the publisher's own pages
    first = next(iter(LISTINGS[site]))
    body, kind = recorded(site, BASE.rstrip("/") + first)
    listing = default.parse_listing(cls.default_base_url.rstrip("/") + first, body, kind)
    assert listing.pages + listing.documents
    assert all(link.startswith(cls.default_base_url) for link in listing.pages + listing.documents)


@pytest.mark.parametrize("site", SITES)
def test_parse_listing_on_each_recorded_page(site):
    adapter = adapter_class(site)(BASE)
    for page, (pages, documents) in LISTINGS[site].items():
        url = BASE.rstrip("/") + page
        listing = adapter.parse_listing(url, *recorded(site, url))
        assert isinstance(listing, Listing)
        assert listing.pages == [BASE.rstrip("/") + p for p in pages], page
        assert listing.documents == [BASE.rstrip("/") + d for d in documents], page


@pytest.mark.parametrize("site", SITES)
def test_snapshot_walk_finds_expected_documents_and_every_route(site):
    fetched, documents = walk(site)
    known = routes(site)
    assert fetched == list(LISTINGS[site])  # every listing page visited once, breadth-first
    assert documents == expected_documents(site)
    assert set(fetched) | set(documents) | {"/robots.txt"} == set(known)  # nothing missing, nothing unused
    for page in fetched:
        assert known[page].get("type", "text/html").startswith(PAGE_TYPES), page


@pytest.mark.parametrize("site", SITES)
def test_snapshot_walk_over_http(site):
    """The same walk through `requests` against the local server: every target answers, in the order asked."""
    with serve_snapshot(site) as server:
        adapter = adapter_class(site)(server.url)
        queue, documents = list(adapter.start_urls()), []
        seen = set(queue)
        while queue:
            response = requests.get(queue.pop(0), timeout=10)
            assert response.status_code == 200, response.url
            listing = adapter.parse_listing(response.url, response.content, response.headers["Content-Type"])
            queue += [page for page in dict.fromkeys(listing.pages) if page not in seen]
            seen.update(listing.pages)
            documents.extend(d for d in listing.documents if d not in documents)
        for document in documents:
            assert requests.get(document, timeout=10).status_code == 200, document
        assert server.targets() == list(LISTINGS[site]) + expected_documents(site)


@pytest.mark.parametrize("site", SITES)
def test_snapshot_files(site):
    folder = SNAPSHOTS / site
    files = {path.name for path in folder.rglob("*") if path.is_file()}
    assert files == {route["file"] for route in routes(site).values()} | {"routes.json", "expected.json"}
    assert sum((folder / name).stat().st_size for name in files) < MAX_SNAPSHOT_BYTES
    assert len(LISTINGS[site]) >= 2 and 1 <= len(expected_documents(site)) <= 3
    robots = RobotFileParser()
    robots.parse((folder / "robots.txt").read_text().splitlines())
    for path in routes(site):
        assert robots.can_fetch("medcorpus", BASE.rstrip("/") + path), path
    publisher = urlsplit(adapter_class(site).default_base_url).netloc
    for name in files - {"routes.json", "expected.json"}:  # links on recorded pages stay on the recorded server
        if name.endswith(".html"):  # (a <link rel="canonical"> may name the publisher's own address)
            hrefs = re.findall(r'<a\b[^>]*href="([^"]+)"', (folder / name).read_text())
            assert not [h for h in hrefs if urlsplit(h).netloc == publisher], name


@pytest.mark.parametrize("site", SITES)
def test_snapshot_documents_are_guidelines_with_clutter(site):
    extractor = adapter_class(site).extractor
    for document in expected_documents(site):
        body, kind = recorded(site, BASE.rstrip("/") + document)
        if kind.startswith("application/pdf"):
            assert extractor in ("pdf", "auto") and body.startswith(b"%PDF-")
            with pymupdf.open(stream=body, filetype="pdf") as pdf:
                raw = "\n".join(page.get_text() for page in pdf)
                assert pdf.page_count >= 2  # so running headers and page numbers repeat
            text = extract_pdf(body).text
        else:
            assert extractor in ("html", "auto")
            raw = body.decode("utf-8")
            assert "<footer" in raw or 'id="footer"' in raw
            assert "nav" in raw.lower() and any(w in raw.lower() for w in ("cookie", "breadcrumb", "share", "edit"))
            text = extract_html(body).text
            clutter = ("cookies", "terms of use", "terms and conditions", "all rights reserved", "privacy")
            assert not any(word in text.lower() for word in clutter)
        assert re.search(SIGNS[site], text, re.S), document
        assert len(text) >= 900
        if site not in NO_REFERENCE_LIST:
            assert "References" in raw, document


@pytest.mark.parametrize("site", SITES)
def test_parse_listing_tolerates_garbage(site):
    adapter = adapter_class(site)(BASE)
    urls = [BASE.rstrip("/") + page for page in LISTINGS[site]] + [BASE, BASE + "unknown/page?x=1"]
    for url in urls:
        for body in GARBAGE:
            for kind in ("text/html", "application/xml", "application/json", "application/octet-stream"):
                listing = adapter.parse_listing(url, body, kind)
                assert listing.pages == [] and listing.documents == [], (url, body[:20])
