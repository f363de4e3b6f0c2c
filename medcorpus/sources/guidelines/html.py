"""Main text of a guideline web page with trafilatura: no navigation, scripts, footers or banners.

trafilatura finds the main content (recall mode: guideline pages put their recommendations in tables
and nested lists that precision mode drops); its element tree is rendered here as light Markdown:
headings as `## Heading` lines (one `#` per HTML heading level), list items as `- item` lines
(numbered `1. item` for ordered lists, nested items indented), paragraphs one per line, and data
tables as `| cell | cell |` rows. A table used for layout (cells holding paragraphs and lists, as on
guideline-synthesis pages) is rendered as its cells' own blocks. The page title leads as `# Title`
unless the text already starts with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import trafilatura
from lxml.etree import _Element
from lxml.html import HtmlElement

MAX_HTML_BYTES = 20_000_000  # trafilatura's own ceiling; a bigger page is not a guideline page
SITE_SUFFIX = re.compile(r"\s+[|–—·-]\s+[^|–—·]{1,60}$")  # "Page title | Site name"
BLOCKS = {"p", "head", "list", "table", "quote", "code", "div"}
SHORT_CELL = 80  # a layout cell with less text than this stays on one line (a row label)


@dataclass
class HtmlText:
    """Extracted text of one page and what the page says about itself."""

    text: str
    title: str | None
    url: str | None


# Page-editing controls inside the content (MediaWiki's section "[edit]" links).
_EDIT_CONTROLS = "//*[contains(concat(' ', normalize-space(@class), ' '), ' mw-editsection ')]"


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


def _inline(element: _Element, skip: frozenset[str] = frozenset()) -> str:
    """The text of an element on one line; children tagged in `skip` are left out (their tails are kept)."""
    parts = [element.text or ""]
    for child in element:
        if child.tag not in skip:
            text = _inline(child)
            parts.append(f" {text} " if child.tag in BLOCKS or child.tag in ("lb", "item", "row", "cell") else text)
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _has_blocks(element: _Element) -> bool:
    return any(child.tag in BLOCKS for child in element)


def _list(element: _Element, out: list[str], indent: str) -> None:
    ordered = (element.get("rend") or "").lower() == "ol"
    number = 0
    for item in element:
        if item.tag != "item":
            continue
        number += 1
        marker = f"{number}. " if ordered else "- "
        text = _inline(item, frozenset({"list", "table"}))
        if text:
            out.append(f"{indent}{marker}{text}")
        for child in item:
            if child.tag == "list":
                _list(child, out, indent + "  ")
            elif child.tag == "table":
                _table(child, out)


def _layout_table(rows: list[_Element]) -> bool:
    """A table whose cells hold several blocks, or lists, headings or tables: layout, not data."""
    for row in rows:
        for cell in row:
            blocks = [child for child in cell if child.tag in BLOCKS]
            if len(blocks) > 1 or any(child.tag in ("list", "table", "head") for child in blocks):
                return True
    return False


def _table(element: _Element, out: list[str]) -> None:
    rows = [row for row in element if row.tag == "row"]
    if not _layout_table(rows):
        for row in rows:
            cells = [_inline(cell) for cell in row if cell.tag == "cell"]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                out.append("| " + " | ".join(cells) + " |")
        return
    for row in rows:
        for cell in row:
            if cell.tag != "cell":
                continue
            text = _inline(cell)
            if len(text) < SHORT_CELL or not _has_blocks(cell):
                out.append(text)
            else:
                out.append(" ".join((cell.text or "").split()))
                _blocks(cell, out)


def _blocks(element: _Element, out: list[str]) -> None:
    """Render the block children of a trafilatura element as lines appended to `out`."""
    for child in element:
        tag = child.tag
        if tag == "head":
            match = re.fullmatch(r"h([1-6])", (child.get("rend") or "").lower())
            text = _inline(child)
            if text:
                out.append("#" * (int(match.group(1)) if match else 3) + " " + text)
        elif tag == "list":
            _list(child, out, "")
        elif tag == "table":
            _table(child, out)
        elif _has_blocks(child):
            out.append(" ".join((child.text or "").split()))
            _blocks(child, out)
        elif tag not in ("graphic", "lb"):
            out.append(_inline(child))
        if element.tag != "body":
            out.append(" ".join((child.tail or "").split()))


def render(body: _Element) -> str:
    """Light Markdown of a trafilatura body element (see the module docstring)."""
    out: list[str] = []
    _blocks(body, out)
    return "\n".join(line for line in out if line.strip())


def extract_html(data: bytes) -> HtmlText:
    """Main text, title and canonical URL of an HTML page given as bytes (text is '' when none is found)."""
    if len(data) > MAX_HTML_BYTES:
        return HtmlText("", None, None)
    tree = trafilatura.load_html(data)
    if tree is None:
        return HtmlText("", None, None)
    url, title = canonical_url(tree), page_title(tree)
    for control in tree.xpath(_EDIT_CONTROLS):  # wiki "[edit]" links would stick to every heading
        control.drop_tree()
    document = trafilatura.bare_extraction(
        tree,
        favor_recall=True,
        include_tables=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        include_formatting=False,
        with_metadata=False,
        deduplicate=False,
    )
    body = getattr(document, "body", None)
    try:
        text = render(body) if body is not None else ""
    except RecursionError:  # lists or tables nested beyond reason: no guideline page
        text = ""
    if text and title and text.splitlines()[0].lstrip("# ") != title:
        text = f"# {title}\n{text}"
    return HtmlText(text, title, url)
