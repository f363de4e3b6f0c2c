"""Mayo Clinic (mayoclinic.org): patient pages on diseases and conditions, from the A-Z index."""

from __future__ import annotations

import re
import string
from urllib.parse import urlencode, urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import (
    DEFAULT_REMOVED_SECTIONS,
    Listing,
    SiteAdapter,
    page_links,
    same_site,
)

RESULT_LINKS = "//div[contains(concat(' ', @class, ' '), ' cmp-result-name ')]//a/@href"
SYMPTOMS_CAUSES = re.compile(r"/diseases-conditions/[^/]+/symptoms-causes/syc-\d+/?$")


class MayoClinicAdapter(SiteAdapter):
    """One A-Z index page per letter -> the 'Symptoms & causes' page of each condition."""

    name = "mayo"
    publisher = "Mayo Clinic"
    default_base_url = "https://www.mayoclinic.org/"
    audience = "patients"
    license = "proprietary"
    redistributable = False
    extractor = "html"
    notes = (
        "Listing: /diseases-conditions/index?letter=A ... Z; results are the links in div.cmp-result-name. "
        "Documents: each condition's 'Symptoms & causes' page (/diseases-conditions/{slug}/symptoms-causes/"
        "syc-{id}). MEDITRON also kept the 'Diagnosis & treatment' tab, but its address (drc-{other id}) is "
        "linked only from the symptoms-causes page, which this adapter treats as a document, not a listing "
        "page; it is not fetched. Plain HTML works (no JavaScript needed for the text). (c) Mayo Foundation; "
        "the Terms of Use forbid redistribution. Markup last checked against MEDITRON's 2023 scraper, not live."
    )
    removed_sections = DEFAULT_REMOVED_SECTIONS + ("clinical trials", "products & services")

    def start_urls(self) -> list[str]:
        letters = string.ascii_uppercase
        return [self.url("diseases-conditions/index?" + urlencode({"letter": letter})) for letter in letters]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            links = page_links(body, url, RESULT_LINKS)
        except (ValueError, etree.LxmlError):
            return Listing()
        documents = [
            link for link in links if same_site(link, self.base_url) and SYMPTOMS_CAUSES.search(urlsplit(link).path)
        ]
        return Listing(documents=documents)
