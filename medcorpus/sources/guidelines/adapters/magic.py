"""MAGIC Evidence Ecosystem Foundation (magicapp.org): GRADE guidelines through MAGICapp's public JSON API."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter

CATALOGUE = "api/v2/content/guidelines"
IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DELETED = "#DELETE THIS#"  # marker MAGICapp authors put in the names of withdrawn catalogue entries


class MagicAppAdapter(SiteAdapter):
    """The guideline catalogue (limit/offset pages until an empty one) -> each guideline's PDF export."""

    name = "magic"
    publisher = "MAGIC Evidence Ecosystem Foundation (MAGICapp)"
    default_base_url = "https://api.magicapp.org/"
    audience = "clinicians"
    license = "per-document"
    redistributable = False
    extractor = "pdf"
    javascript_only = True
    notes = (
        "app.magicapp.org is a JavaScript single-page application; this adapter uses its public JSON API "
        "instead. Listing: GET /api/v2/content/guidelines?limit=100&offset=N, a JSON array of "
        "{guidelineId, publishedId, name, ...}, paged until an empty array (or offset 10000). Documents: "
        "/api/v1/guidelines/{publishedId or guidelineId}/pdf, the guideline's PDF export. The API is "
        "documented only by third parties: the catalogue and /api/v1/guidelines/{id} were seen in use, but "
        "the offset parameter and the /pdf export were not verified here (no network); verify before a large "
        "crawl. Licences are set per guideline by its authors (many CC BY-NC); nothing is marked "
        "redistributable until each guideline's licence is checked."
    )
    page_size = 100
    max_offset = 10_000

    def catalogue_url(self, offset: int) -> str:
        """One page of the guideline catalogue."""
        return self.url(f"{CATALOGUE}?" + urlencode([("limit", self.page_size), ("offset", offset)]))

    def start_urls(self) -> list[str]:
        return [self.catalogue_url(0)]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        parts = urlsplit(url)
        if not parts.path.endswith("/" + CATALOGUE):
            return Listing()
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return Listing()
        if isinstance(data, dict):  # tolerate a wrapped list
            data = next((value for value in data.values() if isinstance(value, list)), [])
        entries = [entry for entry in data if isinstance(entry, dict)] if isinstance(data, list) else []
        documents = []
        for entry in entries:
            identifier = str(entry.get("publishedId") or entry.get("guidelineId") or "")
            if IDENTIFIER.match(identifier) and DELETED not in str(entry.get("name", "")):
                documents.append(self.url(f"api/v1/guidelines/{identifier}/pdf"))
        pages = []
        offset = parse_qs(parts.query).get("offset", [""])[0]
        if entries and offset.isdigit() and int(offset) + self.page_size <= self.max_offset:
            pages.append(self.catalogue_url(int(offset) + self.page_size))
        return Listing(pages=pages, documents=documents)
