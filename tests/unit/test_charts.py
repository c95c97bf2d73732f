"""SVG charts of the monthly report: valid SVG, bars in proportion, exact labels."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from ledger.documents.charts import (
    STYLES,
    SVG_NS,
    Series,
    axis_range,
    bar_chart,
    line_chart,
    nice_step,
)

NS = {"s": SVG_NS}


def eur(minor: int) -> str:
    """Exact decimal text from minor units, as the report's Babel formatting would be."""
    return f"{Decimal(minor) / 100:.2f} EUR"


def parse(svg: str) -> etree._Element:
    root = etree.fromstring(svg.encode())
    assert root.tag == f"{{{SVG_NS}}}svg"
    return root


def texts(root: etree._Element) -> list[str]:
    return [t.text for t in root.iterfind(".//s:text", NS)]


BUCKETS = [("current", 300_000), ("1-30", 100_000), ("31-60", 56_789), ("61-90", 0)]


def test_bar_chart_parses_with_title_axis_labels_and_exact_amounts() -> None:
    root = parse(
        bar_chart("Outstanding <by> days late", BUCKETS, eur, x_label="Days late", y_label="EUR")
    )
    assert root.find("s:title", NS).text == "Outstanding <by> days late"
    words = texts(root)
    assert "Outstanding <by> days late" in words  # escaped in the SVG, not lost
    assert {"Days late", "EUR", "current", "1-30", "31-60", "61-90"} <= set(words)
    for _, value in BUCKETS:
        assert eur(value) in words  # each bar's amount, to the cent
    # the y axis starts at zero and its ticks are whole steps
    assert "0.00 EUR" in words


def test_bars_are_proportional_to_their_values() -> None:
    root = parse(bar_chart("t", BUCKETS, eur, x_label="x", y_label="y"))
    rects = root.findall(".//s:g[@class='bars']/s:rect", NS)
    assert [int(r.get("data-value")) for r in rects] == [v for _, v in BUCKETS]
    heights = [float(r.get("height")) for r in rects]
    assert heights[3] == 0
    assert heights[0] / heights[1] == pytest.approx(3.0, rel=1e-3)
    assert heights[1] / heights[2] == pytest.approx(100_000 / 56_789, rel=1e-3)
    # every bar stands on the same baseline
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 2) for r in rects}
    assert len(bottoms) == 1


def test_line_chart_has_a_point_per_month_and_a_legend_per_series() -> None:
    months = [f"M{i}" for i in range(12)]
    loans = tuple(10_000 * i for i in range(12))
    cash = tuple(200_000 - 7_001 * i for i in range(12))
    svg = line_chart(
        "Loans and cash",
        months,
        [Series("Loans outstanding", loans), Series("Cash", cash)],
        eur,
        x_label="Month end",
        y_label="Amount (EUR)",
    )
    root = parse(svg)
    series = root.findall(".//s:g[@class='series']", NS)
    assert [g.get("data-name") for g in series] == ["Loans outstanding", "Cash"]
    lines = [g.find("s:polyline", NS) for g in series]
    for line, values in zip(lines, (loans, cash), strict=True):
        points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        assert len(points) == 12
        # higher amounts are drawn higher (smaller y), in proportion
        ys = [y for _, y in points]
        for i in range(11):
            if values[i] != values[i + 1]:
                assert (ys[i] - ys[i + 1]) * (values[i + 1] - values[i]) > 0
    # told apart without colour: one is dashed, the other not
    assert lines[0].get("stroke-dasharray") is None
    assert lines[1].get("stroke-dasharray") == STYLES[1][0]
    words = texts(root)
    labels = {"Loans and cash", "Month end", "Amount (EUR)", "Loans outstanding", "Cash"}
    assert labels <= set(words)
    assert set(months) <= set(words)
    # the description lists every value exactly, for readers who cannot see the chart
    desc = root.find("s:desc", NS).text
    assert "M11 " + eur(cash[11]) in desc


def test_a_line_chart_of_one_month_is_one_marked_point_per_series() -> None:
    """A fund in its first month: one month end, drawn as a marker mid-plot for each series
    (a line needs two points, the marker shows the one there is)."""
    svg = line_chart(
        "Loans and cash",
        ["Mar 26"],
        [Series("Loans outstanding", (170_000,)), Series("Cash", (830_000,))],
        eur,
        x_label="Month end",
        y_label="Amount (EUR)",
    )
    root = parse(svg)
    series = root.findall(".//s:g[@class='series']", NS)
    for group in series:
        [point] = group.find("s:polyline", NS).get("points").split()
        x, _ = map(float, point.split(","))
        assert x == pytest.approx((96 + 640 - 16) / 2)  # in the middle of the plot
        markers = [el for el in group if el.tag != f"{{{SVG_NS}}}polyline"]
        assert len(markers) == 1
    assert "Mar 26" in texts(root)
    assert "Mar 26 " + eur(830_000) in root.find("s:desc", NS).text


def test_a_line_chart_without_months_is_refused() -> None:
    """No month to show: the caller leaves the chart out (the report does), never draws an
    empty one."""
    with pytest.raises(ValueError, match="at least one"):
        line_chart("t", [], [Series("s", ())], eur, x_label="x", y_label="y")


def test_line_chart_refuses_series_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="3 labels"):
        line_chart("t", ["a", "b", "c"], [Series("s", (1, 2))], eur, x_label="x", y_label="y")


def test_negative_values_get_an_axis_below_zero() -> None:
    root = parse(bar_chart("t", [("a", -25_000), ("b", 50_000)], eur, x_label="x", y_label="y"))
    rects = root.findall(".//s:g[@class='bars']/s:rect", NS)
    neg, pos = rects
    assert float(neg.get("height")) * 2 == pytest.approx(float(pos.get("height")), rel=1e-3)
    # the negative bar hangs from the zero line the positive one stands on
    assert float(neg.get("y")) == pytest.approx(float(pos.get("y")) + float(pos.get("height")))
    assert eur(-25_000) in texts(root)


@given(st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=12))
def test_axis_range_covers_every_value_and_zero_in_whole_steps(values: list[int]) -> None:
    low, high, step = axis_range(values)
    assert low <= min(0, *values) and high >= max(0, *values)
    assert low % step == 0 and high % step == 0
    assert high > low
    assert (high - low) // step <= 8  # a few readable ticks, not hundreds


def test_nice_steps_are_one_two_or_five_times_a_power_of_ten() -> None:
    assert nice_step(0) == 1
    assert nice_step(400) == 100
    assert nice_step(401) == 200
    assert nice_step(456_789) == 200_000
