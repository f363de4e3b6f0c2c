"""Names of patients, relatives and clinicians (tag ``NAME``), in mixed-case, all-caps and lower-case notes.

Cues: titles (``Dr. X``, ``Mrs X``), kinship and role words (``pt's husband Y``, ``daughter, Ann``, ``spoke
with X``), credentials and role words after a name (``X Y, RN``, ``Z (resident)``, ``X aware``), initials
(``N. Grandone``), known first names followed by a surname, known names that are not English or clinical
words, and in mixed-case notes capitalised words that are in no vocabulary. A word found as a name is then
redacted wherever else it occurs in the same note. Eponyms (Foley, Swan, Parkinson) are names only after a title.
"""

from __future__ import annotations

import re

from medcorpus.curation.phi_base import PhiDetectorBase, Span, gated
from medcorpus.curation.phi_words import COMMON, DICT, EPONYM, FIRST, FUNC, LAST, MEDICAL, PROPER, WordFlags

_NAMED = FIRST | LAST | PROPER
_KIN = (
    r"wife|husband|spouse|son|sons|daughters?|dtrs?|dau|mother|mom|father|dad|brothers?|bro|sisters?|sis|niece"
    r"|nephew|aunt|uncle|grand\s?sons?|grand\s?daughters?|grandaughter|grandchild|granddtr|cousin|friend|fiance"
    r"|fiancee|partner|boyfriend|girlfriend|caregiver|neighbou?r|guardian|proxy|hcp|poa|lawyer|attorney|sibling"
    r"|(?:son|daughter|dtr|sister|brother|mother|father)[\s-]in[\s-]law|companion|roommate|pastor|priest|rabbi"
)
_ROLE = (
    r"ho|house\s+officer|caseworker|case\s+manager|social\s+worker|sw|chaplain|nurse|rn|np|md|pa|resident|intern|fellow|attending"
    r"|pcp|surgeon|cardiologist|physician|doctor|therapist|pt/ot|ot|rrt|co-?worker|interpreter|translator"
    r"|contact(?:\s+person)?|name|pt\s+name|patient\s+name|signed|dictated\s+by|cc|paged|called|notified"
    r"|informed|updated|spoke\s+(?:with|to)|talked\s+(?:with|to)|discussed\s+with|aware|d/w|care\s+of|c/o|asked|told"
)
_PREP = r"per|by|with|w/|to|from|and|&|via|for|see|including|include|includes|like|contacted|page|call|notify"
_CUE = re.compile(
    r"(?<![\w\[])(?:(dr|drs|doctor|mr|mrs|ms|miss|mister|prof)\b\.?|(" + _KIN + r")(?:'s)?\b|(" + _ROLE + r")\b"
    r"|(" + _PREP + r")(?![\w/]))"
    r"[ \t]*(?:[:,(\"'\-]+[ \t]*)*(?:(?:is|was|named|called|who\s+is)[ \t]+)?",
    re.I,
)
_AFTER = (
    r"rn|r\.n\.|rrt|md|m\.d\.|np|pa-?c|pa|lpn|lcsw|licsw|msw|crna|dpt|pt|ot|pharmd|phd|bsn|msn|cnm|do"
    r"|\(?(?:resident|intern|fellow|attending|np|md|rn|pcp|sw|social\s+worker|nurse|ho|cardiology|renal|surgery"
    r"|wife|husband|son|daughter|dtr|sister|brother|mother|father|friend|niece|nephew|hcp|proxy|pt)\)"
    r"|aware|notified|paged|informed|made\s+aware|called|updated|in\s+to\s+see|at\s+bedside|visited|visiting"
    r"|here|present|phoned|spoke|ordered|wants|states|said|feels|agrees|agreed|came|saw|examined"
)
_BEFORE_CUE = re.compile(r"\(?(?:" + _AFTER + r")(?![\w.])", re.I)
_CUE_GATE = frozenset(
    """dr drs doctor mr mrs ms miss mister prof wife husband spouse son sons daughter daughters dtr dtrs dau mother
    mom father dad brother brothers bro sister sisters sis niece nephew aunt uncle grand grandson grandsons
    granddaughter granddaughters grandaughter grandchild granddtr cousin friend fiance fiancee partner boyfriend
    girlfriend caregiver neighbor neighbour guardian proxy hcp poa lawyer attorney sibling companion roommate pastor
    priest rabbi ho house caseworker case social sw chaplain nurse rn np md pa resident intern fellow attending pcp
    surgeon cardiologist physician therapist pt ot rrt co coworker interpreter translator contact name patient
    signed dictated cc paged called notified informed updated spoke talked discussed aware d care c asked told per
    by with w to from and via for see including include includes like contacted page call notify""".split()
)
_AFTER_GATE = frozenset(
    """rn r rrt md m np pa lpn lcsw licsw msw crna dpt pt ot pharmd phd bsn msn cnm do resident intern fellow
    attending pcp sw social nurse ho cardiology renal surgery wife husband son daughter dtr sister brother mother
    father friend niece nephew hcp proxy aware notified paged informed made called updated in at visited visiting
    here present phoned spoke ordered wants states said feels agrees agreed came saw examined""".split()
)
_RUN_TOKEN = re.compile(r"[ \t]*(?:[,/&][ \t]*|and[ \t]+)?([A-Za-z][A-Za-z'\-]*)(\.?)")
_FIRST_TOKEN = re.compile(r"[ \t]*([A-Za-z][A-Za-z'\-]*)(\.?)")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z'\-]*)\.?[ \t]*,?[ \t]*$")
_WORD = re.compile(r"(?:[A-Za-z][A-Za-z']*[A-Za-z]|[A-Za-z])(?!\d)")
_PERSON_ROLES = frozenset(
    "np rn md resident intern fellow attending nurse surgeon ho sw chaplain physician doctor".split()
)
_INITIAL = re.compile(r"(?<![\w.'/-])([A-Za-z])\.?[ \t]([A-Za-z][A-Za-z'\-]{2,})")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n\"(*>-])[ \t\d]*$")
# Endings of Latin, anatomical, microbial and drug words: a capitalised unknown word with one is no name.
_TERM_ENDING = re.compile(
    r"(?:ia|ium|ius|us|um|ae|ella|coccus|cocci|bacter|myces|itis|osis|emia|oma|ectomy|otomy|ostomy|plasty|scopy"
    r"|gram|graphy|ology|pathy|algia|uria|ine|ide|ate|azole|olol|pril|sartan|statin|parin|mycin|cillin|floxacin"
    r"|dipine|prazole|tidine|xaban|mab|nib|vir|cycline|sone|lone|pam|lam|zine|done|phen|fen|ase|gen|tol|dol|ic"
    r"|al|ary|ous|ive|ism|ist|ics|ed|ing|ment|ness|tion|sion|ly)$",
    re.I,
)
_UPPER, _LOWER = re.compile(r"[A-Z]"), re.compile(r"[a-z]")


def note_case(text: str) -> str:
    """``upper``, ``lower`` or ``mixed``: whether capitals carry information in this note."""
    upper, lower = len(_UPPER.findall(text)), len(_LOWER.findall(text))
    if upper > 2 * lower:
        return "upper"
    return "lower" if upper < lower / 40 else "mixed"


class NameDetector(PhiDetectorBase):
    """Person names, found by cue words, word lists and capitalisation; spans tagged ``NAME``."""

    name = "phi_name"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flag = WordFlags()

    # token tests ------------------------------------------------------------------------------------------
    @staticmethod
    def _long(token: str) -> bool:
        return len(token.removesuffix("'s")) > 1

    def after_title(self, token: str) -> bool:
        """Right after a title: anything but a function word."""
        return self._long(token) and not self.flag(token) & FUNC

    def cued(self, token: str, capital: bool, person: bool = False) -> bool:
        """After a kinship or role cue: a known name, or a word in no vocabulary; capitals help in mixed case.

        `person`: the cue names a person for sure (``son``, ``RN``), so first and last names count even when
        they are English words too (Rob, Will, Welsh)."""
        flag = self.flag(token)
        if not self._long(token) or flag & (FUNC | MEDICAL | EPONYM):
            return False
        if flag & _NAMED and (capital or not flag & COMMON or (person and flag & (FIRST | LAST))):
            return True
        return not flag & (COMMON | DICT | EPONYM)

    def listed(self, token: str) -> bool:
        """With no cue: a known name that is no English, clinical or eponym word."""
        flag = self.flag(token)
        return bool(flag & (FIRST | LAST)) and not flag & (COMMON | FUNC | MEDICAL | EPONYM) and len(token) > 2

    # detection --------------------------------------------------------------------------------------------
    def spans(self, text: str) -> list[Span]:
        case = note_case(text)
        mixed = case == "mixed"
        found: list[tuple[int, int]] = []
        for match in gated(_CUE, _CUE_GATE, text):
            title = match.group(1) is not None
            if match.group(4) is not None:
                found.extend(self._run_prep(text, match.end(), mixed))
                continue
            limit = 3 if title or match.group(2) else 2
            role = match.group(3)
            person = role is None or role.lower() in _PERSON_ROLES
            found.extend(self._run(text, match.end(), limit, title, mixed, strict=role is not None, person=person))
        for match in gated(_BEFORE_CUE, _AFTER_GATE, text):
            start = match.start()
            while start and text[start - 1] in " \t,(-":
                start -= 1
            if start and (text[start - 1].isalpha() or text[start - 1] == "."):
                found.extend(self._run_before(text, start, mixed))
        for match in _INITIAL.finditer(text):
            initial, token = match.group(1), match.group(2)
            if mixed and not (initial.isupper() and token[0].isupper()):
                continue
            flag = self.flag(token)
            dotted = text[match.end(1) : match.end(1) + 1] == "."
            unknown = not flag & (COMMON | DICT | EPONYM | FUNC | MEDICAL)
            if self.listed(token) or ((mixed or dotted) and unknown) or (dotted and flag & LAST and not flag & FUNC):
                found.extend((match.span(1), match.span(2)))
        words = list(_WORD.finditer(text))
        for index, match in enumerate(words):
            token = match.group()
            flag = self.flag(token)
            if not flag & _NAMED and not mixed:
                continue
            if self.listed(token):
                found.append(match.span())
            elif mixed and token[0].isupper() and not token.isupper() and len(token) > 2:
                if _SENTENCE_START.search(text, max(0, match.start() - 6), match.start()):
                    continue
                if not flag & (COMMON | DICT | EPONYM | FUNC | MEDICAL) and not _TERM_ENDING.search(token):
                    found.append(match.span())
            if flag & FIRST and not flag & (FUNC | MEDICAL) and index + 1 < len(words):
                nxt = words[index + 1]
                gap = text[match.end() : nxt.start()]
                capital = not mixed or (token[0].isupper() and nxt.group()[0].isupper())
                if capital and gap in (" ", "  ") and self.cued(nxt.group(), mixed) and self._long(nxt.group()):
                    if flag & COMMON == 0 or self.flag(nxt.group()) & LAST:
                        found.extend((match.span(), nxt.span()))
        return [(s, e, "NAME") for s, e in found]

    def _run(
        self, text: str, pos: int, limit: int, title: bool, mixed: bool, strict: bool, person: bool
    ) -> list[tuple[int, int]]:
        """Up to `limit` name tokens (initials allowed) starting at `pos`, on one line."""
        spans: list[tuple[int, int]] = []
        for index in range(limit):
            match = (_RUN_TOKEN if index else _FIRST_TOKEN).match(text, pos)
            if not match or "\n" in text[pos : match.start(1)]:
                break
            token = match.group(1)
            capital = mixed and token[0].isupper()
            if len(token) == 1:
                if index == limit - 1 or (token.lower() in "ai" and not token.isupper()):
                    break
                spans.append(match.span(1))
            elif (title and index == 0 and self.after_title(token)) or (
                self.cued(token, capital, person=person and index == 0)
                and (not strict or capital or not mixed or self.flag(token) & _NAMED)
            ):
                spans.append(match.span(1))
            else:
                break
            pos = match.end()
        while spans and spans[-1][1] - spans[-1][0] == 1:
            spans.pop()
        return spans

    def _run_prep(self, text: str, pos: int, mixed: bool) -> list[tuple[int, int]]:
        """After a preposition: a listed name, or (mixed case) capitalised names, up to two tokens."""
        spans: list[tuple[int, int]] = []
        for _ in range(2):
            match = _RUN_TOKEN.match(text, pos)
            if not match or "\n" in text[pos : match.start(1)] or len(match.group(1)) < 2:
                break
            token = match.group(1)
            if not (self.listed(token) or (mixed and token[0].isupper() and self.cued(token, True))):
                break
            spans.append(match.span(1))
            pos = match.end()
        return spans

    def _run_before(self, text: str, end: int, mixed: bool, limit: int = 3) -> list[tuple[int, int]]:
        """Up to `limit` name tokens (initials allowed) ending just before `end`, on the same line."""
        spans: list[tuple[int, int]] = []
        line_start = text.rfind("\n", 0, end) + 1
        while len(spans) < limit:
            match = _WORD_BEFORE.search(text, max(line_start, end - 40), end)
            if not match:
                break
            token = match.group(1)
            if not (len(token) == 1 or self.cued(token, mixed and token[0].isupper(), person=True)):
                break
            spans.append(match.span(1))
            end = match.start()
        return spans if any(e - s > 1 for s, e in spans) else []
