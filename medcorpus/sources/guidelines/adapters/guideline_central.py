"""GuidelineCentral: guideline summary pages, reached through the site's XML sitemaps."""

from __future__ import annotations

import gzip
import io
import re
import zlib
from urllib.parse import urljoin, urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, same_site
from medcorpus.sources.xml.safe import parse_bytes

_GUIDELINE = re.compile(r"/guideline/\d+/?$")
_PUBLISHER_HOSTS = ("www.guidelinecentral.com", "guidelinecentral.com")
MAX_SITEMAP_BYTES = 50_000_000  # the sitemap protocol's own limit for one file


class GuidelineCentralAdapter(SiteAdapter):
    """Sitemap index -> guideline sitemaps -> /guideline/<id>/ pages (HTML, main.site-main)."""

    name = "guideline_central"
    publisher = "Guideline Central"
    default_base_url = "https://www.guidelinecentral.com/"
    audience = "clinicians"
    license = "proprietary"
    redistributable = False
    extractor = "html"
    javascript_only = True
    notes = (
        "The guideline search (/guidelines/?t=guideline&f=<json>) is built in the browser by JavaScript, so "
        "this adapter reads the XML sitemaps instead: /sitemap.xml (a sitemap index; child sitemaps whose "
        "address mentions 'guideline' are followed, all of them when none does) and the /guideline/<id>/ pages "
        "they list, whose text is main.site-main. Sitemap URLs on the publisher's host are moved onto base_url, "
        "so a mirror or snapshot works. Sitemap names are not checked live: re-record the snapshot when they "
        "change. Summaries are (c) Guideline Central and its partner societies: not redistributable."
    )

    def start_urls(self) -> list[str]:
        return [self.url("sitemap.xml")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            if body[:2] == b"\x1f\x8b":  # a .xml.gz sitemap served without Content-Encoding
                body = gzip.GzipFile(fileobj=io.BytesIO(body)).read(MAX_SITEMAP_BYTES)
            root = parse_bytes(body)
        except (etree.LxmlError, ValueError, OSError, EOFError, zlib.error):
            return Listing()
        kind = etree.QName(root).localname if isinstance(root.tag, str) else ""
        locs = [self._rebase(url, "".join(loc.itertext()).strip()) for loc in root.xpath("//*[local-name()='loc']")]
        locs = [loc for loc in dict.fromkeys(locs) if loc and same_site(loc, self.base_url)]
        if kind == "sitemapindex":
            wanted = [loc for loc in locs if "guideline" in urlsplit(loc).path.lower()]
            return Listing(pages=wanted or locs)
        if kind == "urlset":
            return Listing(documents=[loc for loc in locs if _GUIDELINE.search(urlsplit(loc).path)])
        return Listing()

    def _rebase(self, url: str, loc: str) -> str:
        """A sitemap URL resolved against the sitemap, moved onto base_url when it names the publisher's host."""
        try:
            parts = urlsplit(urljoin(url, loc))
        except ValueError:
            return ""
        if parts.netloc.lower() in _PUBLISHER_HOSTS:
            return self.url(parts.path + (f"?{parts.query}" if parts.query else ""))
        return parts.geturl()
