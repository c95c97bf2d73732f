"""The journal's write path: one statement per table and batch, and the same rows either way.

On PostgreSQL a batch's legs, entries and idempotency keys go as one ``INSERT ... SELECT FROM
unnest`` each; on SQLite they go to the driver as SQL compiled once. Both must store exactly
what a statement compiled by SQLAlchemy stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select, text

from ledger.domain.journal import EntryDraft, EntryKind, Leg
from ledger.domain.money import from_minor
from ledger.services.journal import post
from ledger.services.verify import verify
from ledger.store.repositories import _SQLITE_INSERT_AUDIT, _SQLITE_INSERT_ENTRIES
from ledger.store.tables import audit_log, journal_entries
from ledger.store.uow import UnitOfWork
from tests.conftest import AUDITOR, TREASURER, fresh_sqlite
from tests.integration.helpers import balances


def drafts(n: int, prefix: str) -> list[EntryDraft]:
    out = []
    for i in range(n):
        amount = from_minor(100 + i, "EUR")
        legs = (Leg.debit("1000", amount), Leg.credit("4000", amount))
        if i % 3 == 2:
            fee = from_minor(7, "EUR")
            legs = (Leg.debit("6100", fee), Leg.credit("1000", fee))
        out.append(
            EntryDraft(
                booking_date=date(2026, 3, 2),
                description=f"gift {i} ; with 'quotes', \"double\", {{braces}} and \\ é",
                kind=EntryKind.DONATION if i % 3 != 2 else EntryKind.BANK_CHARGE,
                legs=legs,
                idempotency_key=f"{prefix}-{i}" if i % 2 == 0 else None,
            )
        )
    return out


class Statements:
    """The SQL statements an engine runs, with whether each ran as an executemany."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, bool]] = []

    def __call__(self, *args: Any) -> None:
        _conn, _cursor, statement, _params, _context, executemany = args
        self.seen.append((" ".join(statement.split()), bool(executemany)))

    def writing(self, table: str) -> list[tuple[str, bool]]:
        return [(s, many) for s, many in self.seen if f"INSERT INTO {table} " in s]


@pytest.fixture
def statements(funded: UnitOfWork) -> Iterator[Statements]:
    seen = Statements(funded.engine)
    event.listen(funded.engine, "before_cursor_execute", seen)
    yield seen
    event.remove(funded.engine, "before_cursor_execute", seen)


def test_a_batch_is_one_statement_per_table(funded: UnitOfWork, statements: Statements) -> None:
    before = balances(funded)
    posted = post(funded, TREASURER, drafts(40, "batch"))
    assert [p.replayed for p in posted] == [False] * 40
    for table in ("journal_legs", "journal_entries", "idempotency_keys", "audit_log"):
        assert len(statements.writing(table)) == 1, (table, statements.writing(table))
    if funded.engine.dialect.name == "postgresql":  # arrays, not a statement per row
        for table in ("journal_legs", "journal_entries", "idempotency_keys"):
            sql, many = statements.writing(table)[0]
            assert "unnest(" in sql and not many, table
        assert not any(
            s.startswith("UPDATE accounts") or s.startswith("UPDATE chain_head")
            for s, _ in statements.seen
        )  # carried by the legs' and the entries' statements
    after = balances(funded)
    charges = sum(7 for i in range(40) if i % 3 == 2)
    gifts = sum(100 + i for i in range(40) if i % 3 != 2)
    assert after["1000"] - before["1000"] == gifts - charges
    assert after["4000"] - before["4000"] == -gifts
    assert after["6100"] - before["6100"] == charges
    report = verify(funded, AUDITOR)
    assert report.ok, report.summary()
    # A retry of the same batch replays the entries that had a key and posts the others again.
    again = post(funded, TREASURER, drafts(40, "batch"))
    assert [p.replayed for p in again] == [i % 2 == 0 for i in range(40)]
    assert [p.entry.id for p in again if p.replayed] == [
        p.entry.id for i, p in enumerate(posted) if i % 2 == 0
    ]


def test_entries_read_back_as_posted(funded: UnitOfWork) -> None:
    posted = post(funded, TREASURER, drafts(5, "read"))
    with funded:
        stored = funded.journal.get_many([p.entry.id for p in posted])
    for p in posted:
        assert stored[p.entry.id] == p.entry


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    engine = fresh_sqlite(sqlite_template, tmp_path)
    yield engine
    engine.dispose()


def test_driver_statements_store_what_compiled_statements_store(sqlite_engine: Engine) -> None:
    """SQLite's driver SQL binds values through the columns' types: the same stored text.
    (PostgreSQL sends typed arrays; test_entries_read_back_as_posted covers it there.)"""
    at = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
    row = {"at": at, "actor": "t", "action": "check", "target": None, "details": "{}"}
    with sqlite_engine.begin() as conn:
        conn.execute(insert(audit_log).values(**row))
        _SQLITE_INSERT_AUDIT.run(conn, [row])
        stored = conn.execute(
            text("SELECT at, typeof(at) FROM audit_log WHERE action = 'check' ORDER BY id")
        ).all()
        assert len(stored) == 2 and stored[0] == stored[1]
        entry = {
            "booking_date": date(2026, 3, 2),
            "description": "d",
            "kind": "donation",
            "author": "t",
            "created_at": at,
            "loan_id": None,
            "statement_line_id": None,
            "reverses_id": None,
            "idempotency_key": None,
            "prev_hash": "a" * 64,
        }
        conn.execute(text("DROP TRIGGER journal_entries_seal"))  # rows without legs, rolled back
        conn.execute(insert(journal_entries).values(id=900, hash="b" * 64, **entry))
        _SQLITE_INSERT_ENTRIES.run(conn, [{"id": 901, "hash": "c" * 64, **entry}])
        dates = conn.execute(
            text(
                "SELECT booking_date, created_at, typeof(created_at) FROM journal_entries "
                "WHERE id IN (900, 901) ORDER BY id"
            )
        ).all()
        assert dates[0] == dates[1]
        read = conn.execute(
            select(journal_entries.c.created_at, journal_entries.c.booking_date).where(
                journal_entries.c.id == 901
            )
        ).one()
        assert tuple(read) == (at, date(2026, 3, 2))
        conn.rollback()
