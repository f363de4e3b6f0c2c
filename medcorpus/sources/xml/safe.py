"""Safe XML parsing shared by the PubMed and PMC readers, and flattening of mixed content to plain text.

Every parser here is configured so that a hostile file cannot reach the disk or the network:
external entities are never resolved, DTDs are never loaded, and libxml2's size and depth limits
stay on (`huge_tree=False`). Entity references that are left unresolved come back as entity nodes;
`flatten_text` turns the HTML ones (`&nbsp;`, `&alpha;`) into their characters and drops the rest.
"""

from __future__ import annotations

import html.entities
import re
import threading

from lxml import etree

SAFE_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}

# Elements that separate words: flattening puts a space around them so that "<p>a</p><p>b</p>" -> "a b".
BLOCK_TAGS = frozenset(
    {
        "p", "title", "label", "caption", "sec", "list", "list-item", "def-list", "def-item", "term", "def",
        "disp-quote", "table", "thead", "tbody", "tr", "td", "th", "break", "boxed-text", "fig", "table-wrap",
        "AbstractText", "Abstract", "OtherAbstract", "CopyrightInformation", "license-p", "attrib", "speech",
    }
)  # fmt: skip
# Elements whose content is never prose: TeX sources, MathML annotations, graphics and ids.
SKIP_TAGS = frozenset({"tex-math", "annotation", "annotation-xml", "graphic", "inline-graphic", "media", "object-id"})
# Pretty-printed files (PubMed efetch) break the line before <sub>/<sup>: "beta\n   <sub>2</sub>" is "beta2".
_TIGHT_TAGS = frozenset({"sub", "sup"})
_LINEBREAK_WS = re.compile(r"[ \t\r]*\n\s*\Z")
# A numeric superscript right after a digit is an exponent: "10<sup>6</sup>" -> "10^6", not "106".
_EXPONENT = re.compile(r"[-\u2212+]?\d+(?:\.\d+)?")
_LINK_TAGS = frozenset({"ext-link", "uri", "email"})
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def local_name(element: etree._Element) -> str:
    """Tag of an element without its namespace; "" for comments, entities and processing instructions."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def is_number(value: str) -> bool:
    """True for a non-empty run of ASCII digits (ids, years); `str.isdigit` alone also accepts "²"."""
    return value.isascii() and value.isdigit()


def safe_parser() -> etree.XMLParser:
    """An lxml parser that never resolves entities, never loads DTDs and never uses the network."""
    return etree.XMLParser(**SAFE_OPTIONS)


_PARSERS = threading.local()


def parse_bytes(data: bytes) -> etree._Element:
    """Root element of a complete XML document held in memory; raises `etree.XMLSyntaxError` if malformed.

    The parser is made once per thread (an lxml parser must not be shared between threads).
    """
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = safe_parser()
    return etree.fromstring(data, parser)


def flatten_text(element: etree._Element | None, skip: frozenset[str] = SKIP_TAGS) -> str:
    """Plain text of an element's mixed content, inline markup removed and whitespace collapsed.

    Inline elements (`<i>`, `<sub>`, `<xref>`, ...) are joined without adding characters
    ("CO<sub>2</sub>" -> "CO2"), except that a numeric superscript after a digit is written as
    an exponent ("10<sup>6</sup>" -> "10^6"); block elements are separated by one space, tails are kept,
    elements named in `skip` are left out (their tails are not), and an empty link shows its URL.
    """
    if element is None:
        return ""
    name = local_name(element)
    if name and len(element) == 0 and name not in skip and name not in _LINK_TAGS:  # a leaf: its own text, no more
        return " ".join((element.text or "").split())
    pieces: list[str] = []
    _collect(element, pieces, skip)
    return " ".join("".join(pieces).split())


def _collect(element: etree._Element, pieces: list[str], skip: frozenset[str]) -> None:
    if element.tag is etree.Entity:
        pieces.append(html.entities.html5.get(f"{element.name};", ""))
        return
    name = local_name(element)
    if not name or name in skip:
        return
    if name in _TIGHT_TAGS and pieces:
        pieces[-1] = _LINEBREAK_WS.sub("", pieces[-1])
        exponent = name == "sup" and len(element) == 0 and _EXPONENT.fullmatch(element.text or "")
        if exponent and pieces[-1][-1:].isdigit():
            pieces.append("^")
    block = name in BLOCK_TAGS
    if block:
        pieces.append(" ")
    if element.text:
        pieces.append(element.text)
    for child in element:
        _collect(child, pieces, skip)
        if child.tail:
            pieces.append(child.tail)
    if name in _LINK_TAGS and not element.text and len(element) == 0:
        pieces.append(element.get(XLINK_HREF, ""))
    if block:
        pieces.append(" ")
