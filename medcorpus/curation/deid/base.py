"""Shared pieces of the PHI detectors: one scrubadub `Filth` class per tag (`spans.py`), and a detector base.

Every detector of `medcorpus.curation` is a `scrubadub.detectors.Detector`; its spans are `PhiFilth`
objects whose ``type`` is one of `TAGS`. A detector may also expose `spans(text)`, the plain
`(start, end, tag)` tuples, which the combined `PhiDetector` uses to skip building Filth objects.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator

from scrubadub.detectors import Detector
from scrubadub.filth import Filth

from medcorpus.curation.deid.spans import TAGS, Span


class PhiFilth(Filth):
    """A span of PHI; ``type`` is the tag (``NAME``, ``DATE``, ...) and its replacement is ``[TAG]``."""

    type = "PHI"

    def replace_with(self, replace_with: str = "placeholder", **kwargs) -> str:  # noqa: ARG002
        return f"[{self.type}]"


FILTH_CLASSES: dict[str, type[PhiFilth]] = {
    tag: type(f"{tag.title().replace('>', 'Over')}PhiFilth", (PhiFilth,), {"type": tag}) for tag in TAGS
}


class PhiDetectorBase(Detector, ABC):
    """A scrubadub detector whose subclasses implement `spans(text)`; `iter_filth` wraps them as `PhiFilth`."""

    name = "phi"

    @abstractmethod
    def spans(self, text: str) -> list[Span]:
        """`(start, end, tag)` spans found in `text` (any order, may overlap)."""

    def iter_filth(self, text: str, document_name: str | None = None) -> Iterator[Filth]:
        for start, end, tag in self.spans(text):
            if end > start:
                yield FILTH_CLASSES[tag](
                    beg=start,
                    end=end,
                    text=text[start:end],
                    detector_name=self.name,
                    document_name=document_name,
                    locale=self.locale,
                )


_WORD_START = re.compile(r"[A-Za-z]+")
_last_words: list = [None, []]


def words_of(text: str) -> list[tuple[str, int]]:
    """(lower-case word, start) of every run of letters in `text`; the last note's list is reused."""
    if _last_words[0] is not text:
        _last_words[0] = text
        _last_words[1] = [(m.group().lower(), m.start()) for m in _WORD_START.finditer(text)]
    return _last_words[1]


def gated(pattern: re.Pattern, gate: frozenset[str], text: str) -> Iterator[re.Match]:
    """Matches of `pattern` anchored at the words of `text` that are in `gate` (its possible first words).

    One scan for words plus a set lookup each is far cheaper than letting a long case-insensitive
    alternation try every position of the text."""
    for word, start in words_of(text):
        if word in gate:
            match = pattern.match(text, start)
            if match:
                yield match
