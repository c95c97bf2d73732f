"""The HTTP API: ``create_app()`` builds it (``uvicorn --factory ledger.api.app:create_app``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import Engine

import ledger
from ledger.api.deps import IDEMPOTENCY_HEADER
from ledger.api.errors import PROBLEM_JSON, CatchUnexpected, install_error_handlers
from ledger.api.limits import BodySizeLimit
from ledger.api.routers import (
    accounts,
    admin,
    auth,
    beneficiaries,
    documents,
    health,
    journal,
    loans,
    payment_files,
    periods,
    reports,
    statements,
)
from ledger.api.schemas import Problem
from ledger.api.text_guard import RefuseControlCharacters
from ledger.bootstrap import build
from ledger.config import Settings
from ledger.config_errors import SettingsInvalid
from ledger.domain.journal import MAX_REFERENCE
from ledger.store.uow import Clock
from ledger.web import app as web
from ledger.web.routes import contracts as web_contracts
from ledger.web.routes import statements as web_statements

DESCRIPTION = """
Double-entry ledger of a rental guarantee loan fund.

* Log in with `POST /api/auth/token`, then send `Authorization: Bearer <token>`.
* Amounts are decimal **strings** (`"12.34"`), always positive in requests; `side` says debit or
  credit. JSON numbers are refused for money.
* Requests that move money need an `Idempotency-Key` header; a retry with the same key and body
  returns the first result.
* Every error is `application/problem+json` (RFC 9457) and names the `field` it is about.
"""

_PROBLEM = {"model": Problem}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_PROBLEM, "description": "Malformed request (e.g. invalid JSON, missing header)"},
    401: {**_PROBLEM, "description": "Missing, unknown, expired or revoked token"},
    403: {**_PROBLEM, "description": "Your role may not do this"},
    404: {**_PROBLEM, "description": "Not found"},
    409: {**_PROBLEM, "description": "Conflicts with the ledger's state"},
    413: {**_PROBLEM, "description": "Request body too large"},
    422: {**_PROBLEM, "description": "Invalid input; `errors` names every field"},
}


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The API on ``engine`` (default: one for ``settings.database_url``).

    Refuses to build on a database whose schema is not this code's (``SchemaOutdated`` says to
    run ``fundledger init``): serving an old schema could write rows the code cannot read back.
    """
    try:
        runtime = build(settings, engine=engine, clock=clock)
    except SettingsInvalid as exc:  # the server's start: a line a setting, not a traceback
        raise SystemExit("\n".join(f"error: {line}" for line in str(exc).splitlines())) from None
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.close()

    app = FastAPI(
        title=settings.fund_name,
        description=DESCRIPTION,
        version=ledger.__version__,
        lifespan=lifespan,
    )
    app.state.ledger = runtime
    # Inside the size limit: it reads only bodies already known to be small enough.
    app.add_middleware(RefuseControlCharacters, page=web.control_character_page)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        larger={
            statements.UPLOAD_PATH: settings.max_statement_bytes,
            documents.UPLOAD_PATH: settings.max_upload_bytes + documents.MULTIPART_OVERHEAD,
            web_contracts.SCAN_PATH: settings.max_upload_bytes + documents.MULTIPART_OVERHEAD,
            web_statements.UPLOAD_PATH: settings.max_statement_bytes + documents.MULTIPART_OVERHEAD,
        },
        page=web.too_large_page,
    )
    # Added last: the outermost, so it sees every error; the web's paths get a page.
    app.add_middleware(CatchUnexpected, page=web.server_error_page)
    install_error_handlers(app)

    app.include_router(health.router)
    app.include_router(documents.router)  # its own paths: under /api, and the public /b/
    api = APIRouter(prefix="/api", responses=PROBLEM_RESPONSES)
    for module in (
        auth,
        accounts,
        journal,
        periods,
        admin,
        beneficiaries,
        loans,
        statements,
        payment_files,
        reports,
    ):
        api.include_router(module.router)
    api.include_router(periods.months)
    app.include_router(api)
    web.install(app)  # the staff web application at /, on the same services
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema, with error responses under their real media type."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for parameter in operation.get("parameters", []):
                    # Optional in Python only to answer its absence with a clear 400.
                    if parameter["name"] == IDEMPOTENCY_HEADER:
                        parameter["required"] = True
                        parameter["schema"] = {"type": "string", "maxLength": MAX_REFERENCE}
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[0] in "45" and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
                    for media in [m for m in content if m != PROBLEM_JSON]:
                        # A Problem under a route's own media type (an HTML page's 422).
                        ref = content[media].get("schema", {}).get("$ref", "")
                        if status[0] in "45" and ref.endswith("/Problem"):
                            content[PROBLEM_JSON] = content.pop(media)
        app.openapi_schema = schema
    return app.openapi_schema
