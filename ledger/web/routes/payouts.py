"""Payouts by payment file: the treasurer chooses loans approved and signed (and payouts booked
before), makes the pain.001 file that pays them, downloads it, marks it sent; each transfer is
then seen matched when the bank's statement brings it back (``services.payment_files``).

The file's form carries an idempotency key made when the page is shown: sent twice, it makes
one file and books each payout once. Auditors read the files and their transfers (no names, no
IBANs), not the XML.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from ledger.domain.errors import LedgerError
from ledger.domain.money import from_minor
from ledger.domain.roles import Permission
from ledger.domain.statuses import PaymentFileStatus
from ledger.services import payment_files
from ledger.web.render import form_key, form_page, redirect
from ledger.web.session import Checked, WebUser, needs, runtime_of, today_of

router = APIRouter()

FileId = Annotated[int, Path(ge=1, le=2**62)]
XML = "application/xml"
#: What the file's form needs besides its CSRF token (the services check again).
MAKES_FILES = [needs(Permission.PAYMENT_FILES)]
#: The service's field -> the form's.
FIELDS = {"execution_date": "execution_date", "entry_ids": "chosen", "on": "chosen"}


def _payouts_page(
    request: Request,
    user: WebUser,
    *,
    key: str | None = None,
    typed: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    runtime = runtime_of(request)
    currency = runtime.settings.currency
    choice = None
    if user.can(Permission.PAYMENT_FILES):
        choice = payment_files.payout_choice(
            runtime.unit_of_work(readonly=True), user.actor, currency
        )
    files, total = payment_files.list_payment_files(
        runtime.unit_of_work(readonly=True), user.actor, limit=20
    )
    today = today_of(request)
    typed = typed or {
        "execution_date": (today + timedelta(days=1)).isoformat(),
        "loans": [],
        "entries": [],
    }
    return form_page(
        request,
        "payouts/index.html",
        user,
        errors or {},
        choice=choice,
        files=files,
        total=total,
        currency=currency,
        money=from_minor,
        key=key or form_key(),
        typed=typed,
        today=today,
    )


@router.get("/payouts")
def payouts(request: Request, user: WebUser = needs(Permission.LEDGER_READ)) -> Response:
    return _payouts_page(request, user)


@router.post("/payouts", dependencies=MAKES_FILES)
async def make_file(request: Request, user: Checked) -> Response:
    """Pay the chosen loans out and make their file (one transaction), then show the file."""
    form = await request.form()
    loan_ids = [str(v)[:16] for v in form.getlist("loan")][:500]
    raw_entries = [str(v) for v in form.getlist("entry")][:500]
    execution = str(form.get("execution_date") or "").strip()[:20]
    key = str(form.get("idempotency_key") or "").strip()[:100] or form_key()
    typed: dict[str, object] = {
        "execution_date": execution,
        "loans": loan_ids,
        "entries": raw_entries,
    }
    text = user.text
    errors: dict[str, str] = {}
    try:
        on = date.fromisoformat(execution)
    except ValueError:
        errors["execution_date"] = text.text("form.date_bad")
    entry_ids = [int(v) for v in raw_entries if v.isdigit() and len(v) < 19]
    if not loan_ids and not entry_ids:
        errors["chosen"] = text.text("payouts.choose_one")
    if errors:
        return _payouts_page(request, user, key=key, typed=typed, errors=errors)
    runtime = runtime_of(request)
    try:
        made = payment_files.pay_out_in_file(
            runtime.unit_of_work(),
            user.actor,
            currency=runtime.settings.currency,
            execution_date=on,
            debtor=payment_files.fund_debtor(runtime.settings),
            idempotency_key=key,
            loan_ids=loan_ids,
            entry_ids=entry_ids,
        )
    except LedgerError as exc:
        if exc.status in (401, 403):
            raise
        field = FIELDS.get(exc.field or "", "chosen")
        return _payouts_page(request, user, key=key, typed=typed, errors={field: text.refusal(exc)})
    f = made.file
    values = {
        "id": str(f.id),
        "count": text.number(f.transfers),
        "amount": text.amount(from_minor(f.total_minor, f.currency)),
    }
    said = "flash.payment_file_replayed" if made.replayed else "flash.payment_file_made"
    return redirect(f"/payment-files/{f.id}", flash=(said, values))


def _file_page(
    request: Request, user: WebUser, file_id: int, *, errors: dict[str, str] | None = None
) -> Response:
    view = payment_files.get_payment_file(
        runtime_of(request).unit_of_work(readonly=True), user.actor, file_id
    )
    return form_page(
        request,
        "payouts/file.html",
        user,
        errors or {},
        view=view,
        f=view.file,
        money=from_minor,
        created=PaymentFileStatus.CREATED,
        sent=PaymentFileStatus.SENT,
        may_act=user.can(Permission.PAYMENT_FILES),
    )


def _refused(
    request: Request, user: WebUser, file_id: int, field: str, exc: LedgerError
) -> Response:
    """The file's page again with a service's refusal beside ``field``; a role's refusal or a
    file that does not exist is the error page."""
    if exc.status in (401, 403, 404):
        raise exc
    return _file_page(request, user, file_id, errors={field: user.text.refusal(exc)})


@router.get("/payment-files/{file_id}")
def file_page(
    request: Request, file_id: FileId, user: WebUser = needs(Permission.LEDGER_READ)
) -> Response:
    return _file_page(request, user, file_id)


@router.get("/payment-files/{file_id}/pain001.xml")
def download(
    request: Request, file_id: FileId, user: WebUser = needs(Permission.PAYMENT_FILES)
) -> Response:
    """The file for the bank, made again from its transfers (refused if a creditor's account
    changed since: the page says so)."""
    runtime = runtime_of(request)
    try:
        xml = payment_files.payment_file_xml(
            runtime.unit_of_work(),
            user.actor,
            file_id,
            payment_files.fund_debtor(runtime.settings),
        )
    except LedgerError as exc:
        return _refused(request, user, file_id, "download", exc)
    return Response(
        xml,
        media_type=XML,
        headers={
            "Content-Disposition": f'attachment; filename="payment-file-{file_id}.xml"',
        },
    )


@router.post("/payment-files/{file_id}/sent", dependencies=MAKES_FILES)
def mark_sent(request: Request, file_id: FileId, user: Checked) -> Response:
    try:
        payment_files.mark_sent(runtime_of(request).unit_of_work(), user.actor, file_id)
    except LedgerError as exc:
        return _refused(request, user, file_id, "sent", exc)
    return redirect(
        f"/payment-files/{file_id}", flash=("flash.payment_file_sent", {"id": str(file_id)})
    )


@router.post("/payment-files/{file_id}/cancel", dependencies=MAKES_FILES)
def cancel(
    request: Request,
    file_id: FileId,
    user: Checked,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not reason.strip():
        return _file_page(
            request, user, file_id, errors={"reason": user.text.text("payouts.cancel_reason")}
        )
    try:
        payment_files.cancel(runtime_of(request).unit_of_work(), user.actor, file_id, reason)
    except LedgerError as exc:
        return _refused(request, user, file_id, "reason", exc)
    return redirect(
        f"/payment-files/{file_id}",
        flash=("flash.payment_file_cancelled", {"id": str(file_id)}),
    )
