"""Paying a loan out, and undoing the payout while nothing was repaid."""

from __future__ import annotations

from datetime import date, timedelta

from ledger.domain import postings
from ledger.domain.accounts import AccountRole, AccountSpec, AccountType
from ledger.domain.errors import (
    Conflict,
    ValidationError,
)
from ledger.domain.journal import reversal_of
from ledger.domain.loans import (
    Loan,
    LoanAction,
    next_status,
)
from ledger.domain.money import from_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import PaymentFileStatus, PaymentKind
from ledger.services.journal import book_entries
from ledger.services.loans import approvals
from ledger.services.loans.common import (
    MoneyResult,
    _code,
    _money_command,
    _reason,
    _request,
    _transition,
)
from ledger.services.loans.position import _position
from ledger.store.uow import UnitOfWork


def _loan_account(uow: UnitOfWork, loan: Loan) -> str:
    if loan.account_id is not None:
        return loan.account_code
    control = uow.accounts.by_role(AccountRole.LOANS_RECEIVABLE, loan.currency)
    if uow.accounts.find(loan.account_code) is None:
        uow.accounts.add(
            AccountSpec(
                code=loan.account_code,
                name=f"Loan {loan.id}",
                type=AccountType.ASSET,
                currency=loan.currency,
                role=AccountRole.LOAN,
                parent_code=control.code,
            ),
            now=uow.now(),
        )
    return loan.account_code


def _require_paid_after_signature(uow: UnitOfWork, loan: Loan, on: date) -> None:
    """A payout is dated on or after the day its contract was signed by both (the later of the
    two signatures, in the fund's zone): money is not lent before the loan is agreed."""
    signed = uow.documents.signed_contract(loan.id)
    if signed is None:  # refused by the signature check already (or stood in for by a test)
        return
    stamps = [signed.signed_by_beneficiary_at, signed.signed_by_fund_at]
    last = max((at for at in stamps if at is not None), default=None)
    if last is None:
        return
    signed_on = last.astimezone(uow.zone).date()
    if on < signed_on:
        raise ValidationError(
            f"the payout is dated {on.isoformat()}, before the contract of loan {loan.id} was "
            f"signed on {signed_on.isoformat()}: date the payout on or after that day",
            "on",
            key="err.payout.before_signature",
            params={"date": on, "signed": signed_on},
        )


def _require_lease_running(loan: Loan, on: date) -> None:
    """Money is lent for a lease still running: not paid out after the lease ended (compared
    with the payout's date, which is the fund's today unless the payout is recorded late)."""
    lease_end = loan.terms.lease_end
    if lease_end is not None and lease_end < on:
        raise ValidationError(
            f"the lease of loan {loan.id} ended on {lease_end.isoformat()}, before the payout "
            f"on {on.isoformat()}: a deposit is paid out only while the lease runs; reject the "
            "application or record the current lease in a new one",
            "on",
            key="err.payout.lease_ended",
            params={"lease_end": lease_end, "date": on},
        )


def disburse(
    uow: UnitOfWork, actor: Actor, loan_id: str, *, on: date, idempotency_key: str
) -> MoneyResult:
    """Pay the deposit out: Dr the loan's sub-account, Cr bank. The bank may not go below zero."""
    with uow:
        result = book_disbursement(uow, actor, loan_id, on=on, idempotency_key=idempotency_key)
        if not result.replayed:
            uow.commit()
    return result


def book_disbursement(
    uow: UnitOfWork, actor: Actor, loan_id: str, *, on: date, idempotency_key: str
) -> MoneyResult:
    """``disburse`` inside the caller's open unit of work (a payment file that pays several
    loans out books them all and the file in one transaction)."""
    request = _request(loan_id=loan_id, on=on)
    original, loan = _money_command(
        uow,
        actor,
        Permission.LOANS_DISBURSE,
        command="disburse",
        key=idempotency_key,
        request=request,
        loan_id=loan_id,
    )
    if original:
        return MoneyResult(loan, original, True)
    target = next_status(loan.status, LoanAction.DISBURSE)
    approvals._require_signed_contract(uow, loan)
    if on < loan.terms.lease_start - timedelta(days=90):
        raise ValidationError(
            "the payout is more than 90 days before the lease starts",
            "on",
            key="err.payout.too_early",
            params={"days": 90},
        )
    _require_paid_after_signature(uow, loan, on)
    _require_lease_running(loan, on)
    code = _loan_account(uow, loan)
    account = uow.accounts.get(code)
    amount = loan.terms.deposit
    draft = postings.disbursement(
        loan.id,
        on,
        loan=code,
        bank=_code(uow, AccountRole.BANK, loan.currency),
        amount=amount,
        idempotency_key=idempotency_key,
    )
    posted = book_entries(uow, actor, [draft], command="disburse", requests=[request])[0]
    loan = _transition(
        uow,
        actor,
        loan,
        LoanAction.DISBURSE,
        target,
        entry_id=posted.entry.id,
        account_id=account.id,
        disbursement_entry_id=posted.entry.id,
    )
    return MoneyResult(loan, posted.entry, False)


def undo_disbursement(
    uow: UnitOfWork, actor: Actor, loan_id: str, *, on: date, reason: str, idempotency_key: str
) -> MoneyResult:
    """Reverse a payout while nothing was repaid; the loan goes back to contract signed."""
    request = _request(loan_id=loan_id, on=on)
    with uow:
        original, loan = _money_command(
            uow,
            actor,
            Permission.LOANS_DISBURSE,
            command="undo_disbursement",
            key=idempotency_key,
            request=request,
            loan_id=loan_id,
        )
        if original:
            return MoneyResult(loan, original, True)
        why = _reason(reason)
        target = next_status(loan.status, LoanAction.UNDO_DISBURSEMENT)
        if loan.disbursement_entry_id is None:
            raise Conflict(f"loan {loan.id} has no payout to undo", "status")
        if uow.loans.payments(loan.id, kinds=tuple(PaymentKind)):
            raise Conflict(
                f"loan {loan_id} has payments; a disbursement can only be undone while "
                "nothing was paid",
                "status",
            )
        refunded = -_position(uow, loan)[0].ledger_credit
        if refunded > 0:
            # A refund whose payment bounced afterwards: undone, the loan would hide that debt.
            raise Conflict(
                f"loan {loan_id}: {from_minor(refunded, loan.currency)} were refunded to the "
                "beneficiary out of a payment that bounced and are owed back; the payout "
                "cannot be undone while they are",
                "status",
            )
        file_id = uow.payment_files.live_file_of(loan.disbursement_entry_id)
        if file_id is not None:
            status = uow.payment_files.get(file_id).status
            raise Conflict(
                f"the payout of loan {loan_id} is in payment file {file_id} ({status}); "
                + (
                    "cancel that file first, then undo the payout"
                    if status == PaymentFileStatus.CREATED
                    else "the bank was asked to pay it, so it cannot be undone; if the money "
                    "comes back, match the bank's line by hand"
                ),
                "status",
            )
        original = uow.journal.get(loan.disbursement_entry_id)
        draft = reversal_of(
            original,
            booking_date=on,
            idempotency_key=idempotency_key,
            # Generic: the journal is hashed and kept for ever; the reason is in loan_events.
            description=f"Payout of loan {loan.id} undone",
        )
        posted = book_entries(uow, actor, [draft], command="undo_disbursement", requests=[request])[
            0
        ]
        loan = _transition(
            uow,
            actor,
            loan,
            LoanAction.UNDO_DISBURSEMENT,
            target,
            reason=why,
            entry_id=posted.entry.id,
            disbursement_entry_id=None,
        )
        uow.commit()
    return MoneyResult(loan, posted.entry, False)
