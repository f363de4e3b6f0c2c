"""PubMed/MEDLINE citations (`PubmedArticleSet` XML, plain or gzipped): title and abstract per article.

Files are cut into records at the byte level and each record is parsed on its own
(`xml/records.py`), so memory stays flat on a 174 MB baseline file and one malformed record is
skipped without losing the rest of the file. Text layout: the title, a blank line, then the
abstract; a structured abstract keeps each section label as a heading on its own line
("BACKGROUND:") above its text, with a blank line between sections. A title NLM translated
into English comes in square brackets, which are removed. Abstracts stay the publishers'
copyright, so the license is "pubmed-citation" and the `copyright` statement is kept.

MEDLINE's `Abstract` is the English abstract; abstracts in other languages, or from other
providers, are `OtherAbstract` elements, kept in the `other_abstracts` metadata. The language
filter applies to the abstract the text is made of; an article without an `Abstract` is
written from its first `OtherAbstract` in a kept language. `article_languages` are the
languages of the full article.

Update files: `DeleteCitation` PMIDs and records of PMIDs seen again are noted in a version
ledger (when the stage gives one, see `updates.py`); a later pass keeps only each PMID's
latest record.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter
from lxml import etree

from medcorpus.documents import make_document
from medcorpus.paths import InputError, open_input
from medcorpus.sources.base import SourceReader
from medcorpus.sources.pubmed.updates import FileEvents, VersionLedger
from medcorpus.sources.xml.records import RecordError, iter_records
from medcorpus.sources.xml.safe import flatten_text, is_number, parse_bytes

# Publication types that are not articles in their own right, or whose content was withdrawn.
DEFAULT_EXCLUDED_PUBLICATION_TYPES = (
    "Published Erratum",
    "Retraction of Publication",
    "Retracted Publication",
    "Expression of Concern",
    "Comment",
)
LICENSE = "pubmed-citation"
GUIDELINE_TYPES = frozenset({"practice guideline", "guideline"})
_ARTICLE_YEAR = "ArticleDate/Year"
_YEAR = re.compile(r"\b(1[5-9]\d\d|2\d\d\d)\b")
_TRANSLATED = re.compile(r"\[(.+)\]([.?!]?)")
RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")


@functools.cache
def _xpath(path: str) -> etree.XPath:
    """An ElementPath child path ("A/B[@c='d']") compiled once as XPath: the same elements, in the same order."""
    return etree.XPath(path)


def _findall(element: etree._Element, path: str) -> list[etree._Element]:
    """`element.findall(path)` at a fraction of the cost (no path parsing, no Python-level iterator chain)."""
    return _xpath(path)(element)


def _find(element: etree._Element, path: str) -> etree._Element | None:
    """`element.find(path)`: the first match, None without one."""
    found = _xpath(path)(element)
    return found[0] if found else None


def _findtext(element: etree._Element, path: str) -> str | None:
    """`element.findtext(path)`: the first match's text ("" when it has none), None without a match."""
    found = _find(element, path)
    return None if found is None else found.text or ""


def _slug(value: str) -> str:
    """'Published Erratum' -> 'published_erratum', for reject reasons and stat names."""
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def _plain(element: etree._Element) -> str:
    """Whitespace-normalised text of a markup-free element (MeSH names, publication types)."""
    return " ".join((element.text or "").split())


def _text(element: etree._Element | None) -> str | None:
    """Flattened text of an optional element, None when absent or empty."""
    if element is None:
        return None
    return flatten_text(element) or None


def _layout(sections: list[tuple[str, str]]) -> str:
    """Abstract sections as text: each label a heading line above its paragraph."""
    return "\n\n".join(f"{label}:\n{body}" if label else body for label, body in sections)


def _title(article: etree._Element) -> str:
    """The article title; a title NLM translated ("[Title in English].") loses its brackets."""
    title = flatten_text(_find(article, "ArticleTitle")) or flatten_text(_find(article, "VernacularTitle"))
    match = _TRANSLATED.fullmatch(title)
    if match is None:
        return title
    depth = 1  # the opening bracket must enclose everything: "[3H]thymidine uptake [in rats]." keeps its own
    for char in match.group(1):
        if char in "[]":
            depth += 1 if char == "[" else -1
            if depth == 0:
                return title
    return match.group(1) + match.group(2)


def _book_id(element: etree._Element) -> str | None:
    pmid = (element.findtext("BookDocument/PMID") or "").strip()
    return f"pubmed:{pmid}" if is_number(pmid) else None


class PubMedReader(SourceReader):
    """Reads PubMed citation XML into one document per article with an abstract."""

    name = "PubMed reader"
    source = "pubmed"
    category = "biomedical"
    suffixes = (".xml", ".xml.gz")

    def __init__(
        self,
        inputs: list[str],
        exclusion_writer: DiskWriter | None = None,
        limit: int = -1,
        min_abstract_chars: int = 200,
        languages: Iterable[str] | None = ("eng",),
        exclude_publication_types: Iterable[str] = DEFAULT_EXCLUDED_PUBLICATION_TYPES,
        max_record_bytes: int = 16 * 2**20,
        apply_updates: bool = True,
        drop_with_pmc_full_text: bool = True,
        pmc_folders: Iterable[str] = (),
        guidelines_only: bool = False,
    ):
        """`languages`: PubMed codes of the abstract languages to keep (None or empty keeps all).
        `exclude_publication_types` are matched case-insensitively. The last three options are
        applied by the stage after reading (`updates.py`): keep only each PMID's latest record
        and honour DeleteCitation; drop abstracts whose full text PMC gives in the same run, or in
        `pmc_folders` (document folders written by `medcorpus sources pmc`). `guidelines_only` keeps
        only Practice Guideline and Guideline citations, as source "guidelines" (site "pubmed",
        ids `guideline:pubmed:<PMID>`), the PubMed part of the guideline corpus."""
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit)
        self.min_abstract_chars = min_abstract_chars
        self.languages = frozenset(code.lower() for code in languages or ())
        self.excluded_types = {value.lower(): _slug(value) for value in exclude_publication_types}
        self.max_record_bytes = max_record_bytes
        self.apply_updates = apply_updates
        self.drop_with_pmc_full_text = drop_with_pmc_full_text
        self.pmc_folders = [str(folder) for folder in pmc_folders]
        for folder in self.pmc_folders:
            if not Path(folder).is_dir():
                raise InputError(f"pmc_folders: folder not found: {folder}")
        self.ledger: VersionLedger | None = None  # set by the stage when updates are applied
        self.guidelines_only = guidelines_only
        if guidelines_only:
            self.source = "guidelines"

    def read_file(self, path: str) -> Iterator[Document]:
        name = os.path.basename(path)
        events = self.ledger.file(name) if self.ledger is not None else None
        try:
            with open_input(path) as stream:
                head = stream.read(4096)
                if b"<PubmedArticleSet" not in head:
                    self.reject(path, "not_pubmed_xml")
                    return
                records = iter_records(stream, RECORD_TAGS, self.max_record_bytes, head)
                for position, record in enumerate(records):
                    document = self._record(path, record, position, events)
                    if document is not None:
                        document.metadata.update(file=name, record=position)
                        yield document
        finally:  # a file cut short still notes the records it gave
            if events is not None:
                events.close()

    def _record(self, path: str, record, position: int, events: FileEvents | None) -> Document | None:
        """The document of one cut-out record, or None (rejected, or not an article)."""
        if isinstance(record, RecordError):
            self.reject(path, record.reason)
            return None
        tag, data = record
        try:
            element = parse_bytes(data)
        except etree.XMLSyntaxError:
            self.reject(path, "malformed_xml")
            return None
        if tag == "DeleteCitation":
            if events is not None:
                events.delete([p for e in element.iterfind("PMID") if is_number(p := (e.text or "").strip())], position)
            return None
        if tag == "PubmedBookArticle":  # NCBI Bookshelf records: no journal abstract to take
            self.reject(path, "book_article", _book_id(element))
            return None
        pmid = (_findtext(element, "MedlineCitation/PMID") or "").strip()
        if events is not None and is_number(pmid):
            events.record(pmid, position)
        return self._convert(path, element, pmid)

    def _convert(self, path: str, element: etree._Element, pmid: str) -> Document | None:
        """One `PubmedArticle` as a Document, or None after rejecting it."""
        citation = _find(element, "MedlineCitation")
        article = _find(citation, "Article") if citation is not None else None
        if not is_number(pmid) or article is None:
            self.reject(path, "malformed_record", f"pubmed:{pmid}" if is_number(pmid) else None)
            return None
        doc_id = f"guideline:pubmed:{pmid}" if self.guidelines_only else f"pubmed:{pmid}"
        publication_types = [_plain(e) for e in _findall(article, "PublicationTypeList/PublicationType")]
        if self.guidelines_only and not GUIDELINE_TYPES.intersection(t.lower() for t in publication_types):
            self.reject(path, "not_a_guideline", doc_id)
            return None
        for publication_type in publication_types:
            if publication_type.lower() in self.excluded_types:
                self.reject(path, f"publication_type:{self.excluded_types[publication_type.lower()]}", doc_id)
                return None
        others = self._other_abstracts(citation)
        sections, language, provider = self._abstract_sections(_find(article, "Abstract")), "eng", "medline"
        if not sections or not self._keeps(language):
            kept = [other for other in others if self._keeps(other["language"])]
            if not kept:
                found = ([language] if sections else []) + [other["language"] for other in others]
                self.reject(path, f"language:{found[0]}" if found else "no_abstract", doc_id)
                return None
            sections, language, provider = kept[0]["sections"], kept[0]["language"], kept[0]["type"] or "other"
        if sum(len(body) for _, body in sections) < self.min_abstract_chars:
            self.reject(path, "abstract_too_short", doc_id)
            return None
        abstract = _layout(sections)
        title = _title(article)
        text = f"{title}\n\n{abstract}" if title else abstract
        version = (_find(citation, "PMID").get("Version") or "").strip()
        ids = _article_ids(element)
        return make_document(
            text,
            doc_id,
            self.source,
            self.category,
            LICENSE,
            **({"site": "pubmed", "audience": "clinicians", "redistributable": False} if self.guidelines_only else {}),
            pmid=pmid,
            pmid_version=int(version) if is_number(version) else None,
            title=title or None,
            language=language,
            abstract_source=provider,
            article_languages=[code for e in _findall(article, "Language") if (code := (e.text or "").strip().lower())],
            journal=_text(_find(article, "Journal/Title")) or _text(_find(article, "Journal/ISOAbbreviation")),
            year=self._year(article),
            publication_types=publication_types,
            mesh_headings=[_plain(e) for e in _findall(citation, "MeshHeadingList/MeshHeading/DescriptorName")],
            doi=ids.get("doi") or _text(_find(article, "ELocationID[@EIdType='doi']")),
            pmcid=_pmcid(ids.get("pmc")),
            copyright=_text(_find(article, "Abstract/CopyrightInformation")),
            other_abstracts=[
                {"language": o["language"], "type": o["type"], "text": _layout(o["sections"])} for o in others
            ],
        )

    def _keeps(self, language: str) -> bool:
        return not self.languages or language in self.languages

    def _other_abstracts(self, citation: etree._Element) -> list[dict]:
        """Each non-empty OtherAbstract: its language code, type (provider) and sections."""
        others = []
        for other in _findall(citation, "OtherAbstract"):
            sections = self._abstract_sections(other)
            if sections:
                language = (other.get("Language") or "und").strip().lower()
                others.append({"language": language, "type": other.get("Type") or None, "sections": sections})
        return others

    @staticmethod
    def _abstract_sections(abstract: etree._Element | None) -> list[tuple[str, str]]:
        """(label, text) of each non-empty AbstractText of an (Other)Abstract; label "" when unlabelled."""
        if abstract is None:
            return []
        sections = []
        for part in _findall(abstract, "AbstractText"):
            body = flatten_text(part)
            if body:
                label = " ".join((part.get("Label") or "").split()).rstrip(":")
                sections.append(("" if label.upper() == "UNLABELLED" else label, body))
        return sections

    @staticmethod
    def _year(article: etree._Element) -> int | None:
        """Publication year: the journal issue's PubDate (Year or MedlineDate), else the electronic ArticleDate."""
        for path in ("Journal/JournalIssue/PubDate/Year", "Journal/JournalIssue/PubDate/MedlineDate", _ARTICLE_YEAR):
            match = _YEAR.search(_findtext(article, path) or "")
            if match:
                return int(match.group(1))
        return None


def _article_ids(element: etree._Element) -> dict[str, str]:
    """The article's own DOI and PMC id (not those of its references): the first non-empty of each type."""
    ids: dict[str, str] = {}
    for article_id in _findall(element, "PubmedData/ArticleIdList/ArticleId"):
        id_type = article_id.get("IdType")
        if id_type in ("doi", "pmc") and id_type not in ids and (value := flatten_text(article_id)):
            ids[id_type] = value
    return ids


def _pmcid(value: str | None) -> str | None:
    """'PMC123' or '123' -> 'PMC123'; None when absent or not a PMC number."""
    if not value:
        return None
    digits = value.upper().removeprefix("PMC")
    return f"PMC{digits}" if is_number(digits) else None
