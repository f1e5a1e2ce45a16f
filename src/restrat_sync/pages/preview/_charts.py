"""The chart macro's data table read as Confluence reads it, drawn as an inline SVG."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from restrat_sync.pages.preview._markup import esc, text_of


def table_rows(body: ET.Element | None) -> list[list[str]]:
    """The cell texts of the first table in ``body``, row by row."""
    table = next(iter(body.iter("table")), None) if body is not None else None
    if table is None:
        return []
    return [
        [text_of(cell).strip() for cell in row if cell.tag in {"th", "td"}]
        for row in table.iter("tr")
    ]


PALETTE = ("#0052cc", "#36b37e", "#ff991f", "#de350b", "#6554c0", "#00b8d9", "#97a0af", "#ffc400")


@dataclass(frozen=True)
class ChartData:
    categories: list[str]
    series: list[tuple[str, list[float]]]

    @classmethod
    def from_rows(cls, rows: list[list[str]], orientation: str) -> ChartData:
        """Read a chart macro's table the way Confluence does.

        Horizontal (the default): the header row holds the categories and every further row is
        one series, named by its first cell. Vertical: the first column holds the categories
        and every further column is a series, named by its header.
        """
        rows = [row for row in rows if row]
        if len(rows) < 2:
            return cls([], [])
        if orientation.lower() == "vertical":
            width = max(len(row) for row in rows)
            rows = [[row[i] if i < len(row) else "" for row in rows] for i in range(width)]
        categories = rows[0][1:]
        series = [
            (row[0], [_number(cell) for cell in row[1 : len(categories) + 1]]) for row in rows[1:]
        ]
        return cls(categories, [(name, values) for name, values in series if values])


def _number(cell: str) -> float:
    cleaned = cell.replace(",", "").replace("%", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def render_chart(kind: str, data: ChartData, title: str, width: int, height: int) -> str:
    """An inline SVG for a chart macro: pie, bar (the fallback) or line-like types."""
    if not data.categories or not data.series:
        return '<p class="chart-empty">No chart data.</p>'
    kind = kind.lower()
    if kind == "pie":
        shapes = _pie(data, width, height)
    elif kind in {"line", "timeseries", "xyline", "area", "xyarea", "stackedarea"}:
        shapes = _lines(data, width, height)
    else:
        shapes = _bars(data, width, height)
    names = data.categories if kind == "pie" else [name for name, _ in data.series]
    legend = "".join(
        f'<li><span style="color:{PALETTE[i % len(PALETTE)]}">■</span> {esc(name)}</li>'
        for i, name in enumerate(names)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">{shapes}</svg>'
        f'<ul class="chart-legend">{legend}</ul>'
    )


_MARGIN = 30


def _axes(data: ChartData, width: int, height: int) -> tuple[str, float, float]:
    """The x axis with category labels; returns (svg, value of the top, y of the baseline)."""
    top = max((max(values, default=0.0) for _, values in data.series), default=0.0) or 1.0
    base_y = height - _MARGIN
    step = (width - 2 * _MARGIN) / len(data.categories)
    labels = "".join(
        f'<text x="{_MARGIN + step * (i + 0.5):.1f}" y="{base_y + 16}" font-size="11" '
        f'text-anchor="middle">{esc(category[:24])}</text>'
        for i, category in enumerate(data.categories)
    )
    axis = (
        f'<line x1="{_MARGIN}" y1="{base_y}" x2="{width - _MARGIN}" y2="{base_y}" '
        'stroke="#97a0af"/>'
        f'<text x="2" y="{_MARGIN - 8}" font-size="11">{top:g}</text>'
    )
    return axis + labels, top, base_y


def _bars(data: ChartData, width: int, height: int) -> str:
    axes, top, base_y = _axes(data, width, height)
    step = (width - 2 * _MARGIN) / len(data.categories)
    bar = step * 0.8 / len(data.series)
    shapes = [axes]
    for s, (name, values) in enumerate(data.series):
        for i, value in enumerate(values):
            tall = max(value, 0.0) / top * (base_y - _MARGIN)
            x = _MARGIN + step * i + step * 0.1 + bar * s
            shapes.append(
                f'<rect x="{x:.1f}" y="{base_y - tall:.1f}" width="{bar:.1f}" height="{tall:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{esc(name)}: {value:g}</title></rect>'
            )
    return "".join(shapes)


def _lines(data: ChartData, width: int, height: int) -> str:
    axes, top, base_y = _axes(data, width, height)
    step = (width - 2 * _MARGIN) / len(data.categories)
    shapes = [axes]
    scale = (base_y - _MARGIN) / top
    for s, (name, values) in enumerate(data.series):
        points = " ".join(
            f"{_MARGIN + step * (i + 0.5):.1f},{base_y - max(v, 0.0) * scale:.1f}"
            for i, v in enumerate(values)
        )
        shapes.append(
            f'<polyline points="{points}" fill="none" stroke-width="2" '
            f'stroke="{PALETTE[s % len(PALETTE)]}"><title>{esc(name)}</title></polyline>'
        )
    return "".join(shapes)


def _pie(data: ChartData, width: int, height: int) -> str:
    values = [max(v, 0.0) for v in data.series[0][1]]
    total = sum(values)
    cx, cy, r = width / 2, height / 2, min(width, height) / 2 - 10
    if total <= 0:
        return f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="#dfe1e6"/>'
    shapes, angle = [], -math.pi / 2
    for i, (category, value) in enumerate(zip(data.categories, values, strict=False)):
        sweep = value / total * 2 * math.pi
        colour, tip = PALETTE[i % len(PALETTE)], f"<title>{esc(category)}: {value:g}</title>"
        if sweep >= 2 * math.pi - 1e-9:
            shapes.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{colour}">{tip}</circle>')
            break
        x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
        angle += sweep
        x2, y2 = cx + r * math.cos(angle), cy + r * math.sin(angle)
        large = 1 if sweep > math.pi else 0
        shapes.append(
            f'<path d="M{cx:.1f},{cy:.1f} L{x1:.1f},{y1:.1f} A{r:.1f},{r:.1f} 0 {large} 1 '
            f'{x2:.1f},{y2:.1f} Z" fill="{colour}">{tip}</path>'
        )
    return "".join(shapes)
