"""Token tests of the name detector: neighbours, initials, hyphenated and titled names, signatures, surnames.

`NameTokenRules` is mixed into `NameDetector`; its methods read the current note's tokens (`_text`,
`_tokens`, `_words`, `_mixed`) and the detector's `lex` (`NameLexicon`) and `flag` (`WordFlags`).
"""

from __future__ import annotations

import re

from medcorpus.curation.deid.names.lexicon import (
    AGENT_VERBS,
    CLAUSE_OPENERS,
    COPULAS,
    CUE_KINDS,
    GAP,
    K_KIN,
    PERSON,
    PLAIN_VERBS,
    TITLE,
    VOCAB,
    WORD_NAMES,
    NameLexicon,
)
from medcorpus.curation.deid.words import COMMON, DICT, EPONYM, FIRST, FUNC, LAST, MEDICAL, PROPER, WordFlags

INITIAL_GAP = re.compile(r"\.?[ \t]{1,2}")
GLUE = frozenset("-/'")


class NameTokenRules:
    """Tests on token indices of the current note (see module docstring)."""

    lex: NameLexicon
    flag: WordFlags
    _text: str
    _tokens: list[re.Match]
    _words: list[str]
    _mixed: bool

    def _joined(self, i: int, j: int) -> bool:
        """Tokens i < j are neighbours on one line, separated by spaces or light punctuation only."""
        return GAP.fullmatch(self._text, self._tokens[i].end(), self._tokens[j].start()) is not None

    def _single(self, i: int) -> bool:
        """A letter that may be an initial: not ``a``/``i`` in mixed case, not glued to ``-``, ``/`` or ``'``."""
        word = self._words[i]
        if len(word) != 1 or not word.isalpha() or (self._mixed and word in "ai"):
            return False
        start, end = self._tokens[i].span()
        after = self._text[end : end + 1]
        before = self._text[start - 1 : start]
        return after not in GLUE and (before not in GLUE or (before == "-" and after == "."))

    def _mixed_at(self, i: int) -> bool:
        """Capitals carry information at token i: a mixed-case note, outside an all-caps stretch (a nearest
        word of two or more letters is all-caps too)."""
        if not self._mixed or not self._words[i].isupper():
            return self._mixed
        words = self._words
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(words) and len(words[j]) < 2 and abs(j - i) < 3:
                j += step
            if 0 <= j < len(words) and len(words[j]) > 1 and words[j].isupper():
                return False
        return True

    def _ok(self, i: int, level: int, first: bool, cont: bool = False) -> bool:
        """Token i can be a name here (2+ letters, not glued to a slash as in ``dp/pt``)."""
        word = self._words[i]
        if len(word) < 2:
            return False
        start, end = self._tokens[i].span()
        if level < TITLE and (self._text[start - 1 : start] == "/" or self._text[end : end + 1] == "/"):
            return False
        return self.lex.nameish(word, level, self._mixed_at(i), first, cont and level >= PERSON)

    def _capital_pair(self, j: int) -> bool:
        """A capitalised word (even a common one) followed by a capitalised name-like word, after a strong cue."""
        word = self._words[j]
        if not self._mixed_at(j) or not word[0].isupper() or word.isupper() or j + 1 >= len(self._words):
            return False
        if self.flag(word) & (MEDICAL | EPONYM) or self.lex.clinical_shape(word, True) or len(word) < 3:
            return False
        nxt = self._words[j + 1]
        return nxt[0].isupper() and self._joined(j, j + 1) and self._ok(j + 1, PERSON, False)

    def _before_copula(self, j: int) -> bool:
        """Second part of a titled name followed by ``is``/``was``: no function or clinical word."""
        nxt = j + 1
        return (
            nxt < len(self._words)
            and self._words[nxt].lower() in COPULAS
            and not self.flag(self._words[j]) & (FUNC | MEDICAL)
            and self._words[j].isalpha()
        )

    def _initialled(self, j: int) -> bool:
        """A rare word (no common, clinical or eponym word) right after a dotted initial: ``E. FLETCHER aware``."""
        word, flag = self._words[j], self.flag(self._words[j])
        if not j or not word.isalpha() or flag & (COMMON | FUNC | MEDICAL | EPONYM) or not self._single(j - 1):
            return False
        if flag & DICT and not flag & (PROPER | FIRST | LAST):
            return False
        return self._text[self._tokens[j - 1].end() : self._tokens[j].start()] in (". ", ".  ")

    def _compound(self, i: int, j: int, level: int) -> bool:
        """A hyphenated double name (``Okonkwo-Baptiste``): capitalised parts, one of them name-like, no vocabulary."""
        first, second = self._words[i], self._words[j]
        if self._text[self._tokens[i].end() : self._tokens[j].start()] != "-" or min(len(first), len(second)) < 3:
            return False
        if self._mixed and not (first[0].isupper() and second[0].isupper()):
            return False
        if any(
            self.flag(w) & (FUNC | MEDICAL | EPONYM) or self.lex.clinical_shape(w, self._mixed) for w in (first, second)
        ):
            return False
        return self._ok(i, level, True) or self._ok(j, level, True)

    def _after_initial(self, j: int) -> bool:
        """A surname after a title and an initial (``Dr B Cellar``): capitalised (mixed case), even an English word."""
        word = self._words[j]
        if len(word) < 3 or not word.isalpha() or self.flag(word) & (FUNC | MEDICAL | EPONYM):
            return False
        if CUE_KINDS.get(word.lower(), 0) or self.lex.misspelt(word) and not self.flag(word):
            return False
        if not self._mixed_at(j):
            return not self.flag(word) & COMMON
        return word[0].isupper() and not word.isupper()

    def _clause_start(self, i: int) -> bool:
        """Token i opens a sentence, a bracket or a clause (after ``but``, ``and``, ...)."""
        before = self._text[max(0, self._tokens[i].start() - 4) : self._tokens[i].start()].rstrip(" \t")
        if not before or before[-1] in '.!?;:(\n"-':
            return True
        return i > 0 and self._words[i - 1].lower() in CLAUSE_OPENERS and self._joined(i - 1, i)

    def _subject(self, i: int) -> bool:
        """A first name as a clause's subject before a speech or state verb: ``TOBIAS IS SPEAKING``, ``Ilse states``."""
        word, nxt = self._words[i], i + 1
        if nxt >= len(self._words) or len(word) < 3 or not self._first_name(i):
            return False
        verb = self._words[nxt]
        low = verb.lower()
        if not (low in AGENT_VERBS or (low in PLAIN_VERBS and word.lower() not in WORD_NAMES)):
            return False
        if self._text[self._tokens[i].end() : self._tokens[nxt].start()] != " ":
            return False
        if self._mixed_at(i) and not (word[0].isupper() and verb.islower()):
            return False
        return self._clause_start(i)

    def _apposition(self, i: int, kinds: list[int]) -> bool:
        """``son in all day, supportive to pt, Tobias.``: a first name closing a sentence that names a relative."""
        start, end = self._tokens[i].span()
        if self._text[start - 2 : start] != ", " or self._text[end : end + 1] not in (".", "\n", ""):
            return False
        word = self._words[i]
        if word.lower() in WORD_NAMES or (self._mixed and not word[0].isupper()) or not self._first_name(i):
            return False
        for k in range(i - 1, max(-1, i - 12), -1):
            if "." in self._text[self._tokens[k].end() : self._tokens[k + 1].start()]:
                return False
            if kinds[k] & K_KIN:
                return True
        return False

    def _pairs(self, found: set[int]) -> list[int]:
        """``odile and kip``: an unknown word joined by ``and`` to a name found, with the same capitalisation."""
        words, out = self._words, []
        for i in found:
            k = i + 2
            if k >= len(words) or words[i + 1].lower() not in ("and", "&") or len(words[i]) < 3 or k in found:
                continue
            word = words[k]
            if len(word) < 3 or not word.isalpha() or self.flag(word) or not self._joined(i, k):
                continue
            if word[0].isupper() == words[i][0].isupper() and not self.lex.clinical_shape(word, self._mixed_at(k)):
                if not self.lex.misspelt(word):
                    out.append(k)
        return out

    def _first_name(self, j: int) -> bool:
        word = self._words[j]
        flag = self.flag(word)
        return (
            bool(flag & FIRST)
            and not flag & (FUNC | MEDICAL | EPONYM)
            and not self.lex.clinical_shape(word, self._mixed_at(j))
        )

    def _plain_name(self, word: str) -> bool:
        """A listed name of 4+ letters that is no misspelling of a known word."""
        return len(word) > 3 and not self.lex.misspelt(word)

    def _signature(self, i: int) -> bool:
        """A name alone at the end of a line or note, after a full stop (a nurse's signature)."""
        start, end = self._tokens[i].span()
        after = self._text[end : end + 80].lstrip(" \t")
        return (not after or after[0] == "\n") and self._text[:start].rstrip(" \t").endswith((".", "\n"))

    def _initial(self, i: int, nxt: int) -> bool:
        """Initial + surname: ``N. Varga``, ``J Wrenfield``."""
        word, token = self._words[i], self._words[nxt]
        if (
            len(token) < 3
            or not self._single(i)
            or not INITIAL_GAP.fullmatch(self._text, self._tokens[i].end(), self._tokens[nxt].start())
        ):
            return False
        mixed = self._mixed_at(nxt)
        if mixed and not (word.isupper() and token[0].isupper()):
            return False
        dotted = self._text[self._tokens[i].end() : self._tokens[i].end() + 1] == "."
        flag = self.flag(token)
        if self.lex.listed(token):
            return True
        if flag & (FUNC | MEDICAL | EPONYM) or self.lex.clinical_shape(token, mixed):
            return False
        if dotted and self._initialled(nxt):
            return True
        unknown = not flag & VOCAB and not self.lex.misspelt(token)
        return (dotted or mixed) and (unknown or bool(flag & LAST and dotted and not flag & COMMON))

    def _surname(self, i: int, nxt: int) -> bool:
        """Known first name followed by a surname-like word (both capitalised in mixed case)."""
        word, token = self._words[i], self._words[nxt]
        if self._text[self._tokens[i].end() : self._tokens[nxt].start()] not in (" ", "  "):
            return False
        mixed = self._mixed_at(i)
        if mixed and not (word[0].isupper() and token[0].isupper()):
            return False
        if not self.lex.nameish(token, PERSON, mixed) or len(token) < 2:
            return False
        flag = self.flag(token)
        if mixed:
            return not self.flag(word) & COMMON or bool(flag & LAST) or not flag & VOCAB
        if flag & COMMON or (not flag & (FIRST | LAST) and (flag & VOCAB or self.lex.misspelt(token))):
            return False
        return not self.flag(word) & COMMON or bool(flag & LAST) or len(token) > 3
