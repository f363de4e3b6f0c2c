"""PubMed/MEDLINE citations (`PubmedArticleSet` XML, plain or gzipped): title and abstract per article.

Files are parsed streaming, one `PubmedArticle` at a time, so a 174 MB baseline file needs
little memory. Text layout: the title, a blank line, then the abstract; a structured abstract
keeps each section label as a heading on its own line ("BACKGROUND:") above its text, with a
blank line between sections. Abstracts stay the publishers' copyright, so the license is
"pubmed-citation" and the `copyright` statement, when given, is kept in the metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter
from lxml import etree

from medcorpus.documents import make_document
from medcorpus.inputs import open_input
from medcorpus.sources.base import SourceReader
from medcorpus.sources.xmlsafe import flatten_text, is_number, iter_elements

# Publication types that are not articles in their own right, or whose content was withdrawn.
DEFAULT_EXCLUDED_PUBLICATION_TYPES = (
    "Published Erratum",
    "Retraction of Publication",
    "Retracted Publication",
    "Expression of Concern",
    "Comment",
)
LICENSE = "pubmed-citation"
_ARTICLE_YEAR = "ArticleDate/Year"
_YEAR = re.compile(r"\b(1[5-9]\d\d|2\d\d\d)\b")


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


def _book_id(element: etree._Element) -> str | None:
    pmid = (element.findtext("BookDocument/PMID") or "").strip()
    return f"pubmed:{pmid}" if is_number(pmid) else None


class PubMedReader(SourceReader):
    """Reads PubMed citation XML into one document per article with an abstract."""

    name = "🧬 PubMed"
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
    ):
        """`languages`: PubMed language codes to keep (None or empty keeps all); an article passes when
        any of its languages is listed. `exclude_publication_types` are matched case-insensitively."""
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit)
        self.min_abstract_chars = min_abstract_chars
        self.languages = frozenset(code.lower() for code in languages or ())
        self.excluded_types = {value.lower(): _slug(value) for value in exclude_publication_types}

    def read_file(self, path: str) -> Iterator[Document]:
        with open_input(path) as stream:
            try:
                for element in iter_elements(stream, ("PubmedArticle", "PubmedBookArticle")):
                    if element.tag == "PubmedBookArticle":  # NCBI Bookshelf records: no journal abstract to take
                        self.reject(path, "book_article", _book_id(element))
                        continue
                    document = self._convert(path, element)
                    if document is not None:
                        yield document
            except etree.XMLSyntaxError:
                self.reject(path, "malformed_xml")

    def _convert(self, path: str, element: etree._Element) -> Document | None:
        """One `PubmedArticle` as a Document, or None after rejecting it."""
        citation = element.find("MedlineCitation")
        pmid_element = citation.find("PMID") if citation is not None else None
        pmid = (pmid_element.text or "").strip() if pmid_element is not None else ""
        article = citation.find("Article") if citation is not None else None
        if not is_number(pmid) or article is None:
            self.reject(path, "malformed_record", f"pubmed:{pmid}" if is_number(pmid) else None)
            return None
        doc_id = f"pubmed:{pmid}"
        publication_types = [_plain(e) for e in article.iterfind("PublicationTypeList/PublicationType")]
        for publication_type in publication_types:
            if publication_type.lower() in self.excluded_types:
                self.reject(path, f"publication_type:{self.excluded_types[publication_type.lower()]}", doc_id)
                return None
        languages = [code for e in article.iterfind("Language") if (code := (e.text or "").strip().lower())]
        if self.languages and not self.languages.intersection(languages):
            self.reject(path, f"language:{languages[0] if languages else 'und'}", doc_id)
            return None
        sections = self._abstract_sections(article)
        if not sections:
            self.reject(path, "no_abstract", doc_id)
            return None
        if sum(len(body) for _, body in sections) < self.min_abstract_chars:
            self.reject(path, "abstract_too_short", doc_id)
            return None
        abstract = "\n\n".join(f"{label}:\n{body}" if label else body for label, body in sections)
        title = flatten_text(article.find("ArticleTitle")) or flatten_text(article.find("VernacularTitle"))
        text = f"{title}\n\n{abstract}" if title else abstract
        version = pmid_element.get("Version", "").strip()
        return make_document(
            text,
            doc_id,
            self.source,
            self.category,
            LICENSE,
            pmid=pmid,
            pmid_version=int(version) if is_number(version) else None,
            title=title or None,
            language=languages[0] if languages else None,
            journal=_text(article.find("Journal/Title")) or _text(article.find("Journal/ISOAbbreviation")),
            year=self._year(article),
            publication_types=publication_types,
            mesh_headings=[_plain(e) for e in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")],
            doi=self._article_id(element, "doi") or _text(article.find("ELocationID[@EIdType='doi']")),
            pmcid=self._pmcid(element),
            copyright=_text(article.find("Abstract/CopyrightInformation")),
        )

    @staticmethod
    def _abstract_sections(article: etree._Element) -> list[tuple[str, str]]:
        """(label, text) of each non-empty AbstractText; label "" when unlabelled."""
        sections = []
        for part in article.iterfind("Abstract/AbstractText"):
            body = flatten_text(part)
            if body:
                label = " ".join((part.get("Label") or "").split()).rstrip(":")
                sections.append(("" if label.upper() == "UNLABELLED" else label, body))
        return sections

    @staticmethod
    def _year(article: etree._Element) -> int | None:
        """Publication year: the journal issue's PubDate (Year or MedlineDate), else the electronic ArticleDate."""
        for path in ("Journal/JournalIssue/PubDate/Year", "Journal/JournalIssue/PubDate/MedlineDate", _ARTICLE_YEAR):
            match = _YEAR.search(article.findtext(path) or "")
            if match:
                return int(match.group(1))
        return None

    @staticmethod
    def _article_id(element: etree._Element, id_type: str) -> str | None:
        """The article's own id of `id_type` (not those of its references)."""
        for article_id in element.iterfind("PubmedData/ArticleIdList/ArticleId"):
            if article_id.get("IdType") == id_type and (value := flatten_text(article_id)):
                return value
        return None

    def _pmcid(self, element: etree._Element) -> str | None:
        value = self._article_id(element, "pmc")
        if not value:
            return None
        digits = value.upper().removeprefix("PMC")
        return f"PMC{digits}" if is_number(digits) else None
