"""Migrations: up from nothing, down to nothing, up again; and the same schema as tables.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, make_url, text

from ledger.domain.accounts import default_chart
from ledger.domain.roles import SYSTEM
from ledger.services.journal import install_chart
from ledger.services.verify import verify
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.tables import GUARDED_REFERENCES, include_in_comparison, metadata
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.db import postgres_url
from tests.support.ledgertext import book

APPEND_ONLY = ("journal_entries", "journal_legs", "period_events", "audit_log")
SQLITE_TRIGGERS = {
    *(f"{t}_no_{op}" for t in APPEND_ONLY for op in ("update", "delete")),
    "journal_legs_guard",
    "journal_entries_seal",
}
POSTGRES_TRIGGERS = {
    *(f"{t}_{kind}" for t in APPEND_ONLY for kind in ("append_only", "no_truncate")),
    "journal_legs_guard",
    "journal_entries_seal",
    # Since 0007 the commit-time balance check is queued once per INSERT statement on entries
    # and on legs, and runs on the queued row of journal_commit_checks.
    "journal_entries_balanced",
    "journal_legs_balanced",
    "journal_commit_checks_run",
    "journal_commit_checks_no_update",
    "journal_commit_checks_no_truncate",
}
POSTGRES_FUNCTIONS = {
    "fundledger_refuse_change",
    "fundledger_legs_guard",
    "fundledger_entries_seal",
    "fundledger_entry_balanced",
    "fundledger_entries_to_check",
    "fundledger_legs_to_check",
    "fundledger_refuse_check_change",
}


def triggers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return set(conn.execute(text(sql)).scalars())


def functions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'fundledger%'"))
        return set(rows.scalars())


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        include = partial(include_in_comparison, dialect=engine.dialect.name)
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include}
        )
        return list(compare_metadata(context, metadata))


def assert_at_head(engine: Engine) -> None:
    assert migrate.current_revision(engine) == migrate.head_revision()
    migrate.check_schema(engine)
    assert set(inspect(engine).get_table_names()) == {*metadata.tables, "alembic_version"}
    assert schema_differences(engine) == []
    # The ledger core's guards (later migrations may add guards of their own).
    if engine.dialect.name == "sqlite":
        assert triggers(engine) >= SQLITE_TRIGGERS
    else:
        assert triggers(engine) >= POSTGRES_TRIGGERS
        assert functions(engine) >= POSTGRES_FUNCTIONS


def assert_empty(engine: Engine) -> None:
    assert migrate.current_revision(engine) is None
    with pytest.raises(migrate.SchemaOutdated, match="fundledger init"):
        migrate.check_schema(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert triggers(engine) == set()
    if engine.dialect.name == "postgresql":
        assert functions(engine) == set()


def use_the_books(engine: Engine) -> None:
    uow = UnitOfWork(engine, clock=Clock())
    install_chart(uow, SYSTEM, default_chart("EUR"))
    book(uow, TREASURER, "2026-03-01 capital 100.00 Dr 1000 Cr 3000")
    assert verify(uow, AUDITOR).ok


def round_trip(engine: Engine) -> None:
    assert_empty(engine)
    migrate.upgrade(engine)
    assert_at_head(engine)
    use_the_books(engine)  # down must work with data in the tables, guards and all
    migrate.downgrade(engine, "base")
    assert_empty(engine)
    migrate.upgrade(engine)
    assert_at_head(engine)
    use_the_books(engine)


def test_sqlite_up_down_up(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'migrations.db'}")
    try:
        round_trip(engine)
    finally:
        engine.dispose()


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards."""
    server = make_url(url)
    name = f"fl_migrations_{uuid.uuid4().hex[:12]}"
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_postgres_up_down_up() -> None:
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL not configured: set FUNDLEDGER_TEST_POSTGRES_URL")
    with scratch_database(url) as scratch:
        engine = make_engine(scratch)
        try:
            round_trip(engine)
        finally:
            engine.dispose()


def journal_guards(engine: Engine) -> dict[str, tuple[str, str, bool]]:
    """The journal's guard triggers: name -> (table, function, is a constraint trigger)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.tgname, c.relname, p.proname, t.tgconstraint <> 0 FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE NOT t.tgisinternal AND c.relname LIKE 'journal%'"
            )
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


def function_sources(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'fundledger%'")
        )
        return {r[0]: r[1] for r in rows}


@pytest.mark.postgres
def test_postgres_down_from_0007_restores_0006() -> None:
    """0007 down gives back 0006's guards exactly: the per-entry check at commit, 0005's
    functions word for word, no table of queued checks."""
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL not configured: set FUNDLEDGER_TEST_POSTGRES_URL")
    with scratch_database(url) as scratch:
        engine = make_engine(scratch)
        try:
            migrate.upgrade(engine, "0006")
            guards_0006, sources_0006 = journal_guards(engine), function_sources(engine)
            assert guards_0006["journal_entries_balanced"] == (
                "journal_entries",
                "fundledger_entry_balanced",
                True,
            )
            migrate.upgrade(engine)
            guards = journal_guards(engine)
            assert guards["journal_entries_balanced"][2] is False  # once per statement now
            assert guards["journal_commit_checks_run"][2] is True
            use_the_books(engine)
            with engine.connect() as conn:  # the queued checks ran and removed their rows
                queued = conn.execute(text("SELECT count(*) FROM journal_commit_checks"))
                assert queued.scalar_one() == 0
            migrate.downgrade(engine, "0006")
            assert journal_guards(engine) == guards_0006
            assert function_sources(engine) == sources_0006
            assert "journal_commit_checks" not in inspect(engine).get_table_names()
            uow = UnitOfWork(engine, clock=Clock())
            book(uow, TREASURER, "2026-03-02 donation 5.00 Dr 1000 Cr 4000")
            migrate.upgrade(engine)  # this code's verify reads tables added after 0006
            assert verify(uow, AUDITOR).ok
        finally:
            engine.dispose()


def test_migrated_schema_matches_tables(engine: Engine) -> None:
    """What the tests (and the application) run on is exactly what tables.py describes."""
    assert schema_differences(engine) == []
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_guarded_references_are_declared_on_sqlite_and_triggers_on_postgres(
    engine: Engine,
) -> None:
    """The one difference the schema comparison allows, checked here: PostgreSQL has the three
    references as guards (migration 0008), SQLite as foreign keys."""
    found = {
        fk["name"]
        for table in ("journal_legs", "idempotency_keys")
        for fk in inspect(engine).get_foreign_keys(table)
    }
    if engine.dialect.name == "postgresql":
        assert found.isdisjoint(GUARDED_REFERENCES)
        assert {"journal_legs_guard", "idempotency_keys_guard", "accounts_no_delete"} <= triggers(
            engine
        )
    else:
        # SQLite reflects unnamed constraints; the columns tell which they are.
        columns = {
            (table, tuple(fk["constrained_columns"]))
            for table in ("journal_legs", "idempotency_keys")
            for fk in inspect(engine).get_foreign_keys(table)
        }
        assert columns >= {
            ("journal_legs", ("account_id",)),
            ("journal_legs", ("entry_id",)),
            ("idempotency_keys", ("entry_id",)),
        }
        assert {"accounts_no_delete", "accounts_keep_id"} <= triggers(engine)


def test_schema_outdated_names_both_revisions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
        with pytest.raises(migrate.SchemaOutdated, match=r"0000.*needs"):
            migrate.check_schema(engine)
    finally:
        engine.dispose()
