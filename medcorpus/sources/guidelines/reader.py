"""Clinical practice guidelines from a crawler's raw store, or from local HTML pages and PDF files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.documents import make_document, url_hash
from medcorpus.paths import open_input
from medcorpus.sources.base import SourceReader
from medcorpus.sources.guidelines.adapters.base import DEFAULT_REMOVED_SECTIONS
from medcorpus.sources.guidelines.crawl.store import INDEX_NAME, RawStore, StoreError, read_crawl_info
from medcorpus.sources.guidelines.html import extract_html
from medcorpus.sources.guidelines.pdf.extract import TABLE_MODES, PdfError
from medcorpus.sources.guidelines.pdf.worker import extract_pdf_bounded
from medcorpus.sources.guidelines.sections import remove_sections
from medcorpus.sources.pmc.license import license_allowed, option_names

PUBLISHER_KEYS = ("publisher", "audience", "redistributable")


def is_pdf(data: bytes) -> bool:
    """Whether bytes start (after whitespace) with the PDF signature."""
    return data[:1024].lstrip().startswith(b"%PDF-")


def extractor_for(data: bytes, content_type: str, extractor: str = "auto") -> str | None:
    """The extractor ("pdf" or "html") for a stored response: the PDF signature first, then the adapter's
    extractor, then the content type; None for a response that is neither (an image, a Word file)."""
    if is_pdf(data):
        return "pdf"
    if extractor in ("html", "pdf"):
        return extractor
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/pdf":
        return "pdf"
    if not kind or kind in ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml"):
        return "html"
    return None


class GuidelineReader(SourceReader):
    """One document per guideline: the main text of an HTML page, or the cleaned text of a PDF.

    Inputs are raw stores written by `medcorpus sources guidelines crawl` (a folder holding `index.jsonl`,
    or that file itself), or local HTML/PDF files. A raw store gives one document per URL whose latest
    `document` fetch has status 200 (or 304 with the stored body); site, publisher, audience, license,
    redistributability, extractor and removed sections come from its `crawl.json`. A local file is read
    as PDF when it starts with the PDF signature or is named `.pdf`, else as HTML, with the `site` and
    `license` options.

    Ids are `guideline:<site>:<hash of url>`: the fetched URL for stored responses; for local files the
    page's canonical URL when the HTML gives one and the file's base name otherwise.

    Options: `redistributable_only` drops documents of publishers that do not allow redistribution (and
    local files, whose publisher is unknown) as `not_redistributable`; `licenses` keeps only these license
    ids or families ("CC-BY" admits "CC-BY-4.0"), others rejected as `license:<id>`; `removed_sections`
    names the section headings removed (None: the adapter's list, or the default one for local files;
    [] removes nothing); `pdf_tables` "drop" or "keep"; PDFs are parsed in a child process bounded by
    `pdf_timeout_s` seconds and `pdf_memory_mb` MB more address space (0 and 0: in-process).
    """

    name = "guideline reader"
    source = "guidelines"
    category = "biomedical"
    suffixes = (".html", ".htm", ".pdf", INDEX_NAME)

    def __init__(
        self,
        inputs: list[str],
        exclusion_writer: DiskWriter | None = None,
        limit: int = -1,
        site: str = "local",
        license: str = "unknown",
        min_chars: int = 300,
        max_pdf_pages: int = 2000,
        redistributable_only: bool = False,
        licenses: Iterable[str] | str | None = None,
        removed_sections: Iterable[str] | str | None = None,
        pdf_tables: str = "drop",
        pdf_timeout_s: float = 60.0,
        pdf_memory_mb: int = 2048,
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit)
        if pdf_tables not in TABLE_MODES:
            raise ValueError(f"pdf_tables: expected one of {', '.join(TABLE_MODES)}, got {pdf_tables!r}")
        if pdf_timeout_s < 0 or pdf_memory_mb < 0:
            raise ValueError("pdf_timeout_s and pdf_memory_mb must be 0 (no limit) or more")
        self.site = site
        self.license = license
        self.min_chars = min_chars
        self.max_pdf_pages = max_pdf_pages
        self.redistributable_only = redistributable_only
        self.licenses = None if licenses is None else option_names(licenses, "licenses", required=True)
        self.removed_sections = None if removed_sections is None else option_names(removed_sections, "removed_sections")
        self.pdf_tables = pdf_tables
        self.pdf_timeout_s = pdf_timeout_s
        self.pdf_memory_mb = pdf_memory_mb

    def read_file(self, path: str) -> Iterator[Document]:
        if os.path.basename(path.rstrip("/")) == INDEX_NAME:
            yield from self.read_store(path)
            return
        name = os.path.basename(path.rstrip("/"))
        publisher = {"site": self.site, "license": self.license}
        if not self._admitted(path, publisher, self._doc_id(self.site, name)):
            return
        with open_input(path) as handle:
            data = handle.read()
        kind = "pdf" if is_pdf(data) or name.lower().endswith(".pdf") else "html"
        sections = DEFAULT_REMOVED_SECTIONS if self.removed_sections is None else self.removed_sections
        yield from self._document(path, data, kind, name, publisher, sections, local=True)

    def read_store(self, index_path: str) -> Iterator[Document]:
        """The documents of a raw store, given the path of its index.jsonl."""
        folder = os.path.dirname(index_path)
        store, info = RawStore(folder), read_crawl_info(folder)
        adapter = info.get("metadata") if isinstance(info.get("metadata"), dict) else {}
        publisher = {
            "site": adapter.get("site") or info.get("site") or self.site,
            "license": adapter.get("license") or self.license,
        }
        publisher.update({key: adapter[key] for key in PUBLISHER_KEYS if adapter.get(key) is not None})
        sections = self.removed_sections
        if sections is None:
            sections = tuple(info.get("removed_sections") or DEFAULT_REMOVED_SECTIONS)
        extractor = str(info.get("extractor") or "auto")
        for entry in store.entries(role="document"):
            doc_id = self._doc_id(publisher["site"], entry.url)
            if entry.status not in (200, 304):
                self.reject(index_path, f"http_status:{entry.status}", doc_id)
                continue
            if not self._admitted(index_path, publisher, doc_id):
                continue
            try:
                data = store.body(entry)
            except StoreError:
                self.reject(index_path, "raw_body_unreadable", doc_id)
                continue
            kind = extractor_for(data, entry.content_type, extractor)
            if kind is None:
                self.reject(index_path, "unsupported_content_type", doc_id)
                continue
            fetched = {"url": entry.url, "fetched_at": entry.fetched_at, "raw_sha256": entry.sha256}
            if entry.final_url and entry.final_url != entry.url:
                fetched["final_url"] = entry.final_url
            fetched["content_type"] = entry.content_type
            yield from self._document(index_path, data, kind, entry.url, publisher | fetched, sections, local=False)

    def _admitted(self, path: str, publisher: dict, doc_id: str) -> bool:
        """Apply the publisher filters (redistribution, license); reject and return False when one fails."""
        if self.redistributable_only and publisher.get("redistributable") is not True:
            self.reject(path, "not_redistributable", doc_id)
            return False
        if self.licenses is not None and not license_allowed(publisher["license"], self.licenses):
            self.reject(path, f"license:{publisher['license']}", doc_id)
            return False
        return True

    def _document(
        self, path: str, data: bytes, kind: str, url: str, meta: dict, sections: Iterable[str], local: bool
    ) -> Iterator[Document]:
        """Extract one HTML page or PDF, remove unwanted sections, and yield it unless empty or too short."""
        site = meta["site"]
        extra: dict[str, object] = {}
        if kind == "pdf":
            try:
                pdf = extract_pdf_bounded(
                    data, self.max_pdf_pages, self.pdf_tables, self.pdf_timeout_s, self.pdf_memory_mb
                )
            except PdfError as error:
                self.reject(path, error.reason, self._doc_id(site, url))
                return
            text, title = pdf.text, pdf.title
            extra = {"format": "pdf", "pages": pdf.pages, "tables": pdf.tables}
        else:
            page = extract_html(data)
            text, title, extra = page.text, page.title, {"format": "html"}
            if local:
                url = page.url or url
            elif page.url and page.url != url:
                extra["canonical_url"] = page.url
        doc_id = self._doc_id(site, url)
        text, removed = remove_sections(text, sections)
        if not text.strip():
            self.reject(path, "empty_text", doc_id)
            return
        if len(text) < self.min_chars:
            self.reject(path, "too_short", doc_id)
            return
        fields = meta | {"url": url, "title": title} | extra | {"sections_removed": len(removed)}
        license = fields.pop("license")
        yield make_document(text, doc_id, source=self.source, category=self.category, license=license, **fields)

    @staticmethod
    def _doc_id(site: str, url: str) -> str:
        return f"guideline:{site}:{url_hash(url)}"
