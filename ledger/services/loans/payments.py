"""Payments received, allocated by the schedule; reversed payments; refunds of credit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from ledger.domain import postings
from ledger.domain.accounts import AccountRole
from ledger.domain.errors import (
    Conflict,
    NotFound,
    ValidationError,
)
from ledger.domain.journal import (
    EntryDraft,
    reversal_of,
)
from ledger.domain.loans import DISBURSED, Loan, receipt_on_written_off
from ledger.domain.money import Money, from_minor, to_minor
from ledger.domain.repayment import PaymentEvent
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import LoanStatus, PaymentKind
from ledger.services.journal import Posted, book_entries, replay
from ledger.services.loans.common import (
    _PENDING,
    MoneyResult,
    _amount,
    _check_after_payout,
    _code,
    _money_command,
    _reason,
    _request,
)
from ledger.services.loans.position import Balances, _position, _settle
from ledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class _WrittenOff:
    """A written-off loan's loss as the ledger holds it now (minor units)."""

    since: date  # the day it was written off
    written_off: int  # its part of the loan losses
    recovered: int  # its part of the recoveries
    last_recovery: date | None  # the day of the latest recovery not reversed


def _written_off(uow: UnitOfWork, loan: Loan) -> _WrittenOff:
    cur = loan.currency
    since = uow.loans.written_off_on(loan.id)
    if since is None:  # written off with no approved write-off: not a state the books reach
        raise RuntimeError(f"loan {loan.id} is written off but has no approved write-off")
    losses = uow.accounts.by_role(AccountRole.LOAN_LOSSES, cur).id
    recoveries = uow.accounts.by_role(AccountRole.RECOVERIES, cur).id
    return _WrittenOff(
        since=since,
        written_off=uow.loans.loan_legs_minor(loan.id, losses),
        recovered=-uow.loans.loan_legs_minor(loan.id, recoveries),
        last_recovery=max(
            (p.on for p, _, _ in uow.loans.payments(loan.id, kinds=(PaymentKind.RECOVERY,))),
            default=None,
        ),
    )


def _receipt_on_written_off(
    loan: Loan,
    state: _WrittenOff,
    code: Callable[[AccountRole, str], str],
    *,
    minor: int,
    on: date,
    kind: PaymentKind,
    key: str,
    statement_line_id: str | None,
) -> tuple[EntryDraft, list[EntryDraft], PaymentKind, _WrittenOff]:
    """Money received for a written-off loan (``receipt_on_written_off`` says where it goes):
    the payment's entry, the entries that adjust the write-off and the recoveries with it,
    the payment's kind, and the loss as it then stands."""
    cur = loan.currency
    split = receipt_on_written_off(
        minor,
        on=on,
        written_off_on=state.since,
        written_off=state.written_off,
        recovered=state.recovered,
    )
    adjust: list[EntryDraft] = []
    if on < state.since:
        pay_kind = kind
        draft = postings.repayment(
            loan.id,
            on,
            bank=code(AccountRole.BANK, cur),
            loan=loan.account_code,
            credit=code(AccountRole.BENEFICIARY_CREDIT, cur),
            to_loan=from_minor(split.to_loan, cur),
            to_credit=from_minor(split.to_credit, cur),
            release=kind == PaymentKind.DEPOSIT_RELEASE,
            statement_line_id=statement_line_id,
            idempotency_key=key,
        )
        if split.to_loan:
            adjust.append(
                postings.write_off_reduced(
                    loan.id,
                    state.since,
                    losses=code(AccountRole.LOAN_LOSSES, cur),
                    loan=loan.account_code,
                    amount=from_minor(split.to_loan, cur),
                )
            )
        if split.recovery_to_credit:
            adjust.append(
                postings.recovery_owed_back(
                    loan.id,
                    max(on, state.last_recovery or state.since),
                    recoveries=code(AccountRole.RECOVERIES, cur),
                    credit=code(AccountRole.BENEFICIARY_CREDIT, cur),
                    amount=from_minor(split.recovery_to_credit, cur),
                )
            )
    else:
        pay_kind = PaymentKind.RECOVERY
        draft = postings.recovery(
            loan.id,
            on,
            bank=code(AccountRole.BANK, cur),
            recoveries=code(AccountRole.RECOVERIES, cur),
            amount=from_minor(split.to_recovery, cur),
            credit=code(AccountRole.BENEFICIARY_CREDIT, cur),
            to_credit=from_minor(split.to_credit, cur),
            statement_line_id=statement_line_id,
            idempotency_key=key,
        )
    after = _WrittenOff(
        since=state.since,
        written_off=state.written_off - split.to_loan,
        recovered=state.recovered + split.to_recovery - split.recovery_to_credit,
        last_recovery=max(on, state.last_recovery or on)
        if pay_kind is PaymentKind.RECOVERY
        else state.last_recovery,
    )
    return draft, adjust, pay_kind, after


def _receive(
    uow: UnitOfWork,
    actor: Actor,
    loan: Loan,
    *,
    minor: int,
    on: date,
    kind: PaymentKind,
    key: str,
    command: str,
    request: dict[str, Any],
    statement_line_id: str | None,
) -> Posted:
    """Book money received for a loan: repayment (or deposit release), or, once written off,
    recovery (see ``receipt_on_written_off``)."""
    cur = loan.currency
    amount = from_minor(minor, cur)
    bank = _code(uow, AccountRole.BANK, cur)
    adjust: list[EntryDraft] = []
    if loan.written_off:
        draft, adjust, pay_kind, _ = _receipt_on_written_off(
            loan,
            _written_off(uow, loan),
            partial(_code, uow),
            minor=minor,
            on=on,
            kind=kind,
            key=key,
            statement_line_id=statement_line_id,
        )
    else:
        b, _, _ = _position(uow, loan, [PaymentEvent(_PENDING, on, minor)])
        to_loan = min(max(b.ledger_loan - b.outstanding, 0), minor)
        pay_kind = kind
        draft = postings.repayment(
            loan.id,
            on,
            bank=bank,
            loan=loan.account_code,
            credit=_code(uow, AccountRole.BENEFICIARY_CREDIT, cur),
            to_loan=from_minor(to_loan, cur),
            to_credit=amount - from_minor(to_loan, cur),
            release=kind == PaymentKind.DEPOSIT_RELEASE,
            statement_line_id=statement_line_id,
            idempotency_key=key,
        )
    posted = book_entries(uow, actor, [draft], command=command, requests=[request])[0]
    if adjust:
        book_entries(uow, actor, adjust, command="settle_loan")
    uow.loans.add_payment(
        entry_id=posted.entry.id, loan_id=loan.id, on=on, minor=minor, kind=pay_kind
    )
    return posted


def record_payment(
    uow: UnitOfWork,
    actor: Actor,
    loan_id: str,
    amount: Money,
    *,
    on: date,
    idempotency_key: str,
) -> MoneyResult:
    """A repayment (or, on a written-off loan, a recovery), allocated by the schedule.

    Money typed in by hand: it names no bank statement line. A line is booked to a loan by the
    statements' matching (``services.statements``), which checks the line first."""
    with uow:
        result = book_payment(uow, actor, PaymentIn(loan_id, amount, on, idempotency_key))
        uow.commit()
    return result


@dataclass(frozen=True, slots=True)
class PaymentIn:
    """A payment to book: what ``record_payment`` takes, as a value."""

    loan_id: str
    amount: Money
    on: date
    idempotency_key: str
    statement_line_id: str | None = None

    def request(self) -> dict[str, Any]:
        """What its idempotency key stands for."""
        return _request(
            loan_id=self.loan_id,
            amount=self.amount.amount,
            currency=self.amount.currency.code,
            on=self.on,
            statement_line_id=self.statement_line_id,
        )


def _check_payable(loan: Loan, amount: Money) -> int:
    minor = _amount(amount, loan)
    if loan.status not in DISBURSED:
        raise Conflict(
            f"loan {loan.id} is {loan.status.value}; payments are booked once it is paid out",
            "status",
            key="err.loan.not_paid_out",
            params={"loan": loan.id, "status": loan.status},
        )
    if loan.status is LoanStatus.CLOSED:
        # Bad input by the rules: a repaid loan takes no more payments. The bank's
        # statement books such money to unidentified receipts with a note naming the loan.
        raise Conflict(
            f"loan {loan.id} is repaid and closed; book the money as an "
            "unidentified receipt or refund it",
            "status",
            key="err.loan.closed",
            params={"loan": loan.id},
        )
    return minor


def book_payment(uow: UnitOfWork, actor: Actor, payment: PaymentIn) -> MoneyResult:
    """``record_payment`` inside an open unit of work: the caller commits (a bank statement
    books its payments together with everything else it brings)."""
    request = payment.request()
    original, loan = _money_command(
        uow,
        actor,
        Permission.PAYMENTS_RECORD,
        command="loan_payment",
        key=payment.idempotency_key,
        request=request,
        loan_id=payment.loan_id,
    )
    if original:
        return MoneyResult(loan, original, True)
    minor = _check_payable(loan, payment.amount)
    _check_after_payout(loan, payment.on, uow.loans.payout_date(loan))
    posted = _receive(
        uow,
        actor,
        loan,
        minor=minor,
        on=payment.on,
        kind=PaymentKind.REPAYMENT,
        key=payment.idempotency_key,
        command="loan_payment",
        request=request,
        statement_line_id=payment.statement_line_id,
    )
    loan = _settle(uow, actor, uow.loans.get(payment.loan_id), payment.on)
    return MoneyResult(loan, posted.entry, False)


def book_payments(
    uow: UnitOfWork, actor: Actor, payments: Sequence[PaymentIn]
) -> list[MoneyResult]:
    """Many payments at once, inside an open unit of work (a bank statement of thousands).

    Each is booked exactly as ``record_payment`` books it (same split between the loan and
    the credit balance, same idempotency key and request), in the order given; but the loans'
    positions are read once per loan and all the entries are posted together.
    """
    actor.require(Permission.PAYMENTS_RECORD)
    if not payments:
        return []
    uow.journal.lock_head()
    loans: dict[str, Loan] = {}
    state: dict[str, Balances] = {}  # each loan's position, moved payment by payment
    paid_out: dict[str, date | None] = {}
    codes: dict[tuple[AccountRole, str], str] = {}

    def code(role: AccountRole, currency: str) -> str:
        if (role, currency) not in codes:
            codes[role, currency] = _code(uow, role, currency)
        return codes[role, currency]

    drafts: list[EntryDraft] = []
    adjust: list[EntryDraft] = []  # write-offs and recoveries adjusted (written-off loans)
    lost: dict[str, _WrittenOff] = {}
    kinds: list[str] = []
    for payment in payments:
        loan = loans.get(payment.loan_id)
        if loan is None:
            loan = loans[payment.loan_id] = uow.loans.get(payment.loan_id, lock=True)
            state[loan.id] = _position(uow, loan)[0]
            paid_out[loan.id] = uow.loans.payout_date(loan)
        minor = _check_payable(loan, payment.amount)
        _check_after_payout(loan, payment.on, paid_out[loan.id])
        cur = loan.currency
        bank = code(AccountRole.BANK, cur)
        if loan.written_off:
            if loan.id not in lost:
                lost[loan.id] = _written_off(uow, loan)
            draft, more, pay_kind, lost[loan.id] = _receipt_on_written_off(
                loan,
                lost[loan.id],
                code,
                minor=minor,
                on=payment.on,
                kind=PaymentKind.REPAYMENT,
                key=payment.idempotency_key,
                statement_line_id=payment.statement_line_id,
            )
            adjust += more
        else:
            # As _receive does. Allocation fills every installment before any credit, so
            # whatever the dates, a payment lowers what is owed by itself, down to zero:
            # the earlier payments of this batch need not be allocated again.
            b = state[loan.id]
            outstanding = max(b.outstanding - minor, 0)
            to_loan = min(max(b.ledger_loan - outstanding, 0), minor)
            pay_kind = PaymentKind.REPAYMENT
            draft = postings.repayment(
                loan.id,
                payment.on,
                bank=bank,
                loan=loan.account_code,
                credit=code(AccountRole.BENEFICIARY_CREDIT, cur),
                to_loan=from_minor(to_loan, cur),
                to_credit=from_minor(minor - to_loan, cur),
                statement_line_id=payment.statement_line_id,
                idempotency_key=payment.idempotency_key,
            )
            state[loan.id] = Balances(
                outstanding=outstanding,
                credit=b.credit + minor - (b.outstanding - outstanding),
                ledger_loan=b.ledger_loan - to_loan,
                ledger_credit=b.ledger_credit + minor - to_loan,
            )
        drafts.append(draft)
        kinds.append(pay_kind)
    posted = book_entries(
        uow, actor, drafts, command="loan_payment", requests=[p.request() for p in payments]
    )
    if adjust:
        book_entries(uow, actor, adjust, command="settle_loan")
    uow.loans.add_payments(
        [
            (p.entry.id, payment.loan_id, payment.on, to_minor(payment.amount), kind)
            for p, payment, kind in zip(posted, payments, kinds, strict=True)
            if not p.replayed
        ]
    )
    last_day: dict[str, date] = {}
    for payment in payments:
        last_day[payment.loan_id] = max(payment.on, last_day.get(payment.loan_id, payment.on))
    # The positions were followed in memory: read back, tables just grown by thousands of
    # rows in this transaction would be scanned whole, once per loan.
    settled = {
        loan_id: _settle(uow, actor, uow.loans.get(loan_id), on, state[loan_id])
        for loan_id, on in last_day.items()
    }
    return [
        MoneyResult(settled[payment.loan_id], p.entry, p.replayed)
        for p, payment in zip(posted, payments, strict=True)
    ]


def reverse_payment(
    uow: UnitOfWork, actor: Actor, entry_id: int, *, on: date, reason: str, idempotency_key: str
) -> MoneyResult:
    """A payment bounced or was booked by mistake: reverse it; the arrears reopen."""
    with uow:
        result = book_payment_reversal(
            uow, actor, entry_id, on=on, reason=reason, idempotency_key=idempotency_key
        )
        uow.commit()
    return result


def book_payment_reversal(
    uow: UnitOfWork, actor: Actor, entry_id: int, *, on: date, reason: str, idempotency_key: str
) -> MoneyResult:
    """``reverse_payment`` inside an open unit of work: the caller commits."""
    actor.require(Permission.PAYMENTS_RECORD)
    why = _reason(reason)
    request = _request(entry_id=entry_id, on=on)
    uow.journal.lock_head()
    original = replay(uow, idempotency_key, "reverse_loan_payment", request)
    if original:
        loan_id = uow.loans.payment_loan(entry_id)
        if loan_id is None:
            raise Conflict(f"entry {entry_id} is not a loan payment", "entry_id")
        return MoneyResult(uow.loans.get(loan_id), original, True)
    loan_id = uow.loans.payment_loan(entry_id)
    if loan_id is None:
        raise NotFound(f"entry {entry_id} is not a loan payment", "entry_id")
    loan = uow.loans.get(loan_id, lock=True)
    payment = uow.journal.get(entry_id)
    draft = reversal_of(
        payment,
        booking_date=on,
        idempotency_key=idempotency_key,
        # Generic: the journal is hashed and kept for ever; the reason is in the audit log.
        description=f"Payment {entry_id} on loan {loan_id} reversed",
    )
    posted = book_entries(uow, actor, [draft], command="reverse_loan_payment", requests=[request])[
        0
    ]
    loan = _settle(uow, actor, uow.loans.get(loan_id), on)
    uow.audit_event(
        actor,
        action="loan_payment_reversed",
        target=f"loan:{loan_id}",
        details={"entry": entry_id, "reason": why},
    )
    if loan.written_off and _position(uow, loan)[0].ledger_loan > 0:
        # The loan owes again what the reversed payment had repaid before the write-off.
        # Writing it off too changes the written-off amount: four eyes, as every write-off.
        _propose_more_write_off(uow, actor, loan, entry_id)
    return MoneyResult(loan, posted.entry, False)


def _propose_more_write_off(uow: UnitOfWork, actor: Actor, loan: Loan, entry_id: int) -> None:
    """Propose writing off what a reversal left owed on a written-off loan; whoever reversed
    the payment proposed it, so another treasurer approves it."""
    if uow.loans.pending_write_off(loan.id) is not None:
        return  # one proposal writes off whatever the loan holds when it is approved
    uow.loans.add_write_off(
        loan.id,
        actor=actor.name,
        reason=f"payment {entry_id} reversed after the loan was written off",
        now=uow.now(),
    )
    uow.audit_event(
        actor,
        action="write_off_proposed",
        target=f"loan:{loan.id}",
        details={"after_reversal_of": entry_id},
    )


def refund_credit(
    uow: UnitOfWork, actor: Actor, loan_id: str, *, on: date, idempotency_key: str
) -> MoneyResult:
    """Pay back what a beneficiary paid beyond the loan; an overpaid loan then closes."""
    request = _request(loan_id=loan_id, on=on)
    with uow:
        original, loan = _money_command(
            uow,
            actor,
            Permission.PAYMENTS_RECORD,
            command="refund_credit",
            key=idempotency_key,
            request=request,
            loan_id=loan_id,
        )
        if original:
            return MoneyResult(loan, original, True)
        b, _, _ = _position(uow, loan)
        if b.ledger_credit <= 0:
            raise Conflict(f"loan {loan_id} has no credit balance to refund", "status")
        # The credit is there once the money that made it came in: not before.
        # Once written off, a recovery beyond the loss makes a credit too.
        kinds = (PaymentKind.REPAYMENT, PaymentKind.DEPOSIT_RELEASE, PaymentKind.RECOVERY)
        last = max((p.on for p, _, _ in uow.loans.payments(loan.id, kinds=kinds)), default=on)
        if on < last:
            raise ValidationError(
                f"loan {loan_id} received money on {last}; its credit cannot be refunded "
                "before that",
                "on",
            )
        amount = from_minor(b.ledger_credit, loan.currency)
        draft = postings.refund(
            loan.id,
            on,
            credit=_code(uow, AccountRole.BENEFICIARY_CREDIT, loan.currency),
            bank=_code(uow, AccountRole.BANK, loan.currency),
            amount=amount,
            idempotency_key=idempotency_key,
        )
        posted = book_entries(uow, actor, [draft], command="refund_credit", requests=[request])[0]
        loan = _settle(uow, actor, uow.loans.get(loan_id), on)
        uow.commit()
    return MoneyResult(loan, posted.entry, False)
