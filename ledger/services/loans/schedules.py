"""Changing a loan's schedule: payment holidays and reschedules."""

from __future__ import annotations

from datetime import date, timedelta

from ledger.domain.errors import (
    Conflict,
    ValidationError,
)
from ledger.domain.journal import (
    month_of,
    parse_month,
)
from ledger.domain.loans import DISBURSED, Loan
from ledger.domain.money import Money, from_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.schedule import (
    MONTH_END,
    Installment,
    Schedule,
    build_schedule,
    due_day_of,
    is_month_end,
    skip_month,
)
from ledger.domain.statuses import LoanStatus
from ledger.services.loans.approvals import _void_contract
from ledger.services.loans.common import _reason
from ledger.services.loans.position import _position, _settle
from ledger.store.uow import UnitOfWork


def _due_day(loan: Loan) -> int:
    if loan.terms.due_day is not None:
        return loan.terms.due_day
    first = loan.terms.first_due_date
    return MONTH_END if is_month_end(first) else first.day


def add_holiday(uow: UnitOfWork, actor: Actor, loan_id: str, month: str, reason: str) -> Schedule:
    """Skip a month: that installment and every later one move a month on (maturity too)."""
    actor.require(Permission.LOANS_SERVICE)
    month = parse_month(month)
    why = _reason(reason)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        if loan.status not in (LoanStatus.ACTIVE, LoanStatus.CONTRACT_SIGNED, LoanStatus.APPROVED):
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}; holidays are for loans being repaid",
                "status",
            )
        if month < month_of(uow.today()):
            raise ValidationError(
                f"{month} is in the past; a holiday is for a coming month", "month"
            )
        _, schedule = uow.loans.schedule(loan_id)
        # Read from the schedule: after a reschedule it falls due on another day than the terms'.
        new = skip_month(schedule, month, due_day_of(schedule.installments, _due_day(loan)))
        uow.loans.add_schedule(
            loan_id, new, reason=f"payment holiday {month}: {why}", actor=actor.name, now=uow.now()
        )
        loan = _void_contract(uow, actor, loan, f"payment holiday {month}")
        uow.audit_event(
            actor,
            action="loan_holiday",
            target=f"loan:{loan_id}",
            details={"month": month},
        )
        if loan.status in DISBURSED:
            _settle(uow, actor, loan, uow.today())
        uow.commit()
    return new


def reschedule(
    uow: UnitOfWork,
    actor: Actor,
    loan_id: str,
    *,
    first_due: date,
    reason: str,
    installments: int | None = None,
    monthly_amount: Money | None = None,
    whole_units: bool = False,
) -> Schedule:
    """A new schedule for what is still owed; what was paid stays as one settled line."""
    actor.require(Permission.LOANS_SERVICE)
    why = _reason(reason)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        if loan.status is not LoanStatus.ACTIVE:
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}; only an active loan can be rescheduled",
                "status",
            )
        today = uow.today()
        if first_due <= today:
            raise ValidationError(
                "the first new installment must fall due after today", "first_due_date"
            )
        b, alloc, _ = _position(uow, loan)
        if b.outstanding <= 0:
            raise Conflict("nothing is owed; there is nothing to reschedule", "status")
        fresh = build_schedule(
            from_minor(b.outstanding, loan.currency),
            first_due=first_due,
            count=installments,
            monthly_amount=monthly_amount,
            whole_units=whole_units,
        )
        if loan.terms.lease_end is not None and fresh.maturity > loan.terms.lease_end + timedelta(
            days=366 * 2
        ):
            raise ValidationError(
                "the new schedule runs more than two years past the lease", "installments"
            )
        settled = (
            [Installment(1, today, from_minor(alloc.total_paid, loan.currency))]
            if alloc.total_paid
            else []
        )
        new = Schedule(
            tuple(settled)
            + tuple(
                Installment(len(settled) + i.number, i.due_date, i.amount)
                for i in fresh.installments
            )
        )
        uow.loans.add_schedule(
            loan_id, new, reason=f"rescheduled: {why}", actor=actor.name, now=uow.now()
        )
        loan = _void_contract(uow, actor, loan, "rescheduled")
        uow.audit_event(actor, action="loan_reschedule", target=f"loan:{loan_id}")
        _settle(uow, actor, loan, today)
        uow.commit()
    return new
