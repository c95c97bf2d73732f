"""Allocating payments to installments, and arrears: pure functions, replayable as of any date.

A loan's paid state is never stored: it is derived by replaying its (non-reversed) payments in
date order over its schedule. A backdated payment therefore re-allocates everything after it,
and a reversed (bounced) payment simply drops out and reopens the arrears.

Allocation of each payment (after Fineract's "due date, then advance" strategies):
1. installments due on or before the payment date, oldest first;
2. then the next installment to fall due;
3. then in advance from the *last* installment backwards, so a prepayment shortens the loan;
4. anything beyond what is owed is a credit owed back to the beneficiary (overpayment).

A refund of that credit is a negative event in the same replay: it takes the credit back, and
if a bounced payment has since shrunk the credit below what was refunded, the rest un-pays
installments from the last one backwards: the person owes again what was paid back to them.
Refunded beyond everything ever paid, the credit goes negative: a debt outside the schedule,
which the next payments settle first. It is owed from the day of the refund that made it, so
arrears count it as overdue from then (``Allocation.debt_since``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import NamedTuple, Protocol


class Due(Protocol):
    """What allocation needs of an installment: a schedule's ``Installment`` is one, and so
    is the lighter ``DueAmount`` a portfolio is read into."""

    @property
    def number(self) -> int: ...
    @property
    def due_date(self) -> date: ...
    @property
    def minor(self) -> int: ...


class DueAmount(NamedTuple):
    number: int
    due_date: date
    minor: int


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A payment towards a loan (a refund of credit when ``minor`` is negative): ``key``
    orders events booked on the same day."""

    key: int
    on: date
    minor: int


@dataclass(frozen=True, slots=True)
class Allocation:
    paid: tuple[int, ...]  # minor units paid on each installment, in schedule order
    credit: int  # overpayment: paid beyond everything owed
    parts: dict[int, tuple[tuple[int, int], ...]]  # payment key -> ((installment no, minor), ...)
    debt_since: date | None = None  # while credit < 0: when its oldest unpaid part was refunded

    @property
    def total_paid(self) -> int:
        return sum(self.paid)

    @property
    def debt(self) -> int:
        """Refunded beyond everything paid: owed outside the schedule (never negative)."""
        return max(-self.credit, 0)


def allocate(installments: Sequence[Due], payments: Iterable[PaymentEvent]) -> Allocation:
    remaining = [i.minor for i in installments]
    dues = [i.due_date for i in installments]
    credit = 0
    debts: list[tuple[date, int]] = []  # (refund date, still owed), oldest first; sum = -credit
    parts: dict[int, tuple[tuple[int, int], ...]] = {}
    n = len(remaining)
    for payment in sorted(payments, key=lambda p: (p.on, p.key)):
        if payment.minor < 0:
            back = -payment.minor
            from_credit = min(back, max(credit, 0))
            credit -= from_credit
            back -= from_credit
            undone: list[tuple[int, int]] = []
            for idx in range(n - 1, -1, -1):
                amount = min(back, installments[idx].minor - remaining[idx])
                if amount:
                    remaining[idx] += amount
                    back -= amount
                    undone.append((installments[idx].number, -amount))
            credit -= back  # refunded beyond everything ever paid: owed outside the schedule
            if back:
                debts.append((payment.on, back))
            parts[payment.key] = tuple(undone)
            continue
        left = payment.minor
        if credit < 0:  # refunded more than was left: that debt is the oldest, paid first
            settled = min(left, -credit)
            credit += settled
            left -= settled
            while settled:  # the oldest refund first
                since, owed = debts[0]
                part = min(settled, owed)
                settled -= part
                if part == owed:
                    debts.pop(0)
                else:
                    debts[0] = (since, owed - part)
        past_due = [i for i in range(n) if dues[i] <= payment.on]
        upcoming = next((i for i in range(len(past_due), n) if remaining[i]), None)
        order = past_due + ([upcoming] if upcoming is not None else []) + list(range(n - 1, -1, -1))
        taken: list[tuple[int, int]] = []
        for idx in order:
            if not left:
                break
            amount = min(left, remaining[idx])
            if amount:
                remaining[idx] -= amount
                left -= amount
                taken.append((installments[idx].number, amount))
        credit += left
        parts[payment.key] = tuple(taken)
    paid = tuple(i.minor - r for i, r in zip(installments, remaining, strict=True))
    return Allocation(paid, credit, parts, debts[0][0] if debts else None)


class AgingBucket(StrEnum):
    CURRENT = "current"
    D1_30 = "1-30"
    D31_60 = "31-60"
    D61_90 = "61-90"
    D91_180 = "91-180"
    D181_360 = "181-360"
    OVER_360 = ">360"


BUCKET_LIMITS = (
    (0, AgingBucket.CURRENT),
    (30, AgingBucket.D1_30),
    (60, AgingBucket.D31_60),
    (90, AgingBucket.D61_90),
    (180, AgingBucket.D91_180),
    (360, AgingBucket.D181_360),
)


def bucket(days_past_due: int) -> AgingBucket:
    for limit, name in BUCKET_LIMITS:
        if days_past_due <= limit:
            return name
    return AgingBucket.OVER_360


@dataclass(frozen=True, slots=True)
class Arrears:
    as_of: date
    outstanding: int  # still owed: on the schedule, and any refunded debt (minor units)
    overdue: int  # the part of it that fell due on or before as_of (a refunded debt: all)
    days_past_due: int
    oldest_unpaid_due: date | None

    @property
    def bucket(self) -> AgingBucket:
        return bucket(self.days_past_due)


def arrears(installments: Sequence[Due], payments: Iterable[PaymentEvent], as_of: date) -> Arrears:
    """Arrears as of a date, counting only payments made on or before it. A debt refunded
    beyond everything paid is overdue from the day of that refund."""
    alloc = allocate(installments, (p for p in payments if p.on <= as_of))
    outstanding = overdue = alloc.debt
    oldest = alloc.debt_since
    for inst, paid in zip(installments, alloc.paid, strict=True):
        owed = inst.minor - paid
        outstanding += owed
        if owed and inst.due_date <= as_of:
            overdue += owed
            if oldest is None or inst.due_date < oldest:
                oldest = inst.due_date
    dpd = (as_of - oldest).days if oldest is not None else 0
    return Arrears(as_of, outstanding, overdue, dpd, oldest)
