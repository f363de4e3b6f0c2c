"""WikiDoc (wikidoc.org): a MediaWiki of clinical articles, listed through the MediaWiki API."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode, urlsplit

from medcorpus.sources.guidelines.adapters.base import DEFAULT_REMOVED_SECTIONS, Listing, SiteAdapter

CONTINUE_KEY = re.compile(r"^[a-z]{1,32}$")


class WikiDocAdapter(SiteAdapter):
    """api.php list=allpages (followed by its `continue` values) -> the articles' /index.php/{Title} pages."""

    name = "wikidoc"
    publisher = "WikiDoc"
    default_base_url = "https://www.wikidoc.org/"
    audience = "both"
    license = "CC-BY-SA-3.0"
    redistributable = True
    extractor = "html"
    notes = (
        "Listing: the MediaWiki API, /api.php?action=query&list=allpages (main namespace, redirects left out, "
        "500 titles a request), continued with the `continue` object it returns. Documents: the rendered "
        "article pages /index.php/{Title} (HTML; the text is div.mw-parser-output, the rest is MediaWiki "
        "chrome). action=parse would give the article HTML as JSON, which the extractor does not read. Text is "
        "CC BY-SA 3.0 (attribution, share-alike). Not verified here (no network): that api.php sits at the site "
        "root and that robots.txt allows it."
    )
    removed_sections = DEFAULT_REMOVED_SECTIONS + ("see also", "external links")
    page_size = 500

    def listing_url(self, continuation: dict[str, str] | None = None) -> str:
        """One allpages request; `continuation` is the API's `continue` object from the previous one."""
        query = [("action", "query"), ("format", "json"), ("formatversion", "2"), ("list", "allpages")]
        query += [("apnamespace", "0"), ("apfilterredir", "nonredirects"), ("aplimit", str(self.page_size))]
        return self.url("api.php?" + urlencode(query + sorted((continuation or {}).items())))

    def page_url(self, title: str) -> str:
        """The article's address, encoded the way MediaWiki writes its own links."""
        return self.url("index.php/" + quote(title.strip().replace(" ", "_"), safe=";@$!*(),/~:"))

    def start_urls(self) -> list[str]:
        return [self.listing_url()]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        if not urlsplit(url).path.endswith("/api.php"):
            return Listing()
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return Listing()
        if not isinstance(data, dict):
            return Listing()
        query = data.get("query")
        entries = query.get("allpages") if isinstance(query, dict) else None
        entries = entries if isinstance(entries, list) else []
        titles = [entry.get("title") for entry in entries if isinstance(entry, dict)]
        documents = [self.page_url(title) for title in titles if isinstance(title, str) and title.strip()]
        continuation = data.get("continue")
        pages = []
        if isinstance(continuation, dict) and continuation:
            values = {key: value for key, value in continuation.items() if isinstance(value, str)}
            if all(CONTINUE_KEY.match(key) for key in values) and len(values) == len(continuation):
                pages.append(self.listing_url(values))
        return Listing(pages=pages, documents=documents)
