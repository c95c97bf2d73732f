"""Interest-free repayment schedules: pure functions over immutable values.

Rules (after Apache Fineract and the Brussels Housing Fund):
- monthly installments on a fixed day of the month; a due day past the month's end is clamped
  (the 31st falls on 30 April and 28 or 29 February), and a first due date on a month's last day
  keeps every due date on the last day;
- principal / n rounded half-even to the minor unit, the last installment takes the difference
  (1000.00 / 3 = 333.33, 333.33, 333.34); or, in whole-unit mode, rounded *up* to whole units with
  a smaller last installment, never zero;
- an installment below the fund's minimum is refused, saying how many months would do;
- payment holidays skip months: the installments keep their amounts and the maturity moves later;
- rescheduling builds a new schedule from the outstanding balance (the old one stays as history).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from ledger.domain.errors import ValidationError
from ledger.domain.journal import month_of, parse_month
from ledger.domain.money import Money, from_minor, split_evenly, to_minor

MAX_INSTALLMENTS = 120
MONTH_END = 31


@dataclass(frozen=True, slots=True)
class Installment:
    number: int
    due_date: date
    amount: Money
    # Worked out once: allocation and arrears read it millions of times over a portfolio.
    minor: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "minor", to_minor(self.amount))


@dataclass(frozen=True, slots=True)
class Schedule:
    """One version of a loan's schedule."""

    installments: tuple[Installment, ...]

    @property
    def total(self) -> Money:
        return from_minor(sum(i.minor for i in self.installments), self.currency)

    @property
    def currency(self) -> str:
        return str(self.installments[0].amount.currency.code)

    @property
    def maturity(self) -> date:
        return self.installments[-1].due_date


def add_months(day: date, months: int, due_day: int) -> date:
    """The date ``months`` after ``day``'s month, on ``due_day`` clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(due_day, last))


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def due_dates(
    first_due: date, count: int, *, due_day: int | None = None, holidays: Iterable[str] = ()
) -> list[date]:
    """``count`` monthly due dates from ``first_due``, skipping holiday months (YYYY-MM)."""
    if due_day is None:
        due_day = MONTH_END if is_month_end(first_due) else first_due.day
    if not 1 <= due_day <= MONTH_END:
        raise ValidationError("due day must be between 1 and 31", field="due_day")
    skip = {parse_month(m) for m in holidays}
    dates: list[date] = []
    offset = 0
    while len(dates) < count:
        day = first_due if offset == 0 else add_months(first_due, offset, due_day)
        if not skip or month_of(day) not in skip:
            dates.append(day)
        offset += 1
        if offset > count + len(skip) + 1:
            break
    return dates


def installment_count(principal: Money, monthly: Money) -> int:
    """How many installments of ``monthly`` repay ``principal`` (the last may be smaller)."""
    p, m = to_minor(principal), to_minor(monthly)
    if m <= 0:
        raise ValidationError("the monthly amount must be positive", field="monthly_amount")
    return -(-p // m)


def build_schedule(
    principal: Money,
    *,
    first_due: date,
    count: int | None = None,
    monthly_amount: Money | None = None,
    due_day: int | None = None,
    whole_units: bool = False,
    minimum: Money | None = None,
    holidays: Sequence[str] = (),
) -> Schedule:
    """A schedule for ``principal``, from a number of installments or a monthly amount."""
    code = str(principal.currency.code)
    if to_minor(principal) <= 0:
        raise ValidationError("the amount to repay must be positive", field="amount")
    if (count is None) == (monthly_amount is None):
        raise ValidationError(
            "give either the number of installments or the monthly amount", field="duration"
        )
    if monthly_amount is not None:
        if monthly_amount.currency != principal.currency:
            raise ValidationError("monthly amount is in another currency", "monthly_amount")
        count = installment_count(principal, monthly_amount)
        if count > MAX_INSTALLMENTS:
            raise ValidationError(
                f"that makes {count} installments; at most {MAX_INSTALLMENTS} allowed",
                "monthly_amount",
            )
        p, m = to_minor(principal), to_minor(monthly_amount)
        sizes = [m] * (count - 1) + [p - m * (count - 1)]
        amounts = [from_minor(s, code) for s in sizes]
    else:
        if count is None:
            raise ValidationError(
                "give the number of installments or the monthly amount", "duration"
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValidationError("the number of installments must be at least 1", "duration")
        if count > MAX_INSTALLMENTS:
            raise ValidationError(f"at most {MAX_INSTALLMENTS} installments", "duration")
        amounts = split_evenly(principal, count, whole_units=whole_units)
    if minimum is not None and len(amounts) > 1 and to_minor(amounts[0]) < to_minor(minimum):
        most = max(1, to_minor(principal) // to_minor(minimum))
        raise ValidationError(
            f"installments of {amounts[0]} are below the fund's minimum of {minimum}; "
            f"spread {principal} over at most {most} months",
            field="duration",
        )
    dates = due_dates(first_due, len(amounts), due_day=due_day, holidays=holidays)
    return Schedule(
        tuple(Installment(n, d, a) for n, (d, a) in enumerate(zip(dates, amounts, strict=True), 1))
    )


def due_day_of(installments: Sequence[Installment], fallback: int) -> int:
    """The day of the month a schedule falls due on, read from its dates.

    The first installment is left out: it may be on another day (an explicit first due date,
    or a rescheduled loan's settled line). A later date that is not a month's last day gives
    the day; month ends that include a 31st mean month ends; otherwise ``fallback``.
    """
    later = [i.due_date for i in installments[1:]]
    for day in reversed(later):
        if not is_month_end(day):
            return day.day
    if any(day.day == MONTH_END for day in later):
        return MONTH_END
    return fallback


def skip_month(schedule: Schedule, month: str, due_day: int) -> Schedule:
    """A payment holiday: nothing falls due in ``month`` any more.

    The installment due that month and every later one take the due date of the one after
    it, and the last moves a month on (to ``due_day``, clamped): the amounts stay, the maturity
    moves a month later, and months skipped before stay skipped.
    """
    month = parse_month(month)
    dates = [i.due_date for i in schedule.installments]
    start = next((n for n, d in enumerate(dates) if month_of(d) == month), None)
    if start is None:
        raise ValidationError(
            f"no installment falls due in {month}; there is nothing to skip", "month"
        )
    moved = dates[:start] + dates[start + 1 :] + [add_months(dates[-1], 1, due_day)]
    return Schedule(
        tuple(
            Installment(i.number, d, i.amount)
            for i, d in zip(schedule.installments, moved, strict=True)
        )
    )


def redate(
    schedule: Schedule, *, first_due: date, due_day: int | None, holidays: Iterable[str]
) -> Schedule:
    """The same installments on new due dates, e.g. after adding a payment holiday.

    A holiday month has no installment; the installment that would fall in it and every later
    one move on by a month, so the maturity moves later and the amounts stay the same.
    """
    dates = due_dates(first_due, len(schedule.installments), due_day=due_day, holidays=holidays)
    return Schedule(
        tuple(
            Installment(i.number, d, i.amount)
            for i, d in zip(schedule.installments, dates, strict=True)
        )
    )
