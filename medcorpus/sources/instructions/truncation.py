"""Answers that visibly stop mid-sentence (cut off by a length limit when a set was generated or exported).

An answer is truncated when it ends in a comma, colon or semicolon; in a dash (an en or em dash, "--", a
hyphen after a space, or a hyphen after a lower-case word: a split compound such as "anti-"); inside an
unclosed bracket or double quote; or, when it has two words or more, in a lower-case function word that
cannot end a sentence ("the", "and", "of", "with", ...). Nothing else is: short answers without a final
period ("Metformin", "Yes"), numbers, letters ("Vitamin A", "Cyclin a", "taken to the OR"), a closing
bracket, an ending quote without its opening one, inch marks (5'4"), receptor and blood-group signs ("HER2-",
"Rh-"), phrasal verbs ("sets in", "and so on") and a trailing ellipsis all pass.
"""

from __future__ import annotations

import re

DANGLING_WORDS = frozenset(
    """an the and or nor but of to with without within into onto at by from for as than via per including
    which whose whereas because between among versus""".split()
)
_LAST_WORDS = re.compile(r"(?:(\S+)\s+)?(?<![\w'-])([a-z]+)$")
_DASH = re.compile(r"(?:[\u2013\u2014]|--|\s-|(?<!\w)[a-z]+-)$")
_BRACKETS = (("(", ")"), ("[", "]"), ("{", "}"), ("\u201c", "\u201d"))
_QUOTE = re.compile(r'(?<!\d)"')  # a straight double quote, not an inch mark (5'4")
_QUOTE_LAST = re.compile(r'"[^\w"]*$')  # the text ends at a quote: it closes (or is stray), it opens nothing


def _unclosed(text: str) -> bool:
    """Whether `text` opens a bracket or double quote it never closes."""
    if any(text.count(opening) > text.count(closing) for opening, closing in _BRACKETS):
        return True
    return len(_QUOTE.findall(text)) % 2 == 1 and not _QUOTE_LAST.search(text)


def _dangling(text: str) -> bool:
    """Whether `text` (of two words or more) ends in a function word; "a" after a capital is a letter ("Cyclin a")."""
    found = _LAST_WORDS.search(text)
    if found is None or found.group(1) is None:
        return False
    before, word = found.groups()
    return word in DANGLING_WORDS or (word == "a" and not before[0].isupper())


def truncated(answer: str) -> bool:
    """Whether `answer` visibly stops mid-sentence (see the module docstring)."""
    text = answer.rstrip()
    return bool(text) and (text[-1] in ",:;" or bool(_DASH.search(text)) or _unclosed(text) or _dangling(text))
