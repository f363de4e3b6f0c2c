"""American Academy of Family Physicians: clinical recommendations, listed by topic."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links, same_site

_ADL = "//a[contains(concat(' ', normalize-space(@class), ' '), ' adl-link ')]"
_TOPIC = re.compile(r"/recommendations-by-topic(/[^/]+)?\.html$")
_DOCUMENT = re.compile(r"/all-clinical-recommendations/[^/]+\.html$")


class AAFPAdapter(SiteAdapter):
    """Topic index -> topic pages -> recommendation pages (HTML), all links of class `adl-link`."""

    name = "aafp"
    publisher = "American Academy of Family Physicians"
    default_base_url = "https://www.aafp.org/"
    audience = "clinicians"
    license = "proprietary"
    redistributable = False
    extractor = "html"
    notes = (
        "Starts at the 'recommendations by topic' index and follows `a.adl-link` links to topic pages "
        "(.../recommendations-by-topic/<topic>.html) and from there to recommendation pages "
        "(.../all-clinical-recommendations/<name>.html); content is div.aem-Grid. Route as used by MEDITRON "
        "(2023); the site has since been moving pages under /clinical-insights/, so re-record the snapshot and "
        "check the paths before a crawl. AAFP allows personal, non-commercial use only: not redistributable."
    )

    def start_urls(self) -> list[str]:
        return [self.url("family-physician/patient-care/clinical-recommendations/recommendations-by-topic.html")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        try:
            links = [link for link in page_links(body, url, _ADL + "/@href") if same_site(link, self.base_url)]
        except (etree.LxmlError, ValueError):
            return Listing()
        paths = [(link, urlsplit(link).path) for link in links]
        return Listing(
            pages=[link for link, path in paths if _TOPIC.search(path)],
            documents=[link for link, path in paths if _DOCUMENT.search(path)],
        )
