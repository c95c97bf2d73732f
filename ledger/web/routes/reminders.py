"""Payment reminders on the staff pages (docs/reminders.md): a loan's reminders and its letter,
and a person's e-mail reminders switched off or on again.

``/loans/{id}/reminders`` lists the loan's reminders (what the fund's rules send and when, each
reminder with what became of it) for every role that reads loans: they hold no personal data.
Caseworkers and admins also see whether the person gets e-mails, and the form that makes the
printable letter: its POST answers with the PDF (recorded on the loan), or comes back with
status 422 and the refusal beside the form. ``POST /beneficiaries/{id}/reminders`` records the
person's wish for no e-mails (or for them again) and returns to their page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from ledger.domain.errors import LedgerError
from ledger.domain.roles import Permission
from ledger.domain.statuses import LoanStatus, ReminderKind
from ledger.services import loans
from ledger.services.reminders import (
    ReminderSettings,
    reminder_letter,
    reminders_of,
    set_reminders_opt_out,
)
from ledger.web.render import page, redirect
from ledger.web.session import Checked, WebUser, needs, runtime_of

router = APIRouter()

LoanId = Annotated[str, Path(min_length=1, max_length=16)]
PersonId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")]
KEEPS_PERSONAL_DATA = [needs(Permission.PERSONAL_WRITE)]
LETTER_FORM = "kind"


def _settings(request: Request) -> ReminderSettings:
    runtime = runtime_of(request)
    return ReminderSettings.from_settings(runtime.settings, runtime.policy)


def _reminders_page(
    request: Request,
    user: WebUser,
    loan_id: str,
    values: Mapping[str, str],
    errors: Mapping[str, str],
) -> Response:
    runtime = runtime_of(request)
    personal = user.can(Permission.PERSONAL_READ)  # the loan's read of the lease is audited
    view = loans.get_loan(runtime.unit_of_work(readonly=not personal), user.actor, loan_id)
    person = None
    if personal:
        person = loans.read_beneficiary(
            runtime.unit_of_work(), user.actor, view.loan.beneficiary_id
        )
    kinds = [("", user.text.text("reminders.letter.kind_auto"))] + [
        (k.value, user.text.text(f"reminders.kind.{k.value}")) for k in ReminderKind
    ]
    return page(
        request,
        "loans/reminders.html",
        user=user,
        text=user.text,
        status_code=422 if errors else 200,
        loan=view.loan,
        person=person,
        rules=runtime.policy.reminders,
        reminders=reminders_of(runtime.unit_of_work(readonly=True), user.actor, loan_id),
        active=view.loan.status is LoanStatus.ACTIVE,
        kinds=kinds,
        values=values,
        errors=errors,
    )


@router.get("/loans/{loan_id}/reminders")
def loan_reminders(
    request: Request, loan_id: LoanId, user: WebUser = needs(Permission.LOANS_READ)
) -> Response:
    return _reminders_page(request, user, loan_id, {"kind": ""}, {})


@router.post("/loans/{loan_id}/reminder-letters", dependencies=KEEPS_PERSONAL_DATA)
def letter_make(
    request: Request,
    loan_id: LoanId,
    user: Checked,
    kind: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The letter as a PDF to print (a POST: it is recorded on the loan each time)."""
    errors: dict[str, str] = {}
    chosen: ReminderKind | None = None
    if kind:
        try:
            chosen = ReminderKind(kind)
        except ValueError:
            errors[LETTER_FORM] = user.text.text("reminders.letter.kind_bad")
    if not errors:
        try:
            printed = reminder_letter(
                runtime_of(request).unit_of_work(),
                user.actor,
                _settings(request),
                loan_id,
                kind=chosen,
            )
        except LedgerError as exc:
            if exc.status in (401, 403, 404):
                raise
            errors[LETTER_FORM] = user.text.refusal(exc)
        else:
            return Response(
                printed.rendered.pdf,
                media_type="application/pdf",
                headers={
                    "Content-Disposition": f'attachment; filename="{printed.file_name}"',
                    "Cache-Control": "no-store",
                },
            )
    return _reminders_page(request, user, loan_id, {"kind": kind}, errors)


@router.post("/beneficiaries/{person_id}/reminders", dependencies=KEEPS_PERSONAL_DATA)
def person_reminders(
    request: Request,
    person_id: PersonId,
    user: Checked,
    opt_out: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """The person asks for no e-mail reminders (``opt_out=1``), or for them again (``0``)."""
    stop = opt_out == "1"
    set_reminders_opt_out(runtime_of(request).unit_of_work(), user.actor, person_id, stop)
    flash = "flash.reminders_stopped" if stop else "flash.reminders_started"
    return redirect(f"/beneficiaries/{person_id}", flash=(flash, {}))
