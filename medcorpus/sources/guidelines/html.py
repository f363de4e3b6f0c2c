"""Main text of a guideline web page with trafilatura: no navigation, scripts, footers or banners.

trafilatura finds the main content; headings, list items and paragraphs come out one per line
and table rows as `| cell | cell |` lines. Recall mode is used because guideline pages put their
recommendations in tables and nested lists that precision mode drops. The page title is put
first when the extracted text does not start with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import trafilatura
from lxml.html import HtmlElement

MAX_HTML_BYTES = 20_000_000  # trafilatura's own ceiling; a bigger page is not a guideline page
SITE_SUFFIX = re.compile(r"\s+[|–—·-]\s+[^|–—·]{1,60}$")  # "Page title | Site name"


@dataclass
class HtmlText:
    """Extracted text of one page and what the page says about itself."""

    text: str
    title: str | None
    url: str | None


def _first(tree: HtmlElement, xpath: str) -> str | None:
    for value in tree.xpath(xpath):
        value = " ".join(str(value).split())
        if value:
            return value
    return None


def canonical_url(tree: HtmlElement) -> str | None:
    """The page's own address: `<link rel="canonical">`, else `og:url`; None when it gives neither."""
    links = (link.get("href") for link in tree.iter("link") if "canonical" in (link.get("rel") or "").lower().split())
    url = next((href.strip() for href in links if href and href.strip()), None)
    url = url or _first(tree, "//meta[@property='og:url' or @name='og:url']/@content")
    return url if url and re.match(r"^https?://", url, re.I) else None


def page_title(tree: HtmlElement) -> str | None:
    """`og:title`, else `<title>` without a trailing site name, else the first `<h1>`."""
    title = _first(tree, "//meta[@property='og:title' or @name='og:title']/@content")
    if title is None:
        title = _first(tree, "//head/title/text()")
        if title and len(short := SITE_SUFFIX.sub("", title)) >= 10:
            title = short
    if title is None:
        title = _first(tree, "//h1//text()")
    return title


def extract_html(data: bytes) -> HtmlText:
    """Main text, title and canonical URL of an HTML page given as bytes (text is '' when none is found)."""
    if len(data) > MAX_HTML_BYTES:
        return HtmlText("", None, None)
    tree = trafilatura.load_html(data)
    if tree is None:
        return HtmlText("", None, None)
    url, title = canonical_url(tree), page_title(tree)
    body = trafilatura.extract(
        tree,
        output_format="txt",
        favor_recall=True,
        include_tables=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        with_metadata=False,
        deduplicate=False,
    )
    lines = [" ".join(line.split()) for line in (body or "").splitlines()]
    text = "\n".join(line for line in lines if line)
    if text and title and not text.startswith(title):
        text = f"{title}\n{text}"
    return HtmlText(text, title, url)
