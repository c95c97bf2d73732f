"""The home page: what needs the signed-in person's attention.

A caseworker (or an admin) sees their work list: their loans that need something, by kind. A
treasurer or an auditor sees the fund at a glance, with links to each list."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ledger.domain.roles import Permission, Role
from ledger.domain.statuses import LoanStatus
from ledger.services import loans
from ledger.services.loans import WorkKind
from ledger.web.render import page
from ledger.web.session import WebUser, needs, runtime_of

router = APIRouter()

#: The states a summary shows, in the order of a loan's life.
SUMMARY_STATES = (
    LoanStatus.SUBMITTED,
    LoanStatus.APPROVED,
    LoanStatus.CONTRACT_SIGNED,
    LoanStatus.ACTIVE,
    LoanStatus.OVERPAID,
    LoanStatus.WRITTEN_OFF,
    LoanStatus.CLOSED,
)


@router.get("/")
def home(request: Request, user: WebUser = needs(Permission.LOANS_READ)) -> Response:
    runtime = runtime_of(request)
    if user.can(Permission.LOANS_APPLY):
        work = loans.work_page(runtime.unit_of_work(), user.actor)
        groups = [(kind, work.of(kind)) for kind in WorkKind]
        return page(
            request,
            "home.html",
            user=user,
            text=user.text,
            groups=[(kind, found) for kind, found in groups if found],
            totals=work.totals,
            more=work.more,
            everyone=user.actor.role is Role.ADMIN,
            total=len(work.items),
        )
    summary = loans.summary(runtime.unit_of_work(readonly=True), user.actor)
    return page(
        request,
        "home_summary.html",
        user=user,
        text=user.text,
        summary=summary,
        states=SUMMARY_STATES,
        payouts_waiting=summary.by_status[LoanStatus.CONTRACT_SIGNED],
    )
