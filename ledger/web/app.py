"""The web application in the service: its routes, static files, security headers, and its
errors as pages (the API's stay problem+json)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.errors import HANDLERS
from ledger.bank.files import megabytes
from ledger.domain.errors import LedgerError
from ledger.web.render import page, redirect
from ledger.web.routes import (
    admin,
    applications,
    approvals,
    arrears,
    audit,
    auth,
    beneficiaries,
    contracts,
    home,
    loans,
    months,
    payouts,
    reminders,
    statements,
)
from ledger.web.session import CsrfRefused, SignInRequired, runtime_of, text_for

STATIC = Path(__file__).resolve().parent / "static"
ROUTE_MODULES = (
    auth,
    home,
    beneficiaries,
    applications,
    loans,
    contracts,
    approvals,
    admin,
    audit,
    months,
    payouts,
    statements,
    reminders,
    arrears,
)

#: Paths that are not the web application's: the API, the beneficiaries' public pages, health
#: and the API's documentation (which loads Swagger UI with its own scripts).
NOT_WEB = ("/api", "/b/", "/health", "/docs", "/redoc", "/openapi.json")

#: No inline script or style, nothing from elsewhere; htmx is served from /static.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def is_web(path: str) -> bool:
    return not path.startswith(NOT_WEB)


class SecurityHeaders:
    """Adds the CSP and friends to every web response; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if not scope["path"].startswith("/static/"):
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Add the web application to ``app`` (after the API's error handlers)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in ROUTE_MODULES:
        app.include_router(module.router, include_in_schema=False)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, _pages_or(handler))


def _sign_in_required(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, SignInRequired):  # registered for that type only
        raise exc
    target = "/sign-in" + (f"?next={quote(exc.next_path)}" if exc.next_path != "/" else "")
    if request.headers.get("HX-Request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    if request.method == "POST" and exc.kept:
        # A form sent after its session ended: sign in here, what was typed rides along.
        return auth.sign_in_page(request, status=401, next_path=exc.next_path, kept=exc.kept)
    return redirect(target)


def _csrf_refused(request: Request, _exc: Exception) -> Response:
    text = text_for(runtime_of(request), None)
    return page(
        request,
        "error.html",
        user=None,
        text=text,
        status_code=403,
        title=text.text("error.csrf.title"),
        message=text.text("error.csrf.text"),
    )


def _pages_or(api: Callable[[Request, Exception], Response]) -> Callable[..., Response]:
    def handle(request: Request, exc: Exception) -> Response:
        if not is_web(request.url.path):
            return api(request, exc)
        return _error_page(request, exc)

    return handle


def _error_page(request: Request, exc: Exception) -> Response:
    text = text_for(runtime_of(request), None)
    status, title, message = 500, text.text("error.server.title"), text.text("error.server.text")
    if isinstance(exc, LedgerError):
        status, title, message = exc.status, text.refusal_title(exc), text.refusal(exc)
    elif isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        key = "notfound" if status == 404 else "request"
        title, message = text.text(f"error.{key}.title"), text.text(f"error.{key}.text")
    elif isinstance(exc, RequestValidationError):
        status = 404
        title, message = text.text("error.notfound.title"), text.text("error.notfound.text")
    return page(
        request,
        "error.html",
        user=None,
        text=text,
        status_code=status,
        title=title,
        message=message,
    )


def too_large_page(scope: Scope, max_bytes: int) -> Response | None:
    """A request body over its size limit on a web path: a page that says so (the API's paths
    keep their problem+json). A statement file gets the statements' own words."""
    path = scope.get("path", "")
    if not is_web(path):
        return None
    request = Request(scope)
    text = text_for(runtime_of(request), None)
    if path == statements.UPLOAD_PATH:
        message = text.text("err.statement.too_large", most_mb=text.number(megabytes(max_bytes)))
    else:
        message = text.text("error.request.text")
    return page(
        request,
        "error.html",
        user=None,
        text=text,
        status_code=413,
        title=text.text("error.request.title"),
        message=message,
    )


def control_character_page(scope: Scope) -> Response | None:
    """A control character in a web form or address (see ``ledger.api.text_guard``): a page
    that says nothing was saved (the API's paths keep their problem+json)."""
    if not is_web(scope.get("path", "")):
        return None
    request = Request(scope)
    text = text_for(runtime_of(request), None)
    return page(
        request,
        "error.html",
        user=None,
        text=text,
        status_code=422,
        title=text.text("error.request.title"),
        message=text.text("error.request.text"),
    )


def server_error_page(request: Request) -> Response | None:
    """For an unexpected error on a web path: a page that says nothing was saved (the API's
    paths keep their problem+json). Never the error's text: it is logged, without data."""
    if not is_web(request.url.path):
        return None
    try:
        text = text_for(runtime_of(request), None)
    except Exception:  # the error may be in the runtime itself: a plain page then
        return Response("Something went wrong; nothing was saved.", status_code=500)
    return page(
        request,
        "error.html",
        user=None,
        text=text,
        status_code=500,
        title=text.text("error.server.title"),
        message=text.text("error.server.text"),
    )
