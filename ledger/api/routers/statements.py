"""Bank statements: upload (camt.053, CODA, CSV), read, and match lines by hand."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile

from ledger.api.deps import MAX_ID, CurrentActor, Limit, Offset, ReadUoW, State, WriteUoW
from ledger.api.schemas import Page
from ledger.api.statement_schemas import (
    BookIn,
    ImportOut,
    LineDetailOut,
    LineOut,
    LinkIn,
    MappingIn,
    MatchLoanIn,
    StatementDetailOut,
    StatementOut,
    UnmatchIn,
)
from ledger.bank.csv_statement import CsvMapping
from ledger.bank.files import StatementFormat
from ledger.domain.errors import ValidationError
from ledger.domain.statuses import LineState
from ledger.fund.hash_key import load_hash_key
from ledger.services import statements
from ledger.services.statements import ImportOptions, fund_ibans

router = APIRouter(prefix="/statements", tags=["bank statements"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
UPLOAD_PATH = "/api/statements"


def _decimal(text: str | None, name: str) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValidationError(f"{name} {text!r} is not a decimal amount", name) from None
    if not value.is_finite():
        raise ValidationError(f"{name} must be a finite amount", name)
    return value


@router.post(
    "",
    status_code=201,
    summary="Import a statement file (camt.053, CODA or CSV): every statement in it, checked, "
    "booked and matched in one transaction (role: treasurer)",
)
def import_statement(
    state: State,
    actor: CurrentActor,
    uow: WriteUoW,
    file: Annotated[UploadFile, File(description="the bank's file")],
    format: Annotated[StatementFormat | None, Form(description="default: recognised")] = None,
    mapping: Annotated[str | None, Form(max_length=40, description="CSV: column mapping")] = None,
    account: Annotated[
        str | None, Form(max_length=40, description="ledger account of a new IBAN, e.g. 1000")
    ] = None,
    iban: Annotated[str | None, Form(max_length=40, description="CSV: the account's IBAN")] = None,
    opening: Annotated[str | None, Form(max_length=32, description="CSV: opening balance")] = None,
    closing: Annotated[str | None, Form(max_length=32, description="CSV: closing balance")] = None,
) -> ImportOut:
    settings = state.settings
    options = ImportOptions(
        hash_key=load_hash_key(settings),
        format=format,
        mapping=mapping,
        account_code=account,
        iban=iban,
        opening=_decimal(opening, "opening"),
        closing=_decimal(closing, "closing"),
        fund_ibans=fund_ibans(settings),
        max_bytes=settings.max_statement_bytes,
    )
    result = statements.import_statements(uow, actor, file.file, options)
    return ImportOut.of(result)


@router.get("", summary="Imported statements, latest first (roles: admin, treasurer, auditor)")
def list_statements(
    actor: CurrentActor,
    uow: ReadUoW,
    iban: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[StatementOut]:
    found, total = statements.list_statements(uow, actor, iban=iban, limit=limit, offset=offset)
    currencies = {b.id: b.currency for b in statements.bank_accounts(uow, actor)}
    return Page[StatementOut](
        items=[StatementOut.of(s, currencies[s.bank_account_id]) for s in found],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/lines",
    summary="Statement lines by state, oldest first, e.g. ?state=unidentified&state=unmatched "
    "(roles: admin, treasurer, auditor)",
)
def list_lines(
    actor: CurrentActor,
    uow: ReadUoW,
    state: Annotated[list[LineState] | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[LineOut]:
    found, total = statements.list_lines(uow, actor, states=state or (), limit=limit, offset=offset)
    return Page[LineOut](
        items=[LineOut.of(line) for line in found], total=total, limit=limit, offset=offset
    )


@router.get(
    "/lines/{line_id}", summary="A line and its match history (roles: admin, treasurer, auditor)"
)
def get_line(line_id: Id, actor: CurrentActor, uow: ReadUoW) -> LineDetailOut:
    return LineDetailOut.of_view(statements.get_line(uow, actor, line_id))


@router.post(
    "/lines/{line_id}/match",
    summary="Book a credit line as a loan's repayment; what booked it before is reversed "
    "(role: treasurer)",
)
def match_line(line_id: Id, body: MatchLoanIn, actor: CurrentActor, uow: WriteUoW) -> LineDetailOut:
    view = statements.match_line_to_loan(uow, actor, line_id, body.loan_id, reason=body.reason)
    return LineDetailOut.of_view(view)


@router.post(
    "/lines/{line_id}/book",
    summary="Book a line to an account (donation, capital, charge, transfer...) (role: treasurer)",
)
def book_line(line_id: Id, body: BookIn, actor: CurrentActor, uow: WriteUoW) -> LineDetailOut:
    view = statements.book_line(uow, actor, line_id, body.account, body.kind, reason=body.reason)
    return LineDetailOut.of_view(view)


@router.post(
    "/lines/{line_id}/link",
    summary="Explain a line by an entry booked before (a payout, a refund) (role: treasurer)",
)
def link_line(line_id: Id, body: LinkIn, actor: CurrentActor, uow: WriteUoW) -> LineDetailOut:
    view = statements.link_line(uow, actor, line_id, body.entry_id, reason=body.reason)
    return LineDetailOut.of_view(view)


@router.post(
    "/lines/{line_id}/unmatch",
    summary="Undo a line's match: money in back to unidentified receipts (role: treasurer)",
)
def unmatch_line(
    line_id: Id, actor: CurrentActor, uow: WriteUoW, body: UnmatchIn | None = None
) -> LineDetailOut:
    view = statements.unmatch_line(uow, actor, line_id, reason=body.reason if body else None)
    return LineDetailOut.of_view(view)


@router.get("/mappings", summary="Saved CSV column mappings (roles: admin, treasurer, auditor)")
def list_mappings(actor: CurrentActor, uow: ReadUoW) -> list[dict[str, object]]:
    return [m.to_dict() for m in statements.list_mappings(uow, actor)]


@router.put(
    "/mappings/{name}",
    summary="Save a bank's CSV column mapping (role: treasurer)",
)
def save_mapping(
    name: Annotated[str, Path(min_length=1, max_length=40)],
    body: MappingIn,
    actor: CurrentActor,
    uow: WriteUoW,
) -> dict[str, object]:
    mapping = CsvMapping.from_dict({**body.mapping, "name": name})
    return statements.save_mapping(uow, actor, mapping).to_dict()


@router.get(
    "/{statement_id}", summary="A statement and its lines (roles: admin, treasurer, auditor)"
)
def get_statement(statement_id: Id, actor: CurrentActor, uow: ReadUoW) -> StatementDetailOut:
    stored, lines = statements.get_statement(uow, actor, statement_id)
    currency = (
        lines[0].currency
        if lines
        else next(
            b.currency
            for b in statements.bank_accounts(uow, actor)
            if b.id == stored.bank_account_id
        )
    )
    return StatementDetailOut(
        **StatementOut.of(stored, currency).model_dump(),
        lines=[LineOut.of(line) for line in lines],
    )
