"""Clinical practice guidelines from local HTML pages and PDF files."""

from __future__ import annotations

import os
from collections.abc import Iterator

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.documents import make_document, url_hash
from medcorpus.inputs import open_input
from medcorpus.sources.base import SourceReader
from medcorpus.sources.guidelines.html import extract_html
from medcorpus.sources.guidelines.pdf import PdfError, extract_pdf


class GuidelineReader(SourceReader):
    """One document per guideline file: main text of an HTML page, or the cleaned text of a PDF.

    A file is read as PDF when it starts with the PDF signature or is named `.pdf`, else as HTML.
    Ids are `guideline:<site>:<hash of url>`, where url is the page's canonical URL when the HTML
    gives one and the file's base name otherwise, so ids do not depend on where the data lives.
    """

    name = "🩺 Guidelines"
    source = "guidelines"
    category = "biomedical"
    suffixes = (".html", ".htm", ".pdf")

    def __init__(
        self,
        inputs: list[str],
        exclusion_writer: DiskWriter | None = None,
        limit: int = -1,
        site: str = "local",
        license: str = "unknown",
        min_chars: int = 300,
        max_pdf_pages: int = 2000,
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit)
        self.site = site
        self.license = license
        self.min_chars = min_chars
        self.max_pdf_pages = max_pdf_pages

    def read_file(self, path: str) -> Iterator[Document]:
        with open_input(path) as handle:
            data = handle.read()
        name = os.path.basename(path.rstrip("/"))
        if data[:1024].lstrip().startswith(b"%PDF-") or name.lower().endswith(".pdf"):
            try:
                pdf = extract_pdf(data, self.max_pdf_pages)
            except PdfError as error:
                self.reject(path, error.reason, doc_id=self._doc_id(name))
                return
            text, title, url, extra = pdf.text, pdf.title, name, {"format": "pdf", "pages": pdf.pages}
        else:
            page = extract_html(data)
            text, title, url, extra = page.text, page.title, page.url or name, {"format": "html"}
        doc_id = self._doc_id(url)
        if not text.strip():
            self.reject(path, "empty_text", doc_id=doc_id)
            return
        if len(text) < self.min_chars:
            self.reject(path, "too_short", doc_id=doc_id)
            return
        yield make_document(
            text,
            doc_id,
            source=self.source,
            category=self.category,
            license=self.license,
            site=self.site,
            url=url,
            title=title,
            **extra,
        )

    def _doc_id(self, url: str) -> str:
        return f"guideline:{self.site}:{url_hash(url)}"
