"""Dates in every common written form, and years written near dates or clinical events (tag ``DATE``).

Forms: ``3/14/2142``, ``3-14-42``, ``2142-03-14``, ``3/14`` (month/day, not a ratio or score), ``March 14``,
``14 Mar 2142``, ``Oct. 20th``, ``the 3rd``, weekday-free month names with a year, years of the 1960s-1990s
anywhere (not clock times), other years after a cue (``since 2006``, ``CVA 2008``, ``, 1989``), two-digit
years after an apostrophe or a clinical event (``'92``, ``MI 92``, ``CABG x3 '95``).
"""

from __future__ import annotations

import re

from medcorpus.curation.phi_base import PhiDetectorBase, Span

MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DAY = r"(?:3[01]|[12]\d|0?[1-9])"
_MON = r"(?:1[0-2]|0?[1-9])"
_ORD = r"(?:st|nd|rd|th)"
# Measurement words and units after a number: then it is not a date or a year.
_UNITS = (
    r"(?![ \t]*(?:cc|ml|mls|mg|mcg|meq|mmol|units?|u|kcal|cal|mm|cm|kg|g|gm|lbs?|l|%|hrs?|hours?|h|mins?|minutes"
    r"|secs?|x\b|liters?|pm|am|bpm|beats|breaths|times|ns|strength|assist|normal|of\b|ft|feet|miles|mmhg|cmh2o|fio2)\b)"
)
# Words right before a slash number that make it a score, a ratio or a ventilator setting, not a date.
_NOT_DATE_BEFORE = re.compile(
    r"(?:\b(?:ps|psv|peep|cpap|bipap|simv|imv|ac|a/c|vent|ipap|epap|settings?|strength|str|pain|scale|bp|nbp|abp"
    r"|sbp|map|pap|pa|cvp|hr|rr|ratio|grade|motor|power|murmur|sounds|gcs|ett|level|sats?|o2|fio2|tv|vt|cmh2o"
    r"|x|@|mg|mcg|ml|cc|rate|cm|pressure|pressures|peak|plateau|lytes|k|mg|iabp|augmented|assisted)"
    r")(?:[ \t]+(?:of|at|to|on|is|was|now|down|up|@))?[ \t,]*$|[=~+][ \t]*$",
    re.I,
)
_DATE_UNITS = _UNITS.replace("|pm|am", "")
_MONTH_YEAR = re.compile(r"(?<![\d/.+])(?<!\d-)(?:1[0-2]|0?[1-9])/(?:[4-9]\d|19\d\d|20\d\d)(?![\w/%]|\.\d)")
_SCALE_BEFORE = re.compile(r"pain|scale|rat(?:es|ed|ing)|level|score|discomfort|ache|out of", re.I)
_SLASH_DATE = re.compile(
    r"(?<![\d/.+])(?<!\d-)("
    + _MON
    + r")/("
    + _DAY
    + r")(?:/((?:19|20|21)\d{2}|\d{2}))?(?![\w/%]|\.\d|\+\d)"
    + _DATE_UNITS,
    re.I,
)
_DASH_DATE = re.compile(r"(?<![\w/.-])" + _MON + r"-" + _DAY + r"-(?:\d{4}|\d{2})(?![\w/-]|\.\d)")
_ISO_DATE = re.compile(r"(?<![\w/.-])(?:19|20|21)\d{2}-(?:1[0-2]|0?[1-9])-" + _DAY + r"(?!\d)")
_WORD_DATE = re.compile(
    r"\b(?:(?:" + MONTH + r")\.?[ \t]*" + _DAY + _ORD + r"?\b(?:,?[ \t]*(?:\d{4}|'\d{2}))?"
    r"|" + _DAY + _ORD + r"?(?:[ \t]+of)?[ \t]*-?(?:(?:" + MONTH + r")\b\.?[ \t]*-?,?[ \t]*(?:\d{4}|'?\d{2}\b)"
    r"|(?!dec|mar|may)(?:" + MONTH + r")\b\.?)"
    r"|(?:" + MONTH + r")\.?,?[ \t]*(?:of[ \t]+)?(?:'?\d{2}|(?:19|20|21)\d{2})\b"
    r")",
    re.I,
)
# Years that cannot be clock times (minutes 60-99), away from units.
_FREE_YEAR = re.compile(r"(?<![\w.:/,-])(?:19|20)[6-9]\d(?![\w:/-]|\.\d|,\d)" + _UNITS, re.I)
_YEAR = r"(?:19|20)\d{2}"
_EVENT = (
    r"cabg(?:[ \t]*x[ \t]*\d)?|mi|nqwmi|qwmi|imi|ami|nstemi|stemi|cva|tia|avr|mvr|ptca|pci|stent(?:s|ed)?|pacer"
    r"|ppm|aicd|icd|turp|ablation|resection|repair|surgery|dx|dx'd|diagnosed|chf|lobectomy|colectomy|thr|tkr"
    r"|chole|cath|ca|cancer|smoking|quit|stopped|retired|married|born|deployed"
)
_CUE = _EVENT + r"|since|in|of|year|years|until"
_CUED_YEAR = re.compile(
    r"(?:\b(?:"
    + _CUE
    + r")|\b(?:19|20)\d\d,|\(|\b(?:"
    + MONTH
    + r")\.?)[ \t]*(?:in[ \t]+|of[ \t]+)?'?("
    + _YEAR
    + r")\b"
    r"(?![:/-]\d|\.\d)" + _UNITS,
    re.I,
)
_NOT_DURATION = r"(?![:/.%]\d|[ \t]*(?:x|%|mg|min|mins|cc|ml|years?|yrs?|days?|wks?|weeks?|months?|mos?|hrs?|hours?)\b)"
_SHORT_YEAR = re.compile(
    r"(?<![\w'])'(\d{2})\b(?![:/.]\d)|(?<![\w.'/:])(\d{2})'(?![\w])"
    r"|\b(?:" + _EVENT + r")[ \t]*(?:in[ \t]+)?(?:\d{1,2}/)?(\d{2})\b" + _NOT_DURATION + r""
    r"|(?:^|[.;:,][ \t]*)(\d{2})[ \t]+(?=(?:" + _EVENT + r")\b)",
    re.I | re.M,
)
_YEAR_OF_SPEECH = re.compile(r"\b(?:it'?s|is|year)[ \t]+(?:the[ \t]+year[ \t]+)?(" + _YEAR + r")\b", re.I)


class DateDetector(PhiDetectorBase):
    """Dates and years in clinical notes."""

    name = "phi_date"

    def spans(self, text: str) -> list[Span]:
        found: list[Span] = []
        for match in _SLASH_DATE.finditer(text):
            if _NOT_DATE_BEFORE.search(text, max(0, match.start() - 16), match.start()):
                continue
            if match.group(2) == "10" and _SCALE_BEFORE.search(text, max(0, match.start() - 40), match.start()):
                continue
            if match.group(3) is None and match.group(1) == match.group(2) and match.group(1) in "12345":
                continue  # 2/2, 5/5: scores
            found.append((*match.span(), "DATE"))
        for pattern in (_DASH_DATE, _ISO_DATE, _WORD_DATE, _FREE_YEAR, _MONTH_YEAR):
            found.extend((*m.span(), "DATE") for m in pattern.finditer(text))
        for pattern in (_CUED_YEAR, _YEAR_OF_SPEECH):
            found.extend((*m.span(1), "DATE") for m in pattern.finditer(text))
        for match in _SHORT_YEAR.finditer(text):
            group = match.lastindex or 0
            if group:
                found.append((*match.span(group), "DATE"))
        return found
