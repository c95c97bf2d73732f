"""A busy SQLite is answered 503 with Retry-After, as documented, not 500: the raw
``sqlite3.OperationalError`` that ``BEGIN IMMEDIATE`` raises past the busy timeout, and
SQLAlchemy's wrapper of it (issue 16, finding 18)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.accounts import default_chart
from ledger.domain.roles import SYSTEM
from ledger.services import journal, users
from ledger.services.journal import install_chart
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.uow import UnitOfWork
from tests.support.api import PASSWORD, assert_problem, counts, entry, with_key
from tests.support.clock import Clock


@pytest.fixture
def busy_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file whose connections wait 50 ms, not 30 s, for another writer."""
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")

    @event.listens_for(engine, "connect")
    def _short_wait(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 50")

    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_a_locked_database_is_a_503_with_retry_after(
    busy_engine: Engine, clock: Clock, settings: Settings, tmp_path: Path
) -> None:
    install_chart(UnitOfWork(busy_engine, clock=clock), SYSTEM, default_chart("EUR"))
    users.create_user(UnitOfWork(busy_engine, clock=clock), SYSTEM, "tom", PASSWORD, "treasurer")
    app = create_app(settings, engine=busy_engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as api:
        token = api.post("/api/auth/token", json={"username": "tom", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        before = counts(busy_engine)
        other = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing
        try:
            response = api.post("/api/journal", json=entry(), headers=with_key(headers, "busy"))
        finally:
            other.rollback()
            other.close()
        problem = assert_problem(response, 503, code="database-unavailable")
        assert response.headers["retry-after"] == "5"
        assert "try again" in problem["detail"]
        assert counts(busy_engine) == before
        retried = api.post("/api/journal", json=entry(), headers=with_key(headers, "busy"))
        assert retried.status_code == 201, retried.text


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked")),
    ],
    ids=["raw", "wrapped"],
)
def test_busy_raw_or_wrapped_is_a_503(
    api: TestClient,
    treasurer: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
) -> None:
    def busy(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(journal, "list_accounts", busy)
    with caplog.at_level(logging.WARNING):
        response = api.get("/api/accounts", headers=treasurer)
    assert_problem(response, 503, code="database-unavailable")
    assert response.headers["retry-after"] == "5"
    assert "database busy on GET /api/accounts" in caplog.text


def test_another_raw_sqlite_error_stays_a_500(
    api: TestClient, treasurer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("no such table: accounts")

    monkeypatch.setattr(journal, "list_accounts", broken)
    response = api.get("/api/accounts", headers=treasurer)
    assert_problem(response, 500, code="internal-error")
    assert "no such table" not in response.text
