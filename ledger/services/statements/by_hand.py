"""The treasurer's matching by hand: a line booked, linked or re-matched by a reversing entry
and a new one, never an edit, while its month is open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ledger.domain.accounts import AccountRole
from ledger.domain.errors import Conflict, ValidationError
from ledger.domain.journal import MANUAL_KINDS, EntryDraft, month_of, reversal_of
from ledger.domain.money import from_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.statements import BankAccount, Direction, MatchRecord, StatementEntry, StoredLine
from ledger.domain.statuses import EntryKind, LineState
from ledger.services.journal import book_entries
from ledger.services.loans import PaymentIn, book_payment_reversal, book_payments
from ledger.services.statements.common import KEEP_TEXT, PAYABLE
from ledger.services.statements.matching import bank_legs, unidentified_draft
from ledger.store.uow import UnitOfWork

if TYPE_CHECKING:
    pass

#: Loans whose repayments a statement books; others' money (a closed loan's included, as
#: record_payment refuses it) goes to unidentified receipts with a note naming the loan.


@dataclass(frozen=True, slots=True)
class LineView:
    line: StoredLine
    history: tuple[MatchRecord, ...]


def _open_day(uow: UnitOfWork, line: StoredLine) -> date:
    """The line's own day, unless its month is closed: then today."""
    if month_of(line.booking_date) in uow.periods.closed_months():
        return uow.today()
    return line.booking_date


def _undo(
    uow: UnitOfWork, actor: Actor, line: StoredLine, on: date, key: str, why: str
) -> int | None:
    """Reverse what books the line now; returns the reversing entry (None if nothing to)."""
    if line.entry_id is None or line.state in (LineState.LINKED, LineState.UNMATCHED):
        return None
    if line.state == LineState.RETURNED:
        raise Conflict(
            f"statement line {line.id} is a returned payment, already reversed; book the money "
            "again by hand if it was returned by mistake",
            "line_id",
        )
    original = uow.journal.get(line.entry_id)
    day = max(on, original.booking_date)
    if line.state == LineState.LOAN:
        return book_payment_reversal(
            uow, actor, line.entry_id, on=day, reason=why, idempotency_key=key
        ).entry.id
    draft = reversal_of(
        original,
        booking_date=day,
        idempotency_key=key,
        description=f"Statement line {line.id} re-matched",  # the reason: in the match record
    )
    return book_entries(uow, actor, [draft], command="statement_rematch")[0].entry.id


@dataclass(frozen=True, slots=True)
class _Decision:
    state: LineState
    action: str
    loan_id: str | None = None
    entry_id: int | None = None  # an entry booked before (a link)
    book: Callable[[], int] | None = None  # posts the new entry, returns its id


Decide = Callable[[UnitOfWork, StoredLine, BankAccount, date, str], _Decision]


def _rematch(
    uow: UnitOfWork, actor: Actor, line_id: int, reason: str | None, decide: Decide
) -> LineView:
    """Change a line's match: what booked it is reversed and the new booking is a new entry.
    Money in is booked anew before the old booking is reversed, money out after, so the bank
    account never dips below zero on the way."""
    actor.require(Permission.PAYMENTS_RECORD)
    why = (reason or "").strip() or "re-matched by hand"
    if len(why) > 500:
        raise ValidationError("the reason is longer than 500 characters", "reason")
    with uow:
        uow.journal.lock_head()
        line = uow.statements.line(line_id, lock=True)
        n = uow.statements.match_count(line.id)
        on = _open_day(uow, line)
        bank = next(b for b in uow.statements.bank_accounts() if b.id == line.bank_account_id)
        decision = decide(uow, line, bank, on, f"{line.ref}:{n}b")
        entry_id = decision.entry_id
        if decision.book is not None and line.amount_minor > 0:
            entry_id = decision.book()
        reversal = _undo(uow, actor, line, on, f"{line.ref}:{n}a", why)
        if decision.book is not None and line.amount_minor < 0:
            entry_id = decision.book()
        state = decision.state
        uow.statements.set_match(
            line.id,
            state=state.value,
            entry_id=entry_id,
            loan_id=decision.loan_id,
            note=why[:300],
            keep_remittance=state in KEEP_TEXT,
            now=uow.now(),
        )
        uow.statements.add_matches(
            [
                {
                    "line_id": line.id,
                    "at": uow.now(),
                    "actor": actor.name,
                    "action": decision.action,
                    "state": state.value,
                    "entry_id": entry_id,
                    "reversal_entry_id": reversal,
                    "loan_id": decision.loan_id,
                    "reason": why,
                }
            ]
        )
        uow.audit_event(
            actor,
            action=f"statement_line_{decision.action}",
            target=f"statement_line:{line.id}",
            details={"state": state.value, "entry": entry_id, "reversal": reversal},
        )
        uow.commit()
        return LineView(uow.statements.line(line.id), tuple(uow.statements.matches(line.id)))


def match_line_to_loan(
    uow: UnitOfWork, actor: Actor, line_id: int, loan_id: str, *, reason: str | None = None
) -> LineView:
    """Book a credit line as a repayment of ``loan_id`` (e.g. out of unidentified receipts):
    what booked it before is reversed, the repayment is a new entry."""

    def decide(
        uow: UnitOfWork, line: StoredLine, _bank: BankAccount, on: date, key: str
    ) -> _Decision:
        if line.amount_minor <= 0:
            raise ValidationError("only money received can repay a loan", "line_id")
        if line.state == LineState.LOAN and line.loan_id == loan_id:
            raise Conflict(f"statement line {line.id} already repays loan {loan_id}", "loan_id")
        loan = uow.loans.get(loan_id)
        if loan.status not in PAYABLE:
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}; it takes no repayment", "loan_id"
            )
        amount = from_minor(line.amount_minor, line.currency)

        def book() -> int:
            payment = PaymentIn(loan_id, amount, on, key, line.ref)
            return book_payments(uow, actor, [payment])[0].entry.id

        return _Decision(LineState.LOAN, "match", loan_id=loan_id, book=book)

    return _rematch(uow, actor, line_id, reason, decide)


def book_line(
    uow: UnitOfWork,
    actor: Actor,
    line_id: int,
    account_code: str,
    kind: EntryKind,
    *,
    reason: str | None = None,
) -> LineView:
    """Book a line to another account (a donation, capital, a transfer, a charge...)."""
    if kind not in MANUAL_KINDS:
        allowed = ", ".join(sorted(k.value for k in MANUAL_KINDS))
        raise ValidationError(f"kind {kind} cannot be booked by hand; use one of {allowed}", "kind")

    def decide(
        uow: UnitOfWork, line: StoredLine, bank: BankAccount, on: date, key: str
    ) -> _Decision:
        account = uow.accounts.get(account_code, field="account")
        if account.role is AccountRole.LOAN or account.id == bank.account_id:
            raise ValidationError(
                f"account {account_code} cannot take a statement line; loans are matched with "
                "their loan id",
                "account",
            )
        legs = bank_legs(bank.account_code, account.code, line.amount_minor, line.currency)
        draft = EntryDraft(
            on,
            f"Statement line {line.id} booked to {account.code}",
            kind,
            legs,
            statement_line_id=line.ref,
            idempotency_key=key,
        )

        def book() -> int:
            return book_entries(uow, actor, [draft], command="statement_rematch")[0].entry.id

        return _Decision(LineState.MANUAL, "book", book=book)

    return _rematch(uow, actor, line_id, reason, decide)


def link_line(
    uow: UnitOfWork, actor: Actor, line_id: int, entry_id: int, *, reason: str | None = None
) -> LineView:
    """Explain a line by an entry booked before (a payout, a refund, a donation booked by
    hand): it must move the same amount on the same bank account, and explain no other line."""

    def decide(
        uow: UnitOfWork, line: StoredLine, bank: BankAccount, _on: date, _key: str
    ) -> _Decision:
        entry = uow.journal.get(entry_id)
        bank_minor = sum(leg.minor for leg in entry.legs if leg.account_code == bank.account_code)
        if bank_minor != line.amount_minor:
            raise ValidationError(
                f"entry {entry_id} moves {from_minor(bank_minor, line.currency).amount} on "
                f"{bank.account_code}; the line is "
                f"{from_minor(line.amount_minor, line.currency).amount}",
                "entry_id",
            )
        other = uow.statements.line_of_entry(entry_id)
        if other is not None and other.id != line.id:
            raise Conflict(
                f"entry {entry_id} already explains statement line {other.id}", "entry_id"
            )
        if entry.reversed_by_id is not None:
            raise Conflict(f"entry {entry_id} is reversed", "entry_id")
        return _Decision(LineState.LINKED, "link", loan_id=None, entry_id=entry_id)

    return _rematch(uow, actor, line_id, reason, decide)


def unmatch_line(
    uow: UnitOfWork, actor: Actor, line_id: int, *, reason: str | None = None
) -> LineView:
    """Undo a line's match: money in goes back to unidentified receipts, money out waits."""

    def decide(
        uow: UnitOfWork, line: StoredLine, bank: BankAccount, on: date, key: str
    ) -> _Decision:
        if line.state in (LineState.UNIDENTIFIED, LineState.UNMATCHED, LineState.IGNORED):
            raise Conflict(f"statement line {line.id} is not matched", "line_id")
        if line.amount_minor < 0:
            return _Decision(LineState.UNMATCHED, "unmatch")
        e = StatementEntry(line.booking_date, line.amount_minor, line.currency, Direction.CREDIT)
        suspense = uow.accounts.by_role(AccountRole.UNIDENTIFIED_RECEIPTS, line.currency).code
        draft = unidentified_draft(suspense, bank, e, line.ref, key)
        draft = EntryDraft(
            on,
            draft.description,
            draft.kind,
            draft.legs,
            statement_line_id=line.ref,
            idempotency_key=key,
        )

        def book() -> int:
            return book_entries(uow, actor, [draft], command="statement_rematch")[0].entry.id

        return _Decision(LineState.UNIDENTIFIED, "unmatch", book=book)

    return _rematch(uow, actor, line_id, reason, decide)
