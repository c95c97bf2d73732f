"""The journal: read entries, post manual entries, reverse entries; the trial balance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from ledger.api.deps import MAX_ID, CurrentActor, IdempotencyKey, Limit, Offset, ReadUoW, WriteUoW
from ledger.api.schemas import (
    EntryIn,
    EntryOut,
    IsoDate,
    Page,
    ReversalIn,
    TrialBalanceLineOut,
    TrialBalanceOut,
)
from ledger.domain.journal import EntryDraft, JournalFilter
from ledger.domain.statuses import EntryKind
from ledger.services import journal
from ledger.services.journal import Posted
from ledger.services.money_json import MoneyOut

router = APIRouter(tags=["journal"])

EntryId = Annotated[int, Path(ge=1, le=MAX_ID)]
IDEMPOTENCY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": EntryOut,
        "description": "A retry with the same Idempotency-Key and body: the original entry, "
        "with the header `Idempotent-Replayed: true`; nothing is posted again",
    },
    201: {"description": "Posted"},
}


def _answer(posted: Posted, request: Request, response: Response) -> EntryOut:
    if posted.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = str(request.url_for("get_entry", entry_id=posted.entry.id))
    return EntryOut.of(posted.entry)


@router.get("/journal", summary="Entries, filtered and paged (roles: admin, treasurer, auditor)")
def list_entries(
    actor: CurrentActor,
    uow: ReadUoW,
    date_from: Annotated[IsoDate | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description="YYYY-MM-DD")] = None,
    kind: EntryKind | None = None,
    account: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    loan_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[EntryOut]:
    flt = JournalFilter(
        date_from=date_from, date_to=date_to, kind=kind, account_code=account, loan_id=loan_id
    )
    entries, total = journal.list_entries(uow, actor, flt, limit=limit, offset=offset)
    return Page[EntryOut](
        items=[EntryOut.of(e) for e in entries], total=total, limit=limit, offset=offset
    )


@router.post(
    "/journal",
    status_code=201,
    responses=IDEMPOTENCY_RESPONSES,
    summary="Post a manual entry: capital, donation, bank charge, transfer or adjustment "
    "(role: treasurer)",
)
def post_entry(
    body: EntryIn,
    key: IdempotencyKey,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
) -> EntryOut:
    draft = EntryDraft(
        booking_date=body.booking_date,
        description=body.description,
        kind=EntryKind(body.kind),
        legs=tuple(leg.to_leg() for leg in body.legs),
        idempotency_key=key,
    )
    return _answer(journal.post_manual_entry(uow, actor, draft), request, response)


@router.get("/journal/{entry_id}", summary="One entry (roles: admin, treasurer, auditor)")
def get_entry(entry_id: EntryId, actor: CurrentActor, uow: ReadUoW) -> EntryOut:
    return EntryOut.of(journal.get_entry(uow, actor, entry_id))


@router.post(
    "/journal/{entry_id}/reversal",
    status_code=201,
    responses=IDEMPOTENCY_RESPONSES,
    summary="Reverse an entry with its mirror image; an entry is reversed once (role: treasurer)",
)
def reverse_entry(
    entry_id: EntryId,
    key: IdempotencyKey,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
    body: ReversalIn | None = None,
) -> EntryOut:
    body = body or ReversalIn()
    posted = journal.reverse_entry(
        uow,
        actor,
        entry_id,
        booking_date=body.booking_date,
        description=body.description,
        idempotency_key=key,
    )
    return _answer(posted, request, response)


@router.get(
    "/trial-balance",
    tags=["reports"],
    summary="Every account's balance at the end of a day; totals are zero per currency "
    "(roles: admin, treasurer, auditor)",
)
def get_trial_balance(
    actor: CurrentActor,
    uow: ReadUoW,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD; default: now")] = None,
) -> TrialBalanceOut:
    tb = journal.trial_balance(uow, actor, as_of)
    return TrialBalanceOut(
        as_of=tb.as_of,
        lines=[TrialBalanceLineOut.of(line) for line in tb.lines],
        totals=[MoneyOut.of(total, cur) for cur, total in sorted(tb.totals.items())],
        balanced=tb.balanced,
    )
