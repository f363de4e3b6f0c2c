"""PubMed Central full text: JATS 1.x / NLM Archiving 2.x `.nxml` files and OA bulk `.tar.gz` packages.

Archives are streamed (`tarfile` mode "r|gz") and never extracted: only regular-file members
ending in .nxml or .xml (newer OA bulk packages name them PMCxxxxxxx.xml) are read, each at most
`max_member_bytes`; links, devices and names that climb out of the archive are rejected.

Text layout: title, blank line, abstract, blank line, then the body in document order. Each
section heading ("label title") stands on its own line directly above its first paragraph;
paragraphs and sections are separated by blank lines; list items become "- item" lines. Figure
and table captions are kept, as "Figure 1. Caption." paragraphs where the float appears (floats
kept outside the body, in `floats-group` or back matter, follow the body); table cells,
graphics, display formulas, supplementary files, references, acknowledgements and footnotes
are dropped. The license is normalised to an SPDX-like id (`normalize_license`).
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
from medcorpus.inputs import open_input
from medcorpus.sources.base import SourceReader
from medcorpus.sources.xmlsafe import SKIP_TAGS, XLINK_HREF, flatten_text, is_number, local_name, parse_bytes

ALI_LICENSE_REF = "{http://www.niso.org/schemas/ali/1.0/}license_ref"
FLOAT_TAGS = ("fig", "table-wrap")
# Never prose, or not the article's own text.
DROPPED_TAGS = frozenset(
    {"disp-formula", "supplementary-material", "table", "alternatives", "preformat", "ref-list", "fn-group",
     "fn", "ack", "glossary", "sec-meta", "array", "chem-struct-wrap", "fig-group", "table-wrap-group"}
) | SKIP_TAGS  # fmt: skip
INLINE_SKIP = SKIP_TAGS | {"fig", "table-wrap", "disp-formula", "supplementary-material", "fn", "table"}
CONTAINER_TAGS = frozenset({"sec", "boxed-text", "statement", "app", "body", "abstract"})
_CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z][a-z-]*)/(\d\.\d)(?:/([a-z]{2,3})\b)?", re.I)
_CC_TEXT = re.compile(r"creative\s+commons\s+attribution(.{0,80}?)(?:\blicen[cs]e\b|[;()]|\.\s|\.?$)", re.I | re.S)
_CC_SHORT = re.compile(r"\bCC[ -]BY((?:[ -](?:NC|ND|SA))*)(?:[ -](\d\.\d))?\b")
_CC_TERMS = (("NC", r"non-?\s?commercial"), ("ND", r"no-?\s?deriv"), ("SA", r"share-?\s?alike"))
_LEGACY_NAME = re.compile(r"^.+-[^-]+-[^-]+-(\d{3,9})\.nxml$")
_PMC_NAME = re.compile(r"\b(PMC\d+)\b")


def normalize_license(urls: Iterable[str], texts: Iterable[str], license_type: str = "") -> str:
    """SPDX-like id ("CC-BY-4.0", "CC-BY-NC-2.0-UK", "CC0-1.0", "PDM-1.0", "CC-BY" when no version is
    given) from license URLs first, then license/copyright wording; "unknown" when nothing matches."""
    texts = [text for text in texts if text]
    for url in [*urls, *texts]:
        match = _CC_URL.search(url or "")
        if match:
            kind, name, version, port = match.group(1).lower(), match.group(2).lower(), match.group(3), match.group(4)
            if kind == "publicdomain":
                return {"zero": "CC0-", "mark": "PDM-"}.get(name, "CC-PD-") + version
            return f"CC-{name.upper()}-{version}" + (f"-{port.upper()}" if port else "")
    for text in texts:
        if re.search(r"\bCC0\b|creative\s+commons\s+zero|public\s+domain\s+dedication", text, re.I):
            return "CC0-1.0"
        match = _CC_SHORT.search(text)
        if match:
            return "CC-BY" + match.group(1).upper().replace(" ", "-") + (f"-{match.group(2)}" if match.group(2) else "")
        match = _CC_TEXT.search(text)
        if match:
            terms, version = match.group(1), re.search(r"\b(\d\.\d)\b", match.group(1))
            parts = [code for code, word in _CC_TERMS if re.search(word, terms, re.I)]
            return "-".join(["CC-BY", *parts]) + (f"-{version.group(1)}" if version else "")
    return "public-domain" if license_type.lower() == "public-domain" else "unknown"


def _pmcid(value: str | None) -> str | None:
    digits = (value or "").strip().upper().removeprefix("PMC")
    return f"PMC{digits}" if is_number(digits) else None


class PMCReader(SourceReader):
    """Reads PMC articles (JATS / NLM XML) into one document per article with a body."""

    name = "📚 PMC"
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
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit)
        self.min_body_chars = min_body_chars
        self.max_member_bytes = max_member_bytes
        self.keep_captions = keep_captions

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
        body = article.find("body")
        if body is None:
            self.reject(path, "no_body", doc_id)
            return None
        items: list[tuple[int, str]] = []
        self._walk(body, items, 0)
        if self.keep_captions:
            for outside in (article.find("floats-group"), article.find("back")):
                if outside is not None:
                    items.extend((-1, c) for f in outside.iter(*FLOAT_TAGS) if (c := self._caption(f)))
        body_text = _join(items)
        if not body_text:
            self.reject(path, "no_body", doc_id)
            return None
        if len(body_text) < self.min_body_chars:
            self.reject(path, "body_too_short", doc_id)
            return None
        title = flatten_text(meta.find("title-group/article-title"))
        abstract_items: list[tuple[int, str]] = []
        abstract = self._main_abstract(meta)
        if abstract is not None:
            self._walk(abstract, abstract_items, 0)
        text = "\n\n".join(part for part in (title, _join(abstract_items), body_text) if part)
        license_url, spdx, copyright_statement = self._license(meta)
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

    def _walk(self, element: etree._Element, items: list[tuple[int, str]], depth: int) -> None:
        """Append (depth, heading) and (-1, paragraph) items of a container, in document order."""
        for child in element:
            name = local_name(child)
            if not name or name in DROPPED_TAGS or name in ("title", "label"):
                continue
            if name in CONTAINER_TAGS:
                title = child.find("title") if child.find("title") is not None else child.find("caption/title")
                heading = " ".join(filter(None, (flatten_text(child.find("label")), flatten_text(title))))
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
            else:  # p, disp-quote, speech, verse-group, unknown blocks: their prose, then their floats' captions
                text = flatten_text(child, INLINE_SKIP)
                if text:
                    items.append((-1, text))
                if self.keep_captions:
                    items.extend((-1, c) for f in child.iter(*FLOAT_TAGS) if f is not child and (c := self._caption(f)))

    @staticmethod
    def _list_item(item: etree._Element) -> str:
        label = flatten_text(item.find("label"))
        text = flatten_text(item, INLINE_SKIP | {"label"})
        return f"{label or '-'} {text}" if text else ""

    @staticmethod
    def _caption(element: etree._Element) -> str:
        """'Figure 1. Caption text' of a figure or table, "" when it has no caption."""
        caption = flatten_text(element.find("caption"))
        if not caption:
            return ""
        label = flatten_text(element.find("label"))
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

    @staticmethod
    def _license(meta: etree._Element) -> tuple[str | None, str, str | None]:
        """(license URL, normalised license id, copyright statement) from the article's permissions."""
        licenses = meta.findall("permissions/license") + meta.findall("license")
        urls = [lic.get(XLINK_HREF, "") for lic in licenses]
        urls += [flatten_text(ref) for lic in licenses for ref in lic.iter(ALI_LICENSE_REF)]
        urls += [link.get(XLINK_HREF, "") for lic in licenses for link in lic.iter("ext-link", "uri")]
        urls = [url.strip() for url in urls if url and url.strip()]
        statement = meta.find("permissions/copyright-statement")
        copyright_statement = flatten_text(statement if statement is not None else meta.find("copyright-statement"))
        texts = [flatten_text(lic) for lic in licenses] + [copyright_statement]
        license_type = next((lic.get("license-type", "") for lic in licenses if lic.get("license-type")), "")
        spdx = normalize_license(urls, texts, license_type)
        return (urls[0] if urls else None), spdx, copyright_statement or None


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
