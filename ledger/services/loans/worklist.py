"""What needs a caseworker's attention (their home page), and the summary other roles see.

"Mine" is the loans a caseworker opened (``Loan.created_by``); an admin sees every loan's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from ledger.domain.roles import Actor, Permission, Role
from ledger.domain.statuses import LoanStatus
from ledger.services.loans.common import OPEN_STATUSES
from ledger.store.uow import UnitOfWork

#: A lease ending this soon needs its deposit release prepared.
LEASE_ENDING_DAYS = 60
#: A personal link ending this soon should be renewed.
LINK_EXPIRING_DAYS = 14
#: Loans whose beneficiaries may still use their personal link.
LINKED_STATUSES = (
    LoanStatus.APPROVED,
    LoanStatus.CONTRACT_SIGNED,
    LoanStatus.ACTIVE,
    LoanStatus.OVERPAID,
)


class WorkKind(StrEnum):
    """Why a loan is on the list, in the order the list shows them."""

    FIRST_INSTALLMENT_LATE = "first_installment_late"
    CONTRACT_NOT_SIGNED = "contract_not_signed"
    APPROVAL_WAITING = "approval_waiting"
    LEASE_ENDING = "lease_ending"
    LINK_EXPIRING = "link_expiring"


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One thing to do about one loan. ``on``: the day that matters (since when it waits,
    when it fell due, when the lease or the link ends), in the fund's calendar."""

    loan_id: str
    beneficiary_id: str
    kind: WorkKind
    on: date | None
    name: str | None = None  # the person's name, for roles that see it (None once erased)


#: Items shown per kind on the home page, the oldest or soonest first (an admin sees every
#: loan's: on a large fund thousands may be late).
SHOWN = 20


@dataclass(frozen=True, slots=True)
class Worklist:
    """The items shown (at most ``shown`` of each kind) and how many there are of each kind."""

    items: list[WorkItem]
    totals: dict[WorkKind, int]
    more: frozenset[WorkKind]  # kinds with more items than shown

    def of(self, kind: WorkKind) -> list[WorkItem]:
        return [i for i in self.items if i.kind is kind]


def worklist(uow: UnitOfWork, actor: Actor, today: date | None = None) -> list[WorkItem]:
    """Every loan that needs something from ``actor``: ``work_page`` without a limit."""
    return work_page(uow, actor, today, shown=None).items


def work_page(
    uow: UnitOfWork, actor: Actor, today: date | None = None, *, shown: int | None = SHOWN
) -> Worklist:
    """The loans that need something from ``actor`` (a caseworker: the loans they opened; an
    admin: all), grouped by kind in ``WorkKind`` order, the oldest or soonest first in each:
    an active loan whose first installment is late, an approved loan whose contract is not
    signed, an application waiting for approval, a lease ending within 60 days, the last
    personal link of a loan ending within 14 days. At most ``shown`` of each kind are read
    (names, and their reads audited); ``None``: all."""
    actor.require(Permission.LOANS_APPLY)
    mine = None if actor.system or actor.role is Role.ADMIN else actor.name
    limit = shown if shown is not None else 10**9
    with uow:
        day = today or uow.today()
        zone = uow.zone
        found: dict[WorkKind, list[WorkItem]] = {kind: [] for kind in WorkKind}
        # From the arrears projection: the oldest unpaid installment is the first, as the
        # domain's allocation says (ledger.domain.arrears, checked by verify).
        found_late, late_total = uow.work.late_first_installments(day, created_by=mine, limit=limit)
        late = [
            WorkItem(x.loan_id, x.beneficiary_id, WorkKind.FIRST_INSTALLMENT_LATE, x.on)
            for x in found_late
        ]
        found[WorkKind.FIRST_INSTALLMENT_LATE] = late
        totals: dict[WorkKind, int] = {WorkKind.FIRST_INSTALLMENT_LATE: late_total}
        more = {WorkKind.FIRST_INSTALLMENT_LATE} if late_total > len(late) else set()
        for status, kind in (
            (LoanStatus.APPROVED, WorkKind.CONTRACT_NOT_SIGNED),
            (LoanStatus.SUBMITTED, WorkKind.APPROVAL_WAITING),
        ):
            for waiting in uow.work.in_status((status,), created_by=mine):
                since = waiting.since.astimezone(zone).date() if waiting.since else None
                found[kind].append(WorkItem(waiting.loan_id, waiting.beneficiary_id, kind, since))
        for lease in uow.work.leases_ending(
            day, day + timedelta(days=LEASE_ENDING_DAYS), sorted(OPEN_STATUSES), created_by=mine
        ):
            found[WorkKind.LEASE_ENDING].append(
                WorkItem(lease.loan_id, lease.beneficiary_id, WorkKind.LEASE_ENDING, lease.on)
            )
        now = uow.now()
        for link in uow.work.links_expiring(
            now, now + timedelta(days=LINK_EXPIRING_DAYS), LINKED_STATUSES, created_by=mine
        ):
            found[WorkKind.LINK_EXPIRING].append(
                WorkItem(
                    link.loan_id,
                    link.beneficiary_id,
                    WorkKind.LINK_EXPIRING,
                    link.at.astimezone(zone).date(),
                )
            )
        items: list[WorkItem] = []
        for kind in WorkKind:
            if kind is not WorkKind.FIRST_INSTALLMENT_LATE:
                totals[kind] = len(found[kind])
                if len(found[kind]) > limit:
                    more.add(kind)
            items.extend(found[kind][:limit])
        if items and actor.can(Permission.PERSONAL_READ):
            items = _named(uow, actor, items)
            uow.commit()
    return Worklist(items, totals, frozenset(more))


def _named(uow: UnitOfWork, actor: Actor, items: list[WorkItem]) -> list[WorkItem]:
    """The items with their people's names, each person's read audited once."""
    names: dict[str, str | None] = {}
    ids = list(dict.fromkeys(i.beneficiary_id for i in items))
    people = uow.beneficiaries.get_many(ids)
    for bid in ids:
        personal = people[bid].personal
        names[bid] = personal.full_name if personal is not None else None
        uow.audit_event(
            actor, action="read_personal_data", target=f"person:{bid}", details={"via": "worklist"}
        )
    return [replace(i, name=names[i.beneficiary_id]) for i in items]


@dataclass(frozen=True, slots=True)
class Summary:
    """The fund at a glance: loans in each state, write-offs waiting for a treasurer."""

    by_status: dict[LoanStatus, int]
    write_offs_waiting: int


def summary(uow: UnitOfWork, actor: Actor) -> Summary:
    actor.require(Permission.LOANS_READ)
    with uow:
        return Summary(uow.work.status_counts(), len(uow.work.pending_write_offs()))
