"""PubMed Central full text: JATS 1.x / NLM Archiving 2.x `.nxml` files and OA bulk `.tar.gz` packages.

Archives are streamed (`tarfile` mode "r|gz") and never extracted: only regular-file members ending in
.nxml or .xml are read, each at most `max_member_bytes`; links, devices and names that climb out of the
archive are rejected.

Text layout: title, blank line, abstract, blank line, then the body in document order; each section
heading ("label title") on its own line above its first paragraph; paragraphs and sections separated by
blank lines; list items as "- item" lines; figure and table captions as "Figure 1. Caption." paragraphs
where the float appears (floats kept in `floats-group` or back matter follow the body). Dropped: table
cells, graphics, supplementary files, references, author and affiliation blocks, footnotes, and sections
on acknowledgements, funding, competing interests, author contributions and supplementary material (by
sec-type or title); citation and footnote markers are removed cleanly and formulas handled as set (see
`citations.py`). Licenses are normalised to SPDX-like ids (`license.py`).
"""

from __future__ import annotations

import os
import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath

import fsspec
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter
from lxml import etree

from medcorpus.documents import make_document
from medcorpus.paths import open_input
from medcorpus.sources.base import SourceReader
from medcorpus.sources.pmc.citations import FORMULA_MODES, clean_text, mark_citations, mark_formulas
from medcorpus.sources.pmc.license import license_allowed, normalize_license, option_names, read_license
from medcorpus.sources.xml.safe import SKIP_TAGS, flatten_text, is_number, local_name, parse_bytes

__all__ = ["DEFAULT_EXCLUDED_ARTICLE_TYPES", "PMCReader", "normalize_license"]

FLOAT_TAGS = ("fig", "table-wrap")
# Never the article's own prose: front-matter blocks that can also sit in the body are listed too.
AUTHOR_TAGS = frozenset({"contrib-group", "contrib", "aff", "aff-alternatives", "author-notes", "corresp", "bio"})
DROPPED_TAGS = frozenset(
    {"supplementary-material", "table", "alternatives", "preformat", "ref-list", "fn-group", "fn", "ack",
     "glossary", "sec-meta", "array", "chem-struct-wrap", "fig-group", "table-wrap-group"}
) | SKIP_TAGS | AUTHOR_TAGS  # fmt: skip
INLINE_SKIP = SKIP_TAGS | AUTHOR_TAGS | {"fig", "table-wrap", "supplementary-material", "fn", "table"}
CONTAINER_TAGS = frozenset({"sec", "boxed-text", "statement", "app", "body", "abstract", "notes"})
# Notices and front-of-journal pieces rather than articles (JATS article-type values, and common variants).
DEFAULT_EXCLUDED_ARTICLE_TYPES = (
    "correction", "erratum", "corrigendum", "retraction", "partial-retraction", "expression-of-concern",
    "removal", "addendum", "editorial", "obituary", "announcement", "calendar",
)  # fmt: skip
# Sections that are not the article's science, by title or by sec-type / notes-type read as words ("COI-statement").
_DROPPED_TITLE_ITEM = (
    r"acknowledge?ments?|funding(?: sources?| information| statement| details)?|sources? of funding|grant support"
    r"|financial (?:support|disclosures?)|role of the funding source|(?:potential )?conflicts?(?: of interests?)?"
    r"(?: statement| disclosures?)?|(?:declarations?|statement|disclosures?) of (?:competing )?interests?|coi statement"
    r"|competing (?:financial )?interests?(?: statement)?|disclosures?(?: statement)?|duality of interest"
    r"|(?:electronic )?supplementary (?:materials?|information|data|files?)|supporting information"
    r"|additional (?:data )?files?|author(?:s|['’]s|s['’])? contributions?|contributions? of (?:the )?authors"
    r"|contributors(?:hip)?|pre-?publication history|about the authors?|author (?:information|notes?)"
    r"|bio|biograph(?:y|ies)|corresponding authors?|correspondence"
)
_DROPPED_TITLE = re.compile(rf"(?:{_DROPPED_TITLE_ITEM})(?:\s*(?:,|and|&)\s*(?:{_DROPPED_TITLE_ITEM}))*")
_LEGACY_NAME = re.compile(r"^.+-[^-]+-[^-]+-(\d{3,9})\.nxml$")
_PMC_NAME = re.compile(r"\b(PMC\d+)\b")


def _pmcid(value: str | None) -> str | None:
    digits = (value or "").strip().upper().removeprefix("PMC")
    return f"PMC{digits}" if is_number(digits) else None


class PMCReader(SourceReader):
    """Reads PMC articles (JATS / NLM XML) into one document per article with a body.

    Options: `keep_captions`; `formulas` ("drop" or "placeholder"); `author_year_citations` (False keeps
    "(Smith et al., 2010)"; numeric markers always go); `exclude_article_types` (rejected as
    `article_type:<type>`, case-insensitive; empty keeps all; default `DEFAULT_EXCLUDED_ARTICLE_TYPES`);
    `licenses` (ids or families kept, e.g. ["CC-BY", "CC0"]; others rejected as `license:<id>`; None keeps
    all). A list option may be given as a comma-separated string.
    """

    name = "PMC reader"
    source = "pmc"
    category = "biomedical"
    suffixes = (".nxml", ".xml", ".tar.gz", ".tgz")

    def __init__(
        self,
        inputs: list[str],
        exclusion_writer: DiskWriter | None = None,
        limit: int = -1,
        min_body_chars: int = 500,
        max_member_bytes: int = 64 * 2**20,
        keep_captions: bool = True,
        formulas: str = "drop",
        author_year_citations: bool = True,
        exclude_article_types: Iterable[str] | str | None = DEFAULT_EXCLUDED_ARTICLE_TYPES,
        licenses: Iterable[str] | str | None = None,
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit)
        if formulas not in FORMULA_MODES:
            raise ValueError(f"formulas must be one of {FORMULA_MODES}, got {formulas!r}")
        self.min_body_chars = min_body_chars
        self.max_member_bytes = max_member_bytes
        self.keep_captions = keep_captions
        self.formulas = formulas
        self.author_year_citations = author_year_citations
        self.exclude_article_types = frozenset(
            _slug(name) for name in option_names(exclude_article_types, "article types")
        )
        self.licenses = None if licenses is None else option_names(licenses, "licenses", required=True)

    def read_file(self, path: str) -> Iterator[Document]:
        if path.endswith((".tar.gz", ".tgz")):
            yield from self._read_archive(path)
            return
        with open_input(path) as stream:
            data = stream.read(self.max_member_bytes + 1)
        if len(data) > self.max_member_bytes:
            self.reject(path, "file_too_large")
            return
        yield from self._read_xml(path, os.path.basename(path), data)

    def _read_archive(self, path: str) -> Iterator[Document]:
        """Stream an OA package: members are read into memory one at a time, nothing touches the disk."""
        try:
            with fsspec.open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|gz") as archive:
                for member in archive:
                    if member.isdir():
                        continue
                    if not member.isreg():
                        self.reject(path, "unsafe_member:not_a_regular_file")
                        continue
                    name = member.name
                    if not name.endswith((".nxml", ".xml")):
                        continue
                    if name.startswith("/") or ".." in PurePosixPath(name).parts:
                        self.reject(path, "unsafe_member:path_outside_archive")
                        continue
                    if member.size > self.max_member_bytes:
                        self.reject(path, "member_too_large")
                        continue
                    handle = archive.extractfile(member)
                    data = handle.read() if handle is not None else b""
                    yield from self._read_xml(path, name, data)
        except (tarfile.TarError, EOFError, zlib.error):
            self.reject(path, "unreadable_archive")

    def _read_xml(self, path: str, name: str, data: bytes) -> Iterator[Document]:
        """Documents of one XML document: an `<article>`, or a `<pmc-articleset>` of them."""
        try:
            root = parse_bytes(data)
        except etree.XMLSyntaxError:
            self.reject(path, "malformed_xml")
            return
        articles = [root] if local_name(root) == "article" else [c for c in root if local_name(c) == "article"]
        if not articles:
            self.reject(path, "not_an_article")
        for article in articles:
            document = self._convert(path, name, article)
            if document is not None:
                yield document

    def _convert(self, path: str, name: str, article: etree._Element) -> Document | None:
        meta = article.find("front/article-meta")
        if meta is None:
            self.reject(path, "malformed_record")
            return None
        ids: dict[str, str] = {}
        for article_id in meta.iterfind("article-id"):
            ids.setdefault(article_id.get("pub-id-type", ""), flatten_text(article_id))
        pmcid, pmcid_source = _pmcid(ids.get("pmcid") or ids.get("pmc")), "xml"
        if pmcid is None:
            pmcid, pmcid_source = self._pmcid_from_name(name), "filename"
        if pmcid is None:
            self.reject(path, "no_pmcid")
            return None
        doc_id = f"pmc:{pmcid}"
        article_type = _slug(article.get("article-type") or "")
        if article_type in self.exclude_article_types:
            self.reject(path, f"article_type:{article_type}", doc_id)
            return None
        license_url, spdx, copyright_statement = read_license(meta)
        if self.licenses is not None and not license_allowed(spdx, self.licenses):
            self.reject(path, f"license:{spdx}", doc_id)
            return None
        body = article.find("body")
        if body is None:
            self.reject(path, "no_body", doc_id)
            return None
        abstract, floats = self._main_abstract(meta), []
        if self.keep_captions:  # floats outside the body: in floats-group, or the back matter's display objects
            floats = [f for part in (article.find("floats-group"), article.find("back")) for f in _floats(part)]
        for part in (body, abstract, meta.find("title-group"), *floats):
            if part is not None:
                mark_citations(part)
                mark_formulas(part, self.formulas)
        items: list[tuple[int, str]] = []
        self._walk(body, items, 0)
        items.extend((-1, caption) for element in floats if (caption := self._caption(element)))
        body_text = _join(items)
        if not body_text:
            self.reject(path, "no_body", doc_id)
            return None
        if len(body_text) < self.min_body_chars:
            self.reject(path, "body_too_short", doc_id)
            return None
        title = self._text(meta.find("title-group/article-title"))
        abstract_items: list[tuple[int, str]] = []
        if abstract is not None:
            self._walk(abstract, abstract_items, 0)
        text = "\n\n".join(part for part in (title, _join(abstract_items), body_text) if part)
        pmid = ids.get("pmid", "")
        return make_document(
            text,
            doc_id,
            self.source,
            self.category,
            spdx,
            pmcid=pmcid,
            pmcid_source=pmcid_source,
            pmid=pmid if is_number(pmid) else None,
            doi=ids.get("doi") or None,
            title=title or None,
            journal=flatten_text(meta.getparent().find("journal-meta//journal-title")) or None,
            year=self._year(meta),
            article_type=article.get("article-type") or None,
            license_url=license_url,
            copyright=copyright_statement,
            file=name,
        )

    @staticmethod
    def _pmcid_from_name(name: str) -> str | None:
        """PMCID from a member/file name: "PMC1234567.xml", or a legacy OA name "Journal-Vol-Issue-1234567.nxml"."""
        base = PurePosixPath(name).name
        found = _PMC_NAME.findall(base)
        if found:
            return found[-1]
        legacy = _LEGACY_NAME.match(base)
        return f"PMC{legacy.group(1)}" if legacy else None

    def _text(self, element: etree._Element | None, skip: frozenset[str] = SKIP_TAGS) -> str:
        """Plain text of an element, citation markers and removed inline pieces cleaned away."""
        return clean_text(flatten_text(element, skip), self.author_year_citations)

    def _walk(self, element: etree._Element, items: list[tuple[int, str]], depth: int) -> None:
        """Append (depth, heading) and (-1, paragraph) items of a container, in document order."""
        for child in element:
            name = local_name(child)
            if not name or name in DROPPED_TAGS or name in ("title", "label"):
                continue
            if name in CONTAINER_TAGS:
                if _dropped_section(child):
                    continue
                title = child.find("title") if child.find("title") is not None else child.find("caption/title")
                heading = " ".join(filter(None, (self._text(child.find("label")), self._text(title))))
                if heading:
                    items.append((depth, heading))
                self._walk(child, items, depth + 1)
            elif name == "caption":  # of a box: its title went into the heading, its paragraphs follow
                self._walk(child, items, depth)
            elif name in ("list", "def-list"):
                lines = [self._list_item(item) for item in child if local_name(item) in ("list-item", "def-item")]
                if any(lines):
                    items.append((-1, "\n".join(line for line in lines if line)))
            elif name in FLOAT_TAGS:
                if self.keep_captions and (caption := self._caption(child)):
                    items.append((-1, caption))
            else:  # p, disp-quote, disp-formula, speech, unknown blocks: their prose, then their floats' captions
                text = self._text(child, INLINE_SKIP)
                if text:
                    items.append((-1, text))
                if self.keep_captions:
                    items.extend((-1, c) for f in child.iter(*FLOAT_TAGS) if f is not child and (c := self._caption(f)))

    def _list_item(self, item: etree._Element) -> str:
        label = self._text(item.find("label"))
        text = self._text(item, INLINE_SKIP | {"label"})
        return f"{label or '-'} {text}" if text else ""

    def _caption(self, element: etree._Element) -> str:
        """'Figure 1. Caption text' of a figure or table, "" when it has no caption."""
        caption = self._text(element.find("caption"))
        if not caption:
            return ""
        label = self._text(element.find("label"))
        return f"{label}{'.' if label[-1].isalnum() else ''} {caption}" if label else caption

    @staticmethod
    def _main_abstract(meta: etree._Element) -> etree._Element | None:
        """The abstract without an abstract-type (not a teaser, summary or TOC blurb), else the first one."""
        abstracts = meta.findall("abstract")
        plain = [a for a in abstracts if not a.get("abstract-type")]
        return (plain or abstracts or [None])[0]

    @staticmethod
    def _year(meta: etree._Element) -> int | None:
        """Earliest publication year among the pub-dates (PMC release dates excluded)."""
        dates = [d for d in meta.iterfind("pub-date") if "pmc-release" not in (d.get("pub-type"), d.get("date-type"))]
        years = [int(year) for d in dates if is_number(year := (d.findtext("year") or "").strip())]
        return min(years) if years else None


def _dropped_section(element: etree._Element) -> bool:
    """True for a section on acknowledgements, funding, competing interests, contributions or supplements."""
    kinds = [element.get(key, "") for key in ("sec-type", "notes-type", "content-type", "specific-use")]
    title = flatten_text(element.find("title") if element.find("title") is not None else element.find("caption/title"))
    names = [re.sub(r"[-_]", " ", kind) for kind in "|".join(kinds).split("|") if kind]
    names.append(re.sub(r"^[\dIVX.]+\s+|[\s:.]+$", "", title))
    return any(_DROPPED_TITLE.fullmatch(name.strip().lower()) for name in names if name)


def _floats(element: etree._Element | None) -> Iterator[etree._Element]:
    """Figures and tables under `element`, outside references, notes and dropped sections."""
    for child in element if element is not None else ():
        name = local_name(child)
        if name in FLOAT_TAGS:
            yield child
        elif name in ("fig-group", "table-wrap-group") or name and name not in DROPPED_TAGS:
            if not _dropped_section(child):
                yield from _floats(child)


def _slug(value: str) -> str:
    """Lower-case name with hyphens: "Expression of Concern" -> "expression-of-concern"."""
    return re.sub(r"[\s_]+", "-", value.strip().lower())


def _join(items: list[tuple[int, str]]) -> str:
    """Lay out (depth, heading) / (-1, paragraph) items; headings with nothing under them are dropped."""
    kept: list[tuple[int, str]] = []
    for depth, text in reversed(items):
        if depth >= 0 and (not kept or 0 <= kept[-1][0] <= depth):
            continue
        kept.append((depth, text))
    out = ""
    previous_heading = False
    for depth, text in reversed(kept):
        out += ("\n" if previous_heading else "\n\n" if out else "") + text
        previous_heading = depth >= 0
    return out
