"""Canadian Paediatric Society: position statements and practice points."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

_LISTING = re.compile(r"/en/documents(/P\d+)?/?$")
_STATEMENT = re.compile(r"/en/documents/position/[a-z0-9][a-z0-9-]*/?$")


class CanadianPaediatricSocietyAdapter(SiteAdapter):
    """Paged document index (/en/documents, /en/documents/P10, ...) -> statement pages (HTML)."""

    name = "cps"
    publisher = "Canadian Paediatric Society"
    default_base_url = "https://cps.ca/"
    audience = "clinicians"
    license = "proprietary"
    redistributable = False
    extractor = "html"
    notes = (
        "Lists /en/documents, paged by offset (/en/documents/P10, /P20, ...), and fetches the statement pages "
        "/en/documents/position/<slug>, whose text is div.cell.main-body. The index route is based on the site's "
        "structure as known (MEDITRON took its links from a SPOR list), not checked live: re-record the snapshot "
        "when it changes. (c) Canadian Paediatric Society; reproduction needs permission: not redistributable."
    )

    def start_urls(self) -> list[str]:
        return [self.url("en/documents")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            links = [u for u in page_links(body, url, "//a/@href") if same_site(u, self.base_url)]
        except (etree.LxmlError, ValueError):
            return Listing()
        return Listing(
            pages=[u for u in links if _LISTING.search(urlsplit(u).path) and not urlsplit(u).query],
            documents=[u for u in links if _STATEMENT.search(urlsplit(u).path)],
        )
