"""Residual PHI detection: names, dates, places, ids, phones, ages and contacts that de-identification missed.

Patterns and word lists only (no model): general cues such as titles, kinship words, credentials,
date shapes and place prepositions, with common-word lists (scikit-learn's stop words, TextBlob's
English lexicon, Faker's name lists) to tell names from ordinary words. Spans carry the tags of
`medcorpus.curation.deid`. Never logs text.
"""

from __future__ import annotations

import re

from medcorpus.curation.phi_words import _NOT_NAMES, _name_lists, _word_lists

TAGS = ("NAME", "DATE", "HOSPITAL", "LOCATION", "ID", "PHONE", "AGE>89", "CONTACT", "PHI")
_TAG_TEXT = re.compile(r"\[(?:" + "|".join(re.escape(tag) for tag in TAGS) + r")\]")

# Clinical and note-taking words that follow names' usual cue words (dr, son, to, ...) but are never names.
_FACILITY_GENERIC = (
    r"hospital|hosp|hospiatal|medical\s+center|med\s+center|medical\s+ctr|med\s+ctr|rehab(?:ilitation)?"
    r"(?:\s+center)?|nursing\s+home|nursing\s+facility|assisted\s+living|house|clinic|health\s+center|healthcare"
    r"|health|manor|hospice|nh|snf|ltac|campus|building|bldg|heart\s+center|cancer\s+center"
)
_FACILITY_NAMED = r"memorial|adventist|general|square|vamc"
_KIN = (
    r"wife|husband|spouse|son|sons|daughters?|dtrs?|mother|mom|father|dad|brothers?|sisters?|niece|nephew"
    r"|aunt|uncle|grand\s?sons?|grand\s?daughters?|grandaughter|grandchild|cousin|friend|fiance|fiancee|partner"
    r"|boyfriend|girlfriend|caregiver|neighbou?r|guardian|proxy|hcp|poa|lawyer|attorney"
    r"|(?:son|daughter|dtr|sister|brother)[\s-]in[\s-]law"
)
_RELATION = (
    r"caseworker|case\s+manager|social\s+worker|chaplain|nurse|contact\s+person|contact|name|patient\s+name"
    r"|pt\s+name|surgeon|pcp|signed|dictated\s+by|attending|resident|intern|fellow|cc|ho|np|md|rn|pa|per"
)
_CREDENTIAL = r"rn|r\.n\.|rrt|md|m\.d\.|np|pa-?c|lpn|lcsw|licsw|msw|crna|dpt|pharmd|phd|bsn|msn|cnm"
_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_TOKEN = r"[A-Za-z][A-Za-z'\-]*"
_NOT_TAG = r"(?<![\[\w])"
_SUFFIXES = "ing ed ly tion sion ment ness ous ive able ible ical itis sis emia uria algia pathy ectomy otomy plasty"
_DRUG_STEMS = "cillin mycin floxacin azole pril sartan olol statin parin xaban dipine prazole tidine phen done pam lam"
_NAME_SUFFIXES = tuple(
    (_SUFFIXES + " scopy gram graphy ology ase ine ide ate ism ist ists ics ol al " + _DRUG_STEMS).split()
    + "zine mab nib vir cycline sone lone pine xin exin cin profen".split()
)
_PLACE_SUFFIXES = tuple("town ville burg burgh boro borough field port mouth chester haven wood dale".split())

_TITLE = re.compile(_NOT_TAG + r"(?:dr|drs|doctor|mr|mrs|ms|miss|mister|prof)\b(?:\.|')?[ \t]*", re.I)
_CONTEXT = re.compile(
    _NOT_TAG + r"(?:(" + _KIN + r")|" + _RELATION + r")\b[ \t]*(?:[:,(\"'\-]+[ \t]*)*(?:is[ \t]+|named[ \t]+)?", re.I
)
_BEFORE_CREDENTIAL = re.compile(r"(?<=[A-Za-z.])[ \t]*,?[ \t]*\b(?:" + _CREDENTIAL + r")(?![\w.])", re.I)
_IS_A_AGE = re.compile(
    r"^[ \t]*((?:" + _TOKEN + r"[ \t]+)?" + _TOKEN + r")[ \t]+(?:is|was)[ \t]+an?[ \t]+\d{1,3}[ \t-]*"
    r"(?:yo|y/o|y\.o|yr|year)",
    re.I | re.M,
)
_INITIAL_NAME = re.compile(r"(?<![\w.'])([A-Za-z])\.[ \t]?([A-Za-z][A-Za-z'\-]{2,})")
_PAIR = re.compile(r"(?<![\w'\[-])([A-Za-z][A-Za-z'\-]+)[ \t]+([A-Za-z][A-Za-z'\-]+)")
_FACILITY_RE = re.compile(r"(?<![\w\[])(?:(" + _FACILITY_NAMED + r")|" + _FACILITY_GENERIC + r")\b", re.I)
_PLACE_PREFIX = re.compile(
    r"(?<![\w\[])(?:university[ \t]+of|univ\.?[ \t]+of|u[ \t]?of|saint|st\.|st(?=[ \t]+\w+'s)|mt\.|mount|holy|fort)"
    r"[ \t]+" + _TOKEN + r"(?:[ \t]+" + _TOKEN + r")?",
    re.I,
)
_MOVE_PLACE = re.compile(
    r"(?:transferr?ed|transfer|tx'?d|txr|admitted|went|go|going|came|sent|brought|flighted|medflight"
    r"|arrived|discharged|returned|back|accepted|lives|living|resides|moved|vacation|visiting|visit|works)\b"
    r"[^.\n]{0,25}?\b(?:to|from|at|in|for)[ \t]+(?:the[ \t]+)?(" + _TOKEN + r"(?:[ \t]+" + _TOKEN + r")?)",
    re.I,
)
_WARD = re.compile(r"\b(?:to|from|at|in|on)[ \t]+(" + _TOKEN + r")[ \t]*\d\b(?![\d.:/%])", re.I)
_ABBREV_PLACE = re.compile(r"\b(?:to|from|at|in)[ \t]+(?:the[ \t]+)?([A-Za-z]{2,4})\b(?![\w/'&-])", re.I)

_DATE_PATTERNS = (
    r"\b\d{4}-\d{1,2}-\d{1,2}\b",
    r"(?<![\d/])(?<!\d\.)\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})(?![\d/])",
    r"(?<![\d/:])(?<!\d\.)(?!1/[234]\b|2/3\b|3/4\b|(\d+)/\1\b)(?:1[0-2]|0?[1-9])/(?:3[01]|[12]\d|0?[1-9]|[3-9]\d)"
    r"(?![\d/%]|\.\d)(?![ \t]*(?:ns|strength|assist|normal|of\b|x\b))",
    r"\b(?:" + _MONTH + r")\.?[ \t]+\d{1,2}(?:st|nd|rd|th)?\b(?:,?[ \t]*\d{4})?",
    r"\b\d{1,2}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?(?:" + _MONTH + r")\b\.?(?:,?[ \t]*\d{4})?",
    r"\b(?:" + _MONTH + r")\.?,?[ \t]+(?:19|20|21)\d{2}\b",
    r"\bthe[ \t]+\d{1,2}(?:st|nd|rd|th)\b",
    r"(?<![\d:/])(?<!\d\.)(?:19[6-9]\d|20[6-9]\d|21[6-9]\d)\b"
    r"(?![\d:/]|\.\d|[ \t]*(?:cc|ml|mg|units?|kcal|hrs?|pm|am)\b)",
    r"(?<![\d'])'\d{2}\b|(?<![\w.'/])\d{2}'(?![\d\w])",
)
_DATE = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS), re.I)
_UNIT_AFTER = (
    r"(?![\d:/%']|\.\d|[ \t]*(?:-|to|x|hrs?|hours?|min|mins|minutes|days?|wks?|weeks?|mos?|months?|yrs?|years?"
    r"|secs?|cc|ml|mg|mcg|units?|mm|cm|kg|lbs?|liters?|l|%|beats|bpm|breaths|times|yo|y/o|kcal|pm|am)\b)"
)
# Years written after a cue word (last group): "since 2006", "CABG 81".
_DATE_AFTER_CUE = re.compile(
    r"\b(?:in|since|of|year)[ \t]+((?:19|20|21)\d{2})\b" + _UNIT_AFTER + r"|\b(?:cabg|mi|cva|tia|avr|mvr|ptca|pci"
    r"|redo|stent|pacer|turp|ablation|resection|repair|surgery|dx)[ \t]+((?:19|20|21)\d{2}|\d{2})\b" + _UNIT_AFTER,
    re.I,
)
_PHONE = re.compile(
    r"(?<![\d./])\(?\d{3}\)?(?:[ \t]*[-./][ \t]*|[ \t]+)\d{3}(?:[ \t]*[-./][ \t]*|[ \t]+)\d{4,5}(?![\d/])"
    r"(?:[ \t]*(?:x|ext\.?)[ \t]*\d{1,5})?"
    r"|(?<![\d./])\(?\d{3}\)?[ \t]*\d{7}\b|(?<![\d./])\(?\d{6}-\d{4}\)?|(?<![\d./-])\d{3}-\d{4}\b(?!-)"
    r"|\b(?:pager|pgr|pg|beeper|beep|cell|phone|tel|telephone|fax|ph)\.?(?:[ \t]*(?:#|no\.?|number|:))*[ \t]*\d{4,}"
    r"|\b(?:home|work|office|cell)[ \t]*(?:#|:)[ \t]*\d{4,}",
    re.I,
)
_ID = re.compile(
    r"\b(?:mrn|mr#|medical[ \t]+record(?:[ \t]+(?:number|no\.?|#))?|unit[ \t]+(?:no|number)\.?|acct|account"
    r"(?:[ \t]+(?:number|no\.?))?|ssn|social[ \t]+security(?:[ \t]+number)?|(?:patient|pt|hospital|record)[ \t]+"
    r"(?:id|number|no\.?|#)|id(?:[ \t]+(?:number|no\.?))?)[ \t]*[:#.]*[ \t]*(?=[A-Za-z]{0,3}\d)([A-Za-z0-9-]{4,})"
    r"|(?<![\d.,/:-])\d{7,}(?![\d.,/])",
    re.I,
)
_AGE = re.compile(
    r"\b(?:9\d|1[01]\d)(?=[ \t]*-?[ \t]*(?:yo|y/o|y\.o\.?|yr|yrs|year|years|y|yof|yom)\b)"
    r"|(?<=\bage[ \t])(?:9\d|1[01]\d)\b|(?<=\baged[ \t])(?:9\d|1[01]\d)\b",
    re.I,
)
_MOVED = re.compile(r"transf|admit|sent|went|came|taken|brought|arriv|return|referr|flight|tx|leave|retired", re.I)
_PREP_PLACE = re.compile(r"\b(?:in|from|of|at|to|near)[ \t]+([A-Z][a-z]{3,})\b(?![-'])")
_VENT_CONTEXT = re.compile(
    r"\b(?:ps|psv|peep|cpap|bipap|simv|imv|a/?c|vent|ipap|epap|settings?|strength|pain)\b\W*$", re.I
)
_UPPER, _LOWER = re.compile(r"[A-Z]"), re.compile(r"[a-z]")
_CONTACT_SHAPE = re.compile(r"@|www\.|://|\.(?:com|org|net|edu|gov)\b", re.I)
_RUN_TOKEN = re.compile(r"[ \t]*(?:,[ \t]*)?([A-Za-z][A-Za-z'\-]*)(\.?)")
_AND_NAME = re.compile(r"[ \t]*(?:and|&|/)[ \t]*(?:dr\.?[ \t]*)?([A-Za-z][A-Za-z'\-]+)", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z'\-]*)\.?[ \t]*,?[ \t]*$")


class PhiDetector:
    """Finds residual PHI spans in clinical text with patterns, context cues and word lists.

    Known names come from Faker's person-name lists (English, Irish, Spanish, Italian, German, French,
    Polish, Portuguese locales) and the proper nouns of TextBlob's lexicon; common English words (TextBlob's
    lexicon, stop words) and clinical words are taken as names only after a strong cue such as ``Dr.``.
    A word found as a name or place is then replaced wherever else it occurs in the same note.
    """

    NAME_LOCALES = ("en", "en_US", "en_GB", "en_IE", "es", "es_MX", "it_IT", "de_DE", "fr_FR", "pl_PL", "pt_BR")

    def __init__(self):
        import scrubadub.detectors as detectors

        self.function_words, common, nouns, proper = _word_lists()
        first, last = _name_lists(self.NAME_LOCALES)
        # Names that are also plain nouns in the lexicon (Grace, Joy, Bill, William): names in context only.
        ambiguous = (first | last) & nouns
        self.common_words = frozenset(common - ambiguous)
        self.names = (first | last | proper) - self.function_words - set(_NOT_NAMES)
        self.all_first_names = frozenset(first - set(_NOT_NAMES))
        self.rare_names = frozenset(w for w in (first | last) - common - set(_NOT_NAMES) if len(w) > 2)
        self.scrubbers = [detectors.EmailDetector(), detectors.UrlDetector(), detectors.PhoneDetector(locale="en_US")]

    # token tests ----------------------------------------------------------------------------------------
    @staticmethod
    def _word(token: str) -> str:
        return token.lower().removesuffix("'s").strip("'-")

    def lenient(self, token: str) -> bool:
        """A token right after a strong cue (title, credential): anything but a function or clinical word."""
        word = self._word(token)
        return len(word) > 1 and word not in self.function_words and word not in _NOT_NAMES

    def strict(self, token: str) -> bool:
        """A token after a weak cue: a known name, or a word that is neither common nor English-looking."""
        word = self._word(token)
        if len(word) < 2 or word in self.function_words or word in _NOT_NAMES:
            return False
        if word in self.names and word not in self.common_words:
            return True
        stem_ok = not any(word.endswith(s) and len(word) - len(s) > 3 for s in _NAME_SUFFIXES)
        return word not in self.common_words and stem_ok and not (word.endswith("s") and word[:-1] in self.common_words)

    def kin(self, token: str) -> bool:
        """A token after a kinship word: any first name (even a common word such as Bill or Grace), else strict."""
        word = self._word(token)
        return (word in self.all_first_names and word not in self.function_words) or self.strict(token)

    def name_run(self, text: str, pos: int, first_lenient: bool, limit: int = 3, kin: bool = False):
        """Spans of up to `limit` name tokens (initials allowed) starting at `pos`."""
        spans: list[tuple[int, int]] = []
        for index in range(limit):
            match = _RUN_TOKEN.match(text, pos)
            if not match or "\n" in text[pos : match.start(1)]:
                break
            token = match.group(1)
            if len(token) == 1:
                if index == limit - 1 or token.lower() in "ai":
                    break
                spans.append(match.span(1))
            elif (self.lenient if first_lenient and index == 0 else self.kin if kin else self.strict)(token):
                spans.append(match.span(1))
            else:
                break
            pos = match.end()
        while spans and spans[-1][1] - spans[-1][0] == 1:
            spans.pop()
        return spans

    # detection ------------------------------------------------------------------------------------------
    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping `(start, end, tag)` spans of residual PHI, sorted; existing ``[TAG]`` tags are kept."""
        found: list[tuple[int, int, str]] = []
        for detector in self.scrubbers:
            tag = "PHONE" if detector.name == "phone" else "CONTACT"
            for filth in detector.iter_filth(text):
                if tag == "PHONE" or _CONTACT_SHAPE.search(filth.text):
                    found.append((filth.beg, filth.end, tag))
        for pattern, tag in ((_PHONE, "PHONE"), (_AGE, "AGE>89")):
            found.extend((m.start(), m.end(), tag) for m in pattern.finditer(text))
        for match in _DATE.finditer(text):
            if not _VENT_CONTEXT.search(text, max(0, match.start() - 12), match.start()):
                found.append((match.start(), match.end(), "DATE"))
        found.extend((m.start(m.lastindex or 0), m.end(), "ID") for m in _ID.finditer(text))
        found.extend((*m.span(m.lastindex or 0), "DATE") for m in _DATE_AFTER_CUE.finditer(text))
        names = self._names(text)
        places = self._places(text)
        found.extend(names + self._propagate(text, names, "NAME"))
        found.extend(places + self._propagate(text, places, "HOSPITAL"))
        protected = [m.span() for m in _TAG_TEXT.finditer(text)]
        return _merge([s for s in found if not any(s[0] < e and b < s[1] for b, e in protected)])

    def _names(self, text: str) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int]] = []
        for match in _TITLE.finditer(text):
            run = self.name_run(text, match.end(), first_lenient=True)
            spans.extend(run)
            more = _AND_NAME.match(text, run[-1][1]) if run else None
            if more and self.strict(more.group(1)):
                spans.append(more.span(1))
        for match in _CONTEXT.finditer(text):
            spans.extend(self.name_run(text, match.end(), first_lenient=False, limit=2, kin=bool(match.group(1))))
        for match in _BEFORE_CREDENTIAL.finditer(text):
            spans.extend(self._run_before(text, match.start()))
        for match in _IS_A_AGE.finditer(text):
            tokens = list(_WORD.finditer(text, match.start(1), match.end(1)))
            if all(self.lenient(t.group()) for t in tokens):
                spans.extend(t.span() for t in tokens)
        for match in _INITIAL_NAME.finditer(text):
            if self.strict(match.group(2)):
                spans.extend((match.span(1), match.span(2)))
        for match in _PAIR.finditer(text):
            first, second = match.group(1), match.group(2)
            if not self.strict(second):
                continue
            if self.strict(first) and (first.lower() in self.all_first_names or second.lower() in self.names):
                spans.extend((match.span(1), match.span(2)))
            elif first.istitle() and second.istitle() and self.kin(first):
                spans.extend((match.span(1), match.span(2)))
        spans.extend(m.span() for m in _WORD.finditer(text) if m.group().lower() in self.rare_names)
        return [(s, e, "NAME") for s, e in spans]

    def _run_before(self, text: str, end: int, limit: int = 3, lenient: bool = False) -> list[tuple[int, int]]:
        """Up to `limit` name-like tokens (initials allowed) ending just before `end`, on the same line."""
        spans: list[tuple[int, int]] = []
        line_start = text.rfind("\n", 0, end) + 1
        accept = self.lenient if lenient else self.strict
        while len(spans) < limit:
            match = _WORD_BEFORE.search(text, max(line_start, end - 40), end)
            if not match or not (len(match.group(1)) == 1 or accept(match.group(1))):
                break
            spans.append(match.span(1))
            end = match.start()
        return spans if any(e - s > 1 for s, e in spans) else []

    def _propagate(self, text: str, spans: list[tuple[int, int, str]], tag: str) -> list[tuple[int, int, str]]:
        """Other occurrences, in the same note, of words already found (names or places)."""
        words = {text[s:e].lower() for s, e, _t in spans if e - s > 2}
        words = {w for w in words if w.isalpha() and w not in self.common_words and w not in _NOT_NAMES}
        if not words:
            return []
        pattern = re.compile(r"(?<![A-Za-z])(?:" + "|".join(map(re.escape, sorted(words))) + r")(?![a-z])", re.I)
        return [(*m.span(), tag) for m in pattern.finditer(text)]

    def _places(self, text: str) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int, str]] = []
        for match in _FACILITY_RE.finditer(text):
            before = self._run_before(text, match.start(), limit=2)
            named = match.group(1)
            if named and (before or (named.lower() != "general" and (named.isupper() or named.istitle()))):
                before.append(match.span(1))
            spans.extend((s, e, "HOSPITAL") for s, e in before)
        spans.extend((m.start(), m.end(), "HOSPITAL") for m in _PLACE_PREFIX.finditer(text))
        for pattern, tag in ((_MOVE_PLACE, "LOCATION"), (_WARD, "HOSPITAL")):
            for match in pattern.finditer(text):
                for token in _WORD.finditer(text, match.start(1), match.end(1)):
                    if not self.strict(token.group()):
                        break
                    spans.append((*token.span(), tag))
        upper_note = len(_UPPER.findall(text)) > len(_LOWER.findall(text))
        for match in _ABBREV_PLACE.finditer(text):
            word = match.group(1)
            moved = not upper_note or _MOVED.search(text, max(0, match.start() - 30), match.start())
            if moved and word.isupper() and self._unknown(word):
                spans.append((*match.span(1), "HOSPITAL"))
        if not upper_note:
            for match in _PREP_PLACE.finditer(text):
                if self.strict(match.group(1)) and match.group(1).lower() not in self.names:
                    spans.append((*match.span(1), "LOCATION"))
        for match in _WORD.finditer(text):
            word = match.group()
            if word.lower().endswith(_PLACE_SUFFIXES) and len(word) > 6 and self._unknown(word):
                spans.append((*match.span(), "LOCATION"))
        return spans

    def _unknown(self, token: str) -> bool:
        word = token.lower()
        return word not in self.common_words and word not in self.names and word not in _NOT_NAMES


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Sort spans and fuse overlapping ones (the earliest, longest span's tag wins)."""
    merged: list[tuple[int, int, str]] = []
    for start, end, tag in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, tag))
    return merged
