"""Reading loans: one loan as of a date (schedule, payments, arrears, history), or a list."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from ledger.domain.beneficiaries import Beneficiary
from ledger.domain.errors import ValidationError
from ledger.domain.loans import (
    DISBURSED,
    Lease,
    Loan,
    LoanEvent,
    StoredDecision,
    WriteOff,
    status_on,
)
from ledger.domain.repayment import Arrears, allocate, arrears
from ledger.domain.roles import Actor, Permission
from ledger.domain.standing import LoanStanding, loan_standing
from ledger.domain.statuses import EntryKind, LoanStatus, PaymentKind
from ledger.services.loans.applications import _as_seen_by
from ledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class InstallmentView:
    number: int
    due_date: date
    amount: int
    paid: int

    @property
    def remaining(self) -> int:
        return self.amount - self.paid


@dataclass(frozen=True, slots=True)
class LoanView:
    loan: Loan
    as_of: date
    schedule_version: int
    installments: tuple[InstallmentView, ...]
    outstanding: int
    credit: int
    arrears: Arrears
    payments: tuple[tuple[int, date, int, str, bool], ...]  # entry, date, amount, kind, reversed
    events: tuple[LoanEvent, ...]
    decision: StoredDecision | None
    pending_write_off: WriteOff | None
    lease: Lease | None  # personal data: only for roles that may see it
    written_off_on: date | None = None  # the day the write-off was booked, if written off
    recovered: int = 0  # received after the write-off by as_of (recoveries, not reversed)
    refunded: int = 0  # paid back to the person since the write-off, by as_of

    @property
    def standing(self) -> LoanStanding:
        """Where the loan stands for its beneficiary on ``as_of`` (ledger/domain/standing.py):
        what the personal page, the schedule PDF and ``fundledger loan show`` tell."""
        return loan_standing(
            self.loan.status,
            self.as_of,
            self.installments,
            arrears=self.arrears,
            credit=self.credit,
            written_off_on=self.written_off_on,
            recovered=self.recovered,
            refunded=self.refunded,
        )


def get_loan(uow: UnitOfWork, actor: Actor, loan_id: str, as_of: date | None = None) -> LoanView:
    """A loan as of a date (today by default): schedule with what is paid, arrears, history;
    with its lease for the roles that may read personal data (the read audited)."""
    actor.require(Permission.LOANS_READ)
    with uow:
        view = _view(uow, actor, loan_id, as_of)
        if actor.can(Permission.PERSONAL_READ):
            uow.audit_event(actor, action="read_personal_data", target=f"loan:{loan_id}")
            uow.commit()
        return view


def loan_page(uow: UnitOfWork, actor: Actor, loan_id: str) -> tuple[LoanView, Beneficiary]:
    """A loan as of today with its beneficiary, as a page shows them: for the roles that may
    read personal data the lease and the person's record, their read audited once (one
    record, the loan's: the reads of personal data name its beneficiary), for the others the
    person's bare id."""
    actor.require(Permission.LOANS_READ)
    with uow:
        view = _view(uow, actor, loan_id, None)
        person = uow.beneficiaries.get(view.loan.beneficiary_id)
        if not actor.can(Permission.PERSONAL_READ):
            return view, Beneficiary(person.id, person.currency, None, person.erased)
        uow.audit_event(
            actor,
            action="read_personal_data",
            target=f"loan:{loan_id}",
            details={"via": "loan_page"},
        )
        uow.commit()
    return view, person


def _view(uow: UnitOfWork, actor: Actor, loan_id: str, as_of: date | None) -> LoanView:
    """The loan as of ``as_of`` (today by default), read in the caller's unit of work; the
    lease only for the roles that may read personal data (the caller records the read)."""
    loan = uow.loans.get(loan_id)
    day = as_of or uow.today()
    events = tuple(uow.loans.events(loan_id))
    # A loan written off later was not written off yet on a past day.
    written_off_on = uow.loans.written_off_on(loan_id) if loan.written_off else None
    if day < uow.today():
        # As the loan stood at the end of that day: its state then, not today's.
        entry_days = {
            e.entry_id: uow.journal.get(e.entry_id).booking_date
            for e in events
            if e.entry_id is not None
        }
        then = status_on(events, day, entry_days=entry_days, zone=uow.zone)
        loan = replace(
            loan,
            status=then or LoanStatus.DRAFT,
            written_off=written_off_on is not None and written_off_on <= day,
        )
    # As the loan stood that day: the schedule version in force, the payments booked by then
    # and not reversed by then.
    version, schedule = uow.loans.schedule(loan_id, uow.loans.schedule_version_on(loan_id, day))
    all_pays = uow.loans.payments(
        loan_id,
        kinds=(*PaymentKind, EntryKind.REFUND),
        include_reversed=True,
    )
    # Once written off, a refund gives back what came in beyond the write-off: it un-pays
    # nothing (what was written off stays as it was); the standing counts it apart.
    if not loan.written_off:  # not (yet, that day)
        written_off_on = None
    valid, refunded = [], 0
    for p, kind, _ in uow.loans.payments(loan_id, as_of=day):
        if written_off_on is not None and kind == EntryKind.REFUND and p.on >= written_off_on:
            refunded -= p.minor
        else:
            valid.append(p)
    alloc = allocate(schedule.installments, valid)
    views = tuple(
        InstallmentView(i.number, i.due_date, i.minor, paid)
        for i, paid in zip(schedule.installments, alloc.paid, strict=True)
    )
    total = sum(i.minor for i in schedule.installments)
    lease = uow.loans.lease(loan_id) if actor.can(Permission.PERSONAL_READ) else None
    disbursed = loan.status in DISBURSED
    # What came in after a write-off (a query for those only).
    recovered = 0
    if loan.written_off:
        recovered = sum(
            p.minor
            for p, _, _ in uow.loans.payments(loan_id, kinds=(PaymentKind.RECOVERY,), as_of=day)
        )
    return LoanView(
        loan=loan,
        as_of=day,
        schedule_version=version,
        installments=views,
        # A refunded debt (a refund whose payment bounced) is owed too.
        outstanding=total - alloc.total_paid + alloc.debt
        if disbursed and not loan.written_off
        else 0,
        credit=alloc.credit,
        arrears=arrears(schedule.installments, valid, day) if disbursed else arrears((), [], day),
        payments=tuple((p.key, p.on, p.minor, kind, rev) for p, kind, rev in all_pays),
        events=events,
        decision=_as_seen_by(actor, uow.loans.latest_decision(loan_id)),
        pending_write_off=uow.loans.pending_write_off(loan_id),
        lease=lease,
        written_off_on=written_off_on,
        recovered=recovered,
        refunded=refunded,
    )


def list_loans(
    uow: UnitOfWork,
    actor: Actor,
    *,
    status: LoanStatus | None = None,
    beneficiary_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Loan], int]:
    actor.require(Permission.LOANS_READ)
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1 to 500 and offset not negative", "limit")
    with uow:
        return uow.loans.page(
            status=status, beneficiary_id=beneficiary_id, limit=limit, offset=offset
        )
