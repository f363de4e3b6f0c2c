"""Text cleaning: mojibake repair, Unicode normalisation, stray markup and whitespace."""

from __future__ import annotations

import html
import re
import unicodedata

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.curation.clean.citation_remnants import remove_citation_remnants
from medcorpus.curation.clean.mojibake import fix_mojibake
from medcorpus.curation.tallied_filter import TalliedFilter
from medcorpus.documents import lacks, map_turns, replace_text, turns_of

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028\u2029\ufeff]")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_TAG = re.compile(r"</?(?:[a-zA-Z][a-zA-Z0-9-]*)(?:\s+[^<>]*?)?/?>")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_SPACE_CHARS = " \t\u00a0\u2000-\u200a\u202f\u205f\u3000"  # runs of these become one space
# A run of those other than a single plain space (the only runs that collapsing changes).
_SPACE_RUNS = re.compile(rf"[{_SPACE_CHARS}](?:(?<=[^ ])|[{_SPACE_CHARS}])[{_SPACE_CHARS}]*")
# Whitespace at the edges of a line ([^\S\n] is what str.strip() strips, but the line break).
_LINE_EDGES = re.compile(r"[^\S\n]+\n[^\S\n]*|\n[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Whitespace other than "\t", "\n" and " " (an entity can bring some back after `_CONTROL`).
_ODD_ASCII_SPACE = "\x0b\x0c\r\x1c\x1d\x1e\x1f"
_ODD_SPACE = re.compile(r"[^\S\t\n ]")
# Printable ASCII but "&", and "\t", "\n": a text of only these is left as is by ftfy, NFC and `_CONTROL`.
_PLAIN_ASCII = bytes(range(0x20, 0x7F)).replace(b"&", b"") + b"\t\n"


def normalise_whitespace(text: str) -> str:
    """Runs of spaces as one space, lines stripped, at most one blank line in a row, the text stripped."""
    if text.isascii():  # is there whitespace other than "\t", "\n" and " "?
        plain = not any(c in text for c in _ODD_ASCII_SPACE)
    else:
        plain = _ODD_SPACE.search(text) is None
    if not plain or "\t" in text or "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    if not plain or " \n" in text or "\n " in text:  # (plain: tabs are spaces by now)
        text = _LINE_EDGES.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


class TextCleaner(TalliedFilter):
    """Repairs and normalises text; counts each rule that changed a document.

    Rules, in order: ftfy mojibake repair, Unicode NFC, control and zero-width characters,
    leftover HTML entities and tags, optional URL and e-mail removal, leftover citation markers
    (see `citation_remnants`), whitespace (runs of spaces, trailing spaces, more than one blank
    line). Documents left empty are excluded with the reason `empty_after_cleaning`.

    An instruction example is cleaned turn by turn (`map_turns`), so its turns and text agree; it is
    excluded when its answer (the last assistant turn) is left empty (`empty_answer_after_cleaning`) or
    every user turn is (`empty_prompt_after_cleaning`). Any other document is cleaned as one text.

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
        self._changed: dict[str, None] | None = None  # rules that changed the instruction example being cleaned

    def _apply(self, rule: str, before: str, after: str) -> str:
        if after != before:
            if self._changed is None:
                self.stat_update(f"changed_{rule}")
            else:
                self._changed[rule] = None
        return after

    def repair(self, text: str) -> str:
        """Mojibake repair (ftfy, with its defaults but for normalisation) and Unicode NFC."""
        text = self._apply("ftfy", text, fix_mojibake(text))
        return text if text.isascii() else self._apply("nfc", text, unicodedata.normalize("NFC", text))

    def clean(self, text: str) -> str:
        """The cleaned form of one text."""
        if not text.isascii() or text.encode("ascii").translate(None, _PLAIN_ASCII):
            text = self.repair(text)
            newlines = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
            text = self._apply("control", text, _CONTROL.sub("", newlines))
        if self.strip_html and "&" in text:
            text = self._apply("html_entity", text, _ENTITY.sub(lambda m: html.unescape(m.group(0)), text))
        if self.strip_html and "<" in text:
            text = self._apply("html_tag", text, _TAG.sub("", text))
        if self.remove_urls:
            text = self._apply("url", text, _URL.sub("", text))
        if self.remove_emails and "@" in text:
            text = self._apply("email", text, _EMAIL.sub("", text))
        if self.citation_remnants:
            after, kinds = remove_citation_remnants(text)
            for kind, count in sorted(kinds.items()):
                self.stat_update(f"citation_{kind}", value=count)
            text = self._apply("citation", text, after)
        return self._apply("whitespace", text, normalise_whitespace(text))

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        turns = turns_of(doc)
        if turns is None:
            replace_text(doc, self.clean(doc.text))
            return (True, None) if doc.text else (False, "empty_after_cleaning")
        self._changed = {}  # a rule that changes several turns counts once
        try:
            turns = turns_of(map_turns(doc, self.clean))
            for rule in self._changed:
                self.stat_update(f"changed_{rule}")
        finally:
            self._changed = None
        no_prompt, no_answer = lacks(turns)
        if no_answer:
            return False, "empty_answer_after_cleaning"
        return (False, "empty_prompt_after_cleaning") if no_prompt else (True, None)
