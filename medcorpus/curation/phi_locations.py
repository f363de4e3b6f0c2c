"""Hospitals, wards and other places (tags ``HOSPITAL`` and ``LOCATION``), street addresses and ZIP codes.

Cues: facility words after a name (``Calvert Hospital``, ``Union Memorial``, ``Quartermain Building``), place
prefixes (``St. Agnes``, ``Mount X``, ``University of X``), movement and residence phrases (``transferred from
X``, ``lives in Y``, ``works for Z``), unknown abbreviations after a place preposition (``to GH``), ward names
before a floor number (``to Quartermain 2``), ``City, ST`` pairs, street addresses and ZIP codes. States alone
are not PHI under Safe Harbor and are kept.
"""

from __future__ import annotations

import re

from medcorpus.curation.phi_base import PhiDetectorBase, Span, gated
from medcorpus.curation.phi_words import COMMON, DICT, EPONYM, FUNC, MEDICAL, PROPER, WordFlags, places

_TOKEN = r"[A-Za-z][A-Za-z'\-]*"
_FACILITY = re.compile(
    r"(?<![\w\[])(?:hospital|hosp|hospiatal|medical[ \t]+(?:center|ctr)|med[ \t]+(?:center|ctr)|mc|rehab(?:ilitation)?"
    r"|nursing[ \t]+(?:home|facility|center)|assisted[ \t]+living|house|clinic|health(?:[ \t]*care)?|center|ctr"
    r"|manor|hospice|infirmary|institute|memorial|general|vamc|va|building|bldg|pavilion|tower|campus|village"
    r"|healthcare|sam|samaritan|county|point|place|court|gardens|hills?|heights|park|er|ed|icu|ccu)\b",
    re.I,
)
_PREFIX = re.compile(
    r"(?<![\w\[])(?:(university[ \t]+of|univ\.?[ \t]+of|u[ \t]?of|u|saint|st\.|st(?=[ \t]+\w+'s)|mt\.?|mount|fort"
    r"|ft\.)|new|north|south|east|west|port|lake|glen|upper|lower|middle|holy)[ \t]+(" + _TOKEN + r")",
    re.I,
)
_MOVE = re.compile(
    r"(?:transferr?ed|transfer|trans|tx'?d|txr|admitted|admit|went|go|going|goes|came|come|sent|brought|flighted"
    r"|medflighted|flown|flying|flew|arrived|discharged|dc'?d|returned|return|returning|back|accepted|lives?|living"
    r"|resides?|residing|resident|moved|vacation|vacationing|visiting|works?|working|worked|employed|retired|born"
    r"|raised|grew[ \t]+up|travell?ed|trip|home|house|apartment|apt|stay(?:ing|s)?|driving|drove|called|seen"
    r"|followed|hospitalized|treated|cathed|intubated|taken|evaluated|screened|referred|rehab|transport(?:ed)?)\b"
    r"[^.\n;]{0,30}?\b(?:to|from|at|in|for|by|of|near|into)[ \t]+(?:the[ \t]+)?((?:" + _TOKEN + r"[ \t]*){1,3})",
    re.I,
)
_PREP_ABBREV = re.compile(r"\b(?:to|from|at|in|@|of|via|by)[ \t]+(?:the[ \t]+)?([A-Za-z]{2,5})\b(?![\w/'&-])", re.I)
_WARD = re.compile(
    r"\b(?:to|from|at|in|on)[ \t]+(?:the[ \t]+)?(" + _TOKEN + r")[ \t]*(?:\d{1,2}|[1-9][a-z]?)\b(?![\d.:/%])"
    r"|\b\d{3}[ \t]+(" + _TOKEN + r")\b",
    re.I,
)
_ROOM_WARD = re.compile(r"\b\d{3}[ \t]+()(" + _TOKEN + r")\b")
_CITY_STATE = re.compile(r"((?:" + _TOKEN + r"[ \t]+){0,2}" + _TOKEN + r"),[ \t]*([A-Z]{2})\b(?:[ \t]+(\d{5}))?")
_STREET = re.compile(
    r"(?<![\d/.])\b\d{1,5}[ \t]+(?:[A-Z][A-Za-z'\-]*[ \t]+){1,3}(?i:street|avenue|ave|road|rd|boulevard|blvd"
    r"|lane|ln|drive|way|court|place|terrace|circle|highway|hwy|parkway|pkwy|(?:st|dr)(?=[.,]))\b\.?",
)
_ZIP = re.compile(r"\b(?:zip(?:[ \t]*code)?|zipcode)[ \t]*[:#]?[ \t]*(\d{5}(?:-\d{4})?)\b", re.I)
_WORD_BEFORE = re.compile(r"(" + _TOKEN + r")[ \t]*$")
_FACILITY_GATE = frozenset(
    """hospital hosp hospiatal medical med mc rehab rehabilitation nursing assisted house clinic health healthcare
    center ctr manor hospice infirmary institute memorial general vamc va building bldg pavilion tower campus
    village sam samaritan county point place court gardens hill hills heights park er ed icu ccu""".split()
)
_PREFIX_GATE = frozenset(
    """university univ u saint st mt mount fort ft new north south east west port lake glen upper lower
    middle holy""".split()
)
_MOVE_GATE = frozenset(
    """transferred transfered transfer trans tx txd txr admitted admit went go going goes came come sent brought
    flighted medflighted flown flying flew arrived discharged dc dcd returned return returning back accepted live
    lives living reside resides residing resident moved vacation vacationing visiting work works working worked
    employed retired born raised grew travelled traveled trip home house apartment apt stay staying stays driving
    drove called seen followed hospitalized treated cathed intubated taken evaluated screened referred rehab
    transport transported""".split()
)
_PREP_GATE = frozenset("to from at in of via by on".split())
_COMMA_STATE = re.compile(r",[ \t]*[A-Z]{2}\b")


class LocationDetector(PhiDetectorBase):
    """Hospitals, wards, towns, streets, ZIP codes and companies; spans tagged ``HOSPITAL`` or ``LOCATION``."""

    name = "phi_location"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flag = WordFlags()
        self.states = places()

    def unknown(self, token: str, capital: bool = False) -> bool:
        """A word in no vocabulary (or a proper noun written with a capital), not a function or clinical word."""
        flag = self.flag(token)
        if len(token) < 2 or flag & (FUNC | MEDICAL | EPONYM):
            return False
        return not flag & (COMMON | DICT) or (capital and bool(flag & PROPER) and not flag & COMMON)

    def spans(self, text: str) -> list[Span]:
        from medcorpus.curation.phi_names import note_case

        mixed = note_case(text) == "mixed"
        found: list[Span] = []
        for match in gated(_FACILITY, _FACILITY_GATE, text):
            for token in self._before(text, match.start(), mixed):
                found.append((*token, "HOSPITAL"))
        for match in gated(_PREFIX, _PREFIX_GATE, text):
            token = match.group(2)
            capital = mixed and token[0].isupper() and match.group()[0].isupper()
            strong = match.group(1) is not None
            if (strong or capital) and self.unknown(token, capital):
                found.append((match.start(), match.end(2), "LOCATION"))
        for match in gated(_MOVE, _MOVE_GATE, text):
            for token in re.finditer(_TOKEN, match.group(1)):
                word = token.group()
                if not self.unknown(word, mixed and word[0].isupper()) and word.lower() not in self.states:
                    break
                if word.lower() not in self.states:
                    found.append((match.start(1) + token.start(), match.start(1) + token.end(), "LOCATION"))
        for match in gated(_PREP_ABBREV, _PREP_GATE, text):
            word = match.group(1)
            if (word.isupper() or not mixed) and self.unknown(word) and word.lower() not in self.states:
                found.append((*match.span(1), "HOSPITAL"))
        for match in (*gated(_WARD, _PREP_GATE, text), *_ROOM_WARD.finditer(text)):
            group = 1 if match.group(1) else 2
            word = match.group(group)
            if self.unknown(word, mixed and word[0].isupper()):
                found.append((*match.span(group), "HOSPITAL"))
        for match in (
            _CITY_STATE.search(text, max(0, m.start() - 40), m.end() + 7) for m in _COMMA_STATE.finditer(text)
        ):
            if match and match.group(2).lower() in self.states:
                for token in self._before(text, match.end(1), mixed):
                    found.append((*token, "LOCATION"))
                if match.group(3):
                    found.append((*match.span(3), "LOCATION"))
        found.extend((*m.span(), "LOCATION") for m in _STREET.finditer(text))
        found.extend((*m.span(1), "LOCATION") for m in _ZIP.finditer(text))
        return found

    def _before(self, text: str, end: int, mixed: bool, limit: int = 3) -> list[tuple[int, int]]:
        """Up to `limit` place-name tokens ending just before `end` on the same line."""
        spans: list[tuple[int, int]] = []
        line_start = text.rfind("\n", 0, end) + 1
        while len(spans) < limit:
            match = _WORD_BEFORE.search(text, max(line_start, end - 30), end)
            if not match:
                break
            token = match.group(1)
            capital = mixed and token[0].isupper()
            if not self.unknown(token, capital):
                break
            spans.append(match.span(1))
            end = match.start()
        return spans
