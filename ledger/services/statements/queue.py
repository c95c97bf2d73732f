"""The treasurer's matching queue: every line nothing explains yet, a page at a time, with the
loans each may belong to and why (docs/bank.md).

A line is suggested a loan when:

- its payment reference (structured, or found in the free text) names the loan, even one that
  takes no repayment now (the import then left it to the treasurer);
- its free text names the loan by its number (``L000123``);
- the payer's account (its keyed hash: names and IBANs are not kept) paid the loan before;
- the loan's schedule has an installment of exactly this amount due within a month before
  the day the money came, or a few days after it.

Payers' names are not kept (they are personal data the ledger does not need), so a name never
suggests a loan. Money out (a debit) is suggested the payouts and refunds it may pay: entries
of the same amount booked a few days before or after, that no line explains yet. Everything
is read for the page shown only, so a month of 50,000 lines answers as fast as one of fifty.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from ledger.domain.accounts import Account, AccountRole
from ledger.domain.errors import ValidationError
from ledger.domain.journal import month_of
from ledger.domain.roles import Actor, Permission
from ledger.domain.statements import StoredLine
from ledger.domain.statuses import LineState, LoanStatus
from ledger.services.statements.common import (
    LINK_DAYS_AFTER,
    LINK_DAYS_BEFORE,
    LINKABLE_KINDS,
    PAYABLE,
)
from ledger.store.statement_repository import LinkCandidate
from ledger.store.uow import UnitOfWork

#: States of the lines that wait for the treasurer.
WAITING = (LineState.UNIDENTIFIED, LineState.UNMATCHED)
#: An installment suggests its loan when due this many days before the money came, or after.
DUE_DAYS_BEFORE, DUE_DAYS_AFTER = 31, 10
#: Suggestions shown per line, best first.
MOST_SUGGESTIONS = 5
LOAN_NUMBER = re.compile(r"\bL\d{6}\b")


class Why(StrEnum):
    """Why a loan is suggested for a line, strongest first."""

    REFERENCE = "reference"  # the payment reference names it
    LOAN_NUMBER = "loan_number"  # the free text names it by number
    PAYER = "payer"  # the same account paid it before
    AMOUNT = "amount"  # an installment of exactly this amount is due around that day
    IMPORT = "import"  # suggested when the statement was imported


_STRENGTH = {Why.REFERENCE: 8, Why.LOAN_NUMBER: 8, Why.PAYER: 4, Why.IMPORT: 3, Why.AMOUNT: 2}


@dataclass(frozen=True, slots=True)
class Suggestion:
    loan_id: str
    reasons: tuple[Why, ...]
    status: LoanStatus
    payable: bool  # it takes a repayment in the line's currency now


@dataclass(frozen=True, slots=True)
class QueueLine:
    line: StoredLine
    suggestions: tuple[Suggestion, ...]
    entries: tuple[LinkCandidate, ...]  # money out: what it may pay
    month_closed: bool  # a change is then booked today, not on the line's day


@dataclass(frozen=True, slots=True)
class QueuePage:
    lines: tuple[QueueLine, ...]
    total: int
    limit: int
    offset: int


def _month_bounds(month: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValidationError(
            f"month {month!r} is not a month written year-month (2026-03)",
            "month",
            key="err.statement.month_bad",
        ) from None
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def matching_queue(
    uow: UnitOfWork,
    actor: Actor,
    *,
    month: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> QueuePage:
    """The lines nothing explains yet (money in booked to unidentified receipts, money out
    found nowhere), oldest first, each with what may explain it."""
    actor.require(Permission.LEDGER_READ)
    if not 1 <= limit <= 100 or offset < 0:
        raise ValidationError("limit must be 1 to 100 and offset not negative", "limit")
    date_from, date_to = _month_bounds(month) if month else (None, None)
    with uow:
        found, total = uow.statements.lines(
            states=[s.value for s in WAITING],
            date_from=date_from,
            date_to=date_to,
            limit=limit,
            offset=offset,
        )
        closed = uow.periods.closed_months()
        suggestions = _suggestions(uow, [ln for ln in found if ln.amount_minor > 0])
        entries = _entries(uow, [ln for ln in found if ln.amount_minor < 0])
        return QueuePage(
            tuple(
                QueueLine(
                    ln,
                    suggestions.get(ln.id, ()),
                    entries.get(ln.id, ()),
                    month_of(ln.booking_date) in closed,
                )
                for ln in found
            ),
            total,
            limit,
            offset,
        )


def suggestions_for(uow: UnitOfWork, actor: Actor, line: StoredLine) -> QueueLine:
    """One line's suggestions (its own page)."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        closed = month_of(line.booking_date) in uow.periods.closed_months()
        loans = _suggestions(uow, [line]) if line.amount_minor > 0 else {}
        entries = _entries(uow, [line]) if line.amount_minor < 0 else {}
        return QueueLine(line, loans.get(line.id, ()), entries.get(line.id, ()), closed)


class _Reasons:
    """Per line, each loan suggested and why."""

    def __init__(self, lines: Sequence[StoredLine]) -> None:
        self.of: dict[int, dict[str, list[Why]]] = {ln.id: {} for ln in lines}

    def add(self, line: StoredLine, loan_id: str, reason: Why) -> None:
        reasons = self.of[line.id].setdefault(loan_id, [])
        if reason not in reasons:
            reasons.append(reason)

    def loan_ids(self) -> list[str]:
        return [loan_id for per_line in self.of.values() for loan_id in per_line]


def _suggestions(uow: UnitOfWork, lines: Sequence[StoredLine]) -> dict[int, tuple[Suggestion, ...]]:
    if not lines:
        return {}
    why = _Reasons(lines)
    for ln in lines:
        # The import found the reference in the structured field or in the free text.
        loan = uow.loans.by_reference(ln.payment_reference) if ln.payment_reference else None
        if loan is not None:
            why.add(ln, loan.id, Why.REFERENCE)
        for number in LOAN_NUMBER.findall(ln.remittance or ""):
            why.add(ln, number, Why.LOAN_NUMBER)
    digests = [ln.counterparty_digest for ln in lines if ln.counterparty_digest]
    paid = uow.statements.loans_paid_from(digests) if digests else {}
    for ln in lines:
        for loan_id in paid.get(ln.counterparty_digest or "", [])[:MOST_SUGGESTIONS]:
            why.add(ln, loan_id, Why.PAYER)
    _by_amount(uow, lines, why)
    for ln in lines:  # the import's own guess, when nothing here says more
        if ln.suggested_loan_id and ln.suggested_loan_id not in why.of[ln.id]:
            why.add(ln, ln.suggested_loan_id, Why.IMPORT)
    states = uow.statements.loan_states(why.loan_ids())
    out: dict[int, tuple[Suggestion, ...]] = {}
    for ln in lines:
        made = [
            Suggestion(
                loan_id,
                tuple(sorted(reasons, key=lambda r: -_STRENGTH[r])),
                LoanStatus(states[loan_id][0]),
                LoanStatus(states[loan_id][0]) in PAYABLE and states[loan_id][1] == ln.currency,
            )
            for loan_id, reasons in why.of[ln.id].items()
            if loan_id in states  # a loan number in the text that names no loan
        ]
        made.sort(key=lambda s: (not s.payable, -sum(_STRENGTH[r] for r in s.reasons)))
        out[ln.id] = tuple(made[:MOST_SUGGESTIONS])
    return out


def _by_amount(uow: UnitOfWork, lines: Sequence[StoredLine], why: _Reasons) -> None:
    """Loans with an installment of exactly the line's amount due around its day (unless
    many loans have one: then the amount says nothing)."""
    for currency in {ln.currency for ln in lines}:
        of_currency = [ln for ln in lines if ln.currency == currency]
        days = [ln.booking_date for ln in of_currency]
        fits = uow.statements.installment_fits(
            [ln.amount_minor for ln in of_currency],
            currency,
            min(days) - timedelta(days=DUE_DAYS_BEFORE),
            max(days) + timedelta(days=DUE_DAYS_AFTER),
            [s.value for s in PAYABLE],
        )
        for ln in of_currency:
            lo = ln.booking_date - timedelta(days=DUE_DAYS_BEFORE)
            hi = ln.booking_date + timedelta(days=DUE_DAYS_AFTER)
            near = list(
                dict.fromkeys(
                    loan for loan, due in fits.get(ln.amount_minor, []) if lo <= due <= hi
                )
            )
            if len(near) <= MOST_SUGGESTIONS:
                for loan_id in near:
                    why.add(ln, loan_id, Why.AMOUNT)


def _entries(uow: UnitOfWork, lines: Sequence[StoredLine]) -> dict[int, tuple[LinkCandidate, ...]]:
    """Money out: the payouts and refunds of the same amount, booked from a few days before
    the bank's debit to a few days after, that no line explains yet."""
    if not lines:
        return {}
    banks = {b.id: b for b in uow.statements.bank_accounts()}
    out: dict[int, tuple[LinkCandidate, ...]] = {}
    for bank_id in {ln.bank_account_id for ln in lines}:
        mine = [ln for ln in lines if ln.bank_account_id == bank_id]
        days = [ln.booking_date for ln in mine]
        pool = uow.statements.link_candidates(
            banks[bank_id].account_id,
            LINKABLE_KINDS,
            min(days) - timedelta(days=LINK_DAYS_BEFORE),
            max(days) + timedelta(days=LINK_DAYS_AFTER),
        )
        for ln in mine:
            fits = [
                c
                for c in pool
                if c.amount_minor == -ln.amount_minor
                and ln.booking_date - timedelta(days=LINK_DAYS_BEFORE)
                <= c.booking_date
                <= ln.booking_date + timedelta(days=LINK_DAYS_AFTER)
            ]
            out[ln.id] = tuple(fits[:MOST_SUGGESTIONS])
    return out


def bookable_accounts(uow: UnitOfWork, actor: Actor, currency: str) -> list[Account]:
    """The accounts a line may be booked to by hand (``book_line``): not a loan's, not a
    control account, not a bank's own account, open, in the line's currency; bank charges
    first."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        banks = {b.account_id for b in uow.statements.bank_accounts()}
        found = [
            a
            for a in uow.accounts.open_outside_loans(currency)
            if a.id not in banks and a.role is not AccountRole.BANK
        ]
    return sorted(found, key=lambda a: (a.role is not AccountRole.BANK_CHARGES, a.code))
