"""The portfolio's aging and PAR30: one pure computation (``ledger.domain.aging``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.domain.aging import BUCKETS, Aging, aging_of, par_percent
from ledger.domain.repayment import Arrears

DAY = date(2026, 6, 30)


def owing(outstanding: int, dpd: int) -> Arrears:
    return Arrears(DAY, outstanding, outstanding if dpd else 0, dpd, None)


def test_buckets_are_every_aging_bucket_in_order() -> None:
    assert BUCKETS == ("current", "1-30", "31-60", "61-90", "91-180", "181-360", ">360")


def test_aging_of_buckets_the_loans_and_sums_par30() -> None:
    a = aging_of([owing(100_000, 0), owing(50_000, 30), owing(20_000, 31), owing(30_000, 400)])
    assert (a.loans, a.outstanding_minor, a.par30_minor) == (4, 200_000, 50_000)
    assert a.buckets == {
        "current": (1, 100_000),
        "1-30": (1, 50_000),
        "31-60": (1, 20_000),
        "61-90": (0, 0),
        "91-180": (0, 0),
        "181-360": (0, 0),
        ">360": (1, 30_000),
    }
    assert a.par30_ratio == Decimal("25.00")


def test_loans_owing_nothing_or_owed_are_left_out() -> None:
    a = aging_of([owing(0, 0), owing(-5_000, 0), owing(7_000, 45)])
    assert (a.loans, a.outstanding_minor, a.par30_minor) == (1, 7_000, 7_000)
    assert a.buckets["31-60"] == (1, 7_000) and a.buckets["current"] == (0, 0)


def test_nothing_owed() -> None:
    a = aging_of([])
    assert a == Aging(0, 0, dict.fromkeys(BUCKETS, (0, 0)), 0)
    assert a.par30_ratio == Decimal("0.00") and str(a.par30_ratio) == "0.00"


def test_par_percent_rounds_half_to_even_to_two_decimals() -> None:
    assert par_percent(0, 0) == Decimal("0.00")
    assert par_percent(1, 8) == Decimal("12.50")
    assert par_percent(1, 800) == Decimal("0.12")  # 0.125
    assert par_percent(3, 800) == Decimal("0.38")  # 0.375
    assert par_percent(1, 3) == Decimal("33.33")
    assert str(par_percent(332_917, 481_668)) == "69.12"  # the text the API has always shown
    assert str(par_percent(153_333, 287_918)) == "53.26"
