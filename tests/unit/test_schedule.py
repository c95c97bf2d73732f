"""Repayment schedules: amounts that add up to the cent, due dates that stay on their day."""

from __future__ import annotations

import time
from datetime import date

import pytest

from ledger.domain.errors import ValidationError
from ledger.domain.money import Money, money, to_minor
from ledger.domain.schedule import (
    MAX_INSTALLMENTS,
    Schedule,
    add_months,
    build_schedule,
    due_dates,
    due_day_of,
    installment_count,
    is_month_end,
    redate,
    skip_month,
)


def eur(text: str) -> Money:
    return money(text, "EUR")


def amounts(schedule: Schedule) -> list[str]:
    return [str(i.amount.amount) for i in schedule.installments]


def dates(schedule: Schedule) -> list[str]:
    return [i.due_date.isoformat() for i in schedule.installments]


# -- amounts ---------------------------------------------------------------------------------


def test_thousand_in_three_puts_the_extra_cent_last() -> None:
    s = build_schedule(eur("1000.00"), first_due=date(2026, 4, 5), count=3)
    assert amounts(s) == ["333.33", "333.33", "333.34"]
    assert [i.number for i in s.installments] == [1, 2, 3]
    assert s.total == eur("1000.00")
    assert s.currency == "EUR"


def test_two_months_brussels_deposit_over_24_months() -> None:
    # 2 x 850.00 rent = 1,700.00, repaid over the Housing Fund's maximum of 24 months.
    s = build_schedule(eur("1700.00"), first_due=date(2026, 3, 31), count=24)
    assert amounts(s) == ["70.83"] * 23 + ["70.91"]
    assert s.total == eur("1700.00")
    assert s.maturity == date(2028, 2, 29)


def test_yen_has_no_minor_unit() -> None:
    s = build_schedule(money("1000", "JPY"), first_due=date(2026, 4, 1), count=3)
    assert amounts(s) == ["333", "333", "334"]


def test_whole_units_round_up_and_make_the_last_smaller() -> None:
    s = build_schedule(eur("1000.00"), first_due=date(2026, 4, 1), count=3, whole_units=True)
    assert amounts(s) == ["334.00", "334.00", "332.00"]
    s = build_schedule(eur("1700.00"), first_due=date(2026, 4, 1), count=24, whole_units=True)
    assert amounts(s) == ["71.00"] * 23 + ["67.00"]
    assert s.total == eur("1700.00")


def test_whole_units_never_leave_a_zero_installment() -> None:
    # 10.00 in 7 rounds up to 2.00 a month: five installments repay it, none is zero.
    s = build_schedule(eur("10.00"), first_due=date(2026, 4, 1), count=7, whole_units=True)
    assert amounts(s) == ["2.00"] * 5
    # 100.00 in 7: 15.00 x 6 and 10.00.
    s = build_schedule(eur("100.00"), first_due=date(2026, 4, 1), count=7, whole_units=True)
    assert amounts(s) == ["15.00"] * 6 + ["10.00"]


def test_whole_units_with_cents_in_the_principal() -> None:
    s = build_schedule(eur("1000.50"), first_due=date(2026, 4, 1), count=4, whole_units=True)
    assert amounts(s) == ["251.00", "251.00", "251.00", "247.50"]


def test_monthly_amount_gives_the_count_and_a_smaller_last() -> None:
    s = build_schedule(eur("1000.00"), first_due=date(2026, 4, 30), monthly_amount=eur("300.00"))
    assert amounts(s) == ["300.00", "300.00", "300.00", "100.00"]
    assert installment_count(eur("1000.00"), eur("250.00")) == 4
    assert installment_count(eur("1000.00"), eur("1500.00")) == 1


def test_monthly_amount_that_divides_exactly() -> None:
    s = build_schedule(eur("1000.00"), first_due=date(2026, 4, 30), monthly_amount=eur("250.00"))
    assert amounts(s) == ["250.00"] * 4


def test_single_installment() -> None:
    s = build_schedule(eur("0.01"), first_due=date(2026, 4, 30), count=1)
    assert amounts(s) == ["0.01"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"count": 0}, "duration"),
        ({"count": -3}, "duration"),
        ({"count": MAX_INSTALLMENTS + 1}, "duration"),
        ({"count": True}, "duration"),
        ({}, "duration"),
        ({"count": 3, "monthly_amount": eur("100.00")}, "duration"),
        ({"monthly_amount": eur("0.00")}, "monthly_amount"),
        ({"monthly_amount": money("100.00", "CHF")}, "monthly_amount"),
        ({"monthly_amount": eur("1.00")}, "monthly_amount"),  # 1,000 installments
    ],
)
def test_bad_durations_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        build_schedule(eur("1000.00"), first_due=date(2026, 4, 30), **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_more_installments_than_cents_refused() -> None:
    with pytest.raises(ValidationError):
        build_schedule(eur("0.02"), first_due=date(2026, 4, 30), count=3)


@pytest.mark.parametrize("principal", ["0.00", "-10.00"])
def test_principal_must_be_positive(principal: str) -> None:
    with pytest.raises(ValidationError) as err:
        build_schedule(eur(principal), first_due=date(2026, 4, 30), count=3)
    assert err.value.field == "amount"


def test_a_tiny_monthly_amount_is_refused_without_building_millions_of_installments() -> None:
    # 10 million euros at one cent a month would be a billion installments: refuse at once.
    started = time.perf_counter()
    with pytest.raises(ValidationError, match="at most 120"):
        build_schedule(eur("10000000.00"), first_due=date(2026, 4, 30), monthly_amount=eur("0.01"))
    assert time.perf_counter() - started < 1


# -- minimum installment ---------------------------------------------------------------------


def test_installment_below_minimum_refused_saying_how_many_months_would_do() -> None:
    with pytest.raises(ValidationError, match=r"below the fund's minimum of .*20\.00") as err:
        build_schedule(eur("300.00"), first_due=date(2026, 4, 30), count=24, minimum=eur("20.00"))
    assert err.value.field == "duration"
    assert "at most 15 months" in err.value.detail
    s = build_schedule(eur("300.00"), first_due=date(2026, 4, 30), count=15, minimum=eur("20.00"))
    assert amounts(s) == ["20.00"] * 15


def test_minimum_refuses_a_monthly_amount_below_it() -> None:
    with pytest.raises(ValidationError, match="minimum"):
        build_schedule(
            eur("300.00"),
            first_due=date(2026, 4, 30),
            monthly_amount=eur("19.99"),
            minimum=eur("20.00"),
        )


def test_minimum_does_not_apply_to_paying_everything_at_once() -> None:
    s = build_schedule(eur("15.00"), first_due=date(2026, 4, 30), count=1, minimum=eur("20.00"))
    assert amounts(s) == ["15.00"]


# -- due dates -------------------------------------------------------------------------------


def test_month_end_stays_month_end() -> None:
    s = build_schedule(eur("600.00"), first_due=date(2026, 1, 31), count=6)
    assert dates(s) == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
    ]


def test_leap_year_february_29() -> None:
    s = build_schedule(eur("400.00"), first_due=date(2028, 1, 31), count=4)
    assert dates(s) == ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30"]
    # Starting on 29 February 2028 (the month's last day) keeps month ends.
    s = build_schedule(eur("400.00"), first_due=date(2028, 2, 29), count=3)
    assert dates(s) == ["2028-02-29", "2028-03-31", "2028-04-30"]
    # The 29th of a month that is not February stays on the 29th, clamped in February 2027.
    s = build_schedule(eur("400.00"), first_due=date(2026, 12, 29), count=4)
    assert dates(s) == ["2026-12-29", "2027-01-29", "2027-02-28", "2027-03-29"]


def test_day_30_clamps_in_february_and_comes_back() -> None:
    assert due_dates(date(2026, 1, 30), 4) == [
        date(2026, 1, 30),
        date(2026, 2, 28),
        date(2026, 3, 30),
        date(2026, 4, 30),
    ]


def test_explicit_due_day() -> None:
    assert due_dates(date(2026, 4, 30), 3, due_day=5) == [
        date(2026, 4, 30),
        date(2026, 5, 5),
        date(2026, 6, 5),
    ]
    with pytest.raises(ValidationError):
        due_dates(date(2026, 4, 30), 3, due_day=32)
    with pytest.raises(ValidationError):
        due_dates(date(2026, 4, 30), 3, due_day=0)


def test_dates_cross_the_year() -> None:
    assert due_dates(date(2026, 11, 15), 3) == [
        date(2026, 11, 15),
        date(2026, 12, 15),
        date(2027, 1, 15),
    ]


def test_add_months_clamps_and_is_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1, 31) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 31), 13, 31) == date(2027, 2, 28)
    assert add_months(date(2027, 1, 31), 13, 31) == date(2028, 2, 29)
    assert add_months(date(2026, 3, 15), -3, 15) == date(2025, 12, 15)
    assert is_month_end(date(2028, 2, 29)) and not is_month_end(date(2028, 2, 28))
    assert is_month_end(date(2027, 2, 28)) and is_month_end(date(2026, 12, 31))


# -- payment holidays ------------------------------------------------------------------------


def test_holiday_skips_a_month_and_moves_the_maturity() -> None:
    plain = build_schedule(eur("1000.00"), first_due=date(2026, 1, 31), count=4)
    s = build_schedule(
        eur("1000.00"), first_due=date(2026, 1, 31), count=4, holidays=["2026-02", "2026-04"]
    )
    assert dates(s) == ["2026-01-31", "2026-03-31", "2026-05-31", "2026-06-30"]
    assert amounts(s) == amounts(plain) == ["250.00"] * 4
    assert s.maturity == date(2026, 6, 30) > plain.maturity


def test_holiday_on_the_first_month() -> None:
    s = build_schedule(eur("1000.00"), first_due=date(2026, 1, 15), count=3, holidays=["2026-01"])
    assert dates(s) == ["2026-02-15", "2026-03-15", "2026-04-15"]


def test_redate_keeps_amounts_and_numbers() -> None:
    s = build_schedule(eur("1000.00"), first_due=date(2026, 1, 31), count=3)
    moved = redate(s, first_due=date(2026, 1, 31), due_day=None, holidays=["2026-02"])
    assert dates(moved) == ["2026-01-31", "2026-03-31", "2026-04-30"]
    assert [(i.number, to_minor(i.amount)) for i in moved.installments] == [
        (1, 33_333),
        (2, 33_333),
        (3, 33_334),
    ]


def test_skip_month_moves_that_installment_and_the_later_ones() -> None:
    s = build_schedule(eur("1000.00"), first_due=date(2026, 1, 31), count=4)
    skipped = skip_month(s, "2026-02", 31)
    assert dates(skipped) == ["2026-01-31", "2026-03-31", "2026-04-30", "2026-05-31"]
    assert amounts(skipped) == amounts(s)
    assert [i.number for i in skipped.installments] == [1, 2, 3, 4]


def test_skip_month_keeps_earlier_holidays() -> None:
    s = build_schedule(eur("1000.00"), first_due=date(2026, 1, 31), count=4)
    later_first = skip_month(skip_month(s, "2026-03", 31), "2026-02", 31)
    assert dates(later_first) == ["2026-01-31", "2026-04-30", "2026-05-31", "2026-06-30"]
    earlier_first = skip_month(skip_month(s, "2026-02", 31), "2026-04", 31)
    assert dates(earlier_first) == ["2026-01-31", "2026-03-31", "2026-05-31", "2026-06-30"]


def test_skip_month_of_the_first_and_of_the_last_installment() -> None:
    s = build_schedule(eur("300.00"), first_due=date(2026, 1, 15), count=3)
    assert dates(skip_month(s, "2026-01", 15)) == ["2026-02-15", "2026-03-15", "2026-04-15"]
    assert dates(skip_month(s, "2026-03", 15)) == ["2026-01-15", "2026-02-15", "2026-04-15"]
    # The last one moves to the due day, clamped: 30 January is followed by 28 February.
    s = build_schedule(eur("100.00"), first_due=date(2026, 1, 30), count=1)
    assert dates(skip_month(s, "2026-01", 30)) == ["2026-02-28"]


def test_skip_month_without_installment_refused() -> None:
    s = build_schedule(eur("1000.00"), first_due=date(2026, 1, 31), count=4)
    for month in ("2025-12", "2026-05"):
        with pytest.raises(ValidationError, match=f"no installment falls due in {month}") as err:
            skip_month(s, month, 31)
        assert err.value.field == "month"
    with pytest.raises(ValidationError):
        skip_month(skip_month(s, "2026-02", 31), "2026-02", 31)


@pytest.mark.parametrize(
    ("first_due", "due_day", "expected"),
    [
        (date(2026, 1, 31), None, 31),
        (date(2026, 1, 30), None, 30),
        (date(2026, 1, 15), None, 15),
        (date(2026, 1, 31), 5, 5),  # an explicit due day after a first date on another day
        (date(2026, 11, 29), None, 29),  # 29 November, then 29 December, 28 February...
    ],
)
def test_due_day_read_from_the_dates(first_due: date, due_day: int | None, expected: int) -> None:
    s = build_schedule(eur("1200.00"), first_due=first_due, count=12, due_day=due_day)
    assert due_day_of(s.installments, fallback=1) == expected


def test_due_day_falls_back_when_the_dates_cannot_tell() -> None:
    # 30 April then 30 June (May skipped): the 30th, or month ends? Only the terms know.
    s = skip_month(
        build_schedule(eur("300.00"), first_due=date(2026, 3, 30), count=3), "2026-05", 30
    )
    assert dates(s) == ["2026-03-30", "2026-04-30", "2026-06-30"]
    assert due_day_of(s.installments, fallback=30) == 30
    single = build_schedule(eur("100.00"), first_due=date(2026, 4, 30), count=1)
    assert due_day_of(single.installments, fallback=12) == 12
