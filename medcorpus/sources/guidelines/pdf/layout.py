"""Page layout of a guideline PDF: text rows and blocks, running headers and footers, reading order.

Margin rows whose text (digits masked) and size repeat across pages are dropped as headers, footers and
page numbers; blocks are ordered by recursive XY-cut (columns left to right, a heading band above the
columns first); consecutive blocks that continue one another are merged.
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
HEADING_SCALE = 1.25  # a block set this much larger than the page's median text is a heading
PRIVATE_USE = re.compile(r"[\ue000-\uf8ff\ufffd]")
ROMAN = re.compile(r"^[ivxlc]{1,6}$")


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
    parts: tuple[Row, ...] = ()  # the lines a merged row was made of (table cells on one baseline)


@dataclass
class Block:
    """A text block: rows in order and the box around them; a kept table carries its cells' rows instead."""

    rows: list[Row] = field(default_factory=list)
    table: list[list[list[Row]]] | None = None  # table rows -> cells -> text rows

    @property
    def box(self) -> tuple[float, float, float, float]:
        rows = self.rows
        return min(r.x0 for r in rows), min(r.y0 for r in rows), max(r.x1 for r in rows), max(r.y1 for r in rows)


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
    parts = (a.parts or (a,)) + (b,)
    return Row(f"{a.text} {b.text}", *box, a.size, a.bold and b.bold, a.bold_start, family, a.family_start, parts)


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
    """Normalised text and size of a row in the top or bottom margin (digits masked), else None.

    The size is part of the key, so a chapter heading ("References") is not mistaken for the running
    header in small capitals ("REFERENCES") on the chapter's other pages."""
    middle = (row.y0 + row.y1) / 2
    if MARGIN * height < middle < (1 - MARGIN) * height:
        return None
    key = re.sub(r"\s+", " ", row.text.lower()).strip()
    key = "#" if ROMAN.match(key) else re.sub(r"\d+", "#", key)
    return f"{round(row.size)}|{key}"


def remove_running_lines(pages: list[list[Block]], heights: list[float]) -> None:
    """Drop margin rows whose masked text is on many pages (headers, footers, page numbers), and rows that
    sit in the slot of the most frequent ones and are on two or more pages or set in the same size there
    (a section's running header)."""
    keyed = [
        [(r, _margin_key(r, height)) for b in blocks if b.table is None for r in b.rows]
        for blocks, height in zip(pages, heights)
    ]
    counts: Counter[str] = Counter()
    for rows in keyed:
        counts.update({key for _, key in rows if key is not None})
    threshold = 2 if len(pages) <= 3 else max(3, math.ceil(0.05 * len(pages)))
    repeated = {key for key, n in counts.items() if n >= threshold}
    frequent = {key for key, n in counts.items() if n >= max(threshold, 0.25 * len(pages))}
    slots = {(round(r.y0), round(r.y1), r.size) for rows in keyed for r, key in rows if key in frequent}

    def running(row: Row, key: str | None) -> bool:
        if key is None:
            return False
        middle = (row.y0 + row.y1) / 2
        return key in repeated or any(
            y0 - 2 <= middle <= y1 + 2 and (counts[key] >= 2 or size == row.size) for y0, y1, size in slots
        )

    for blocks, rows in zip(pages, keyed):
        drop = {id(r) for r, key in rows if running(r, key)}
        for block in blocks:
            if block.table is None:
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


def _heading_band(bands: list[list[Block]], gaps: list[float], line: float, size: float) -> bool:
    """Whether the top band holds only large-type blocks (a section title above the columns)."""
    if len(bands) < 2 or gaps[0] < line:
        return False
    return all(r.size >= HEADING_SCALE * size for b in bands[0] for r in b.rows)


def reading_order(blocks: list[Block], line: float = 12.0, size: float = 0.0, depth: int = 0) -> list[Block]:
    """Recursive XY-cut: columns left to right, then bands top to bottom; a horizontal gap much wider than
    the gutter and the line height `line` (a title above two columns) is cut before the columns, and so
    is a band of text larger than the page's median `size` (a section title in a column's head)."""
    if len(blocks) <= 1 or depth > 30:
        return sorted(blocks, key=lambda b: (round(b.box[1]), b.box[0]))
    columns, gutter = _columns(blocks)
    bands, gaps = _groups(blocks, 1, 0.5)
    if len(columns) > 1:
        wide = 2 * max(gutter, line)
        if any(gap >= wide for gap in gaps):
            bands, _ = _groups(blocks, 1, wide)
        elif size and depth == 0 and _heading_band(bands, gaps, line, size):
            bands = [bands[0], [b for band in bands[1:] for b in band]]
        else:
            bands = columns
    if len(bands) == 1:
        return sorted(blocks, key=lambda b: (round(b.box[1]), b.box[0]))
    return [b for group in bands for b in reading_order(group, line, size, depth + 1)]


def line_height(blocks: list[Block]) -> float:
    """Median height of the text rows of a page (12 points when it has none)."""
    heights = sorted(r.y1 - r.y0 for b in blocks for r in b.rows)
    return heights[len(heights) // 2] if heights else 12.0


def text_size(blocks: list[Block]) -> float:
    """Median font size of the text rows of a page (0 when it has none)."""
    sizes = sorted(r.size for b in blocks for r in b.rows)
    return sizes[len(sizes) // 2] if sizes else 0.0


def merge_blocks(blocks: list[Block]) -> list[Block]:
    """Merge consecutive blocks that continue one another (same column, ordinary line spacing)."""
    merged: list[Block] = []
    for block in blocks:
        if merged and block.table is None and merged[-1].table is None:
            last, first = merged[-1].rows[-1], block.rows[0]
            height = max(last.y1 - last.y0, 1.0)
            aligned = abs(first.x0 - last.x0) < 3 or (first.x0 > last.x0 and first.x1 <= last.x1 + 3)
            if aligned and -2 < first.y0 - last.y1 < 0.8 * height and abs(first.size - last.size) <= 0.5:
                merged[-1] = Block(merged[-1].rows + block.rows)
                continue
        merged.append(block)
    return merged
