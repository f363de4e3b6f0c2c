"""Word-level rules of the name detector: cue words, token shapes, misspellings and per-token name evidence.

Cue words come in strengths: a title (``Dr``, ``Mrs``) makes almost any next word a name, kinship words and
person roles (``son``, ``RN``) make a known or unknown word a name, and weak cues (``per``, ``aware``, ``spoke
with``) only a word that looks like a name on its own. Tokens with digits, clinical abbreviations (all-caps in
a mixed-case note, internal capitals, abbreviation plurals such as ``TVs``) and misspellings of common or
clinical words (one edit away) are never names unless a title precedes them.
"""

from __future__ import annotations

import re

from medcorpus.curation.deid.words import COMMON, DICT, EPONYM, FIRST, FUNC, LAST, MEDICAL, PROPER, WordFlags, one_edit

TITLE, PERSON, AFTER, WEAK = 4, 3, 2, 1
NAMED = FIRST | LAST | PROPER
VOCAB = COMMON | DICT | EPONYM | FUNC | MEDICAL

# Cue kinds, one bit each (a token may be several).
K_TITLE, K_KIN, K_ROLE, K_VERB, K_PREP, K_CRED, K_AFTER, K_SPEECH = (1 << i for i in range(8))

_TITLES = "dr drs mr mrs ms miss mister prof"
_KIN = """wife husband spouse son sons daughter daughters dtr dtrs dau dgtr mother mom father dad brother brothers
bro sister sisters sis niece nephew aunt uncle grandson grandsons granddaughter granddaughters grandaughter
grandchild granddtr cousin friend fiance fiancee partner boyfriend girlfriend caregiver neighbor neighbour guardian
proxy hcp poa sibling companion roommate pastor priest rabbi lawyer attorney"""
_ROLES = """ho caseworker chaplain nurse rn np md pa resident intern fellow attending pcp surgeon cardiologist
physician doctor therapist rrt coworker interpreter translator sw"""
_VERBS = """paged called notified informed updated asked told signed dictated contact contacted reach reached name
phoned page call notify cc"""
_SPEECH = "spoke speak spoken talked talk discussed met"
_PREPS = "per by with w to from and via for see including include includes like"
_CREDS = """rn rrt md np pa pac lpn lcsw licsw msw crna dpt pharmd phd bsn msn cnm resident intern fellow
attending pcp sw nurse ho"""
_AFTER = """aware notified paged informed called updated visited visiting here present phoned spoke ordered wants states
said feels agrees agreed came saw examined"""
CUE_KINDS: dict[str, int] = {}
for _words, _kind in ((_TITLES, K_TITLE), (_KIN, K_KIN), (_ROLES, K_ROLE), (_VERBS, K_VERB), (_PREPS, K_PREP),
                      (_CREDS, K_CRED), (_AFTER, K_AFTER), (_SPEECH, K_SPEECH)):  # fmt: skip
    for _word in _words.split():
        CUE_KINDS[_word] = CUE_KINDS.get(_word, 0) | _kind
# Words that may sit between a cue and the name (``son is Kip``, ``wife named Odile``).
FILLERS = frozenset("is was named called who his her pt's patient's".split())
# Verbs after a first name at the start of a clause that make it a person (``TOBIAS STATES``, ``Ilse is away``):
# agent verbs for any first name, plain verbs only for first names that are no everyday English word.
AGENT_VERBS = frozenset(
    "states stated said says reports reported called visited spoke asked wants wanted agrees".split()
)
PLAIN_VERBS = frozenset("is was does did will has had would".split())
WORD_NAMES = frozenset(
    """hope will faith joy grace mark may june april august summer dawn patience art chase frank rich ray pat sue
    don gene jack eve bill rose ivy holly amber ruby crystal pearl iris daisy lily violet heather autumn star sky
    river stone rock price glen dale wade lane drew bud guy sunny rusty misty candy honey penny precious destiny
    trinity unity liberty harmony melody charity mercy prudence constance earnest noble king prince duke major
    baron sterling hunter carol christian sharon case fair gay golden brown green gray grey black white tan grand
    young long short little page bell hill line""".split()
)
# Words before a clause's subject (``but Tobias does not``).
CLAUSE_OPENERS = frozenset("but and so when then because while since though although".split())
# Words after a name that end it (``Mr. X Y is a 70 yo``).
COPULAS = frozenset("is was has had who will".split())

# Separators allowed between a cue and a name, or between the parts of a name (on one line).
GAP = re.compile(r"[ \t]{1,3}|[ \t]*[:,()\"'/&.\-]{1,3}[ \t]*|\.[ \t]{1,3}|[ \t]+(?:and|&)[ \t]+")
PLURAL_ABBREV = re.compile(r"[A-Z]{2,}'?s")
VOWEL = re.compile(r"[aeiouyAEIOUY]")
O_NAME = re.compile(r"[OoDd]'[A-Za-z]{2,}")
MC_NAME = re.compile(r"(?:Mc|Mac|O'|De|Di|Da|La|Le|Van|St)[A-Z][a-z]+|O'[a-z]{2,}|[A-Z][a-z]+|[A-Z][a-z]+-[A-Z][a-z]+")
# Endings of Latin, anatomical, microbial and drug words: an unknown word with one is no name by itself.
TERM_ENDING = re.compile(
    r"(?:ia|ium|ius|us|um|ae|ella|coccus|cocci|bacter|myces|itis|osis|emia|oma|ectomy|otomy|ostomy|plasty|scopy"
    r"|gram|graphy|ology|pathy|algia|uria|ine|ide|ate|azole|olol|pril|sartan|statin|parin|mycin|cillin|floxacin"
    r"|dipine|prazole|tidine|xaban|mab|nib|vir|cycline|sone|lone|pam|lam|zine|done|phen|fen|ase|gen|tol|dol|ic"
    r"|al|ary|ous|ive|ism|ist|ics|ed|ing|ment|ness|tion|sion|ly|az|ox|arb|ate|ol)$",
    re.I,
)
_UPPER_BYTES = bytes(range(65, 91))
_LOWER_BYTES = bytes(range(97, 123))
_NOT_UPPER = bytes(b for b in range(256) if b not in _UPPER_BYTES)
_NOT_LOWER = bytes(b for b in range(256) if b not in _LOWER_BYTES)


def note_case(text: str) -> str:
    """``upper``, ``lower`` or ``mixed``: whether capitals carry information in this note."""
    raw = text.encode("latin-1", "ignore")
    upper, lower = len(raw.translate(None, _NOT_UPPER)), len(raw.translate(None, _NOT_LOWER))
    if upper > 2 * lower:
        return "upper"
    return "lower" if upper < lower / 40 else "mixed"


class NameLexicon:
    """Per-token evidence for names, cached per token string: flags, shape, misspelling of a known word."""

    def __init__(self) -> None:
        self.flag = WordFlags()
        table = self.flag.table
        self.known = frozenset(w for w, f in table.items() if f & (COMMON | MEDICAL) and len(w) > 2)
        self._near: dict[str, bool] = {}

    def misspelt(self, token: str) -> bool:
        """One edit (delete, insert, substitute, swap) away from a common or clinical word of 4+ letters."""
        word = token.lower().removesuffix("'s")
        value = self._near.get(word)
        if value is None:
            value = self._near[word] = len(word) > 3 and not one_edit(word).isdisjoint(self.known)
        return value

    def clinical_shape(self, token: str, mixed: bool) -> bool:
        """Digits, abbreviation plurals, internal capitals, or (mixed case) all-caps: an abbreviation, no name."""
        core = token.removesuffix("'s")
        if not core.isalpha() and not O_NAME.fullmatch(core):
            return True
        if PLURAL_ABBREV.fullmatch(token):
            return True
        if mixed and token.isupper():
            return True
        return not token.islower() and not token.isupper() and not MC_NAME.fullmatch(core)

    def nameish(self, token: str, level: int, mixed: bool, first: bool = False, cont: bool = False) -> bool:
        """Whether `token` (2+ letters) can be a name after a cue of strength `level` (`TITLE` ... `WEAK`).

        `mixed`: capitals carry information here. `first`: the token is the first after the cue. `cont`: it
        continues a name already found (``Odile VARGA``, ``Ilse Wrenfield``), so capitals and spelling matter less."""
        flag = self.flag(token)
        if flag & FUNC:
            return False
        if level == TITLE and first:
            core = token.removesuffix("'s")
            return core.isalpha() or O_NAME.fullmatch(core) is not None
        if cont and mixed and token.isupper() and len(token) > 2:
            mixed = False
        if self.clinical_shape(token, mixed):
            return False
        capital = mixed and token[0].isupper()
        if flag & MEDICAL:
            return level >= PERSON and capital and bool(flag & FIRST) and not token.isupper()
        if flag & EPONYM:
            return level >= PERSON and (capital or not mixed)
        if mixed and not capital and level < PERSON:
            return False
        if level == WEAK and not mixed:
            return self.listed(token)
        if flag & (FIRST | LAST):
            if capital or not flag & COMMON:
                return True
            return level >= PERSON and first and not mixed
        if flag & COMMON:
            return False
        if flag & (DICT | PROPER):
            return (level >= PERSON and not flag & DICT) or (level >= PERSON and first and (capital or not mixed))
        titled = token[0].isupper() and not token.isupper()
        if not VOWEL.search(token) or (level < PERSON and len(token) < 4):
            return False
        if (level < PERSON or (len(token) > 5 and not cont and not titled)) and self.misspelt(token):
            return False
        return level >= PERSON or not TERM_ENDING.search(token)

    def listed(self, token: str) -> bool:
        """With no cue: a known first or last name that is no English, clinical or eponym word."""
        flag = self.flag(token)
        return bool(flag & (FIRST | LAST)) and not flag & (COMMON | FUNC | MEDICAL | EPONYM) and len(token) > 2
