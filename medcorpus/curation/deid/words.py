"""Word lists that tell names and places from ordinary words (for the PHI detectors).

Sources, all installed from PyPI or written here: scikit-learn's English stop words, TextBlob's lexicon
(lower-case entries are common words, NNP entries proper nouns), Faker's lorem words and person-name lists
of many Latin-script locales, the `english-words` package's web2 and GCIDE dictionaries (rare English words),
Faker's US states and our clinical vocabulary (`medical_words`). Nothing comes from an evaluation corpus.
Each word gets one set of bit flags, computed once and cached.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from string import ascii_lowercase

from medcorpus.curation.deid.medical_words import CLINICAL, DRUGS, EPONYMS

FUNC, COMMON, DICT, FIRST, LAST, PROPER, MEDICAL, EPONYM = (1 << i for i in range(8))
NAME_LOCALES = (
    "en en_US en_GB en_IE en_IN en_NZ es es_ES es_MX it_IT de_DE fr_FR pl_PL pt_BR pt_PT nl_NL cs_CZ sk_SK sv_SE "
    "da_DK no_NO fi_FI hu_HU ro_RO hr_HR sl_SI tr_TR lt_LT lv_LV et_EE ga_IE en_NG"
).split()

# Note-taking words that follow the detectors' cue words (dr, son, to, ...) but are never names or places.
_NOTE_WORDS = """
dr drs mr mrs ms in-law carevue careview flowsheet metavision aware notified called paged informed updated
visited visit visiting phoned spoke speak spoken talked met meet present bedside team service resident
intern attending fellow staff nurse pt pts patient patients family primary covering oncall on-call house
housestaff consult consulted consulting surgery surgical medicine floor unit bed chair room home rehab
hospital clinic outside local community another other previous prior same this that these those here there
today tonight tomorrow yesterday now am pm noc night day evening morning afternoon shift hours min minutes
days weeks months years ago since until per via plan plans planned following follow followed needs need
wants wanted would will may might can could should must did does do done has have had having is was were be
been being are who which when where what while if then than also still again stable unstable alert oriented
awake asleep sedated intubated extubated vented lethargic confused agitated calm comfortable pain afebrile
cont continue continues continued given started stopped increased decreased weaned titrated held placed
removed changed inserted pulled seen evaluated examined assessed eval assessment exam repeat recheck check
checked brother sister wife husband son daughter dtr mother father friend members proxy aunt uncle niece
nephew cousin spouse partner children kids grandson granddaughter grandaughter overnite nite mod lg sm
monday tuesday wednesday thursday friday saturday sunday mon tues wed thur thurs fri sat sun january february
march april june july august september october november december jan feb apr jun jul aug sep sept oct nov dec
christmas easter thanksgiving english spanish russian cantonese mandarin italian french german polish chinese
portuguese greek haitian creole vietnamese korean arabic american african caucasian hispanic latino asian
""".split()


def fold(name: str) -> str:
    """Lower-case ASCII form of a name (accents removed)."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _faker_names() -> tuple[set[str], set[str]]:
    first: set[str] = set()
    last: set[str] = set()
    for locale in NAME_LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ImportError:
            continue
        for attribute in ("first_names", "first_names_male", "first_names_female", "last_names"):
            values = getattr(provider, attribute, ()) or ()
            for name in values.keys() if isinstance(values, dict) else values:
                for part in re.split(r"[\s-]+", fold(name)):
                    if re.fullmatch(r"[a-z][a-z']{1,}", part):
                        (last if attribute == "last_names" else first).add(part)
    return first, last


def _textblob_words() -> tuple[set[str], set[str]]:
    import textblob

    common: set[str] = set()
    proper: set[str] = set()
    lexicon = Path(textblob.__file__).parent / "en" / "en-lexicon.txt"
    for line in lexicon.read_text(encoding="utf-8").splitlines():
        word, _, tags = line.partition(" ")
        if not word.isalpha() or line.startswith(";;;"):
            continue
        if word[0].islower():
            common.add(word)
        elif tags.split()[:1] == ["NNP"]:
            proper.add(word.lower())
    return common, proper


def _dictionary_words() -> set[str]:
    import textblob

    try:  # the `english-words` package (web2 + GCIDE); without it, TextBlob's spelling list alone
        from english_words import get_english_words_set
    except ImportError:
        words: set[str] = set()
    else:
        words = {w for w in get_english_words_set(["web2", "gcide"], lower=False, alpha=True) if w[0].islower()}
    spelling = Path(textblob.__file__).parent / "en" / "en-spelling.txt"
    for line in spelling.read_text(encoding="utf-8").splitlines():
        if not line.startswith(";;;"):
            words.add(line.partition(" ")[0].lower())
    return words


def one_edit(word: str) -> set[str]:
    """Every string one delete, swap, substitution or insertion of a letter a-z away from `word` (itself too)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {a + b[1:] for a, b in splits if b} | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    return (
        edits
        | {a + c + b[1:] for a, b in splits if b for c in ascii_lowercase}
        | {a + c + b for a, b in splits for c in ascii_lowercase}
    )


_SUFFIXES = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", ""))


CACHE_LIMIT = 1 << 20  # spellings whose flags (or features) a process keeps before starting afresh


class WordFlags:
    """Flags of a token (lower-cased, possessive and contraction removed), inflected forms falling back to stems."""

    def __init__(self) -> None:
        self.table = word_flags()
        self.cache: dict[str, int] = {}

    def __call__(self, token: str) -> int:
        value = self.cache.get(token)
        if value is None:
            if len(self.cache) >= CACHE_LIMIT:  # bounded memory on a corpus of millions of notes
                self.cache.clear()
            value = self.cache[token] = self._lookup(token)
        return value

    def _lookup(self, token: str) -> int:
        word = token.lower().strip("'-")
        word = word.removesuffix("'s")
        if "'" in word:
            head = word.partition("'")[0]
            if len(head) > 1:
                word = head
        value = self.table.get(word)
        if value is not None:
            return value
        for suffix, replacement in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) > 2:
                stem = self.table.get(word[: -len(suffix)] + replacement, 0)
                if stem & (COMMON | DICT | MEDICAL):
                    return stem & (COMMON | DICT | MEDICAL | FUNC)
        return 0


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    """Lower-case US state names and abbreviations (Faker's en_US address provider)."""
    from faker.providers.address.en_US import Provider

    names = {fold(s) for s in Provider.states} | {s.lower() for s in Provider.states_abbr}
    return frozenset(names)


@lru_cache(maxsize=1)
def word_flags() -> dict[str, int]:
    """Bit flags (`FUNC`, `COMMON`, `DICT`, `FIRST`, `LAST`, `PROPER`, `MEDICAL`, `EPONYM`) for every known word."""
    from faker.providers.lorem.en_US import Provider as Lorem
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    common, proper = _textblob_words()
    first, last = _faker_names()
    flags: dict[str, int] = {}

    def mark(words, flag: int) -> None:
        for word in words:
            flags[word] = flags.get(word, 0) | flag

    mark(_dictionary_words(), DICT)
    mark(common | {w.lower() for w in Lorem.word_list}, COMMON)
    mark((set(ENGLISH_STOP_WORDS) - {"bill", "fire", "mill", "sue"}) | set(_NOTE_WORDS), FUNC | COMMON)
    mark(proper, PROPER)
    mark(first, FIRST)
    mark(last, LAST)
    mark(DRUGS | CLINICAL, MEDICAL | COMMON)
    mark(EPONYMS, EPONYM)
    return flags
