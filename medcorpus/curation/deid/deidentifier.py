"""De-identification of clinical notes: MIMIC placeholders normalised, residual PHI found and replaced.

Every replacement uses one tag set:

=============  =================================================================================
tag            replaces
=============  =================================================================================
``[NAME]``     MIMIC-III ``[**Known lastname 12**]``, ``[**First Name8 (NamePattern2) **]``,
               ``[**Last Name (STitle) **]``, ``[**Name (NI) **]``, ``[**Initials (NamePattern4) **]``,
               ``[**Doctor First Name **]``, ``[**Name Prefix (Prefixes) **]``, ``[**Dictator Info **]``;
               residual names after titles (Dr., Mr., Mrs., Ms.), in ``Name:``-style fields, beside
               kinship words (wife, son, ...), before credentials (RN, MD, ...), known first/last names
``[DATE]``     ``[**2118-5-27**]``, ``[**6-25**]``, ``[**9-/2171**]``, ``[**12/2151**]``, ``[**2114**]``,
               ``[**Year (4 digits) **]``, ``[**Month (only) 359**]``, ``[**Month/Year (2) **]``,
               ``[**Date range (1) **]``, ``[**Holiday **]``; residual dates (3/14/2142, 8/28, Oct 20th,
               2016-03-14, 1992, '92)
``[HOSPITAL]`` ``[**Hospital1 18**]``, ``[**Hospital3 **]``, ``[**Hospital Unit Name 10**]``,
               ``[**Wardname **]``, ``[**Hospital Ward Name 7**]``; residual "<X> Hospital/Rehab/House",
               "University of X", "St. X", ward names followed by a floor number
``[LOCATION]`` ``[**Location (un) 109**]``, ``[**Street Address(1) **]``, ``[**State **]``,
               ``[**Country **]``, ``[**Company 12924**]``, ``[**University/College **]``, ``[**PO BOX **]``;
               residual places after "lives in", "from", ...
``[ID]``       ``[**MD Number 2012**]``, ``[**Medical Record Number **]``, ``[**Unit Number **]``,
               ``[**Serial Number **]``, ``[**Social Security Number **]``, ``[**Job Number **]``,
               ``[**Clip Number (Radiology) **]``, ``[**Numeric Identifier **]``; residual MRN/ID numbers
``[PHONE]``    ``[**Telephone/Fax (1) 534**]``, ``[**Pager number **]``; residual phone/fax/pager numbers
``[AGE>89]``   ``[**Age over 90 **]``; residual ages 90-119 ("92 yo", "age 95")
``[CONTACT]``  ``[**E-mail address **]``, ``[**URL **]``, ``[**CC Contact Info **]``; residual e-mails, URLs
``[PHI]``      MIMIC-IV / MIMIC-CXR untyped ``___``, and any ``[** ... **]`` of an unknown kind
=============  =================================================================================

Runs of four or more underscores (MIMIC-CXR addendum separators) are left alone.
Every replaced span is recorded in ``metadata["phi_spans"]`` as ``[start, end, tag]`` in the *input* text's
character offsets (end exclusive), so a reader can audit what was removed. No text is ever logged: only
counts per tag. An instruction example is de-identified turn by turn (``map_turns``: no span crosses two
turns, and its turns and text agree); its spans are still offsets in its input text, the turns joined.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from medcorpus.curation.deid.learned.model import DEFAULT_THRESHOLD, shipped
from medcorpus.curation.deid.spans import PLACEHOLDER, UNTYPED, Span, merge_spans
from medcorpus.curation.deid.surrogates import Surrogates
from medcorpus.documents import TURN_SEPARATOR, map_turns

if TYPE_CHECKING:
    from medcorpus.curation.deid.detector import PhiDetector

_DATE_DIGITS = re.compile(r"\d{1,4}(?:\s*[-/]\s*\d{0,4}){0,2}")
# Keyword rules applied in order to the lower-cased placeholder text; the first match wins.
_KIND_RULES: tuple[tuple[str, str], ...] = (
    (r"age\s*(?:over|>)|over\s*(?:89|90)", "AGE>89"),
    (r"e-?mail|url|contact info|web", "CONTACT"),
    (r"telephone|phone|fax|pager|beeper", "PHONE"),
    (r"hospital|ward|unit name|clinic", "HOSPITAL"),
    (r"year|month|date|day|holiday|season|week", "DATE"),
    (r"location|address|street|state|country|city|zip|po box|company|university|college", "LOCATION"),
    (r"number|serial|record|\bid\b|identifier|ssn|account|provider|job|clip", "ID"),
    (r"name|initial|prefix|dictator|attending|doctor|known", "NAME"),
)
_KIND_PATTERNS = tuple((re.compile(pattern), tag) for pattern, tag in _KIND_RULES)


def placeholder_tag(content: str) -> str:
    """The tag (without brackets) for the inside of one MIMIC-III ``[** ... **]`` placeholder."""
    inner = content.strip()
    if _DATE_DIGITS.fullmatch(inner):
        return "DATE"
    lowered = inner.lower()
    for pattern, tag in _KIND_PATTERNS:
        if pattern.search(lowered):
            return tag
    return "PHI"


def placeholder_spans(text: str) -> list[Span]:
    """`(start, end, tag)` of every ``[** ... **]`` placeholder and untyped ``___`` in `text`."""
    spans = [(*m.span(), placeholder_tag(m.group(1))) for m in PLACEHOLDER.finditer(text)]
    spans.extend((*m.span(), "PHI") for m in UNTYPED.finditer(text))
    return sorted(spans)


def replace_spans(
    text: str, spans: list[Span], surrogate: Callable[[str, str], str] | None = None
) -> tuple[str, Counter]:
    """Replace non-overlapping sorted `(start, end, tag)` spans by ``[tag]`` (or by `surrogate(original, tag)`);
    return the text and counts per tag."""
    counts: Counter = Counter()
    pieces, last = [], 0
    for start, end, tag in spans:
        pieces.append(text[last:start])
        pieces.append(surrogate(text[start:end], tag) if surrogate else f"[{tag}]")
        counts[tag] += 1
        last = end
    pieces.append(text[last:])
    return "".join(pieces), counts


def normalise_placeholders(text: str) -> tuple[str, Counter]:
    """Replace ``[** ... **]`` and untyped ``___`` placeholders by tags; return the text and counts per tag."""
    return replace_spans(text, placeholder_spans(text))


class Deidentifier(PipelineStep):
    """Normalise MIMIC placeholders and replace residual PHI in documents of the given categories.

    Documents of other categories pass through untouched. Counts per tag go to the step's stats
    (``deid_<TAG>``) and to ``metadata["deid"]`` as ``{tag: count}``; the replaced spans, in the input
    text's offsets, to ``metadata["phi_spans"]`` as ``[[start, end, tag], ...]``. `replace` is ``tags``
    (``[NAME]``, ...) or ``surrogates``: consistent realistic stand-ins drawn with `seed` (see `surrogates`).
    `learned` adds the shipped name/place classifier to the rule detectors; a candidate word is PHI when its
    probability reaches `threshold` (lower: more recall, less precision; see `medcorpus eval deid --curve`).
    The detectors (scrubadub, with nltk and scipy: about 1.5 CPU-seconds to import) are imported when the step
    is built, before the executor forks its workers, unless `preload` is off (a run with no source of the
    given categories: they are then imported only if a worker meets such a document).
    """

    name = "de-identifier"
    type = "🩺 - DEID"

    def __init__(
        self,
        categories: tuple[str, ...] | list[str] = ("clinical",),
        scrub_residual: bool = True,
        replace: str = "tags",
        seed: int = 0,
        learned: bool = True,
        threshold: float = DEFAULT_THRESHOLD,
        preload: bool = True,
    ):
        super().__init__()
        if replace not in ("tags", "surrogates"):
            raise ValueError(f"deid replace must be 'tags' or 'surrogates', not {replace!r}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"deid threshold must be in (0, 1], got {threshold}")
        self.learned = learned
        self.threshold = threshold
        self.categories = tuple(categories)
        self.scrub_residual = scrub_residual
        self.replace = replace
        self.seed = seed
        self._detector: PhiDetector | None = None
        if preload:
            import medcorpus.curation.deid.detector  # noqa: F401

    @property
    def detector(self) -> PhiDetector:
        if self._detector is None:
            from medcorpus.curation.deid.detector import PhiDetector

            self._detector = PhiDetector(classifier=shipped(self.threshold) if self.learned else None)
        return self._detector

    def phi_spans(self, text: str) -> list[Span]:
        """Sorted, non-overlapping `(start, end, tag)` spans to replace: placeholders, then residual PHI."""
        spans = placeholder_spans(text)
        if self.scrub_residual:
            spans = merge_spans(spans + self.detector.find(text))
        return spans

    def deidentify(self, text: str) -> tuple[str, Counter]:
        """The de-identified text and the number of replacements per tag."""
        return replace_spans(text, self.phi_spans(text))

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for document in data:
            if document.metadata.get("category") not in self.categories:
                self.stat_update("deid_skipped")
                yield document
                continue
            with self.track_time():
                surrogate = Surrogates(self.seed, str(document.id)) if self.replace == "surrogates" else None
                spans, counts = self._replace(document, surrogate)
            self.stat_update("deid_documents")
            for tag, count in sorted(counts.items()):
                self.stat_update(f"deid_{tag}", value=count)
            document.metadata["deid"] = dict(sorted(counts.items()))
            document.metadata["phi_spans"] = [[start, end, tag] for start, end, tag in spans]
            yield document

    def _replace(self, document: Document, surrogate: Surrogates | None) -> tuple[list[Span], Counter]:
        """Replace the PHI of each turn (or of the text) in place; the spans in input-text offsets, counts per tag.
        One `surrogate` serves every turn, so a value keeps its stand-in across turns."""
        spans: list[Span] = []
        counts: Counter = Counter()
        offset = 0  # of the turn in the input text: the non-empty turns joined by TURN_SEPARATOR

        def change(text: str) -> str:
            nonlocal offset
            found = self.phi_spans(text)
            spans.extend((offset + start, offset + end, tag) for start, end, tag in found)
            offset += len(text) + len(TURN_SEPARATOR) if text else 0
            text, replaced = replace_spans(text, found, surrogate)
            counts.update(replaced)
            return text

        map_turns(document, change)
        return spans, counts
