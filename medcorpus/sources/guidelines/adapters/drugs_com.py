"""Drugs.com: dosage monographs, listed by initial letter."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

_LETTER = re.compile(r"/dosage-[a-z0-9]{1,3}\.html$")
_MONOGRAPH = re.compile(r"/dosage/[a-z0-9][a-z0-9-]*\.html$")


class DrugsComAdapter(SiteAdapter):
    """Dosage index -> letter pages (/dosage-a.html) -> dosage monographs (/dosage/<drug>.html)."""

    name = "drugs_com"
    publisher = "Drugs.com"
    default_base_url = "https://www.drugs.com/"
    audience = "both"
    license = "proprietary"
    redistributable = False
    extractor = "html"
    notes = (
        "Starts at /dosage/, follows the letter pages (links containing '/dosage-', as MEDITRON did) and fetches "
        "the monographs /dosage/<drug>.html (text in div.contentBox). Letter-page names are as known in 2023, "
        "not checked live: re-record the snapshot when the site changes. Content is licensed from third parties "
        "(Cerner Multum, ASHP and others): not redistributable."
    )

    def start_urls(self) -> list[str]:
        return [self.url("dosage/")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            links = [u for u in page_links(body, url, "//ul/li/a/@href") if same_site(u, self.base_url)]
        except (etree.LxmlError, ValueError):
            return Listing()
        return Listing(
            pages=[u for u in links if _LETTER.search(urlsplit(u).path) and not urlsplit(u).query],
            documents=[u for u in links if _MONOGRAPH.search(urlsplit(u).path) and not urlsplit(u).query],
        )
