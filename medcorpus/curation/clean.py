"""Text cleaning: mojibake repair, Unicode normalisation, stray markup and whitespace."""

from __future__ import annotations

import html
import re
import unicodedata

import ftfy
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.curation.citation_remnants import remove_citation_remnants

# The only ASCII characters ftfy acts on (controls, escapes, HTML entities): a text without them is left as is.
_FTFY_ASCII = re.compile(r"[\x00-\x08\x0b-\x1f\x7f&]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028\u2029\ufeff]")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_TAG = re.compile(r"</?(?:[a-zA-Z][a-zA-Z0-9-]*)(?:\s+[^<>]*?)?/?>")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class TextCleaner(BaseFilter):
    """Repairs and normalises text; counts each rule that changed a document.

    Rules, in order: ftfy mojibake repair, Unicode NFC, control and zero-width characters,
    leftover HTML entities and tags, optional URL and e-mail removal, leftover citation markers
    (see `citation_remnants`), whitespace (runs of spaces, trailing spaces, more than one blank
    line). Documents left empty are excluded with the reason `empty_after_cleaning`.

    Counts (datatrove stats of this step): `changed_<rule>` is the number of documents a rule
    changed; `citation_<kind>` the number of citation remnants of each kind removed.
    """

    type = "🧹 - CLEAN"
    name = "text cleaner"

    def __init__(
        self,
        remove_urls: bool = False,
        remove_emails: bool = False,
        strip_html: bool = True,
        citation_remnants: bool = True,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.remove_urls = remove_urls
        self.remove_emails = remove_emails
        self.strip_html = strip_html
        self.citation_remnants = citation_remnants

    def _apply(self, rule: str, before: str, after: str) -> str:
        if after != before:
            self.stat_update(f"changed_{rule}")
        return after

    def repair(self, text: str) -> str:
        """Mojibake repair (ftfy, with its defaults but for normalisation) and Unicode NFC."""
        if text.isascii() and not _FTFY_ASCII.search(text):
            return text  # nothing for ftfy or NFC to change: ASCII holds no mojibake (line breaks: `clean`)
        text = self._apply("ftfy", text, ftfy.fix_text(text, normalization=None))
        return self._apply("nfc", text, unicodedata.normalize("NFC", text))

    def clean(self, text: str) -> str:
        """The cleaned form of one text."""
        text = self.repair(text)
        text = self._apply("control", text, _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
        if self.strip_html:
            text = self._apply("html_entity", text, _ENTITY.sub(lambda m: html.unescape(m.group(0)), text))
            text = self._apply("html_tag", text, _TAG.sub("", text))
        if self.remove_urls:
            text = self._apply("url", text, _URL.sub("", text))
        if self.remove_emails:
            text = self._apply("email", text, _EMAIL.sub("", text))
        if self.citation_remnants:
            after, kinds = remove_citation_remnants(text)
            for kind, count in sorted(kinds.items()):
                self.stat_update(f"citation_{kind}", value=count)
            text = self._apply("citation", text, after)
        lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
        return self._apply("whitespace", text, _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip())

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        doc.text = self.clean(doc.text)
        return (True, None) if doc.text else (False, "empty_after_cleaning")
