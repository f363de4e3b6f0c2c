"""The Royal Children's Hospital Melbourne (rch.org.au): Clinical Practice Guidelines."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import (
    DEFAULT_REMOVED_SECTIONS,
    Listing,
    SiteAdapter,
    page_links,
    same_site,
)

GUIDELINE = re.compile(r"/clinicalguide/guideline_index/[^/]+/?$")


class RCHMelbourneAdapter(SiteAdapter):
    """The guideline index (and the older welcome page's letter blocks) -> one HTML page per guideline."""

    name = "rch"
    publisher = "The Royal Children's Hospital Melbourne"
    default_base_url = "https://www.rch.org.au/"
    audience = "clinicians"
    license = "proprietary"
    redistributable = False
    extractor = "html"
    notes = (
        "Listing: /clinicalguide/guideline_index/ and the older welcome page "
        "/clinicalguide/about_rch_cpgs/welcome_to_the_clinical_practice_guidelines/ (letter blocks "
        "#tabnav-letter-blocks, which MEDITRON used); both list every guideline as a link to "
        "/clinicalguide/guideline_index/{Name}/. The pages' tabs (#tab-All, one per letter) are plain anchors, "
        "so one request per page lists everything. Documents: the guideline pages, main text in div.widgetBody. "
        "(c) The Royal Children's Hospital Melbourne; republishing needs its permission. Not verified against "
        "the live site here (no network)."
    )
    removed_sections = DEFAULT_REMOVED_SECTIONS + ("additional notes", "parent information", "last updated")

    def start_urls(self) -> list[str]:
        return [
            self.url("clinicalguide/guideline_index/"),
            self.url("clinicalguide/about_rch_cpgs/welcome_to_the_clinical_practice_guidelines/"),
        ]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            links = page_links(body, url, "//a/@href")
        except (ValueError, etree.LxmlError):
            return Listing()
        documents = [
            link
            for link in links
            if same_site(link, self.base_url) and GUIDELINE.search(urlsplit(link).path) and not urlsplit(link).query
        ]
        return Listing(documents=documents)
