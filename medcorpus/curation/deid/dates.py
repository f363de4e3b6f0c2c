"""Dates in every common written form, and years written near dates or clinical events (tag ``DATE``).

Forms: ``3/14/2142``, ``3-14-42``, ``2142-03-14``, ``3/14`` (month/day, not a ratio, score or setting), ranges and
chains (``6/30-7/2``, ``10/15-16``, ``10/03/10/04``, ``on 7-8``), ``March 14``, ``14 Mar 2142``, ``Oct. 20th``,
``the 11th.``, ``in sept.``, years of the 1960s-1990s anywhere (not clock times), other years after a cue
(``since 2006``, ``CVA 2008``, ``1957, 1971``), two-digit years after an apostrophe or a clinical event (``'92``,
``CA'88``, ``MI 92``, ``CVA in 94 and 00``). Only digit runs and month-like words are examined, each once.
"""

from __future__ import annotations

import re

from medcorpus.curation.deid.base import PhiDetectorBase, Span

_MONTH_NAMES = "jan january|feb february|mar march|apr april|may|jun june|jul july|aug august|sep sept september"
_MONTHS = frozenset((_MONTH_NAMES + "|oct october|nov november|dec december").replace("|", " ").split())
_MONTH_ABBREVIATIONS = frozenset(m for m in _MONTHS if len(m) <= 4 and m not in ("june", "july"))
# Candidates: digit runs with their / and - separators, and words that may be month names.
_CAND = re.compile(r"\d+(?:[/-]\d+)*|(?<![A-Za-z])[JFMASONDjfmasond][aepuocAEPUOC][nbrylgptvcNBRYLGPTVC][A-Za-z]*")
_UNIT_WORDS = (
    r"cc|ml|mls|mg|mcg|meq|mmol|units?|u|kcal|cal|mm|cm|kg|g|gm|lbs?|l|%|hrs?|hours?|h|mins?|minutes|secs?|x\b"
    r"|liters?|bpm|beats|breaths|times|ns|strength|assist|normal|of\b|ft|feet|miles|mmhg|cmh2o|fio2|amps?|up\b"
    r"|rate|way|full|tabs?|ratio|scale|score|strength|lpm|nc|lnc|days?|weeks?|wks?|months?|years?|yrs?|puffs?|drops?"
)
_UNIT_AFTER = re.compile(r"[ \t]*(?:" + _UNIT_WORDS + r")\b|'s\b|s\b", re.I)
_CLOCK_AFTER = re.compile(r"[ \t]*(?:" + _UNIT_WORDS + r"|pm|am|p|a)\b", re.I)
# Words right before a slash number that make it a score, a ratio or a setting, not a date ("PS 10/5", "K 3/4").
_NOT_DATE_WORDS = frozenset(
    """ps psv peep cpap bipap simv imv ac vent ipap epap setting settings strength str pain scale bp nbp abp sbp map
    pap pa cvp hr rr ratio grade motor power murmur sounds gcs ett level sat sats o fio tv vt cmh x mg mcg ml cc
    rate cm pressure pressures peak plateau lytes k iabp augmented assisted rales crackles crx cxs up amp d ns
    mode cp angina rated rates score scores""".split()
)
_LINKERS = frozenset("of at to on is was now down up".split())
# Words near a slash number that make it a setting (vent), a score out of 10 (scale) or a measure over its
# maximum (murmurs x/6, strength x/5, pulses and reflexes x/4, GCS x/15).
_VENT_WORDS = frozenset(
    "ps psv peep cpap bipap simv imv ac vent vented ipap epap prvc pcv setting settings mode".split()
)
_SCALE_WORDS = frozenset(
    """pain painful pains scale rates rated rating level score discomfort ache aching headache cp angina severe
    sore hurt hurts hurting out""".split()
)
_MEASURE_WORDS = frozenset(
    """murmur murmurs sem systolic diastolic strength motor pulse pulses dp dps pedal radial reflex reflexes edema
    pupil pupils perrl perrla brisk sluggish react reactive gcs grip mm bilat bilaterally score rales crackles
    lung lungs bases""".split()
)
_ALPHA = re.compile(r"[A-Za-z]+")
_DATE_CUES = frozenset("on since until till thru through dated date from of by before after post pre".split())
_STRONG_CUES = frozenset("post since until till dated".split())
_RANGE_CUES = frozenset("on since until till thru through dated from".split())
_ORDINAL_CUES = frozenset("the on since until till by from thru through before after".split())
_BARE_MONTH_CUES = frozenset("in since of early late mid until till by last next this from during end".split())
_EVENTS = frozenset(
    """cabg mi nqwmi qwmi imi ami nstemi stemi cva tia avr mvr ptca pci stent stents stented pacer ppm aicd icd
    turp ablation resection repair surgery dx diagnosed chf lobectomy colectomy thr tkr chole cath ca cancer
    smoking quit stopped retired married born deployed redo fx fracture""".split()
)
_DISTANCE_WORDS = frozenset("hob ambulated ambulating ambulate walked walking feet ft bed elevated up".split())
_YEAR_CUES = _EVENTS | frozenset("since in of year years until it's its".split())
_DAY = r"(?:3[01]|[12]\d|0?[1-9])"
_ORD = r"(?:st|nd|rd|th)"
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# After a month word: "14", "14th, 2142", "'92", "of 2142".
_AFTER_MONTH = re.compile(
    r"\.?[ \t]*" + _DAY + _ORD + r"?\b(?:,?[ \t]*(?:\d{4}|'\d{2})\b)?"
    r"|\.?,?[ \t]*(?:of[ \t]+)?(?:'?\d{2}|(?:19|20|21)\d{2})\b",
    re.I,
)
_DAY_MONTH = re.compile(
    _DAY + _ORD + r"?(?:[ \t]+of)?[ \t]*-?(?:" + _MONTH_RE + r"\b\.?[ \t]*-?,?[ \t]*(?:\d{4}|'?\d{2}\b)"
    r"|(?!dec|mar|may)" + _MONTH_RE + r"\b\.?)",
    re.I,
)
_ORDINAL = re.compile(_DAY + _ORD + r"\b(?![ \t]*[A-Za-z])", re.I)
_YEAR_AFTER = re.compile(r"(?![\w:/-]|\.\d|,\d)")
_SHORT_AFTER = re.compile(
    r"(?![\w%]|'s|[:/.]\d|[ \t]*(?:x|%|mg|min|mins|cc|ml|years?|yrs?|days?|wks?|weeks?|months?|mos?|hrs?|hours?"
    r"|y|yo)\b)",
    re.I,
)
_YEAR_LIST = re.compile(r"[ \t]*(?:,|and|&)[ \t]*(?:in[ \t]+)?'?$", re.I)
_EVENT_AFTER = re.compile(r"[ \t]+([A-Za-z]+)")


def word_before(text: str, pos: int, skip: str = " \t") -> tuple[str, int]:
    """The lower-case word (letters and apostrophes) ending just before `pos`, past characters in `skip`."""
    j = pos
    while j > 0 and text[j - 1] in skip:
        j -= 1
    k = j
    while k > 0 and (text[k - 1].isalpha() or text[k - 1] == "'"):
        k -= 1
    return text[k:j].lower(), k


def _glued(text: str, start: int) -> bool:
    """True where the run continues a number or a code: ``7.34/``, ``500X12/``, ``140'2/``, ``L4/5``, ``#20``."""
    if start == 0:
        return False
    prev, before = text[start - 1], text[start - 2] if start > 1 else " "
    if prev in "/+#@":
        return True
    if prev in ".':,x" or prev.isalpha():
        return before.isdigit() or (prev.isalpha() and not before.isalpha() and prev not in "xX")
    return False


def _not_before(text: str, start: int, word: str | None = None, pos: int = 0) -> bool:
    """A setting, score or measure word (or ``=``, ``@``, ``/``) right before the number at `start`."""
    j = start
    while j > 0 and text[j - 1] in " \t,(":
        j -= 1
    if j > 0 and text[j - 1] in "=~+/@":
        return True
    if word is None:
        word, pos = word_before(text, start, " \t,(")
    if word in _LINKERS:
        word = word_before(text, pos)[0]
    return word in _NOT_DATE_WORDS


def _words(text: str, start: int, end: int) -> set[str]:
    """Lower-case whole words inside text[start:end] (words cut by the window's edges are left out)."""
    start = max(0, start)
    while 0 < start < end and text[start - 1].isalpha():
        start += 1
    while end > start and end < len(text) and text[end].isalpha():
        end -= 1
    return {w.lower() for w in _ALPHA.findall(text, start, end)}


def _valid(month: str, day: str) -> bool:
    return len(month) <= 2 and len(day) <= 2 and 1 <= int(month) <= 12 and 1 <= int(day) <= 31


class DateDetector(PhiDetectorBase):
    """Dates and years in clinical notes."""

    name = "phi_date"

    def spans(self, text: str) -> list[Span]:
        found: list[Span] = []
        year_end = -10
        for match in _CAND.finditer(text):
            start, end = match.span()
            run = match.group()
            if not run[0].isdigit():
                span = self._month_word(text, start, end, run.lower())
            elif not run.isdigit():
                span = self._run(text, start, end, run)
            else:
                span = self._number(text, start, end, run, year_end)
            if span:
                found.append(span)
                if run.isdigit() and len(run) in (2, 4):
                    year_end = span[1]
        return found

    def _month_word(self, text: str, start: int, end: int, word: str) -> Span | None:
        if word not in _MONTHS:
            return None
        after = _AFTER_MONTH.match(text, end)
        if after:
            return (start, after.end(), "DATE")
        if word in ("may", "mar") or text[end : end + 1].isdigit():
            return None
        if word not in _MONTH_ABBREVIATIONS and (word != "march" or text[start] == "M"):
            return (start, end, "DATE")
        if word_before(text, start)[0] in _BARE_MONTH_CUES:
            return (start, end, "DATE")
        return None

    def _run(self, text: str, start: int, end: int, run: str) -> Span | None:
        """A run of numbers joined by / and -: full dates, month/day, ranges and chains of them."""
        if _glued(text, start) or text[end : end + 1] in ("%", "+"):
            return None
        after = text[end : end + 2]
        if after[:1].isalnum() or after[:1] in "/." and after[1:].isdigit() or after == "/.":
            return None
        if "/" not in run:
            parts = run.split("-")
            if len(parts) == 3 and len(parts[2]) in (2, 4) and _valid(parts[0], parts[1]):
                return (start, end, "DATE")
            if len(parts) == 3 and len(parts[0]) == 4 and parts[0][:2] in ("19", "20", "21"):
                return (start, end, "DATE") if _valid(parts[1], parts[2]) else None
            if (
                len(parts) == 2
                and _valid(*parts)
                and word_before(text, start)[0] in _RANGE_CUES
                and not _CLOCK_AFTER.match(text, end)
            ):
                return (start, end, "DATE")
            return None
        strong, dates = False, []
        for group in run.split("-"):
            nums = group.split("/")
            if len(nums) == 1 and dates and len(dates[-1]) == 2 and int(dates[-1][1]) < int(nums[0]) <= 31:
                continue  # 10/15-16
            if len(nums) == 3 and (len(nums[2]) == 2 or nums[2][:2] in ("19", "20", "21")) and _valid(*nums[:2]):
                strong = True
            elif len(nums) == 4 and _valid(nums[0], nums[1]) and _valid(nums[2], nums[3]):
                dates.append(nums[2:])
            elif len(nums) == 2 and len(nums[1]) in (2, 4) and not _valid(*nums) and _valid(nums[0], "1"):
                if len(nums[1]) == 2 and int(nums[1]) < 40 or _UNIT_AFTER.match(text, end) or _not_before(text, start):
                    return None
                strong = True  # month/year: 4/97, 11/2006
            elif len(nums) != 2 or not _valid(*nums):
                return None
            dates.append(nums[:2])
        if strong:
            return (start, end, "DATE")
        return (start, end, "DATE") if all(self._month_day(text, start, end, m, d) for m, d in dates) else None

    @staticmethod
    def _month_day(text: str, start: int, end: int, month: str, day: str) -> bool:
        """Whether month/day ``3/14`` at start..end reads as a date rather than a fraction, score or setting."""
        m, d = int(month), int(day)
        if _UNIT_AFTER.match(text, end):
            return False
        word, pos = word_before(text, start, " \t,(")
        if m < d <= 4 or m == d <= 5 and word not in _STRONG_CUES:
            return False  # 1/2, 2/3, 3/4, 5/5: fractions and strength scores
        if word in _DATE_CUES:
            return d != 10 or _SCALE_WORDS.isdisjoint(_words(text, end, end + 20))
        if _not_before(text, start, word, pos):
            return False
        before, after = _words(text, start - 40, start), _words(text, end, end + 20)
        if m < d and d in (4, 5, 6, 15) and not _MEASURE_WORDS.isdisjoint(before | after):
            return False
        if d == 10 and not _SCALE_WORDS.isdisjoint(before | after):
            return False
        # "PS/PEEP 10/5", "FiO2 .4/5 PEEP": PEEP rarely goes above 10.
        return d > 10 or _VENT_WORDS.isdisjoint(_words(text, start - 30, start) | _words(text, end, end + 12))

    def _number(self, text: str, start: int, end: int, run: str, year_end: int) -> Span | None:
        """A single number: a year, a two-digit year, a day with an ordinal or a month word."""
        size = len(run)
        if size > 4 or _glued(text, start) and text[start - 1] not in "'x.":
            return None
        prev = text[start - 1] if start else " "
        if size == 4:
            if run[:2] not in ("19", "20") or not _YEAR_AFTER.match(text, end) or _CLOCK_AFTER.match(text, end):
                return None
            if prev in ".:/,-":
                return None
            if "6" <= run[2] <= "9" or prev == "(" or start - year_end < 8 and _YEAR_LIST.search(text, year_end, start):
                return (start, end, "DATE")
            word, pos = word_before(text, start, " \t'.")
            if word == "is" and word_before(text, pos)[0] in ("it", "year"):
                return (start, end, "DATE")
            return (start, end, "DATE") if word in _YEAR_CUES or word in _MONTHS else None
        if size == 2 and _SHORT_AFTER.match(text, end):
            if prev == "'" and not (start > 1 and text[start - 2].isdigit()):
                return (start, end, "DATE")
            if start - year_end < 8 and _YEAR_LIST.search(text, year_end, start):
                return (start, end, "DATE")
            if prev in " \t" and text[start - 2 : start - 1].isalpha() or text[end : end + 1] == "'":
                word, pos = word_before(text, start)
                if word == "in" or re.fullmatch(r"x\d?", word or "-"):
                    word, pos = word_before(text, pos, " \t0123456789")
                    word = "" if word == "x" else word
                if (
                    word in _EVENTS
                    or text[end : end + 1] == "'"
                    and (word in ("in", "since", "of") or int(run) % 5 and word not in _DISTANCE_WORDS)
                ):  # 62', but not "HOB 30'", "walked 40'"
                    return (start, end, "DATE")
            line = text[max(0, start - 3) : start].lstrip(" \t")
            if not line or line[-1] in ".;:,\n":
                event = _EVENT_AFTER.match(text, end)
                if event and event.group(1).lower() in _EVENTS:
                    return (start, end, "DATE")
        if size <= 2 and not prev.isalnum():
            day_month = _DAY_MONTH.match(text, start)
            if day_month:
                return (start, day_month.end(), "DATE")
            ordinal = _ORDINAL.match(text, start)
            if ordinal:
                cue = word_before(text, start)[0]
                if cue in _ORDINAL_CUES and (cue != "the" or int(run) > 3):
                    return (start, ordinal.end(), "DATE")
        return None
