"""Helpers every loan use case shares: reasons, state transitions, money commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Unpack

from ledger.domain.accounts import AccountRole
from ledger.domain.errors import ValidationError
from ledger.domain.journal import Entry
from ledger.domain.loans import Loan, LoanAction
from ledger.domain.money import Money, to_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import LoanStatus
from ledger.services.journal import replay
from ledger.store.loan_repository import LoanChanges
from ledger.store.uow import UnitOfWork

OPEN_STATUSES = frozenset(
    {
        LoanStatus.DRAFT,
        LoanStatus.SUBMITTED,
        LoanStatus.APPROVED,
        LoanStatus.CONTRACT_SIGNED,
        LoanStatus.ACTIVE,
        LoanStatus.OVERPAID,
    }
)
MAX_REASON = 1000
_PENDING = 2**62  # sorts a payment being recorded after every posted one of the same day


def _reason(reason: str | None, *, required: bool = True) -> str | None:
    if reason is None or not reason.strip():
        if required:
            raise ValidationError(
                "a written reason is required", "reason", key="err.reason.required"
            )
        return None
    if len(reason) > MAX_REASON:
        raise ValidationError(
            f"the reason is longer than {MAX_REASON} characters",
            "reason",
            key="err.reason.too_long",
            params={"most": MAX_REASON},
        )
    return reason.strip()


def _transition(
    uow: UnitOfWork,
    actor: Actor,
    loan: Loan,
    action: LoanAction,
    target: LoanStatus,
    *,
    reason: str | None = None,
    entry_id: int | None = None,
    **changes: Unpack[LoanChanges],
) -> Loan:
    saved = uow.loans.save(loan, status=target, **changes)
    uow.loans.add_event(
        loan.id,
        at=uow.now(),
        actor=actor.name,
        action=action.value,
        from_status=loan.status,
        to_status=target,
        reason=reason,
        entry_id=entry_id,
    )
    uow.audit_event(
        actor,
        action=f"loan_{action.value}",
        target=f"loan:{loan.id}",
        details={"from": loan.status.value, "to": target.value},
    )
    return saved


def _code(uow: UnitOfWork, role: AccountRole, currency: str) -> str:
    return uow.accounts.by_role(role, currency).code


def _amount(amount: Money, loan: Loan, name: str = "amount") -> int:
    if amount.currency.code != loan.currency:
        raise ValidationError(
            f"loan {loan.id} is in {loan.currency}; a payment in {amount.currency.code} "
            "cannot be booked to it",
            "currency",
            key="err.amount.currency",
            params={"loan": loan.id, "currency": loan.currency},
        )
    minor = to_minor(amount)
    if minor <= 0:
        raise ValidationError(f"the {name} must be positive", name, key="err.amount.positive")
    return minor


def _request(**fields: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, date | Money | Decimal) else v) for k, v in fields.items()}


def _money_command(
    uow: UnitOfWork,
    actor: Actor,
    permission: Permission,
    *,
    command: str,
    key: str,
    request: dict[str, Any],
    loan_id: str,
) -> tuple[Entry | None, Loan]:
    """How a command that moves a loan's money starts, inside its unit of work: the actor's
    permission; then the chain head, where postings queue (so two requests with one key
    cannot miss each other); then a retry is answered with its first entry (and the loan as
    it is now), else the loan is locked for the command."""
    actor.require(permission)
    uow.journal.lock_head()
    original = replay(uow, key, command, request)
    if original is not None:
        return original, uow.loans.get(loan_id)
    return None, uow.loans.get(loan_id, lock=True)


@dataclass(frozen=True, slots=True)
class MoneyResult:
    loan: Loan
    entry: Entry
    replayed: bool


def _check_after_payout(loan: Loan, on: date, paid_out_on: date | None) -> None:
    """Nothing happens to a loan's money before the loan was paid out."""
    if paid_out_on is not None and on < paid_out_on:
        raise ValidationError(
            f"loan {loan.id} was paid out on {paid_out_on}; money for it cannot be dated "
            "before that",
            "on",
            key="err.date.before_payout",
            params={"loan": loan.id, "day": paid_out_on},
        )
