"""National Institute for Health and Care Excellence (NICE, nice.org.uk): guidance chapters."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

ROW_LINKS = "//table//td//a/@href"
NEXT_LINKS = (
    "//link[@rel='next']/@href | //a[@rel='next']/@href"
    " | //*[contains(@class, 'pagination')]//a[starts-with(normalize-space(.), 'Next')]/@href"
)
GUIDANCE = re.compile(r"/guidance/([a-z]{1,6}\d{1,5})/?$", re.IGNORECASE)
CHAPTER = re.compile(r"/guidance/([a-z]{1,6}\d{1,5})/chapter/([^/]+)$", re.IGNORECASE)
# Chapters that hold only committee lists, update histories and links to other material.
SKIPPED_CHAPTERS = ("finding-more-information", "update-information", "committee-details")


class NICEAdapter(SiteAdapter):
    """Published-guidance pages -> each guidance's overview page -> its chapter pages (the documents)."""

    name = "nice"
    publisher = "National Institute for Health and Care Excellence (NICE)"
    default_base_url = "https://www.nice.org.uk/"
    audience = "clinicians"
    license = "proprietary"
    redistributable = False
    extractor = "html"
    notes = (
        "Listing: /guidance/published?ndt=Guidance&ps=100 and its 'Next' pages (pa=2, 3, ...); each table row "
        "links to an overview page /guidance/{id} (ng, cg, qs, ta, ...), which lists the chapters. Documents: "
        "the chapter pages /guidance/{id}/chapter/{name} (Recommendations, Rationale and impact, Context, ...), "
        "except 'Finding more information and committee details' and 'Update information'. Overview text "
        "itself is not kept. Licence: (c) NICE. NICE content may be reused in the UK under the NICE UK Open "
        "Content Licence; reuse outside the UK, and the syndication API, need a licence from NICE, so it is "
        "marked not redistributable (MEDITRON nevertheless released NICE text). Pagination markup and the "
        "chapter slugs were not verified against the live site here (no network)."
    )
    page_size = 100

    def start_urls(self) -> list[str]:
        return [self.url("guidance/published?" + urlencode([("ndt", "Guidance"), ("ps", self.page_size)]))]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        path = urlsplit(url).path
        overview = GUIDANCE.search(path)
        try:
            if overview:
                return Listing(documents=self._chapters(overview.group(1).lower(), page_links(body, url, "//a/@href")))
            if not path.rstrip("/").endswith("/guidance/published"):
                return Listing()
            rows = page_links(body, url, ROW_LINKS)
            next_pages = page_links(body, url, NEXT_LINKS)
        except (ValueError, etree.LxmlError):
            return Listing()
        pages = [link for link in rows if same_site(link, self.base_url) and GUIDANCE.search(urlsplit(link).path)]
        pages += [link for link in next_pages if same_site(link, self.base_url) and link != url]
        return Listing(pages=pages)

    def _chapters(self, guidance: str, links: list[str]) -> list[str]:
        chapters = []
        for link in links:
            match = CHAPTER.search(urlsplit(link).path)
            if match and match.group(1).lower() == guidance and same_site(link, self.base_url):
                if not any(skip in match.group(2).lower() for skip in SKIPPED_CHAPTERS):
                    chapters.append(link)
        return chapters
