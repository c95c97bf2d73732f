"""The approvers' queue: everything that waits for a second person, with the facts to decide.

One queue, in parts by what the person may do: applications submitted for approval (and those
whose eligibility a supervisor must override first), write-offs proposed, loans whose contract
is signed and that wait for the treasurer's payout. Each item says whether this person may act
on it (four eyes: never on one's own request), so a page offers only what the services accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from ledger.domain.errors import PermissionDenied
from ledger.domain.loans import Loan, LoanAction, StoredDecision
from ledger.domain.money import Money, from_minor, to_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import LoanStatus
from ledger.services.loans.applications import _as_seen_by
from ledger.services.loans.approvals import own_application
from ledger.services.loans.write_off import own_proposal
from ledger.store.uow import UnitOfWork

#: Items shown per part of the queue, the oldest first: a person decides on these, and the next
#: ones come up (the page says how many wait in all).
SHOWN = 15

#: Whoever holds one of these has a queue.
QUEUE_PERMISSIONS = (
    Permission.LOANS_APPROVE,
    Permission.ELIGIBILITY_OVERRIDE,
    Permission.WRITE_OFF_APPROVE,
    Permission.LOANS_DISBURSE,
)


@dataclass(frozen=True, slots=True)
class ApplicationItem:
    """A submitted application, with what an approver needs to decide on it."""

    loan: Loan
    submitted_at: datetime | None
    submitted_by: str | None
    installments: int
    installment: Money  # the regular monthly amount (the first installment's)
    last_due: date | None
    rent_months: Decimal  # the deposit in months of rent, one decimal
    decision: StoredDecision | None
    exception_request: str | None  # the caseworker's reason for an exception to the rules
    own: bool  # this person opened or submitted it: they do not decide on it
    may_approve: bool
    may_reject: bool
    may_override: bool

    @property
    def needs_override(self) -> bool:
        """The decision is not accepted: a supervisor must override it before approval."""
        return self.decision is None or not self.decision.accepted


@dataclass(frozen=True, slots=True)
class WriteOffItem:
    id: int
    loan: Loan
    proposed_by: str
    proposed_at: datetime
    reason: str
    outstanding: Money  # what the loan's account still holds: what would be written off
    own: bool
    may_decide: bool


@dataclass(frozen=True, slots=True)
class PayoutItem:
    """A loan whose contract is signed, waiting for the treasurer to pay the deposit out."""

    loan: Loan
    signed_at: datetime | None
    approved_by: str | None


@dataclass(frozen=True, slots=True)
class ApprovalQueue:
    """Each part is None when this person's role has no say in it."""

    applications: list[ApplicationItem] | None
    write_offs: list[WriteOffItem] | None
    payouts: list[PayoutItem] | None
    #: How many wait in each part in all (each part shows the ``SHOWN`` oldest).
    totals: dict[str, int] | None = None

    def total(self, part: str) -> int:
        shown = getattr(self, part)
        return (self.totals or {}).get(part, len(shown or ()))

    @property
    def waiting(self) -> int:
        """How many items this person may act on."""
        apps = sum(1 for a in self.applications or () if a.may_approve or a.may_override)
        wos = sum(1 for w in self.write_offs or () if w.may_decide)
        # Those not shown yet are counted as waiting too (some may be one's own).
        hidden = sum(
            self.total(part) - len(getattr(self, part) or ())
            for part in ("applications", "write_offs", "payouts")
        )
        return apps + wos + len(self.payouts or ()) + hidden


def approval_queue(uow: UnitOfWork, actor: Actor) -> ApprovalQueue:
    """The queue as ``actor`` sees it. Reading the applications' eligibility decisions (which
    quote the person's income and savings) is audited for the roles that see them."""
    if not any(actor.can(p) for p in QUEUE_PERMISSIONS):
        raise PermissionDenied(
            f"your role ({actor.role.value}) approves nothing; the queue is for admins, "
            "caseworkers and treasurers"
        )
    decides = actor.can(Permission.LOANS_APPROVE)
    overrides = actor.can(Permission.ELIGIBILITY_OVERRIDE)
    totals: dict[str, int] = {}
    with uow:
        applications = None
        if decides or overrides:
            submitted = list(uow.work.in_status((LoanStatus.SUBMITTED,)))
            totals["applications"] = len(submitted)
            applications = [
                _application(uow, actor, uow.loans.get(s.loan_id), s.since, decides, overrides)
                for s in submitted[:SHOWN]
            ]
            if applications and actor.can(Permission.PERSONAL_READ):
                for item in applications:
                    uow.audit_event(
                        actor,
                        action="read_personal_data",
                        target=f"loan:{item.loan.id}",
                        details={"via": "approval_queue"},
                    )
                uow.commit()
        write_offs = None
        if actor.can(Permission.WRITE_OFF_APPROVE):
            write_offs = []
            pending = list(uow.work.pending_write_offs())
            totals["write_offs"] = len(pending)
            for w in pending[:SHOWN]:
                loan = uow.loans.get(w.loan_id)
                own = own_proposal(actor, w.proposed_by)
                write_offs.append(
                    WriteOffItem(
                        id=w.id,
                        loan=loan,
                        proposed_by=w.proposed_by,
                        proposed_at=w.proposed_at,
                        reason=w.reason,
                        outstanding=from_minor(
                            uow.loans.loan_account_balance(loan.account_id), loan.currency
                        ),
                        own=own,
                        may_decide=not own,
                    )
                )
        payouts = None
        if actor.can(Permission.LOANS_DISBURSE):
            payouts = []
            signed = list(uow.work.in_status((LoanStatus.CONTRACT_SIGNED,)))
            totals["payouts"] = len(signed)
            for s in signed[:SHOWN]:
                loan = uow.loans.get(s.loan_id)
                payouts.append(PayoutItem(loan, s.since, loan.approved_by))
    return ApprovalQueue(applications, write_offs, payouts, totals)


def _application(
    uow: UnitOfWork,
    actor: Actor,
    loan: Loan,
    since: datetime | None,
    decides: bool,
    overrides: bool,
) -> ApplicationItem:
    _, schedule = uow.loans.schedule(loan.id)
    decision = _as_seen_by(actor, uow.loans.latest_decision(loan.id))
    own = own_application(actor, loan)
    accepted = decision is not None and decision.accepted
    rent = to_minor(loan.terms.monthly_rent)
    months = Decimal(to_minor(loan.terms.deposit)) / rent if rent else Decimal(0)
    first = schedule.installments[0].amount if schedule.installments else loan.terms.deposit
    return ApplicationItem(
        loan=loan,
        submitted_at=since,
        submitted_by=loan.submitted_by,
        installments=len(schedule.installments),
        installment=first,
        last_due=schedule.maturity if schedule.installments else None,
        rent_months=months.quantize(Decimal("0.1"), ROUND_HALF_UP),
        decision=decision,
        exception_request=_exception_request(uow, loan.id),
        own=own,
        may_approve=decides and not own and accepted,
        may_reject=decides and not own,
        may_override=overrides and not own and decision is not None and not accepted,
    )


def _exception_request(uow: UnitOfWork, loan_id: str) -> str | None:
    """The reason given with the latest submission of the application, if any."""
    submits = [e for e in uow.loans.events(loan_id) if e.action == LoanAction.SUBMIT.value]
    return submits[-1].reason if submits else None
