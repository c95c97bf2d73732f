"""People (beneficiaries): found by name or id, recorded, shown with their loans, changed.

Only the roles that may see personal data (caseworker, admin) reach these pages; every read
goes through a service that audits it (the search once per page of results, a person once per
visit). The form helpers at the end are shared with the application pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ledger.domain.beneficiaries import PersonalData
from ledger.domain.errors import Conflict, LedgerError, ValidationError
from ledger.domain.money import Money, money
from ledger.domain.roles import Permission
from ledger.services import loans
from ledger.web.i18n import WebText
from ledger.web.render import page, redirect
from ledger.web.session import Checked, WebUser, needs, runtime_of

router = APIRouter()
PAGE = 25
MAX_QUERY = 200
MAX_VALUE = 2000  # longer than any field the services accept; they refuse what is too long

PersonId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")]

#: Languages offered for a person, named in the user's language by Babel; a person's own
#: code that is not here is offered too.
PERSON_LANGUAGES = (
    "fr", "nl", "de", "en", "ar", "ti", "am", "so", "fa", "ps", "ku", "tr", "ru", "uk",
    "ro", "bg", "pl", "es", "pt", "it", "sq", "sr", "ln", "sw", "rw", "ur", "bn", "zh",
)  # fmt: skip

#: The services' refusals of a person's fields, worded for the screen (the field names are
#: the services'); any other refusal is shown as the service words it.
PERSON_ERRORS = {
    "full_name": "people.error.full_name",
    "preferred_language": "people.error.language",
    "email": "people.error.email",
    "phone": "people.error.phone",
    "residence_status": "people.error.residence_status",
    "household_size": "people.error.household_size",
    "iban": "people.error.iban",
    "beneficiary_id": "people.error.erased",
}
PERSON_FIELDS = (
    "full_name",
    "preferred_language",
    "email",
    "phone",
    "residence_status",
    "permit_end_date",
    "monthly_net_income",
    "household_size",
    "own_savings",
    "iban",
)


async def _form_values(request: Request) -> dict[str, str]:
    """The posted form's text fields (files and repeated names ignored)."""
    form = await request.form()
    return {k: v[:MAX_VALUE] for k, v in form.items() if isinstance(v, str)}


FormValues = Annotated[dict[str, str], Depends(_form_values)]
#: For a form's POST (with ``Checked``): the role may record personal data, refused before the
#: form is read (the services check again).
Writing = Annotated[WebUser, needs(Permission.PERSONAL_WRITE)]


# -- the list ---------------------------------------------------------------------------------


@router.get("/beneficiaries")
def people(
    request: Request,
    user: WebUser = needs(Permission.PERSONAL_READ),
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    found, total = loans.search_beneficiaries(
        runtime_of(request).unit_of_work(), user.actor, q, limit=PAGE, offset=offset
    )
    return page(
        request,
        "beneficiaries/list.html",
        user=user,
        text=user.text,
        people=found,
        total=total,
        q=q.strip(),
        offset=offset,
        page_size=PAGE,
    )


# -- a new person ---------------------------------------------------------------------------


@router.get("/beneficiaries/new")
def new_person(request: Request, user: WebUser = needs(Permission.PERSONAL_WRITE)) -> Response:
    return _person_form(request, user, None, {"preferred_language": user.text.language}, {})


@router.post("/beneficiaries/new")
def create_person(request: Request, user: Checked, form: FormValues, _: Writing) -> Response:
    runtime = runtime_of(request)
    errors: dict[str, str] = {}
    data = read_person(user.text, form, runtime.settings.currency, errors)
    if data is not None:
        try:
            person = loans.register_beneficiary(
                runtime.unit_of_work(), user.actor, runtime.settings.currency, data
            )
        except REFUSALS as exc:
            refusal(user.text, exc, errors, PERSON_ERRORS, PERSON_FIELDS)
        else:
            return redirect(f"/beneficiaries/{person.id}", flash=("flash.people_created", {}))
    return _person_form(request, user, None, form, errors, status=422)


# -- one person -----------------------------------------------------------------------------


@router.get("/beneficiaries/{person_id}")
def person_page(
    request: Request, person_id: PersonId, user: WebUser = needs(Permission.PERSONAL_READ)
) -> Response:
    runtime = runtime_of(request)
    person = loans.read_beneficiary(runtime.unit_of_work(), user.actor, person_id)
    their_loans, total = loans.list_loans(
        runtime.unit_of_work(readonly=True),
        user.actor,
        beneficiary_id=person.id,
        limit=200,
        offset=0,
    )
    return page(
        request,
        "beneficiaries/person.html",
        user=user,
        text=user.text,
        person=person,
        personal=person.personal,
        language_name=language_name(user.text, person.personal.preferred_language)
        if person.personal
        else "",
        loans=their_loans,
        total=total,
    )


@router.get("/beneficiaries/{person_id}/edit")
def edit_person(
    request: Request, person_id: PersonId, user: WebUser = needs(Permission.PERSONAL_WRITE)
) -> Response:
    person = loans.read_beneficiary(runtime_of(request).unit_of_work(), user.actor, person_id)
    if person.personal is None:  # erased: nothing left to change
        return redirect(f"/beneficiaries/{person.id}")
    return _person_form(request, user, person.id, person_values(user.text, person.personal), {})


@router.post("/beneficiaries/{person_id}/edit")
def update_person(
    request: Request, person_id: PersonId, user: Checked, form: FormValues, _: Writing
) -> Response:
    runtime = runtime_of(request)
    errors: dict[str, str] = {}
    data = read_person(user.text, form, runtime.settings.currency, errors)
    if data is not None:
        try:
            loans.update_beneficiary(runtime.unit_of_work(), user.actor, person_id, data)
        except REFUSALS as exc:
            refusal(user.text, exc, errors, PERSON_ERRORS, PERSON_FIELDS)
        else:
            return redirect(f"/beneficiaries/{person_id}", flash=("flash.people_saved", {}))
    return _person_form(request, user, person_id, form, errors, status=422)


def _person_form(
    request: Request,
    user: WebUser,
    person_id: str | None,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    status: int = 200,
) -> Response:
    chosen = values.get("preferred_language", "")
    codes = list(PERSON_LANGUAGES)
    if chosen and chosen not in codes:
        codes.append(chosen)
    languages = sorted(
        ((code, language_name(user.text, code)) for code in codes), key=lambda c: c[1].lower()
    )
    return page(
        request,
        "beneficiaries/form.html",
        user=user,
        text=user.text,
        status_code=status,
        person_id=person_id,
        values={name: values.get(name, "") for name in PERSON_FIELDS},
        errors=errors,
        languages=languages,
        currency=runtime_of(request).settings.currency,
    )


# -- reading a person's form ----------------------------------------------------------------


def read_person(
    t: WebText, form: Mapping[str, str], currency: str, errors: dict[str, str]
) -> PersonalData | None:
    """The person's data as typed, or None with ``errors`` filled (each beside its field)."""
    name = form.get("full_name", "").strip()
    if not name:
        errors["full_name"] = t.text("form.required")
    permit_end = read_date(t, form, "permit_end_date", errors, required=False)
    income = read_amount(t, form, "monthly_net_income", currency, errors, zero=True)
    savings = read_amount(t, form, "own_savings", currency, errors, zero=True)
    household = read_count(t, form, "household_size", errors, required=False, top=30)
    if errors:
        return None
    try:
        return PersonalData(
            full_name=name,
            preferred_language=form.get("preferred_language", "").strip() or t.language,
            email=form.get("email", "").strip() or None,
            phone=form.get("phone", "").strip() or None,
            residence_status=form.get("residence_status", "").strip() or None,
            permit_end_date=permit_end,
            monthly_net_income=income,
            household_size=household,
            own_savings=savings,
            iban=form.get("iban", "").strip() or None,
        )
    except ValidationError as exc:
        refusal(t, exc, errors, PERSON_ERRORS, PERSON_FIELDS)
        return None


def person_values(t: WebText, data: PersonalData) -> dict[str, str]:
    """A person's data as the form shows it to be changed."""
    return {
        "full_name": data.full_name,
        "preferred_language": data.preferred_language,
        "email": data.email or "",
        "phone": data.phone or "",
        "residence_status": data.residence_status or "",
        "permit_end_date": data.permit_end_date.isoformat() if data.permit_end_date else "",
        "monthly_net_income": t.amount_input(data.monthly_net_income),
        "household_size": str(data.household_size) if data.household_size else "",
        "own_savings": t.amount_input(data.own_savings),
        "iban": data.iban or "",
    }


def language_name(t: WebText, code: str) -> str:
    """A language's name in the user's language ("tigrinya", "tigrigna"), else its code."""
    name = t.locale.languages.get(code.split("-")[0])
    return str(name) if name else code


# -- form helpers, shared with the application pages ---------------------------------------

_ZERO = re.compile(r"^0+(?:[.,]0+)?$")
_COUNT = re.compile(r"^[0-9]{1,6}$")

#: The refusals a form shows beside its fields; any other (not found, not allowed) is a page.
REFUSALS = (ValidationError, Conflict)


def refusal(
    t: WebText,
    exc: LedgerError,
    errors: dict[str, str],
    worded: Mapping[str, str],
    fields: Iterable[str],
) -> None:
    """A service's refusal beside its field (in the summary, under "form", when it names none
    of ``fields``): in the screen's words where ``worded`` has the field (it has one reason
    to be refused), else as the service says it."""
    key = worded.get(exc.field or "")
    where = exc.field if exc.field in set(fields) else "form"
    errors[where] = t.text(key) if key is not None else t.refusal(exc)


def read_date(
    t: WebText, form: Mapping[str, str], name: str, errors: dict[str, str], *, required: bool
) -> date | None:
    """A date from ``<input type="date">`` (ISO); anything else refused with the form's words."""
    raw = form.get(name, "").strip()
    if not raw:
        if required:
            errors[name] = t.text("form.required")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = t.text("form.date_bad")
        return None


def read_amount(
    t: WebText,
    form: Mapping[str, str],
    name: str,
    currency: str,
    errors: dict[str, str],
    *,
    required: bool = False,
    zero: bool = False,
) -> Money | None:
    """An amount typed in the user's locale; empty is None unless ``required``; ``zero``: 0 is
    an answer (no savings), not a mistake."""
    raw = form.get(name, "").strip()
    if not raw and not required:
        return None
    if zero and _ZERO.match(raw):
        return money("0", currency)
    try:
        return t.parse_amount(raw, currency, name)
    except ValidationError as exc:
        errors[name] = t.refusal(exc)
        return None


def read_count(
    t: WebText,
    form: Mapping[str, str],
    name: str,
    errors: dict[str, str],
    *,
    required: bool,
    top: int = 1000,
) -> int | None:
    """A whole number from 1 to ``top``."""
    raw = form.get(name, "").strip()
    if not raw:
        if required:
            errors[name] = t.text("form.required")
        return None
    if not _COUNT.match(raw) or not 1 <= int(raw) <= top:
        errors[name] = t.text("people.error.count", top=top)
        return None
    return int(raw)
