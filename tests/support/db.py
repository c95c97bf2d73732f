"""Test databases: fresh SQLite copies of a migrated template, a PostgreSQL database per
pytest-xdist worker, and emptying PostgreSQL between tests.

PostgreSQL tests run when FUNDLEDGER_TEST_POSTGRES_URL names a database the tests may wipe
(`.ci/run` creates a fresh one). Without it they are skipped, except under CI=true or
FUNDLEDGER_REQUIRE_POSTGRES=1, where a missing server fails the run instead of hiding it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, make_url, text

from ledger.store.database import make_engine
from ledger.store.tables import metadata

PG_URL_ENV = "FUNDLEDGER_TEST_POSTGRES_URL"


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
