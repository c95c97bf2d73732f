"""Loan histories for the arrears projection's tests: Hypothesis strategies, and the answer of
the full replay as of a day for a history (``ledger.domain.repayment.arrears``)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from ledger.domain.arrears import LoanHistory, ScheduleVersion, TimedPayment, schedule_on
from ledger.domain.repayment import Arrears, DueAmount, PaymentEvent, arrears

BASE = date(2026, 1, 1)


def replayed(history: LoanHistory, day: date) -> Arrears | None:
    """The loan's arrears on ``day`` by the full replay, as the portfolio reads them (None:
    not paid out yet, written off by then, or no schedule)."""
    if day < history.paid_out_on:
        return None
    if history.written_off_on is not None and history.written_off_on <= day:
        return None
    version = schedule_on(history.schedules, day)
    if version is None or not version.installments:
        return None
    counted = [p.event for p in history.payments if p.counts_on(day)]
    return arrears(version.installments, counted, day)


@st.composite
def schedules(draw: st.DrawFn, number: int) -> ScheduleVersion:
    count = draw(st.integers(1, 8), label="installments")
    first = BASE + timedelta(days=draw(st.integers(0, 120), label="first due"))
    gap = draw(st.sampled_from([1, 14, 30, 31]), label="days between dues")
    amounts = draw(st.lists(st.integers(1, 5_000), min_size=count, max_size=count))
    made = BASE + timedelta(days=draw(st.integers(-10, 300), label="made"))
    return ScheduleVersion(
        number,
        made,
        tuple(
            DueAmount(i + 1, first + timedelta(days=gap * i), amount)
            for i, amount in enumerate(amounts)
        ),
    )


@st.composite
def payments(draw: st.DrawFn, key: int) -> TimedPayment:
    on = BASE + timedelta(days=draw(st.integers(-5, 400), label="value date"))
    minor = draw(st.integers(1, 8_000) | st.integers(-6_000, -1), label="amount")
    reversed_on = draw(
        st.none() | st.integers(-3, 200).map(lambda d: on + timedelta(days=d)), label="reversed"
    )
    return TimedPayment(PaymentEvent(key, on, minor), reversed_on)


@st.composite
def histories(draw: st.DrawFn, loan_id: str = "L000001") -> LoanHistory:
    versions = draw(st.integers(1, 3), label="schedule versions")
    paid_out = BASE + timedelta(days=draw(st.integers(-20, 60), label="payout"))
    written_off = draw(
        st.none() | st.integers(0, 400).map(lambda d: paid_out + timedelta(days=d)),
        label="written off",
    )
    count = draw(st.integers(0, 12), label="payments")
    keys = draw(st.lists(st.integers(1, 10_000), min_size=count, max_size=count, unique=True))
    return LoanHistory(
        loan_id=loan_id,
        currency="EUR",
        caseworker="carl.caseworker",
        paid_out_on=paid_out,
        written_off_on=written_off,
        schedules=tuple(draw(schedules(v)) for v in range(1, versions + 1)),
        payments=tuple(draw(payments(k)) for k in keys),
    )
