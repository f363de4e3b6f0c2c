"""Consistent, realistic surrogates for PHI spans (the de-identification stage's ``replace: surrogates`` mode).

Within one document the same original value (compared case-insensitively, with its tag) always gets the same
surrogate, so "Mr. Smith ... Smith's wife" stays coherent. A surrogate never depends on the original text: it
is drawn from a generator seeded by the run seed, the document id, the tag and the order in which distinct
values first appear. Knowing the seed therefore reveals nothing about the PHI it replaced, and the same
inputs and seed give the same bytes.

Surrogates keep the original's shape: a name keeps its number of words, its initials and its case; a date
keeps its written form (``3/14/2142`` -> ``11/2/2087``, ``Oct 20th`` -> ``May 7th``, ``'92`` -> ``'71``) but
intervals between dates are not preserved; ids and phone numbers keep their punctuation with new digits.
Names and places come from Faker's en_US word lists. Untyped PHI (MIMIC-IV ``___``) has no kind to imitate
and stays ``[PHI]``; ages over 89 become ``90+`` (Safe Harbor's aggregate).
"""

from __future__ import annotations

import hashlib
import random
import re
from functools import lru_cache

_MONTHS = "January February March April May June July August September October November December".split()
_MONTH_ABBR = {m[:3].lower() for m in _MONTHS}
_MONTH_WORD = re.compile(r"[A-Za-z]{3,}\.?")
_DIGITS = re.compile(r"\d+")
# month/day(/year) groups, or any other number
_NUMBERS = re.compile(r"(?<!\d)(\d{1,2})([/-])(\d{1,2}|\d{4})(?:\2(\d{2}|\d{4}))?(?!\d)|\d+")
_WORDS = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_CASED = ("NAME", "HOSPITAL", "LOCATION", "DATE")
_FACILITIES = ("Hospital", "Medical Center", "Memorial Hospital", "General Hospital", "Rehabilitation Center")


@lru_cache(maxsize=1)
def _lists() -> dict[str, tuple[str, ...]]:
    from faker.providers.address.en_US import Provider as Address
    from faker.providers.person.en_US import Provider as Person

    return {
        "first": tuple(sorted(set(Person.first_names))),
        "last": tuple(sorted(set(Person.last_names))),
        "city_prefix": tuple(Address.city_prefixes),
        "city_suffix": tuple(Address.city_suffixes),
        "street": tuple(Address.street_suffixes),
    }


def _placeholder_shape(inner: str, tag: str) -> str:
    """A stand-in original for a MIMIC-III ``[** ... **]`` placeholder, whose text names the kind, not the value."""
    lowered = inner.lower()
    if tag == "NAME":
        if "initial" in lowered:
            return "A. B."
        return "Ann Smith" if "first" in lowered and "last" in lowered or "(namepattern1)" in lowered else "Smith"
    if tag == "DATE" and not _DIGITS.match(inner):
        if "month" in lowered and "year" in lowered:
            return "1/2001"
        if "month" in lowered:
            return "March"
        if "year" in lowered:
            return "2001"
        return "3/4-3/5" if "range" in lowered else "3/4"
    return inner if _DIGITS.search(inner) or tag not in ("ID", "PHONE") else "1234567"


_ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)\b", re.I)


def _ordinal(match: re.Match) -> str:
    """The right English ordinal suffix for the number, in the case the original suffix was written in."""
    number = int(match.group(1))
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return match.group(1) + (suffix.upper() if match.group(2).isupper() else suffix)


def _new_digits(text: str, rng: random.Random) -> str:
    """`text` with every digit drawn anew (punctuation and letters kept)."""
    return _DIGITS.sub(lambda m: "".join(rng.choice("0123456789") for _ in m.group()), text)


def _with_case(surrogate: str, original: str) -> str:
    letters = [c for c in original if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        return surrogate.upper()
    if letters and all(c.islower() for c in letters):
        return surrogate.lower()
    return surrogate


class Surrogates:
    """Surrogate text for the PHI of one document; call it with each span's original text and tag."""

    def __init__(self, seed: int, document_id: str):
        self.seed = seed
        self.document_id = document_id
        self.chosen: dict[tuple[str, str], str] = {}

    def __call__(self, original: str, tag: str) -> str:
        key = (tag, original.strip().lower())
        if key not in self.chosen:
            digest = hashlib.sha256(f"{self.seed}\0{self.document_id}\0{tag}\0{len(self.chosen)}".encode()).digest()
            self.chosen[key] = self._make(original, tag, random.Random(int.from_bytes(digest[:8], "big")))
        surrogate = self.chosen[key]
        return _with_case(surrogate, original) if tag in _CASED and not original.startswith("[**") else surrogate

    def _make(self, original: str, tag: str, rng: random.Random) -> str:
        inner = original
        if original.startswith("[**") and original.endswith("**]"):
            inner = _placeholder_shape(original[3:-3].strip(), tag)
        lists = _lists()
        if tag == "NAME":
            words = _WORDS.findall(inner) or ["x", "x"]
            parts = [rng.choice(lists["first"]) for _ in words[:-1]] + [rng.choice(lists["last"])]
            parts = [p[0] + "." if len(w) == 1 else p for p, w in zip(parts, words)]
            return " ".join(parts)
        if tag == "DATE":
            return self._date(inner, rng)
        if tag == "HOSPITAL":
            return f"{rng.choice(lists['last'])} {rng.choice(_FACILITIES)}"
        if tag == "LOCATION":
            if re.fullmatch(r"\d{5}(?:-\d{4})?", inner):
                return _new_digits(inner, rng)
            city = f"{rng.choice(lists['city_prefix'])} {rng.choice(lists['last'])}{rng.choice(lists['city_suffix'])}"
            if re.match(r"\d", inner):
                city = f"{rng.randint(1, 9999)} {rng.choice(lists['last'])} {rng.choice(lists['street'])}"
            return city
        if tag in ("ID", "PHONE"):
            if not _DIGITS.search(inner):
                return "".join(str(rng.randint(0, 9)) for _ in range(7))
            return _new_digits(inner, rng)
        if tag == "AGE>89":
            return "90+"
        if tag == "CONTACT":
            return (
                f"https://example.org/{rng.randint(100, 999)}"
                if "/" in inner
                else f"user{rng.randint(10, 99)}@example.org"
            )
        return f"[{tag}]"

    @staticmethod
    def _date(inner: str, rng: random.Random) -> str:
        """A random date written in the same form as `inner`: numbers keep their width, month words stay words."""
        year = rng.randint(1950, 2020)

        def width(value: int, like: str) -> str:
            return f"{value:02d}" if like.startswith("0") else str(value)

        def numeric(match: re.Match) -> str:
            first, sep, second, third = match.group(1, 2, 3, 4)
            if first is None:
                return single(match)
            if len(second) == 4:
                return f"{width(rng.randint(1, 12), first)}{sep}{year}"
            month, day = width(rng.randint(1, 12), first), width(rng.randint(1, 28), second)
            if third is None:
                return f"{month}{sep}{day}"
            return f"{month}{sep}{day}{sep}{year if len(third) == 4 else f'{year % 100:02d}'}"

        def single(match: re.Match) -> str:
            text = match.group()
            if len(text) == 4:
                return str(year)
            if match.start() and inner[match.start() - 1] == "'" or int(text) > 31:
                return f"{year % 100:02d}"
            return width(rng.randint(1, 28), text)

        def month_word(match: re.Match) -> str:
            word = match.group()
            if word.rstrip(".").lower()[:3] not in _MONTH_ABBR:
                return word
            name = _MONTHS[rng.randint(0, 11)]
            return _with_case(name[:3] + "." if word.endswith(".") else name if len(word) > 4 else name[:3], word)

        iso = re.fullmatch(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})", inner)
        if iso:
            month, day = (f"{rng.randint(1, n):0{len(iso.group(i))}d}" for n, i in ((12, 3), (28, 4)))
            return f"{year}{iso.group(2)}{month}{iso.group(2)}{day}"
        written = _ORDINAL.sub(_ordinal, _MONTH_WORD.sub(month_word, _NUMBERS.sub(numeric, inner)))
        return written if written != inner or _DIGITS.search(inner) else f"{rng.randint(1, 12)}/{rng.randint(1, 28)}"
