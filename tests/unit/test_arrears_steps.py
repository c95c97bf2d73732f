"""The arrears projection's steps (``ledger.domain.arrears``), by worked examples.

A loan of 300.00 in three installments of 100.00 due on 31 January, 28 February and 31 March
2026, paid out on 15 January.
"""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.aging import BUCKETS, aging_of_buckets, bucket_floor
from ledger.domain.arrears import (
    OPEN_END,
    ArrearsStep,
    LoanHistory,
    ScheduleVersion,
    TimedPayment,
    bucket_bounds,
    days_past_due,
    schedule_on,
    steps_of,
)
from ledger.domain.repayment import AgingBucket, DueAmount, PaymentEvent

D = date.fromisoformat
PLAN = ScheduleVersion(
    1,
    D("2026-01-10"),
    (
        DueAmount(1, D("2026-01-31"), 10_000),
        DueAmount(2, D("2026-02-28"), 10_000),
        DueAmount(3, D("2026-03-31"), 10_000),
    ),
)


def loan(*payments: TimedPayment, written_off: str | None = None, **more: object) -> LoanHistory:
    return LoanHistory(
        loan_id="L000001",
        currency="EUR",
        caseworker="carl.caseworker",
        paid_out_on=D("2026-01-15"),
        written_off_on=D(written_off) if written_off else None,
        schedules=more.get("schedules", (PLAN,)),  # type: ignore[arg-type]
        payments=payments,
    )


def paid(key: int, on: str, minor: int, reversed_on: str | None = None) -> TimedPayment:
    return TimedPayment(PaymentEvent(key, D(on), minor), D(reversed_on) if reversed_on else None)


def step(start: str, end: str | None, outstanding: int, late: str | None) -> ArrearsStep:
    return ArrearsStep(
        D(start), D(end) if end else OPEN_END, outstanding, D(late) if late else None
    )


def test_an_unpaid_loan_has_one_open_step_late_from_its_first_due_date() -> None:
    steps = steps_of(loan()).steps
    assert steps == (step("2026-01-15", None, 30_000, "2026-01-31"),)
    assert steps[0].days_past_due(D("2026-01-31")) == 0  # due today: not late yet
    assert steps[0].days_past_due(D("2026-03-02")) == 30
    assert steps[0].bucket(D("2026-03-03")) is AgingBucket.D31_60


def test_each_payment_starts_a_step_and_a_reversal_undoes_it_from_its_day() -> None:
    steps = steps_of(
        loan(paid(1, "2026-02-05", 10_000), paid(2, "2026-03-01", 10_000, "2026-03-10"))
    ).steps
    assert steps == (
        step("2026-01-15", "2026-02-05", 30_000, "2026-01-31"),
        step("2026-02-05", "2026-03-01", 20_000, "2026-02-28"),
        step("2026-03-01", "2026-03-10", 10_000, "2026-03-31"),
        step("2026-03-10", None, 20_000, "2026-02-28"),
    )


def test_a_repaid_loan_has_no_step_while_it_owes_nothing() -> None:
    steps = steps_of(loan(paid(1, "2026-02-01", 30_000), paid(2, "2026-02-01", 5_000))).steps
    assert steps == (step("2026-01-15", "2026-02-01", 30_000, "2026-01-31"),)


def test_a_refund_beyond_what_is_paid_is_late_from_the_refund() -> None:
    # 350.00 paid (50.00 credit), the 50.00 refunded, then the 350.00 bounces: the refund was
    # a debt of 50.00 from 20 February, which the 250.00 of 25 February settled first, then
    # the first two installments: the last is owed.
    steps = steps_of(
        loan(
            paid(1, "2026-02-01", 35_000, "2026-03-05"),
            paid(2, "2026-02-20", -5_000),
            paid(3, "2026-02-25", 25_000),
        )
    ).steps
    assert steps[-1] == step("2026-03-05", None, 10_000, "2026-03-31")
    # 380.00 paid before anything was due (80.00 of credit), the 80.00 refunded, then the
    # 380.00 bounces: owed again, and the refund beyond all that is paid is owed from its day.
    only_debt = steps_of(
        loan(paid(1, "2026-01-18", 38_000, "2026-03-05"), paid(2, "2026-01-20", -8_000))
    )
    assert only_debt.steps == (
        step("2026-01-15", "2026-01-18", 30_000, "2026-01-31"),
        step("2026-03-05", None, 38_000, "2026-01-20"),
    )


def test_a_new_schedule_counts_from_its_first_day_and_a_write_off_ends_the_steps() -> None:
    later = ScheduleVersion(2, D("2026-02-10"), (DueAmount(1, D("2026-06-30"), 30_000),))
    history = loan(written_off="2026-08-01", schedules=(PLAN, later))
    assert steps_of(history).steps == (
        step("2026-01-15", "2026-02-10", 30_000, "2026-01-31"),
        step("2026-02-10", "2026-08-01", 30_000, "2026-06-30"),
    )
    assert schedule_on(history.schedules, D("2026-02-09")) is PLAN
    assert schedule_on(history.schedules, D("2026-02-10")) is later
    early = ScheduleVersion(1, D("2026-03-01"), PLAN.installments)  # made after the payout
    assert schedule_on((early,), D("2026-01-20")) is early
    assert steps_of(loan(written_off="2026-01-15")).steps == ()


def test_equal_neighbours_are_merged() -> None:
    # A payment reversed on the day it was made never counted: no step of its own.
    steps = steps_of(loan(paid(1, "2026-02-05", 10_000, "2026-02-05"))).steps
    assert steps == (step("2026-01-15", None, 30_000, "2026-01-31"),)


def test_bucket_bounds_compare_late_since_with_the_day() -> None:
    bounds = bucket_bounds(D("2026-06-30"))
    assert bounds.range_of(AgingBucket.CURRENT) == (D("2026-06-30"), None)
    assert bounds.range_of(AgingBucket.D1_30) == (D("2026-05-31"), D("2026-06-30"))
    assert bounds.range_of(AgingBucket.OVER_360) == (None, D("2025-07-05"))
    assert days_past_due(None, D("2026-06-30")) == 0
    assert days_past_due(D("2026-07-01"), D("2026-06-30")) == 0


def test_the_aging_of_bucket_counts_fills_every_bucket_and_sums_par30() -> None:
    aging = aging_of_buckets({"1-30": (2, 500), "31-60": (1, 300), ">360": (1, 200)})
    assert list(aging.buckets) == list(BUCKETS)
    assert aging.buckets["current"] == (0, 0)
    assert (aging.loans, aging.outstanding_minor, aging.par30_minor) == (4, 1_000, 500)
    assert str(aging.par30_ratio) == "50.00"


@pytest.mark.parametrize(
    ("name", "floor"), [("current", 0), ("1-30", 1), ("31-60", 31), (">360", 361)]
)
def test_bucket_floors(name: str, floor: int) -> None:
    assert bucket_floor(name) == floor
