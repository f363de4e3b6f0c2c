"""What a guideline publisher's adapter says: where its documents are listed, how they are read, who they are for.

An adapter never fetches anything itself: the crawler (`medcorpus.sources.guidelines.crawl`)
fetches the URLs it names, stores every response raw, and hands listing pages back to it.
Each adapter is one small class in its own module, registered in `adapters.ADAPTERS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html

# Section headings removed from guideline text unless an adapter says otherwise (see extraction).
DEFAULT_REMOVED_SECTIONS = (
    "references",
    "bibliography",
    "acknowledgements",
    "acknowledgments",
    "disclosures",
    "conflicts of interest",
    "conflict of interest",
    "competing interests",
    "declarations of interest",
    "funding",
    "disclaimer",
    "about this guideline",
)


@dataclass
class Listing:
    """What one listing page gave: more listing pages to visit, and document URLs to fetch."""

    pages: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)


class SiteAdapter(ABC):
    """One publisher. Subclasses set the class attributes and implement `start_urls` and `parse_listing`.

    URLs are built from `self.base_url` (the publisher's site by default; tests and mirrors pass
    another), and links found on pages are resolved against the page's URL, so a recorded
    snapshot served from a local server behaves like the site.
    """

    name: str = ""  # the --site value
    publisher: str = ""
    default_base_url: str = ""
    audience: str = "clinicians"  # "clinicians", "patients" or "both"
    license: str = "proprietary"  # SPDX-like id, or "proprietary" / "per-document"
    redistributable: bool = False  # whether the publisher allows redistributing the text
    extractor: str = "auto"  # "html", "pdf" or "auto" (by content type / signature)
    javascript_only: bool = False  # the site's own pages need a browser; the route used here avoids that
    notes: str = ""  # how the documents are reached over plain HTTP, and anything a user should know
    removed_sections: tuple[str, ...] = DEFAULT_REMOVED_SECTIONS

    def __init__(self, base_url: str | None = None):
        self.base_url = (base_url or self.default_base_url).rstrip("/") + "/"

    def url(self, path: str) -> str:
        """An absolute URL on this adapter's site for a path such as "guidance/published?ps=100"."""
        return urljoin(self.base_url, path.lstrip("/"))

    @abstractmethod
    def start_urls(self) -> list[str]:
        """The first listing pages (index pages, sitemaps, API queries)."""

    @abstractmethod
    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        """The next listing pages and the document URLs found on one listing page."""

    def metadata(self) -> dict:
        """What every document of this publisher carries in its metadata."""
        return {
            "site": self.name,
            "publisher": self.publisher,
            "audience": self.audience,
            "license": self.license,
            "redistributable": self.redistributable,
        }


def page_links(body: bytes, url: str, xpath: str) -> list[str]:
    """Absolute URLs of the `href`s an XPath selects on an HTML page, in page order, without duplicates or fragments."""
    if not body.strip():
        return []
    tree = lxml_html.fromstring(body)
    seen: dict[str, None] = {}
    for href in tree.xpath(xpath):
        href = str(href).strip()
        if href and not href.startswith(("javascript:", "mailto:", "#")):
            absolute = urljoin(url, href).split("#", 1)[0]
            seen.setdefault(absolute, None)
    return list(seen)


def same_site(url: str, base_url: str) -> bool:
    """True when `url` is on the same scheme and host as `base_url`."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
