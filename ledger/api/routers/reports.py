"""The monthly fund report (PDF) and the accountant's CSV exports (roles: admin, treasurer,
auditor)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from typing import IO, Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from ledger.api.deps import CurrentActor, ReadUoW, api_state
from ledger.api.schemas import CurrencyCode, IsoDate
from ledger.documents.model import FundInfo
from ledger.services import loans, reports
from ledger.services.reports import ReportSettings

router = APIRouter(tags=["reports"])

PDF = "application/pdf"
CSV = "text/csv; charset=utf-8"
SPOOL_IN_MEMORY = 8 * 1024 * 1024
BLOCK = 256 * 1024
Month = Annotated[str, Path(min_length=7, max_length=7, examples=["2026-01"])]
Language = Annotated[
    str, Query(min_length=2, max_length=12, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
]


def _fund(request: Request) -> FundInfo:
    """Built from the app's settings on first use and kept with the app."""
    fund: FundInfo | None = getattr(request.app.state, "report_fund", None)
    if fund is None:
        fund = FundInfo.from_settings(api_state(request).settings)
        request.app.state.report_fund = fund
    return fund


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


@router.get(
    "/reports/monthly/{month}",
    summary="The monthly fund report as a PDF: reconciliation, fund position, aging and PAR30, "
    "the month's movements, the last 12 months (roles: admin, treasurer, auditor)",
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "the report (PDF/A)"}},
)
def monthly_report(
    month: Month,
    actor: CurrentActor,
    uow: ReadUoW,
    request: Request,
    language: Annotated[Language | None, Query(description="default: the fund's setting")] = None,
) -> Response:
    language = language or api_state(request).settings.report_language
    state = api_state(request)
    report = ReportSettings(_fund(request), language, state.policy.rules, state.settings.zone)
    pdf = reports.monthly_report(uow, actor, month, report)
    return Response(pdf, media_type=PDF, headers=_attachment(f"fund-report-{month}.pdf"))


@router.get(
    "/exports/journal.csv",
    summary="Every leg of the entries booked from `from` to `to` (inclusive), one CSV row each "
    "(roles: admin, treasurer, auditor)",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV: {}}, "description": "the journal as CSV"}},
)
def journal_csv(
    actor: CurrentActor,
    uow: ReadUoW,
    date_from: Annotated[IsoDate, Query(alias="from", description="YYYY-MM-DD")],
    date_to: Annotated[IsoDate, Query(alias="to", description="YYYY-MM-DD")],
) -> StreamingResponse:
    spool = spooled(reports.journal_csv(uow, actor, date_from, date_to))
    headers = _attachment(f"journal-{date_from}-{date_to}.csv")
    headers["Content-Length"] = str(spool.seek(0, io.SEEK_END))
    spool.seek(0)
    return StreamingResponse(blocks(spool), media_type=CSV, headers=headers)


@router.get(
    "/exports/arrears.csv",
    summary="The loans in arrears as of a day, one CSV row each, the longest late first "
    "(roles: admin, treasurer, auditor)",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV: {}}, "description": "the arrears list as CSV"}},
)
def arrears_csv(
    actor: CurrentActor,
    uow: ReadUoW,
    request: Request,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD; default: today")] = None,
    currency: Annotated[
        CurrencyCode | None, Query(description="default: the fund's currency")
    ] = None,
    bucket: Annotated[str | None, Query(max_length=8)] = None,
    caseworker: Annotated[str | None, Query(max_length=64)] = None,
) -> StreamingResponse:
    day = as_of or uow.today()
    cur = currency or api_state(request).settings.currency
    spool = spooled(loans.arrears_csv(uow, actor, day, cur, bucket=bucket, caseworker=caseworker))
    headers = _attachment(f"arrears-{cur}-{day}.csv")
    headers["Content-Length"] = str(spool.seek(0, io.SEEK_END))
    spool.seek(0)
    return StreamingResponse(blocks(spool), media_type=CSV, headers=headers)


def spooled(chunks: Iterator[str]) -> IO[bytes]:
    """The whole file, made before the answer starts: in memory up to SPOOL_IN_MEMORY, then in
    a temporary file. A database failure half-way through is then an error answer
    (problem+json), never a 200 whose file silently ends early."""
    # Not a `with` block: the file outlives this function and blocks() closes it when sent.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        for chunk in chunks:
            spool.write(chunk.encode("utf-8"))
    except BaseException:
        spool.close()
        raise
    return spool


def blocks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while block := spool.read(BLOCK):
            yield block
    finally:
        spool.close()


@router.get(
    "/exports/trial-balance.csv",
    summary="Every account's balance at the end of `as_of` on its debit or credit side, with "
    "totals per currency (roles: admin, treasurer, auditor)",
    response_class=Response,
    responses={200: {"content": {CSV: {}}, "description": "the trial balance as CSV"}},
)
def trial_balance_csv(
    actor: CurrentActor,
    uow: ReadUoW,
    as_of: Annotated[IsoDate, Query(description="YYYY-MM-DD")],
) -> Response:
    text = reports.trial_balance_csv(uow, actor, as_of)
    return Response(text, media_type=CSV, headers=_attachment(f"trial-balance-{as_of}.csv"))
