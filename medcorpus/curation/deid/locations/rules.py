"""The place rules of `LocationDetector`, as a mixin of its per-note state (`detector._Note`).

Each method looks at the words around one cue word of the note (a facility word, a name opener, a place
preposition, a ward, a town, a company cue, a state after a comma) and adds `(start, end, tag)` spans.
"""

from __future__ import annotations

import re

from medcorpus.curation.deid.locations import places as pp
from medcorpus.curation.deid.names.lexicon import TERM_ENDING
from medcorpus.curation.deid.words import COMMON, DICT, EPONYM, FIRST, FUNC, LAST, MEDICAL, PROPER

_NO, _WEAK, _STRONG = 0, 1, 2
_JOIN = re.compile(r"[ \t]{1,3}|\.[ \t]{0,2}|-|'")
_FLOOR = re.compile(r"[ \t]*-?[ \t]*(?:1\d|[1-9])[a-zA-Z]?(?:/[1-9])?(?![\w:/%-]|\.\d)")
_SENTENCE = re.compile(r"(?:^|[.:;!?\n])[ \t\"'(]*$")
_WARD_GAP = re.compile(r"[ \t]*:?[ \t]*(?:\d{3}[ \t]+)?")
_FAC, _OPEN, _PREP, _WARD, _TOWN, _STREET_WORD, _ZIPWORD, _WORK, _OWNED = pp.RULE_BITS


class LocationRules:
    """Rule methods over a note's words; the host class provides words, text, flags and `add`."""

    def facility(self, i: int) -> None:
        """``X [Y] hospital``: the name before a facility word (and the facility word when it is part of the name)."""
        j = i
        while j > 0 and self.joined(j - 1) and self.words[j - 1][0] in pp.FACILITY | pp.GENERIC - {"the", "a", "an"}:
            j -= 1
            if self.words[j][0] in pp.NAMED_FACILITY:
                break
        if j == 0 or not self.joined(j - 1):
            return
        chain = sum(w in pp.FACILITY for w, _ in self.words[j : i + 1])
        strong = self.words[i][0] not in pp.WEAK_FACILITY or chain > 1
        first = self.name_before(j - 1, facility=strong)
        if first is None:
            self.bare_facility(i, j, chain)
            return
        if not strong and not any(
            self.d.flag(w) or not self.d.typo(w) or pp.near_place(w, clipped=False) for w, _ in self.words[first:j]
        ):
            return
        last = j if self.words[j][0] in pp.NAMED_FACILITY else j - 1
        self.add(first, last, "HOSPITAL")
        k = i + 1  # "X rehab or Y": the second name of a pair
        if k + 1 < len(self.words) and self.words[k][0] in ("or", "and") and self.kind(k + 1) == _STRONG:
            if self.d.flag(self.words[k + 1][0]) & (FIRST | LAST | PROPER) or not self.d.flag(self.words[k + 1][0]):
                self.add(k + 1, k + 1, "HOSPITAL")

    def bare_facility(self, i: int, j: int, chain: int) -> None:
        """``to Memorial``, ``General Hospital``, ``MD Hospital``, ``North Campus``: a name of common words."""
        word, prev = self.words[j][0], self.words[j - 1][0]
        capital = self.cap(j) or not self.mixed
        if word in pp.NAMED_FACILITY and capital and prev in ("to", "at", "from", "in"):
            if chain > 1 or word == "memorial":
                self.add(j, j, "HOSPITAL")
            return
        if not self.cap(j) or word not in pp.CAP_FACILITY or i != j:
            return
        first = j
        while first > 0 and j - first < 2 and self.joined(first - 1) and self.cap(first - 1):
            prior = self.words[first - 1][0]
            state = prior in self.d.states or prior in pp.STATE_ABBREVIATIONS
            if not state and (self.d.flag(prior) & (FUNC | MEDICAL | EPONYM) or prior in pp.GENERIC):
                break
            first -= 1
        start = self.words[first][1]
        if first < j and not _SENTENCE.search(self.text, max(0, start - 6), start):
            self.add(first, j - 1, "HOSPITAL")

    def opener(self, i: int) -> None:
        """``University of X``, ``U of MD``, ``St. X``, ``Mount X``, ``Holy X``, ``the Western Reach``."""
        word, n = self.words[i][0], len(self.words)
        if i + 2 < n and word in ("university", "univ", "u") and self.words[i + 1][0] == "of" and self.joined(i):
            state = self.words[i + 2][0]
            if state in self.d.states or state in pp.STATE_ABBREVIATIONS or self.kind(i + 2, True) == _STRONG:
                self.add(i, i + 2, "HOSPITAL")
            return
        if i + 1 < n and word in ("university", "univ", "u") and self.joined(i) and (self.cap(i) or not self.mixed):
            state = self.words[i + 1][0]
            if (state in self.d.states and len(state) > 2) or state in pp.STATE_ABBREVIATIONS - {"md", "va", "ga"}:
                self.add(i, i + 1, "HOSPITAL")
        if word in ("university", "univ", "u") or i + 1 >= n or not self.joined(i):
            return
        after = self.text[self.span(i)[1]]
        if word == "st" and after != "." and not (self.cap(i) and self.cap(i + 1)):
            return
        nxt = self.words[i + 1][0]
        kind = self.kind(i + 1, True)
        if word in ("saint", "st", "mount", "mt", "fort", "ft") and len(nxt) > 2 and self.kind(i + 1) == _STRONG:
            if not self.d.flag(nxt) & (MEDICAL | FUNC | COMMON):
                self.add(i, i + 1, "HOSPITAL")
        elif nxt in pp.PLACE_NOUNS or (kind == _STRONG and nxt in self.d.places):
            if (word, nxt) != ("new", "york") and f"{word} {nxt}" not in self.d.states:
                self.add(i, i + 1, "LOCATION")

    def town_at(self, i: int, cued: bool, named: bool = True) -> int | None:
        """Last word index of a pp.gazetteer town starting at word `i`, or None."""
        word, places, n = self.words[i][0], self.d.places, len(self.words)
        longest = self.d.heads.get(word, 0)
        if longest > 1 and i + 1 < n and self.joined(i) and f"{word} {self.words[i + 1][0]}" in self.d.pairs:
            for last in range(min(i + longest, i + 4, n) - 1, i, -1):
                if all(self.joined(k) for k in range(i + 1, last)):
                    name = " ".join(w for w, _ in self.words[i : last + 1])
                    if name in places and name not in self.d.states:
                        return last
        if word not in places or word in self.d.states:
            return None
        flag = self.d.flag(word)
        if flag & (FUNC | MEDICAL | EPONYM) or (flag & COMMON and not self.cap(i) and not self.proper(i, flag)):
            return None
        if len(word) < 4:
            return None
        if flag & (FIRST | LAST) and not named:
            return None
        if flag & COMMON and i + 1 < len(self.words) and self.joined(i) and not self.cap(i + 1):
            if self.d.flag(self.words[i + 1][0]) & COMMON and not self.d.flag(self.words[i + 1][0]) & FUNC:
                return None  # "in Green chart"
        if not cued and (flag & (COMMON | DICT | FIRST | LAST) or len(word) < 5):
            return None
        return i

    def after_preposition(self, i: int) -> None:
        """Towns after ``in``/``from``/``of``; hospitals and short hospital abbreviations after movement words."""
        prep, j, n = self.words[i][0], i + 1, len(self.words)
        if self.words[j][0] == "the" and j + 1 < n and self.joined(j):
            j += 1
        before = {w for w, _ in self.words[max(0, i - 4) : i]}
        moved = bool(before & pp.MOVES) and prep in ("to", "from", "at", "by")
        home = bool(before & (pp.HOMES | pp.KIN)) and prep in ("in", "from", "of", "near", "at")
        near = prep in ("in", "from", "near", "outside")
        capital = self.cap(j) and not self.d.flag(self.words[j][0]) & COMMON
        last = self.town_at(j, True, near) if near or moved or home or capital else None
        if last is not None:
            while last + 1 < n and self.joined(last) and self.words[last + 1][0] in pp.PLACE_NOUNS:
                last += 1
            self.add(j, last, "LOCATION")
            return
        word, start = self.words[j]
        token = self.text[start : start + len(word)]
        flag = self.d.flag(word)
        if flag & (FUNC | MEDICAL | EPONYM) or word in self.d.states or word in pp.countries():
            return
        following = self.words[j + 1][0] if j + 1 < n and self.joined(j) else ""
        if not flag and (near or home) and j == i + 1 and (self.cap(j) or not self.mixed) and pp.near_place(word):
            self.add(j, j, "LOCATION")  # "in Ashc", "from Ashcomb": a clipped or misspelt town
            return
        short = len(word) < 4 and not flag and prep in ("to", "at", "from") and j == i + 1
        if token.isupper() or not self.mixed or short:
            if 2 <= len(word) <= 6 and not flag & (COMMON | DICT) and word not in pp.PREFIXES:
                oriented = prep == "in" and self.words[i - 1][0] in ("is", "am", "m", "are")  # "knows she is in X"
                evidence = moved or following in pp.AFTER_HOSPITAL or prep in ("to", "at", "from", "leave") or oriented
                if pp.hospital_shape(token) and evidence:
                    self.abbreviations.add(token if self.mixed else word)
                    self.add(j, j, "HOSPITAL")
                    return
        if word in pp.BARE_PLACES and j == i + 1 and (self.cap(j) or not self.mixed) and prep in ("to", "from", "at"):
            self.add(j, j, "HOSPITAL")  # "went to Harbor": a place noun with no article names a place
            return
        if word == "the" or len(word) < 3 or not (moved or home and j == i + 1):
            return
        kind = self.kind(j)
        short = len(word) < 5 and (token.isupper() or not self.mixed)
        if kind == _STRONG and not flag & COMMON and (self.cap(j) or not self.mixed) and not short:
            if not flag and self.d.typo(word):
                return
            last = j
            while last + 1 < n and last - j < 2 and self.joined(last) and self.kind(last + 1) == _STRONG:
                last += 1
            self.add(j, last, "LOCATION" if home else "HOSPITAL")

    def owner(self, i: int) -> None:
        """``GH attorneys``, ``UMH staff``: a hospital-shaped abbreviation in no vocabulary before a hospital's noun."""
        word, start = self.words[i]
        token = self.text[start : start + len(word)]
        if (token.isupper() or not self.mixed) and len(word) < 5 and pp.hospital_shape(token) and not self.d.flag(word):
            self.abbreviations.add(token if self.mixed else word)
            self.add(i, i, "HOSPITAL")

    def company(self, i: int) -> None:
        """``works for Kell Health``, ``employed by X``, ``his business X``: up to three words of a company name."""
        j, n = i + 1, len(self.words)
        if self.words[j][0] in ("for", "at", "by", "from", "with") and self.joined(i) and j + 1 < n:
            j += 1
        elif self.words[i][0] not in ("business", "company", "employer"):
            return
        last = j - 1
        while last + 1 < n and last - j < 2 and (last < j or self.joined(last)):
            word = self.words[last + 1][0]
            if len(word) < 2 or self.d.flag(word) & (FUNC | MEDICAL) or word in pp.GENERIC:
                break
            last += 1
        kinds = [self.kind(k, True) == _STRONG or self.cap(k) or not self.mixed for k in range(j, last + 1)]
        if any(kinds) and any(
            self.kind(k, True) == _STRONG or self.words[k][0] in pp.FACILITY for k in range(j, last + 1)
        ):
            self.add(j, last, "LOCATION")

    def ward(self, i: int) -> None:
        """``to Thornfield 2``, ``Thornfield7``, ``209 Thornfield``: a ward name in no vocabulary before a floor."""
        word, start = self.words[i]
        end = start + len(word)
        if not _WARD_GAP.fullmatch(self.text, self.span(i - 1)[1], start) or word.endswith("cu"):
            return
        if len(word) < 4 or self.d.flag(word) & (COMMON | FUNC | MEDICAL | EPONYM) or word in self.d.states:
            return
        moved = self.words[i - 1][0] == "to" and any(w in pp.MOVES for w, _ in self.words[max(0, i - 4) : i])
        token = self.text[start:end]
        shouted = ":" in self.text[self.span(i - 1)[1] : start] and token.isupper() and not TERM_ENDING.search(word)
        unknown = not self.d.flag(word) and (moved or (shouted and len(word) > 5))  # "plan: THORNFIELD 2"
        if self.mixed and not (token[0].isupper() and token[1:].islower()) and not unknown:
            return
        if word.endswith("x") and self.text[end : end + 1].isdigit():
            return  # "orientedx3"
        if _FLOOR.match(self.text, end) or (
            (self.mixed or moved) and re.search(r"\b\d{3}[ \t]+$", self.text[max(0, start - 6) : start])
        ):
            self.add(i, i, "HOSPITAL")

    def town_anywhere(self, i: int) -> None:
        """Gazetteer names of several words (``Glen X``) or before a state name (``<town> maryland``)."""
        last = self.town_at(i, cued=False)
        if last is None and self.joined(i) and self.words[i + 1][0] in self.d.states and len(self.words[i + 1][0]) > 2:
            last = self.town_at(i, cued=True)
        if last is not None:
            self.add(i, last, "LOCATION")

    def before_state(self, comma: int, zipcode: bool) -> None:
        """``<Town>, MD``: up to three name words before ``, ST``."""
        k = next((k for k in range(len(self.words) - 1, -1, -1) if self.span(k)[1] <= comma), None)
        if k is None or self.text[self.span(k)[1] : comma].strip():
            return
        first = self.name_before(k, facility=True)
        if first is None or (self.mixed and not self.cap(first)):
            return
        if zipcode or " ".join(w for w, _ in self.words[first : k + 1]) in self.d.places or self.town_at(k, True):
            self.add(first, k, "LOCATION")

    def spread_abbreviations(self) -> None:
        """Every other occurrence, in this note, of a hospital abbreviation found with evidence."""
        for i, (word, start) in enumerate(self.words):
            token = self.text[start : start + len(word)]
            if (token if self.mixed else word) in self.abbreviations:
                self.add(i, i, "HOSPITAL")
