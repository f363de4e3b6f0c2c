"""Text of a guideline PDF with pymupdf: reading order, paragraphs, headings, repaired hyphenation.

Layout (running headers, page numbers, columns) is handled in `layout.py`, tables and tables of
contents in `tables.py`. Here rows are re-joined into paragraphs, a hyphen at a line end is removed
only when the document's own vocabulary says it was a line-break hyphen, and short unpunctuated
paragraphs set apart from the body text become Markdown headings: `#` for type at least 1.35 times the
body size, `##` for type at least a point larger, `###` for body-size type in bold or in another
typeface. Kept tables come out as `| cell | cell |` rows.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pymupdf

from medcorpus.sources.guidelines.pdf.layout import (
    Block,
    Row,
    line_height,
    merge_blocks,
    page_blocks,
    reading_order,
    remove_running_lines,
    text_size,
)
from medcorpus.sources.guidelines.pdf.tables import apply_tables, remove_contents

HYPHENS = "-\u2010\u2011"
SOFT_HYPHEN = "\xad"
BULLET = re.compile(r"^[•·◦▪‣●○■□❑◆►✓*–—-](?:\s|$)")
ENUMERATION = re.compile(r"^\(?(?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})[.)]\s")
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
TERMINAL = ".!?:;"
URL_END = re.compile(r"(?:https?://|www\.)\S*[./_]$")
TABLE_MODES = ("drop", "keep")


class PdfError(Exception):
    """A PDF that yields no document; `reason` is the rejection reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class PdfText:
    """Extracted text of one PDF."""

    text: str
    pages: int
    title: str | None
    tables: int = 0  # tables found (dropped or kept)


@dataclass
class Paragraph:
    """One paragraph and the rows it was joined from; `table` holds a kept table's rendered rows."""

    text: str
    rows: list[Row] = field(default_factory=list)
    table: list[str] | None = None


def vocabulary(rows: list[Row]) -> tuple[set[str], set[str]]:
    """Words and hyphenated word pairs of the document, leaving out the halves of line-end hyphenations."""
    words: set[str] = set()
    pairs: set[str] = set()
    cut_next = False
    for row in rows:
        tokens = WORD.findall(row.text.lower())
        cut_here = row.text[-1] in HYPHENS + SOFT_HYPHEN
        if cut_next and tokens:
            tokens = tokens[1:]
        if cut_here and tokens:
            tokens = tokens[:-1]
        cut_next = cut_here
        for token in tokens:
            parts = token.split("-")
            words.update(parts)
            pairs.update(f"{a}-{b}" for a, b in zip(parts, parts[1:]))
    return words, pairs


def join_lines(left: str, right: str, vocab: tuple[set[str], set[str]]) -> str:
    """Join two pieces of one paragraph, repairing a line-break hyphen at the end of `left`."""
    if not left or not right:
        return left + right
    end = left[-1]
    if end == SOFT_HYPHEN:
        return left[:-1] + right
    if end not in HYPHENS:
        return left + right if URL_END.search(left) else f"{left} {right}"
    before = left[-2] if len(left) > 1 else " "
    if before.isspace():
        return f"{left} {right}"  # a dash standing between words
    if not (before.isalpha() and right[0].isalpha() and right[0].islower()):
        return left + right  # "COVID-19", "142-146", "Health-Care": the hyphen belongs to the text
    token = left.rsplit(" ", 1)[-1][:-1]
    head = re.search(r"[^\W\d_]+$", token)
    tail = re.match(r"[^\W\d_]+", right)
    if head is None or tail is None or any(c in token[: head.start()] for c in "/.@_"):
        return left + right  # a URL, path or address: keep the hyphen
    a, b = head.group().lower(), tail.group().lower()
    words, pairs = vocab
    if f"{a}-{b}" in pairs:
        return left + right
    if a + b in words:
        return left[:-1] + right
    if a in words and b in words:
        return left + right
    return left[:-1] + right


def _style_change(prev: Row, row: Row) -> bool:
    """A change of size, weight or typeface between two rows: a heading starts or ends."""
    if abs(prev.size - row.size) > 0.5:
        return True
    if (prev.bold and not row.bold_start) or (row.bold and not prev.bold):
        return True  # a bold term running into its definition is no change
    return prev.family is not None and row.family_start != prev.family


def _breaks(prev: Row, row: Row, left: float, right: float) -> bool:
    """Whether `row` starts a new paragraph after `prev` in a block whose text spans `left` to `right`."""
    if BULLET.match(row.text) or _style_change(prev, row):
        return True
    if row.y0 - prev.y1 > 0.8 * max(prev.y1 - prev.y0, 1.0):
        return True
    # the row ends well short and the next row's first word would have fitted: ended on purpose
    char = (prev.x1 - prev.x0) / len(prev.text)
    room = right - prev.x1
    fits = room > 0.15 * (right - left) and room > char * (len(row.text.split(" ", 1)[0]) + 1)
    ended = prev.text[-1] in TERMINAL
    if ENUMERATION.match(row.text):  # "(2) ..." starts an item only after an ended line
        return ended or fits
    return fits and (ended or row.text[0].isupper())


def _cell_text(rows: list[Row], vocab: tuple[set[str], set[str]]) -> str:
    text = ""
    for row in rows:
        text = join_lines(text, row.text, vocab) if text else row.text
    return text.replace("|", "/")


def paragraphs(blocks: list[Block], vocab: tuple[set[str], set[str]]) -> list[Paragraph]:
    """Paragraphs of blocks in reading order; a paragraph cut by a column or page break is re-joined."""
    out: list[Paragraph] = []
    last: Row | None = None
    for block in blocks:
        if block.table is not None:
            cells = [[_cell_text(cell, vocab) for cell in row] for row in block.table]
            out.append(Paragraph("", table=["| " + " | ".join(row) + " |" for row in cells if any(row)]))
            last = None
            continue
        left = min(r.x0 for r in block.rows)
        right = sorted(r.x1 for r in block.rows)[-2:][0]  # robust to one over-long row (a URL)
        for i, row in enumerate(block.rows):
            if i == 0:
                joined = last is not None and out[-1].text[-1] not in TERMINAL and row.text[0].islower()
                joined = joined and not _style_change(last, row)
            else:
                joined = not _breaks(last, row, left, right)
            if joined:
                out[-1].text = join_lines(out[-1].text, row.text, vocab)
                out[-1].rows.append(row)
            else:
                out.append(Paragraph(row.text, [row]))
            last = row
    return [p for p in out if p.table or any(c.isalnum() for c in p.text)]  # lone bullets and rules carry no text


def heading_level(paragraph: Paragraph, body: tuple[float, str | None]) -> int:
    """1 to 3 for a heading (short, unpunctuated, and bold, larger or in another typeface than the body
    text, whose size and typeface are `body`), else 0."""
    text, rows = paragraph.text, paragraph.rows
    if not rows or paragraph.table is not None or len(text) > 200 or BULLET.match(text):
        return 0
    words = text.split()
    if (
        len(words) > 25
        or sum(c.isalpha() for c in text) < 2
        or text[-1] in ".,;"
        or (text[-1] == ":" and len(words) > 6)  # a lead-in sentence
        or "://" in text
        or "www." in text
    ):
        return 0
    size, (body_size_, body_family) = min(r.size for r in rows), body
    if size >= 1.35 * body_size_:
        return 1
    if size >= body_size_ + 1.0:
        return 2
    if size < body_size_ - 0.5:
        return 0
    if all(r.bold for r in rows):
        return 3
    typeface = {r.family for r in rows}
    other = None not in typeface and body_family not in typeface
    return 3 if other and len(words) <= 12 and text[0].isupper() and text[-1] not in TERMINAL else 0


def body_style(rows: list[Row]) -> tuple[float, str | None]:
    """The font size and typeface that set most of the document's characters."""
    sizes: Counter[float] = Counter()
    families: Counter[str] = Counter()
    for row in rows:
        sizes[round(row.size * 2) / 2] += len(row.text)
        if row.family is not None:
            families[row.family] += len(row.text)
    return (sizes.most_common(1)[0][0] if sizes else 0.0), (families.most_common(1)[0][0] if families else None)


def render(paragraphs_: list[Paragraph], body: tuple[float, str | None]) -> str:
    """Paragraphs as lines; headings marked with `#`, and a heading that wraps onto a second paragraph
    of the same style directly below it joined into one."""
    lines: list[str] = []
    previous: tuple[int, Paragraph] | None = None
    for paragraph in paragraphs_:
        if paragraph.table is not None:
            lines.extend(paragraph.table)
            previous = None
            continue
        level = heading_level(paragraph, body)
        if level and previous and previous[1].text == paragraph.text:
            continue  # the same heading printed twice over itself (simulated bold)
        if level and previous and previous[0] == level:
            above, first = previous[1].rows[-1], paragraph.rows[0]
            same = abs(above.size - first.size) <= 0.5 and above.bold == first.bold
            if (
                same
                and -0.5 * (above.y1 - above.y0) <= first.y0 - above.y1 < above.y1 - above.y0
                and lines[-1][-1] not in TERMINAL
            ):
                lines[-1] = f"{lines[-1]} {paragraph.text}"
                previous = (level, Paragraph(paragraph.text, previous[1].rows + paragraph.rows))
                continue
        lines.append("#" * level + " " + paragraph.text if level else paragraph.text)
        previous = (level, paragraph) if level else None
    return "\n".join(lines)


def _title(doc: pymupdf.Document, pages: list[list[Block]]) -> str | None:
    title = ((doc.metadata or {}).get("title") or "").strip()
    if title and not re.match(r"^(untitled|microsoft word|document\d*)\b", title, re.I):
        return title
    for blocks in pages:
        rows = [r for b in blocks if b.table is None for r in b.rows]
        if rows:
            biggest = max(r.size for r in rows)
            return " ".join(r.text for r in rows if r.size >= biggest - 0.5)[:300] or None
    return None


def extract_pdf(data: bytes, max_pages: int = 2000, tables: str = "drop") -> PdfText:
    """Clean text of a PDF given as bytes, tables dropped or kept (`tables` "drop" or "keep");
    raises PdfError for unreadable, locked or over-long files."""
    if tables not in TABLE_MODES:
        raise ValueError(f"tables must be one of {TABLE_MODES}, got {tables!r}")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except (RuntimeError, ValueError) as error:
        raise PdfError("unreadable_pdf") from error
    with doc:
        if doc.needs_pass:
            raise PdfError("encrypted_pdf")
        if doc.page_count == 0:  # mupdf "repaired" a broken file into nothing
            raise PdfError("unreadable_pdf")
        if doc.page_count > max_pages:
            raise PdfError("too_many_pages")
        found = 0
        try:
            pages, heights = [], []
            for page in doc:
                blocks = page_blocks(page)
                found += apply_tables(page, blocks, keep=tables == "keep")
                pages.append(blocks)
                heights.append(page.rect.height)
        except (RuntimeError, ValueError) as error:
            raise PdfError("unreadable_pdf") from error
        remove_running_lines(pages, heights)
        title = _title(doc, pages)
        ordered = [reading_order(blocks, line_height(blocks), text_size(blocks)) for blocks in pages]
        remove_contents(ordered)
        ordered = [merge_blocks(blocks) for blocks in ordered]
        rows = [r for blocks in ordered for b in blocks for r in b.rows]
        vocab = vocabulary(rows)
        text = render(paragraphs([b for blocks in ordered for b in blocks], vocab), body_style(rows))
        return PdfText(text=text, pages=doc.page_count, title=title, tables=found)
