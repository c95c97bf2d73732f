"""The monthly reconciliation as values: what the ledger says beside what the bank says.

``ledger.services.reconciliation`` fills these from the database; the month close reads
``MonthReconciliation.reconciled`` and the monthly report prints them. All amounts are integer
minor units of the value's currency; a signed amount on the bank account is positive for money
in and negative for money out, as on the bank's side of the page.

The bank account reconciles when

    ledger balance at month end - bank closing balance
        = sum(items in transit) - sum(unmatched statement lines)

and nothing is left unmatched: an item in transit (booked in the ledger, not yet on a
statement, e.g. a payout the bank executes on the 2nd) is normal; a statement line nothing in
the ledger explains is a difference the treasurer must clear before the month closes.

The account's first statement opens with the balance the bank held before it: the ledger's
movements up to that opening date that no line explains (the opening capital booked by hand)
stand for it and are not in transit, so a difference between the two stays unexplained.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeAlias

from ledger.domain.aging import Aging as Aging  # the aging, computed in ledger.domain.aging

#: Age groups of unidentified receipts, in days since the bank booked them.
RECEIPT_AGES = ("0-30", "31-60", "61-90", ">90")
#: The most days each age group but the last holds.
_AGE_LIMITS = (("0-30", 30), ("31-60", 60), ("61-90", 90))


def receipt_age(days: int) -> str:
    for age, most in _AGE_LIMITS:
        if days <= most:
            return age
    return RECEIPT_AGES[-1]


def receipt_age_since(end: date) -> list[tuple[str, date]]:
    """Each age group but the oldest with the earliest booking date it holds at ``end``
    (``receipt_age((end - day).days)`` as dates, for a query to group by)."""
    return [(age, end - timedelta(days=most)) for age, most in _AGE_LIMITS]


@dataclass(frozen=True, slots=True)
class InTransit:
    """Booked in the ledger on the bank account by month end, not on a statement by then."""

    entry_id: int
    booking_date: date
    kind: str
    description: str
    amount_minor: int  # signed: + money in, - money out


@dataclass(frozen=True, slots=True)
class OpenLine:
    """A statement line up to the statement date that nothing in the ledger explains."""

    line_id: int
    booking_date: date
    amount_minor: int  # signed
    text: str | None  # the bank's free text, kept until the line is matched


@dataclass(frozen=True, slots=True)
class MissingStatements:
    """Statement numbers missing from an account's series (``statements.sequence_gaps``):
    from ``first`` to ``last``, between the statements ``after`` and ``before`` (their keys)."""

    first: int
    last: int
    after: str
    before: str

    @property
    def numbers(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


@dataclass(frozen=True, slots=True)
class BankReconciliation:
    iban: str
    account_code: str
    currency: str
    ledger_minor: int  # the ledger's balance of the bank account at month end
    bank_minor: int | None  # closing balance of the last statement up to month end
    statement_date: date | None  # that statement's closing date; None: no statement yet
    in_transit: tuple[InTransit, ...] = ()
    unmatched: tuple[OpenLine, ...] = ()
    # The account's first statement: its opening balance, and the opening date up to which
    # the ledger's movements no line explains (``before_opening_minor``) stand for it.
    opening_minor: int | None = None
    opening_date: date | None = None
    before_opening_minor: int = 0
    # Statements missing by their sequence numbers (each in words): balances may agree while
    # their lines are not in the ledger.
    missing_statements: tuple[MissingStatements, ...] = ()  # gaps in the statements' numbers

    @property
    def opening_difference(self) -> int:
        """What the ledger held before the first statement, less the balance it opens with."""
        if self.opening_minor is None:
            return 0
        return self.before_opening_minor - self.opening_minor

    @property
    def difference(self) -> int:
        """Ledger minus bank; with no statement, the whole ledger balance is unexplained."""
        return self.ledger_minor - (self.bank_minor or 0)

    @property
    def explained(self) -> int:
        return sum(t.amount_minor for t in self.in_transit) - sum(
            u.amount_minor for u in self.unmatched
        )

    @property
    def unexplained(self) -> int:
        return self.difference - self.explained

    @property
    def reconciled(self) -> bool:
        if self.bank_minor is None:
            return self.ledger_minor == 0 and not self.in_transit
        return self.unexplained == 0 and not self.unmatched


@dataclass(frozen=True, slots=True)
class SubLedgerCheck:
    """The loans receivable control account beside the sum of the loans' own accounts."""

    currency: str
    control_minor: int
    loans_minor: int

    @property
    def difference(self) -> int:
        return self.control_minor - self.loans_minor


@dataclass(frozen=True, slots=True)
class UnidentifiedReceipt:
    line_id: int
    booking_date: date
    amount_minor: int
    age: str  # one of RECEIPT_AGES
    suggested_loan_id: str | None


@dataclass(frozen=True, slots=True)
class FundPosition:
    currency: str
    capital_minor: int  # equity: fund capital and the result so far
    cash_minor: int  # the bank accounts in the ledger
    loans_outstanding_minor: int  # loans receivable (control account)
    approved_not_disbursed_minor: int  # approved or signed loans not yet paid out
    reserve_minor: int  # cash kept back (eligibility rules' reserve)
    liabilities_minor: int  # beneficiary credits and unidentified receipts (owed or not ours)

    @property
    def available_to_lend_minor(self) -> int:
        """Cash that is the fund's own, less what is promised and the reserve; never negative."""
        free = (
            self.cash_minor
            - self.liabilities_minor
            - self.approved_not_disbursed_minor
            - self.reserve_minor
        )
        return max(free, 0)


#: Kinds of movement, in the order a report lists them.
MOVEMENT_KINDS = (
    "new_loans",
    "repayments",
    "deposit_releases",
    "write_offs",
    "recoveries",
    "donations",
    "charges",
    "refunds",
    "reversals",
    "other",
)

#: The movement each journal entry kind counts as (``ledger.domain.journal.EntryKind`` values);
#: capital, transfers, adjustments, unidentified receipts and reallocations are ``other``.
_MOVEMENT_OF_ENTRY = {
    "disbursement": "new_loans",
    "repayment": "repayments",
    "deposit_release": "deposit_releases",
    "write_off": "write_offs",
    "recovery": "recoveries",
    "donation": "donations",
    "bank_charge": "charges",
    "refund": "refunds",
    "reversal": "reversals",
}


def movement_kind(entry_kind: str) -> str:
    """The movement a journal entry of ``entry_kind`` counts as."""
    return _MOVEMENT_OF_ENTRY.get(str(entry_kind), "other")


def entry_kind_of(movement: str) -> str | None:
    """The one journal entry kind a movement counts, None for ``other`` (several kinds)."""
    return next((k for k, m in _MOVEMENT_OF_ENTRY.items() if m == movement), None)


@dataclass(frozen=True, slots=True)
class Movement:
    """One kind of movement in the month: how many entries and their total (positive).

    An entry's amount is the sum of its debits (a payout: its principal; a repayment: the money
    received, part of which may be the person's credit)."""

    kind: str  # one of MOVEMENT_KINDS
    count: int
    total_minor: int


#: What a note's figure can be: an amount in minor units or a count, a text (an IBAN, an
#: account's code), a day, or ids (statement lines).
NoteValue: TypeAlias = int | str | date | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Note:
    """Something the treasurer should look at or do, as a code and its figures, not in words.

    ``ledger.services.reconciliation`` finds them (each condition once); the command line and
    the API word them in English (``note_text``), the monthly report from its catalogs
    (``report.note.<code>``) in the report's language. ``values`` are (name, value) pairs: a
    name ending in ``_minor`` is an amount in minor units of ``currency``; an ``iban`` that is
    empty means the account has no IBAN linked (it is then named by its ledger ``account``)."""

    code: str
    currency: str
    values: tuple[tuple[str, NoteValue], ...] = ()

    @classmethod
    def of(cls, code: str, currency: str, **values: NoteValue) -> Note:
        return cls(code, currency, tuple(values.items()))

    def get(self, name: str) -> NoteValue:
        for key, value in self.values:
            if key == name:
                return value
        raise KeyError(f"note {self.code!r} has no value {name!r}")

    def number(self, name: str) -> int:
        """An amount in minor units or a count."""
        value = self.get(name)
        if not isinstance(value, int):
            raise TypeError(f"note {self.code!r}: {name} is {value!r}, not a number")
        return value

    def text(self, name: str) -> str:
        value = self.get(name)
        if not isinstance(value, str):
            raise TypeError(f"note {self.code!r}: {name} is {value!r}, not a text")
        return value

    def day(self, name: str) -> date:
        value = self.get(name)
        if not isinstance(value, date):
            raise TypeError(f"note {self.code!r}: {name} is {value!r}, not a date")
        return value

    def ids(self, name: str) -> tuple[int, ...]:
        value = self.get(name)
        if not isinstance(value, tuple):
            raise TypeError(f"note {self.code!r}: {name} is {value!r}, not ids")
        return value


@dataclass(frozen=True, slots=True)
class MonthReconciliation:
    month: str  # YYYY-MM
    month_end: date
    currency: str
    banks: tuple[BankReconciliation, ...]
    sub_ledger: SubLedgerCheck
    unidentified: tuple[UnidentifiedReceipt, ...]
    aging: Aging
    position: FundPosition
    movements: tuple[Movement, ...]
    closed: bool = False  # the month is closed already
    # What the treasurer should look at: each a code and its figures (the report words them
    # from its catalogs), and the same in English for the command line and the API.
    to_do: tuple[Note, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())
    # The unidentified receipts counted and added up by age (age -> (count, total)) when
    # ``unidentified`` lists only the first of them (a page); None: it lists every one.
    unidentified_counted: Mapping[str, tuple[int, int]] | None = None
    # The fund's today when the month is not over yet (its last day included): every figure
    # is then read as of today, not as of a month end still to come. None once it has ended.
    today: date | None = None

    @property
    def as_of(self) -> date:
        """The day the figures are read at: the month's end, or today while it runs."""
        return self.today if self.today is not None else self.month_end

    @property
    def reconciled(self) -> bool:
        return all(b.reconciled for b in self.banks) and self.sub_ledger.difference == 0

    @property
    def unidentified_by_age(self) -> dict[str, tuple[int, int]]:
        """age -> (receipts, their total), every age in order: all the receipts, listed or
        not."""
        if self.unidentified_counted is not None:
            return {age: self.unidentified_counted.get(age, (0, 0)) for age in RECEIPT_AGES}
        out = {age: (0, 0) for age in RECEIPT_AGES}
        for r in self.unidentified:
            n, total = out[r.age]
            out[r.age] = (n + 1, total + r.amount_minor)
        return out

    @property
    def unidentified_count(self) -> int:
        """How many unidentified receipts wait, listed or not."""
        if self.unidentified_counted is None:
            return len(self.unidentified)
        return sum(n for n, _ in self.unidentified_counted.values())

    @property
    def unidentified_total(self) -> int:
        if self.unidentified_counted is None:
            return sum(u.amount_minor for u in self.unidentified)
        return sum(total for _, total in self.unidentified_counted.values())
