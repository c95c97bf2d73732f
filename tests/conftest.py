"""Shared fixtures: fresh databases on SQLite (always) and PostgreSQL (when configured).

PostgreSQL tests run when FUNDLEDGER_TEST_POSTGRES_URL names a database the tests may wipe
(`.ci/run` creates a fresh one). Without it they are skipped, except under CI=true or
FUNDLEDGER_REQUIRE_POSTGRES=1, where a missing server fails the run instead of hiding it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, make_url, text

from ledger.domain.accounts import default_chart
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.services.journal import install_chart
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.tables import metadata
from ledger.store.uow import UnitOfWork

PG_URL_ENV = "FUNDLEDGER_TEST_POSTGRES_URL"
TREASURER = Actor("tina.treasurer", Role.TREASURER)
ADMIN = Actor("adam.admin", Role.ADMIN)
AUDITOR = Actor("aude.auditor", Role.AUDITOR)
CASEWORKER = Actor("carl.caseworker", Role.CASEWORKER)


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(
        "FUNDLEDGER_REQUIRE_POSTGRES", ""
    ) not in ("", "0")


def postgres_url() -> str | None:
    url = os.environ.get(PG_URL_ENV)
    if url:
        return url
    if postgres_required():
        pytest.fail(f"{PG_URL_ENV} is not set but PostgreSQL tests are required here (CI)")
    return None


class Clock:
    """A clock tests can set and move; starts at noon UTC on 2026-03-15."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def fresh_sqlite(template: Path, directory: Path) -> Engine:
    path = directory / "ledger.db"
    shutil.copyfile(template, path)
    return make_engine(f"sqlite:///{path}")


@contextmanager
def worker_database(url: str, worker: str) -> Iterator[str]:
    """A database of this pytest-xdist worker's own beside the configured one, so that
    workers running in parallel never wipe each other's tables."""
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin_url = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_session_engine() -> Iterator[Engine]:
    url = postgres_url()
    if url is None:
        pytest.skip(f"PostgreSQL not configured: set {PG_URL_ENV} to run these tests")
    with ExitStack() as stack:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:
            url = stack.enter_context(worker_database(url, worker))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        migrate.downgrade(engine, "base")
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        migrate.upgrade(engine)
        yield engine


def reset_postgres(engine: Engine) -> None:
    """Empty every table. The append-only guards are bypassed with the superuser's
    session_replication_role, exactly the escape hatch an attacker with such rights has too."""
    tables = ", ".join(t.name for t in reversed(metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(
            text("INSERT INTO chain_head (id, last_entry_id, last_hash) VALUES (1, 0, :h)"),
            {"h": "0" * 64},
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[Engine]:
    """An empty, migrated database on each engine."""
    if request.param == "sqlite":
        eng = fresh_sqlite(sqlite_template, tmp_path)
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("pg_session_engine")
        reset_postgres(eng)
        yield eng


@pytest.fixture
def uow(engine: Engine, clock: Clock) -> UnitOfWork:
    return UnitOfWork(engine, clock=clock)


@pytest.fixture
def chart(uow: UnitOfWork) -> UnitOfWork:
    """The unit of work on a database with the default EUR chart installed."""
    install_chart(uow, SYSTEM, default_chart("EUR"))
    return uow
