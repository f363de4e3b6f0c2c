"""Numbers and addresses that identify: phone, fax and pager numbers (``PHONE``), record, account and other id
numbers (``ID``), ages over 89 (``AGE>89``), e-mail addresses, URLs and IP addresses (``CONTACT``)."""

from __future__ import annotations

import re

from medcorpus.curation.phi_base import PhiDetectorBase, Span, gated

_SEP = r"[ \t]*[-./][ \t]*|[ \t]+"
_PHONE = re.compile(
    # (617) 555-0142, 617-555-0142, 617.555.0142, 617 555 0142, 617- 555- 0142, 201/324/1423, 202 2671093
    r"(?<![\d./:-])\(?\(?\d{3}\)?(?:" + _SEP + r")?\d{3}(?:" + _SEP + r")\d{4}(?![\d/.]\d|\d)"
    r"|(?<![\d./:-])\(?[2-9]\d{2}\)?[ \t/-]*[2-9]\d{6}(?!\d)"
    r"|(?<![\d./:-])[2-9]\d{2}/[2-9]\d{2}/\d{4}(?!\d)"
    r"|(?<![\d./:=-])[2-9]\d{2}-\d{4}(?![\d/]|\.\d|[ \t]*(?:cc|ml|mg|units?|kcal|hrs?|cal|mcg|pm|am)\b)"
    r"|(?<![\d./:-])\(?\d{6}-\d{4}\)?(?!\d)",
    re.I,
)
# Numbers after a phone cue: "Pager #12345", "PG 23456", "beeper 4-1234", "x45", "ext. 8356".
_CUED_PHONE = re.compile(
    r"\b(?:pager|pgr|pg|page|beeper|beep|bpr|cell|cellphone|phone|tel|telephone|fax|reached[ \t]+at"
    r"|call(?:ed)?[ \t]+at)\b\.?(?:[ \t]*(?:[#:]+|no\.?|number))*[ \t]*"
    r"(\(?\d[\d \t()./-]{2,14}\d)(?![\d/.]\d)"
    r"|(?:(?<=\d{4}[ \t])x|\bext\.?|\bextension)[ \t]?(\d{2,5}\.?)(?!\d)",
    re.I,
)
_HASH_ID = re.compile(r"#[ \t]*((?=[A-Za-z]{0,3}\d)[A-Za-z0-9-]{4,})")
# "900-1100", "500-1000": fluid and pressure ranges, not 7-digit phone numbers.
_RANGE = re.compile(r"\d{2}0-\d{1,2}(?:00|50)")
_NOT_PHONE_BEFORE = re.compile(
    r"\b(?:svr|sbp|goal|uo|i/o|cc|ml|range|between|neg|pos|even|plt|plts|wbc|cks?)\W*$", re.I
)
_ID = re.compile(
    r"\b(?:mrn|mr#|mr[ \t]+#|medical[ \t]+record(?:[ \t]+(?:number|no\.?|#))?|unit[ \t]+(?:no|number)\.?|acct"
    r"|account(?:[ \t]+(?:number|no\.?))?|ssn|social[ \t]+security(?:[ \t]+(?:number|no\.?|#))?|(?:patient|pt"
    r"|hospital|record|chart|case|claim|policy|member|insurance|license|serial)[ \t]+(?:id|number|no\.?|#)"
    r"|id(?:[ \t]+(?:number|no\.?))?)[ \t]*[:#.]*[ \t]*((?=[A-Za-z]{0,3}\d)[A-Za-z0-9-]{4,})"
    r"|\b(?=[a-z]{0,3}\d)[a-z]{1,3}\d{2,}[a-z]?\d*\b",
    re.I,
)
_ID_DIGITS = re.compile(r"\d(?<![\d.,/:-]\d)(?:\d{2}-\d{2}-\d{4}(?![\d-])|\d{7,}(?![\d.,/]))")
_ID_GATE = frozenset(
    """mrn mr medical unit acct account ssn social patient pt hospital record chart case claim policy member
    insurance license serial id""".split()
)
_AGE = re.compile(
    r"\b(?:9\d|1[01]\d)(?=[ \t]*-?[ \t]*(?:yo|y/o|y\.o\.?|yr|yrs|year|years|y|yof|yom|yowm|yowf|yoh|yr\.?old)\b)"
    r"|(?<=\bage[ \t])(?:9\d|1[01]\d)\b|(?<=\baged[ \t])(?:9\d|1[01]\d)\b|(?<=\bage:[ \t])(?:9\d|1[01]\d)\b"
    r"|\b(?:9\d|1[01]\d)(?=[ \t]*(?:years?|yrs?)[ \t]+(?:old|of[ \t]+age)\b)",
    re.I,
)
_CONTACT = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\b(?:https?://|ftp://|www\.)[^\s<>\"')\]]+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|edu|gov)\b(?:/[^\s<>\"')\]]*)?"
    r"|(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])",
    re.I,
)
_CONTACT_HINT = re.compile(r"www|://|\.(?:com|org|net|edu|gov)\b|\d\.\d{1,3}\.\d{1,3}\.\d", re.I)
# Lab and ventilator strings that look like ids: "ABG 7.34/41/104", drug codes are left to _ID's cue forms.
_LAB_LIKE = re.compile(r"^(?:[a-z]{1,3}\d{2,}[a-z]?\d*)$", re.I)
_LAB_PREFIXES = frozenset(
    "d5 d10 d50 d20 d70 po2 pco2 o2 fio2 spo2 sao2 svo2 hco3 co2 b12 b6 b1 k4 t3 t4 c5 c6 c7 l4 l5 s1 s2 s3 s4 "
    "v1 v2 v3 v4 v5 v6 ns45 g6pd a1c hba1c vo2 h2o etco2 ppd mso4 mgso4 kphos".split()
)


class NumberDetector(PhiDetectorBase):
    """Phone, fax and pager numbers; id numbers; ages over 89; e-mail, URL and IP addresses."""

    name = "phi_number"

    def spans(self, text: str) -> list[Span]:
        found: list[Span] = []
        for match in _PHONE.finditer(text):
            value = match.group()
            if _RANGE.fullmatch(value) or _NOT_PHONE_BEFORE.search(text, max(0, match.start() - 12), match.start()):
                continue
            found.append((*match.span(), "PHONE"))
        for match in _CUED_PHONE.finditer(text):
            group = match.lastindex or 0
            value = match.group(group)
            if sum(c.isdigit() for c in value) >= (2 if group == 2 else 4):
                found.append((*match.span(group), "PHONE"))
        found.extend((*m.span(), "ID") for m in _ID_DIGITS.finditer(text))
        if "#" in text:
            found.extend((*m.span(1), "ID") for m in _HASH_ID.finditer(text))
        for match in gated(_ID, _ID_GATE, text):
            if match.lastindex:
                found.append((*match.span(1), "ID"))
                continue
            value = match.group().lower()
            if _LAB_LIKE.match(value) and (value in _LAB_PREFIXES or len(value) < 5 or value[:2] in _LAB_PREFIXES):
                continue
            found.append((*match.span(), "ID"))
        found.extend((*m.span(), "AGE>89") for m in _AGE.finditer(text))
        if "@" in text or "." in text and _CONTACT_HINT.search(text):
            found.extend((*m.span(), "CONTACT") for m in _CONTACT.finditer(text))
        return found
