"""Payment reminders: which one a loan is due on a day (docs/reminders.md). Pure functions.

Three kinds, set by the fund's rules (``[reminders]`` in its rules file):

- ``before_due``: a friendly word ``before_due_days`` days before an installment falls due,
  while nothing is late and the installment is not paid in full;
- ``late``: once the loan is ``late_days`` days late;
- ``formal_notice``: once it is ``formal_notice_days`` days late.

A loan is due at most one reminder a day, named by its kind and a day (``DueReminder.due_date``):
the installment's due date before it falls due, the first day of the late episode afterwards
(the due date of the oldest unpaid installment, or the day a refunded debt became owed:
``late_since`` of the arrears projection). The store keeps each (loan, kind, day) once, so a
reminder is sent once per installment or late episode however often the daily run goes. When
the person pays the oldest installment but the next one is late too, a new episode starts from
its due date, and its own reminders come when it is late enough.

A reminder is due over a window of days, not on one day only, so a day the run missed (the
server was down) is caught up the next day: ``before_due`` from ``before_due_days`` days before
the due date to the day before it; ``late`` from ``late_days`` days late to the day before the
formal notice is due; ``formal_notice`` from ``formal_notice_days`` days late for as long as the
episode lasts. Once the formal notice is due, the late reminder is not sent any more.

Only loans paid out and active get reminders: not before the payout, nor once closed,
overpaid or written off. The loan's state on the day is what the arrears projection computes
(``ledger.domain.arrears``): the schedule in force that day and the payments that count on it,
backdated ones included (a payment booked today with an earlier value date counts from that
date on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from ledger.domain.arrears import LoanHistory, days_past_due, schedule_on
from ledger.domain.errors import ValidationError
from ledger.domain.repayment import Replay
from ledger.domain.statuses import ReminderChannel, ReminderKind, ReminderStatus

FIELD = "rules_file"
#: The longest wait the rules may set: a year late.
MOST_DAYS_LATE = 365
#: Before a due date: at most four weeks (installments are a month apart).
MOST_DAYS_BEFORE = 28


class Tone(StrEnum):
    """How the wording sounds: ``friendly`` (warm, first person) or ``neutral`` (plain)."""

    FRIENDLY = "friendly"
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True)
class ReminderRules:
    """The fund's reminder settings. ``before_due_days = 0``: no reminder before a due date."""

    before_due_days: int = 5
    late_days: int = 10
    formal_notice_days: int = 30
    tone: Tone = Tone.FRIENDLY

    def __post_init__(self) -> None:
        def bad(key: str, what: str) -> ValidationError:
            return ValidationError(f"reminders.{key} {what}", FIELD)

        for key, low, high in (
            ("before_due_days", 0, MOST_DAYS_BEFORE),
            ("late_days", 1, MOST_DAYS_LATE - 1),
            ("formal_notice_days", 2, MOST_DAYS_LATE),
        ):
            value = getattr(self, key)
            if type(value) is not int or not low <= value <= high:
                raise bad(key, f"must be a whole number from {low} to {high}, not {value!r}")
        if self.formal_notice_days <= self.late_days:
            raise bad(
                "formal_notice_days",
                f"({self.formal_notice_days}) must be more than late_days ({self.late_days}): "
                "the formal notice comes after the first reminder",
            )
        try:
            object.__setattr__(self, "tone", Tone(self.tone))
        except ValueError:
            choices = ", ".join(t.value for t in Tone)
            raise bad("tone", f"must be one of {choices}, not {self.tone!r}") from None


@dataclass(frozen=True, slots=True)
class InstallmentLeft:
    """An installment as it stands on a day: what is left to pay of it."""

    number: int
    due_date: date
    minor: int
    left: int


@dataclass(frozen=True, slots=True)
class Standing:
    """A loan on a day: its installments with what is left of each, and its arrears."""

    loan_id: str
    day: date
    installments: tuple[InstallmentLeft, ...]
    outstanding: int  # still owed (minor units): the installments left and any refunded debt
    late_since: date | None  # the first day of what is late, whatever ``day`` is

    @property
    def days_late(self) -> int:
        return days_past_due(self.late_since, self.day)

    @property
    def overdue(self) -> int:
        """What fell due by ``day`` and is not paid (a refunded debt is all overdue)."""
        on_schedule = sum(i.left for i in self.installments if i.due_date <= self.day)
        debt = self.outstanding - sum(i.left for i in self.installments)
        return on_schedule + max(debt, 0)

    def next_unpaid(self) -> InstallmentLeft | None:
        """The first installment falling due after ``day`` that is not paid in full."""
        return next((i for i in self.installments if i.due_date > self.day and i.left > 0), None)


def standing_on(history: LoanHistory, day: date) -> Standing | None:
    """The loan on ``day``: None before its payout, once written off, or without a schedule.

    The same replay as the arrears projection's: the schedule in force on ``day`` and the
    payments (refunds negative) that count on it, in value-date order."""
    if day < history.paid_out_on:
        return None
    if history.written_off_on is not None and day >= history.written_off_on:
        return None
    schedule = schedule_on(history.schedules, day)
    if schedule is None or not schedule.installments:
        return None
    replay = Replay(schedule.installments)
    events = sorted(
        (p.event for p in history.payments if p.counts_on(day)), key=lambda e: (e.on, e.key)
    )
    for event in events:
        replay.add(event)
    outstanding, late_since = replay.owed()
    paid = replay.allocation().paid
    return Standing(
        loan_id=history.loan_id,
        day=day,
        installments=tuple(
            InstallmentLeft(i.number, i.due_date, i.minor, i.minor - p)
            for i, p in zip(schedule.installments, paid, strict=True)
        ),
        outstanding=outstanding,
        late_since=late_since if outstanding > 0 else None,
    )


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A reminder a loan is due: its kind and the day that names it (see the module)."""

    loan_id: str
    kind: ReminderKind
    due_date: date  # the installment's due date (before due) or the late episode's first day
    days_late: int  # 0 before a due date

    @property
    def key(self) -> tuple[str, ReminderKind, date]:
        return (self.loan_id, self.kind, self.due_date)


def reminder_due(standing: Standing | None, rules: ReminderRules) -> DueReminder | None:
    """The reminder a loan is due on ``standing.day``, if any (at most one a day)."""
    if standing is None or standing.outstanding <= 0:
        return None
    late = standing.days_late
    if late > 0 and standing.late_since is not None:
        if late >= rules.formal_notice_days:
            kind = ReminderKind.FORMAL_NOTICE
        elif late >= rules.late_days:
            kind = ReminderKind.LATE
        else:  # late, but not yet long enough for a reminder
            return None
        return DueReminder(standing.loan_id, kind, standing.late_since, late)
    if rules.before_due_days <= 0:
        return None
    coming = standing.next_unpaid()
    if coming is None or coming.due_date - standing.day > timedelta(days=rules.before_due_days):
        return None
    return DueReminder(standing.loan_id, ReminderKind.BEFORE_DUE, coming.due_date, 0)


def letter_for(
    standing: Standing | None, rules: ReminderRules, kind: ReminderKind | None = None
) -> DueReminder | None:
    """The reminder a letter printed on ``standing.day`` carries: ``kind`` if it fits the
    loan that day, else the one that fits (None: nothing is late or to come).

    Staff print a letter when they choose, not only on the days the e-mails go: a loan late at
    all gets the late letter (the formal notice once it is ``formal_notice_days`` late, or when
    asked for by name), one with nothing late its next installment's reminder."""
    if standing is None or standing.outstanding <= 0:
        return None
    late = standing.days_late
    if late > 0 and standing.late_since is not None:
        if kind is ReminderKind.BEFORE_DUE:
            return None
        chosen = kind or (
            ReminderKind.FORMAL_NOTICE if late >= rules.formal_notice_days else ReminderKind.LATE
        )
        return DueReminder(standing.loan_id, chosen, standing.late_since, late)
    if kind not in (None, ReminderKind.BEFORE_DUE):
        return None
    coming = standing.next_unpaid()
    if coming is None:
        return None
    return DueReminder(standing.loan_id, ReminderKind.BEFORE_DUE, coming.due_date, 0)


def first_name(full_name: str) -> str:
    """The name a message greets the person by: the first word of the name registered (of its
    first form, when it is written in two scripts: "Olena Kovalenko / Олена Коваленко")."""
    form = full_name.split("/")[0].strip() or full_name.strip()
    words = form.split()
    return words[0] if words else full_name.strip()


@dataclass(frozen=True, slots=True)
class StoredReminder:
    """A reminder as the loan records it (the ``reminders`` table)."""

    id: int
    loan_id: str
    kind: ReminderKind
    due_date: date
    channel: ReminderChannel
    status: ReminderStatus
    day: date  # the fund's day it was last sent, tried or printed
    days_late: int
    language: str | None
    attempts: int
    reason: str | None  # why it was skipped (SkipReason)
    error: str | None  # why it was not sent: the SMTP server's answer, addresses blanked
    message_id: str | None
    link_id: int | None  # the personal link the e-mail carried
    created_at: datetime
    created_by: str
    updated_at: datetime

    @property
    def key(self) -> tuple[str, ReminderKind, date]:
        return (self.loan_id, self.kind, self.due_date)


class SkipReason(StrEnum):
    """Why an e-mail reminder was not sent (nor will be, until this changes)."""

    OPTED_OUT = "opted_out"  # the person asked for none
    NO_EMAIL = "no_email"  # no e-mail address recorded
    ERASED = "erased"  # the person's data was erased
