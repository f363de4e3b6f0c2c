"""Cancer Care Ontario (Ontario Health): PEBC guidelines, each a page with its PDF."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

_GUIDELINE = re.compile(r"/en/guidelines-advice/[a-z-]+/\d+/?$")
_PAGER = "//nav[contains(@class, 'pager')]//a/@href"
_PDF = "//span[contains(concat(' ', normalize-space(@class), ' '), ' file ')]/a[contains(@class, 'pdfBTN')]/@href"


class CancerCareOntarioAdapter(SiteAdapter):
    """Paged guideline listing -> guideline pages -> the PDF each one offers (`span.file > a.pdfBTN`)."""

    name = "cco"
    publisher = "Cancer Care Ontario (Ontario Health)"
    default_base_url = "https://www.cancercareontario.ca/"
    audience = "clinicians"
    license = "proprietary"
    redistributable = False
    extractor = "pdf"
    notes = (
        "Lists /en/guidelines-advice (Drupal pager, ?page=N), visits each guideline page "
        "(/en/guidelines-advice/<type>/<id>) and fetches its PDF (Program in Evidence-Based Care documents). "
        "The listing route is based on the site structure as known, not checked against the live site: re-record "
        "the snapshot when it changes. The documents say '(c) Ontario Health (Cancer Care Ontario); may not be "
        "reproduced without permission', so they are marked not redistributable, although MEDITRON released them."
    )

    def start_urls(self) -> list[str]:
        return [self.url("en/guidelines-advice")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            if _GUIDELINE.search(urlsplit(url).path):  # a guideline page: its PDF
                pdfs = page_links(body, url, _PDF)
                return Listing(documents=[link for link in pdfs if same_site(link, self.base_url)])
            pages = page_links(body, url, _PAGER)
            guidelines = [link for link in page_links(body, url, "//a/@href") if _GUIDELINE.search(urlsplit(link).path)]
        except (etree.LxmlError, ValueError):
            return Listing()
        return Listing(pages=[link for link in pages + guidelines if same_site(link, self.base_url)])
