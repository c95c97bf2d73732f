"""Helpers for the API tests: request bodies, problem checks, row counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from ledger.domain.roles import Role
from ledger.store.tables import audit_log, idempotency_keys, journal_entries, journal_legs

PROBLEM_JSON = "application/problem+json"
#: The API tests' settings and users (tests/api/conftest.py).
PASSWORD = "correct horse battery staple"
TTL_MINUTES = 60
MAX_BYTES = 20_000

#: ``login(Role.TREASURER)``: headers with a bearer token for a user of that role.
Login = Callable[[Role], dict[str, str]]


def username(role: Role) -> str:
    """The login name of the user the ``login`` fixture creates for ``role``."""
    return f"{role.value}.user"


def leg(account: str, side: str, amount: Any, currency: str = "EUR") -> dict[str, Any]:
    return {"account": account, "side": side, "amount": amount, "currency": currency}


def entry(
    amount: Any = "100.00",
    *,
    booking_date: str = "2026-03-01",
    description: str = "Donation from a parish",
    kind: str = "donation",
    debit: str = "1000",
    credit: str = "4000",
) -> dict[str, Any]:
    """A balanced two-leg entry body (Dr ``debit`` / Cr ``credit``)."""
    return {
        "booking_date": booking_date,
        "description": description,
        "kind": kind,
        "legs": [leg(debit, "debit", amount), leg(credit, "credit", amount)],
    }


def with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def assert_problem(
    response: httpx.Response, status: int, *, field: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The response is RFC 9457 problem+json with this status (and field, and code)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:fundledger:problem:")
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "field" in body
    if field is not None:
        assert body["field"] == field, body
    if code is not None:
        assert body["code"] == code, body
        assert body["type"] == f"urn:fundledger:problem:{code}"
    return body


def counts(engine: Engine) -> dict[str, int]:
    """Rows in the tables a posting writes to (and the audit log)."""
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (journal_entries, journal_legs, idempotency_keys, audit_log)
        }


def audit_actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


def close_month(
    api: Any,
    month: str,
    asker: dict[str, str],
    signer: dict[str, str],
    reason: str | None = None,
) -> httpx.Response:
    """A month closed in its two steps: ``asker`` asks (with the reason to close a month that
    does not reconcile, if any), ``signer`` signs the close off; the sign-off's response."""
    body = {"reason": reason} if reason is not None else None
    asked = api.post(f"/api/periods/{month}/close-requests", json=body, headers=asker)
    assert asked.status_code == 201, asked.text
    response: httpx.Response = api.post(f"/api/periods/{month}/close", headers=signer)
    return response
