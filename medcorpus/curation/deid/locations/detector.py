"""Hospitals, wards and other places (tags ``HOSPITAL`` and ``LOCATION``), street addresses and ZIP codes.

One pass over the note's words. Cues: facility words after a name (``Harrowgate Hospital``, ``Pellworth Memorial``,
``Kestrel Valley Heart Center``), name openers (``St. Brannock``, ``Holy X``, ``University of X``, ``U of MD``,
``the Western Reach``), towns of the GeoNames gazetteer (``son in <town>``, ``<town>, MD``), movement and
residence phrases (``transferred to X``, ``lives in Y``, ``works for Z``), short hospital abbreviations with
evidence (``sent to GH``, ``GH cath lab``; then every other ``GH`` of the note), ward names before a floor number
(``to Thornfield 2``), street addresses and ZIP codes. States alone are not PHI under Safe Harbor and are kept;
unknown abbreviations after a preposition are usually clinical shorthand (``to IMV``, ``at 5 mcg``) and are kept.
"""

from __future__ import annotations

from medcorpus.curation.deid.base import PhiDetectorBase, Span, words_of
from medcorpus.curation.deid.locations import places as pp
from medcorpus.curation.deid.locations.rules import (
    _FAC,
    _JOIN,
    _NO,
    _OPEN,
    _OWNED,
    _PREP,
    _STRONG,
    _TOWN,
    _WARD,
    _WEAK,
    _WORK,
    LocationRules,
)
from medcorpus.curation.deid.names.lexicon import note_case
from medcorpus.curation.deid.words import COMMON, DICT, EPONYM, FIRST, FUNC, LAST, MEDICAL, PROPER, WordFlags


class LocationDetector(PhiDetectorBase):
    """Hospitals, wards, towns, regions, streets, ZIP codes and companies; spans tagged ``HOSPITAL``/``LOCATION``."""

    name = "phi_location"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flag = WordFlags()
        self.places = pp.gazetteer()
        self.heads, self.pairs = pp.place_heads()
        self.states = pp.states()
        self.rules = pp.rule_table(self.flag, self.places, self.heads)
        self.multi = frozenset(w for w, size in self.heads.items() if size > 1) | pp.BARE_PLACES | {"the"}
        self._typo: dict[str, bool] = {}

    def typo(self, word: str) -> bool:
        """A word one edit away from a known English or clinical word (``tranplant``, ``speach``)."""
        value = self._typo.get(word)
        if value is None:
            value = self._typo[word] = pp.near_miss(word, self.flag.table, COMMON | DICT | MEDICAL)
        return value

    def spans(self, text: str) -> list[Span]:
        return _Note(self, text, note_case(text) == "mixed").run()


class _Note(LocationRules):
    """The state of one note's scan: its words, their case and the spans found."""

    def __init__(self, detector: LocationDetector, text: str, mixed: bool):
        self.d, self.text, self.mixed = detector, text, mixed
        self.words = words_of(text)
        self.found: list[Span] = []
        self.abbreviations: set[str] = set()
        self.extra = 0

    # -- word helpers -------------------------------------------------------------------------------------------
    def span(self, i: int) -> tuple[int, int]:
        word, start = self.words[i]
        return start, start + len(word)

    def joined(self, i: int) -> bool:
        """Word `i` and word `i + 1` stand next to each other on one line (spaces, a period or a hyphen)."""
        if i + 1 >= len(self.words):
            return False
        end, start = self.span(i)[1], self.words[i + 1][1]
        if start - end == 1:
            return self.text[end] in " \t.-'"
        return _JOIN.fullmatch(self.text, end, start) is not None

    def cap(self, i: int) -> bool:
        return self.mixed and self.text[self.words[i][1]].isupper()

    def kind(self, i: int, facility: bool = False) -> int:
        """How much word `i` looks like part of a place name: `_STRONG`, `_WEAK` (opener, place noun) or `_NO`."""
        word = self.words[i][0]
        if word in pp.PREFIXES or word in pp.PLACE_NOUNS:
            return _WEAK
        if facility and word in pp.NAME_WORDS and (self.cap(i) or not self.mixed):
            return _STRONG
        flag = self.d.flag(word)
        if len(word) < 2 or flag & (FUNC | MEDICAL | EPONYM) or word in pp.GENERIC or word.endswith("cu"):
            return _NO
        if not flag & COMMON and (not flag & DICT or flag & (FIRST | LAST | PROPER) or word in self.d.places):
            return _STRONG if word not in self.d.states or facility else _NO
        if not self.cap(i) or not (facility or word in self.d.places):
            return _NO
        before = self.text[max(0, self.words[i][1] - 4) : self.words[i][1]].rstrip(" \t")
        return _NO if not before or before[-1] in ".:;!?\n" else _STRONG  # a sentence's first word says nothing

    def proper(self, i: int, flag: int) -> bool:
        """All-caps or lower-case note: a gazetteer word that is a proper noun and no dictionary word (``MIAMI``)."""
        return not self.mixed and flag & PROPER and not flag & DICT and self.words[i][0] in self.d.places

    def add(self, first: int, last: int, tag: str) -> None:
        self.found.append((self.words[first][1], self.span(last)[1], tag))

    # -- rules ----------------------------------------------------------------------------------------------------
    def run(self) -> list[Span]:
        words, n, rules, flags, multi = self.words, len(self.words), self.d.rules, self.d.flag, self.d.multi
        for i, (word, _start) in enumerate(words):
            bits = rules.get(word)
            if bits is None:
                continue
            if bits & (_PREP | _WARD) and i + 1 < n:  # most prepositions are followed by ordinary words
                following = words[i + 1][0]
                flag = flags(following)
                if flag & COMMON and following not in multi and not self.cap(i + 1) and not self.proper(i + 1, flag):
                    bits &= ~(_PREP | _WARD)
            if bits & _FAC:
                self.facility(i)
            if bits & _OPEN:
                self.opener(i)
            if bits & _PREP and i + 1 < n and self.joined(i):
                self.after_preposition(i)
            if bits & _WORK and i + 1 < n:
                self.company(i)
            if bits & _WARD and i + 1 < n:
                self.ward(i + 1)
            if bits & _TOWN:
                self.town_anywhere(i)
            if bits & _OWNED and i and self.joined(i - 1):
                self.owner(i - 1)
            self.extra |= bits
        if "," in self.text:
            for match in pp.CITY_STATE.finditer(self.text):
                if match.group(1).lower() in self.d.states:
                    self.before_state(match.start(), bool(match.group(2)))
                    if match.group(2):
                        self.found.append((*match.span(2), "LOCATION"))
        self.found.extend(pp.address_spans(self.text, self.extra, self.d.flag))
        if self.abbreviations:
            self.spread_abbreviations()
        return self.found

    def name_before(self, end: int, facility: bool, limit: int = 3) -> int | None:
        """Index of the first word of a place name whose last word is `end`, or None."""
        first, strong, weak = None, 0, 0
        i = end
        while i >= 0 and end - i < limit + 1:
            if self.words[i][0] == "s" and i > 0 and self.text[self.words[i][1] - 1] == "'":
                i -= 1  # possessive: St. Mary's
            kind = self.kind(i, facility)
            if kind == _NO:
                break
            strong, weak, first = strong + (kind == _STRONG), weak + (kind == _WEAK), i
            if i == 0 or not self.joined(i - 1):
                break
            i -= 1
        if first is None or not (strong or weak > 1):
            return None
        while first < end and self.kind(first, facility) == _WEAK and self.words[first][0] not in pp.PLACE_NOUNS:
            if self.words[first][0] in pp.PREFIXES and (strong or weak > 1):
                break  # keep openers (Holy X, Greater X)
            first += 1
        return first
