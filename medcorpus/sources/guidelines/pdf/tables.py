"""Tables and tables of contents in guideline PDFs, found with cheap layout heuristics.

Tables: ruling lines and cell rectangles of a page's vector drawings are grouped into connected clusters;
a cluster with at least three distinct horizontal and three distinct vertical edges (two rows by two
columns of cells) is a table. Its text rows are dropped (with a "Table N" caption beside it) or kept as
one block of cells. Tables drawn without vertical rules or cell shading are not found (their text stays
as text). pymupdf's `find_tables` is not used: it costs about half a second a page.

Tables of contents: an entry is a dot leader (four or more dots, spaced or not, or a run of "…")
followed by a page number or ending its row, anywhere in the row, or else a row ending in a page number
after a space. On the first pages, a page with at least 0.4 entries per row, three of them (under a
contents heading or with leaders) or six, and their page numbers rising, is a contents page: its blocks
of entries are dropped. A row holding two or more leader entries with rising numbers ("1 Introduction
..... 3 2 Methods ..... 5", contents as Word runs them together) is dropped on any of those pages.
"""

from __future__ import annotations

import re

import pymupdf

from medcorpus.sources.guidelines.pdf.layout import Block, Row

EDGE = 2.0  # thickness (points) up to which a rectangle is a ruling line
TOUCH = 1.5  # segments this close belong to one cluster
ICON = 10.0  # a smaller filled square is a bullet, icon or check box
INSET = 15.0  # a table has a vertical rule at least this far inside its outline: a column separator
MAX_SEGMENTS = 5000  # a page drawing more is a figure, not a table
CAPTION = re.compile(r"^(?:Table|Tab\.)\s*[\dIVX]+[A-Za-z]?\b")
TOC_ENTRY = re.compile(r"^(?=.*[^\W\d_]).*?[^\d\s.](?:\s*(?:\.\s*){2,}|\s*…+\s*|\s+)(\d{1,4}|[ivxlc]{1,6})$", re.I)
TOC_LEADER = re.compile(r"(?:(?:\. ?){4,}|(?:… ?){2,}) ?(?:(\d{1,4}|[ivxlc]{1,6})(?= |$)|$)", re.I)
TOC_HEADING = re.compile(r"^(?:table\s+of\s+)?contents$|^contents\s+page$", re.I)
TOC_PAGES = 0.15  # share of the document (at least the first 6 pages) searched for contents pages


def _segments(page: pymupdf.Page) -> list[tuple[float, float, float, float, str]]:
    """Horizontal ("h") and vertical ("v") ruling segments of a page, as (x0, y0, x1, y1, kind)."""
    width, height = page.rect.width, page.rect.height
    out: list[tuple[float, float, float, float, str]] = []
    for path in page.get_cdrawings():
        for item in path.get("items", ()):
            if item[0] == "l":
                (ax, ay), (bx, by) = item[1], item[2]
                if abs(ax - bx) >= 0.95 * width or abs(ay - by) >= 0.95 * height:
                    continue
                if abs(ay - by) <= 1:
                    out.append((min(ax, bx), ay, max(ax, bx), ay, "h"))
                elif abs(ax - bx) <= 1:
                    out.append((ax, min(ay, by), ax, max(ay, by), "v"))
            elif item[0] in ("re", "qu"):
                if item[0] == "re":
                    x0, y0, x1, y1 = item[1]
                else:
                    xs, ys = [p[0] for p in item[1]], [p[1] for p in item[1]]
                    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
                x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
                if x1 - x0 >= 0.95 * width or y1 - y0 >= 0.95 * height:
                    continue  # a page background or a decorative band
                if y1 - y0 <= EDGE:
                    out.append((x0, (y0 + y1) / 2, x1, (y0 + y1) / 2, "h"))
                elif x1 - x0 <= EDGE:
                    out.append(((x0 + x1) / 2, y0, (x0 + x1) / 2, y1, "v"))
                elif min(x1 - x0, y1 - y0) >= ICON:
                    out += [(x0, y0, x1, y0, "h"), (x0, y1, x1, y1, "h"), (x0, y0, x0, y1, "v"), (x1, y0, x1, y1, "v")]
        if len(out) > MAX_SEGMENTS:
            return []
    return out


def _distinct(values: list[float]) -> list[float]:
    """Values more than TOUCH apart, sorted."""
    out: list[float] = []
    for value in sorted(values):
        if not out or value - out[-1] > TOUCH:
            out.append(value)
    return out


def table_regions(page: pymupdf.Page) -> list[tuple[tuple[float, float, float, float], list[float], list[float]]]:
    """Tables of a page: (box, distinct y of horizontal rules, distinct x of vertical rules)."""
    clusters: list[tuple[list[float], list[float], list[float]]] = []  # (box, ys of "h", xs of "v")
    for x0, y0, x1, y1, kind in _segments(page):
        box = [x0 - TOUCH, y0 - TOUCH, x1 + TOUCH, y1 + TOUCH]
        hs, vs = ([y0], []) if kind == "h" else ([], [x0])
        rest = []
        for other, other_hs, other_vs in clusters:
            if other[0] <= box[2] and box[0] <= other[2] and other[1] <= box[3] and box[1] <= other[3]:
                box = [min(other[0], box[0]), min(other[1], box[1]), max(other[2], box[2]), max(other[3], box[3])]
                hs, vs = other_hs + hs, other_vs + vs
            else:
                rest.append((other, other_hs, other_vs))
        clusters = [*rest, (box, hs, vs)]
    tables = []
    for box, hs, vs in clusters:
        hs, vs = _distinct(hs), _distinct(vs)
        inner = [v for v in vs if box[0] + INSET <= v <= box[2] - INSET]  # not a box's edge or shadow
        if len(hs) >= 3 and len(vs) >= 3 and inner:
            tables.append(((box[0], box[1], box[2], box[3]), hs, vs))
    return sorted(tables, key=lambda t: (t[0][1], t[0][0]))


def _inside(row: Row, box: tuple[float, float, float, float]) -> bool:
    x, y = (row.x0 + row.x1) / 2, (row.y0 + row.y1) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _cells(rows: list[Row], hs: list[float], vs: list[float]) -> list[list[list[Row]]]:
    """Text rows of one table laid out as table rows (between horizontal rules) of cells (between vertical rules)."""
    bands: dict[int, dict[int, list[Row]]] = {}
    for row in sorted(rows, key=lambda r: (round(r.y0), r.x0)):
        y, x = (row.y0 + row.y1) / 2, (row.x0 + row.x1) / 2
        band = sum(1 for h in hs if h < y)
        column = sum(1 for v in vs if v < x)
        bands.setdefault(band, {}).setdefault(column, []).append(row)
    return [[cells[c] for c in sorted(cells)] for _, cells in sorted(bands.items())]


def apply_tables(page: pymupdf.Page, blocks: list[Block], keep: bool) -> int:
    """Drop the text of the page's tables (and their captions), or gather it into one table block each
    when `keep`; the number of tables found."""
    tables = table_regions(page)
    if not tables:
        return 0
    found = 0
    for box, hs, vs in tables:
        inside = [r for b in blocks if b.table is None for r in b.rows if _inside(r, box)]
        pieces = [part for r in inside for part in (r.parts or (r,))]  # cells on one baseline, apart again
        inner = [v for v in vs if box[0] + INSET <= v <= box[2] - INSET]
        if not any(any(r.x1 <= v + 1 for r in pieces) and any(r.x0 >= v - 1 for r in pieces) for v in inner):
            continue  # no column separator with text on both sides: a drawing, not a table
        found += 1
        ids = {id(r) for r in inside}
        for block in blocks:
            if block.table is None:
                block.rows = [r for r in block.rows if id(r) not in ids]
        blocks[:] = [b for b in blocks if b.rows]
        if keep:
            blocks.append(Block(rows=inside, table=_cells(pieces, hs, vs)))
            continue
        reach = 3 * max(r.y1 - r.y0 for r in inside)  # a caption this close above or below goes with it
        blocks[:] = [
            b
            for b in blocks
            if b.table is not None
            or not (
                len(b.rows) <= 3
                and CAPTION.match(b.rows[0].text)
                and (0 <= box[1] - b.box[3] <= reach or 0 <= b.box[1] - box[3] <= reach)
            )
        ]
    return found


def _rising(numbers: list[int]) -> bool:
    pairs = list(zip(numbers, numbers[1:]))
    return not pairs or sum(a <= b for a, b in pairs) >= 0.8 * len(pairs)


def _page_numbers(entries: list[str]) -> list[int]:
    return [int(n) for n in entries if n.isdigit()]


def _leaders(text: str) -> list[str]:
    """Page numbers after the dot leaders of a row (whitespace as single spaces), "" for one ending the row."""
    if ".." not in text and ". ." not in text and "…" not in text:
        return []  # most rows: no need to run the pattern
    return TOC_LEADER.findall(text)


def contents_entries(text: str) -> list[str]:
    """Page numbers of the contents entries in a row: one per leader entry ("" for a leader ending the row),
    else the number ending a row shaped as one entry; [] for any other row."""
    leaders = _leaders(text)
    if leaders:
        return leaders
    match = TOC_ENTRY.match(text)
    return [match.group(1)] if match else []


def _run_together(row: Row) -> bool:
    """Whether a row holds two or more leader entries with rising page numbers."""
    entries = _leaders(row.text)
    return len(entries) >= 2 and _rising(_page_numbers(entries))


def _contents_page(rows: list[Row]) -> bool:
    """Whether rows are a contents page's: enough entries per row, enough in all, page numbers rising."""
    entries = [n for r in rows for n in contents_entries(r.text)]
    leaders = sum(len(_leaders(r.text)) for r in rows)
    heading = any(TOC_HEADING.match(r.text) for r in rows)
    needed = 3 if heading or leaders >= 3 else 6
    return len(entries) >= max(needed, 0.4 * len(rows)) and _rising(_page_numbers(entries))


def _listing(block: Block) -> bool:
    """Whether a block of a contents page belongs to the listing: mostly entries and headings, or no sentence."""
    texts = [r.text for r in block.rows]
    hits = sum(1 for t in texts if contents_entries(t) or TOC_HEADING.match(t))
    return hits >= 0.3 * len(texts) or not any(t[-1] in ".!?" for t in texts)


def remove_contents(pages: list[list[Block]]) -> int:
    """Drop the entries of contents pages, and rows of run-together entries, among the first pages (blocks
    in reading order); pages changed."""
    changed = 0
    for blocks in pages[: max(6, round(TOC_PAGES * len(pages)))]:
        rows = [r for b in blocks if b.table is None for r in b.rows]
        contents = _contents_page(rows)
        drop = {id(r) for r in rows if _run_together(r)}
        if not contents and not drop:
            continue
        changed += 1
        for block in blocks:
            if block.table is None:
                block.rows = [r for r in block.rows if id(r) not in drop]
        blocks[:] = [b for b in blocks if b.table is not None or (b.rows and not (contents and _listing(b)))]
    return changed
