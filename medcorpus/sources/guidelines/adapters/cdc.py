"""CDC Stacks: the "Guidelines and Recommendations" collection (cdc:100), PDFs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

_ITEM = re.compile(r"/view/cdc/\d+/?$")
_PDF = re.compile(r"/view/cdc/\d+/cdc_\d+_DS\d+\.pdf$", re.I)
_RESULTS = "//div[contains(concat(' ', normalize-space(@class), ' '), ' search-result-row ')]//a/@href"
_PAGER = "//ul[contains(concat(' ', normalize-space(@class), ' '), ' pagination ')]//a/@href"


class CDCAdapter(SiteAdapter):
    """Collection browse pages (100 results each, paged by start=) -> item pages -> their PDF files."""

    name = "cdc"
    publisher = "Centers for Disease Control and Prevention"
    default_base_url = "https://stacks.cdc.gov/"
    audience = "clinicians"
    license = "public-domain"
    redistributable = True
    extractor = "pdf"
    notes = (
        "Browses the CDC Stacks collection 'Guidelines and Recommendations' (pid cdc:100), 100 results a page "
        "(start=0, 100, ...); each result is an item page /view/cdc/<id> whose files are "
        "/view/cdc/<id>/cdc_<id>_DS<n>.pdf. Works of the US federal government are in the public domain. "
        "The browse route is MEDITRON's (2023); re-record the snapshot when the markup changes."
    )

    def start_urls(self) -> list[str]:
        return [self.url("cbrowse?pid=cdc%3A100&parentId=cdc%3A100&maxResults=100&start=0")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            if _ITEM.search(urlsplit(url).path):  # an item page: its PDF files, not the "?download=..." copies
                return Listing(documents=[u for u in page_links(body, url, "//a/@href") if self._pdf(u)])
            pager = [u for u in page_links(body, url, _PAGER) if urlsplit(u).path.endswith("/cbrowse")]
            items = [u for u in page_links(body, url, _RESULTS) if _ITEM.search(urlsplit(u).path)]
        except (etree.LxmlError, ValueError):
            return Listing()
        return Listing(pages=[u for u in pager + items if self._ours(u)])

    def _ours(self, link: str) -> bool:
        return same_site(link, self.base_url)

    def _pdf(self, link: str) -> bool:
        parts = urlsplit(link)
        return bool(_PDF.search(parts.path)) and not parts.query and self._ours(link)
