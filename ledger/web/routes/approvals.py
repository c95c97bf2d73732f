"""The approvers' queue: applications to approve or refuse, eligibility decisions to override,
write-offs to approve or refuse, payouts waiting for the treasurer (docs/web.md).

The queue service says who may act on what (four eyes: never on one's own request); the page
offers only that, and a refusal of the service (someone else was quicker, a race) comes back
on the same page, said plainly."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from ledger.domain.errors import LedgerError
from ledger.domain.money import from_minor
from ledger.services import loans
from ledger.services.loans import MAX_REASON
from ledger.web.render import form_key, page, redirect
from ledger.web.session import Checked, SignedIn, WebUser, runtime_of

router = APIRouter()

LoanId = Annotated[str, Path(min_length=1, max_length=16)]
WriteOffId = Annotated[int, Path(ge=1, le=2**62)]
Reason = Annotated[str, Form(max_length=MAX_REASON + 100)]
Decision = Annotated[Literal["approve", "reject"], Form()]


def _today(request: Request) -> date:
    runtime = runtime_of(request)
    return runtime.clock().astimezone(runtime.settings.zone).date()


def _queue_page(
    request: Request,
    user: WebUser,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    refused: tuple[str, str] | None = None,
) -> Response:
    """The queue as ``user`` sees it now; ``errors`` beside their fields (by field id),
    ``refused``: (what, the service's reason) of a decision the services refused."""
    queue = loans.approval_queue(runtime_of(request).unit_of_work(), user.actor)
    keys = {w.id: form_key() for w in queue.write_offs or ()}
    return page(
        request,
        "approvals/queue.html",
        user=user,
        text=user.text,
        status_code=status,
        queue=queue,
        errors=errors or {},
        typed=typed or {},
        refused=refused,
        today=_today(request).isoformat(),
        keys=keys,
    )


@router.get("/approvals")
def queue(request: Request, user: SignedIn) -> Response:
    return _queue_page(request, user)


def _refusal(
    request: Request,
    user: WebUser,
    exc: LedgerError,
    *,
    field: str,
    what: str,
    typed: dict[str, str],
    reason: str = "",
) -> Response:
    """A refusal of the service, on the queue page: a reason left empty or too long beside
    its field (422); anything else (not allowed, already decided) said at the top."""
    text = user.text
    if exc.field == "reason":
        message = text.text("approve.reason_needed") if not reason.strip() else text.refusal(exc)
        return _queue_page(request, user, status=422, errors={field: message}, typed=typed)
    return _queue_page(
        request, user, status=exc.status, refused=(what, text.refusal(exc)), typed=typed
    )


@router.post("/approvals/applications/{loan_id}/decision")
def decide_application(
    request: Request,
    user: Checked,
    loan_id: LoanId,
    decision: Decision,
    reason: Reason = "",
) -> Response:
    runtime = runtime_of(request)
    uow = runtime.unit_of_work()
    field = f"reason-{loan_id}"
    try:
        if decision == "approve":
            loans.approve(uow, user.actor, loan_id, runtime.policy)
        else:
            loans.reject(uow, user.actor, loan_id, reason)
    except LedgerError as exc:
        what = user.text.text("approve.application_of", loan=loan_id)
        typed = {field: reason}
        return _refusal(request, user, exc, field=field, what=what, typed=typed, reason=reason)
    flash = "flash.approve_approved" if decision == "approve" else "flash.approve_rejected"
    return redirect("/approvals", flash=(flash, {"loan": loan_id}))


@router.post("/approvals/applications/{loan_id}/eligibility-override")
def override(request: Request, user: Checked, loan_id: LoanId, reason: Reason = "") -> Response:
    field = f"override-{loan_id}"
    try:
        loans.override_eligibility(runtime_of(request).unit_of_work(), user.actor, loan_id, reason)
    except LedgerError as exc:
        what = user.text.text("approve.application_of", loan=loan_id)
        typed = {field: reason}
        return _refusal(request, user, exc, field=field, what=what, typed=typed, reason=reason)
    return redirect("/approvals", flash=("flash.approve_overridden", {"loan": loan_id}))


@router.post("/approvals/write-offs/{write_off_id}/decision")
def decide_write_off(
    request: Request,
    user: Checked,
    write_off_id: WriteOffId,
    decision: Decision,
    loan_id: Annotated[str, Form(max_length=16)] = "",
    on: Annotated[str, Form(max_length=40)] = "",
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
    reason: Reason = "",
) -> Response:
    text = user.text
    uow = runtime_of(request).unit_of_work()
    what = text.text("approve.write_off_of", loan=loan_id)
    if decision == "reject":
        field = f"wo-reason-{write_off_id}"
        try:
            loans.reject_write_off(uow, user.actor, write_off_id, reason)
        except LedgerError as exc:
            typed = {field: reason}
            return _refusal(request, user, exc, field=field, what=what, typed=typed, reason=reason)
        return redirect("/approvals", flash=("flash.approve_write_off_rejected", {"loan": loan_id}))
    field = f"on-{write_off_id}"
    typed = {field: on}
    try:
        day = date.fromisoformat(on.strip())
    except ValueError:
        errors = {field: text.text("form.date_bad")}
        return _queue_page(request, user, status=422, errors=errors, typed=typed)
    try:
        result = loans.approve_write_off(
            uow, user.actor, write_off_id, on=day, idempotency_key=idempotency_key or form_key()
        )
    except LedgerError as exc:
        if exc.field in ("on", "booking_date"):
            return _queue_page(
                request, user, status=422, errors={field: user.text.refusal(exc)}, typed=typed
            )
        return _refusal(request, user, exc, field=field, what=what, typed=typed)
    written = sum(leg.minor for leg in result.entry.legs if leg.minor > 0)
    amount = text.amount(from_minor(written, result.loan.currency))
    return redirect(
        "/approvals",
        flash=("flash.approve_write_off_booked", {"loan": result.loan.id, "amount": amount}),
    )
