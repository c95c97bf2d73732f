"""Write-offs: proposed by one, approved (and booked) or rejected by another."""

from __future__ import annotations

from datetime import date

from ledger.domain import postings
from ledger.domain.accounts import AccountRole
from ledger.domain.errors import (
    Conflict,
    PermissionDenied,
)
from ledger.domain.loans import (
    Loan,
    LoanAction,
    WriteOff,
    next_status,
)
from ledger.domain.money import from_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import WriteOffStatus
from ledger.services.journal import book_entries, replay
from ledger.services.loans.common import (
    MoneyResult,
    _check_after_payout,
    _code,
    _reason,
    _request,
    _transition,
)
from ledger.services.loans.position import _position
from ledger.store.uow import UnitOfWork


def own_proposal(actor: Actor, proposed_by: str) -> bool:
    """Four eyes: who proposed a write-off does not approve it."""
    return actor.name == proposed_by


def propose_write_off(uow: UnitOfWork, actor: Actor, loan_id: str, reason: str) -> WriteOff:
    actor.require(Permission.WRITE_OFF_PROPOSE)
    why = _reason(reason)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        if not _owed_again(uow, loan):
            next_status(loan.status, LoanAction.WRITE_OFF)
        if uow.loans.pending_write_off(loan_id) is not None:
            raise Conflict(
                f"a write-off of loan {loan_id} is already proposed",
                "status",
                key="err.write_off.proposed",
                params={"loan": loan_id},
            )
        wid = uow.loans.add_write_off(loan_id, actor=actor.name, reason=why or "", now=uow.now())
        uow.audit_event(actor, action="write_off_proposed", target=f"loan:{loan_id}")
        uow.commit()
        return uow.loans.write_off(wid)


def approve_write_off(
    uow: UnitOfWork, actor: Actor, write_off_id: int, *, on: date, idempotency_key: str
) -> MoneyResult:
    """Four eyes: the treasurer who approves is not who proposed. Dr loan losses, Cr the loan."""
    actor.require(Permission.WRITE_OFF_APPROVE)
    request = _request(write_off_id=write_off_id, on=on)
    with uow:
        uow.journal.lock_head()
        wo = uow.loans.write_off(write_off_id)
        original = replay(uow, idempotency_key, "write_off", request)
        if original:
            return MoneyResult(uow.loans.get(wo.loan_id), original, True)
        if wo.status is not WriteOffStatus.PROPOSED:
            raise Conflict(f"write-off {write_off_id} is already {wo.status}", "status")
        if own_proposal(actor, wo.proposed_by):
            raise PermissionDenied(
                "you proposed this write-off; another treasurer must approve",
                key="err.write_off.own",
            )
        loan = uow.loans.get(wo.loan_id, lock=True)
        # A written-off loan that owes again (a payment from before the write-off reversed)
        # has the rest written off: it stays written off.
        target = (
            loan.status
            if _owed_again(uow, loan)
            else next_status(loan.status, LoanAction.WRITE_OFF)
        )
        _check_after_payout(loan, on, uow.loans.payout_date(loan))
        b, _, _ = _position(uow, loan)
        if b.ledger_loan <= 0:
            raise Conflict(
                f"loan {loan.id} has nothing outstanding to write off",
                "status",
                key="err.write_off.nothing",
                params={"loan": loan.id},
            )
        # With it goes a refunded debt (a refund whose payment bounced), owed on 2100.
        debt = max(-b.ledger_credit, 0)
        cur = loan.currency
        # Generic: the journal is hashed and kept for ever; the reason is in write_offs.
        draft = postings.write_off(
            loan.id,
            on,
            write_off_id=wo.id,
            losses=_code(uow, AccountRole.LOAN_LOSSES, cur),
            loan=loan.account_code,
            credit=_code(uow, AccountRole.BENEFICIARY_CREDIT, cur),
            outstanding=from_minor(b.ledger_loan, cur),
            debt=from_minor(debt, cur),
            idempotency_key=idempotency_key,
        )
        posted = book_entries(uow, actor, [draft], command="write_off", requests=[request])[0]
        uow.loans.decide_write_off(
            write_off_id,
            status=WriteOffStatus.APPROVED,
            actor=actor.name,
            now=uow.now(),
            entry_id=posted.entry.id,
        )
        loan = _transition(
            uow,
            actor,
            loan,
            LoanAction.WRITE_OFF,
            target,
            reason=wo.reason,
            entry_id=posted.entry.id,
            written_off=True,
        )
        uow.commit()
    return MoneyResult(loan, posted.entry, False)


def _owed_again(uow: UnitOfWork, loan: Loan) -> bool:
    """A written-off loan that holds something owed again: a payment made before its
    write-off was reversed since, and what it had repaid waits to be written off."""
    return loan.written_off and _position(uow, loan)[0].ledger_loan > 0


def reject_write_off(uow: UnitOfWork, actor: Actor, write_off_id: int, reason: str) -> WriteOff:
    actor.require(Permission.WRITE_OFF_APPROVE)
    why = _reason(reason)
    with uow:
        wo = uow.loans.write_off(write_off_id)
        if wo.status is not WriteOffStatus.PROPOSED:
            raise Conflict(f"write-off {write_off_id} is already {wo.status}", "status")
        if _owed_again(uow, uow.loans.get(wo.loan_id)):
            raise Conflict(
                f"loan {wo.loan_id} is written off and a reversed payment left money owed on "
                "it: only writing that off settles it; approve this write-off, or reverse the "
                "reversal if the payment did come in",
                "status",
                key="err.write_off.owed_again",
                params={"loan": wo.loan_id},
            )
        uow.loans.decide_write_off(
            write_off_id,
            status=WriteOffStatus.REJECTED,
            actor=actor.name,
            now=uow.now(),
            entry_id=None,
        )
        uow.audit_event(
            actor,
            action="write_off_rejected",
            target=f"loan:{wo.loan_id}",
            details={"reason": why},
        )
        uow.commit()
        return uow.loans.write_off(write_off_id)
