"""Text of a guideline PDF with pymupdf: reading order, paragraphs, repaired hyphenation, no running headers.

Margin lines whose text (digits masked) repeats across pages are dropped as headers, footers and page
numbers; blocks are ordered by recursive XY-cut; lines are re-joined into paragraphs; a hyphen at a line
end is removed only when the document's own vocabulary says it was a line-break hyphen.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import pymupdf

MARGIN = 0.10  # top and bottom share of the page height where running headers and footers live
COLUMN_GAP = 8.0  # narrowest white gutter (points) that separates two columns
MIN_COLUMN_WIDTH = 36.0  # a narrower "column" (bullets, numbers) stays with its neighbour
HYPHENS = "-\u2010\u2011"
SOFT_HYPHEN = "\xad"
BULLET = re.compile(r"^[•·◦▪‣●○■□❑◆►✓*–—-](?:\s|$)")
ENUMERATION = re.compile(r"^\(?(?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})[.)]\s")
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
PRIVATE_USE = re.compile(r"[\ue000-\uf8ff\ufffd]")
ROMAN = re.compile(r"^[ivxlc]{1,6}$")
TERMINAL = ".!?:;"
URL_END = re.compile(r"(?:https?://|www\.)\S*[./_]$")


class PdfError(Exception):
    """A PDF that yields no document; `reason` is the rejection reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Row:
    """One visual text line (spans on one baseline) with its box and dominant font."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: bool  # every span bold
    bold_start: bool  # first span bold
    family: str | None  # font family of every span, None when mixed
    family_start: str  # font family of the first span


@dataclass
class Block:
    """A text block: rows in order and the box around them."""

    rows: list[Row] = field(default_factory=list)

    @property
    def box(self) -> tuple[float, float, float, float]:
        rows = self.rows
        return min(r.x0 for r in rows), min(r.y0 for r in rows), max(r.x1 for r in rows), max(r.y1 for r in rows)


@dataclass
class PdfText:
    """Extracted text of one PDF."""

    text: str
    pages: int
    title: str | None


def _row(line: dict) -> Row | None:
    spans = [s for s in line["spans"] if s["text"].strip()]
    if not spans:
        return None
    text = "".join(s["text"] for s in line["spans"]).replace("\t", " ")
    text = PRIVATE_USE.sub("• ", text[:1]) + PRIVATE_USE.sub("", text[1:])  # symbol-font bullets
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return None
    sizes: Counter[float] = Counter()
    for s in spans:
        sizes[round(s["size"], 1)] += len(s["text"].strip())
    bold = [bool(s["flags"] & 16) or any(w in s["font"] for w in ("Bold", "Black", "Heavy", "Semibold")) for s in spans]
    families = [re.split(r"[-,]", s["font"].split("+")[-1])[0] for s in spans]
    family = families[0] if len(set(families)) == 1 else None
    x0, y0, x1, y1 = line["bbox"]
    return Row(text, x0, y0, x1, y1, sizes.most_common(1)[0][0], all(bold), bold[0], family, families[0])


def _merge_row(a: Row, b: Row) -> Row:
    box = min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1)
    family = a.family if a.family == b.family else None
    return Row(f"{a.text} {b.text}", *box, a.size, a.bold and b.bold, a.bold_start, family, a.family_start)


def page_blocks(page: pymupdf.Page) -> list[Block]:
    """Text blocks of a page; lines on one baseline within a block are merged into one row."""
    flags = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
    blocks = []
    for raw in page.get_text("dict", flags=flags)["blocks"]:
        block = Block()
        for line in raw.get("lines", ()):
            row = _row(line)
            if row is None:
                continue
            last = block.rows[-1] if block.rows else None
            overlap = min(last.y1, row.y1) - max(last.y0, row.y0) if last else 0.0
            if last and row.x0 >= last.x1 - 1 and overlap > 0.5 * min(last.y1 - last.y0, row.y1 - row.y0):
                block.rows[-1] = _merge_row(last, row)
            else:
                block.rows.append(row)
        if block.rows:
            blocks.append(block)
    return blocks


def _margin_key(row: Row, height: float) -> str | None:
    """Normalised text of a row in the top or bottom margin (digits masked), else None."""
    middle = (row.y0 + row.y1) / 2
    if MARGIN * height < middle < (1 - MARGIN) * height:
        return None
    key = re.sub(r"\s+", " ", row.text.lower()).strip()
    return "#" if ROMAN.match(key) else re.sub(r"\d+", "#", key)


def remove_running_lines(pages: list[list[Block]], heights: list[float]) -> None:
    """Drop margin rows whose masked text is on many pages (headers, footers, page numbers), and rows
    on two or more pages that sit in the slot of the most frequent ones (a section's running header)."""
    keyed = [[(r, _margin_key(r, height)) for b in blocks for r in b.rows] for blocks, height in zip(pages, heights)]
    counts: Counter[str] = Counter()
    for rows in keyed:
        counts.update({key for _, key in rows if key is not None})
    threshold = 2 if len(pages) <= 3 else max(3, math.ceil(0.05 * len(pages)))
    repeated = {key for key, n in counts.items() if n >= threshold}
    frequent = {key for key, n in counts.items() if n >= max(threshold, 0.25 * len(pages))}
    slots = {(round(r.y0), round(r.y1)) for rows in keyed for r, key in rows if key in frequent}

    def running(row: Row, key: str | None) -> bool:
        if key is None:
            return False
        middle = (row.y0 + row.y1) / 2
        return key in repeated or (counts[key] >= 2 and any(y0 - 2 <= middle <= y1 + 2 for y0, y1 in slots))

    for blocks, rows in zip(pages, keyed):
        drop = {id(r) for r, key in rows if running(r, key)}
        for block in blocks:
            block.rows = [r for r in block.rows if id(r) not in drop]
        blocks[:] = [b for b in blocks if b.rows]


def _groups(blocks: list[Block], axis: int, gap: float) -> tuple[list[list[Block]], list[float]]:
    """Groups of blocks split where their projections on `axis` (0 = x, 1 = y) leave a gap wider than `gap`,
    and the widths of those gaps."""
    ordered = sorted(blocks, key=lambda b: b.box[axis])
    groups: list[list[Block]] = [[ordered[0]]]
    gaps: list[float] = []
    end = ordered[0].box[axis + 2]
    for block in ordered[1:]:
        if block.box[axis] > end + gap:
            groups.append([block])
            gaps.append(block.box[axis] - end)
        else:
            groups[-1].append(block)
        end = max(end, block.box[axis + 2])
    return groups, gaps


def _width(group: list[Block]) -> float:
    return max(b.box[2] for b in group) - min(b.box[0] for b in group)


def _columns(blocks: list[Block]) -> tuple[list[list[Block]], float]:
    """Column groups (narrow strips such as bullets join a neighbour) and the narrowest gutter."""
    groups, gaps = _groups(blocks, 0, COLUMN_GAP)
    merged, gutters = [groups[0]], []
    for group, gap in zip(groups[1:], gaps):
        if _width(merged[-1]) < MIN_COLUMN_WIDTH or _width(group) < MIN_COLUMN_WIDTH:
            merged[-1] = merged[-1] + group
        else:
            merged.append(group)
            gutters.append(gap)
    return merged, min(gutters, default=0.0)


def reading_order(blocks: list[Block], line: float = 12.0, depth: int = 0) -> list[Block]:
    """Recursive XY-cut: columns left to right, then bands top to bottom; a horizontal gap much wider than
    the gutter and the line height `line` (a title above two columns) is cut before the columns."""
    if len(blocks) <= 1 or depth > 30:
        return sorted(blocks, key=lambda b: (round(b.box[1]), b.box[0]))
    columns, gutter = _columns(blocks)
    bands, gaps = _groups(blocks, 1, 0.5)
    if len(columns) > 1:
        wide = 2 * max(gutter, line)
        if any(gap >= wide for gap in gaps):
            bands, _ = _groups(blocks, 1, wide)
        else:
            bands = columns
    if len(bands) == 1:
        return sorted(blocks, key=lambda b: (round(b.box[1]), b.box[0]))
    return [b for group in bands for b in reading_order(group, line, depth + 1)]


def _line_height(blocks: list[Block]) -> float:
    heights = sorted(r.y1 - r.y0 for b in blocks for r in b.rows)
    return heights[len(heights) // 2] if heights else 12.0


def merge_blocks(blocks: list[Block]) -> list[Block]:
    """Merge consecutive blocks that continue one another (same column, ordinary line spacing)."""
    merged: list[Block] = []
    for block in blocks:
        if merged:
            last, first = merged[-1].rows[-1], block.rows[0]
            height = max(last.y1 - last.y0, 1.0)
            aligned = abs(first.x0 - last.x0) < 3 or (first.x0 > last.x0 and first.x1 <= last.x1 + 3)
            if aligned and -2 < first.y0 - last.y1 < 0.8 * height and abs(first.size - last.size) <= 0.5:
                merged[-1] = Block(merged[-1].rows + block.rows)
                continue
        merged.append(block)
    return merged


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


def paragraphs(blocks: list[Block], vocab: tuple[set[str], set[str]]) -> list[str]:
    """Paragraphs of blocks in reading order; a paragraph cut by a column or page break is re-joined."""
    out: list[str] = []
    last: Row | None = None
    for block in blocks:
        left = min(r.x0 for r in block.rows)
        right = sorted(r.x1 for r in block.rows)[-2:][0]  # robust to one over-long row (a URL)
        for i, row in enumerate(block.rows):
            if i == 0:
                joined = last is not None and out[-1][-1] not in TERMINAL and row.text[0].islower()
                joined = joined and not _style_change(last, row)
            else:
                joined = not _breaks(last, row, left, right)
            if joined:
                out[-1] = join_lines(out[-1], row.text, vocab)
            else:
                out.append(row.text)
            last = row
    return [p for p in out if any(c.isalnum() for c in p)]  # lone bullets and rules carry no text


def _title(doc: pymupdf.Document, pages: list[list[Block]]) -> str | None:
    title = ((doc.metadata or {}).get("title") or "").strip()
    if title and not re.match(r"^(untitled|microsoft word|document\d*)\b", title, re.I):
        return title
    for blocks in pages:
        rows = [r for b in blocks for r in b.rows]
        if rows:
            biggest = max(r.size for r in rows)
            return " ".join(r.text for r in rows if r.size >= biggest - 0.5)[:300] or None
    return None


def extract_pdf(data: bytes, max_pages: int = 2000) -> PdfText:
    """Clean text of a PDF given as bytes; raises PdfError for unreadable, locked or over-long files."""
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
        try:
            pages = [page_blocks(page) for page in doc]
            heights = [page.rect.height for page in doc]
        except (RuntimeError, ValueError) as error:
            raise PdfError("unreadable_pdf") from error
        remove_running_lines(pages, heights)
        ordered = [merge_blocks(reading_order(blocks, _line_height(blocks))) for blocks in pages]
        vocab = vocabulary([r for blocks in ordered for b in blocks for r in b.rows])
        text = "\n".join(paragraphs([b for blocks in ordered for b in blocks], vocab))
        return PdfText(text=text, pages=doc.page_count, title=_title(doc, pages))
