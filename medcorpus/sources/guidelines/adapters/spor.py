"""SPOR Evidence Alliance (sporevidencealliance.ca): the Canadian CPG asset map's links to guideline PDFs."""

from __future__ import annotations

from urllib.parse import urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

CONTENT_LINKS = (
    "//main//a/@href | //article//a/@href | //*[contains(concat(' ', @class, ' '), ' entry-content ')]//a/@href"
)
NEXT_LINKS = (
    "//link[@rel='next']/@href | //a[@rel='next']/@href"
    " | //*[contains(@class, 'pagination') or contains(@class, 'nav-links')]"
    "//a[contains(concat(' ', @class, ' '), ' next ') or starts-with(normalize-space(.), 'Next')]/@href"
)


class SPOREvidenceAllianceAdapter(SiteAdapter):
    """The CPG database pages -> the guideline PDFs they link to, on the developers' own sites."""

    name = "spor"
    publisher = "SPOR Evidence Alliance (guidelines by their Canadian developers)"
    default_base_url = "https://sporevidencealliance.ca/"
    audience = "clinicians"
    license = "per-document"
    redistributable = True
    extractor = "pdf"
    notes = (
        "Listing: the CPG asset map database /key-activities/cpg-asset-map/cpg-database/ (frozen April 2018) "
        "and its 'Next' pages; guidelines are listed by developer with links to PDFs on the developers' own "
        "sites (Cancer Care Ontario, Canadian Paediatric Society, provincial bodies, ...). Documents: every "
        "link in the main content whose path ends in .pdf, on any host (landing pages that are not PDFs are "
        "skipped). MEDITRON read the same links from a PDF export of the asset map; the HTML layout assumed "
        "here (a table per developer, WordPress pagination) was not verified against the live site (no "
        "network), and many 2018 links are expected to be dead. Licence is the developer's, per document; "
        "MEDITRON treated this set as redistributable and released it, which this adapter follows: check a "
        "developer's terms before republishing its text."
    )

    def start_urls(self) -> list[str]:
        return [self.url("key-activities/cpg-asset-map/cpg-database/")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            links = page_links(body, url, CONTENT_LINKS)
            next_pages = page_links(body, url, NEXT_LINKS)
        except (ValueError, etree.LxmlError):
            return Listing()
        documents = [
            link
            for link in links
            if urlsplit(link).scheme in ("http", "https") and urlsplit(link).path.lower().endswith(".pdf")
        ]
        pages = [link for link in next_pages if same_site(link, self.base_url) and link != url]
        return Listing(pages=pages, documents=documents)
