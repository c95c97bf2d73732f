"""The arrears projection: each loan's arrears as of any day, as a few steps in time.

A loan's arrears as of a day D (``ledger.domain.repayment.arrears``) replay the payments made by
D, not reversed by D, over the schedule in force on D. That replay changes only on the days
something happens to the loan: its payout, a payment's value date, a payment's or a refund's
reversal, a refund, a new schedule, the write-off. Between two such days the allocation is
fixed, and so are two numbers:

- ``outstanding``: what is still owed (the schedule's unpaid installments and any refunded
  debt);
- ``late_since``: the earliest day from which part of it is owed (the due date of the oldest
  unpaid installment, or the day of the oldest refund still owed), whatever D is.

As of any D in the step, the days past due are ``D - late_since`` when ``late_since`` is before
D, else 0: exactly what the replay says (an installment not yet due on D is later than any
that is; a refunded debt is owed from a day on or before D). So due dates that pass need no
write, and the aging of a portfolio as of D is one query over the steps valid on D
(``LoanRepository``'s projection queries, ``ledger.store.arrears_repository``).

A loan has steps only while it owes something, from its payout to its write-off; an overpaid
or repaid loan has none for those days, as the portfolio leaves it out.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ledger.domain.repayment import (
    BUCKET_LIMITS,
    AgingBucket,
    DueAmount,
    PaymentEvent,
    Replay,
    bucket,
)

#: The end of a step that lasts until something happens: an open interval, as a date both
#: engines index (a NULL would need an OR that no index serves).
OPEN_END = date(9999, 12, 31)


@dataclass(frozen=True, slots=True)
class ScheduleVersion:
    """A schedule version and the first day it is in force (the fund's day it was made);
    the first version is also in force before that day, if the payout is earlier."""

    version: int
    from_day: date
    installments: tuple[DueAmount, ...]


@dataclass(frozen=True, slots=True)
class TimedPayment:
    """A payment (a refund when negative) and the day its reversal was booked, if it was:
    it counts as of the days from ``event.on`` to the day before ``reversed_on``."""

    event: PaymentEvent
    reversed_on: date | None = None

    def counts_on(self, day: date) -> bool:
        return self.event.on <= day and (self.reversed_on is None or day < self.reversed_on)


@dataclass(frozen=True, slots=True)
class LoanHistory:
    """What a loan's arrears depend on, as of any day."""

    loan_id: str
    currency: str
    caseworker: str  # who opened the loan (``loans.created_by``): the arrears list's filter
    paid_out_on: date
    written_off_on: date | None
    schedules: tuple[ScheduleVersion, ...]
    payments: tuple[TimedPayment, ...]


@dataclass(frozen=True, slots=True)
class ArrearsStep:
    """A loan's arrears from ``valid_from`` to the day before ``valid_to``."""

    valid_from: date
    valid_to: date  # exclusive; OPEN_END while nothing ends it
    outstanding_minor: int
    late_since: date | None

    def covers(self, day: date) -> bool:
        return self.valid_from <= day < self.valid_to

    def days_past_due(self, day: date) -> int:
        return days_past_due(self.late_since, day)

    def bucket(self, day: date) -> AgingBucket:
        return bucket(self.days_past_due(day))


@dataclass(frozen=True, slots=True)
class LoanSteps:
    """A loan's steps, in time order, without gaps between equal neighbours."""

    loan_id: str
    currency: str
    caseworker: str
    steps: tuple[ArrearsStep, ...]

    def on(self, day: date) -> ArrearsStep | None:
        return next((s for s in self.steps if s.covers(day)), None)


def days_past_due(late_since: date | None, day: date) -> int:
    return (day - late_since).days if late_since is not None and late_since < day else 0


def schedule_on(schedules: Sequence[ScheduleVersion], day: date) -> ScheduleVersion | None:
    """The version in force on ``day``: the latest made by then, else the first."""
    made = [s for s in schedules if s.from_day <= day]
    if made:
        return max(made, key=lambda s: s.version)
    return min(schedules, key=lambda s: s.version, default=None)


def steps_of(history: LoanHistory) -> LoanSteps:
    """The loan's steps: its arrears as of every day, computed by the allocation itself."""
    end = history.written_off_on or OPEN_END
    start = history.paid_out_on
    days = {start}
    days.update(s.from_day for s in history.schedules)
    for p in history.payments:
        days.add(p.event.on)
        if p.reversed_on is not None:
            days.add(p.reversed_on)
    bounds = [*sorted(d for d in days if start <= d < end), end]
    arriving: dict[date, list[PaymentEvent]] = defaultdict(list)
    for p in history.payments:
        if p.counts_on(p.event.on):
            arriving[p.event.on].append(p.event)
    # A payment that counted and then stops counting (reversed) changes the allocation of
    # every payment after it: from such a day the replay starts again from the first one.
    replay_again = {
        p.reversed_on
        for p in history.payments
        if p.reversed_on is not None and p.event.on < p.reversed_on
    }
    steps: list[ArrearsStep] = []
    replay: Replay | None = None
    schedule: ScheduleVersion | None = None
    for day, next_day in itertools.pairwise(bounds):
        now_schedule = schedule_on(history.schedules, day)
        if now_schedule is None or not now_schedule.installments:
            replay, schedule = None, now_schedule
            continue
        if replay is None or now_schedule is not schedule or day in replay_again:
            replay = Replay(now_schedule.installments)
            events = [p.event for p in history.payments if p.counts_on(day)]
        else:  # only payments dated ``day``, after every one counted so far
            events = arriving.get(day, [])
        for event in sorted(events, key=lambda e: (e.on, e.key)):
            replay.add(event)
        schedule = now_schedule
        outstanding, late_since = replay.owed()
        if outstanding <= 0:
            continue
        last = steps[-1] if steps else None
        if (
            last is not None
            and last.valid_to == day
            and (last.outstanding_minor, last.late_since) == (outstanding, late_since)
        ):
            steps[-1] = ArrearsStep(last.valid_from, next_day, outstanding, late_since)
        else:
            steps.append(ArrearsStep(day, next_day, outstanding, late_since))
    return LoanSteps(history.loan_id, history.currency, history.caseworker, tuple(steps))


@dataclass(frozen=True, slots=True)
class BucketBounds:
    """The aging buckets as of a day, as ranges of ``late_since``: a step is in a bucket when
    its ``late_since`` is on or after the bucket's ``earliest`` day (and before the previous
    bucket's), so a query compares dates and does no date arithmetic of its own."""

    as_of: date
    limits: tuple[tuple[AgingBucket, date], ...]  # (bucket, earliest late_since), current first

    def range_of(self, name: AgingBucket) -> tuple[date | None, date | None]:
        """(earliest late_since or None, day before which late_since falls or None) of a
        bucket; "current" also holds every step with no late_since."""
        earliest: date | None = None
        before: date | None = None
        for b, day in self.limits:
            if b is name:
                earliest = day
                break
            before = day
        return earliest, before


def bucket_bounds(as_of: date) -> BucketBounds:
    """``late_since >= as_of - limit`` is ``days past due <= limit``: the earliest late_since of
    each bucket up to "181-360"; ">360" has no earliest."""
    limits = tuple((name, as_of - timedelta(days=limit)) for limit, name in BUCKET_LIMITS)
    return BucketBounds(as_of, limits)
