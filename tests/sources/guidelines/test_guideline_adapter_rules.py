"""Listing rules of single guideline adapters, beyond what the parametrised tests check for every site."""

from __future__ import annotations

import gzip
import json
import string

from support.guideline_sites import IDSA, SPOR
from support.snapshot_server import BASE, SNAPSHOTS

from medcorpus.sources.guidelines.adapters import Listing, adapter_class


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


def test_mayo_lists_every_letter():
    urls = adapter_class("mayo")().start_urls()
    assert urls == [f"https://www.mayoclinic.org/diseases-conditions/index?letter={c}" for c in string.ascii_uppercase]


def test_who_picks_english_pdfs_of_original_bundles_and_stops_at_the_last_page():
    adapter = adapter_class("who")(BASE)

    def bitstream(uuid: str, name: str) -> dict:
        return {"uuid": uuid, "name": name}

    u = [f"0000000{i}-0000-4000-8000-000000000000" for i in range(5)]
    bundles = {
        "_embedded": {
            "bundles": [
                {"name": "THUMBNAIL", "_embedded": {"bitstreams": [bitstream(u[0], "a-eng.pdf")]}},
                {"name": "ORIGINAL", "_embedded": {"bitstreams": [bitstream(u[1], "a-fre.pdf")]}},
                {
                    "name": "ORIGINAL",
                    "_embedded": {"bitstreams": [bitstream(u[2], "b.PDF"), bitstream("../x", "c.pdf")]},
                },
            ]
        }
    }  # bitstreams as a plain list (no page object) are read too
    url = BASE + "server/api/core/items/x/bundles?embed=bitstreams"
    assert adapter.parse_listing(url, json.dumps(bundles).encode(), "application/json").documents == [
        f"{BASE}server/api/core/bitstreams/{u[1]}/content",
        f"{BASE}server/api/core/bitstreams/{u[2]}/content",
    ]
    bundles["_embedded"]["bundles"][2]["_embedded"]["bitstreams"].append(bitstream(u[3], "b_en.pdf"))
    assert adapter.parse_listing(url, json.dumps(bundles).encode(), "application/json").documents == [
        f"{BASE}server/api/core/bitstreams/{u[3]}/content"
    ]
    last = {"_embedded": {"searchResult": {"_embedded": {"objects": []}, "page": {"number": 4, "totalPages": 5}}}}
    assert adapter.parse_listing(adapter.search_url(4), json.dumps(last).encode(), "application/json") == Listing()


def test_magic_pages_until_an_empty_page_within_a_bound():
    adapter = adapter_class("magic")(BASE)
    entries = [
        {"guidelineId": 1, "publishedId": 9, "name": "Published copy wins"},
        {"guidelineId": "../../admin", "name": "Bad identifier"},
        {"guidelineId": 3, "name": "#DELETE THIS# old draft"},
        {"name": "No identifier"},
    ]
    for body in (entries, {"content": entries}):
        listing = adapter.parse_listing(adapter.catalogue_url(200), json.dumps(body).encode(), "application/json")
        assert listing.documents == [BASE + "api/v1/guidelines/9/pdf"]
        assert listing.pages == [adapter.catalogue_url(300)]
    near_end = adapter.catalogue_url(adapter.max_offset)
    assert adapter.parse_listing(near_end, json.dumps(entries).encode(), "application/json").pages == []


def test_wikidoc_titles_are_encoded_like_mediawiki_links():
    adapter = adapter_class("wikidoc")("https://www.wikidoc.org")
    assert adapter.page_url("Bell's palsy") == "https://www.wikidoc.org/index.php/Bell%27s_palsy"
    assert adapter.page_url("Sepsis (adult)") == "https://www.wikidoc.org/index.php/Sepsis_(adult)"
    assert adapter.page_url("What is HIV?/AIDS") == "https://www.wikidoc.org/index.php/What_is_HIV%3F/AIDS"
    assert adapter.page_url("Ménière's disease") == "https://www.wikidoc.org/index.php/M%C3%A9ni%C3%A8re%27s_disease"
    strange = {"query": {"allpages": [{"title": "A"}]}, "continue": {"apcontinue": "B", "x-debug": "1"}}
    listing = adapter.parse_listing(adapter.listing_url(), json.dumps(strange).encode(), "application/json")
    assert listing.documents == ["https://www.wikidoc.org/index.php/A"] and listing.pages == []


def test_nice_keeps_only_this_guidances_content_chapters():
    page = b"""<html><body><ul class="nav-list">
      <li><a href="/guidance/ng7/chapter/Recommendations">Recommendations</a></li>
      <li><a href="/guidance/ng7/chapter/Recommendations#1-1">1.1</a></li>
      <li><a href="/guidance/ng8/chapter/Recommendations">Another guidance</a></li>
      <li><a href="https://elsewhere.example/guidance/ng7/chapter/Context">Other host</a></li>
      <li><a href="/guidance/NG7/chapter/Rationale-and-impact">Rationale and impact</a></li>
      <li><a href="/guidance/ng7/chapter/Update-information">Update information</a></li></ul></body></html>"""
    listing = adapter_class("nice")(BASE).parse_listing(BASE + "guidance/ng7", page, "text/html")
    assert listing.pages == []
    assert listing.documents == [
        BASE + "guidance/ng7/chapter/Recommendations",
        BASE + "guidance/NG7/chapter/Rationale-and-impact",
    ]


def test_spor_follows_pdfs_to_any_host_but_pages_only_on_its_own():
    page = b"""<html><body><main><div class="entry-content">
      <a href="https://cancer.example/files/guideline.PDF?v=2">PDF</a>
      <a href="ftp://old.example/guideline.pdf">FTP</a>
      <a href="https://society.example/statement/">Landing page</a></div>
      <div class="nav-links"><a class="next page-numbers" href="https://elsewhere.example/page/2/">Next</a></div>
      </main><footer><a href="/wp-content/uploads/report.pdf">Report</a></footer></body></html>"""
    listing = adapter_class("spor")(BASE).parse_listing(BASE + SPOR.lstrip("/"), page, "text/html")
    assert listing.documents == ["https://cancer.example/files/guideline.PDF?v=2"] and listing.pages == []


def test_idsa_skips_pdfs_other_hosts_and_index_pages():
    page = b"""<html><body><nav><a href="/practice-guideline/covid-19/">In the menu only</a></nav><main>
      <a href="/practice-guideline/practice-guidelines/">Hub</a>
      <a href="/practice-guideline/lyme-disease/">Lyme disease</a>
      <a href="/practice-guideline/lyme-disease/?print=1">Print</a>
      <a href="/practice-guideline/lyme-disease.pdf">PDF</a>
      <a href="https://academic.oup.com/practice-guideline/x/">Journal</a></main></body></html>"""
    listing = adapter_class("idsa")(BASE).parse_listing(BASE + IDSA.lstrip("/"), page, "text/html")
    assert listing.documents == [BASE + "practice-guideline/lyme-disease/"] and listing.pages == []
