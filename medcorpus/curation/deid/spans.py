"""PHI spans without the detectors: the tag set, the placeholders MIMIC writes, and merging spans.

Kept apart from `base.py` (scrubadub's detector classes) so that building a de-identification step, and
normalising placeholders, import no detector: scrubadub pulls in nltk and scipy (about 1.5 CPU-seconds).
"""

from __future__ import annotations

import re

TAGS = ("NAME", "DATE", "HOSPITAL", "LOCATION", "ID", "PHONE", "AGE>89", "CONTACT", "PHI")
Span = tuple[int, int, str]

# Tags already written into a text (by placeholder normalisation) are never re-detected.
TAG_TEXT = re.compile(r"\[(?:" + "|".join(re.escape(tag) for tag in TAGS) + r")\]")
# MIMIC-III placeholders and MIMIC-IV's untyped ``___``: detectors leave these to placeholder normalisation.
PLACEHOLDER = re.compile(r"\[\*\*([^\]\n]{0,200}?)\*\*\]")
UNTYPED = re.compile(r"(?<!_)___(?!_)")


# Where two detectors claim the same span, the more specific tag wins (a hospital over a name).
_PRIORITY = {"DATE": 0, "PHONE": 1, "ID": 2, "CONTACT": 3, "AGE>89": 4, "HOSPITAL": 5, "LOCATION": 6, "NAME": 7}


def merge_spans(spans: list[Span]) -> list[Span]:
    """Sort spans and fuse overlapping ones; the earliest (then longest, then most specific) span's tag wins."""
    merged: list[Span] = []
    for start, end, tag in sorted(spans, key=lambda s: (s[0], -s[1], _PRIORITY.get(s[2], 0))):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            if end > last[1]:
                merged[-1] = (last[0], end, last[2])
        else:
            merged.append((start, end, tag))
    return merged


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges no detector may touch: ``[TAG]`` tags, ``[** **]`` placeholders and untyped ``___``."""
    return [m.span() for pattern in (TAG_TEXT, PLACEHOLDER, UNTYPED) for m in pattern.finditer(text)]
