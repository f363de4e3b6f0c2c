"""Names of patients, relatives and clinicians (tag ``NAME``), in mixed-case, all-caps and lower-case notes.

Each note is split into tokens once (runs of letters and digits, with a possessive); the rules then work on
token indices. Cues: titles (``Dr. X``, ``Mrs X``), kinship and role words (``pt's husband Y``, ``daughter,
Odile``, ``spoke with X``), credentials and verbs after a name (``X Y, RN``, ``Z (resident)``, ``X aware``),
initials (``N. Varga``), known first names followed by a surname, and known names that are no English or
clinical word. An unknown capitalised word needs a second signal (a name next to it). Single letters are names
only as initials next to a name. Word rules (shapes, misspellings, strengths) live in `lexicon`.
"""

from __future__ import annotations

import re
from itertools import compress

from medcorpus.curation.deid.base import PhiDetectorBase, Span
from medcorpus.curation.deid.names.lexicon import (
    AFTER,
    COPULAS,
    CUE_KINDS,
    FILLERS,
    K_AFTER,
    K_CRED,
    K_KIN,
    K_PREP,
    K_ROLE,
    K_SPEECH,
    K_TITLE,
    K_VERB,
    PERSON,
    TERM_ENDING,
    TITLE,
    VOCAB,
    WEAK,
    NameLexicon,
    note_case,
)
from medcorpus.curation.deid.names.token_rules import NameTokenRules
from medcorpus.curation.deid.words import COMMON, EPONYM, FIRST, FUNC, MEDICAL

__all__ = ["NameDetector", "note_case"]

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z0-9]+)*")
K_CAND = 1 << 8  # a possible name on its own (listed, capitalised unknown, first name, initial)
K_NEXT = 1 << 9  # may follow a weak cue as a name: a candidate, a capitalised word (mixed case), a title, a filler
_FORWARD = K_TITLE | K_KIN | K_ROLE | K_VERB | K_PREP
_BACKWARD = K_CRED | K_AFTER | K_KIN
_STRONG = K_TITLE | K_KIN | K_ROLE
_PERSON_ROLES = frozenset("np rn md resident intern fellow attending nurse surgeon ho sw chaplain physician".split())
_LOOSE_CREDS = frozenset("pa ho sw resident intern fellow attending nurse pcp".split())
_BRIDGES = frozenset("made is was has been also".split())
_SENTENCE_END = re.compile(r"(?:^|[.!?:;\n\"(*>\-])[ \t\d]*$")


class NameDetector(NameTokenRules, PhiDetectorBase):
    """Person names, found by cue words, word lists and capitalisation; spans tagged ``NAME``."""

    name = "phi_name"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lex = NameLexicon()
        self.flag = self.lex.flag
        self._kinds: dict[bool, dict[str, int]] = {True: {}, False: {}}

    def _kind(self, token: str, mixed: bool) -> int:
        """Cue bits and the candidate bit of a token string (cached per note case)."""
        kind = CUE_KINDS.get(token.lower(), 0)
        if (mixed and token[0].isupper()) or token.lower() in FILLERS or kind & K_TITLE:
            kind |= K_NEXT
        if len(token) == 1:
            kind |= K_CAND if token.isalpha() and (token.isupper() or not mixed) else 0
        elif not self.lex.clinical_shape(token, mixed):
            flag = self.flag(token)
            capital = mixed and token[0].isupper()
            if self.lex.listed(token) or (flag & FIRST and not flag & (FUNC | MEDICAL | EPONYM)):
                kind |= K_CAND if capital or not mixed or not flag & COMMON else 0
            elif capital and not flag & VOCAB and len(token) > 2 and not TERM_ENDING.search(token):
                kind |= K_CAND
        if kind & K_CAND:
            kind |= K_NEXT
        self._kinds[mixed][token] = kind
        return kind

    def spans(self, text: str) -> list[Span]:
        mixed = note_case(text) == "mixed"
        self._text, self._mixed = text, mixed
        self._tokens = tokens = list(_TOKEN.finditer(text))
        self._words = words = [m[0] for m in tokens]
        cache = self._kinds[mixed]
        for word in set(words).difference(cache):
            self._kind(word, mixed)
        kinds = list(map(cache.__getitem__, words))
        kinds.append(0)
        found: set[int] = set()
        candidates = []
        for i in compress(range(len(words)), kinds):
            kind = kinds[i]
            if kind & _FORWARD and (kind & _STRONG or kinds[i + 1] & K_NEXT):
                found.update(self._forward(i, kind))
            if kind & _BACKWARD and i:
                found.update(self._backward(i, kind))
            if kind & K_CAND:
                candidates.append(i)
                if words[i] in "RrMm" and words[i + 1 : i + 2] in (["N"], ["D"], ["n"], ["d"]) and i:
                    if text[tokens[i].end() : tokens[i + 1].start()] == ".":
                        found.update(self._backward(i, K_CRED))
        found.update(self._standalone(candidates, kinds, found))
        found.update(self._pairs(found))
        return [(*tokens[i].span(), "NAME") for i in sorted(found)]

    # helpers ------------------------------------------------------------------------------------------------
    # cue rules ----------------------------------------------------------------------------------------------
    def _cue_level(self, i: int, kind: int) -> int:
        word = self._words[i]
        if kind & K_TITLE:
            low = word.lower()
            if word.isupper() and len(word) > 1:
                if self._mixed_at(i) and low != "dr":
                    return 0
                return PERSON if low == "ms" else TITLE
            if low == "ms" and word.islower():
                return PERSON
            return TITLE
        if kind & K_KIN or (kind & K_ROLE and word.lower() in _PERSON_ROLES):
            return PERSON
        if (
            kind & K_PREP
            and i
            and self.flag(self._words[i - 1])
            and CUE_KINDS.get(self._words[i - 1].lower(), 0) & K_SPEECH
        ):
            return PERSON
        return WEAK if kind & (K_ROLE | K_VERB | K_PREP) else 0

    def _forward(self, i: int, kind: int) -> list[int]:
        level = self._cue_level(i, kind)
        if not level:
            return []
        limit = 2 if level == WEAK else 3
        words, out, pending = self._words, [], []
        j, last = i + 1, i
        if j < len(words) and words[j].lower() in FILLERS and self._joined(last, j):
            last, j = j, j + 1
        while j < len(words) and len(out) < limit and self._joined(last, j):
            first = not out and not pending
            if self._single(j):
                dotted = kind & K_TITLE and self._text[self._tokens[j].end() : self._tokens[j].end() + 1] == "."
                if (level == TITLE or dotted) and first:  # "Dr B", "MS S."
                    out.append(j)
                else:
                    pending.append(j)
            elif out and words[j].lower() in COPULAS:
                break
            elif out and level >= PERSON and words[j].lower() in ("and", "&") and not pending:
                pass
            elif (
                self._ok(j, level, first, bool(out))
                or (pending and self._initialled(j))
                or (level == TITLE and len(out) == 1 and self._before_copula(j))
                or (level == TITLE and len(out) == 1 and self._single(out[0]) and self._after_initial(j))
                or (level >= PERSON and first and self._capital_pair(j))
            ):
                out.extend(pending)
                out.append(j)
                pending = []
            else:
                break
            last, j = j, j + 1
        return out

    def _backward(self, i: int, kind: int) -> list[int]:
        words, text = self._words, self._text
        cue = words[i].lower()
        loose = kind & K_CRED and cue in _LOOSE_CREDS
        if kind & K_CRED and not (
            loose and not any(c in text[self._tokens[i - 1].end() : self._tokens[i].start()] for c in ",(")
        ):
            level = PERSON
        elif kind & K_AFTER:
            level = AFTER
        elif kind & K_KIN and any(c in text[self._tokens[i - 1].end() : self._tokens[i].start()] for c in ",("):
            level = PERSON
        else:
            return []
        j = i - 1
        if kind & K_AFTER and words[j].lower() in _BRIDGES and j and self._joined(j - 1, j):
            j -= 1
        if not self._joined(j, i if j == i - 1 else j + 1):
            return []
        out: list[int] = []
        while j >= 0 and len(out) < 3:
            if self._single(j) and out and self._joined(j, out[-1]):
                out.append(j)
            elif (
                not self._single(j)
                and (not out or self._joined(j, out[-1]))
                and (self._ok(j, level, not out, bool(out)) or (not out and self._initialled(j)))
            ):
                out.append(j)
            elif not out and j and self._compound(j - 1, j, level):
                out.extend((j, j - 1))
                j -= 1
            else:
                break
            j -= 1
        if out and j >= 0 and self._joined(j, out[-1]) and self._first_name(j):  # "Tobias N. Wrenfield, RRT"
            out.append(j)
        return out if any(len(words[k]) > 1 for k in out) else []

    # cue-less rules -----------------------------------------------------------------------------------------
    def _standalone(self, candidates: list[int], kinds: list[int], found: set[int]) -> list[int]:
        words, text, tokens, mixed = self._words, self._text, self._tokens, self._mixed
        out: list[int] = []
        cand = set(candidates)
        for i in candidates:
            word = words[i]
            nxt = i + 1
            if len(word) == 1:
                if nxt < len(words) and self._initial(i, nxt):
                    out.extend((i, nxt))
                    if i and self._first_name(i - 1) and self._text[tokens[i - 1].end() : tokens[i].start()] == " ":
                        out.append(i - 1)
                continue
            if self.flag(word) & FIRST and nxt < len(words) and self._surname(i, nxt):
                out.extend((i, nxt))
                continue
            if self.flag(word) & FIRST and (self._subject(i) or self._apposition(i, kinds)):
                out.append(i)
                continue
            if self.lex.listed(word):
                if word[0].isupper() if mixed else self._signature(i) or self._plain_name(word):
                    out.append(i)
                continue
            if _SENTENCE_END.search(text, max(0, tokens[i].start() - 6), tokens[i].start()):
                if not (nxt < len(words) and nxt in cand and self._joined(i, nxt)):
                    continue
            near = [k for k in (i - 1, nxt) if 0 <= k < len(words) and (k in cand or k in found)]
            if any(len(words[k]) > 1 and self._joined(min(i, k), max(i, k)) for k in near):
                out.append(i)
        return out
