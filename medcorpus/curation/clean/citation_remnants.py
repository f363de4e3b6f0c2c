"""Leftover citation markers in flat text: what a reader's own citation removal (or none) left behind.

Each kind is counted on its own, so a user can see what it touched:

- `bracket_numbers`: "[1, 2]", "[3-5]", "[12]" (not after "=", "<", "interval", "range": "x = [1, 2]");
- `paren_numbers`: "(1-3)" or "(4, 7)" only after a lower-case word and right before punctuation or the end
  of a line, with whole numbers below 1000 only, not after words that take a number ("grade (1-3)",
  "days (2, 5)"), and only in documents numbering citations that way (see `_paren_numbers`); decimals,
  units, percentages, years, "p =" and intervals are never matched;
- `superscript`: superscript digit runs ("¹²", "¹⁻³", "²,³") right after a word of three or more letters or
  after sentence punctuation; "m²", "10⁹/L" and "x²" stay;
- `empty_brackets`: "[ ]", "( , )", "(;)" left empty by an earlier removal (not "()" or "[]": code);
- `et_al`: a dangling "et al.," before a closing bracket or sentence end ("Smith et al., )" -> "Smith et al.)").

The gap left where something was removed is closed up ("factor [3], which" ->
"factor, which").
"""

from __future__ import annotations

import re
from collections import Counter

_DASHES = r"\-\u2010-\u2015\u2212"
_LIST = rf"[1-9]\d{{0,3}}(?:\s*[,;{_DASHES}]\s*[1-9]\d{{0,3}})*"
_BRACKET_NUMBERS = re.compile(rf"\[\s*{_LIST}\s*\](?![\w\[(\-])")
_NOT_CITING = re.compile(r"(?:[=<>≤≥∈×±:\w\[]|[=<>≤≥∈×±:]\s+|\b(?i:intervals?|ranges?|between|from|of|to|in)\s+)$")
# Words after which a parenthesised number is a value, not a citation.
_VALUE_WORDS = frozenset(
    "grade grades stage stages type types class classes phase phases level levels score scores scale range ranges "
    "group groups arm arms cohort step steps day days week weeks month months year years hour hours minute minutes "
    "visit visits cycle cycles dose doses item items question questions patients participants subjects cases n "
    "table tables figure figures fig figs appendix times session sessions trial trials study studies sample "
    "samples site sites lead leads ratio aged age points point episode episodes".split()
)
_SMALL_LIST = rf"[1-9]\d{{0,2}}(?:\s*[,;{_DASHES}]\s*[1-9]\d{{0,2}})*"
_PAREN_NUMBERS = re.compile(rf"\(\s*({_SMALL_LIST})\s*\)(?=[.,;:]|[^\S\n]*$)", re.M)
_NUMBER = re.compile(r"\d+")
_WORD_BEFORE = re.compile(r"(?:^|[^A-Za-z])([A-Za-z]*[a-z])[^\S\n]*$")
_SUPERSCRIPT = re.compile(
    r"(?:(?<=[A-Za-z]{3})|(?<=[.,;:)\]]))[\u00b9\u00b2\u00b3\u2070\u2074-\u2079]+"
    r"(?:[,\u207b\u2013-][\u00b9\u00b2\u00b3\u2070\u2074-\u2079]+)*(?![\w/])"
)
_ANY_SUPERSCRIPT = re.compile(r"[\u00b9\u00b2\u00b3\u2070\u2074-\u2079]")
_EMPTY = re.compile(r"\((?:\s*[,;]+\s*|\s+)\)|\[(?:\s*[,;]+\s*|\s+)\]")
# Each half of `_EMPTY` alone: a regex starting with one literal character is searched much faster.
_EMPTY_PARENS = re.compile(r"\((?:\s*[,;]+\s*|\s+)\)")
_EMPTY_BRACKETS = re.compile(r"\[(?:\s*[,;]+\s*|\s+)\]")
_ET_AL = re.compile(r"\bet al\.,\s*(?=[)\]]|[.;]|$)", re.M)
_GAP_BEFORE_PUNCT = re.compile(r"[^\S\n]*\0[\0 \t]*(?=[,;:.)\]])")
_GAP = re.compile(r"[^\S\n]*\0[\0 \t]*")


def _bracket_numbers(text: str, counts: Counter) -> str:
    def replace(match: re.Match) -> str:
        if _NOT_CITING.search(text[max(0, match.start() - 20) : match.start()]):
            return match.group(0)
        counts["bracket_numbers"] += 1
        return "\0"

    return _BRACKET_NUMBERS.sub(replace, text)


def _paren_numbers(text: str, counts: Counter) -> str:
    """Parenthesised numbers are removed only where the document cites that way: at least six distinct
    numbers whose first appearances mostly run in order (Vancouver numbering), unlike counts ("cirrhosis (38),
    fibrosis (14)"), years or scale points."""
    candidates = []
    for match in _PAREN_NUMBERS.finditer(text):
        before = _WORD_BEFORE.search(text[max(0, match.start() - 30) : match.start()])
        if before is not None and before.group(1).lower() not in _VALUE_WORDS:
            candidates.append(match)
    first_seen = list(dict.fromkeys(int(n) for m in candidates for n in _NUMBER.findall(m.group(1))))
    if len(first_seen) < 6:
        return text
    in_order = sum(b > a for a, b in zip(first_seen, first_seen[1:]))
    if in_order < 0.6 * (len(first_seen) - 1) or first_seen[0] > 3:
        return text
    counts["paren_numbers"] += len(candidates)
    parts, end = [], 0
    for match in candidates:
        parts += [text[end : match.start()], "\0"]
        end = match.end()
    return "".join(parts) + text[end:]


def _close_gaps(line: str) -> str:
    return _GAP.sub(" ", _GAP_BEFORE_PUNCT.sub("", line)).strip(" ")


def remove_citation_remnants(text: str) -> tuple[str, Counter]:
    """The text without leftover citation markers, and how many of each kind were removed."""
    counts: Counter = Counter()
    text = text.replace("\0", "")
    if "[" in text:
        text = _bracket_numbers(text, counts)
    if "(" in text:
        text = _paren_numbers(text, counts)
    if not text.isascii() and _ANY_SUPERSCRIPT.search(text):
        text, n = _SUPERSCRIPT.subn("\0", text)
        counts["superscript"] += n
    if "et al.," in text:
        text, n = _ET_AL.subn("et al.", text)
        counts["et_al"] += n
    if _EMPTY_PARENS.search(text) or _EMPTY_BRACKETS.search(text):
        text, n = _EMPTY.subn("\0", text)
        counts["empty_brackets"] += n
    if "\0" in text:
        lines = text.split("\n")
        text = "\n".join(_close_gaps(line) if "\0" in line else line for line in lines)
    return text, +counts
