"""CMA Joule CPG Infobase: Canadian clinical practice guidelines browsed by specialty."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

_SPECIALTY = re.compile(r"/cpg/homepage/browse-by/category/specialties/id/\d+/?$")
_PAGER = "//div[contains(concat(' ', normalize-space(@class), ' '), ' pagination ')]//li/a/@href"
_FULLTEXT = "//h5/a[@title='View fulltext guideline']/@href"
_SKIPPED = ("choosingwisely", "choosing-wisely", "choisiravecsoin")  # Choosing Wisely lists are not CPGs


class CMAInfobaseAdapter(SiteAdapter):
    """Home page -> specialty browse pages (paged) -> full texts, which live on the developers' own sites."""

    name = "cma"
    publisher = "Canadian Medical Association (CPG Infobase)"
    default_base_url = "https://joulecma.ca/"
    audience = "clinicians"
    license = "per-document"
    redistributable = True
    extractor = "auto"
    notes = (
        "Follows the specialty browse pages (/cpg/homepage/browse-by/category/specialties/id/<id>, paged in "
        "div.pagination) linked from /cpg/homepage, and fetches each 'View fulltext guideline' link (h5 > a). "
        "Full texts are hosted by their developers (PDFs, canada.ca pages, society sites), so they may be on any "
        "host and in HTML or PDF; Choosing Wisely lists are skipped. Licences are the developers' own: MEDITRON "
        "released this set, so it is marked redistributable, but check a document's own terms before reuse. "
        "The cookie banner is plain markup. Page structure as known in 2023; re-record when it changes."
    )

    def start_urls(self) -> list[str]:
        return [self.url("cpg/homepage")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            specialties = [u for u in page_links(body, url, "//a/@href") if _SPECIALTY.search(urlsplit(u).path)]
            pages = specialties + page_links(body, url, _PAGER)
            documents = page_links(body, url, _FULLTEXT)
        except (etree.LxmlError, ValueError):
            return Listing()
        return Listing(
            pages=[u for u in dict.fromkeys(pages) if same_site(u, self.base_url)],
            documents=[u for u in documents if urlsplit(u).scheme in ("http", "https") and not self._skipped(u)],
        )

    @staticmethod
    def _skipped(link: str) -> bool:
        return any(word in link.lower() for word in _SKIPPED)
