"""Infectious Diseases Society of America (IDSA): practice guideline pages on idsociety.org."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

# Links in the page's main content: <main>, <article>, or the older index's .rtln_body_content block.
CONTENT_LINKS = (
    "//main//a/@href | //article//a/@href | //*[contains(concat(' ', @class, ' '), ' rtln_body_content ')]//a/@href"
)
NEXT_LINKS = (
    "//link[@rel='next']/@href | //a[@rel='next']/@href"
    " | //*[contains(@class, 'pagination') or contains(@class, 'pager')]"
    "//a[starts-with(normalize-space(.), 'Next')]/@href"
)
GUIDELINE = re.compile(r"/practice-guideline/([^/]+)/?$")
INDEX_SLUGS = {"all-practice-guidelines", "alphabetical-guidelines", "practice-guidelines"}


class IDSAAdapter(SiteAdapter):
    """The all-practice-guidelines index (and its next pages) -> one HTML page per guideline."""

    name = "idsa"
    publisher = "Infectious Diseases Society of America"
    default_base_url = "https://www.idsociety.org/"
    audience = "clinicians"
    license = "proprietary"
    redistributable = False
    extractor = "html"
    notes = (
        "Listing: /practice-guideline/all-practice-guidelines/ (formerly /practice-guideline/alphabetical-guidelines/, "
        "links inside .rtln_body_content) and any rel=next / 'Next' pagination links. Documents: the "
        "/practice-guideline/{slug}/ pages linked from the main content; PDF links and links to other sites "
        "(the full guidelines in Clinical Infectious Diseases, Oxford University Press) are not followed, so the "
        "text is IDSA's web summary of each guideline. (c) IDSA, no redistribution. Not verified against the live "
        "site here (no network): whether the index is paginated, and that every guideline page sits one level "
        "under /practice-guideline/."
    )

    def start_urls(self) -> list[str]:
        return [self.url("practice-guideline/all-practice-guidelines/")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            links = page_links(body, url, CONTENT_LINKS)
            next_pages = page_links(body, url, NEXT_LINKS)
        except (ValueError, etree.LxmlError):
            return Listing()
        documents = []
        for link in links:
            parts = urlsplit(link)
            match = GUIDELINE.search(parts.path)
            slug = match.group(1) if match else ""
            if slug and slug not in INDEX_SLUGS and not slug.lower().endswith(".pdf") and not parts.query:
                if same_site(link, self.base_url):
                    documents.append(link)
        pages = [link for link in next_pages if same_site(link, self.base_url) and link != url]
        return Listing(pages=pages, documents=documents)
