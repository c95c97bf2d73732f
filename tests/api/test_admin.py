"""Users and the audit log; every change leaves an audit record, and no secret is logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.domain.roles import SYSTEM
from ledger.services.users import create_user
from ledger.store.uow import UnitOfWork
from tests.support.api import PASSWORD, assert_problem, close_month, counts, entry, with_key
from tests.support.clock import Clock

Headers = dict[str, str]


def user(**fields: Any) -> dict[str, Any]:
    return {"username": "rita", "password": "a long enough password", "role": "auditor", **fields}


def test_create_a_user_who_can_then_log_in(api: TestClient, admin: Headers) -> None:
    response = api.post("/api/users", json=user(), headers=admin)
    assert response.status_code == 201
    assert response.json() == {"username": "rita", "role": "auditor", "active": True}
    listed = api.get("/api/users", headers=admin).json()
    assert listed == [
        {"username": "admin.user", "role": "admin", "active": True},
        {"username": "rita", "role": "auditor", "active": True},
    ]
    assert "password" not in api.get("/api/users", headers=admin).text
    login = api.post(
        "/api/auth/token", json={"username": "rita", "password": "a long enough password"}
    )
    assert login.status_code == 200
    assert login.json()["role"] == "auditor"


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"username": "admin.user"}, 409, "username"),
        ({"username": "Rita Smith"}, 422, "username"),
        ({"username": "r" * 65}, 422, "username"),
        ({"password": "short"}, 422, "password"),
        ({"password": "p" * 257}, 422, "password"),
        ({"password": "Password1234!"}, 422, "password"),  # common (issue 16, #16)
        ({"password": "I am rita, hello"}, 422, "password"),  # holds the username
        ({"role": "superuser"}, 422, "role"),
        ({"role": None}, 422, "role"),
    ],
)
def test_a_user_that_cannot_be_created(
    api: TestClient,
    admin: Headers,
    engine: Engine,
    fields: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = counts(engine)
    response = api.post("/api/users", json=user(**fields), headers=admin)
    assert_problem(response, status, field=field)
    assert counts(engine) == before


def test_every_change_is_audited(
    api: TestClient, treasurer: Headers, admin: Headers, auditor: Headers
) -> None:
    assert api.post("/api/accounts", json={
        "code": "1010", "name": "Savings", "type": "asset", "currency": "EUR"
    }, headers=treasurer).status_code == 201  # fmt: skip
    assert api.post("/api/accounts/1010/close", headers=treasurer).status_code == 200
    posted = api.post("/api/journal", json=entry(), headers=with_key(treasurer, "a1"))
    assert posted.status_code == 201
    reversal = api.post("/api/journal/1/reversal", headers=with_key(treasurer, "a2"))
    assert reversal.status_code == 201
    assert close_month(api, "2026-02", treasurer, admin).status_code == 200
    reopened = api.post("/api/periods/2026-02/reopen", json={"reason": "late bill"}, headers=admin)
    assert reopened.status_code == 200
    assert api.post("/api/users", json=user(), headers=admin).status_code == 201
    bad_login = api.post("/api/auth/token", json={"username": "rita", "password": "wrong!"})
    assert bad_login.status_code == 401
    assert api.post("/api/auth/logout", headers=treasurer).status_code == 204

    log = api.get("/api/audit", params={"limit": 500}, headers=auditor).json()
    records = list(reversed(log["items"]))  # the log is newest first
    assert log["total"] == len(records)
    assert [(r["actor"], r["action"], r["target"]) for r in records] == [
        ("system", "install_chart", None),
        ("system", "create_user", "user:treasurer.user"),
        ("treasurer.user", "login", "auth"),
        ("system", "create_user", "user:admin.user"),
        ("admin.user", "login", "auth"),
        ("system", "create_user", "user:auditor.user"),
        ("auditor.user", "login", "auth"),
        ("treasurer.user", "open_account", "account:1010"),
        ("treasurer.user", "close_account", "account:1010"),
        ("treasurer.user", "post_entry", "entry:1"),
        ("treasurer.user", "reverse_entry", "entry:2"),
        ("treasurer.user", "close_month_request", "2026-02"),
        ("admin.user", "close_month", "2026-02"),
        ("admin.user", "reopen_month", "2026-02"),
        ("admin.user", "create_user", "user:rita"),
        ("rita", "login_failed", "auth"),
        ("treasurer.user", "logout", "auth"),
    ]
    details = {r["action"]: r["details"] for r in records}
    assert details["reopen_month"] == {"reason": "late bill"}
    assert details["create_user"] == {"role": "auditor"}
    assert details["post_entry"] == {"entries": [1], "kinds": ["donation"]}


def test_audit_filters_and_pages(api: TestClient, treasurer: Headers, admin: Headers) -> None:
    for key in ("f1", "f2", "f3"):
        api.post("/api/journal", json=entry(description=key), headers=with_key(treasurer, key))

    def get(**params: Any) -> dict[str, Any]:
        response = api.get("/api/audit", params=params, headers=admin)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    posts = get(action="post_entry")
    assert posts["total"] == 3
    assert [r["target"] for r in posts["items"]] == ["entry:3", "entry:2", "entry:1"]
    mine = get(actor="admin.user")
    assert [r["action"] for r in mine["items"]] == ["login"]
    page = get(action="post_entry", limit=1, offset=2)
    assert (page["total"], [r["target"] for r in page["items"]]) == (3, ["entry:1"])
    assert get(actor="nobody")["total"] == 0
    assert_problem(api.get("/api/audit", params={"limit": 0}, headers=admin), 422, field="limit")
    assert_problem(
        api.get("/api/audit", params={"actor": "a" * 65}, headers=admin), 422, field="actor"
    )


def test_no_password_or_token_is_logged(
    api: TestClient, engine: Engine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.post("/api/users", json=user(), headers={})  # refused: no token
    create_user(UnitOfWork(engine, clock=clock), SYSTEM, "logme", PASSWORD, "treasurer")
    response = api.post("/api/auth/token", json={"username": "logme", "password": PASSWORD})
    token = response.json()["access_token"]
    api.post(
        "/api/journal",
        json=entry(description="secret-description"),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "log-1"},
    )
    api.post("/api/auth/token", json={"username": "logme", "password": "wrong-password-123"})
    text = caplog.text
    for secret in (PASSWORD, token, "wrong-password-123", "secret-description"):
        assert secret not in text
