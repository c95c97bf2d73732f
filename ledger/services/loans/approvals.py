"""Approval (four eyes), rejection, withdrawal, and the signed contract a payout needs."""

from __future__ import annotations

from typing import Unpack

from ledger.domain.accounts import AccountRole
from ledger.domain.errors import (
    Conflict,
    PermissionDenied,
)
from ledger.domain.loans import Loan, LoanAction, next_status
from ledger.domain.money import from_minor, to_minor
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import LoanStatus
from ledger.services.loans.common import _reason, _transition
from ledger.store.loan_repository import LoanChanges
from ledger.store.uow import UnitOfWork


def own_application(actor: Actor, loan: Loan) -> bool:
    """Four eyes: who opened or submitted an application does not decide on it."""
    return actor.name in (loan.created_by, loan.submitted_by)


def approve(uow: UnitOfWork, actor: Actor, loan_id: str, policy: LoanPolicy) -> Loan:
    """Four eyes: approved by someone other than who opened or submitted it, with an
    accepted decision, and only while the fund has the money (``_require_free_cash``)."""
    actor.require(Permission.LOANS_APPROVE)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        target = next_status(loan.status, LoanAction.APPROVE)
        if own_application(actor, loan):
            done = "submitted" if actor.name == loan.submitted_by else "opened"
            raise PermissionDenied(
                f"you {done} this application; another caseworker or an admin must approve it",
                key="err.approve.own",
            )
        decision = uow.loans.latest_decision(loan_id)
        if decision is None or not decision.accepted:
            outcome = decision.outcome if decision else "missing"
            raise Conflict(
                f"the eligibility decision is '{outcome}'; a supervisor must override it with "
                "a reason, or the application be amended, before approval",
                "eligibility",
                key="err.approve.eligibility",
            )
        _require_free_cash(uow, loan, policy)
        loan = _transition(uow, actor, loan, LoanAction.APPROVE, target, approved_by=actor.name)
        uow.commit()
    return loan


def _require_free_cash(uow: UnitOfWork, loan: Loan, policy: LoanPolicy) -> None:
    """Approving commits the fund to pay: the bank, less what is already committed (approved,
    not paid out yet) and less the reserve, must cover this deposit. The eligibility rule saw
    the cash on the day the application was submitted; several submitted together each fit it
    and, approved one after the other, would all be paid out below the reserve. The bank's
    row is locked: two approvals (or an approval and a payout) in a currency queue, so both
    cannot count the same money."""
    code = uow.accounts.by_role(AccountRole.BANK, loan.currency).code
    bank = uow.accounts.lock([code])[code]
    committed = uow.loans.committed_minor(
        loan.currency, (LoanStatus.APPROVED, LoanStatus.CONTRACT_SIGNED), exclude=loan.id
    )
    reserve = policy.rules.cash_reserve_minor
    free = bank.balance_minor - committed - reserve
    if to_minor(loan.terms.deposit) > free:
        cur = loan.currency
        raise Conflict(
            f"the fund has {from_minor(max(free, 0), cur)} free to lend (the bank's "
            f"{from_minor(bank.balance_minor, cur)} less {from_minor(committed, cur)} approved "
            f"and not paid out, less the reserve of {from_minor(reserve, cur)}), not the "
            f"{loan.terms.deposit} of loan {loan.id}: approve it once the money is there, or "
            "undo the approval of another loan",
            "cash",
            key="err.approve.cash",
            params={
                "free": from_minor(max(free, 0), cur),
                "deposit": loan.terms.deposit,
                "reserve": from_minor(reserve, cur),
            },
        )


def _simple(
    uow: UnitOfWork,
    actor: Actor,
    loan_id: str,
    action: LoanAction,
    reason: str | None,
    permission: Permission,
    **changes: Unpack[LoanChanges],
) -> Loan:
    actor.require(permission)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        target = next_status(loan.status, action)
        loan = _transition(uow, actor, loan, action, target, reason=reason, **changes)
        uow.commit()
    return loan


def reject(uow: UnitOfWork, actor: Actor, loan_id: str, reason: str) -> Loan:
    return _simple(
        uow, actor, loan_id, LoanAction.REJECT, _reason(reason), Permission.LOANS_APPROVE
    )


def withdraw(uow: UnitOfWork, actor: Actor, loan_id: str, reason: str) -> Loan:
    return _simple(
        uow, actor, loan_id, LoanAction.WITHDRAW, _reason(reason), Permission.LOANS_APPLY
    )


def undo_approval(uow: UnitOfWork, actor: Actor, loan_id: str, reason: str) -> Loan:
    return _simple(
        uow,
        actor,
        loan_id,
        LoanAction.UNDO_APPROVAL,
        _reason(reason),
        Permission.LOANS_APPROVE,
        approved_by=None,
    )


def sign_contract(uow: UnitOfWork, actor: Actor, loan_id: str) -> Loan:
    """Approved -> contract signed, once the current contract version is signed by the
    beneficiary and the fund. Signing for the fund (``contracts.sign_as_fund``) does this by
    itself; here only for a loan whose state lags behind its signed contract."""
    actor.require(Permission.LOANS_APPLY)
    with uow:
        loan = record_contract_signed(uow, actor, uow.loans.get(loan_id, lock=True))
        uow.commit()
    return loan


def record_contract_signed(uow: UnitOfWork, actor: Actor, loan: Loan) -> Loan:
    """Approved -> contract signed, inside the caller's transaction: the contract service
    (``services/contracts.py``) calls this when the fund signs what the beneficiary signed."""
    target = next_status(loan.status, LoanAction.SIGN_CONTRACT)
    _require_signed_contract(uow, loan)
    return _transition(uow, actor, loan, LoanAction.SIGN_CONTRACT, target)


def _require_signed_contract(uow: UnitOfWork, loan: Loan) -> None:
    """The contract version in force is signed by both, for this amount and schedule (looked up
    in this module at each call: tests whose subject is not the contract document stand in for
    it, ``tests/support/statements.py``)."""
    signed = uow.documents.signed_contract(loan.id)
    version, _ = uow.loans.schedule(loan.id)
    if (
        signed is None
        or signed.schedule_version != version
        or signed.principal_minor != to_minor(loan.terms.deposit)
    ):
        raise Conflict(
            f"loan {loan.id} is paid out only once its current contract version is signed by "
            "the beneficiary and by the fund",
            "contract",
            key="err.payout.unsigned",
            params={"loan": loan.id},
        )


def _void_contract(uow: UnitOfWork, actor: Actor, loan: Loan, why: str) -> Loan:
    """A new amount or schedule voids the contract in force: a new version must be signed."""
    version = uow.documents.void_current(loan.id, at=uow.now(), actor=actor.name, reason=why)
    if version is not None:
        uow.audit_event(
            actor,
            action="contract_voided",
            target=f"loan:{loan.id}",
            details={"version": version},
        )
    if loan.status is LoanStatus.CONTRACT_SIGNED:
        return _transition(
            uow, actor, loan, LoanAction.VOID_CONTRACT, LoanStatus.APPROVED, reason=why
        )
    return loan
