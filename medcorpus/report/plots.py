"""Inline SVG charts (horizontal bars, grouped bars, histograms), tables and sections for the run report.

No dependencies. Every label is escaped; every bar carries a `<title>` with its exact value (shown on hover).
"""

from __future__ import annotations

from html import escape

PALETTE = {
    "biomedical": "#3b6ea8",
    "clinical": "#c0504d",
    "general": "#6a9a3b",
    "target": "#a6a6a6",
    "achieved": "#3b6ea8",
}
DEFAULT_COLOR = "#5b7c99"
ROW = 22
LABEL_WIDTH = 190
CHART_WIDTH = 440
VALUE_WIDTH = 110


def fmt(value: float) -> str:
    """A number as text: integers with thousands separators, other values with up to 4 significant digits."""
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12, cls: str = "") -> str:
    extra = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def bar_chart(rows: list[tuple[str, float, str | None]], label: str, unit: str = "") -> str:
    """Horizontal bars, one per `(name, value, color key)` row, each labelled with its value."""
    top = max((value for _, value, _ in rows), default=0) or 1
    height = ROW * len(rows) + 10
    body = []
    for i, (name, value, key) in enumerate(rows):
        y = 5 + i * ROW
        width = CHART_WIDTH * value / top
        color = PALETTE.get(key or "", DEFAULT_COLOR)
        body.append(_text(LABEL_WIDTH - 6, y + 15, name, anchor="end"))
        body.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{ROW - 6}" fill="{color}">'
            f"<title>{escape(name)}: {escape(fmt(value))} {escape(unit)}</title></rect>"
        )
        body.append(_text(LABEL_WIDTH + width + 5, y + 15, f"{fmt(value)} {unit}".strip(), cls="value"))
    return _svg(LABEL_WIDTH + CHART_WIDTH + VALUE_WIDTH, height, label, body)


def grouped_bars(names: list[str], series: dict[str, list[float]], label: str, unit: str = "") -> str:
    """Horizontal bars grouped per name, one bar per series (e.g. target and achieved), with a legend."""
    values = [value for column in series.values() for value in column]
    top = max(values, default=0) or 1
    group = ROW * len(series) + 8
    height = 28 + group * len(names)
    body = []
    for j, key in enumerate(series):
        x = LABEL_WIDTH + j * 110
        body.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{PALETTE.get(key, DEFAULT_COLOR)}"/>')
        body.append(_text(x + 16, 16, key))
    for i, name in enumerate(names):
        y0 = 28 + i * group
        body.append(_text(LABEL_WIDTH - 6, y0 + group / 2 + 2, name, anchor="end"))
        for j, (key, column) in enumerate(series.items()):
            y = y0 + j * ROW
            width = CHART_WIDTH * column[i] / top
            body.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{ROW - 6}" '
                f'fill="{PALETTE.get(key, DEFAULT_COLOR)}"><title>{escape(name)} {escape(key)}: '
                f"{escape(fmt(column[i]))} {escape(unit)}</title></rect>"
            )
            body.append(_text(LABEL_WIDTH + width + 5, y + 15, f"{fmt(column[i])} {unit}".strip(), cls="value"))
    return _svg(LABEL_WIDTH + CHART_WIDTH + VALUE_WIDTH, height, label, body)


def log2_bins(values: list[int]) -> list[int]:
    """Bin edges at powers of two covering `values` (document lengths span orders of magnitude)."""
    low = max(1, min(values, default=1))
    high = max(values, default=1)
    edge = 1
    while edge * 2 <= low:
        edge *= 2
    edges = [edge]
    while edges[-1] <= high:
        edges.append(edges[-1] * 2)
    return edges


def histogram(values: list[int], edges: list[int], label: str, color_key: str | None = None) -> str:
    """Column histogram of `values` over `edges` ([edges[i], edges[i+1]) per bin), x labels at the edges."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        for i in range(len(counts)):
            if edges[i] <= value < edges[i + 1] or (i == 0 and value < edges[0]):
                counts[i] += 1
                break
    width, height, left, bottom = 440, 150, 36, 34
    plot_width, plot_height = width - left - 30, height - bottom - 20
    step = plot_width / max(1, len(counts))
    top = max(counts, default=0) or 1
    color = PALETTE.get(color_key or "", DEFAULT_COLOR)
    body = [_text(left, 12, label, size=12, cls="caption")]
    body.append(
        f'<line x1="{left}" y1="{20 + plot_height}" x2="{left + plot_width}" y2="{20 + plot_height}" stroke="#444"/>'
    )
    body.append(_text(left - 4, 24, fmt(top), anchor="end", size=10))
    body.append(_text(left - 4, 20 + plot_height, "0", anchor="end", size=10))
    for i, count in enumerate(counts):
        bar = plot_height * count / top
        x = left + i * step
        body.append(
            f'<rect x="{x + 1:.1f}" y="{20 + plot_height - bar:.1f}" width="{step - 2:.1f}" height="{bar:.1f}" '
            f'fill="{color}"><title>{escape(fmt(edges[i]))}–{escape(fmt(edges[i + 1] - 1))} tokens: '
            f"{count} documents</title></rect>"
        )
    for i, edge in enumerate(edges):
        if i % max(1, len(edges) // 8) == 0 or i == len(edges) - 1:
            body.append(_text(left + i * step, 20 + plot_height + 14, fmt(edge), anchor="middle", size=10))
    body.append(_text(left + plot_width / 2, height - 4, "tokens per document (log2 bins)", anchor="middle", size=10))
    return _svg(width, height, label, body)


def table(table_id: str, header: list[str], rows: list[list]) -> str:
    """An HTML table; numbers right-aligned and written plainly (no separators) so they can be read back."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, (int, float)) and not isinstance(cell, bool):
                text = str(cell) if isinstance(cell, int) else f"{cell:.4f}"
                cells.append(f'<td class="num">{text}</td>')
            else:
                cells.append(f"<td>{escape(str(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table id="{escape(table_id)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def section(title: str, section_id: str, content: str) -> str:
    """A titled report section around already-escaped `content`."""
    return f'<section id="{escape(section_id)}"><h2>{escape(title)}</h2>{content}</section>'
