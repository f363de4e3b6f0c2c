"""Inline pieces of PMC articles removed cleanly: citation markers, footnote markers and formulas.

Two passes. `mark_citations` and `mark_formulas` rewrite an article's element tree before it is flattened:
each citation becomes a sentinel character (Unicode noncharacters, reserved for internal use and never
text), an author–year citation keeps its words between two sentinels, a formula becomes its plain-text
rendering, a "[formula]" placeholder or a removal sentinel. `clean_text` then works on the flattened
text: it merges runs of citations with the commas, dashes and "and" that only group them, drops the
brackets and parentheses that only hold citations (with lead-ins such as "see" or "reviewed in"), and
removes what is left so that no empty brackets, doubled spaces or stray punctuation remain:
"factors [1,2], however" -> "factors, however"; "(Figure 1A) [1]. RPCs" -> "(Figure 1A). RPCs".

Plain-text markers with no `<xref>` are removed conservatively: bracketed numbers and ranges ("[12]",
"[3, 7]", "[2–5]", never "[3H]", "[pY418]" or "x = [1, 2]"), superscript number lists, a superscript
number after punctuation (not "<sup>14</sup>C"), and, when `author_year` is on, parentheses whose
items are all author–year citations ("(Smith and Jones 2010; Lee, 2011)") or "et al. (2010)" years.
"""

from __future__ import annotations

import re

from lxml import etree

from medcorpus.sources.xml.safe import flatten_text, local_name

CITE = "\ufdd0"  # a citation marker, to be removed
AY_OPEN, AY_CLOSE = "\ufdd1", "\ufdd2"  # around the words of an author–year citation
DROP = "\ufdd3"  # any other removed inline piece (a formula, a footnote marker)
FORMULA = "[formula]"
FORMULA_MODES = ("drop", "placeholder")

_SEPARATORS = r",;\-\u2010-\u2015\u2212"  # commas, semicolons, hyphens and dashes that group citations
_NUMERIC = re.compile(rf"[\[(]?\s*(?:\d{{1,4}}[a-z]?(?:\s*[{_SEPARATORS}]\s*\d{{1,4}}[a-z]?)*)?\s*[\])]?")
_GROUPING = re.compile(rf"[\s{_SEPARATORS}\[\]()]*")
_SUP_NUMBERS = re.compile(rf"\s*[1-9]\d{{0,2}}(?:\s*[{_SEPARATORS}]\s*[1-9]\d{{0,2}})*\s*")
_YEAR = r"(?:1[6-9]|20)\d\d[a-z]?"
_HAS_YEAR = re.compile(r"(?:1[6-9]|20)\d\d")
_AY_TOKEN = re.compile(rf"{AY_OPEN}([^{AY_CLOSE}]*){AY_CLOSE}((?:\s*,\s*{_YEAR}\b)*)")
_TRAILING_YEAR = re.compile(rf"[\s,]*[(\[]?\s*{_YEAR}(?:\s*[,;]\s*{_YEAR})*\s*[)\]]?\s*$")
_LEAD_IN = (
    r"(?i:(?:(?:for\s+(?:a\s+)?(?:recent\s+)?reviews?|for\s+example|e\.\s?g\.|i\.\s?e\.|see(?:\s+also)?|cf\."
    r"|(?:as\s+)?reviewed\s+(?:in|by)|refs?\.?|references?)[,:]?\s*)*)"
)
_THEREIN = r"(?:\s*,?\s*and\s+references\s+therein)?"
_RUN = re.compile(rf"{CITE}(?:\s*[{_SEPARATORS}]?\s*(?:(?:and|&)\s*)?{CITE})+")
_IN_BRACKETS = re.compile(rf"\[\s*{_LEAD_IN}{CITE}{_THEREIN}\s*\]|\(\s*{_LEAD_IN}{CITE}{_THEREIN}\s*\)")
_PLAIN_NUMERIC = re.compile(rf"\[\s*[1-9]\d{{0,3}}(?:\s*[{_SEPARATORS}]\s*[1-9]\d{{0,3}})*\s*\](?![\w\[(])")
_NOT_CITING = re.compile(r"(?:[=<>≤≥∈×±]|\b(?:intervals?|ranges?|between))\s*$", re.I)
_EMPTY_BRACKETS = re.compile(r"\(\s*[,;]?\s*\)|\[\s*[,;]?\s*\]")
_PARENTHETICAL = re.compile(rf"\(([^()\[\]]*?(?:{CITE}|(?:1[6-9]|20)\d\d)[^()\[\]]*)\)")  # with a marker or a year
_STOP = (
    r"(?:Fig|Figs|Figure|Figures|Table|Tables|Supplementary|Appendix|Phase|Version|Study|Trial|Note|Step|Model"
    r"|Group|Wave|Round|Visit|Day|Week|Year|Grade|Type|Stage|Class|Level|Protocol|Since|From|In|Until|Before"
    r"|After|About|Circa|Season|Cohort|Sample|Experiment|Panel|Series|Survey|Edition|Release|January|February"
    r"|March|April|May|June|July|August|September|October|November|December)\b"
)
_LOWER = "a-zß-öø-ÿ'’"
_PART = rf"[A-ZÀ-ÖØ-Þ][{_LOWER}]*(?:[A-Z][{_LOWER}]+)?"  # Titlecase: "Smith", "McMichael", "O'Farrow"; not "WHO"
_NAME = rf"(?:(?:van|von|de|der|den|del|da|di|du|le|la|dos|ten|ter)\s+)*(?!{_STOP}){_PART}(?:-{_PART})*"
_AUTHORS = rf"{_NAME}(?:\s+{_NAME}){{0,2}}(?:\s+et\s+al\.?|\s+(?:and|&)\s+{_NAME})?"
_AY_ITEM = rf"{_AUTHORS},?\s+{_YEAR}(?:\s*,\s*{_YEAR})*"
_AY_ITEMS = re.compile(rf"{_LEAD_IN}{_AY_ITEM}(?:\s*[,;]\s*{_AY_ITEM})*")
_CITE_ITEM = re.compile(rf"{_LEAD_IN}{CITE}{_THEREIN}")
_YEARS_ONLY = re.compile(rf"\s*{_YEAR}(?:\s*[,;]\s*{_YEAR})*\s*")
# Phrases whose object is only the citation: "genes, see, for example, [19]." -> "genes."; "as described in [3]"
# -> "as described"; "purified according to [27]," -> "purified,". Matched at the end of the text before a marker.
_POINTER = re.compile(
    r"\b(?i:(?:see|cf\.)(?:\s+also)?(?:,?\s*(?:for\s+example|e\.\s?g\.))?[,:]?|according\s+to)\s*$"
    r"|\b((?:described|reported|reviewed|shown|published|detailed|outlined|characteri[sz]ed)"
    r"(?:\s+(?:previously|elsewhere|earlier|before))?)\s+(?:in|by)\s*$"
)
_SPACE_BEFORE = re.compile(r"[^\S\n]+(,|\.(?=\s|$))")
_POINTER_HINTS = ("see", "See", "cf.", "ccording", "ed in", "ed by")
_CLOSER = {"(": ")", "[": "]"}


def mark_citations(root: etree._Element) -> None:
    """Replace citation markers under `root` by sentinels: bibr xrefs (numeric ones, and `<sup>`s holding
    only them, by CITE; author–year ones by their words between AY_OPEN and AY_CLOSE), plain superscript
    citation numbers by CITE, footnote xrefs by DROP."""
    for sup in list(root.iter("sup")):
        children = list(sup)
        if children and all(_is_bibr(child) for child in children):
            citing = all(_GROUPING.fullmatch(part or "") for part in [sup.text, *(c.tail for c in children)])
        else:
            citing = not children and _plain_sup_citation(sup)
        if citing and sup.getparent() is not None and not _in_xref(sup):
            _replace(sup, CITE)
    for xref in list(root.iter("xref")):
        kind = xref.get("ref-type", "")
        if kind == "bibr":
            words = flatten_text(xref)
            _replace(xref, CITE if _NUMERIC.fullmatch(words) else f"{AY_OPEN}{words}{AY_CLOSE}")
        elif kind in ("fn", "table-fn"):
            _replace(xref, DROP)


def mark_formulas(root: etree._Element, mode: str) -> None:
    """Rewrite formulas under `root`: an inline formula with a MathML rendering becomes that text ("p<0.05"),
    one with plain text stays, any other formula becomes "[formula]" (mode "placeholder") or DROP ("drop")."""
    if mode not in FORMULA_MODES:
        raise ValueError(f"formulas must be one of {FORMULA_MODES}, got {mode!r}")
    for formula in list(root.iter("inline-formula", "disp-formula")):
        rendering = None
        if formula.tag == "inline-formula":
            rendering = mathml_text(formula)
            if rendering is None and not any(local_name(e) in ("tex-math", "graphic", "inline-graphic", "math")
                                             for e in formula.iter()):  # fmt: skip
                continue  # plain text (with sub/sup): flattened as it is
        removed = FORMULA if mode == "placeholder" else DROP
        _replace(formula, rendering or (f" {removed} " if formula.tag == "disp-formula" else removed))


def mathml_text(element: etree._Element) -> str | None:
    """Plain-text rendering of the first MathML `<math>` under `element` ("x^2", "a/b", "p<0.05"), None when
    there is none or it holds layouts with no faithful one-line form (tables, under/over scripts)."""
    math = next((e for e in element.iter() if local_name(e) == "math"), None)
    if math is None:
        return None
    try:
        text = " ".join(_render(math).split())
    except _Unrenderable:
        return None
    return text or None


class _Unrenderable(Exception):
    """A MathML element without a one-line plain-text form."""


def _render(element: etree._Element) -> str:
    name = local_name(element)
    if name in ("mi", "mn", "mo", "mtext", "ms"):
        return "".join(element.itertext()).strip()
    if name in ("annotation", "annotation-xml", "mprescripts", "none"):
        return ""
    parts = [_render(child) for child in element if local_name(child)]
    if name in ("math", "mrow", "mstyle", "mpadded", "menclose", "mphantom", "merror"):
        return "".join(parts)
    if name == "semantics":
        return parts[0] if parts else ""
    if name == "mspace":
        return " "
    if name in ("msub", "msup") and len(parts) == 2:
        return parts[0] + ("^" if name == "msup" else "") + parts[1]  # "CO2", "x^2"
    if name == "msubsup" and len(parts) == 3:
        return f"{parts[0]}{parts[1]}^{parts[2]}"
    if name == "mfrac" and len(parts) == 2:
        return "/".join(p if len(p) == 1 else f"({p})" for p in parts)
    if name == "msqrt":
        inner = "".join(parts)
        return "√" + (inner if len(inner) == 1 else f"({inner})")
    if name == "mfenced":
        separator = (element.get("separators", ",") or " ")[0]
        return element.get("open", "(") + separator.join(parts) + element.get("close", ")")
    raise _Unrenderable(name)


def clean_text(text: str, author_year: bool = True) -> str:
    """Flattened text with its sentinels resolved and plain-text citation markers removed cleanly.

    `author_year=False` keeps author–year citations (their words stay, plain-text ones are not looked for).
    """
    if "[" in text:
        text = _PLAIN_NUMERIC.sub(lambda m: m.group() if _not_citing(text, m.start()) else CITE, text)
    if AY_OPEN in text:
        text = _AY_TOKEN.sub(lambda m: _author_year(m, author_year), text)
    previous = None
    while previous != text and (CITE in text or (author_year and "(" in text and _HAS_YEAR.search(text))):
        previous = text
        if CITE in text:
            text = _IN_BRACKETS.sub(CITE, _RUN.sub(CITE, text))
        text = _PARENTHETICAL.sub(lambda m: _parenthetical(m, author_year), text)
    if "(" in text or "[" in text:
        text = _EMPTY_BRACKETS.sub(DROP, text)
    if CITE in text or DROP in text:
        text = _remove_markers(text)
    if " ," in text or " ." in text:
        text = _SPACE_BEFORE.sub(r"\1", text)
    return text


def _not_citing(text: str, start: int) -> bool:
    """True when a bracketed number follows "=", "<", "range", ...: a value or an interval, not a citation."""
    return _NOT_CITING.search(text, max(0, start - 12), start) is not None


def _author_year(match: re.Match[str], remove: bool) -> str:
    """An author–year citation: CITE inside parentheses or brackets, else (narrative) its words without the year."""
    words = match.group(1) + match.group(2)
    if not remove:
        return words
    if _enclosed(match.string, match.start()):
        return CITE
    authors = _TRAILING_YEAR.sub("", words).rstrip(" ,;")
    return authors or words


def _enclosed(text: str, position: int) -> bool:
    """True when an opening bracket or parenthesis before `position` is still open."""
    depth = 0
    for char in reversed(text[:position]):
        if char in ")]":
            depth += 1
        elif char in "([":
            if depth == 0:
                return True
            depth -= 1
    return False


def _parenthetical(match: re.Match[str], author_year: bool) -> str:
    """A parenthesis without nested brackets: its citation items removed, CITE when it held nothing else."""
    content = match.group(1)
    if (
        author_year
        and _YEARS_ONLY.fullmatch(content)
        and re.search(r"\bet\s+al\.?,?\s*$", match.string[max(0, match.start() - 12) : match.start()])
    ):
        return CITE  # "Smith et al. (2010)" -> "Smith et al."
    if CITE not in content and not (author_year and re.search(_YEAR, content)):
        return match.group()
    items = [item.strip() for item in content.split(";")]
    kept = [item for item in items if not (_CITE_ITEM.fullmatch(item) or (author_year and _AY_ITEMS.fullmatch(item)))]
    if len(kept) == len(items):
        return match.group()
    return f"({'; '.join(kept)})" if kept else CITE


def _remove_markers(text: str) -> str:
    """Text with each run of CITE / DROP markers removed and the text on both sides joined."""
    pieces = [(CITE, piece) for piece in text.split(CITE)]
    if DROP in text:
        pieces = [
            (mark if n == 0 else DROP, part) for mark, piece in pieces for n, part in enumerate(piece.split(DROP))
        ]
    out, pending = pieces[0][1], ""
    for mark, piece in pieces[1:]:
        pending = CITE if CITE in (pending, mark) else DROP
        if piece:  # consecutive markers form one run
            out = _join(_without_pointer(out) if pending == CITE else out, piece)
            pending = ""
    return _join(_without_pointer(out) if pending == CITE else out, "") if pending else out


def _without_pointer(text: str) -> str:
    """Text before a marker without a trailing phrase that only points to it ("see", "as described in")."""
    window = text[-60:]
    if not any(hint in window for hint in _POINTER_HINTS):
        return text
    match = _POINTER.search(window)
    if match is None:
        return text
    return text[: len(text) - len(window) + match.start()] + (match.group(1) + " " if match.group(1) else "")


def _join(left: str, right: str) -> str:
    """Text on both sides of a removed marker, joined without empty brackets or stray punctuation."""
    spaced = left[-1:].isspace() or right[:1].isspace()
    left, right = left.rstrip(), right.lstrip()
    while left and right and _CLOSER.get(left[-1]) == right[0]:  # "disease (" + ")." -> "disease."
        left, right, spaced = left[:-1].rstrip(), right[1:].lstrip(), True
    if not left:
        return right.lstrip(",;:. ")
    if not right:
        return left.rstrip(",; ")
    if left[-1] in "([":  # "(C; Figure 2)" -> "(Figure 2)", "(C and this study)" -> "(this study)"
        return left + (right[1:].lstrip() if right[0] in ",;" else re.sub(r"^(?:and|or|&)\s+", "", right))
    if right[0] in ",.;:!?)]":
        if left[-1] in ",;:" and right[0] in ",.;:)]":
            left = left[:-1].rstrip()
        elif left[-1] in ".!?" and right[0] == ".":
            right = right[1:]
        return left + right
    return left + (" " if spaced else "") + right


def _replace(element: etree._Element, text: str) -> None:
    """Give an element `text` as its whole content (children dropped, its tail kept)."""
    for child in list(element):
        element.remove(child)
    element.text = text


def _is_bibr(element: etree._Element) -> bool:
    return local_name(element) == "xref" and element.get("ref-type") == "bibr"


def _in_xref(element: etree._Element) -> bool:
    return any(local_name(ancestor) == "xref" for ancestor in element.iterancestors())


def _plain_sup_citation(sup: etree._Element) -> bool:
    """A superscript number list ("1,2", "3–5") after a letter or punctuation, or one number after punctuation,
    not followed by a letter or digit (so "10<sup>6</sup>", "m<sup>2</sup>" and "<sup>14</sup>C" stay)."""
    text = sup.text or ""
    if not _SUP_NUMBERS.fullmatch(text) or (sup.tail or "")[:1].isalnum():
        return False
    before = _char_before(sup)
    if not before:
        return False
    if text.strip().isdigit():
        return before in ".,;:"
    return before.isalpha() or before in ".,;:)"


def _char_before(element: etree._Element) -> str:
    """The last non-space character of the text right before an element within its parent, "" if none."""
    previous = element.getprevious()
    if previous is None:
        parent = element.getparent()
        before = (parent.text or "") if parent is not None else ""
    else:
        before = (previous.tail or "").rstrip() or "".join(previous.itertext())
    before = before.rstrip()
    return before[-1] if before else ""
