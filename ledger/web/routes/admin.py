"""Administration: the staff's accounts and roles (services/users.py), and the fund as it is
configured: its profile (environment variables, read-only) and its lending rules in force with
the history of the rules that decided applications (docs/web.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from ledger.documents import catalogs
from ledger.documents.i18n import FALLBACK
from ledger.domain.errors import LedgerError
from ledger.domain.money import Money
from ledger.domain.roles import Actor, Permission, Role
from ledger.services import loans, users
from ledger.services.users import MAX_PASSWORD
from ledger.store.uow import UnitOfWork
from ledger.web.render import page, redirect
from ledger.web.session import Checked, WebUser, needs, runtime_of

router = APIRouter()

Username = Annotated[str, Path(min_length=1, max_length=64)]
Password = Annotated[str, Form(max_length=MAX_PASSWORD + 1)]

#: The fund's profile as the admin page shows it, in this order; each is the setting of the
#: environment variable FUNDLEDGER_<NAME>.
PROFILE = (
    "fund_name",
    "fund_creditor_name",
    "fund_iban",
    "fund_bic",
    "fund_qr_iban",
    "fund_address",
    "fund_postcode",
    "fund_city",
    "fund_country",
    "fund_phone",
    "fund_email",
    "currency",
    "timezone",
    "fund_languages",
    "fund_legal_language",
    "fund_city_names",
    "fund_court",
    "fund_retention_years",
    "rules_file",
)


def _users_page(
    request: Request,
    user: WebUser,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    found = users.list_users(runtime_of(request).unit_of_work(readonly=True), user.actor)
    return page(
        request,
        "admin/users.html",
        user=user,
        text=user.text,
        status_code=status,
        users=sorted(found, key=lambda u: (not u.active, u.username)),
        roles=list(Role),
        min_password=users.MIN_PASSWORD,
        errors=errors or {},
        typed=typed or {},
    )


@router.get("/admin")
def users_page(request: Request, user: WebUser = needs(Permission.USERS_MANAGE)) -> Response:
    return _users_page(request, user)


@router.post("/admin/users")
def create_user(
    request: Request,
    user: Checked,
    username: Annotated[str, Form(max_length=100)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    password: Password = "",
) -> Response:
    name = username.strip().lower()
    try:
        users.create_user(runtime_of(request).unit_of_work(), user.actor, name, password, role)
    except LedgerError as exc:
        field = {"username": "new-username", "role": "new-role", "password": "new-password"}
        errors = {field.get(exc.field or "", "new-username"): _message(user, exc)}
        typed = {"new-username": username, "new-role": role}  # never the password
        return _users_page(request, user, status=exc.status, errors=errors, typed=typed)
    return redirect("/admin", flash=("flash.admin_user_created", {"user": name, "role": role}))


@router.post("/admin/users/{username}/password")
def reset_password(
    request: Request, user: Checked, username: Username, password: Password = ""
) -> Response:
    try:
        users.set_password(runtime_of(request).unit_of_work(), user.actor, username, password)
    except LedgerError as exc:
        errors = {f"password-{username}": _message(user, exc)}
        return _users_page(request, user, status=exc.status, errors=errors)
    return redirect("/admin", flash=("flash.admin_password_set", {"user": username}))


@router.post("/admin/users/{username}/deactivation")
def deactivate(request: Request, user: Checked, username: Username) -> Response:
    return _switch(request, user, username, users.deactivate_user, "flash.admin_user_deactivated")


@router.post("/admin/users/{username}/role")
def change_role(
    request: Request, user: Checked, username: Username, role: Annotated[str, Form(max_length=32)]
) -> Response:
    try:
        users.change_role(runtime_of(request).unit_of_work(), user.actor, username, role)
    except LedgerError as exc:
        if exc.status in (401, 403, 404):
            raise
        errors = {f"role-{username}": user.text.refusal(exc)}
        return _users_page(request, user, status=exc.status, errors=errors)
    said = {"user": username, "role": user.text.text(f"role.{role}")}
    return redirect("/admin", flash=("flash.admin_role_changed", said))


@router.post("/admin/users/{username}/reactivation")
def reactivate(request: Request, user: Checked, username: Username) -> Response:
    return _switch(request, user, username, users.reactivate_user, "flash.admin_user_reactivated")


def _switch(
    request: Request,
    user: WebUser,
    username: str,
    change: Callable[[UnitOfWork, Actor, str], None],
    said: str,
) -> Response:
    """Switch a user off or on again; a refusal (oneself, the last admin, already so) is said
    at the top of the users' page, linked to the user's row."""
    try:
        change(runtime_of(request).unit_of_work(), user.actor, username)
    except LedgerError as exc:
        if exc.status in (401, 403, 404):
            raise
        errors = {f"user-{username}": user.text.refusal(exc)}
        return _users_page(request, user, status=exc.status, errors=errors)
    return redirect("/admin", flash=(said, {"user": username}))


def _message(user: WebUser, exc: LedgerError) -> str:
    """The service's refusal, in the user's words where the page knows them."""
    if exc.field == "password":
        return user.text.text("admin.password_rule", min=users.MIN_PASSWORD)
    if exc.field == "username" and exc.status == 422:
        return user.text.text("admin.username_rule")
    if exc.field == "username" and exc.status == 409:
        return user.text.text("admin.username_taken")
    return user.text.refusal(exc)


@router.get("/admin/fund")
def fund(request: Request, user: WebUser = needs(Permission.AUDIT_READ)) -> Response:
    runtime = runtime_of(request)
    settings = runtime.settings
    profile = [
        (
            name,
            getattr(settings, name),
            f"FUNDLEDGER_{name.upper()}",
            name in settings.model_fields_set,
        )
        for name in PROFILE
    ]
    rules = [
        (s.name, _kind(s.value), s.value)
        for s in loans.rules_in_force(user.actor, runtime.policy, settings.currency)
    ]
    history = loans.rules_history(runtime.unit_of_work(readonly=True), user.actor)
    return page(
        request,
        "admin/fund.html",
        user=user,
        text=user.text,
        profile=profile,
        problems=settings.profile_problems(),
        rules=rules,
        fingerprint=runtime.policy.rules.fingerprint,
        history=list(reversed(history)),
        demo_fund=settings.demo,
        languages=document_languages(user.text.language),
    )


@dataclass(frozen=True, slots=True)
class DocumentLanguage:
    """A language the beneficiaries' documents exist in, as the fund page lists it."""

    code: str
    name: str  # in the reader's language
    own_name: str  # in the language itself
    direction: str  # of the own name: ltr or rtl
    state: catalogs.LanguageState | None  # None for English, the reference


def document_languages(reader: str) -> list[DocumentLanguage]:
    """English (the reference) first, then every catalog by its name in ``reader``'s language,
    each with its review state and completeness."""
    found = [_language(FALLBACK, reader, None)]
    found += sorted(
        (_language(s.language, reader, s) for s in catalogs.states()),
        key=lambda lang: lang.name.casefold(),
    )
    return found


def _language(code: str, reader: str, state: catalogs.LanguageState | None) -> DocumentLanguage:
    try:
        locale = Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return DocumentLanguage(code, code, code, "ltr", state)
    name = locale.get_display_name(reader) or code
    own = locale.get_display_name(code) or code
    direction = "rtl" if locale.character_order == "right-to-left" else "ltr"
    return DocumentLanguage(code, name[:1].upper() + name[1:], own, direction, state)


def _kind(value: Any) -> str:
    """How the page writes a rule's value."""
    if isinstance(value, Money):
        return "money"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "regions"
    if isinstance(value, Decimal):
        return "percent"
    if isinstance(value, int):
        return "months"
    return "text"
