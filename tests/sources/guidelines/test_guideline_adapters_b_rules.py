"""Site-specific listing rules of the adapters idsa, magic, mayo, nice, rch, spor, who, wikidoc."""

from __future__ import annotations

import json
import string

from support.snapshot_server import BASE
from test_guideline_adapters_b import IDSA, SPOR

from medcorpus.sources.guidelines.adapters import Listing, adapter_class


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
