"""The arrears projection's steps (``ledger.domain.arrears``) against the full replay.

For random loans (one to three schedule versions, payments and refunds in any order of value
dates, reversed or not, before or after a write-off), the step valid on a day says exactly what
``ledger.domain.repayment.arrears`` says when it replays the loan as of that day: what is
still owed and the days past due. Checked on random days and on every day around each of the
loan's own dates (payout, due dates, payments, reversals, schedules, write-off).
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.aging import aging_of, aging_of_buckets
from ledger.domain.arrears import LoanHistory, LoanSteps, steps_of
from ledger.domain.repayment import bucket
from tests.support.arrears import BASE, histories, replayed
from tests.support.profiles import examples


def interesting_days(history: LoanHistory) -> set[date]:
    days = {history.paid_out_on}
    if history.written_off_on is not None:
        days.add(history.written_off_on)
    for version in history.schedules:
        days.add(version.from_day)
        days.update(i.due_date for i in version.installments)
    for p in history.payments:
        days.add(p.event.on)
        if p.reversed_on is not None:
            days.add(p.reversed_on)
    return {d + timedelta(days=k) for d in days for k in (-1, 0, 1)}


def projected(steps: LoanSteps, day: date) -> tuple[int, int] | None:
    step = steps.on(day)
    return None if step is None else (step.outstanding_minor, step.days_past_due(day))


def expected(history: LoanHistory, day: date) -> tuple[int, int] | None:
    a = replayed(history, day)
    if a is None or a.outstanding <= 0:
        return None
    return a.outstanding, a.days_past_due


@settings(max_examples=examples(300), deadline=None)
@given(
    history=histories(),
    extra=st.lists(st.integers(-40, 800).map(lambda d: BASE + timedelta(days=d)), max_size=10),
)
def test_the_step_on_a_day_is_the_replay_on_that_day(
    history: LoanHistory, extra: list[date]
) -> None:
    steps = steps_of(history)
    for day in sorted(interesting_days(history) | set(extra)):
        assert projected(steps, day) == expected(history, day), day


@settings(max_examples=examples(200), deadline=None)
@given(history=histories())
def test_steps_are_ordered_disjoint_and_merged(history: LoanHistory) -> None:
    steps = steps_of(history).steps
    for step in steps:
        assert step.valid_from < step.valid_to
        assert step.outstanding_minor > 0
    for before, after in itertools.pairwise(steps):
        assert before.valid_to <= after.valid_from
        if before.valid_to == after.valid_from:  # touching neighbours differ
            assert (before.outstanding_minor, before.late_since) != (
                after.outstanding_minor,
                after.late_since,
            )


@settings(max_examples=examples(100), deadline=None)
@given(
    loans=st.lists(histories(), min_size=1, max_size=6),
    offset=st.integers(-30, 700),
)
def test_aging_from_step_buckets_is_the_aging_of_the_replay(
    loans: list[LoanHistory], offset: int
) -> None:
    day = BASE + timedelta(days=offset)
    counted: dict[str, tuple[int, int]] = {}
    for history in loans:
        step = steps_of(history).on(day)
        if step is None:
            continue
        name = bucket(step.days_past_due(day)).value
        count, total = counted.get(name, (0, 0))
        counted[name] = (count + 1, total + step.outstanding_minor)
    replays = [a for h in loans if (a := replayed(h, day)) is not None]
    assert aging_of_buckets(counted) == aging_of(replays)
