"""Candidate words and their features for the learned name/place classifier.

The safe-list pass, in Philter's spirit, decides which words are *candidates* for the classifier; the
rest are cleared. A word in no vocabulary is always one. An eponym never is (the rules judge those, after
a title say), nor a word under two letters. A lower-case known word is one only when it is a listed name
and not an everyday English, function or clinical word ("sarah", not "bill"). A capitalised known word is
one when it is a listed name ("Rose", "Bill") or stands mid-sentence and is not a function word. In a
note written all in one case every word counts as starting a sentence.

Features describe the word's form and vocabulary (never its spelling: surrogate names recur across
patients, and a model that memorised them would look better out of fold than it is; an unknown word's
last three letters are kept), and the words around it: known words by spelling, others by form. The
rule detectors' output is not a feature: the classifier is a second, independent detector, so that
its out-of-fold figures are its own and not borrowed from rules written from the same notes.
"""

from __future__ import annotations

import re

from medcorpus.curation.deid.locations.places import countries
from medcorpus.curation.deid.names.lexicon import note_case
from medcorpus.curation.deid.words import COMMON, DICT, EPONYM, FIRST, FUNC, LAST, MEDICAL, PROPER, WordFlags, places

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_VOCABULARY = FUNC | COMMON | MEDICAL | EPONYM | DICT
_NAMES = FIRST | LAST | PROPER
_EVERYDAY = FUNC | COMMON | MEDICAL
_BITS = (("func", FUNC), ("common", COMMON), ("dict", DICT), ("first", FIRST), ("last", LAST), ("proper", PROPER))
_BITS += (("medical", MEDICAL), ("eponym", EPONYM))
_WINDOW = 3
_CACHE_LIMIT = 200_000


def _shape(word: str) -> str:
    if word.isupper():
        return "UPPER" if len(word) > 1 else "I"
    if word.islower():
        return "lower"
    if word[0].isupper() and word[1:].islower():
        return "Title"
    return "Mixed"


class Featurizer:
    """Tokens of a note, which of them are candidates, and each candidate's feature names."""

    def __init__(self) -> None:
        self.flags = WordFlags()
        self.states = places()
        self.countries = countries()
        self._static: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {}
        self._gaps: dict[str, str] = {}

    def word(self, word: str) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
        """(flags, the word's own features, the features it gives its neighbours), cached per spelling.

        The neighbour features are, in order: two before, one before (and its shape), one after (and its
        shape), two after, in the window before, in the window after."""
        cached = self._static.get(word)
        if cached is None:
            if len(self._static) >= _CACHE_LIMIT:  # bounded memory on a corpus of millions of notes
                self._static.clear()
            lower = word.lower()
            flags = self.flags(lower)
            shape = _shape(word)
            own = [f"shape={shape}", f"len={min(len(word), 9)}"]
            own += [f"is_{name}" for name, bit in _BITS if flags & bit]
            if not flags:
                own += ["unknown", f"suffix={lower[-3:]}"]
            if lower in self.states:
                own.append("state")
            elif lower in self.countries:
                own.append("country")
            known = flags & FUNC or (flags & (COMMON | MEDICAL) and not flags & _NAMES)
            seen = lower if known else f"<{shape}{'-name' if flags & _NAMES else ''}{'' if flags else '-unk'}>"
            shape_feature = own[0]
            roles = (f"-2:{seen}", f"-1:{seen}", f"-1:{shape_feature}", f"1:{seen}", f"1:{shape_feature}")
            roles += (f"2:{seen}", f"w-:{seen}", f"w+:{seen}")
            cached = self._static[word] = (flags, tuple(own), roles)
        return cached

    def candidate(self, word: str, flags: int, line_start: bool) -> bool:
        """The safe-list decision: whether `word` needs the classifier at all."""
        if len(word) < 2 or flags & EPONYM:
            return False  # eponyms are the rules' to judge (after a title, say)
        if not flags & _VOCABULARY:
            return True
        if word.islower():  # a listed name in no everyday vocabulary ("sarah", not "bill")
            return bool(flags & _NAMES) and not flags & (FUNC | COMMON | MEDICAL)
        return bool(flags & _NAMES) or (not line_start and not flags & FUNC and word[0].isupper())

    def note(self, text: str) -> tuple[list[tuple[int, int]], list[list[str]]]:
        """The candidate words of `text` as `(start, end)` and one feature list each."""
        matches = list(WORD.finditer(text))
        tokens = [m.span() for m in matches]
        words = [m.group() for m in matches]
        known = self._static.get
        info = [known(w) or self.word(w) for w in words]
        roles = [x[2] for x in info]
        case = note_case(text)
        mixed = case == "mixed"
        mixed_feature = f"case={case}"
        last = len(tokens) - 1
        in_lower = {w for w in words if w.islower()}
        spans, features = [], []
        for i, (start, end) in enumerate(tokens):
            word = words[i]
            flags, own, _roles = info[i]
            if len(word) < 2 or (flags & _EVERYDAY and word.islower()):
                continue  # the safe list's quick exit: an everyday word in lower case
            before = text[tokens[i - 1][1] : start] if i else "\n"
            line_start = "\n" in before or before.rstrip().endswith((".", ":", ";", "?", "!"))
            if not self.candidate(word, flags, line_start or not mixed):
                continue
            after = text[end : tokens[i + 1][0]] if i < last else "\n"
            f = ["bias", *own, mixed_feature, f"line_start={line_start}", self.gap("sep-=", before)]
            f.append(self.gap("sep+=", after))
            if not word.islower() and word.lower() in in_lower:
                f.append("also_lower")  # written in lower case elsewhere in the note
            if i > 1:
                f.append(roles[i - 2][0])
            if i > 0:
                f += roles[i - 1][1:3]
            if i < last:
                f += roles[i + 1][3:5]
            if i + 1 < last:
                f.append(roles[i + 2][5])
            f += [r[6] for r in roles[max(0, i - _WINDOW) : i]]
            f += [r[7] for r in roles[i + 1 : i + 1 + _WINDOW]]
            spans.append((start, end))
            features.append(f)
        return spans, features

    def gap(self, side: str, gap: str) -> str:
        """The feature for the characters between two words (cached)."""
        key = side + gap
        value = self._gaps.get(key)
        if value is None:
            value = side + _separator(gap)
            if len(gap) <= 8 and len(self._gaps) < _CACHE_LIMIT:
                self._gaps[key] = value
        return value


def _separator(gap: str) -> str:
    gap = gap.replace("\t", " ")
    if "\n" in gap:
        return "newline"
    stripped = gap.strip()
    return stripped[:2] if stripped else ("space" if gap else "none")
