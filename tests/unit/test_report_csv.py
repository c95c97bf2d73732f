"""CSV cells of the accountant's exports: formulas stay text, amounts are exact decimals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.services.reports import FORMULA_START, _sides, month_ends, safe_cell


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(text: str) -> None:
    assert safe_cell(text) == "'" + text


@given(st.text())
def test_safe_cells_never_start_a_formula_and_keep_the_text(text: str) -> None:
    cell = safe_cell(text)
    assert not cell.startswith(FORMULA_START)
    assert cell in (text, "'" + text)


def test_ordinary_text_and_missing_values() -> None:
    assert safe_cell("Payout of loan L000007") == "Payout of loan L000007"
    assert safe_cell(None) == ""


def test_amounts_go_on_their_side_as_exact_decimals() -> None:
    assert _sides(7_083, "EUR") == ("70.83", "")
    assert _sides(-1_000_000, "EUR") == ("", "10000.00")
    assert _sides(-500, "JPY") == ("", "500")
    assert _sides(1_234, "BHD") == ("1.234", "")


def test_month_ends_are_the_twelve_months_up_to_the_report_month() -> None:
    ends = month_ends("2026-02")
    assert len(ends) == 12
    assert ends[0].isoformat() == "2025-03-31"
    assert ends[-1].isoformat() == "2026-02-28"
    assert [e.isoformat() for e in month_ends("2024-03", 2)] == ["2024-02-29", "2024-03-31"]
