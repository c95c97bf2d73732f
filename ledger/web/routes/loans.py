"""Loans: the list (by state, paged); each loan's page and its forms.

A loan's page shows its facts, the schedule as of today (paid, due, late), the payments, the
arrears, its documents and the history of its events. From it, a treasurer records a cash
payment or the deposit the landlord released at the end of the lease, and a caseworker makes
(and stops) the beneficiary's personal link. Every rule is the services'; this module reads the
forms, calls them, and shows what they return.

A new personal link's token is shown once. The form that makes it redirects (post/redirect/get)
with the token in a cookie that only the links page of that loan receives (HttpOnly, SameSite
Strict, ten minutes at most), which the page reads and deletes: the token never appears in a
URL, a log line or the flash message, and reloading the page does not show it again.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote

import segno
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from ledger.api.routers.documents import document_settings
from ledger.domain.beneficiaries import Beneficiary
from ledger.domain.documents import AccessLink, StoredDocument
from ledger.domain.errors import IdempotencyConflict, LedgerError, NotFound, ValidationError
from ledger.domain.journal import check_reference
from ledger.domain.loans import DISBURSED
from ledger.domain.money import Money, from_minor
from ledger.domain.roles import Permission
from ledger.domain.standing import LoanStanding, Standing
from ledger.domain.statuses import LoanStatus
from ledger.services import access_links, contracts, loans
from ledger.services.access_links import MAX_DAYS
from ledger.services.loans import LoanView
from ledger.services.reminders import reminders_of
from ledger.web.render import form_key, page, redirect
from ledger.web.session import Checked, WebUser, needs, runtime_of, text_for

router = APIRouter()
PAGE = 25
MAX_ID_LENGTH = 16  # loans.id
MAX_AMOUNT_TEXT = 40
MAX_DAY_TEXT = 20
MAX_KEY_TEXT = 100

LoanId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)]
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]
AmountText = Annotated[str, Form(max_length=MAX_AMOUNT_TEXT)]
DayText = Annotated[str, Form(max_length=MAX_DAY_TEXT)]
KeyText = Annotated[str, Form(max_length=MAX_KEY_TEXT)]

#: What a form's POST needs besides its CSRF token (the services check again).
RECORDS_PAYMENTS = [needs(Permission.PAYMENTS_RECORD)]
KEEPS_PERSONAL_DATA = [needs(Permission.PERSONAL_WRITE)]

#: Loans that take a payment: paid out and not yet repaid (a written-off loan takes recoveries).
PAYABLE = frozenset({LoanStatus.ACTIVE, LoanStatus.OVERPAID, LoanStatus.WRITTEN_OFF})

#: Installments shown before the later ones are folded away.
SHOWN_AT_LEAST = 3

#: The cookie that carries a new personal link from its form to the page that shows it, once.
NEW_LINK_COOKIE = "fl_newlink"
_NEW_LINK = re.compile(r"^([0-9]{1,19}):([A-Za-z0-9_-]{20,128})$")
_ZERO = re.compile(r"^0+(?:[.,]0*)?$")


# -- what the pages show ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstallmentRow:
    number: int
    due_date: date
    amount: Money
    paid: Money
    remaining: Money
    state: str  # paid, late, due_today, due, planned, written_off


@dataclass(frozen=True, slots=True)
class PaymentRow:
    entry_id: int
    on: date
    amount: Money
    kind: str  # repayment, deposit_release, recovery, refund
    reversed: bool


@dataclass(frozen=True, slots=True)
class LoanPage:
    """A loan as its page shows it: amounts as money, each installment with its state."""

    view: LoanView
    installments: tuple[InstallmentRow, ...]
    payments: tuple[PaymentRow, ...]
    outstanding: Money
    credit: Money
    overdue: Money
    standing: LoanStanding  # where it stands for the person: as their page and PDF tell it
    written_off: Money  # what was written off (zero unless written off by the day)
    recovered: Money  # received since the write-off

    @property
    def written_off_by_then(self) -> bool:
        """Written off on or before the page's day: nothing is asked, nothing is late."""
        return self.standing.standing in (Standing.WRITTEN_OFF, Standing.RECOVERED)

    @property
    def loan_id(self) -> str:
        return self.view.loan.id

    @property
    def payable(self) -> bool:
        return self.view.loan.status in PAYABLE

    @property
    def paid_out(self) -> bool:
        """Paid out (whatever since): it has arrears, and its deposit can come back."""
        return self.view.loan.status in DISBURSED

    @property
    def schedule_now(self) -> tuple[InstallmentRow, ...]:
        """The installments due by today and the next one: what a reader looks for first."""
        return self.installments[: self._cut]

    @property
    def schedule_later(self) -> tuple[InstallmentRow, ...]:
        """The later ones, folded away on the page (a phone would scroll through them all)."""
        return self.installments[self._cut :]

    @property
    def _cut(self) -> int:
        coming = (n for n, i in enumerate(self.installments) if i.due_date > self.view.as_of)
        first_to_come = next(coming, len(self.installments))
        return max(first_to_come + 1, SHOWN_AT_LEAST)

    @property
    def next_due(self) -> InstallmentRow | None:
        """The first installment not fully paid."""
        return next((i for i in self.installments if i.remaining.amount > 0), None)


def _installment_state(view: LoanView, due: date, remaining: int) -> str:
    loan = view.loan
    if loan.status not in DISBURSED:
        return "planned"
    if remaining <= 0:
        return "paid"
    if loan.written_off:
        return "written_off"
    if due < view.as_of:
        return "late"
    return "due_today" if due == view.as_of else "due"


def loan_page_of(view: LoanView) -> LoanPage:
    cur = view.loan.currency
    standing = view.standing
    return LoanPage(
        view=view,
        installments=tuple(
            InstallmentRow(
                i.number,
                i.due_date,
                from_minor(i.amount, cur),
                from_minor(i.paid, cur),
                from_minor(i.remaining, cur),
                _installment_state(view, i.due_date, i.remaining),
            )
            for i in view.installments
        ),
        payments=tuple(
            PaymentRow(entry, on, from_minor(abs(minor), cur), kind, rev)
            for entry, on, minor, kind, rev in view.payments
        ),
        outstanding=from_minor(view.outstanding, cur),
        credit=from_minor(view.credit, cur),
        overdue=from_minor(view.arrears.overdue, cur),
        standing=standing,
        written_off=from_minor(standing.written_off, cur),
        recovered=from_minor(standing.recovered, cur),
    )


def _read_loan(request: Request, user: WebUser, loan_id: str) -> LoanView:
    """The loan as of today; a read of its lease (personal data) is audited, in a write unit
    of work, as the API does; other roles read without queuing for the write lock."""
    personal = user.can(Permission.PERSONAL_READ)
    runtime = runtime_of(request)
    return loans.get_loan(runtime.unit_of_work(readonly=not personal), user.actor, loan_id)


def _person(request: Request, user: WebUser, view: LoanView) -> Beneficiary | None:
    """The beneficiary's personal data, for the roles that may see it (the read is audited)."""
    if not user.can(Permission.PERSONAL_READ):
        return None
    uow = runtime_of(request).unit_of_work()
    return loans.read_beneficiary(uow, user.actor, view.loan.beneficiary_id)


def _now(request: Request) -> datetime:
    return runtime_of(request).clock()


# -- the list and the loan's page ------------------------------------------------------------


@router.get("/loans")
def loan_list(
    request: Request,
    user: WebUser = needs(Permission.LOANS_READ),
    status: Annotated[LoanStatus | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    found, total = loans.list_loans(
        runtime_of(request).unit_of_work(readonly=True),
        user.actor,
        status=status,
        limit=PAGE,
        offset=offset,
    )
    return page(
        request,
        "loans/list.html",
        user=user,
        text=user.text,
        loans=found,
        total=total,
        state=status,
        states=list(LoanStatus),
        offset=offset,
        page_size=PAGE,
    )


@router.get("/loans/{loan_id}")
def loan_detail(
    request: Request, loan_id: LoanId, user: WebUser = needs(Permission.LOANS_READ)
) -> Response:
    runtime = runtime_of(request)
    personal = user.can(Permission.PERSONAL_READ)
    # The lease and the person read together, their read audited once (in a write unit of
    # work); other roles read without queuing for the write lock.
    view, person = loans.loan_page(runtime.unit_of_work(readonly=not personal), user.actor, loan_id)
    contract = contracts.contract_status(runtime.unit_of_work(readonly=True), user.actor, loan_id)
    documents = contracts.list_documents(runtime.unit_of_work(readonly=True), user.actor, loan_id)
    links: list[AccessLink] | None = None
    if user.can(Permission.PERSONAL_WRITE):
        links = access_links.list_links(runtime.unit_of_work(readonly=True), user.actor, loan_id)
    now = _now(request)
    return page(
        request,
        "loans/detail.html",
        user=user,
        text=user.text,
        lp=loan_page_of(view),
        loan=view.loan,
        view=view,
        person=person if personal else None,
        contract=contract,
        documents=documents,
        active_links=None if links is None else [k for k in links if k.usable(now)],
        reminders=reminders_of(runtime.unit_of_work(readonly=True), user.actor, loan_id),
    )


@router.get("/loans/{loan_id}/documents/{document_id}")
def document_file(
    request: Request,
    loan_id: LoanId,
    document_id: ItemId,
    user: WebUser = needs(Permission.PERSONAL_READ),
) -> Response:
    """A document of the loan, for a signed-in user who may read it (the read is audited)."""
    runtime = runtime_of(request)
    found = contracts.get_document(runtime.unit_of_work(readonly=True), user.actor, document_id)
    if found.loan_id != loan_id:
        raise NotFound(f"loan {loan_id} has no document {document_id}", "document_id")
    doc, data = contracts.document_content(
        runtime.unit_of_work(), user.actor, document_settings(request), document_id
    )
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{_file_name(doc)}.pdf"',
            "Cache-Control": "no-store",
            "ETag": f'"{doc.sha256}"',
        },
    )


def _file_name(doc: StoredDocument) -> str:
    version = f"-v{doc.contract_version}" if doc.contract_version else ""
    return f"{doc.loan_id}-{doc.kind.value}{version}"


# -- form helpers ----------------------------------------------------------------------------


def _field_of(exc: LedgerError, fields: Mapping[str, str], general: str) -> str:
    """The form field a service's refusal is about (its own name for it mapped to the form's),
    or the form as a whole."""
    return fields.get(exc.field or "", general)


def _refusal_to_show(exc: LedgerError) -> bool:
    """A refusal the form can show beside its fields; not a missing loan or a role's."""
    return exc.status not in (401, 403, 404, 500)


def _day(user: WebUser, text: str, field: str, errors: dict[str, str]) -> date | None:
    """A date from ``<input type=date>`` (ISO); a bad or missing one is said beside it."""
    value = text.strip()
    if not value:
        errors[field] = user.text.text("form.required")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = user.text.text("form.date_bad")
        return None


def _amount(
    user: WebUser, text: str, currency: str, field: str, errors: dict[str, str]
) -> Money | None:
    try:
        return user.text.parse_amount(text, currency, field)
    except ValidationError as exc:
        errors[field] = user.text.refusal(exc)
        return None


def _amount_or_zero(
    user: WebUser, text: str, currency: str, field: str, errors: dict[str, str]
) -> Money | None:
    """An amount that may be nothing: empty or written as zero."""
    cleaned = "".join(text.split())
    if not cleaned or _ZERO.match(cleaned):
        return from_minor(0, currency)
    return _amount(user, text, currency, field, errors)


def _key(user: WebUser, text: str, form: str, errors: dict[str, str]) -> str:
    try:
        check_reference(text, "idempotency_key")
    except LedgerError:
        errors[form] = user.text.text("loanpage.form.stale")
        return ""
    return text


# -- a cash payment --------------------------------------------------------------------------

PAYMENT_FORM = "payment-form"
PAYMENT_FIELDS = {
    "amount": "amount",
    "currency": "amount",
    "on": "on",
    "booking_date": "on",
}


def _money_form_page(
    request: Request,
    user: WebUser,
    view: LoanView,
    template: str,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    **extra: object,
) -> Response:
    """A form that books money on a loan (a cash payment, a deposit back), with its errors."""
    return page(
        request,
        template,
        user=user,
        text=user.text,
        status_code=422 if errors else 200,
        lp=loan_page_of(view),
        loan=view.loan,
        values=values,
        errors=errors,
        today=view.as_of,
        example=user.text.amount_input(from_minor(5000, view.loan.currency)),
        **extra,
    )


@router.get("/loans/{loan_id}/payments/new")
def payment_form(
    request: Request, loan_id: LoanId, user: WebUser = needs(Permission.PAYMENTS_RECORD)
) -> Response:
    view = _read_loan(request, user, loan_id)
    values = {"amount": "", "on": view.as_of.isoformat(), "idempotency_key": form_key()}
    return _money_form_page(request, user, view, "loans/payment.html", values, {})


@router.post("/loans/{loan_id}/payments", dependencies=RECORDS_PAYMENTS)
def payment_record(
    request: Request,
    loan_id: LoanId,
    user: Checked,
    amount: AmountText = "",
    on: DayText = "",
    idempotency_key: KeyText = "",
) -> Response:
    view = _read_loan(request, user, loan_id)
    values = {"amount": amount, "on": on, "idempotency_key": idempotency_key}
    errors: dict[str, str] = {}
    paid = _amount(user, amount, view.loan.currency, "amount", errors)
    day = _day(user, on, "on", errors)
    key = _key(user, idempotency_key, PAYMENT_FORM, errors)
    if paid is not None and day is not None and key and not errors:
        try:
            result = loans.record_payment(
                runtime_of(request).unit_of_work(),
                user.actor,
                loan_id,
                paid,
                on=day,
                idempotency_key=key,
            )
        except IdempotencyConflict:
            errors[PAYMENT_FORM] = user.text.text("loanpage.form.sent_before")
            values = {**values, "idempotency_key": form_key()}
        except LedgerError as exc:
            if not _refusal_to_show(exc):
                raise
            errors[_field_of(exc, PAYMENT_FIELDS, PAYMENT_FORM)] = user.text.refusal(exc)
        else:
            flash = "flash.loanpage_payment_again" if result.replayed else "flash.loanpage_payment"
            status = user.text.text(f"status.{result.loan.status.value}")
            return redirect(
                f"/loans/{loan_id}",
                flash=(flash, {"amount": user.text.amount(paid), "status": status}),
            )
    return _money_form_page(request, user, view, "loans/payment.html", values, errors)


# -- the deposit, released at the end of the lease -------------------------------------------

RELEASE_FORM = "release-form"
RELEASE_FIELDS = {
    "returned": "returned",
    "kept": "kept",
    "kept_reason": "kept_reason",
    "reason": "kept_reason",
    "on": "on",
    "booking_date": "on",
}
RELEASE_KINDS = ("full", "partial")


@router.get("/loans/{loan_id}/deposit-release/new")
def release_form(
    request: Request, loan_id: LoanId, user: WebUser = needs(Permission.PAYMENTS_RECORD)
) -> Response:
    view = _read_loan(request, user, loan_id)
    values = {
        "kind": "full",
        "returned": "",
        "kept": "",
        "kept_reason": "",
        "on": view.as_of.isoformat(),
        "idempotency_key": form_key(),
    }
    return _money_form_page(
        request, user, view, "loans/release.html", values, {}, max_reason=loans.MAX_REASON
    )


@router.post("/loans/{loan_id}/deposit-release", dependencies=RECORDS_PAYMENTS)
def release_record(
    request: Request,
    loan_id: LoanId,
    user: Checked,
    kind: Annotated[str, Form(max_length=10)] = "",
    returned: AmountText = "",
    kept: AmountText = "",
    kept_reason: Annotated[str, Form(max_length=loans.MAX_REASON + 100)] = "",
    on: DayText = "",
    idempotency_key: KeyText = "",
) -> Response:
    view = _read_loan(request, user, loan_id)
    loan = view.loan
    values = {
        "kind": kind,
        "returned": returned,
        "kept": kept,
        "kept_reason": kept_reason,
        "on": on,
        "idempotency_key": idempotency_key,
    }
    errors: dict[str, str] = {}
    back: Money | None
    kept_money: Money | None
    reason: str | None = None
    if kind == "full":
        back, kept_money = loan.terms.deposit, from_minor(0, loan.currency)
    elif kind == "partial":
        back = _amount_or_zero(user, returned, loan.currency, "returned", errors)
        kept_money = _amount_or_zero(user, kept, loan.currency, "kept", errors)
        reason = kept_reason.strip() or None
    else:
        back = kept_money = None
        errors["kind-full"] = user.text.text("loanpage.release.kind_missing")
    day = _day(user, on, "on", errors)
    key = _key(user, idempotency_key, RELEASE_FORM, errors)
    if back is not None and kept_money is not None and day is not None and not errors:
        try:
            result = loans.record_deposit_release(
                runtime_of(request).unit_of_work(),
                user.actor,
                loan_id,
                on=day,
                returned=back,
                kept=kept_money,
                kept_reason=reason,
                idempotency_key=key,
            )
        except IdempotencyConflict:
            errors[RELEASE_FORM] = user.text.text("loanpage.form.sent_before")
            values = {**values, "idempotency_key": form_key()}
        except LedgerError as exc:
            if not _refusal_to_show(exc):
                raise
            field = _field_of(exc, RELEASE_FIELDS, RELEASE_FORM)
            if kind == "full" and field in ("returned", "kept", "kept_reason"):
                field = RELEASE_FORM  # those fields were not filled in: the choice was "all"
            errors[field] = user.text.refusal(exc)
        else:
            t = user.text
            flash = "flash.loanpage_release_again" if result.replayed else "flash.loanpage_release"
            return redirect(
                f"/loans/{loan_id}",
                flash=(
                    flash,
                    {
                        "returned": t.amount(back),
                        "kept": t.amount(kept_money),
                        "owed": t.amount(from_minor(result.still_owed, loan.currency)),
                    },
                ),
            )
    return _money_form_page(
        request, user, view, "loans/release.html", values, errors, max_reason=loans.MAX_REASON
    )


# -- the beneficiary's personal link ---------------------------------------------------------

LINK_FORM = "link-form"


@dataclass(frozen=True, slots=True)
class NewLinkShown:
    """A link just made, shown once: its address, as a QR code, and ready to send."""

    link: AccessLink
    url: str
    qr: str  # data: URI of an SVG
    mailto: str


def _qr_data_uri(url: str) -> str:
    qr = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=5, border=4, xmldecl=False, svgns=True, nl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _mailto(request: Request, person: Beneficiary | None, url: str, link: AccessLink) -> str:
    """A message to the person with their link, in their language when the screens have it."""
    runtime = runtime_of(request)
    personal = person.personal if person is not None else None
    words = text_for(runtime, personal.preferred_language if personal is not None else None)
    until = words.day(link.expires_at.astimezone(runtime.settings.zone).date())
    subject = words.text("loanpage.mail.subject", fund=runtime.settings.fund_name)
    body = words.text("loanpage.mail.body", url=url, until=until)
    to = quote(personal.email, safe="@") if personal is not None and personal.email else ""
    return f"mailto:{to}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"


def _new_link(
    request: Request, user: WebUser, view: LoanView, links: list[AccessLink]
) -> NewLinkShown | None:
    raw = request.cookies.get(NEW_LINK_COOKIE, "")
    found = _NEW_LINK.match(raw)
    if found is None:
        return None
    link_id, token = int(found.group(1)), found.group(2)
    link = next((k for k in links if k.id == link_id), None)
    if link is None or not link.usable(_now(request)):
        return None
    url = str(request.url_for("beneficiary_page", token=token))
    return NewLinkShown(
        link, url, _qr_data_uri(url), _mailto(request, _person(request, user, view), url, link)
    )


def _links_page(
    request: Request,
    user: WebUser,
    view: LoanView,
    values: Mapping[str, str],
    errors: Mapping[str, str],
) -> Response:
    runtime = runtime_of(request)
    links = access_links.list_links(runtime.unit_of_work(readonly=True), user.actor, view.loan.id)
    shown = None if errors else _new_link(request, user, view, links)
    now = _now(request)
    response = page(
        request,
        "loans/links.html",
        user=user,
        text=user.text,
        status_code=422 if errors else 200,
        loan=view.loan,
        links=list(reversed(links)),
        new=shown,
        now=now,
        values=values,
        errors=errors,
        max_days=MAX_DAYS,
    )
    if request.cookies.get(NEW_LINK_COOKIE) is not None:
        response.delete_cookie(NEW_LINK_COOKIE, path=_links_path(view.loan.id))
    return response


def _links_path(loan_id: str) -> str:
    return f"/loans/{loan_id}/links"


@router.get("/loans/{loan_id}/links")
def links_page(
    request: Request, loan_id: LoanId, user: WebUser = needs(Permission.PERSONAL_WRITE)
) -> Response:
    view = _read_loan(request, user, loan_id)
    days = document_settings(request).access_link_days
    return _links_page(request, user, view, {"days": str(days)}, {})


@router.post("/loans/{loan_id}/links", dependencies=KEEPS_PERSONAL_DATA)
def link_create(
    request: Request,
    loan_id: LoanId,
    user: Checked,
    days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    view = _read_loan(request, user, loan_id)
    errors: dict[str, str] = {}
    text = days.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        errors["days"] = user.text.text("loanpage.links.days_bad", most=MAX_DAYS)
    else:
        try:
            made = access_links.create_link(
                runtime_of(request).unit_of_work(), user.actor, loan_id, days=int(text)
            )
        except LedgerError as exc:
            if not _refusal_to_show(exc):
                raise
            errors["days" if exc.field == "days" else LINK_FORM] = user.text.refusal(exc)
        else:
            response = redirect(_links_path(loan_id), flash=("flash.loanpage_link_made", {}))
            response.set_cookie(
                NEW_LINK_COOKIE,
                f"{made.link.id}:{made.token}",
                max_age=600,
                path=_links_path(loan_id),
                httponly=True,
                samesite="strict",
                secure=runtime_of(request).settings.web_secure_cookies,
            )
            return response
    return _links_page(request, user, view, {"days": days}, errors)


@router.post("/loans/{loan_id}/links/{link_id}/revocation", dependencies=KEEPS_PERSONAL_DATA)
def link_revoke(
    request: Request,
    loan_id: LoanId,
    link_id: ItemId,
    user: Checked,
) -> Response:
    runtime = runtime_of(request)
    links = access_links.list_links(runtime.unit_of_work(readonly=True), user.actor, loan_id)
    link = next((k for k in links if k.id == link_id), None)
    if link is None:
        raise NotFound(f"loan {loan_id} has no personal link {link_id}", "link_id")
    if link.revoked_at is None:  # sent twice: stopped once, and the same message
        access_links.revoke_link(runtime.unit_of_work(), user.actor, link_id)
    return redirect(_links_path(loan_id), flash=("flash.loanpage_link_revoked", {}))
