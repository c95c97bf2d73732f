"""Who is signed in: the session cookie, the CSRF token of each form, the Origin check.

The session is server-side: the cookie holds a random token whose SHA-256 the database keeps
with an expiry (the API's bearer tokens, ``services.users``), so signing out ends it on the
server. It is HttpOnly, SameSite=Lax, Secure when the fund serves over TLS
(``FUNDLEDGER_WEB_SECURE_COOKIES``), and extended while used up to an idle timeout.

Every form and htmx request carries a CSRF token derived from the session token (HMAC), checked
on every request that is not a GET, with the Origin (or Referer) header as a second line.
Before sign-in, the sign-in form uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request

from ledger.bootstrap import Runtime
from ledger.domain.errors import AuthenticationFailed, PermissionDenied
from ledger.domain.roles import Actor, Permission
from ledger.services import users
from ledger.web.i18n import WebText, ui_language

SESSION_COOKIE = "fl_session"
PRE_SESSION_COOKIE = "fl_presession"  # the sign-in form's double-submit CSRF value
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_TOKEN = 256


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page, then back to ``next``. For a
    form sent after the session ended, ``kept`` holds what was typed (text fields, not files),
    carried through the sign-in page so that nothing typed is lost."""

    def __init__(self, next_path: str, kept: list[tuple[str, str]] | None = None) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.kept = kept or []


class CsrfRefused(Exception):
    """A request that changes something came without this session's token, or from another
    site: refused with 403 and nothing done."""


@dataclass(frozen=True, slots=True)
class WebUser:
    """The person signed in, for one request."""

    actor: Actor
    token: str
    text: WebText

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)

    def can(self, permission: Permission) -> bool:
        return self.actor.can(permission)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.ledger
    return runtime


def today_of(request: Request) -> date:
    """Today in the fund's time zone."""
    runtime = runtime_of(request)
    return runtime.clock().astimezone(runtime.settings.zone).date()


def csrf_for(token: str) -> str:
    """The CSRF token of a session: known to its pages, not guessable from outside."""
    return hmac.new(token.encode(), b"fundledger-csrf", hashlib.sha256).hexdigest()


def read_key(user: WebUser, subject: str) -> str:
    """A page's key of the personal data it read (and audited), for the requests the page
    makes while it is shown (the live eligibility check): derived from the session token as
    the CSRF token is, so it proves that this session's page read ``subject``."""
    return hmac.new(
        user.token.encode(), f"fundledger-read:{subject}".encode(), hashlib.sha256
    ).hexdigest()


def read_key_ok(user: WebUser, subject: str, key: str) -> bool:
    """Whether ``key`` is this session's key of ``subject`` (``read_key``)."""
    return bool(key) and hmac.compare_digest(key, read_key(user, subject))


def text_for(runtime: Runtime, language: str | None) -> WebText:
    settings = runtime.settings
    lang = ui_language(language, settings.languages())
    country = (settings.fund_country or settings.fund_iban[:2]).upper()
    return WebText(lang, country, settings.zone)


def _next_path(request: Request) -> str:
    path = request.url.path
    if request.method != "GET" or request.headers.get("HX-Request"):
        path = request.headers.get("HX-Current-URL") or "/"
        path = urlsplit(path).path or "/"
    query = f"?{request.url.query}" if request.method == "GET" and request.url.query else ""
    return path + query


def current_user(request: Request) -> WebUser:
    """The signed-in user, or SignInRequired. A deactivated user's or an idle session ends."""
    runtime = runtime_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > MAX_TOKEN:
        raise SignInRequired(_next_path(request))
    settings = runtime.settings
    try:
        actor, language = users.session_actor(
            runtime.unit_of_work(),
            token,
            idle=timedelta(minutes=settings.web_idle_minutes),
            longest=timedelta(hours=settings.web_session_hours),
        )
    except AuthenticationFailed:
        raise SignInRequired(_next_path(request)) from None
    return WebUser(actor, token, text_for(runtime, language))


SignedIn = Annotated[WebUser, Depends(current_user)]


def needs(*permissions: Permission) -> Any:
    """A dependency: the signed-in user must hold every one of ``permissions`` (the same
    grants the services check); for pages that show something before any service is called."""

    def check(user: SignedIn) -> WebUser:
        for permission in permissions:
            if not user.actor.can(permission):
                raise PermissionDenied(
                    f"your role ({user.actor.role.value}) may not {permission.value}"
                )
        return user

    return Depends(check)


def check_origin(request: Request) -> None:
    """A request that changes something must come from this site's own pages."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return  # no header: older browsers; the CSRF token is the check that counts
    ours = f"{request.url.scheme}://{request.url.netloc}"
    got = urlsplit(origin)
    if f"{got.scheme}://{got.netloc}" != ours:
        raise CsrfRefused(f"request from {got.netloc or origin!r}, not from this site")


#: The most text a form may keep through a sign-in (a signature drawing is not kept).
MAX_KEPT = 20_000


async def checked(request: Request) -> WebUser:
    """For every POST of a signed-in page: Origin, the session, then the form's or htmx
    header's token. A form sent after its session ended keeps what was typed (SignInRequired
    carries its text fields to the sign-in page and back)."""
    check_origin(request)
    form = await request.form()
    try:
        user = current_user(request)
    except SignInRequired as exc:
        kept = [
            (name, value)
            for name, value in form.multi_items()
            if isinstance(value, str) and name != CSRF_FIELD
        ]
        if sum(len(n) + len(v) for n, v in kept) > MAX_KEPT:
            kept = []
        path = request.url.path
        raise SignInRequired(
            path if not request.headers.get("HX-Request") else exc.next_path, kept
        ) from None
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, user.csrf):
        raise CsrfRefused("the form's security token is missing or out of date")
    return user


Checked = Annotated[WebUser, Depends(checked)]


def new_presession() -> str:
    return secrets.token_urlsafe(24)
