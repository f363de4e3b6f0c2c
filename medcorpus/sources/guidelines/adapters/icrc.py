"""International Committee of the Red Cross: health publications (PDF manuals and guidelines)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

_LISTING = re.compile(r"/en/publications/?$")
_PUBLICATION = re.compile(r"/en/publication/[a-z0-9][a-z0-9-]*/?$")
_RESULTS = "//div[contains(concat(' ', normalize-space(@class), ' '), ' view-content ')]//a/@href"
_PAGER = "//nav[contains(@class, 'pager')]//a/@href"


class ICRCAdapter(SiteAdapter):
    """Publication library filtered to health (paged) -> publication pages -> their PDF downloads."""

    name = "icrc"
    publisher = "International Committee of the Red Cross"
    default_base_url = "https://www.icrc.org/"
    audience = "clinicians"
    license = "proprietary"
    redistributable = False
    extractor = "pdf"
    notes = (
        "MEDITRON used a ready-made archive of ICRC PDFs and had no web route. This adapter lists the publication "
        "library filtered to the health topic (/en/publications?topic=health, pager ?topic=health&page=N), "
        "visits each publication page (/en/publication/<id-slug>) and fetches its PDF download on the same site. "
        "The listing address and markup are based on the site structure as known and were not checked live: "
        "re-record the snapshot when they change. Publications are (c) ICRC; no general licence for "
        "redistribution was found, so they are marked not redistributable although MEDITRON released them."
    )

    def start_urls(self) -> list[str]:
        return [self.url("en/publications?topic=health")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            if _PUBLICATION.search(urlsplit(url).path):  # a publication page: its PDFs
                links = page_links(body, url, "//a/@href")
                return Listing(documents=[u for u in links if self._ours(u) and u.lower().endswith(".pdf")])
            pager = [u for u in page_links(body, url, _PAGER) if self._health_listing(u)]
            results = [u for u in page_links(body, url, _RESULTS) if _PUBLICATION.search(urlsplit(u).path)]
        except (etree.LxmlError, ValueError):
            return Listing()
        return Listing(pages=[u for u in pager + results if self._ours(u)])

    def _ours(self, link: str) -> bool:
        return same_site(link, self.base_url)

    @staticmethod
    def _health_listing(link: str) -> bool:
        parts = urlsplit(link)
        return bool(_LISTING.search(parts.path)) and parse_qs(parts.query).get("topic") == ["health"]
