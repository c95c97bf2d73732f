"""Where a loan stands for the person who repays it, as of a day: the one reading that the
beneficiary's page, the schedule PDF and ``fundledger loan show`` all tell.

A loan is told by its *standing*, not by its stored state alone, and every figure shown comes
from here:

============  =====================================================  ===============================
standing      when (as of the day)                                   what is said and shown
============  =====================================================  ===============================
not_paid_out  approved, signed...: the money has not gone out        the installments to come, what
                                                                     happens next; nothing is asked
not_granted   rejected or withdrawn                                  nothing is or will be owed
repaying      paid out, something still owed                         paid, still to pay, late, next
                                                                     payment; the only standing
                                                                     that asks for a payment
repaid        paid out, everything repaid                            paid; nothing left to pay
overpaid      paid out, repaid beyond what was owed                  paid; what the fund owes back
written_off   written off on or before the day, nothing received     paid; what was written off;
              since                                                  nothing is asked
recovered     written off, money received since (recoveries: a       paid; written off; received
              payment after the write-off, even backdated, or the    since (and whether it covers
              deposit released by the landlord)                      all that was written off)
============  =====================================================  ===============================

The installments' unpaid parts are "still to pay" only while the loan is being repaid; once it
is written off they are what was written off (a written-off loan asks for nothing), and before
the payout they are what will be owed. Pure: the services read the figures, this decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from ledger.domain.repayment import Arrears
from ledger.domain.statuses import LoanStatus

_PAID_OUT = frozenset(
    {LoanStatus.ACTIVE, LoanStatus.CLOSED, LoanStatus.OVERPAID, LoanStatus.WRITTEN_OFF}
)
_NOT_GRANTED = frozenset({LoanStatus.REJECTED, LoanStatus.WITHDRAWN})


class Standing(StrEnum):
    NOT_PAID_OUT = "not_paid_out"
    NOT_GRANTED = "not_granted"
    REPAYING = "repaying"
    REPAID = "repaid"
    OVERPAID = "overpaid"
    WRITTEN_OFF = "written_off"
    RECOVERED = "recovered"


class LineState(StrEnum):
    """What an installment is, as of the day."""

    PLANNED = "planned"  # before the payout: what will be owed
    PAID = "paid"
    LATE = "late"  # due on or before the day, not (all) paid
    TO_PAY = "to_pay"  # falls due after the day
    WRITTEN_OFF = "written_off"  # its unpaid part was written off
    CANCELLED = "cancelled"  # the loan was not granted


class Figure(StrEnum):
    """The amounts a standing shows, in the order they are shown (``LoanStanding.figures``)."""

    LOAN = "loan"  # the amount lent (before the payout: what will be repaid)
    PAID = "paid"  # repaid through the schedule
    OUTSTANDING = "outstanding"  # still to pay
    OVERDUE = "overdue"  # of which late
    NEXT = "next"  # the next payment asked for (with its date)
    FIRST = "first"  # before the payout: the first installment (with its date)
    CREDIT = "credit"  # paid beyond what was owed: the fund owes it back
    WRITTEN_OFF = "written_off"
    RECOVERED = "recovered"  # received after the write-off


class Installment(Protocol):
    """An installment with what was paid on it (minor units): ``InstallmentView`` is one."""

    @property
    def number(self) -> int: ...
    @property
    def due_date(self) -> date: ...
    @property
    def amount(self) -> int: ...
    @property
    def paid(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StandingLine:
    number: int
    due_date: date
    amount: int
    paid: int
    unpaid: int  # amount - paid: still to pay, written off or to be owed, by ``state``
    state: LineState

    @property
    def to_pay(self) -> int:
        """What this installment asks for now (0 unless the loan is being repaid)."""
        return self.unpaid if self.state in (LineState.LATE, LineState.TO_PAY) else 0


@dataclass(frozen=True, slots=True)
class LoanStanding:
    standing: Standing
    as_of: date
    lines: tuple[StandingLine, ...]
    loan: int  # the schedule's total: the amount lent
    paid: int  # repaid through the schedule (recoveries are not: see ``recovered``)
    outstanding: int  # still to pay: on the schedule and any refunded debt; 0 unless repaying
    overdue: int  # the part of it due on or before the day
    days_past_due: int
    late_since: date | None  # oldest unpaid due date (or refunded debt's day) while repaying
    next_due_date: date | None  # repaying: the next payment's day; before the payout: the first
    next_amount: int  # what is late plus the next installment; before the payout: the first
    credit: int  # paid beyond what was owed (once written off: beyond it), owed back
    written_off: int  # what was unpaid when written off (0 unless written off)
    written_off_on: date | None
    recovered: int  # received after the write-off, up to what was written off

    @property
    def asks_payment(self) -> bool:
        """Whether the person is asked to pay (amount, reference, QR code): only while the loan
        is being repaid and something is owed."""
        return self.standing is Standing.REPAYING and self.outstanding > 0

    @property
    def fully_recovered(self) -> bool:
        return self.standing is Standing.RECOVERED and self.recovered >= self.written_off

    @property
    def paid_in_all(self) -> int:
        """Everything the person paid: on the schedule, and after a write-off."""
        return self.paid + self.recovered

    def figures(self) -> tuple[tuple[Figure, int, date | None], ...]:
        """What is shown, in order: (figure, amount in minor units, its date or None). The page,
        the PDF and the command line show these and no other amounts."""
        s, f = self.standing, Figure
        if s is Standing.NOT_GRANTED:
            return ()
        if s is Standing.NOT_PAID_OUT:
            return ((f.LOAN, self.loan, None), (f.FIRST, self.next_amount, self.next_due_date))
        shown: list[tuple[Figure, int, date | None]] = [(f.PAID, self.paid, None)]
        if s is Standing.REPAYING:
            shown.append((f.OUTSTANDING, self.outstanding, None))
            if self.overdue > 0:
                shown.append((f.OVERDUE, self.overdue, self.late_since))
            if self.next_amount > 0:
                shown.append((f.NEXT, self.next_amount, self.next_due_date))
        elif s is Standing.REPAID:
            shown.append((f.OUTSTANDING, 0, None))
        elif s is Standing.OVERPAID:
            shown.append((f.CREDIT, self.credit, None))
        else:  # written off, recovered
            shown.append((f.WRITTEN_OFF, self.written_off, self.written_off_on))
            if s is Standing.RECOVERED:
                shown.append((f.RECOVERED, self.recovered, None))
            if self.credit > 0:  # received beyond what was written off: owed back
                shown.append((f.CREDIT, self.credit, None))
        return tuple(shown)


def loan_standing(
    status: LoanStatus,
    as_of: date,
    installments: Sequence[Installment],
    *,
    arrears: Arrears | None = None,
    credit: int = 0,
    written_off_on: date | None = None,
    recovered: int = 0,
    refunded: int = 0,
) -> LoanStanding:
    """Where the loan stands on ``as_of``.

    ``installments``: the schedule in force that day with what the payments made by then paid
    on each (the allocation; recoveries are not allocated). ``arrears``: the same replay's
    arrears (with a refunded debt); None reads them from the installments alone. ``credit``:
    paid beyond what was owed. ``written_off_on``: the day a written-off loan's write-off was
    booked (a day after ``as_of``: not yet written off that day; None: written off, day
    unknown); ``recovered``: what was received after the write-off, by ``as_of``;
    ``refunded``: what was paid back to the person since the write-off, by ``as_of``.

    Once written off, what came in counts as recovered up to what was written off; beyond
    that (and any credit from before the write-off), less what was refunded since, the fund
    owes it back: ``credit``.
    """
    total = sum(i.amount for i in installments)
    paid = sum(i.paid for i in installments)
    if arrears is None:
        arrears = arrears_of(installments, as_of)
    written_off = status is LoanStatus.WRITTEN_OFF and (
        written_off_on is None or written_off_on <= as_of
    )
    if status in _NOT_GRANTED:
        standing = Standing.NOT_GRANTED
    elif status not in _PAID_OUT:
        standing = Standing.NOT_PAID_OUT
    elif written_off:
        owed_back = max(credit, 0) + max(recovered - arrears.outstanding, 0) - refunded
        recovered = min(recovered, arrears.outstanding)
        credit = max(owed_back, 0)
        standing = Standing.RECOVERED if recovered > 0 else Standing.WRITTEN_OFF
    elif arrears.outstanding > 0:
        standing = Standing.REPAYING
    elif credit > 0:
        standing = Standing.OVERPAID
    else:
        standing = Standing.REPAID

    lines = tuple(_line(i, standing, as_of) for i in installments)
    next_due: date | None = None
    next_amount = 0
    if standing is Standing.NOT_PAID_OUT:
        first = next((i for i in installments if i.amount > i.paid), None)
        if first is not None:
            next_due, next_amount = first.due_date, first.amount - first.paid
    elif standing is Standing.REPAYING:
        upcoming = next((x for x in lines if x.state is LineState.TO_PAY), None)
        if upcoming is not None:
            next_due, next_amount = upcoming.due_date, arrears.overdue + upcoming.unpaid
        else:
            next_due, next_amount = as_of, arrears.overdue
        next_amount = min(next_amount, arrears.outstanding)
    repaying = standing is Standing.REPAYING
    return LoanStanding(
        standing=standing,
        as_of=as_of,
        lines=lines,
        loan=total,
        paid=paid,
        outstanding=arrears.outstanding if repaying else 0,
        overdue=arrears.overdue if repaying else 0,
        days_past_due=arrears.days_past_due if repaying else 0,
        late_since=arrears.oldest_unpaid_due if repaying else None,
        next_due_date=next_due,
        next_amount=next_amount,
        credit=credit if standing is Standing.OVERPAID or written_off else 0,
        written_off=arrears.outstanding if written_off else 0,
        written_off_on=written_off_on if written_off else None,
        recovered=recovered if written_off else 0,
    )


def _line(i: Installment, standing: Standing, as_of: date) -> StandingLine:
    unpaid = i.amount - i.paid
    if standing is Standing.NOT_PAID_OUT:
        state = LineState.PLANNED
    elif standing is Standing.NOT_GRANTED:
        state = LineState.CANCELLED
    elif unpaid <= 0:
        state = LineState.PAID
    elif standing in (Standing.WRITTEN_OFF, Standing.RECOVERED):
        state = LineState.WRITTEN_OFF
    elif i.due_date <= as_of:
        state = LineState.LATE
    else:
        state = LineState.TO_PAY
    return StandingLine(i.number, i.due_date, i.amount, i.paid, unpaid, state)


def arrears_of(installments: Sequence[Installment], as_of: date) -> Arrears:
    """Arrears read from installments with what is paid on each (no refunded debt)."""
    outstanding = overdue = 0
    oldest: date | None = None
    for i in installments:
        owed = i.amount - i.paid
        outstanding += owed
        if owed > 0 and i.due_date <= as_of:
            overdue += owed
            oldest = i.due_date if oldest is None else min(oldest, i.due_date)
    return Arrears(as_of, outstanding, overdue, (as_of - oldest).days if oldest else 0, oldest)
