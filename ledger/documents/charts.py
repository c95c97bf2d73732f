"""Small SVG charts for printed reports: a line chart over months and a bar chart.

Pure functions from values to SVG text (no I/O, no plotting library). Amounts stay integer
minor units; every label a reader sees comes from the caller's ``fmt`` (the report's Babel
formatting), so it is exact. Floats are used only for pixel coordinates. The charts print in
black and white: series differ by dash pattern and marker shape, not by colour alone.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

SVG_NS = "http://www.w3.org/2000/svg"
Format = Callable[[int], str]

WIDTH = 640.0
HEIGHT = 300.0
LEFT = 96.0  # room for the amounts of the y axis
RIGHT = 16.0
TOP = 40.0  # the title and the legend
BOTTOM = 56.0  # month labels and the x axis title
LEGEND_Y = 29.0
CHAR_WIDTH = 6.2  # generous average advance of a 10 px sans-serif character
FONT = "FundLedger Sans, DejaVu Sans, sans-serif"

#: Dash pattern and marker per series, in order: distinguishable in black and white.
STYLES = (("", "circle"), ("6 3", "square"), ("2 2", "triangle"), ("8 3 2 3", "diamond"))


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[int, ...]  # minor units, one per x label


def nice_step(span: int, ticks: int = 4) -> int:
    """The smallest 1, 2 or 5 times a power of ten that covers ``span`` in ``ticks`` steps."""
    if span <= 0:
        return 1
    power = 1
    while True:
        for m in (1, 2, 5):
            if m * power * ticks >= span:
                return m * power
        power *= 10


def axis_range(values: Sequence[int], ticks: int = 4) -> tuple[int, int, int]:
    """(low, high, step): whole steps around every value and zero, in minor units."""
    low, high = min(0, *values), max(0, *values)
    step = nice_step(high - low, ticks)
    low = -(-low // step) * step if low >= 0 else (low // step) * step
    high = -(-high // step) * step
    if high == low:
        high = low + step
    return low, high, step


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    node = ET.SubElement(
        parent, tag, {k.rstrip("_").replace("_", "-"): _attr(v) for k, v in attrs.items()}
    )
    if text is not None:
        node.text = text
    return node


def _attr(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _svg(title: str, description: str) -> ET.Element:
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": _attr(WIDTH),
            "height": _attr(HEIGHT),
            "viewBox": f"0 0 {_attr(WIDTH)} {_attr(HEIGHT)}",
            "role": "img",
            "font-family": FONT,
            "font-size": "10",
        },
    )
    _el(root, "title", title)
    _el(root, "desc", description)
    _el(root, "text", title, x=LEFT, y=16.0, font_size=12, font_weight="bold", class_="chart-title")
    return root


def _to_text(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode")


class _Frame:
    """The plotting area, and the y axis with its amounts."""

    def __init__(self, root: ET.Element, values: Sequence[int], fmt: Format, y_label: str) -> None:
        self.low, self.high, self.step = axis_range(values)
        self.x0, self.x1 = LEFT, WIDTH - RIGHT
        self.y0, self.y1 = HEIGHT - BOTTOM, TOP  # y0: bottom of the plot
        grid = _el(root, "g", class_="y-axis", stroke="#000", stroke_width=0.3)
        for tick in range(self.low, self.high + 1, self.step):
            y = self.y(tick)
            _el(grid, "line", x1=self.x0, y1=y, x2=self.x1, y2=y, stroke_dasharray="1 2")
            _el(
                root,
                "text",
                fmt(tick),
                x=self.x0 - 4,
                y=y + 3.5,
                text_anchor="end",
                class_="tick",
            )
        _el(root, "line", x1=self.x0, y1=self.y0, x2=self.x0, y2=self.y1, stroke="#000")
        _el(root, "line", x1=self.x0, y1=self.y(0), x2=self.x1, y2=self.y(0), stroke="#000")
        _el(
            root,
            "text",
            y_label,
            x=12.0,
            y=(self.y0 + self.y1) / 2,
            transform=f"rotate(-90 12 {_attr((self.y0 + self.y1) / 2)})",
            text_anchor="middle",
            class_="axis-label",
        )

    def y(self, value: int) -> float:
        return self.y0 - (value - self.low) / (self.high - self.low) * (self.y0 - self.y1)

    def x_label(self, root: ET.Element, text: str) -> None:
        _el(
            root,
            "text",
            text,
            x=(self.x0 + self.x1) / 2,
            y=HEIGHT - 8,
            text_anchor="middle",
            class_="axis-label",
        )


def _marker(parent: ET.Element, shape: str, x: float, y: float) -> None:
    r = 3.0
    if shape == "circle":
        _el(parent, "circle", cx=x, cy=y, r=r, fill="#fff", stroke="#000")
        return
    if shape == "square":
        points = [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)]
    elif shape == "triangle":
        points = [(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)]
    else:
        points = [(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)]
    _el(
        parent,
        "polygon",
        points=" ".join(f"{_attr(px)},{_attr(py)}" for px, py in points),
        fill="#000",
    )


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    *,
    x_label: str,
    y_label: str,
) -> str:
    """One line per series over the x labels (months), with a legend and amounts on the y axis."""
    if not x_labels:
        raise ValueError("a line chart needs at least one x label")
    if len(series) > len(STYLES):
        raise ValueError(f"at most {len(STYLES)} series can be told apart in black and white")
    for s in series:
        if len(s.values) != len(x_labels):
            raise ValueError(
                f"series {s.name!r} has {len(s.values)} values for {len(x_labels)} labels"
            )
    description = "; ".join(
        f"{s.name}: "
        + ", ".join(f"{lab} {fmt(v)}" for lab, v in zip(x_labels, s.values, strict=True))
        for s in series
    )
    root = _svg(title, description)
    frame = _Frame(root, [v for s in series for v in s.values], fmt, y_label)
    n = len(x_labels)
    width = frame.x1 - frame.x0
    xs = [frame.x0 + width * (i + 0.5) / n for i in range(n)]
    labels = _el(root, "g", class_="x-axis", text_anchor="middle")
    for x, text in zip(xs, x_labels, strict=True):
        _el(labels, "text", text, x=x, y=frame.y0 + 14)
    frame.x_label(root, x_label)
    legend_x = LEFT
    for s, (dash, shape) in zip(series, STYLES, strict=False):
        group = _el(root, "g", class_="series", data_name=s.name)
        points = " ".join(
            f"{_attr(x)},{_attr(frame.y(v))}" for x, v in zip(xs, s.values, strict=True)
        )
        line = _el(group, "polyline", points=points, fill="none", stroke="#000", stroke_width=1.5)
        if dash:
            line.set("stroke-dasharray", dash)
        for x, v in zip(xs, s.values, strict=True):
            _marker(group, shape, x, frame.y(v))
        # Legend: a short line with the marker, then the name.
        key = _el(root, "g", class_="legend")
        sample = _el(
            key,
            "line",
            x1=legend_x,
            y1=LEGEND_Y,
            x2=legend_x + 24,
            y2=LEGEND_Y,
            stroke="#000",
            stroke_width=1.5,
        )
        if dash:
            sample.set("stroke-dasharray", dash)
        _marker(key, shape, legend_x + 12, LEGEND_Y)
        _el(key, "text", s.name, x=legend_x + 30, y=LEGEND_Y + 3.5)
        legend_x += 30 + CHAR_WIDTH * len(s.name) + 18
    return _to_text(root)


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, int]],
    fmt: Format,
    *,
    x_label: str,
    y_label: str,
) -> str:
    """One bar per (label, amount), its exact amount written above it."""
    if not bars:
        raise ValueError("a bar chart needs at least one bar")
    description = "; ".join(f"{label} {fmt(v)}" for label, v in bars)
    root = _svg(title, description)
    frame = _Frame(root, [v for _, v in bars], fmt, y_label)
    slot = (frame.x1 - frame.x0) / len(bars)
    group = _el(root, "g", class_="bars")
    for i, (label, value) in enumerate(bars):
        x = frame.x0 + slot * i + slot * 0.15
        top, base = frame.y(max(value, 0)), frame.y(min(value, 0))
        _el(
            group,
            "rect",
            x=x,
            y=top,
            width=slot * 0.7,
            height=base - top,
            fill="#bbb",
            stroke="#000",
            stroke_width=0.8,
            data_value=value,
        )
        centre = frame.x0 + slot * (i + 0.5)
        _el(root, "text", fmt(value), x=centre, y=top - 3, text_anchor="middle", class_="value")
        _el(
            root, "text", label, x=centre, y=frame.y0 + 14, text_anchor="middle", class_="bar-label"
        )
    frame.x_label(root, x_label)
    return _to_text(root)
