"""Allocating payments to installments, arrears, aging buckets and PAR, replayed as of any date."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.aging import par
from ledger.domain.money import money
from ledger.domain.repayment import (
    AgingBucket,
    PaymentEvent,
    allocate,
    arrears,
    bucket,
)
from ledger.domain.schedule import Installment, build_schedule

# 1,000.00 in 4: 250.00 due on 31 January, 28 February, 31 March and 30 April 2026.
PLAN = build_schedule(money("1000.00", "EUR"), first_due=date(2026, 1, 31), count=4).installments


def pay(day: str, minor: int, key: int = 0) -> PaymentEvent:
    return PaymentEvent(key, date.fromisoformat(day), minor)


def keyed(*payments: tuple[str, int]) -> list[PaymentEvent]:
    return [pay(day, minor, key) for key, (day, minor) in enumerate(payments, 1)]


# -- allocation ------------------------------------------------------------------------------


def test_nothing_paid() -> None:
    a = allocate(PLAN, [])
    assert a.paid == (0, 0, 0, 0)
    assert (a.credit, a.total_paid, a.parts) == (0, 0, {})


def test_on_time_payments_pay_their_installment() -> None:
    a = allocate(PLAN, keyed(("2026-01-31", 25_000), ("2026-02-27", 25_000)))
    assert a.paid == (25_000, 25_000, 0, 0)
    assert a.parts == {1: ((1, 25_000),), 2: ((2, 25_000),)}


def test_partial_payment() -> None:
    a = allocate(PLAN, keyed(("2026-01-31", 10_000)))
    assert a.paid == (10_000, 0, 0, 0)


def test_late_payment_pays_the_oldest_past_due_first() -> None:
    # Nothing paid until 15 March: January and February are due, then March is next.
    a = allocate(PLAN, keyed(("2026-03-15", 60_000)))
    assert a.paid == (25_000, 25_000, 10_000, 0)
    assert a.parts == {1: ((1, 25_000), (2, 25_000), (3, 10_000))}


def test_prepayment_shortens_the_loan_from_the_end() -> None:
    # Before anything is due: the next installment, then from the last backwards.
    a = allocate(PLAN, keyed(("2026-01-10", 60_000)))
    assert a.paid == (25_000, 0, 10_000, 25_000)
    assert a.parts == {1: ((1, 25_000), (4, 25_000), (3, 10_000))}


def test_after_what_is_due_the_next_installment_then_the_end() -> None:
    # On 31 January: January is due; the surplus pays February (the next to fall due), and
    # only what is beyond it goes to the end.
    a = allocate(PLAN, keyed(("2026-01-31", 30_000)))
    assert a.paid == (25_000, 5_000, 0, 0)
    a = allocate(PLAN, keyed(("2026-01-31", 60_000)))
    assert a.paid == (25_000, 25_000, 0, 10_000)


def test_overpayment_becomes_a_credit() -> None:
    a = allocate(PLAN, keyed(("2026-01-31", 90_000), ("2026-02-10", 20_000)))
    assert a.paid == (25_000,) * 4
    assert a.credit == 10_000
    assert a.total_paid == 100_000
    assert a.parts[2] == ((3, 10_000),)


def test_payments_are_replayed_in_date_order_whatever_the_order_given() -> None:
    early, late = pay("2026-01-05", 30_000, key=9), pay("2026-03-31", 30_000, key=1)
    assert allocate(PLAN, [late, early]) == allocate(PLAN, [early, late])
    # The January payment is a prepayment (the surplus goes to April); the March one pays
    # February and March.
    assert allocate(PLAN, [late, early]).paid == (25_000, 25_000, 5_000, 5_000)


def test_same_day_payments_ordered_by_key() -> None:
    a = allocate(PLAN, [pay("2026-01-31", 10_000, key=2), pay("2026-01-31", 20_000, key=1)])
    assert a.parts == {1: ((1, 20_000),), 2: ((1, 5_000), (2, 5_000))}


def test_backdated_payment_reallocates_the_later_ones() -> None:
    on_time = keyed(("2026-02-28", 25_000))
    assert allocate(PLAN, on_time).paid == (25_000, 0, 0, 0)  # January was still open
    backdated = [*on_time, pay("2026-01-31", 25_000, key=3)]
    assert allocate(PLAN, backdated).paid == (25_000, 25_000, 0, 0)
    assert allocate(PLAN, backdated).parts == {1: ((2, 25_000),), 3: ((1, 25_000),)}


def test_a_dropped_payment_reopens_what_it_paid() -> None:
    payments = keyed(("2026-01-31", 25_000), ("2026-02-28", 25_000), ("2026-03-31", 25_000))
    bounced = [p for p in payments if p.key != 1]
    assert allocate(PLAN, bounced).paid == (25_000, 25_000, 0, 0)


# -- refunds of credit: negative events in the same replay -----------------------------------


def test_a_refund_takes_the_credit_back() -> None:
    a = allocate(PLAN, keyed(("2026-01-31", 110_000), ("2026-02-10", -10_000)))
    assert a.paid == (25_000,) * 4
    assert a.credit == 0
    assert a.parts[2] == ()


def test_a_refund_beyond_the_credit_makes_installments_owed_again_from_the_end() -> None:
    # 1,100.00 paid, 100.00 refunded; then the first 300.00 bounced (dropped from the replay):
    # the refund now finds no credit and un-pays the last installments.
    payments = keyed(("2026-01-31", 30_000), ("2026-02-05", 80_000), ("2026-02-10", -10_000))
    a = allocate(PLAN, [p for p in payments if p.key != 1])
    assert a.credit == 0
    # 800.00 on 5 February: January, February (next due), then April and 50.00 of March;
    # the refund of 100.00 then un-pays April by as much.
    assert a.paid == (25_000, 25_000, 5_000, 15_000)
    assert a.total_paid == 70_000
    assert a.parts[3] == ((4, -10_000),)


def test_a_refund_of_more_than_was_ever_paid_leaves_a_negative_credit() -> None:
    a = allocate(PLAN, keyed(("2026-01-31", 5_000), ("2026-02-10", -8_000)))
    assert a.paid == (0, 0, 0, 0)
    assert a.credit == -3_000


def test_a_negative_credit_is_settled_first_by_the_next_payment() -> None:
    events = keyed(("2026-01-31", 5_000), ("2026-02-10", -8_000), ("2026-02-28", 100_000))
    a = allocate(PLAN, events)
    assert a.credit == 0
    assert a.paid == (25_000, 25_000, 25_000, 22_000)
    # 30.00 settle the debt; then January and February (due), March (next), April.
    assert a.parts[3] == ((1, 25_000), (2, 25_000), (3, 25_000), (4, 22_000))


# -- arrears ---------------------------------------------------------------------------------


def test_current_before_anything_is_due() -> None:
    a = arrears(PLAN, [], date(2026, 1, 30))
    assert (a.outstanding, a.overdue, a.days_past_due, a.oldest_unpaid_due) == (100_000, 0, 0, None)
    assert a.bucket is AgingBucket.CURRENT


def test_due_today_is_overdue_but_zero_days_late() -> None:
    a = arrears(PLAN, [], date(2026, 1, 31))
    assert (a.overdue, a.days_past_due) == (25_000, 0)
    assert a.bucket is AgingBucket.CURRENT


def test_days_past_due_count_from_the_oldest_unpaid_installment() -> None:
    payments = keyed(("2026-01-31", 10_000))
    a = arrears(PLAN, payments, date(2026, 3, 15))
    assert a.oldest_unpaid_due == date(2026, 1, 31)
    assert a.days_past_due == 43
    assert a.overdue == 40_000 and a.outstanding == 90_000
    assert a.bucket is AgingBucket.D31_60


def test_arrears_as_of_a_date_ignore_later_payments() -> None:
    payments = keyed(("2026-01-31", 25_000), ("2026-04-20", 75_000))
    before = arrears(PLAN, payments, date(2026, 4, 19))
    assert (before.outstanding, before.overdue, before.days_past_due) == (75_000, 50_000, 50)
    after = arrears(PLAN, payments, date(2026, 4, 20))
    assert (after.outstanding, after.overdue, after.days_past_due) == (0, 0, 0)


def test_a_refunded_debt_is_overdue_from_its_refund() -> None:
    # 50.00 paid, 80.00 refunded on 10 January (the 50.00 later bounced, say): 30.00 owed
    # outside the schedule from that day, before any installment falls due.
    events = keyed(("2026-01-05", 5_000), ("2026-01-10", -8_000))
    a = arrears(PLAN, events, date(2026, 1, 20))
    assert (a.outstanding, a.overdue, a.days_past_due) == (103_000, 3_000, 10)
    assert a.oldest_unpaid_due == date(2026, 1, 10) and a.bucket is AgingBucket.D1_30
    # Once installments are late too, the oldest of the two counts.
    later = arrears(PLAN, events, date(2026, 2, 15))
    assert (later.overdue, later.days_past_due) == (28_000, 36)


def test_a_refunded_debt_is_settled_oldest_refund_first() -> None:
    events = keyed(("2026-01-05", 5_000), ("2026-01-10", -8_000), ("2026-01-20", -2_000))
    assert allocate(PLAN, events).debt_since == date(2026, 1, 10)
    # 30.00 settle the first refund's debt; the second's 20.00 is owed from 20 January.
    part = allocate(PLAN, [*events, pay("2026-01-25", 3_000, 4)])
    assert (part.debt, part.debt_since, part.total_paid) == (2_000, date(2026, 1, 20), 0)
    paid = arrears(PLAN, [*events, pay("2026-01-25", 5_000, 4)], date(2026, 1, 30))
    assert (paid.outstanding, paid.overdue, paid.days_past_due) == (100_000, 0, 0)


def test_fully_repaid() -> None:
    a = arrears(PLAN, keyed(("2026-01-02", 100_000)), date(2027, 1, 1))
    assert (a.outstanding, a.overdue, a.days_past_due, a.oldest_unpaid_due) == (0, 0, 0, None)


@pytest.mark.parametrize(
    ("days", "name"),
    [
        (-5, AgingBucket.CURRENT),
        (0, AgingBucket.CURRENT),
        (1, AgingBucket.D1_30),
        (30, AgingBucket.D1_30),
        (31, AgingBucket.D31_60),
        (60, AgingBucket.D31_60),
        (61, AgingBucket.D61_90),
        (90, AgingBucket.D61_90),
        (91, AgingBucket.D91_180),
        (180, AgingBucket.D91_180),
        (181, AgingBucket.D181_360),
        (360, AgingBucket.D181_360),
        (361, AgingBucket.OVER_360),
        (5_000, AgingBucket.OVER_360),
    ],
)
def test_aging_buckets(days: int, name: AgingBucket) -> None:
    assert bucket(days) is name


def test_par30() -> None:
    # (outstanding, days past due): only loans *more* than 30 days late are at risk.
    loans = [(100_000, 0), (50_000, 30), (20_000, 31), (30_000, 400)]
    assert par(loans) == (50_000, 200_000)
    assert par(loans, days=0) == (100_000, 200_000)
    assert par([]) == (0, 0)


def test_installment_minor_units() -> None:
    inst = Installment(1, date(2026, 1, 31), money("70.83", "EUR"))
    assert inst.minor == 7_083
