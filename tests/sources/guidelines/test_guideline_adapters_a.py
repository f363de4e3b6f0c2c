"""Guideline adapters aafp, cco, cdc, cma, cps, drugs_com, guideline_central, icrc on their recorded snapshots.

Each snapshot (tests/snapshots/guidelines/<site>/) is walked offline the way the crawler walks a
site: breadth-first over listing pages from `start_urls()`, each fetched once, then the documents
in the order they were found. Everything is resolved against a fake base URL, so these tests also
show that a mirror (or the local snapshot server) works in place of the publisher's site.
"""

from __future__ import annotations

import gzip
from urllib.robotparser import RobotFileParser

import pymupdf
import pytest
import requests
from support.snapshot_server import BASE, SNAPSHOTS, expected_documents, recorded, routes, serve_snapshot, walk

from medcorpus.sources.guidelines.adapters import ADAPTERS, Listing, adapter_class
from medcorpus.sources.guidelines.html import extract_html
from medcorpus.sources.guidelines.pdf.extract import extract_pdf

SITES = ["aafp", "cco", "cdc", "cma", "cps", "drugs_com", "guideline_central", "icrc"]
MAX_SNAPSHOT_BYTES = 60_000

# site -> (license, redistributable, extractor, audience, javascript_only), as decided per publisher
TERMS = {
    "aafp": ("proprietary", False, "html", "clinicians", False),
    "cco": ("proprietary", False, "pdf", "clinicians", False),
    "cdc": ("public-domain", True, "pdf", "clinicians", False),
    "cma": ("per-document", True, "auto", "clinicians", False),
    "cps": ("proprietary", False, "html", "clinicians", False),
    "drugs_com": ("proprietary", False, "html", "both", False),
    "guideline_central": ("proprietary", False, "html", "clinicians", True),
    "icrc": ("proprietary", False, "pdf", "clinicians", False),
}
OPEN_LICENSES = ("public-domain", "per-document", "CC0", "CC-BY", "OGL")

AAFP = "/family-physician/patient-care/clinical-recommendations"
TOPIC = f"{AAFP}/recommendations-by-topic"
CCO = "/en/guidelines-advice"
CDC = "/cbrowse?pid=cdc%3A100&parentId=cdc%3A100&maxResults=100&start="
CMA = "/cpg/homepage/browse-by/category/specialties/id/"
CMA_HF = "/documents/prairie-hf-network/hf-reduced-ef-primary-care-2021.pdf"
CMA_LYME = "/en/public-health/services/diseases/lyme-disease/health-professionals/"
CMA_LYME += "early-localized-lyme-disease-primary-care.html"
ICRC = "/en/publications?topic=health"
ICRC_PDF = "/sites/default/files/document_new/file_list/"
# site -> {listing page target: (pages, documents)}: exactly what parse_listing gives on each recorded page
LISTINGS = {
    "aafp": {
        f"{AAFP}/recommendations-by-topic.html": (
            [f"{TOPIC}/respiratory.html", f"{TOPIC}/cardiovascular.html"],
            [],
        ),
        f"{AAFP}/recommendations-by-topic/respiratory.html": (
            [f"{AAFP}/recommendations-by-topic.html"],
            [f"{AAFP}/all-clinical-recommendations/asthma-adults.html"],
        ),
        f"{AAFP}/recommendations-by-topic/cardiovascular.html": (
            [f"{AAFP}/recommendations-by-topic/respiratory.html"],
            [f"{AAFP}/all-clinical-recommendations/hypertension-initial-therapy.html"],
        ),
    },
    "cco": {
        CCO: ([f"{CCO}?page=0", f"{CCO}?page=1", f"{CCO}/types-of-cancer/58206"], []),
        f"{CCO}?page=0": ([f"{CCO}?page=0", f"{CCO}?page=1", f"{CCO}/types-of-cancer/58206"], []),
        f"{CCO}?page=1": ([f"{CCO}?page=0", f"{CCO}?page=1", f"{CCO}/types-of-cancer/2151"], []),
        f"{CCO}/types-of-cancer/58206": ([], ["/sites/ccocancercare/files/guidelines/full/pebc26-4v2f.pdf"]),
        f"{CCO}/types-of-cancer/2151": ([], ["/sites/ccocancercare/files/guidelines/full/pebc12-9v3f.pdf"]),
    },
    "cdc": {
        f"{CDC}0": ([f"{CDC}0", f"{CDC}100", "/view/cdc/45210"], []),
        f"{CDC}100": ([f"{CDC}0", f"{CDC}100", "/view/cdc/61874"], []),
        "/view/cdc/45210": ([], ["/view/cdc/45210/cdc_45210_DS1.pdf"]),
        "/view/cdc/61874": ([], ["/view/cdc/61874/cdc_61874_DS1.pdf"]),
    },
    "cma": {
        "/cpg/homepage": ([f"{CMA}1000", f"{CMA}1014"], []),
        f"{CMA}1000": ([f"{CMA}1000", f"{CMA}1014", f"{CMA}1000?page=2"], [CMA_HF]),
        f"{CMA}1014": ([f"{CMA}1000", f"{CMA}1014"], [CMA_LYME]),
        f"{CMA}1000?page=2": ([f"{CMA}1000", f"{CMA}1014", f"{CMA}1000?page=2"], [CMA_LYME]),
    },
    "cps": {
        "/en/documents": (
            ["/en/documents", "/en/documents/P10"],
            ["/en/documents/position/high-flow-nasal-cannula-bronchiolitis"],
        ),
        "/en/documents/P10": (["/en/documents"], ["/en/documents/position/iron-deficiency-toddlers"]),
    },
    "drugs_com": {
        "/dosage/": (["/dosage-a.html", "/dosage-b.html"], []),
        "/dosage-a.html": (["/dosage-a.html", "/dosage-b.html"], ["/dosage/amoxicillin.html"]),
        "/dosage-b.html": (["/dosage-a.html", "/dosage-b.html"], ["/dosage/bisoprolol.html"]),
    },
    "guideline_central": {
        "/sitemap.xml": (["/sitemap-guidelines-1.xml", "/sitemap-guidelines-2.xml"], []),
        "/sitemap-guidelines-1.xml": ([], ["/guideline/4398/"]),
        "/sitemap-guidelines-2.xml": ([], ["/guideline/5012/", "/guideline/4398/"]),
    },
    "icrc": {
        ICRC: ([ICRC, f"{ICRC}&page=1", "/en/publication/4702-initial-management-limb-injuries-field-hospitals"], []),
        f"{ICRC}&page=1": (
            [ICRC, f"{ICRC}&page=1", "/en/publication/4815-health-care-detention-screening-tuberculosis-admission"],
            [],
        ),
        "/en/publication/4702-initial-management-limb-injuries-field-hospitals": (
            [],
            [f"{ICRC_PDF}4702_002_limb_injuries.pdf"],
        ),
        "/en/publication/4815-health-care-detention-screening-tuberculosis-admission": (
            [],
            [f"{ICRC_PDF}4815_002_tb_screening_detention.pdf"],
        ),
    },
}
GARBAGE = [
    b"",
    b"   \n",
    b"<!-- nothing here -->",
    b"\x00\xff\xfe\x01 not a page \x80\x81",
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
    b'{"results": [1, 2, 3]}',
    b"<?xml version='1.0'?><urlset><url><loc>",
    b'<html><body><a href="http://[::1">broken host</a></body></html>',
    b"\x1f\x8b\x08\x00 truncated gzip",
    b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><s>&b;</s>',
]


def test_every_site_of_this_group_is_registered():
    assert set(SITES) <= set(ADAPTERS)


@pytest.mark.parametrize("site", SITES)
def test_class_attributes(site):
    cls = adapter_class(site)
    assert cls.name == site
    assert cls.publisher and cls.notes
    assert cls.default_base_url.startswith("https://") and cls.default_base_url.endswith("/")
    assert cls.audience in {"clinicians", "patients", "both"}
    assert cls.extractor in {"html", "pdf", "auto"}
    if cls.redistributable:  # redistributable only under a licence that allows it
        assert cls.license.startswith(OPEN_LICENSES), cls.license
    if cls.license == "proprietary":
        assert not cls.redistributable
    assert (cls.license, cls.redistributable, cls.extractor, cls.audience, cls.javascript_only) == TERMS[site]
    meta = cls().metadata()
    assert meta["site"] == site and meta["license"] == cls.license and meta["redistributable"] is cls.redistributable
    assert "references" in cls.removed_sections and "funding" in cls.removed_sections


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
        assert known[page]["type"].startswith(("text/html", "application/xml"))


@pytest.mark.parametrize("site", SITES)
def test_snapshot_walk_over_http(site):
    """The same walk against the local snapshot server: every target answers, in the order the walk asks."""
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
            assert requests.get(document, timeout=10).status_code == 200
        assert server.targets() == list(LISTINGS[site]) + expected_documents(site)


@pytest.mark.parametrize("site", SITES)
def test_snapshot_files(site):
    folder = SNAPSHOTS / site
    files = {path.name for path in folder.rglob("*") if path.is_file()}
    assert files == {route["file"] for route in routes(site).values()} | {"routes.json", "expected.json"}
    assert sum((folder / name).stat().st_size for name in files) < MAX_SNAPSHOT_BYTES
    robots = RobotFileParser()
    robots.parse((folder / "robots.txt").read_text().splitlines())
    for path in routes(site):
        assert robots.can_fetch("medcorpus", BASE.rstrip("/") + path), path
    assert not robots.can_fetch("medcorpus", BASE + "search?q=asthma")


@pytest.mark.parametrize("site", SITES)
def test_snapshot_documents_are_guidelines_with_clutter(site):
    for document in expected_documents(site):
        body, kind = recorded(site, BASE.rstrip("/") + document)
        if kind == "application/pdf":
            assert body.startswith(b"%PDF-")
            with pymupdf.open(stream=body, filetype="pdf") as pdf:
                raw = "\n".join(page.get_text() for page in pdf)
                assert pdf.page_count >= 2  # so running headers and page numbers repeat
            text = extract_pdf(body).text
        else:
            raw = body.decode("utf-8")
            assert (
                "<nav" in raw and "<footer" in raw and any(w in raw.lower() for w in ("cookie", "breadcrumb", "share"))
            )
            text = extract_html(body).text
            assert not any(clutter in text.lower() for clutter in ("cookies", "terms of use", "terms and conditions"))
        assert "Recommendation" in raw and "References" in raw
        assert any(word in raw for word in ("Funding", "Disclosures", "Conflict", "Acknowledg", "Disclaimer"))
        assert len(text) >= 1000 and "recommend" in text.lower()


@pytest.mark.parametrize("site", SITES)
def test_parse_listing_tolerates_garbage(site):
    adapter = adapter_class(site)(BASE)
    urls = [BASE.rstrip("/") + page for page in LISTINGS[site]]
    for url in urls:
        for body in GARBAGE:
            for kind in ("text/html", "application/xml", "application/octet-stream"):
                listing = adapter.parse_listing(url, body, kind)
                assert listing.pages == [] and listing.documents == [], (url, body[:20])


def test_links_to_other_hosts_are_not_followed():
    page = b"""<html><body><div class="aem-Grid">
      <a class="adl-link" href="https://elsewhere.example/x/recommendations-by-topic/asthma.html">Elsewhere</a>
      <a class="adl-link" href="https://elsewhere.example/x/all-clinical-recommendations/asthma.html">Elsewhere</a>
      <a class="nav adl-link extra" href="/y/all-clinical-recommendations/copd.html">COPD</a>
      <a href="/y/all-clinical-recommendations/no-class.html">Not an adl-link</a></div></body></html>"""
    listing = adapter_class("aafp")(BASE).parse_listing(BASE + "index.html", page, "text/html")
    assert listing.pages == [] and listing.documents == [BASE + "y/all-clinical-recommendations/copd.html"]


def test_cma_keeps_full_texts_on_other_hosts_and_skips_choosing_wisely():
    page = b"""<html><body>
      <h5><a title="View fulltext guideline" href="https://www.canada.ca/en/guidance/asthma.html">Asthma</a></h5>
      <h5><a title="View fulltext guideline" href="https://society.example/files/copd%20guideline.PDF">COPD</a></h5>
      <h5><a title="View fulltext guideline" href="https://choosingwiselycanada.org/recommendations/x/">CW</a></h5>
      <h5><a title="View fulltext guideline" href="ftp://old.example/file.pdf">FTP</a></h5>
      <h5><a title="Details" href="/cpg/homepage/details/42">Details</a></h5>
      <div class="pagination"><li><a href="https://other.example/page/2">2</a></li></div></body></html>"""
    listing = adapter_class("cma")(BASE).parse_listing(BASE + "cpg/homepage", page, "text/html")
    assert listing.pages == []
    assert listing.documents == [
        "https://www.canada.ca/en/guidance/asthma.html",
        "https://society.example/files/copd%20guideline.PDF",
    ]


def test_guideline_central_sitemaps():
    adapter = adapter_class("guideline_central")("http://mirror.test/gc")
    urlset = b"""<?xml version="1.0" encoding="UTF-8"?>
      <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <url><loc> https://guidelinecentral.com/guideline/77/ </loc></url>
        <url><loc>guideline/78/</loc></url>
        <url><loc>https://cdn.elsewhere.example/guideline/79/</loc></url>
        <url><loc>https://www.guidelinecentral.com/guidelines/cardiology/</loc></url>
      </urlset>"""
    sitemap = "http://mirror.test/gc/sitemap-guidelines-3.xml"
    for body in (urlset, gzip.compress(urlset, mtime=0)):  # a .xml.gz file served as is
        listing = adapter.parse_listing(sitemap, body, "application/xml")
        assert listing.pages == []
        assert listing.documents == ["http://mirror.test/gc/guideline/77/", "http://mirror.test/gc/guideline/78/"]
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>https://www.guidelinecentral.com/sitemap-a.xml</loc></sitemap>
        <sitemap><loc>https://www.guidelinecentral.com/sitemap-b.xml?page=2</loc></sitemap></sitemapindex>"""
    listing = adapter.parse_listing("http://mirror.test/gc/sitemap.xml", index, "text/xml")
    assert listing.pages == ["http://mirror.test/gc/sitemap-a.xml", "http://mirror.test/gc/sitemap-b.xml?page=2"]
    html_page = (SNAPSHOTS / "guideline_central" / "guideline_4398.html").read_bytes()
    assert adapter.parse_listing(sitemap, html_page, "text/html") == Listing()
