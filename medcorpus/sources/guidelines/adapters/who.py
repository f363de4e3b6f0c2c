"""World Health Organization: guideline PDFs from IRIS, WHO's DSpace 7 repository, through its REST API."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter

SEARCH = "server/api/discover/search/objects"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ENGLISH = re.compile(r"[-_.]en(g|glish)?\.pdf$", re.IGNORECASE)


def _get(data: Any, *keys: str) -> Any:
    """data[k1][k2]..., or None where a level is missing or not an object."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _items(data: Any, name: str) -> list[dict]:
    """A HAL collection: data["_embedded"][name], itself a list or a page holding ["_embedded"][name]."""
    value = _get(data, "_embedded", name)
    if isinstance(value, dict):
        value = _get(value, "_embedded", name)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


class WHOIrisAdapter(SiteAdapter):
    """IRIS search pages (type Guidelines) -> each item's bundles -> its English PDF in the ORIGINAL bundle."""

    name = "who"
    publisher = "World Health Organization"
    default_base_url = "https://iris.who.int/"
    audience = "both"
    license = "CC-BY-NC-SA-3.0-IGO"
    redistributable = True
    extractor = "pdf"
    javascript_only = True
    notes = (
        "who.int's publication list is rendered by JavaScript (a Kendo grid), so this adapter uses IRIS's "
        "DSpace 7 REST API. Listing: /server/api/discover/search/objects?dsoType=ITEM&f.type=Guidelines,equals"
        "&sort=dc.date.accessioned,ASC&page=N&size=100 (JSON; pages followed until page.totalPages), then "
        "/server/api/core/items/{uuid}/bundles?embed=bitstreams for each item. Documents: "
        "/server/api/core/bitstreams/{uuid}/content for the PDFs of the ORIGINAL bundle (only the English "
        "file, '-eng.pdf', when an item has several languages). WHO publications are CC BY-NC-SA 3.0 IGO: "
        "redistributable for non-commercial use, with attribution. Not verified here (no network): the name "
        "of IRIS's document-type filter (f.type, value 'Guidelines') and the size limit of a search page."
    )
    page_size = 100
    search_filters: tuple[tuple[str, str], ...] = (("f.type", "Guidelines,equals"),)

    def search_url(self, page: int) -> str:
        """One page of the IRIS search for guideline items, oldest accession first (stable paging)."""
        query = [("dsoType", "ITEM"), *self.search_filters, ("sort", "dc.date.accessioned,ASC")]
        return self.url(f"{SEARCH}?" + urlencode([*query, ("page", page), ("size", self.page_size)]))

    def start_urls(self) -> list[str]:
        return [self.search_url(0)]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        path = urlsplit(url).path
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return Listing()
        if path.endswith("/" + SEARCH):
            return self._search_page(data)
        if path.endswith("/bundles"):
            return Listing(documents=self._pdfs(data))
        return Listing()

    def _search_page(self, data: Any) -> Listing:
        result = _get(data, "_embedded", "searchResult")
        pages = []
        for hit in _items(result, "objects"):
            uuid = _get(hit, "_embedded", "indexableObject", "uuid")
            if isinstance(uuid, str) and UUID.match(uuid):
                pages.append(self.url(f"server/api/core/items/{uuid}/bundles?embed=bitstreams"))
        number, total = _get(result, "page", "number"), _get(result, "page", "totalPages")
        if isinstance(number, int) and isinstance(total, int) and 0 <= number < total - 1:
            pages.append(self.search_url(number + 1))
        return Listing(pages=pages)

    def _pdfs(self, data: Any) -> list[str]:
        files = [
            bitstream
            for bundle in _items(data, "bundles")
            if bundle.get("name") == "ORIGINAL"
            for bitstream in _items(bundle, "bitstreams")
            if str(bitstream.get("name", "")).lower().endswith(".pdf") and UUID.match(str(bitstream.get("uuid", "")))
        ]
        english = [bitstream for bitstream in files if ENGLISH.search(str(bitstream["name"]))]
        return [self.url(f"server/api/core/bitstreams/{bitstream['uuid']}/content") for bitstream in english or files]
