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
    replay = Replay(installments)
    for payment in sorted(payments, key=lambda p: (p.on, p.key)):
        replay.add(payment)
    return replay.allocation()


class Replay:
    """The allocation of payments over a schedule, one payment at a time: ``allocate`` is
    this, fed the payments in date order. The arrears projection (``ledger.domain.arrears``)
    reads its state between payments instead of replaying from the first one each time."""

    __slots__ = ("_debts", "_dues", "_installments", "_last", "_remaining", "credit", "parts")

    def __init__(self, installments: Sequence[Due]) -> None:
        self._installments = installments
        self._remaining = [i.minor for i in installments]
        self._dues = [i.due_date for i in installments]
        self.credit = 0
        self._debts: list[tuple[date, int]] = []  # (refund date, still owed), oldest first
        self.parts: dict[int, tuple[tuple[int, int], ...]] = {}
        self._last: tuple[date, int] | None = None

    def add(self, payment: PaymentEvent) -> None:
        """Allocate the next payment; payments come in (date, key) order."""
        order_key = (payment.on, payment.key)
        if self._last is not None and order_key < self._last:
            raise ValueError("payments are replayed in (date, key) order")
        self._last = order_key
        installments, remaining = self._installments, self._remaining
        n = len(remaining)
        if payment.minor < 0:
            back = -payment.minor
            from_credit = min(back, max(self.credit, 0))
            self.credit -= from_credit
            back -= from_credit
            undone: list[tuple[int, int]] = []
            for idx in range(n - 1, -1, -1):
                amount = min(back, installments[idx].minor - remaining[idx])
                if amount:
                    remaining[idx] += amount
                    back -= amount
                    undone.append((installments[idx].number, -amount))
            self.credit -= back  # refunded beyond everything ever paid: owed outside the schedule
            if back:
                self._debts.append((payment.on, back))
            self.parts[payment.key] = tuple(undone)
            return
        left = payment.minor
        if self.credit < 0:  # refunded more than was left: that debt is the oldest, paid first
            settled = min(left, -self.credit)
            self.credit += settled
            left -= settled
            debts = self._debts
            while settled:  # the oldest refund first
                since, owed = debts[0]
                part = min(settled, owed)
                settled -= part
                if part == owed:
                    debts.pop(0)
                else:
                    debts[0] = (since, owed - part)
        dues = self._dues
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
        self.credit += left
        self.parts[payment.key] = tuple(taken)

    @property
    def debt_since(self) -> date | None:
        """While credit < 0: when its oldest unpaid part was refunded."""
        return self._debts[0][0] if self._debts else None

    def owed(self) -> tuple[int, date | None]:
        """(still owed: on the schedule and any refunded debt; the earliest day from which
        something of it is owed: the oldest refunded debt or unpaid installment, whatever
        today is). Arrears as of any day read these two (``ledger.domain.arrears``)."""
        outstanding = max(-self.credit, 0)
        since = self.debt_since
        for due, left in zip(self._dues, self._remaining, strict=True):
            if left:
                outstanding += left
                if since is None or due < since:
                    since = due
        return outstanding, since

    def allocation(self) -> Allocation:
        paid = tuple(i.minor - r for i, r in zip(self._installments, self._remaining, strict=True))
        return Allocation(paid, self.credit, dict(self.parts), self.debt_since)


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
