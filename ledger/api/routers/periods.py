"""Month close and reopen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ledger.api.deps import CurrentActor, ReadUoW, WriteUoW
from ledger.api.schemas import PeriodEventOut, PeriodsOut, ReopenIn
from ledger.services import periods

router = APIRouter(prefix="/periods", tags=["periods"])

Month = Annotated[str, Path(min_length=7, max_length=7, examples=["2026-01"])]


@router.get(
    "", summary="Closed months and every close and reopen (roles: admin, treasurer, auditor)"
)
def list_periods(actor: CurrentActor, uow: ReadUoW) -> PeriodsOut:
    closed, events = periods.list_periods(uow, actor)
    return PeriodsOut(closed=sorted(closed), events=[PeriodEventOut.of(e) for e in events])


@router.post(
    "/{month}/close",
    summary="Close a month that has ended: no posting may be dated in it afterwards "
    "(roles: admin, treasurer)",
)
def close_month(month: Month, actor: CurrentActor, uow: WriteUoW) -> PeriodEventOut:
    return PeriodEventOut.of(periods.close_month(uow, actor, month))


@router.post("/{month}/reopen", summary="Reopen a closed month, saying why (role: admin)")
def reopen_month(
    month: Month, body: ReopenIn, actor: CurrentActor, uow: WriteUoW
) -> PeriodEventOut:
    return PeriodEventOut.of(periods.reopen_month(uow, actor, month, body.reason))
