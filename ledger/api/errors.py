"""Every error leaves the API as problem+json (RFC 9457), whatever raised it.

A problem names the ``field`` it is about whenever there is one, so a client can put the message
next to the right input. Nothing internal (exception text, SQL, stack) reaches the client: an
unexpected error is logged here and answered with a plain 500.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.domain.errors import AuthenticationFailed, LedgerError, TooManyAttempts

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:fundledger:problem:"

log = logging.getLogger(__name__)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    errors: Sequence[Mapping[str, str]] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "field": field,
    }
    if instance is not None:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = list(errors)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


class MissingIdempotencyKey(LedgerError):
    code = "idempotency-key-missing"
    status = 400
    title = "Idempotency-Key header required"


class DatabaseUnavailable(LedgerError):
    code = "database-unavailable"
    status = 503
    title = "Database unavailable"


class BodyTooLarge(StarletteHTTPException):
    """Raised while the body streams in, once it passes the limit (see ``limits``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def _ledger_error(request: Request, exc: Exception) -> ProblemResponse:
    if not isinstance(exc, LedgerError):  # registered for that type only
        raise exc
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationFailed) else None
    if isinstance(exc, TooManyAttempts) and exc.retry_after:
        headers = {"Retry-After": str(exc.retry_after)}
    return problem(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        field=exc.field,
        instance=request.url.path,
        headers=headers,
    )


def _field_name(loc: Sequence[int | str]) -> str:
    """``("body", "legs", 1, "amount")`` -> ``legs[1].amount``; a query parameter by its name."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    if not isinstance(exc, RequestValidationError):  # registered for that type only
        raise exc
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem(
            400,
            "malformed-json",
            "Malformed JSON",
            "the request body is not valid JSON; send a JSON object with the fields documented "
            "at /docs",
            field="body",
            instance=request.url.path,
        )
    # Only the location and the message: the input may hold a password or be huge.
    errors = [
        {"field": _field_name(e["loc"]), "message": str(e["msg"]), "type": str(e["type"])}
        for e in raw
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(
        422,
        "validation-error",
        "Invalid input",
        detail,
        field=errors[0]["field"] if errors else None,
        instance=request.url.path,
        errors=errors,
    )


_HTTP_PROBLEMS = {  # status -> (code, title)
    404: ("not-found", "Not Found"),
    405: ("method-not-allowed", "Method Not Allowed"),
    413: ("content-too-large", "Content Too Large"),
}


def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for that type only
        raise exc
    status = exc.status_code
    code, title = _HTTP_PROBLEMS.get(status, (f"http-{status}", HTTPStatus(status).phrase))
    headers = dict(exc.headers or {})
    if status == 404:
        detail = f"there is no {request.url.path}; the endpoints are listed at /docs"
    elif status == 405:
        allowed = _allowed_methods(request)
        headers = {**headers, "Allow": allowed}
        detail = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
    else:
        detail = str(exc.detail)
    return problem(
        status,
        code,
        title,
        detail,
        field="body" if status == 413 else None,
        instance=request.url.path,
        headers=headers,
    )


def _allowed_methods(request: Request) -> str:
    """Every method the path takes (Starlette's own Allow names only the first route's)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(request.url.path):
            methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


#: What SQLite says when another writer holds the database past the busy timeout.
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def is_busy(exc: BaseException) -> bool:
    """SQLite busy or locked, raw or wrapped: the driver's own error escapes SQLAlchemy where
    the connection is used directly (``BEGIN IMMEDIATE`` in ``store.database``)."""
    raw = exc.orig if isinstance(exc, StatementError) else exc
    return isinstance(raw, sqlite3.OperationalError) and str(raw).lower().startswith(_SQLITE_BUSY)


def _database_unavailable(request: Request, exc: Exception) -> Response:
    # Connection lost, server restarting, SQLite busy past its timeout: worth a retry later.
    # Only those: another raw SQLite error (a missing table, a full disk) is a server error.
    if isinstance(exc, sqlite3.OperationalError) and not is_busy(exc):
        raise exc
    _log_error(request, exc, logging.WARNING)
    return problem(
        503,
        DatabaseUnavailable.code,
        DatabaseUnavailable.title,
        "the database did not answer; try again shortly (with the same Idempotency-Key for a "
        "request that moves money, so that it cannot be posted twice)",
        instance=request.url.path,
        headers={"Retry-After": "5"},
    )


class CatchUnexpected:
    """Answer an unexpected exception with a bare 500 problem, and log it without its data.

    An ``Exception`` handler would run in Starlette's ServerErrorMiddleware, which re-raises so
    that the server logs the full exception text, SQL parameters included. Here it stops.
    """

    def __init__(
        self, app: ASGIApp, page: Callable[[Request], Response | None] | None = None
    ) -> None:
        self.app = app
        self.page = page  # the web application's error page for its own paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as exc:
            request = Request(scope)
            _log_error(request, exc, logging.ERROR)
            if started:
                return  # the client sees a cut-off response; nothing better can be sent
            page = self.page(request) if self.page is not None else None
            if page is not None:
                await page(scope, receive, send)
                return
            response = problem(
                500,
                "internal-error",
                "Internal server error",
                "something went wrong on the server; the error is logged. Check the ledger "
                "before retrying anything that is not idempotent, and tell the administrator "
                "if it persists",
                instance=request.url.path,
            )
            await response(scope, receive, send)


def _log_error(request: Request, exc: Exception, level: int) -> None:
    where = f"{request.method} {request.url.path}"
    if is_busy(exc):
        log.log(level, "database busy on %s: %s", where, type(exc).__name__)
    elif isinstance(exc, StatementError):
        # Its text carries the SQL parameters (request data, hashes): log where, not what.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.log(level, "database error on %s: %s\n%s", where, type(exc.orig).__name__, frames)
    else:
        log.log(level, "unexpected error on %s", where, exc_info=exc)


#: The API's answer to each kind of error, as problem+json; the web application answers its
#: own pages' errors with pages and hands the rest to these (``ledger.web.app``).
HANDLERS: dict[type[Exception], Callable[[Request, Exception], Response]] = {
    LedgerError: _ledger_error,
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    OperationalError: _database_unavailable,
    sqlite3.OperationalError: _database_unavailable,
}


def install_error_handlers(app: FastAPI) -> None:
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)
