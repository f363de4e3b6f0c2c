"""Removal of unwanted sections (references, acknowledgements, disclosures, ...) from guideline text, by heading.

The extractors write headings as Markdown lines (`## References`); a removed section runs from its
heading to the next heading of the same or a higher level (fewer or as many `#`). A heading may also
stand as a plain line (a PDF whose headings carry no style, or text from elsewhere): a short line that
looks like a heading and names a removed section runs to the next heading of any kind.

A heading names a section when, after numbering ("7.", "4.2", "IV.", "Appendix B:") and punctuation
(slashes, ampersands) are set aside, it contains the section's name (plural or singular) and, besides
the names of other removed sections, only words such as "statement", "of", "potential", "financial",
"sources", "evidence", "further reading": "7. References", "Conflicts of Interest Statement",
"Disclosure of potential conflicts", "Sources of funding", "Acknowledgement of financial support",
"Bibliography/Evidence", "References and further reading" and "REFERENCES / BIBLIOGRAPHY" match (the
name named first is returned); "Funding of national programmes", "Reference standards", "Evidence for
treatment" and "Appendix A: Search strategy" do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")
NUMBERING = re.compile(
    r"^(?:(?:section|chapter|part|appendix|annex)\s+)?(?:\d+(?:\.\d+)*[.):]?|[ivxlc]+[.):]|[a-z][.):])\s+", re.I
)
FILLERS = frozenset(
    "a an and or of the for this these to in on by with our its from statement section list source information "
    "cited selected further potential financial author panel member committee relevant declared declaration "
    "disclosure conflict interest competing support other guideline document relationship industry general "
    "legal important notice note sponsorship editorial independence external commercial personal evidence "
    "reading literature citation".split()
)
MAX_EXTRA_WORDS = 5
HEADING_WORDS = 14  # a plain line with more words is not a heading


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    text = NUMBERING.sub("", text.strip().replace("&", " and "))
    return [_singular(word) for word in re.findall(r"[a-z]+", text.lower())]


def _find(words: list[str], wanted: list[str]) -> int | None:
    """Where `wanted` first stands in `words`, or None."""
    n = len(wanted)
    return next((i for i in range(len(words) - n + 1) if words[i : i + n] == wanted), None)


def heading_name(heading: str, names: Iterable[str]) -> str | None:
    """The configured name a heading's text matches (see the module docstring), or None."""
    words = _words(heading)
    if not words or len(words) > HEADING_WORDS:
        return None
    rest = list(enumerate(words))  # (position, word) not yet part of a name
    found = []  # (position, name)
    for name in names:
        wanted = _words(name)
        start = _find([word for _, word in rest], wanted) if wanted else None
        if start is not None:
            found.append((rest[start][0], name))
            del rest[start : start + len(wanted)]
    if not found or len(rest) > MAX_EXTRA_WORDS or any(word not in FILLERS for _, word in rest):
        return None
    return min(found)[1]


def markdown_level(line: str) -> int:
    """The level of a Markdown heading line (number of `#`), 0 for any other line."""
    match = MARKDOWN_HEADING.match(line)
    return len(match.group(1)) if match else 0


def heading_like(line: str) -> bool:
    """Whether a plain line looks like a heading: short, unpunctuated, capitalised, not a list item or row."""
    text = line.strip()
    if not text or len(text) > 100 or text.startswith(("|", "-", "•", "*", "·", "(")):
        return False
    if text[-1] in ".,;!?" or not (text[0].isupper() or text[0].isdigit()):
        return False
    words = re.findall(r"[^\W\d_][\w'’-]*", text)
    if not words or len(words) > HEADING_WORDS:
        return False
    if re.match(r"^\d+[.)]\s+\S+(?:\s+\S+){6,}", text):
        return False  # a numbered list item with a sentence, not "7. References"
    long_words = [w for w in words if len(w) > 3]
    capitals = sum(w[0].isupper() for w in long_words)
    return text.isupper() or len(words) <= 4 or capitals >= 0.5 * len(long_words)


def remove_sections(text: str, names: Iterable[str]) -> tuple[str, list[str]]:
    """`text` without the sections whose heading names one of `names`, and the names removed (in order)."""
    names = [name for name in names if name and name.strip()]
    if not names or not text:
        return text, []
    lines = text.split("\n")
    kept: list[str] = []
    removed: list[str] = []
    level = None  # level of the section being removed: 1..6 for a Markdown heading, 7 for a plain one
    for line in lines:
        current = markdown_level(line)
        if level is not None:
            ends = (current and current <= level) or (level == 7 and (current or heading_like(line)))
            if not ends:
                continue
            level = None
        heading = MARKDOWN_HEADING.match(line).group(2) if current else line if heading_like(line) else None
        name = heading_name(heading, names) if heading else None
        if name is not None:
            level = current or 7
            removed.append(name)
            continue
        kept.append(line)
    return "\n".join(kept), removed
