"""`ftfy.fix_text` (without normalisation), run only on the lines that it would change.

ftfy 6.3.1 fixes a text line by line (each line with its "\\n"; lines over `max_decode_length` are cut),
and the only state carried from line to line is that HTML entities are left alone from the first line
holding "<" on (`unescape_html="auto"`). Each line goes through all fixers, again and again until
nothing changes. So a line comes back unchanged when no fixer acts on it: it holds no HTML entity (while
entities are unescaped), none of the other fixers' characters, and `ftfy.badness.is_bad` finds no mojibake
in it (else ftfy re-encodes it). A line whose only such characters are curly quotes comes back with them
straightened, when `is_bad` finds no mojibake in it before or after. `is_bad` is slow, so it runs only on
lines holding what its regex needs (see `_badness_hint`); plain ASCII lines are skipped outright.
"""

from __future__ import annotations

import re

try:  # the regex parser, to read ftfy's mojibake pattern (renamed in Python 3.11)
    import re._constants as sre_constants
    import re._parser as sre_parser
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants
    import sre_parse as sre_parser

import ftfy
from ftfy import chardata, fixes
from ftfy.badness import BADNESS_RE, is_bad

_CONFIG = ftfy.TextFixerConfig(explain=False, normalization=None)
_CONFIG_AFTER_TAG = _CONFIG._replace(unescape_html=False)

# What ftfy's fixers act on (but HTML entities and curly quotes): ANSI escapes, line breaks, control
# characters (C1 among them), ligatures, full-width forms and surrogates.
_FIXER_CHARS = set(map(chr, [*chardata.CONTROL_CHARS, *chardata.LIGATURES, *chardata.WIDTH_MAP])) | set(
    "\x1b\r\u2028\u2029\x85"
)


def _char_class(chars: set[str] | set[int]) -> str:
    return "[" + "".join(re.escape(c if isinstance(c, str) else chr(c)) for c in sorted(chars)) + "]"


_FIXER = re.compile(f"{_char_class(_FIXER_CHARS)}|{chardata.C1_CONTROL_RE.pattern}|{fixes.SURROGATE_RE.pattern}")
_QUOTES = re.compile(f"{chardata.SINGLE_QUOTE_RE.pattern}|{chardata.DOUBLE_QUOTE_RE.pattern}")
# A line holding none of these (plain ASCII but for "&" and the fixers' characters) is left as it is.
_MAYBE = re.compile(_char_class({c for c in _FIXER_CHARS | {"&"} if c.isascii()})[:-1] + "\x80-\U0010ffff]")


def _one_char_set(item: tuple) -> set[int] | None:
    """The code points a one-character regex item (literal or plain class) matches; None for others."""
    op, arg = item
    if op is sre_constants.LITERAL:
        return {arg}
    if op is not sre_constants.IN:
        return None
    points: set[int] = set()
    for kind, value in arg:
        if kind is sre_constants.LITERAL:
            points.add(value)
        elif kind is sre_constants.RANGE:
            points.update(range(value[0], value[1] + 1))
        else:  # negated class, category
            return None
    return points


def _badness_hint() -> re.Pattern | None:
    """A regex that finds something in every text `BADNESS_RE` matches (None: no such regex found).

    Each alternative of `BADNESS_RE` needs two non-ASCII characters of given sets side by side, or else
    one non-ASCII character of a given set; the hint looks for any of these pairs or single characters.
    """
    tree = sre_parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags)
    if BADNESS_RE.flags & re.IGNORECASE or len(tree.data) != 1 or tree.data[0][0] is not sre_constants.BRANCH:
        return None
    firsts: set[int] = set()
    seconds: set[int] = set()
    singles: set[int] = set()
    for branch in tree.data[0][1][1]:
        sets = [_one_char_set(item) for item in branch.data]
        sets = [s if s and min(s) >= 0x80 else None for s in sets]
        pair = next(((a, b) for a, b in zip(sets, sets[1:]) if a and b), None)
        if pair is not None:
            firsts |= pair[0]
            seconds |= pair[1]
        elif any(sets):
            singles |= min((s for s in sets if s), key=len)
        else:
            return None
    return re.compile(f"{_char_class(singles)}|{_char_class(firsts)}{_char_class(seconds)}")


_BADNESS_HINT = _badness_hint()


def _is_bad(line: str) -> bool:
    return (_BADNESS_HINT is None or _BADNESS_HINT.search(line) is not None) and is_bad(line)


def fix_line(line: str, config: ftfy.TextFixerConfig = _CONFIG) -> str:
    """`ftfy.fix_text(line, config)` for one line (with its "\\n"), config `_CONFIG` or `_CONFIG_AFTER_TAG`."""
    unescape = config.unescape_html is True or (config.unescape_html == "auto" and "<" not in line)
    if _FIXER.search(line) or (unescape and "&" in line and chardata.HTML_ENTITY_RE.search(line)) or _is_bad(line):
        return ftfy.fix_text(line, config)
    if not _QUOTES.search(line):
        return line
    straight = fixes.uncurl_quotes(line)  # straight quotes bring neither entities nor fixers' characters
    return ftfy.fix_text(line, config) if _is_bad(straight) else straight


def fix_mojibake(text: str) -> str:
    """The same as `ftfy.fix_text(text, normalization=None)`."""
    match = _MAYBE.search(text)
    if match is None:
        return text
    if len(text) > _CONFIG.max_decode_length:  # ftfy cuts long lines: let it do the whole text
        return ftfy.fix_text(text, _CONFIG)
    first_tag = text.find("<")
    parts: list[str] = []
    done = 0
    while match is not None:
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end()) + 1 or len(text)
        line = text[start:end]
        fixed = fix_line(line, _CONFIG_AFTER_TAG if 0 <= first_tag < start else _CONFIG)
        if fixed != line:
            parts += (text[done:start], fixed)
            done = end
        match = _MAYBE.search(text, end)
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)
