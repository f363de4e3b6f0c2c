"""Numbers and addresses that identify: phone, fax and pager numbers (``PHONE``), record, account and other id
numbers (``ID``), ages over 89 (``AGE>89``), e-mail addresses, URLs and IP addresses (``CONTACT``).

Every form but e-mail and URLs holds a digit, so the detector visits each run of digits once and tries only
the forms that can start there; the cue words (``pager``, ``MRN``, ``age``) are read back from the run."""

from __future__ import annotations

import re

from medcorpus.curation.deid.base import PhiDetectorBase, Span
from medcorpus.curation.deid.dates import word_before

_DIGITS = re.compile(r"\d+")
_SEP = r"[ \t]*[-./][ \t]*|[ \t]+"
_PHONE = re.compile(
    # (617) 555-0142, 617-555-0142, 617.555.0142, 617 555 0142, 617- 555- 0142, 201/324/1423, 202 2671093
    r"(?<![\d./:])(?<!\d-)\(?\(?\d{3}\)?(?:" + _SEP + r")?\d{3}(?:" + _SEP + r")\d{4}(?![\d/.]\d|\d)"
    r"|(?<=\()\d{3}[ \t]+\d{3}[ \t]+\d{4,5}(?=\))"
    r"|(?<![\d./:-])\(?[2-9]\d{2}\)?[ \t/-]*[2-9]\d{6}(?!\d)"
    r"|(?<![\d./:-])[2-9]\d{2}/[2-9]\d{2}/\d{4}(?!\d)"
    r"|(?<![\d./:=-])[2-9]\d{2}-\d{4}(?![\d/]|\.\d|[ \t]*(?:cc|ml|mg|units?|kcal|hrs?|cal|mcg|pm|am)\b)"
    r"|(?<![\d./:-])\(?\d{6}-\d{4}\)?(?!\d)",
    re.I,
)
# After a phone cue ("Pager #12345", "PG 23456", "beeper 4-1234", "reached at 555 0142"), and extensions.
_PHONE_CUES = frozenset("pager pgr pg page beeper beep bpr cell cellphone phone tel telephone fax".split())
_CALL_WORDS = frozenset(("reached", "call", "called"))
_CUED_BODY = re.compile(r"\(?\d[\d \t()./-]{2,14}\d(?![\d/.]\d)")
_EXTENSION = re.compile(r"\d{2,5}\.?(?!\d)")
_HASH_ID = re.compile(r"#[ \t]*((?=[A-Za-z]{0,3}\d)[A-Za-z0-9-]{4,})")
# "#20fr", "#8ETT", "#20x2", "#63-70/": sizes, counts and pressure ranges after "#", not ids.
_HASH_NOT_ID = re.compile(r"\d{1,2}(?:[a-z]|x\d)|\d{1,3}-\d{1,3}$", re.I)
# "900-1100", "500-1000": fluid and pressure ranges, not 7-digit phone numbers.
_RANGE = re.compile(r"\d{2,3}0-\d{1,2}(?:00|50)")
_NOT_PHONE_BEFORE = re.compile(
    r"\b(?:svr|sbp|goal|uo|i/o|cc|ml|range|between|neg|pos|even|plt|plts|wbc|cks?|voiding|voided|pa|pas)\W*$", re.I
)
_ID_CUE_WORDS = frozenset(
    """mrn mr medical record number no unit acct account ssn security patient pt hospital chart case claim policy
    member insurance license serial id""".split()
)
_ID_CUE = re.compile(
    r"\b(?:mrn|mr|medical[ \t]+record(?:[ \t]+(?:number|no\.?))?|unit[ \t]+(?:no|number)\.?|acct"
    r"|account(?:[ \t]+(?:number|no\.?))?|ssn|social[ \t]+security(?:[ \t]+(?:number|no\.?))?|(?:patient|pt"
    r"|hospital|record|chart|case|claim|policy|member|insurance|license|serial)[ \t]+(?:id|number|no\.?|#)"
    r"|id(?:[ \t]+(?:number|no\.?))?)[ \t]*[:#.]*[ \t]*$",
    re.I,
)
_ID_TOKEN = re.compile(r"[A-Za-z0-9-]{4,}")
_CODE = re.compile(r"[A-Za-z]{1,3}\d{2,}[A-Za-z]?\d*\b")
_ID_DIGITS = re.compile(r"\d(?<![\d.,/:-]\d)(?:\d{2}-\d{2}-\d{4}(?![\d-])|\d{7,}(?![\d.,/]))")
_AGE_AFTER = re.compile(
    r"[ \t]*-?[ \t]*(?:yo|y/o|y\.o\.?|yr|yrs|year|years|y|yof|yom|yowm|yowf|yoh|yr\.?old)\b"
    r"|[ \t]*(?:years?|yrs?)[ \t]+(?:old|of[ \t]+age)\b",
    re.I,
)
_IP = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\d|\.\d)")
_EMAIL_DOMAIN = re.compile(r"@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"\b(?:https?://|ftp://|www\.)[^\s<>\"')\]]*[^\s<>\"')\],.;:!?]"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|edu|gov)\b(?:/[^\s<>\"')\]]*)?",
    re.I,
)
_URL_HINTS = ("://", "www", ".com", ".org", ".net", ".edu", ".gov")
# Lab and ventilator strings that look like ids: "ABG 7.34/41/104", drug codes are left to the cued form.
_LAB_PREFIXES = frozenset(
    "d5 d10 d50 d20 d70 po2 pco2 o2 fio2 spo2 sao2 svo2 hco3 co2 b12 b6 b1 k4 t3 t4 c5 c6 c7 l4 l5 s1 s2 s3 s4 "
    "v1 v2 v3 v4 v5 v6 ns45 g6pd a1c hba1c vo2 h2o etco2 ppd mso4 mgso4 kphos".split()
)


class NumberDetector(PhiDetectorBase):
    """Phone, fax and pager numbers; id numbers; ages over 89; e-mail, URL and IP addresses."""

    name = "phi_number"

    def spans(self, text: str) -> list[Span]:
        found: list[Span] = []
        done = 0  # end of the last phone number: runs inside it are not looked at again
        for match in _DIGITS.finditer(text):
            start, end = match.span()
            if start < done:
                continue
            size = end - start
            prev = text[start - 1] if start else " "
            span = self._phone(text, start, size, prev) if size in (3, 6, 10) else None
            word, pos = ("", start) if prev.isalnum() else word_before(text, start, " \t#:.(")
            if span is None:
                span = self._cued_phone(text, start, prev, word, pos)
            if span:
                found.append(span)
                done = span[1]
                continue
            if size >= 7 or size == 3:
                digits = _ID_DIGITS.match(text, start)
                if digits:
                    found.append((*digits.span(), "ID"))
            self._id(text, start, size, word, found)
            if size in (2, 3) and 90 <= int(match.group()) <= 119 and not prev.isalnum():
                if _AGE_AFTER.match(text, end) or (
                    not text[end : end + 1].isalnum() and word_before(text, start, " \t:")[0] in ("age", "aged")
                ):
                    found.append((start, end, "AGE>89"))
            if text[end : end + 1] == "." and not prev.isalnum() and prev not in "./":
                address = _IP.match(text, start)
                if address:
                    found.append((*address.span(), "CONTACT"))
        if "#" in text:
            for match in _HASH_ID.finditer(text):
                value = match.group(1)
                if not _HASH_NOT_ID.match(value) and text[match.end(1) : match.end(1) + 1] != "/":
                    found.append((*match.span(1), "ID"))
        if "@" in text:
            for match in _EMAIL_DOMAIN.finditer(text):
                start = match.start()
                while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._+-"):
                    start -= 1
                if start < match.start():
                    found.append((start, match.end(), "CONTACT"))
        lower = text.lower()
        if any(hint in lower for hint in _URL_HINTS):
            found.extend((*m.span(), "CONTACT") for m in _URL.finditer(text))
        return found

    @staticmethod
    def _phone(text: str, start: int, size: int, prev: str) -> Span | None:
        """A phone number written out in full, starting at this run (or the bracket before it)."""
        at = start - (prev == "(") - (prev == "(" and text[start - 2 : start - 1] == "(")
        match = _PHONE.match(text, at) or at < start and _PHONE.match(text, start)
        if not match or _RANGE.fullmatch(match.group()):
            return None
        if _NOT_PHONE_BEFORE.search(text, max(0, at - 12), at):
            return None
        return (match.start(), match.end(), "PHONE")

    @staticmethod
    def _cued_phone(text: str, start: int, prev: str, word: str, pos: int) -> Span | None:
        """A number after a phone cue `word` (ending at `pos`), or an extension."""
        if prev in "xX" and text[start - 2 : start - 1] == " " and text[max(0, start - 6) : start - 2].isdigit():
            word, pos = "x", start - 1
        elif prev.isalnum():
            return None
        if word in ("no", "number"):
            word, pos = word_before(text, pos, " \t#:.")
        if word == "at":
            word = "call" if word_before(text, pos)[0] in _CALL_WORDS else ""
        if word in _PHONE_CUES or word == "call":
            at = start - (prev == "(")
            body = _CUED_BODY.match(text, at)
            if body and sum(c.isdigit() for c in body.group()) >= 4:
                return (at, body.end(), "PHONE")
        elif word in ("ext", "extension") or word == "x" and text[max(0, pos - 5) : pos - 1].isdigit():
            ext = _EXTENSION.match(text, start)
            if ext:
                return (start, ext.end(), "PHONE")
        return None

    @staticmethod
    def _id(text: str, start: int, size: int, word: str, found: list[Span]) -> None:
        """An id after a record cue (``MRN: 1234567``), or a letter-prefixed code (``AB12345``)."""
        token = start
        while token > 0 and start - token < 3 and text[token - 1].isalpha():
            token -= 1
        if token > 0 and (text[token - 1].isalnum() or text[token - 1] == "_"):
            return
        if token < start:
            word = word_before(text, token, " \t:#.(")[0]
        if word in _ID_CUE_WORDS and _ID_CUE.search(text, max(0, token - 40), token):
            value = _ID_TOKEN.match(text, token)
            if value:
                found.append((*value.span(), "ID"))
                return
        if token < start and size >= 2 and text[token:start].lower() in _ID_CUE_WORDS:
            code = _CODE.match(text, token)
            if code:
                value = code.group().lower()
                if value in _LAB_PREFIXES or len(value) < 5 or value[:2] in _LAB_PREFIXES:
                    return
                found.append((*code.span(), "ID"))
