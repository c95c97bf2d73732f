"""Fixtures for the API tests: the app over the `engine` fixture (SQLite and PostgreSQL).

Users are created on demand (one per role) and logged in through the API itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.accounts import default_chart
from ledger.domain.roles import SYSTEM, Role
from ledger.services import users
from ledger.services.journal import install_chart
from ledger.store.uow import UnitOfWork
from tests.support.api import MAX_BYTES, PASSWORD, TTL_MINUTES, Login, username
from tests.support.api_loans import Team
from tests.support.clock import Clock
from tests.support.contracts import fund_key_file  # noqa: F401  (fixtures offered to the tests here)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its production cost takes half a second per login; tests need many."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        database_url="sqlite://",  # unused: the tests hand over their engine
        token_ttl_minutes=TTL_MINUTES,
        max_request_bytes=MAX_BYTES,
    )


@pytest.fixture
def api(engine: Engine, clock: Clock, settings: Settings) -> Iterator[TestClient]:
    """A client of the API on a database with the default EUR chart installed."""
    install_chart(UnitOfWork(engine, clock=clock), SYSTEM, default_chart("EUR"))
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def login(api: TestClient, engine: Engine, clock: Clock) -> Login:
    """``login(Role.TREASURER)``: headers with a bearer token for a user of that role."""
    tokens: dict[Role, dict[str, str]] = {}

    def _login(role: Role) -> dict[str, str]:
        if role not in tokens:
            users.create_user(
                UnitOfWork(engine, clock=clock), SYSTEM, username(role), PASSWORD, role.value
            )
            response = api.post(
                "/api/auth/token", json={"username": username(role), "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            tokens[role] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return tokens[role]

    return _login


@pytest.fixture
def treasurer(login: Login) -> dict[str, str]:
    return login(Role.TREASURER)


@pytest.fixture
def admin(login: Login) -> dict[str, str]:
    return login(Role.ADMIN)


@pytest.fixture
def auditor(login: Login) -> dict[str, str]:
    return login(Role.AUDITOR)


@pytest.fixture
def team(api: TestClient, engine: Engine, clock: Clock) -> Team:
    """Named staff for the loan tests, two caseworkers and two treasurers among them."""
    return Team(api, engine, clock, PASSWORD).everyone()
