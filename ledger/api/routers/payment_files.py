"""Payment files (SEPA pain.001): the payouts and refunds the bank should make, as one file
the treasurer uploads; and where each loan's deposit is paid (the landlord's account)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from ledger.api.deps import (
    MAX_ID,
    CurrentActor,
    IdempotencyKey,
    Limit,
    Offset,
    ReadUoW,
    State,
    WriteUoW,
)
from ledger.api.loan_schemas import MAX_ID_LENGTH
from ledger.api.payment_file_schemas import (
    CancelIn,
    LandlordAccountIn,
    PaymentFileDetailOut,
    PaymentFileIn,
    PaymentFileOut,
    PendingOut,
)
from ledger.api.schemas import CurrencyCode, Page
from ledger.services import payment_files
from ledger.services.payment_files import STATUSES, fund_debtor

router = APIRouter(tags=["payment files"])

FileId = Annotated[int, Path(ge=1, le=MAX_ID)]
LoanId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH, examples=["L000001"])]
XML = "application/xml"


@router.get(
    "/payment-files/pending",
    summary="Payouts and refunds waiting for a payment file, each with what it still lacks "
    "(roles: admin, treasurer)",
)
def pending(
    state: State, actor: CurrentActor, uow: ReadUoW, currency: CurrencyCode | None = None
) -> list[PendingOut]:
    cur = currency or state.settings.currency
    return [PendingOut.of(p) for p in payment_files.pending_payouts(uow, actor, cur)]


@router.post(
    "/payment-files",
    status_code=201,
    responses={200: {"description": "A retry with the same Idempotency-Key: the first file"}},
    summary="Make a SEPA credit transfer file (pain.001) of pending payouts (roles: admin, "
    "treasurer); download it from /payment-files/{id}/xml",
)
def create(
    body: PaymentFileIn,
    key: IdempotencyKey,
    state: State,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
) -> PaymentFileOut:
    made = payment_files.create_payment_file(
        uow,
        actor,
        currency=body.currency or state.settings.currency,
        execution_date=body.execution_date,
        debtor=fund_debtor(state.settings),
        idempotency_key=key,
        entry_ids=body.entry_ids,
    )
    if made.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = str(
        request.url_for("get_payment_file_xml", file_id=made.file.id)
    )
    return PaymentFileOut.of(made.file)


@router.get(
    "/payment-files",
    summary="Payment files, newest first, with how many transfers the bank executed (roles: "
    "admin, treasurer, auditor)",
)
def list_files(
    actor: CurrentActor,
    uow: ReadUoW,
    status: Annotated[str | None, Query(description=" | ".join(STATUSES))] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PaymentFileOut]:
    found, total = payment_files.list_payment_files(
        uow, actor, status=status, limit=limit, offset=offset
    )
    return Page[PaymentFileOut](
        items=[PaymentFileOut.of(f) for f in found], total=total, limit=limit, offset=offset
    )


@router.get(
    "/payment-files/{file_id}",
    summary="A payment file and its transfers (entry, end-to-end id, loan, amount, the bank's "
    "debit): no names, no IBANs (roles: admin, treasurer, auditor)",
)
def get_file(file_id: FileId, actor: CurrentActor, uow: ReadUoW) -> PaymentFileDetailOut:
    return PaymentFileDetailOut.of_view(payment_files.get_payment_file(uow, actor, file_id))


@router.get(
    "/payment-files/{file_id}/xml",
    response_class=Response,
    responses={200: {"content": {XML: {}}, "description": "the pain.001 file"}},
    summary="Download the file for the bank, made again from its transfers; refused if a "
    "creditor's account changed since (roles: admin, treasurer)",
)
def get_payment_file_xml(
    file_id: FileId, state: State, actor: CurrentActor, uow: WriteUoW
) -> Response:
    xml = payment_files.payment_file_xml(uow, actor, file_id, fund_debtor(state.settings))
    return Response(
        xml,
        media_type=XML,
        headers={"Content-Disposition": f'attachment; filename="payment-file-{file_id}.xml"'},
    )


@router.post(
    "/payment-files/{file_id}/sent",
    summary="Mark a file as uploaded to the bank (roles: admin, treasurer)",
)
def mark_sent(file_id: FileId, actor: CurrentActor, uow: WriteUoW) -> PaymentFileOut:
    return PaymentFileOut.of(payment_files.mark_sent(uow, actor, file_id))


@router.post(
    "/payment-files/{file_id}/cancel",
    summary="Cancel a file not sent: its payouts can go into another file (roles: admin, "
    "treasurer)",
)
def cancel(file_id: FileId, body: CancelIn, actor: CurrentActor, uow: WriteUoW) -> PaymentFileOut:
    return PaymentFileOut.of(payment_files.cancel(uow, actor, file_id, body.reason))


@router.put(
    "/loans/{loan_id}/landlord-account",
    status_code=204,
    summary="Where the loan's deposit is paid: the landlord's IBAN and name (roles: admin, "
    "caseworker)",
)
def set_landlord_account(
    loan_id: LoanId, body: LandlordAccountIn, actor: CurrentActor, uow: WriteUoW
) -> Response:
    payment_files.set_landlord_account(uow, actor, loan_id, iban=body.iban, name=body.name)
    return Response(status_code=204)
