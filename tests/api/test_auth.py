"""Logging in, tokens that expire or are revoked, and what a missing token gets."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.domain.roles import SYSTEM, Role
from ledger.services import users
from ledger.store.uow import UnitOfWork
from tests.support.api import PASSWORD, TTL_MINUTES, Login, assert_problem, audit_actions
from tests.support.clock import Clock


@pytest.fixture
def tina(engine: Engine, clock: Clock, api: TestClient) -> str:
    users.create_user(UnitOfWork(engine, clock=clock), SYSTEM, "tina", PASSWORD, "treasurer")
    return "tina"


def token_for(api: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = api.post("/api/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_login_issues_a_bearer_token(
    api: TestClient, tina: str, clock: Clock, engine: Engine
) -> None:
    response = api.post("/api/auth/token", json={"username": tina, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "treasurer"
    assert body["username"] == "tina"
    assert len(body["access_token"]) >= 40
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires == clock.now + timedelta(minutes=TTL_MINUTES)
    assert response.headers["cache-control"] == "no-store"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert api.get("/api/accounts", headers=headers).status_code == 200
    assert audit_actions(engine)[-1] == "login"


@pytest.mark.parametrize(
    ("username", "password"),
    [("tina", "wrong password, sorry"), ("nobody", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_login_refused_says_nothing_more(
    api: TestClient, tina: str, engine: Engine, username: str, password: str
) -> None:
    response = api.post("/api/auth/token", json={"username": username, "password": password})
    body = assert_problem(response, 401, code="unauthenticated")
    assert body["detail"] == "wrong username or password"
    assert response.headers["www-authenticate"] == "Bearer"
    assert "access_token" not in response.text
    assert audit_actions(engine)[-1] == "login_failed"


def test_login_with_a_missing_password_is_a_validation_error(api: TestClient) -> None:
    response = api.post("/api/auth/token", json={"username": "tina"})
    body = assert_problem(response, 422, field="password", code="validation-error")
    assert body["errors"] == [{"field": "password", "message": "Field required", "type": "missing"}]


def test_password_is_never_echoed(api: TestClient) -> None:
    secret = "my-secret-passphrase-" + "x" * 300  # too long: refused by validation
    response = api.post("/api/auth/token", json={"username": "tina", "password": secret})
    assert_problem(response, 422, field="password")
    assert "my-secret-passphrase" not in response.text


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer not-a-real-token",
        "Basic dGluYTpwYXNzd29yZA==",
        "Bearer " + "a" * 300,
    ],
    ids=["missing", "empty", "unknown", "basic-scheme", "oversized"],
)
def test_requests_without_a_valid_token_are_refused(
    api: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = api.get("/api/accounts", headers=headers)
    assert_problem(response, 401, code="unauthenticated", field=None)
    assert response.headers["www-authenticate"] == "Bearer"


def test_token_expires_after_its_ttl(api: TestClient, tina: str, clock: Clock) -> None:
    headers = token_for(api, tina)
    clock.advance(minutes=TTL_MINUTES - 1)
    assert api.get("/api/accounts", headers=headers).status_code == 200
    clock.advance(minutes=1)
    response = api.get("/api/accounts", headers=headers)
    body = assert_problem(response, 401, code="unauthenticated")
    assert "expired" in body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_logout_revokes_only_that_token(api: TestClient, tina: str, engine: Engine) -> None:
    first, second = token_for(api, tina), token_for(api, tina)
    response = api.post("/api/auth/logout", headers=first)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(api.get("/api/accounts", headers=first), 401)
    assert_problem(api.post("/api/auth/logout", headers=first), 401)
    assert api.get("/api/accounts", headers=second).status_code == 200
    assert audit_actions(engine).count("logout") == 1


def test_logout_needs_a_token(api: TestClient) -> None:
    assert_problem(api.post("/api/auth/logout"), 401, code="unauthenticated")


def test_a_deactivated_user_loses_their_tokens(
    api: TestClient, login: Login, engine: Engine, clock: Clock
) -> None:
    headers = login(Role.AUDITOR)
    users.deactivate_user(UnitOfWork(engine, clock=clock), SYSTEM, "auditor.user")
    assert_problem(api.get("/api/journal", headers=headers), 401)


def test_repeated_failures_are_a_429_with_retry_after_and_audited(
    api: TestClient, tina: str, clock: Clock, engine: Engine
) -> None:
    """Issue 16 (#16): the API's token endpoint says when to come back, as the web's page does."""
    for _ in range(users.MAX_FAILED_LOGINS):
        wrong = api.post("/api/auth/token", json={"username": tina, "password": "wrong " * 3})
        assert_problem(wrong, 401)
    throttled = api.post("/api/auth/token", json={"username": tina, "password": PASSWORD})
    assert_problem(throttled, 429, code="too-many-attempts")
    assert throttled.headers["Retry-After"] == str(int(users.THROTTLE_WINDOW.total_seconds()))
    assert "login_throttled" in audit_actions(engine)
    clock.advance(seconds=int(throttled.headers["Retry-After"]) + 1)
    assert api.post("/api/auth/token", json={"username": tina, "password": PASSWORD}).is_success
