"""Loans: the list (by state, paged); each loan's page and its forms (see docs/web.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ledger.domain.roles import Permission
from ledger.domain.statuses import LoanStatus
from ledger.services import loans
from ledger.web.render import page
from ledger.web.session import WebUser, needs, runtime_of

router = APIRouter()
PAGE = 25


@router.get("/loans")
def loan_list(
    request: Request,
    user: WebUser = needs(Permission.LOANS_READ),
    status: Annotated[LoanStatus | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    found, total = loans.list_loans(
        runtime_of(request).unit_of_work(readonly=True),
        user.actor,
        status=status,
        limit=PAGE,
        offset=offset,
    )
    return page(
        request,
        "loans/list.html",
        user=user,
        text=user.text,
        loans=found,
        total=total,
        state=status,
        states=list(LoanStatus),
        offset=offset,
        page_size=PAGE,
    )
