"""Month close and reopen, and the month's reconciliation (which a close needs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from ledger.api.deps import CurrentActor, ReadUoW, State, WriteUoW
from ledger.api.schemas import CloseIn, PeriodEventOut, PeriodsOut, ReopenIn
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


@router.post(
    "/{month}/close",
    summary="Close a month that has ended and reconciles: no posting may be dated in it "
    "afterwards (roles: admin, treasurer; a month that does not reconcile: admin, with a reason)",
    description="Refused with 409 `not-reconciled`, naming each difference and what to do, "
    "unless every currency's reconciliation (`GET /api/months/{month}/reconciliation`) holds. "
    "An admin may close such a month anyway with a written `reason`, kept with the close.",
)
def close_month(
    month: Month,
    actor: CurrentActor,
    uow: WriteUoW,
    state: State,
    body: Annotated[CloseIn | None, Body()] = None,
) -> PeriodEventOut:
    reason = body.reason if body is not None else None
    rules = state.policy.rules
    return PeriodEventOut.of(periods.close_month(uow, actor, month, reason, rules=rules))


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
