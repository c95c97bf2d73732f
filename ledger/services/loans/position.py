"""A disbursed loan's position, and keeping the ledger equal to its schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.domain import postings
from ledger.domain.accounts import AccountRole
from ledger.domain.journal import EntryDraft
from ledger.domain.loans import (
    Loan,
    derived_status,
)
from ledger.domain.money import from_minor
from ledger.domain.repayment import Allocation, PaymentEvent, allocate
from ledger.domain.roles import Actor, Permission
from ledger.domain.schedule import Schedule
from ledger.services.journal import book_entries
from ledger.services.loans.common import _code
from ledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Balances:
    """A disbursed loan's position: from the schedule, and as the ledger holds it."""

    outstanding: int  # schedule: still owed
    credit: int  # paid beyond everything owed
    ledger_loan: int  # the loan sub-account's balance
    ledger_credit: int  # this loan's part of the beneficiary-credit account


def _position(
    uow: UnitOfWork, loan: Loan, extra: list[PaymentEvent] | None = None
) -> tuple[Balances, Allocation, Schedule]:
    _, schedule = uow.loans.schedule(loan.id)
    pays = [p for p, _, _ in uow.loans.payments(loan.id)] + (extra or [])
    alloc = allocate(schedule.installments, pays)
    total = sum(i.minor for i in schedule.installments)
    credit_account = uow.accounts.by_role(AccountRole.BENEFICIARY_CREDIT, loan.currency)
    balances = Balances(
        outstanding=total - alloc.total_paid,
        credit=alloc.credit,
        ledger_loan=uow.loans.loan_account_balance(loan.account_id),
        ledger_credit=uow.loans.credit_minor(loan.id, credit_account.id),
    )
    return balances, alloc, schedule


def _settle(
    uow: UnitOfWork, actor: Actor, loan: Loan, on: date, known: Balances | None = None
) -> Loan:
    """Make the ledger match the schedule, then the status match the ledger. ``known``: the
    loan's position when the caller has just computed it (a batch of payments)."""
    b = known or _position(uow, loan)[0]
    cur = loan.currency
    drafts: list[EntryDraft] = []
    if loan.written_off:
        # What a reversed payment left owed on a written-off loan is not written off here:
        # that is a change to the written-off amount, proposed for a second treasurer to
        # approve (``book_payment_reversal``). Here the recoveries stay within the loss:
        # never more than was written off (the rest is owed back), never below zero (a
        # reversed recovery whose money was already counted as owed back).
        losses = uow.accounts.by_role(AccountRole.LOAN_LOSSES, cur).id
        recoveries = uow.accounts.by_role(AccountRole.RECOVERIES, cur).id
        lost = uow.loans.loan_legs_minor(loan.id, losses)
        recovered = -uow.loans.loan_legs_minor(loan.id, recoveries)
        beyond = recovered - min(max(recovered, 0), max(lost, 0))
        if beyond:
            drafts.append(
                postings.recovery_owed_back(
                    loan.id,
                    on,
                    recoveries=_code(uow, AccountRole.RECOVERIES, cur),
                    credit=_code(uow, AccountRole.BENEFICIARY_CREDIT, cur),
                    amount=from_minor(beyond, cur),
                )
                if beyond > 0
                else postings.recovery_not_owed_back(
                    loan.id,
                    on,
                    recoveries=_code(uow, AccountRole.RECOVERIES, cur),
                    credit=_code(uow, AccountRole.BENEFICIARY_CREDIT, cur),
                    amount=from_minor(-beyond, cur),
                )
            )
    else:
        gap = b.ledger_loan - b.outstanding
        if gap != b.ledger_credit - b.credit:
            raise RuntimeError(
                f"loan {loan.id}: ledger and schedule disagree beyond a reallocation; "
                "run `fundledger verify`"
            )
        if gap:
            drafts.append(
                postings.reallocation(
                    loan.id,
                    on,
                    loan=loan.account_code,
                    credit=_code(uow, AccountRole.BENEFICIARY_CREDIT, cur),
                    amount=from_minor(abs(gap), cur),
                    from_credit=gap > 0,
                )
            )
    if drafts:
        book_entries(uow, actor, drafts, command="settle_loan")
        b, _, _ = _position(uow, loan)
    status = derived_status(
        written_off=loan.written_off, outstanding=b.ledger_loan, credit=b.ledger_credit
    )
    if status is not loan.status:
        saved = uow.loans.save(loan, status=status)
        uow.loans.add_event(
            loan.id,
            at=uow.now(),
            actor=actor.name,
            action="settle",
            from_status=loan.status,
            to_status=status,
        )
        return saved
    return loan


def balances_of(uow: UnitOfWork, actor: Actor, loan_id: str) -> Balances:
    actor.require(Permission.LOANS_READ)
    with uow:
        loan = uow.loans.get(loan_id)
        return _position(uow, loan)[0]
