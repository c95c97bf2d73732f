"""Bank statements as the bank reports them: pure values, checked before anything is booked.

A parser in ``ledger/bank`` turns a file (camt.053, CODA, CSV) into ``Statement`` values; the
import service books them. Nothing from a file is trusted: ``check_statement`` proves that each
statement adds up (opening + credits - debits = closing) and ``check_continuity`` that it starts
where the previous one ended, and a refusal names the statement, the entry and the figure.

Amounts are integer minor units of the statement's currency, always positive; ``Direction``
says whether money came in (credit) or went out (debit), as on the bank's side of the page.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from ledger.domain.errors import StatementRefused, ValidationError
from ledger.domain.money import MAX_MINOR, Money, from_minor
from ledger.domain.references import PaymentReference, find_reference, parse_reference
from ledger.domain.statuses import LineState

#: Longest text kept from a statement (bank references, codes); longer is cut.
MAX_TEXT = 140


class Direction(StrEnum):
    CREDIT = "credit"  # money in
    DEBIT = "debit"  # money out


def amount_text(minor: int, currency: str) -> str:
    """``-1,234.50 EUR``: how figures appear in refusals."""
    value = from_minor(minor, currency).amount
    return f"{value:,} {currency}"


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One booked movement on the account, as the bank reports it.

    ``counterparty_name`` and ``counterparty_iban`` are the payer's or payee's personal data:
    they are used to match and never stored as such (see ``iban_digest``).
    """

    booking_date: date
    amount_minor: int  # positive (zero for the rare information-only entry)
    currency: str
    direction: Direction
    bank_reference: str | None = None  # camt AcctSvcrRef, CODA bank reference
    value_date: date | None = None
    reversal: bool = False  # the bank reverses an earlier entry (camt RvslInd)
    end_to_end_id: str | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    remittance: str | None = None  # unstructured communication
    creditor_reference: str | None = None  # structured: OGM, RF or QRR
    bank_code: str | None = None  # ISO "PMNT/RCDT/ESCT", "CODA/01/37/000", "CSV/CHRG"
    return_reason: str | None = None  # ISO reason code of a returned or rejected payment
    where: str = ""  # "entry 3 (AcctSvcrRef X)": what a refusal calls it

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError("amount_minor must be an int of minor units")
        if self.amount_minor < 0:
            raise ValidationError(
                f"{self.where or 'an entry'}: amount is negative; amounts are positive and "
                "the direction says credit or debit",
                field="amount",
            )
        object.__setattr__(self, "direction", Direction(self.direction))

    @property
    def amount(self) -> Money:
        return from_minor(self.amount_minor, self.currency)

    @property
    def signed_minor(self) -> int:
        """Positive for money in, negative for money out: the bank account's movement."""
        return self.amount_minor if self.direction is Direction.CREDIT else -self.amount_minor

    @property
    def is_return(self) -> bool:
        return self.reversal or bool(self.return_reason)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of one account. ``opening``/``closing`` are signed minor units (a debit
    balance is negative); a CSV export has none until the treasurer gives them."""

    account_iban: str
    currency: str
    statement_id: str
    entries: tuple[StatementEntry, ...]
    source_format: str  # "camt.053.001.08", "coda", "csv:<mapping>"
    sequence: int | None = None
    opening_minor: int | None = None
    opening_date: date | None = None
    closing_minor: int | None = None
    closing_date: date | None = None
    where: str = field(default="", compare=False)  # "statement 2 of the file"

    @property
    def label(self) -> str:
        return f"statement {self.statement_id} of account {self.account_iban}"

    @property
    def credits_minor(self) -> int:
        return sum(e.amount_minor for e in self.entries if e.direction is Direction.CREDIT)

    @property
    def debits_minor(self) -> int:
        return sum(e.amount_minor for e in self.entries if e.direction is Direction.DEBIT)

    @property
    def has_balances(self) -> bool:
        return self.opening_minor is not None and self.closing_minor is not None

    def with_balances(self, opening_minor: int, closing_minor: int) -> Statement:
        return replace(self, opening_minor=opening_minor, closing_minor=closing_minor)


def normalise_iban(text: str) -> str:
    """An account identifier without spaces, in capitals (IBANs and older account numbers)."""
    return re.sub(r"\s+", "", text or "").upper()


def check_statement(statement: Statement) -> None:
    """Refuse a statement whose entries are in another currency or whose figures disagree."""
    for entry in statement.entries:
        if entry.currency != statement.currency:
            raise StatementRefused(
                f"{statement.label}: {entry.where or 'an entry'} is in {entry.currency}, "
                f"but the statement is in {statement.currency}"
            )
    credits, debits = statement.credits_minor, statement.debits_minor
    for what, total in (("credits", credits), ("debits", debits)):
        if total > MAX_MINOR:
            cur = statement.currency
            raise StatementRefused(
                f"{statement.label}: its {what} add up to {amount_text(total, cur)}, more than "
                f"the ledger can hold ({amount_text(MAX_MINOR, cur)}): the file is damaged or "
                "is not a real statement; ask the bank for it again",
                "file",
            )
    opening, closing = statement.opening_minor, statement.closing_minor
    if opening is None or closing is None:
        return  # nothing to add up (a CSV file may give no balances)
    computed = opening + credits - debits
    if computed != closing:
        cur = statement.currency
        raise StatementRefused(
            f"{statement.label} does not add up: opening balance {amount_text(opening, cur)} "
            f"+ credits {amount_text(credits, cur)} - debits {amount_text(debits, cur)} "
            f"= {amount_text(computed, cur)}, but the closing balance is "
            f"{amount_text(closing, cur)} (difference {amount_text(closing - computed, cur)}); "
            f"the file is damaged or incomplete: ask the bank for it again",
            "file",
            key="err.statement.adds_up",
            params={
                "statement": statement.statement_id,
                "opening": from_minor(opening, cur),
                "credits": from_minor(credits, cur),
                "debits": from_minor(debits, cur),
                "closing": from_minor(closing, cur),
                "difference": from_minor(closing - computed, cur),
            },
        )


def check_continuity(
    statement: Statement, previous_id: str, previous_closing_minor: int, already_booked_minor: int
) -> None:
    """The statement must start where the previous one of the account ended.

    ``already_booked_minor`` is the sum of this statement's entries that an earlier statement
    already brought (overlapping statements): the balance the new entries start from is the
    opening plus those.
    """
    if statement.opening_minor is None:
        raise StatementRefused(
            f"{statement.label} has no opening balance: it cannot be checked against "
            f"{previous_id}, the account's previous statement"
        )
    start = statement.opening_minor + already_booked_minor
    if start != previous_closing_minor:
        cur = statement.currency
        overlap = (
            f" plus {amount_text(already_booked_minor, cur)} of entries already imported"
            if already_booked_minor
            else ""
        )
        raise StatementRefused(
            f"{statement.label}: opening balance {amount_text(statement.opening_minor, cur)}"
            f"{overlap} does not equal the closing balance "
            f"{amount_text(previous_closing_minor, cur)} of the previous statement "
            f"{previous_id} (difference {amount_text(start - previous_closing_minor, cur)}); "
            "a statement is missing in between, or the statements are imported out of order",
            "file",
            key="err.statement.continuity",
            params={
                "statement": statement.statement_id,
                "previous": previous_id,
                "opening": from_minor(start, cur),
                "closing": from_minor(previous_closing_minor, cur),
            },
        )


# -- what a match needs ----------------------------------------------------------------------


def payment_reference(entry: StatementEntry) -> PaymentReference | None:
    """The loan reference the payer gave: in the structured field, else found in free text."""
    if entry.creditor_reference:
        try:
            return parse_reference(entry.creditor_reference)
        except ValidationError:
            pass
    for text in (entry.creditor_reference, entry.remittance):
        if text:
            found = find_reference(text)
            if found is not None:
                return found
    return None


#: ISO 20022 bank transaction sub-families for charges, commissions and fees.
CHARGE_SUBFAMILIES = frozenset({"CHRG", "COMM", "FEES"})
#: CODA: family 80 is "separately charged costs and provisions"; transaction 37 is "costs".
CODA_CHARGE_FAMILIES = frozenset({"80"})
CODA_CHARGE_TRANSACTIONS = frozenset({"37"})


def is_charge(entry: StatementEntry) -> bool:
    """A bank charge (or its refund), by the bank's transaction code."""
    code = entry.bank_code or ""
    parts = code.split("/")
    if parts[0] == "CODA" and len(parts) >= 3:
        return parts[1] in CODA_CHARGE_FAMILIES or parts[2] in CODA_CHARGE_TRANSACTIONS
    return len(parts) >= 2 and parts[-1] in CHARGE_SUBFAMILIES


def iban_digest(key: bytes, iban: str | None) -> str | None:
    """A keyed hash (HMAC-SHA256) of a counterparty IBAN: enough to recognise the same payer
    next time, useless to whoever reads the database without the key."""
    if not iban:
        return None
    return hmac.new(key, normalise_iban(iban).encode(), hashlib.sha256).hexdigest()


def fingerprint(key: bytes, entry: StatementEntry, occurrence: int) -> str:
    """A line's identity when the bank gives no reference: its content, keyed (it includes the
    counterparty), and which occurrence of identical lines of the same statement it is."""
    parts = (
        entry.booking_date.isoformat(),
        entry.value_date.isoformat() if entry.value_date else "",
        str(entry.signed_minor),
        entry.currency,
        normalise_iban(entry.counterparty_iban or ""),
        entry.counterparty_name or "",
        entry.remittance or "",
        entry.creditor_reference or "",
        entry.end_to_end_id or "",
        str(occurrence),
    )
    digest = hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()
    return "fp:" + digest[:40]


def line_keys(key: bytes, entries: Sequence[StatementEntry]) -> list[str]:
    """Each entry's unique key within its account: the bank's reference, else a fingerprint.

    A reference the bank repeats within one statement (some banks do for split batches) is
    made unique by its occurrence, so that no entry is lost.
    """
    seen: dict[str, int] = {}
    keys = []
    for entry in entries:
        ref = entry.bank_reference
        base = f"ref:{ref[:56]}" if ref else fingerprint(key, entry, 0)
        n = seen.get(base, 0)
        seen[base] = n + 1
        if n == 0:
            keys.append(base)
        else:
            keys.append(f"{base}#{n}" if ref else fingerprint(key, entry, n))
    return keys


# -- payments the fund sends ---------------------------------------------------------------

_E2E = re.compile(r"^FL-E(\d{1,18})$")


def end_to_end_id(entry_id: int) -> str:
    """The EndToEndId a payment file gives the transfer that pays journal entry ``entry_id``
    (a disbursement or a refund); the statement brings it back, and the debit finds its entry."""
    return f"FL-E{entry_id}"


def entry_id_of(end_to_end: str | None) -> int | None:
    m = _E2E.match((end_to_end or "").strip())
    return int(m.group(1)) if m else None


def clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """Whitespace folded, cut to ``limit`` characters; empty becomes None."""
    if text is None:
        return None
    folded = " ".join(text.split())
    return folded[:limit] or None


def total_signed(entries: Iterable[StatementEntry]) -> int:
    return sum(e.signed_minor for e in entries)


@dataclass(frozen=True, slots=True)
class BankAccount:
    id: int
    iban: str
    account_id: int
    account_code: str
    currency: str


@dataclass(frozen=True, slots=True)
class StoredStatement:
    id: int
    bank_account_id: int
    iban: str
    statement_key: str
    source_format: str
    sequence: int | None
    opening_minor: int
    opening_date: date | None
    closing_minor: int
    closing_date: date | None
    credits_minor: int
    debits_minor: int
    entries: int
    new_entries: int
    imported_at: datetime
    imported_by: str


@dataclass(frozen=True, slots=True)
class StoredLine:
    id: int
    ref: str
    bank_account_id: int
    statement_id: int
    line_key: str
    position: int
    booking_date: date
    value_date: date | None
    amount_minor: int  # signed: positive money in, negative money out
    currency: str
    reversal: bool
    end_to_end_id: str | None
    payment_reference: str | None
    bank_code: str | None
    return_reason: str | None
    counterparty_digest: str | None
    remittance: str | None
    state: str
    entry_id: int | None
    loan_id: str | None
    suggested_loan_id: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class MatchRecord:
    at: datetime
    actor: str
    action: str
    state: str
    entry_id: int | None
    reversal_entry_id: int | None
    loan_id: str | None
    reason: str | None


#: Lines the import (or the treasurer) booked in the ledger from the statement itself.
BOOKED_STATES = frozenset(
    {LineState.LOAN, LineState.UNIDENTIFIED, LineState.CHARGE, LineState.RETURNED, LineState.MANUAL}
)
#: Lines something in the ledger explains.
MATCHED_STATES = frozenset(
    {
        LineState.LOAN,
        LineState.LINKED,
        LineState.CHARGE,
        LineState.RETURNED,
        LineState.MANUAL,
        LineState.IGNORED,
    }
)
#: Lines that wait for the treasurer (the matching queue).
TO_DO_STATES = frozenset({LineState.UNIDENTIFIED, LineState.UNMATCHED})


@dataclass(frozen=True, slots=True)
class LineFigures:
    """A statement's lines as the treasurer counts them: how many the ledger booked from it,
    how many something explains, how many are left to do."""

    lines: int
    booked: int
    matched: int
    to_do: int

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> LineFigures:
        def total(states: frozenset[LineState]) -> int:
            return sum(n for state, n in counts.items() if LineState(state) in states)

        return cls(
            sum(counts.values()),
            total(BOOKED_STATES),
            total(MATCHED_STATES),
            total(TO_DO_STATES),
        )


@dataclass(frozen=True, slots=True)
class SequenceGap:
    """Statement numbers missing from an account's series, between two statements imported."""

    first: int
    last: int
    after: StoredStatement  # the statement before the missing ones
    before: StoredStatement  # the statement after them

    @property
    def numbers(self) -> str:
        return f"no. {self.first}" if self.first == self.last else f"nos. {self.first}-{self.last}"

    def text(self) -> str:
        return (
            f"statement {self.numbers} of {self.after.iban} is missing (between "
            f"{self.after.statement_key} and {self.before.statement_key}): its lines are not in "
            "the ledger even though the balances agree; ask the bank for it and import it"
        )

    def holds(self, sequence: int) -> bool:
        return self.first <= sequence <= self.last


def series_order(st: StoredStatement) -> tuple[date, int]:
    """The order an account's statements follow: by closing date, then as imported."""
    return (st.closing_date or date.min, st.id)


def sequence_gaps(statements: Iterable[StoredStatement]) -> list[SequenceGap]:
    """The numbers missing from an account's statements (their electronic or legal sequence
    number), taken in date order. Statements without a number are passed over. A number lower
    than the one before starts a new series (numbering that restarts each year, as CODA's does):
    then the numbers of the new series below it are missing, unless it is 1."""
    gaps: list[SequenceGap] = []
    prev: StoredStatement | None = None
    for st in sorted(statements, key=series_order):
        if st.sequence is None:
            continue
        if prev is not None and prev.sequence is not None:
            first = prev.sequence + 1 if st.sequence > prev.sequence else 1
            if st.sequence > first:
                gaps.append(SequenceGap(first, st.sequence - 1, prev, st))
        prev = st
    return gaps
