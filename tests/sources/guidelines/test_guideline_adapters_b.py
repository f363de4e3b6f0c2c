"""Guideline adapters idsa, magic, mayo, nice, rch, spor, who, wikidoc on their recorded snapshots.

Each snapshot (tests/snapshots/guidelines/<site>/) is walked offline as the crawler walks a site:
breadth-first over listing pages from `start_urls()`, each page once, then the documents in the
order they were found. URLs are resolved against a fake base URL, which also shows that a mirror
(or the local snapshot server) works in place of the publisher's site.
"""

from __future__ import annotations

import re
import string
from urllib.robotparser import RobotFileParser

import pymupdf
import pytest
import requests
from support.snapshot_server import BASE, SNAPSHOTS, expected_documents, recorded, routes, serve_snapshot, walk

from medcorpus.sources.guidelines.adapters import ADAPTERS, Listing, adapter_class
from medcorpus.sources.guidelines.html import extract_html
from medcorpus.sources.guidelines.pdf.extract import extract_pdf

SITES = ["idsa", "magic", "mayo", "nice", "rch", "spor", "who", "wikidoc"]
MAX_SNAPSHOT_BYTES = 60_000

# site -> (license, redistributable, extractor, audience, javascript_only)
TERMS = {
    "idsa": ("proprietary", False, "html", "clinicians", False),
    "magic": ("per-document", False, "pdf", "clinicians", True),
    "mayo": ("proprietary", False, "html", "patients", False),
    "nice": ("proprietary", False, "html", "clinicians", False),
    "rch": ("proprietary", False, "html", "clinicians", False),
    "spor": ("per-document", True, "pdf", "clinicians", False),
    "who": ("CC-BY-NC-SA-3.0-IGO", True, "pdf", "both", True),
    "wikidoc": ("CC-BY-SA-3.0", True, "html", "both", False),
}
OPEN_LICENSES = ("public-domain", "per-document", "CC0", "CC-BY")

IDSA = "/practice-guideline/all-practice-guidelines/"
MAGIC = "/api/v2/content/guidelines?limit=100&offset="
MAYO = "/diseases-conditions/index?letter="
NICE = "/guidance/published?ndt=Guidance&ps=100"
SPOR = "/key-activities/cpg-asset-map/cpg-database/"
WHO = "/server/api/discover/search/objects?dsoType=ITEM&f.type=Guidelines%2Cequals&sort=dc.date.accessioned%2CASC"
ITEM1, ITEM2, ITEM3 = (
    "/server/api/core/items/3f1c9a52-7d4e-4b8a-9c21-5e0b6d7a8f13/bundles?embed=bitstreams",
    "/server/api/core/items/b27e4d90-1a6c-4f3e-8d57-c9a0e2f41b68/bundles?embed=bitstreams",
    "/server/api/core/items/6d0a2c1e-94b7-4e55-a3f8-0b1c2d3e4f5a/bundles?embed=bitstreams",
)
BITSTREAM = "/server/api/core/bitstreams/{}/content"
WIKI = "/api.php?action=query&format=json&formatversion=2&list=allpages&apnamespace=0&apfilterredir=nonredirects"
WIKI += "&aplimit=500"
RCH = "/clinicalguide/guideline_index/"
RCH_DOCS = [f"{RCH}Bronchiolitis/", f"{RCH}Croup_laryngotracheobronchitis/"]
# site -> {listing page target: (pages, documents)}, in the order a breadth-first crawl visits them
LISTINGS = {
    "idsa": {
        IDSA: ([f"{IDSA}?page=2"], ["/practice-guideline/acute-bacterial-rhinosinusitis-in-adults/"]),
        f"{IDSA}?page=2": ([], ["/practice-guideline/native-joint-septic-arthritis/"]),
    },
    "magic": {
        f"{MAGIC}0": ([f"{MAGIC}100"], ["/api/v1/guidelines/4711/pdf", "/api/v1/guidelines/5120/pdf"]),
        f"{MAGIC}100": ([], []),
    },
    "mayo": {
        f"{MAYO}{letter}": (
            [],
            {
                "A": ["/diseases-conditions/acute-sinusitis/symptoms-causes/syc-20351671"],
                "B": ["/diseases-conditions/bronchiolitis/symptoms-causes/syc-20351565"],
            }.get(letter, []),
        )
        for letter in string.ascii_uppercase
    },
    "nice": {
        NICE: (["/guidance/ng901", f"{NICE}&pa=2"], []),
        "/guidance/ng901": ([], ["/guidance/ng901/chapter/Recommendations", "/guidance/ng901/chapter/Context"]),
        f"{NICE}&pa=2": (["/guidance/ng902"], []),
        "/guidance/ng902": ([], ["/guidance/ng902/chapter/Recommendations"]),
    },
    "rch": {
        RCH: ([], RCH_DOCS),
        "/clinicalguide/about_rch_cpgs/welcome_to_the_clinical_practice_guidelines/": ([], RCH_DOCS),
    },
    "spor": {
        SPOR: ([f"{SPOR}page/2/"], ["/sites/ccocancercare/files/guidelines/full/pebc26-4v2f.pdf"]),
        f"{SPOR}page/2/": ([], ["/documents/position/acute-otitis-media.pdf"]),
    },
    "who": {
        f"{WHO}&page=0&size=100": ([ITEM1, ITEM3, f"{WHO}&page=1&size=100"], []),
        ITEM1: ([], [BITSTREAM.format("0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d")]),  # English file of two
        ITEM3: ([], []),  # no ORIGINAL bundle (restricted item)
        f"{WHO}&page=1&size=100": ([ITEM2], []),
        ITEM2: ([], [BITSTREAM.format("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b")]),
    },
    "wikidoc": {
        WIKI: ([f"{WIKI}&apcontinue=Community-acquired_pneumonia&continue=-%7C%7C"], ["/index.php/Bell%27s_palsy"]),
        f"{WIKI}&apcontinue=Community-acquired_pneumonia&continue=-%7C%7C": (
            [],
            ["/index.php/Community-acquired_pneumonia"],
        ),
    },
}
# what every recorded document of a site says (graded recommendations where the publisher grades them)
SIGNS = {
    "idsa": r"(strong|conditional) recommendation, \w+ certainty of evidence",
    "magic": r"(Strong|Weak) recommendation (for|against)[^.]*\. Certainty of evidence: \w+",
    "mayo": r"When to see a doctor",
    "nice": r"\d\.\d\.\d (Offer|Consider|Do not|Take)|[Cc]hronic cough",
    "rch": r"Key points",
    "spor": r"(Grade [AB]; level of evidence|strong recommendation, \w+-quality evidence)",
    "who": r"Recommendation 1\..*\((strong|conditional) recommendation, \w+-certainty evidence\)",
    "wikidoc": r"Class I.*\(Level of Evidence: [ABC]\)",
}
GARBAGE = [
    b"",
    b" \n\t",
    b"<!-- -->",
    b"\x00\xff\xfe\x01 not a page \x80",
    b"%PDF-1.7\n%%EOF",
    b"[1, 2, 3]",
    b'{"query": {"allpages": 7}, "continue": {"apcontinue": ["x"]}}',
    b'{"_embedded": {"searchResult": {"_embedded": {"objects": "x"}, "page": {"number": "0"}}}}',
    b'{"_embedded": {"bundles": [{"name": "ORIGINAL", "_embedded": {"bitstreams": 5}}]}}',
    b"[" * 100_000,
    b'<html><body><main><a href="http://[::1">broken host</a></main></body></html>',
]


def test_every_site_of_this_group_is_registered():
    assert set(SITES) <= set(ADAPTERS)


@pytest.mark.parametrize("site", SITES)
def test_class_attributes(site):
    cls = adapter_class(site)
    assert cls.name == site and cls.__name__ == ADAPTERS[site].partition(":")[2]
    assert cls.publisher and len(cls.notes) > 100
    assert cls.default_base_url.startswith("https://") and cls.default_base_url.endswith("/")
    assert cls.audience in {"clinicians", "patients", "both"}
    assert cls.extractor in {"html", "pdf", "auto"}
    if cls.redistributable:  # only under a licence that allows it
        assert cls.license.startswith(OPEN_LICENSES), cls.license
    if cls.license == "proprietary":
        assert not cls.redistributable
    if cls.javascript_only:  # the notes say which plain-HTTP route is used instead
        assert "JavaScript" in cls.notes and "API" in cls.notes
    assert (cls.license, cls.redistributable, cls.extractor, cls.audience, cls.javascript_only) == TERMS[site]
    meta = cls().metadata()
    assert meta == {
        "site": site,
        "publisher": cls.publisher,
        "audience": cls.audience,
        "license": cls.license,
        "redistributable": cls.redistributable,
    }
    assert {"references", "funding", "declarations of interest"} <= set(cls.removed_sections)


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
    assert set(documents) <= set(known)
    assert set(fetched) | set(documents) | {"/robots.txt"} == set(known)  # nothing missing, nothing unused


@pytest.mark.parametrize("site", SITES)
def test_snapshot_walk_over_http(site):
    """The same walk through `requests` against the local server: the targets match routes.json byte for byte."""
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
    assert "Disallow: /" in (folder / "robots.txt").read_text()
    for name in files - {"routes.json", "expected.json"}:  # links on recorded pages stay on the recorded server
        if name.endswith(".html"):  # (a <link rel="canonical"> may name the publisher's own address)
            hrefs = re.findall(r'<a\b[^>]*href="([^"]+)"', (folder / name).read_text())
            assert not [h for h in hrefs if re.match(r"https?://[^/]*(idsociety|mayoclinic|nice|rch|spor|wikidoc)", h)]


@pytest.mark.parametrize("site", SITES)
def test_snapshot_documents_are_guidelines_with_clutter(site):
    for document in expected_documents(site):
        body, kind = recorded(site, BASE.rstrip("/") + document)
        if kind.startswith("application/pdf"):
            assert adapter_class(site).extractor == "pdf" and body.startswith(b"%PDF-")
            with pymupdf.open(stream=body, filetype="pdf") as pdf:
                raw = "\n".join(page.get_text() for page in pdf)
                assert pdf.page_count >= 2  # running headers and page numbers repeat
            text = extract_pdf(body).text
        else:
            assert adapter_class(site).extractor == "html"
            raw = body.decode("utf-8")
            assert "<footer" in raw or 'id="footer"' in raw
            assert all(word in raw.lower() for word in ("cookie", "nav", "share" if site != "wikidoc" else "edit"))
            text = extract_html(body).text
            assert not any(clutter in text.lower() for clutter in ("cookies", "all rights reserved", "privacy"))
        assert re.search(SIGNS[site], text, re.S), document
        assert len(text) >= 900
        if site not in ("nice", "rch"):  # NICE chapters carry no reference lists; RCH no funding statement
            assert "References" in raw


@pytest.mark.parametrize("site", SITES)
def test_parse_listing_tolerates_garbage(site):
    adapter = adapter_class(site)(BASE)
    urls = [BASE.rstrip("/") + page for page in LISTINGS[site]] + [BASE, BASE + "unknown/page?x=1"]
    for url in urls:
        for body in GARBAGE:
            for kind in ("text/html", "application/json", "application/octet-stream"):
                listing = adapter.parse_listing(url, body, kind)
                assert listing.pages == [] and listing.documents == [], (url, body[:20])
