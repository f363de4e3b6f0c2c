"""Residual PHI detection: one scrubadub `Scrubber` over this project's clinical detectors.

Detectors (each a `scrubadub.detectors.Detector`): `NameDetector` (names), `LocationDetector` (hospitals,
places, addresses), `DateDetector` (dates, years), `NumberDetector` (phones, ids, ages over 89, e-mail, URLs,
IP addresses). Spans are `(start, end, tag)` in the text's own offsets, end exclusive, merged where they overlap
or touch. Words found as names or places are then redacted wherever else they occur in the note. Placeholders
(``[** **]``, ``___``) and ``[TAG]`` tags are left to placeholder normalisation. Never logs text.
"""

from __future__ import annotations

import re

import scrubadub

from medcorpus.curation.deid.base import PhiDetectorBase
from medcorpus.curation.deid.dates import DateDetector
from medcorpus.curation.deid.learned.model import WordClassifier
from medcorpus.curation.deid.locations.detector import LocationDetector
from medcorpus.curation.deid.names.detector import NameDetector
from medcorpus.curation.deid.numbers import NumberDetector
from medcorpus.curation.deid.spans import TAGS, Span, merge_spans, protected_spans
from medcorpus.curation.deid.words import COMMON, DICT, EPONYM, FUNC, MEDICAL, WordFlags

__all__ = ["TAGS", "PhiDetector"]

_ALPHA = re.compile(r"[A-Za-z][A-Za-z']*[A-Za-z]")
_SPREAD_TAGS = ("NAME", "HOSPITAL", "LOCATION")


class PhiDetector:
    """Finds residual PHI spans in clinical text with the project's scrubadub detectors."""

    def __init__(self, detectors: list[PhiDetectorBase] | None = None, classifier: WordClassifier | None = None):
        self.classifier = classifier
        self.detectors = detectors or [NameDetector(), LocationDetector(), DateDetector(), NumberDetector()]
        self.scrubber = scrubadub.Scrubber(detector_list=self.detectors, post_processor_list=[])
        self.flag = WordFlags()

    def rule_spans(self, text: str) -> list[Span]:
        """The rule detectors' spans, outside placeholders and tags (unsorted, may overlap)."""
        found: list[Span] = []
        for detector in self.detectors:
            found.extend(detector.spans(text))
        protected = protected_spans(text)
        if protected:
            found = [s for s in found if not any(s[0] < e and b < s[1] for b, e in protected)]
        return found

    def find(self, text: str) -> list[Span]:
        """Non-overlapping, sorted `(start, end, tag)` spans of residual PHI in `text`."""
        found = self.rule_spans(text)
        if self.classifier is not None:
            found.extend(self.classifier.spans(text))
        found.extend(self._spread(text, found))
        return merge_spans(found)

    def _spread(self, text: str, spans: list[Span]) -> list[Span]:
        """Other occurrences, in the same note, of distinctive words already found as names or places."""
        words: dict[str, str] = {}
        for start, end, tag in spans:
            if tag in _SPREAD_TAGS:
                for match in _ALPHA.finditer(text, start, end):
                    word = match.group().lower().removesuffix("'s")
                    flag = self.flag(word)
                    if len(word) > 2 and not flag & (COMMON | FUNC | MEDICAL | EPONYM | DICT):
                        words.setdefault(word, tag)
        if not words:
            return []
        spread = []
        for match in _ALPHA.finditer(text):  # one scan, no per-note pattern to compile
            word = match.group().lower().removesuffix("'s")
            tag = words.get(word)
            if tag is not None:
                spread.append((match.start(), match.start() + len(word), tag))
        return spread

    def iter_filth(self, text: str):
        """The scrubadub view of the same detection: merged `Filth` objects from the detectors' scrubber."""
        return self.scrubber.iter_filth(text, run_post_processors=False)
