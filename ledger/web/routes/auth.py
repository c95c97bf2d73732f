"""Sign-in, sign-out and each user's language."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ledger.domain.errors import AuthenticationFailed, TooManyAttempts, ValidationError
from ledger.services import users
from ledger.web.i18n import UI_LANGUAGES
from ledger.web.render import page, redirect
from ledger.web.session import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    Checked,
    CsrfRefused,
    WebUser,
    check_origin,
    new_presession,
    runtime_of,
    text_for,
)

router = APIRouter()
MAX_FIELD = 256


def _safe_next(value: str | None) -> str:
    """Only a path of this site: never ``//elsewhere`` or ``https://...`` (open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]


KEEP = "keep."  # prefix of a kept field of a form sent after its session ended


def sign_in_page(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    username: str = "",
    next_path: str | None = None,
    kept: list[tuple[str, str]] | None = None,
) -> Response:
    runtime = runtime_of(request)
    text = text_for(runtime, request.query_params.get("lang"))
    presession = new_presession()
    response = page(
        request,
        "sign_in.html",
        user=None,
        text=text,
        status_code=status,
        error=error,
        username=username,
        presession=presession,
        next=_safe_next(next_path or request.query_params.get("next")),
        demo_users=_demo_logins() if runtime.settings.demo else (),
        kept=[(KEEP + name, value) for name, value in kept or []],
        languages=UI_LANGUAGES,
    )
    response.set_cookie(
        PRE_SESSION_COOKIE,
        presession,
        httponly=True,
        samesite="strict",
        secure=runtime.settings.web_secure_cookies,
        path="/sign-in",
    )
    return response


def _demo_logins() -> list[tuple[str, str, str]]:
    """A demo fund's logins (name, role, password), shown on its sign-in page; a real fund
    never shows any (the demo package is imported only for a demo fund)."""
    from ledger.demo import DEMO_USERS, demo_password

    return [(name, role.value, demo_password(name)) for name, role in DEMO_USERS.items()]


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return sign_in_page(request)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    password: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    presession: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    next: Annotated[str, Form(max_length=600)] = "/",
) -> Response:
    check_origin(request)
    cookie = request.cookies.get(PRE_SESSION_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, presession):
        raise CsrfRefused("the sign-in form is out of date")
    runtime = runtime_of(request)
    text = text_for(runtime, None)
    settings = runtime.settings
    form = await request.form()
    kept = [
        (name.removeprefix(KEEP), value)
        for name, value in form.multi_items()
        if name.startswith(KEEP) and isinstance(value, str)
    ]
    try:
        issued = await run_in_threadpool(
            users.login,
            runtime.unit_of_work(),
            username.strip(),
            password,
            ttl=timedelta(minutes=settings.web_idle_minutes),
        )
    except TooManyAttempts as exc:
        refused = sign_in_page(
            request,
            status=429,
            error=text.text("signin.throttled"),
            username=username,
            next_path=next,
            kept=kept,
        )
        if exc.retry_after:
            refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    except (AuthenticationFailed, ValidationError):
        return sign_in_page(
            request,
            status=401,
            error=text.text("signin.wrong"),
            username=username,
            next_path=next,
            kept=kept,
        )
    if kept:  # back to the form that was sent: the person checks it and sends it again
        user = WebUser(issued.actor, issued.token, text_for(runtime, None))
        response: Response = page(
            request,
            "resume.html",
            user=None,
            text=user.text,
            action=_safe_next(next),
            kept=kept,
            csrf=user.csrf,
        )
    else:
        response = redirect(_safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,  # a new token at each sign-in: the session id is never reused
        httponly=True,
        samesite="lax",
        secure=settings.web_secure_cookies,
        path="/",
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
def sign_out(request: Request, user: Checked) -> Response:
    users.logout(runtime_of(request).unit_of_work(), user.token)
    response = redirect("/sign-in", flash=("flash.signed_out", {}))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/me/language")
def choose_language(
    request: Request,
    user: Checked,
    language: Annotated[str, Form(max_length=16)],
    back: Annotated[str, Form(max_length=600)] = "/",
) -> Response:
    runtime = runtime_of(request)
    users.set_language(runtime.unit_of_work(), user.actor, language, UI_LANGUAGES)
    return redirect(_safe_next(back))
