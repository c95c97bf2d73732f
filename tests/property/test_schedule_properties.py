"""Schedules and allocation never lose or invent a minor unit, whatever the amounts and dates."""

from __future__ import annotations

import calendar
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise

from hypothesis import assume, example, given
from hypothesis import strategies as st

from ledger.domain.eligibility import lease_months
from ledger.domain.journal import month_of
from ledger.domain.money import from_minor, minor_digits
from ledger.domain.repayment import PaymentEvent, allocate, arrears
from ledger.domain.schedule import (
    MAX_INSTALLMENTS,
    Schedule,
    add_months,
    build_schedule,
    due_day_of,
    is_month_end,
    skip_month,
)

CURRENCIES = st.sampled_from(["EUR", "JPY", "CHF"])
PRINCIPALS = st.integers(1, 10_000_000)
DAYS = st.dates(date(2024, 1, 1), date(2030, 12, 31))
COUNTS = st.integers(1, MAX_INSTALLMENTS)


def minors(schedule: Schedule) -> list[int]:
    return [i.minor for i in schedule.installments]


def increasing(schedule: Schedule) -> bool:
    dates = [i.due_date for i in schedule.installments]
    return all(a < b for a, b in pairwise(dates))


def month_length(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


# -- schedules -------------------------------------------------------------------------------


@given(CURRENCIES, PRINCIPALS, COUNTS, DAYS)
@example("EUR", 100_000, 3, date(2026, 1, 31))
@example("EUR", 170_000, 24, date(2026, 3, 31))
@example("JPY", 1_000, 3, date(2028, 1, 31))
def test_schedule_sums_exactly_equal_but_the_last(
    code: str, principal: int, count: int, first: date
) -> None:
    assume(count <= principal)
    s = build_schedule(from_minor(principal, code), first_due=first, count=count)
    sizes = minors(s)
    assert len(sizes) == count
    assert sum(sizes) == principal
    assert all(size > 0 for size in sizes)
    assert len(set(sizes[:-1])) <= 1
    assert abs(sizes[-1] - principal / count) < count  # the last absorbs less than a unit each
    assert increasing(s)
    assert s.installments[0].due_date == first
    assert [i.number for i in s.installments] == list(range(1, count + 1))


@given(CURRENCIES, PRINCIPALS, COUNTS, DAYS)
@example("EUR", 100_000, 3, date(2026, 1, 31))
@example("EUR", 1_000, 7, date(2026, 1, 31))
def test_whole_unit_schedules_round_up_and_end_smaller(
    code: str, principal: int, count: int, first: date
) -> None:
    assume(count <= principal)
    unit = 10 ** minor_digits(code)
    s = build_schedule(from_minor(principal, code), first_due=first, count=count, whole_units=True)
    sizes = minors(s)
    assert sum(sizes) == principal
    assert 1 <= len(sizes) <= count
    assert all(size > 0 for size in sizes)
    if len(sizes) > 1:
        equal = sizes[0]
        assert equal % unit == 0
        assert sizes[:-1] == [equal] * (len(sizes) - 1)
        assert sizes[-1] <= equal
        assert equal * count >= principal  # rounded up: the requested count would repay it
    assert increasing(s)


@given(CURRENCIES, PRINCIPALS, st.integers(1, 10_000_000), DAYS)
def test_schedule_from_a_monthly_amount(
    code: str, principal: int, monthly: int, first: date
) -> None:
    count = -(-principal // monthly)
    assume(count <= MAX_INSTALLMENTS)
    s = build_schedule(
        from_minor(principal, code), first_due=first, monthly_amount=from_minor(monthly, code)
    )
    sizes = minors(s)
    assert sum(sizes) == principal
    assert sizes[:-1] == [monthly] * (count - 1)
    assert 0 < sizes[-1] <= monthly
    assert increasing(s)


@given(DAYS, st.integers(1, 60), st.one_of(st.none(), st.integers(1, 31)))
def test_due_dates_stay_on_their_day(first: date, count: int, due_day: int | None) -> None:
    s = build_schedule(
        from_minor(count * 100, "EUR"), first_due=first, count=count, due_day=due_day
    )
    day = due_day or (31 if is_month_end(first) else first.day)
    for n, inst in enumerate(s.installments[1:], 1):
        expected = add_months(first, n, day)
        assert inst.due_date == expected
        assert inst.due_date.day == min(day, month_length(inst.due_date))
    if due_day is None and is_month_end(first):
        assert all(is_month_end(i.due_date) for i in s.installments)
    # The months follow each other: one installment a month.
    months = [month_of(i.due_date) for i in s.installments]
    assert len(set(months)) == count
    if count >= 3:
        assert due_day_of(s.installments, fallback=0) == day


# -- payment holidays ------------------------------------------------------------------------


@given(
    CURRENCIES,
    PRINCIPALS,
    st.integers(1, 36),
    DAYS,
    st.lists(st.integers(0, 40), max_size=6),
)
def test_holidays_conserve_the_total_and_keep_dates_increasing(
    code: str, principal: int, count: int, first: date, offsets: list[int]
) -> None:
    assume(count <= principal)
    holidays = sorted({month_of(add_months(first, k, 1)) for k in offsets})
    plain = build_schedule(from_minor(principal, code), first_due=first, count=count)
    s = build_schedule(from_minor(principal, code), first_due=first, count=count, holidays=holidays)
    assert minors(s) == minors(plain)
    assert increasing(s)
    assert not {month_of(i.due_date) for i in s.installments} & set(holidays)
    assert s.maturity >= plain.maturity


@given(PRINCIPALS, st.integers(1, 36), DAYS, st.lists(st.integers(0, 50), min_size=1, max_size=8))
def test_skipping_months_one_by_one(
    principal: int, count: int, first: date, picks: list[int]
) -> None:
    assume(count <= principal)
    s = build_schedule(from_minor(principal, "EUR"), first_due=first, count=count)
    day = 31 if is_month_end(first) else first.day
    skipped: set[str] = set()
    for pick in picks:
        months = [month_of(i.due_date) for i in s.installments]
        month = months[pick % len(months)]
        before = s
        s = skip_month(s, month, day)
        skipped.add(month)
        assert minors(s) == minors(before)
        assert increasing(s)
        assert s.maturity == add_months(before.maturity, 1, day)
        # Every month skipped so far stays free, and no month gets two installments.
        months_now = Counter(month_of(i.due_date) for i in s.installments)
        assert not set(months_now) & skipped
        assert max(months_now.values()) == 1
    assert sum(minors(s)) == principal


# -- allocation ------------------------------------------------------------------------------

SCHEDULES = st.builds(
    lambda principal, count, first: build_schedule(
        from_minor(max(principal, count), "EUR"), first_due=first, count=count
    ),
    st.integers(1, 500_000),
    st.integers(1, 24),
    st.dates(date(2026, 1, 1), date(2026, 12, 31)),
)


@st.composite
def payments(draw: st.DrawFn, schedule: Schedule, refunds: bool = False) -> list[PaymentEvent]:
    start = schedule.installments[0].due_date - timedelta(days=40)
    span = (schedule.maturity - start).days + 60
    total = sum(i.minor for i in schedule.installments)
    amount = st.integers(1, 2 * total // 3 + 1)
    if refunds:
        amount = st.one_of(amount, st.integers(-20_000, -1))
    events = draw(
        st.lists(st.tuples(st.integers(0, span), amount), max_size=12, unique_by=lambda t: t[0])
    )
    return [
        PaymentEvent(key, start + timedelta(days=offset), minor)
        for key, (offset, minor) in enumerate(events, 1)
    ]


@given(st.data(), SCHEDULES)
def test_allocation_never_loses_or_invents_money(data: st.DataObject, schedule: Schedule) -> None:
    pays = data.draw(payments(schedule, refunds=True))
    a = allocate(schedule.installments, pays)
    for inst, paid in zip(schedule.installments, a.paid, strict=True):
        assert 0 <= paid <= inst.minor
    assert a.total_paid + a.credit == sum(p.minor for p in pays)
    outstanding = sum(i.minor for i in schedule.installments) - a.total_paid
    assert outstanding >= 0
    if a.credit > 0:
        assert outstanding == 0  # credit only once everything is paid
    # Each event's parts add up to what it allocated to installments.
    for p in pays:
        taken = sum(m for _, m in a.parts[p.key])
        assert taken <= p.minor if p.minor > 0 else taken >= p.minor


@given(st.data(), SCHEDULES, st.randoms(use_true_random=False))
def test_order_of_payments_matters_only_by_date(
    data: st.DataObject, schedule: Schedule, rnd: object
) -> None:
    pays = data.draw(payments(schedule, refunds=True))
    shuffled = list(pays)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert allocate(schedule.installments, shuffled) == allocate(schedule.installments, pays)


@given(st.data(), SCHEDULES)
def test_without_refunds_what_is_paid_is_the_clamped_sum(
    data: st.DataObject, schedule: Schedule
) -> None:
    pays = data.draw(payments(schedule))
    total = sum(i.minor for i in schedule.installments)
    paid_in = sum(p.minor for p in pays)
    a = allocate(schedule.installments, pays)
    assert a.total_paid == min(total, paid_in)
    assert a.credit == max(0, paid_in - total)


@given(SCHEDULES, st.integers(0, 400), st.integers(1, 10**6))
def test_past_due_installments_are_paid_oldest_first(
    schedule: Schedule, offset: int, minor: int
) -> None:
    on = schedule.installments[0].due_date + timedelta(days=offset)
    a = allocate(schedule.installments, [PaymentEvent(1, on, minor)])
    due = [n for n, i in enumerate(schedule.installments) if i.due_date <= on]
    # The installments already due are filled in order: none is paid while an older one is not.
    for n in due[1:]:
        if a.paid[n]:
            assert a.paid[n - 1] == schedule.installments[n - 1].minor
    # Nothing goes beyond what is due until all of it is paid.
    if sum(a.paid[n] for n in due) < sum(schedule.installments[n].minor for n in due):
        assert all(a.paid[n] == 0 for n in range(len(due), len(a.paid)))


@given(SCHEDULES, st.integers(1, 10**6), st.integers(1, 30))
def test_a_prepayment_reduces_from_the_end(schedule: Schedule, minor: int, early: int) -> None:
    insts = schedule.installments
    on = insts[0].due_date - timedelta(days=early)
    a = allocate(insts, [PaymentEvent(1, on, minor)])
    first = insts[0].minor
    assert a.paid[0] == min(minor, first)
    # Beyond the next installment: whole installments from the last one backwards.
    rest = list(a.paid[1:])
    partial = [
        n for n, (paid, i) in enumerate(zip(rest, insts[1:], strict=True)) if 0 < paid < i.minor
    ]
    assert len(partial) <= 1
    paid_from = next((n for n, paid in enumerate(rest) if paid), len(rest))
    assert all(
        paid == i.minor
        for paid, i in zip(rest[paid_from + 1 :], insts[paid_from + 2 :], strict=True)
    )


# -- arrears ---------------------------------------------------------------------------------


@given(st.data(), SCHEDULES)
def test_a_refunded_debt_is_dated_by_its_oldest_unpaid_refund(
    data: st.DataObject, schedule: Schedule
) -> None:
    pays = data.draw(payments(schedule, refunds=True))
    a = allocate(schedule.installments, pays)
    assert (a.debt > 0) == (a.debt_since is not None) == (a.credit < 0)
    if a.debt_since is None:
        return
    refunds = [p.on for p in pays if p.minor < 0]
    assert a.debt_since in refunds
    assert a.total_paid == 0  # a refund reaches into debt only once nothing is paid any more
    after = max(p.on for p in pays) + timedelta(days=1)
    # The next payments settle the oldest refunded money first: one unit short, what is left
    # is the newest refund's.
    if a.debt > 1:
        short = allocate(schedule.installments, [*pays, PaymentEvent(0, after, a.debt - 1)])
        assert short.debt == 1 and short.debt_since == max(refunds)
    settled = allocate(schedule.installments, [*pays, PaymentEvent(0, after, a.debt)])
    assert (settled.debt, settled.debt_since, settled.total_paid) == (0, None, 0)


@given(st.data(), SCHEDULES, st.integers(-30, 800))
def test_arrears_as_of_a_date_count_only_payments_up_to_it(
    data: st.DataObject, schedule: Schedule, offset: int
) -> None:
    pays = data.draw(payments(schedule, refunds=True))
    as_of = schedule.installments[0].due_date + timedelta(days=offset)
    a = arrears(schedule.installments, pays, as_of)
    earlier = [p for p in pays if p.on <= as_of]
    assert a == arrears(schedule.installments, earlier, as_of)
    alloc = allocate(schedule.installments, earlier)
    # A debt refunded beyond everything paid is owed too (and overdue from that refund).
    assert a.outstanding == sum(i.minor for i in schedule.installments) - alloc.total_paid + (
        alloc.debt
    )
    assert 0 <= a.overdue <= a.outstanding
    assert a.days_past_due >= 0
    if a.oldest_unpaid_due is None:
        assert a.overdue == 0 and a.days_past_due == 0
    else:
        assert a.oldest_unpaid_due <= as_of
        assert a.days_past_due == (as_of - a.oldest_unpaid_due).days
    # Payments made later can only lower what was late then... once they are made.
    later = arrears(schedule.installments, pays, as_of + timedelta(days=1))
    assert later.outstanding <= a.outstanding or any(p.minor < 0 for p in pays)


# -- lease months ----------------------------------------------------------------------------


@given(st.dates(date(2020, 1, 1), date(2035, 12, 31)), st.integers(1, 120))
def test_a_lease_of_n_whole_months_is_n_months(start: date, n: int) -> None:
    end = add_months(start, n, start.day) - timedelta(days=1)
    assert lease_months(start, end) == n
    assert lease_months(start, end - timedelta(days=1)) == n - 1


@given(st.dates(date(2020, 1, 1), date(2035, 12, 31)), st.integers(-400, 4000), st.integers(0, 90))
def test_lease_months_grow_with_the_lease(start: date, length: int, more: int) -> None:
    end = start + timedelta(days=length)
    months = lease_months(start, end)
    assert months >= 0
    assert lease_months(start, end + timedelta(days=more)) >= months
    if end < start:
        assert months == 0
    else:
        # Never more than the calendar months the lease touches, nor fewer than days / 31.
        assert months <= (end.year - start.year) * 12 + end.month - start.month + 1
        assert months >= (length + 1) // 31 - 1
