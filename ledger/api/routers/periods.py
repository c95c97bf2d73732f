"""Month close and reopen, and the month's reconciliation (which a close needs).

A month closes in two steps, by two people (four eyes), as on the pages: one asks
(``POST /{month}/close-requests``), another signs the close off (``POST /{month}/close``). Who
asked may withdraw the request, anyone else who may close refuses it saying why
(``POST /{month}/close-requests/cancel``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, status

from ledger.api.deps import CurrentActor, ReadUoW, State, WriteUoW
from ledger.api.schemas import (
    CloseCancelIn,
    CloseIn,
    CloseRequestOut,
    MonthStateOut,
    PeriodEventOut,
    PeriodsOut,
    ReopenIn,
)
from ledger.domain.errors import ValidationError
from ledger.services import periods, reconciliation
from ledger.services.reconciliation_json import ReconciliationOut

router = APIRouter(prefix="/periods", tags=["periods"])
months = APIRouter(prefix="/months", tags=["periods"])

Month = Annotated[str, Path(min_length=7, max_length=7, examples=["2026-01"])]


@router.get(
    "", summary="Closed months and every close and reopen (roles: admin, treasurer, auditor)"
)
def list_periods(actor: CurrentActor, uow: ReadUoW) -> PeriodsOut:
    closed, events = periods.list_periods(uow, actor)
    return PeriodsOut(closed=sorted(closed), events=[PeriodEventOut.of(e) for e in events])


@router.get(
    "/{month}",
    summary="Where a month stands: closed or not, a close waiting for its sign-off, every "
    "close, reopening and request (roles: admin, treasurer, auditor)",
)
def month_state(month: Month, actor: CurrentActor, uow: ReadUoW) -> MonthStateOut:
    return MonthStateOut.of(periods.month_state(uow, actor, month))


@router.post(
    "/{month}/close-requests",
    status_code=status.HTTP_201_CREATED,
    summary="Ask to close a month that has ended and reconciles; another person then signs "
    "the close off (roles: admin, treasurer; a month that does not reconcile: admin, with a "
    "reason)",
    description="Refused with 409 `not-reconciled`, naming each difference and what to do, "
    "unless every currency's reconciliation (`GET /api/months/{month}/reconciliation`) holds. "
    "An admin may ask to close such a month anyway with a written `reason`, kept with the "
    "request and the close. One request waits per month.",
)
def request_close(
    month: Month,
    actor: CurrentActor,
    uow: WriteUoW,
    state: State,
    body: Annotated[CloseIn | None, Body()] = None,
) -> CloseRequestOut:
    reason = body.reason if body is not None else None
    rules = state.policy.rules
    return CloseRequestOut.of(periods.request_close(uow, actor, month, reason, rules=rules))


@router.post(
    "/{month}/close",
    summary="Sign off the close another person asked for: the month closes, and no posting "
    "may be dated in it afterwards (roles: admin, treasurer)",
    description="Refused with 409 when nobody asked, when you asked yourself, or when the "
    "month no longer reconciles (checked again: the books may have moved since the request).",
)
def sign_off_close(
    month: Month,
    actor: CurrentActor,
    uow: WriteUoW,
    state: State,
    body: Annotated[CloseIn | None, Body()] = None,
) -> PeriodEventOut:
    if body is not None and body.reason is not None:
        raise ValidationError(
            "a reason to close a month that does not reconcile goes with the request: "
            "POST /api/periods/{month}/close-requests with it, then another person signs off",
            field="reason",
        )
    rules = state.policy.rules
    return PeriodEventOut.of(periods.sign_off_close(uow, actor, month, rules=rules))


@router.post(
    "/{month}/close-requests/cancel",
    summary="Withdraw your own request to close a month, or refuse another's, saying why "
    "(roles: admin, treasurer)",
)
def cancel_close_request(
    month: Month,
    actor: CurrentActor,
    uow: WriteUoW,
    body: Annotated[CloseCancelIn | None, Body()] = None,
) -> CloseRequestOut:
    reason = body.reason if body is not None else None
    return CloseRequestOut.of(periods.cancel_close_request(uow, actor, month, reason))


@router.post("/{month}/reopen", summary="Reopen a closed month, saying why (role: admin)")
def reopen_month(
    month: Month, body: ReopenIn, actor: CurrentActor, uow: WriteUoW
) -> PeriodEventOut:
    return PeriodEventOut.of(periods.reopen_month(uow, actor, month, body.reason))


@months.get(
    "/{month}/reconciliation",
    summary="The month's reconciliation: bank beside ledger, items in transit, unmatched "
    "lines, sub-ledger, unidentified receipts, aging, fund position, movements "
    "(roles: admin, treasurer, auditor)",
)
def month_reconciliation(
    month: Month, actor: CurrentActor, uow: ReadUoW, state: State
) -> ReconciliationOut:
    recs = reconciliation.reconcile(uow, actor, month, rules=state.policy.rules)
    return ReconciliationOut.of(month, recs)
