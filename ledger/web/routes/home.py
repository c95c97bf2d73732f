"""The home page: what needs the signed-in person's attention."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ledger.domain.roles import Permission
from ledger.services import loans
from ledger.web.render import page
from ledger.web.session import WebUser, needs, runtime_of

router = APIRouter()


@router.get("/")
def home(request: Request, user: WebUser = needs(Permission.LOANS_READ)) -> Response:
    runtime = runtime_of(request)
    recent, total = loans.list_loans(
        runtime.unit_of_work(readonly=True), user.actor, limit=20, offset=0
    )
    return page(request, "home.html", user=user, text=user.text, loans=recent, total=total)
