"""The treasurer's matching by hand: a line booked, linked or re-matched by a reversing entry
and a new one, never an edit, while its month is open."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from ledger.domain.accounts import AccountRole
from ledger.domain.errors import Conflict, IdempotencyConflict, NotFound, ValidationError
from ledger.domain.journal import MANUAL_KINDS, EntryDraft, month_of, reversal_of
from ledger.domain.money import Money, from_minor, to_minor
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


#: A transfer split across loans: at least two parts, and not more than a page can show.
MAX_PARTS = 20
#: The longest key a web form may carry (statement_matches.form_key).
MAX_FORM_KEY = 64


@dataclass(frozen=True, slots=True)
class LineView:
    line: StoredLine
    history: tuple[MatchRecord, ...]
    replayed: bool = False  # the same form sent again: its match, nothing new done


@dataclass(frozen=True, slots=True)
class SplitPart:
    """One loan's part of a transfer split across loans."""

    loan_id: str
    amount: Money


def _open_day(uow: UnitOfWork, line: StoredLine) -> date:
    """The line's own day, unless its month is closed: then today."""
    if month_of(line.booking_date) in uow.periods.closed_months():
        return uow.today()
    return line.booking_date


def _undo(
    uow: UnitOfWork,
    actor: Actor,
    line: StoredLine,
    on: date,
    key: str,
    why: str,
    payments: Sequence[int],
) -> int | None:
    """Reverse what books the line now (``payments``: a loan line's payments, read before
    the new booking); returns the (first) reversing entry (None if nothing to)."""
    if line.entry_id is None or line.state in (LineState.LINKED, LineState.UNMATCHED):
        return None
    if line.state == LineState.RETURNED:
        raise Conflict(
            f"statement line {line.id} is a returned payment, already reversed; book the money "
            "again by hand if it was returned by mistake",
            "line_id",
            key="err.statement.returned",
            params={"line": str(line.id)},
        )
    original = uow.journal.get(line.entry_id)
    day = max(on, original.booking_date)
    if line.state == LineState.LOAN:
        # One payment, or one per loan of a transfer split across loans: each is reversed.
        reversals = [
            book_payment_reversal(
                uow,
                actor,
                entry_id,
                on=max(on, uow.journal.get(entry_id).booking_date),
                reason=why,
                idempotency_key=key if i == 0 else f"{key}{i}",
            ).entry.id
            for i, entry_id in enumerate(payments or [line.entry_id])
        ]
        return reversals[0]
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
    #: (loan, entry) of each part a split booked: one history record each
    parts: list[tuple[str, int]] = field(default_factory=list)


Decide = Callable[[UnitOfWork, StoredLine, BankAccount, date, str], _Decision]


def _rematch(
    uow: UnitOfWork,
    actor: Actor,
    line_id: int,
    reason: str | None,
    decide: Decide,
    form_key: str | None = None,
) -> LineView:
    """Change a line's match: what booked it is reversed and the new booking is a new entry.
    Money in is booked anew before the old booking is reversed, money out after, so the bank
    account never dips below zero on the way.

    ``form_key`` (a web form's, made when it was shown) makes a form sent twice match once:
    sent again, it returns the line as it is, marked replayed; used for another line, refused.
    """
    actor.require(Permission.PAYMENTS_RECORD)
    why = (reason or "").strip() or "re-matched by hand"
    if len(why) > 500:
        raise ValidationError(
            "the reason is longer than 500 characters",
            "reason",
            key="err.statement.reason_long",
            params={"most": 500},
        )
    if form_key is not None and not 1 <= len(form_key) <= MAX_FORM_KEY:
        raise ValidationError(f"the form key is 1 to {MAX_FORM_KEY} characters", "form_key")
    with uow:
        uow.journal.lock_head()
        if form_key is not None:
            done = uow.statements.match_by_key(form_key)
            if done is not None:
                if done != line_id:
                    raise IdempotencyConflict(
                        f"this form was already used for statement line {done}; open the "
                        "line again to change it",
                        "form_key",
                    )
                line = uow.statements.line(line_id)
                return LineView(line, tuple(uow.statements.matches(line_id)), replayed=True)
        line = uow.statements.line(line_id, lock=True)
        n = uow.statements.match_count(line.id)
        on = _open_day(uow, line)
        bank = next(b for b in uow.statements.bank_accounts() if b.id == line.bank_account_id)
        decision = decide(uow, line, bank, on, f"{line.ref}:{n}b")
        entry_id = decision.entry_id
        # Read before the new booking, which carries the same ref.
        payments = uow.statements.bookings_of(line.ref) if line.state == LineState.LOAN else []
        if decision.book is not None and line.amount_minor > 0:
            entry_id = decision.book()
        reversal = _undo(uow, actor, line, on, f"{line.ref}:{n}a", why, payments)
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
        parts: list[tuple[str | None, int | None]] = [*decision.parts] or [
            (decision.loan_id, entry_id)
        ]
        uow.statements.add_matches(
            [
                {
                    "line_id": line.id,
                    "at": uow.now(),
                    "actor": actor.name,
                    "action": decision.action,
                    "state": state.value,
                    "entry_id": part_entry,
                    "reversal_entry_id": reversal if i == 0 else None,
                    "loan_id": part_loan,
                    "reason": why,
                    "form_key": form_key if i == 0 else None,
                }
                for i, (part_loan, part_entry) in enumerate(parts)
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
    uow: UnitOfWork,
    actor: Actor,
    line_id: int,
    loan_id: str,
    *,
    reason: str | None = None,
    form_key: str | None = None,
) -> LineView:
    """Book a credit line as a repayment of ``loan_id`` (e.g. out of unidentified receipts):
    what booked it before is reversed, the repayment is a new entry."""

    def decide(
        uow: UnitOfWork, line: StoredLine, _bank: BankAccount, on: date, key: str
    ) -> _Decision:
        _money_in(line)
        if line.state == LineState.LOAN and line.loan_id == loan_id:
            raise Conflict(
                f"statement line {line.id} already repays loan {loan_id}",
                "loan_id",
                key="err.statement.already_repays",
                params={"line": str(line.id), "loan": loan_id},
            )
        _payable(uow, loan_id, line.currency)
        amount = from_minor(line.amount_minor, line.currency)

        def book() -> int:
            payment = PaymentIn(loan_id, amount, on, key, line.ref)
            return book_payments(uow, actor, [payment])[0].entry.id

        return _Decision(LineState.LOAN, "match", loan_id=loan_id, book=book)

    return _rematch(uow, actor, line_id, reason, decide, form_key)


def _money_in(line: StoredLine) -> None:
    if line.amount_minor <= 0:
        raise ValidationError(
            "only money received can repay a loan",
            "line_id",
            key="err.statement.not_money_in",
            params={"line": str(line.id)},
        )


def _payable(uow: UnitOfWork, loan_id: str, currency: str) -> None:
    """The loan exists, takes repayments, and in the line's currency."""
    try:
        loan = uow.loans.get(loan_id)
    except NotFound as exc:
        raise NotFound(
            exc.detail,
            "loan_id",
            key="err.statement.no_loan",
            params={"loan": loan_id},
        ) from None
    if loan.status not in PAYABLE:
        raise Conflict(
            f"loan {loan_id} is {loan.status.value}; it takes no repayment",
            "loan_id",
            key="err.statement.loan_not_payable",
            params={"loan": loan_id, "status": loan.status},
        )
    if loan.currency != currency:
        raise ValidationError(
            f"loan {loan_id} is in {loan.currency}, the line in {currency}",
            "loan_id",
            key="err.statement.loan_currency",
            params={"loan": loan_id, "currency": loan.currency, "line_currency": currency},
        )


def split_line(
    uow: UnitOfWork,
    actor: Actor,
    line_id: int,
    parts: Sequence[SplitPart],
    *,
    reason: str | None = None,
    form_key: str | None = None,
) -> LineView:
    """Book one transfer as repayments of several loans (a family paying for two, a landlord
    sending back several deposits): one payment per loan, each allocated to that loan's
    installments as any payment is (oldest due first), every one carrying the line's ref. The
    parts must add up to the line's amount exactly; what booked the line before is reversed."""
    if not 2 <= len(parts) <= MAX_PARTS:
        raise ValidationError(
            f"a split has 2 to {MAX_PARTS} parts",
            "parts",
            key="err.statement.split_parts",
            params={"most": MAX_PARTS},
        )
    seen: set[str] = set()
    for part in parts:
        if part.loan_id in seen:
            raise ValidationError(
                f"loan {part.loan_id} is named twice; give each loan one part",
                "parts",
                key="err.statement.split_twice",
                params={"loan": part.loan_id},
            )
        seen.add(part.loan_id)
        if part.amount.amount <= 0:
            raise ValidationError(
                "every part must be more than zero",
                "parts",
                key="err.statement.split_positive",
            )

    def decide(
        uow: UnitOfWork, line: StoredLine, _bank: BankAccount, on: date, key: str
    ) -> _Decision:
        _money_in(line)
        for part in parts:
            if part.amount.currency.code != line.currency:
                raise ValidationError(
                    f"the parts must be in {line.currency}, the line's currency",
                    "parts",
                    key="err.statement.split_currency",
                    params={"currency": line.currency},
                )
        total = sum(to_minor(p.amount) for p in parts)
        if total != line.amount_minor:
            line_amount = from_minor(line.amount_minor, line.currency)
            given = from_minor(total, line.currency)
            raise ValidationError(
                f"the parts add up to {given.amount}, the line is {line_amount.amount} "
                f"(difference {(line_amount - given).amount}); they must add up to the line",
                "parts",
                key="err.statement.split_sum",
                params={
                    "total": given,
                    "amount": line_amount,
                    "difference": line_amount - given,
                },
            )
        for part in parts:
            _payable(uow, part.loan_id, line.currency)
        booked_parts: list[tuple[str, int]] = []

        def book() -> int:
            payments = [
                PaymentIn(p.loan_id, p.amount, on, f"{key}{i}", line.ref)
                for i, p in enumerate(parts)
            ]
            booked = book_payments(uow, actor, payments)
            booked_parts.extend((p.loan_id, r.entry.id) for p, r in zip(parts, booked, strict=True))
            return booked[0].entry.id

        return _Decision(
            LineState.LOAN, "split", loan_id=parts[0].loan_id, book=book, parts=booked_parts
        )

    return _rematch(uow, actor, line_id, reason, decide, form_key)


def book_line(
    uow: UnitOfWork,
    actor: Actor,
    line_id: int,
    account_code: str,
    kind: EntryKind,
    *,
    reason: str | None = None,
    form_key: str | None = None,
) -> LineView:
    """Book a line to another account (a donation, capital, a transfer, a charge...)."""
    if kind not in MANUAL_KINDS:
        allowed = ", ".join(sorted(k.value for k in MANUAL_KINDS))
        raise ValidationError(
            f"kind {kind} cannot be booked by hand; use one of {allowed}",
            "kind",
            key="err.statement.kind_manual",
        )

    def decide(
        uow: UnitOfWork, line: StoredLine, bank: BankAccount, on: date, key: str
    ) -> _Decision:
        try:
            account = uow.accounts.get(account_code, field="account")
        except NotFound as exc:
            raise NotFound(
                exc.detail,
                "account",
                key="err.statement.no_account",
                params={"account": account_code},
            ) from None
        if account.role is AccountRole.LOAN or account.id == bank.account_id:
            raise ValidationError(
                f"account {account_code} cannot take a statement line; loans are matched with "
                "their loan id",
                "account",
                key="err.statement.account_refused",
                params={"account": account_code},
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

    return _rematch(uow, actor, line_id, reason, decide, form_key)


def link_line(
    uow: UnitOfWork,
    actor: Actor,
    line_id: int,
    entry_id: int,
    *,
    reason: str | None = None,
    form_key: str | None = None,
) -> LineView:
    """Explain a line by an entry booked before (a payout, a refund, a donation booked by
    hand): it must move the same amount on the same bank account, and explain no other line."""

    def decide(
        uow: UnitOfWork, line: StoredLine, bank: BankAccount, _on: date, _key: str
    ) -> _Decision:
        try:
            entry = uow.journal.get(entry_id)
        except NotFound as exc:
            raise NotFound(
                exc.detail,
                "entry_id",
                key="err.statement.no_entry",
                params={"entry": str(entry_id)},
            ) from None
        bank_minor = sum(leg.minor for leg in entry.legs if leg.account_code == bank.account_code)
        if bank_minor != line.amount_minor:
            raise ValidationError(
                f"entry {entry_id} moves {from_minor(bank_minor, line.currency).amount} on "
                f"{bank.account_code}; the line is "
                f"{from_minor(line.amount_minor, line.currency).amount}",
                "entry_id",
                key="err.statement.link_amount",
                params={
                    "entry": str(entry_id),
                    "moves": from_minor(bank_minor, line.currency),
                    "amount": from_minor(line.amount_minor, line.currency),
                },
            )
        other = uow.statements.line_of_entry(entry_id)
        if other is not None and other.id != line.id:
            raise Conflict(
                f"entry {entry_id} already explains statement line {other.id}",
                "entry_id",
                key="err.statement.link_taken",
                params={"entry": str(entry_id), "line": str(other.id)},
            )
        if entry.reversed_by_id is not None:
            raise Conflict(
                f"entry {entry_id} is reversed",
                "entry_id",
                key="err.statement.link_reversed",
                params={"entry": str(entry_id)},
            )
        return _Decision(LineState.LINKED, "link", loan_id=None, entry_id=entry_id)

    return _rematch(uow, actor, line_id, reason, decide, form_key)


def unmatch_line(
    uow: UnitOfWork,
    actor: Actor,
    line_id: int,
    *,
    reason: str | None = None,
    form_key: str | None = None,
) -> LineView:
    """Undo a line's match: money in goes back to unidentified receipts, money out waits."""

    def decide(
        uow: UnitOfWork, line: StoredLine, bank: BankAccount, on: date, key: str
    ) -> _Decision:
        if line.state in (LineState.UNIDENTIFIED, LineState.UNMATCHED, LineState.IGNORED):
            raise Conflict(
                f"statement line {line.id} is not matched",
                "line_id",
                key="err.statement.not_matched",
                params={"line": str(line.id)},
            )
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

    return _rematch(uow, actor, line_id, reason, decide, form_key)
