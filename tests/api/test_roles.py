"""Each role against each endpoint: allowed ones succeed, the others get 403 and change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import money
from ledger.domain.roles import SYSTEM, Role
from ledger.domain.statuses import EntryKind
from ledger.services.journal import post_manual_entry
from ledger.services.periods import close_month
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.api import Login, assert_problem, counts, entry
from tests.support.clock import Clock

READERS = {Role.ADMIN, Role.TREASURER, Role.AUDITOR}
MANAGERS = {Role.ADMIN, Role.TREASURER}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    allowed: frozenset[Role]
    status: int = 200
    body: dict[str, Any] | None = None
    keyed: bool = False  # needs an Idempotency-Key


CALLS = [
    Call("GET", "/api/accounts", frozenset(READERS)),
    Call(
        "POST",
        "/api/accounts",
        frozenset(MANAGERS),
        201,
        {"code": "1010", "name": "Savings", "type": "asset", "currency": "EUR", "role": "bank"},
    ),
    Call("GET", "/api/accounts/1000", frozenset(READERS)),
    Call("POST", "/api/accounts/6100/close", frozenset(MANAGERS)),
    Call("GET", "/api/accounts/1000/balance", frozenset(READERS)),
    Call("GET", "/api/accounts/1000/statement", frozenset(READERS)),
    Call("GET", "/api/journal", frozenset(READERS)),
    Call("GET", "/api/journal/1", frozenset(READERS)),
    Call("POST", "/api/journal", frozenset({Role.TREASURER}), 201, entry(), keyed=True),
    Call("POST", "/api/journal/1/reversal", frozenset({Role.TREASURER}), 201, keyed=True),
    Call("GET", "/api/trial-balance", frozenset(READERS)),
    Call("GET", "/api/periods", frozenset(READERS)),
    Call("GET", "/api/periods/2026-02", frozenset(READERS)),
    Call("POST", "/api/periods/2026-02/close-requests", frozenset(MANAGERS), 201),
    Call("POST", "/api/periods/2026-01/reopen", frozenset({Role.ADMIN}), 200, {"reason": "typo"}),
    Call("GET", "/api/audit", frozenset({Role.ADMIN, Role.AUDITOR})),
    Call("GET", "/api/users", frozenset({Role.ADMIN})),
    Call(
        "POST",
        "/api/users",
        frozenset({Role.ADMIN}),
        201,
        {"username": "new.user", "password": "a long enough password", "role": "auditor"},
    ),
]

CASES = [
    pytest.param(call, role, id=f"{call.method} {call.path} as {role.value}")
    for call in CALLS
    for role in Role
]


@pytest.fixture
def seeded(api: TestClient, engine: Engine, clock: Clock) -> TestClient:
    """Entry 1 (capital on 2026-03-01) and January 2026 closed."""
    eur = money("1000.00", "EUR")
    post_manual_entry(
        UnitOfWork(engine, clock=clock),
        TREASURER,
        EntryDraft(
            date(2026, 3, 1),
            "Capital",
            EntryKind.CAPITAL,
            (Leg.debit("1000", eur), Leg.credit("3000", eur)),
        ),
    )
    close_month(UnitOfWork(engine, clock=clock), SYSTEM, "2026-01")
    return api


@pytest.mark.parametrize(("call", "role"), CASES)
def test_role_matrix(
    seeded: TestClient, login: Login, engine: Engine, call: Call, role: Role
) -> None:
    headers = login(role)
    if call.keyed:
        headers = {**headers, "Idempotency-Key": "roles-1"}
    before = counts(engine)
    response = seeded.request(call.method, call.path, headers=headers, json=call.body)
    if role in call.allowed:
        assert response.status_code == call.status, response.text
        assert response.headers["content-type"] == "application/json"
    else:
        body = assert_problem(response, 403, code="forbidden")
        assert f"your role ({role.value})" in body["detail"]
        assert counts(engine) == before
