"""The journal's write path: one statement per table and batch, and the same rows either way.

On PostgreSQL a batch's legs, entries and idempotency keys go as one ``INSERT ... SELECT FROM
unnest`` each (typed arrays); on SQLite as one ``executemany`` each. Both must read back as
posted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from ledger.domain.accounts import default_chart
from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import from_minor
from ledger.domain.roles import SYSTEM
from ledger.domain.statuses import EntryKind
from ledger.services.journal import install_chart, post
from ledger.services.verify import verify
from ledger.store.driver import COPY_FROM
from ledger.store.journal_repository import ENTRY_COLUMNS, LEG_COLUMNS
from ledger.store.uow import GuardRefused, UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.db import reset_postgres
from tests.support.ledgertext import book
from tests.support.queries import balances, counts


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
def pg_funded(pg_session_engine: Engine, clock: Clock) -> UnitOfWork:
    """As ``funded``, on PostgreSQL only: COPY is PostgreSQL's (SQLite takes every batch by
    executemany)."""
    reset_postgres(pg_session_engine)
    uow = UnitOfWork(pg_session_engine, clock=clock)
    install_chart(uow, SYSTEM, default_chart("EUR"))
    book(uow, TREASURER, "2026-03-01 capital 10000.00 EUR Dr 1000 Cr 3000 ; founding capital")
    return uow


@pytest.mark.postgres
def test_a_large_batch_goes_by_copy_on_postgres(pg_funded: UnitOfWork) -> None:
    """From COPY_FROM entries, PostgreSQL gets legs, entries and keys by COPY; the rows are the
    same as by INSERT, the balances move, and a retry replays."""
    funded, n = pg_funded, 2 * COPY_FROM + 17  # every other one has a key
    before = balances(funded)
    seen = Statements(funded.engine)
    event.listen(funded.engine, "before_cursor_execute", seen)
    try:
        posted = post(funded, TREASURER, drafts(n, "copy"))
    finally:
        event.remove(funded.engine, "before_cursor_execute", seen)
    copies = [s.split()[1] for s, _ in seen.seen if s.startswith("COPY ")]
    assert copies == ["journal_legs", "journal_entries", "idempotency_keys"]
    assert not any(s.startswith("INSERT INTO journal_") for s, _ in seen.seen)
    after = balances(funded)
    charges = sum(7 for i in range(n) if i % 3 == 2)
    gifts = sum(100 + i for i in range(n) if i % 3 != 2)
    assert after["1000"] - before["1000"] == gifts - charges
    assert after["4000"] - before["4000"] == -gifts
    assert after["6100"] - before["6100"] == charges
    with funded:
        stored = funded.journal.get_many([p.entry.id for p in posted])
    assert [stored[p.entry.id] for p in posted] == [p.entry for p in posted]
    report = verify(funded, AUDITOR)
    assert report.ok, report.summary()
    again = post(funded, TREASURER, drafts(n, "copy"))
    assert [p.replayed for p in again] == [i % 2 == 0 for i in range(n)]
    assert balances(funded)["1000"] - after["1000"] == sum(
        (-7 if i % 3 == 2 else 100 + i) for i in range(n) if i % 2 == 1
    )


@pytest.mark.postgres
def test_copy_is_refused_by_the_guards_like_insert(pg_funded: UnitOfWork) -> None:
    """Rows sent by COPY meet the same triggers: an unbalanced entry is refused, nothing kept."""
    funded = pg_funded
    with funded:
        last_id, last_hash = funded.journal.lock_head()
        locked = funded.accounts.lock(["1000", "4000"])
    counted = counts(funded)
    entry_id = last_id + 1
    forged = "f" * 64
    with pytest.raises(GuardRefused, match="does not balance"), funded:
        funded.driver.copy(
            "journal_legs",
            LEG_COLUMNS,
            [(entry_id, locked["1000"].id, 500, "EUR"), (entry_id, locked["4000"].id, -499, "EUR")],
        )
        stamp = datetime(2026, 3, 2, tzinfo=UTC)
        row = (entry_id, date(2026, 3, 2), "by hand", "donation", "mallory", stamp)
        funded.driver.copy(
            "journal_entries", ENTRY_COLUMNS, [(*row, None, None, None, None, last_hash, forged)]
        )
        funded.commit()
    assert counts(funded) == counted
