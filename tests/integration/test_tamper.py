"""Tamper evidence: `verify` finds what was changed behind the application's back.

The tamperer here has the database owner's rights: on SQLite they open the file with the
standard library and drop the append-only triggers; on PostgreSQL they disable them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import pytest
from sqlalchemy import Engine, text

from ledger.domain.journal import canonical_content, chain_hash
from ledger.services.verify import VerifyReport, verify
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.ledgertext import book

LEDGER = """
2026-03-01 capital 10000.00 Dr 1000 Cr 3000 ; founding capital
2026-03-02 donation 250.00 Dr 1000 Cr 4000 ; gift from a parish
2026-03-03 bank_charge 1.50 Dr 6100 Cr 1000 ; account fee
"""


@pytest.fixture
def books(chart: UnitOfWork) -> UnitOfWork:
    book(chart, TREASURER, LEDGER)
    report = verify(chart, AUDITOR)
    assert report.ok, report.summary()
    assert report.summary().startswith("OK: 3 entries, 6 legs")
    return chart


def tamper(engine: Engine, tables: Sequence[str], *statements: str) -> None:
    """Run ``statements`` with the append-only guards of ``tables`` out of the way."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path
        con = sqlite3.connect(path)
        try:
            for table in tables:
                con.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                con.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            for statement in statements:
                con.execute(statement)
            con.commit()
        finally:
            con.close()
    else:
        with engine.begin() as conn:
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
            for statement in statements:
                conn.execute(text(statement))
            # Run the deferred foreign key checks now: ALTER TABLE waits for no pending event.
            conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
        with engine.connect() as conn:
            disabled = conn.execute(
                text("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O'")
            ).scalar_one()
        assert disabled == 0, "the shared test database must keep its guards"


def problems(uow: UnitOfWork) -> list[str]:
    report: VerifyReport = verify(uow, AUDITOR)
    assert not report.ok
    assert report.summary().startswith(f"FAILED: {len(report.problems)} problem(s)")
    return report.problems


def has(found: list[str], *words: str) -> bool:
    return any(all(w in p for w in words) for p in found)


def test_leg_amount_changed(books: UnitOfWork) -> None:
    tamper(
        books.engine,
        ["journal_legs"],
        "UPDATE journal_legs SET amount_minor = 35000 WHERE entry_id = 2 AND amount_minor = 25000",
    )
    found = problems(books)
    assert has(found, "entry 2: content does not match its hash"), found
    assert has(found, "entry 2 does not balance"), found
    assert has(found, "account 1000: cached balance"), found
    assert has(found, "trial balance in EUR"), found


def test_both_legs_changed_so_the_entry_still_balances(books: UnitOfWork) -> None:
    tamper(
        books.engine,
        ["journal_legs"],
        "UPDATE journal_legs SET amount_minor = amount_minor / 10 WHERE entry_id = 2",
    )
    found = problems(books)
    assert has(found, "entry 2: content does not match its hash"), found
    assert has(found, "account 1000: cached balance"), found
    assert has(found, "account 4000: cached balance"), found
    assert not has(found, "does not balance"), found


def test_leg_moved_to_another_account(books: UnitOfWork) -> None:
    tamper(
        books.engine,
        ["journal_legs"],
        "UPDATE journal_legs SET account_id = (SELECT id FROM accounts WHERE code = '2200')"
        " WHERE entry_id = 2 AND amount_minor < 0",
    )
    found = problems(books)
    assert has(found, "entry 2: content does not match its hash"), found
    assert has(found, "account 2200: cached balance"), found


def test_description_changed(books: UnitOfWork) -> None:
    tamper(
        books.engine,
        ["journal_entries"],
        "UPDATE journal_entries SET description = 'gift from a church' WHERE id = 2",
    )
    assert problems(books) == ["entry 2: content does not match its hash (changed after posting)"]


def test_changed_entry_with_recomputed_hash_breaks_the_link_to_the_next(books: UnitOfWork) -> None:
    with books:
        original = books.journal.get(2)
    forged = canonical_content(
        id=original.id,
        booking_date=original.booking_date,
        description="gift from a church",
        kind=original.kind,
        legs=[(leg.account_code, leg.minor, leg.currency) for leg in original.legs],
        author=original.author,
        created_at=original.created_at,
        loan_id=None,
        statement_line_id=None,
        reverses_id=None,
        idempotency_key=None,
    )
    new_hash = chain_hash(original.prev_hash, forged)
    tamper(
        books.engine,
        ["journal_entries"],
        "UPDATE journal_entries SET description = 'gift from a church', "
        f"hash = '{new_hash}' WHERE id = 2",
    )
    assert problems(books) == ["entry 3: previous hash does not match entry 2"]


def test_entry_deleted_leaves_a_gap(books: UnitOfWork) -> None:
    tamper(
        books.engine,
        ["journal_entries", "journal_legs"],
        "DELETE FROM journal_legs WHERE entry_id = 2",
        "DELETE FROM journal_entries WHERE id = 2",
    )
    found = problems(books)
    assert has(found, "entry 2 is missing from the chain (next is 3)"), found
    assert has(found, "entry 3: previous hash does not match entry 2"), found
    assert has(found, "account 4000: cached balance"), found


def test_last_entry_deleted(books: UnitOfWork) -> None:
    tamper(
        books.engine,
        ["journal_entries", "journal_legs"],
        "DELETE FROM journal_legs WHERE entry_id = 3",
        "DELETE FROM journal_entries WHERE id = 3",
    )
    found = problems(books)
    assert has(found, "chain head says entry 3", "journal ends at entry 2"), found


def test_cached_balance_changed(books: UnitOfWork) -> None:
    tamper(
        books.engine,
        [],
        "UPDATE accounts SET balance_minor = balance_minor - 100 WHERE code = '4000'",
    )
    found = problems(books)
    assert len(found) == 1
    assert has(found, "account 4000: cached balance", "251.00", "but its legs sum to", "250.00")


def test_idempotency_key_pointed_elsewhere(books: UnitOfWork) -> None:
    tamper(
        books.engine,
        [],
        "INSERT INTO idempotency_keys (key, command, request, entry_id, actor, created_at)"
        " VALUES ('forged', 'post_entry', '{}', 2, 'mallory', '2026-03-15 00:00:00')",
    )
    assert problems(books) == ["idempotency key forged points at entry 2, which lacks it"]
