"""The database's own guards, tried with raw SQL behind the application's back.

Whatever a bug in the services or a person with a SQL shell attempts, the schema itself keeps
the journal append-only and balanced (migrations/versions/0001_ledger_core.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.domain.accounts import AccountRole, AccountSpec, AccountType, default_chart
from ledger.domain.roles import SYSTEM
from ledger.services.journal import close_account, install_chart, reverse_entry
from ledger.services.verify import verify
from ledger.store.tables import accounts, idempotency_keys, journal_entries, journal_legs
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.db import reset_postgres
from tests.support.ledgertext import book, entries
from tests.support.periods import close_month
from tests.support.queries import balances, counts

APPEND_ONLY = ("journal_entries", "journal_legs", "period_events", "audit_log")
CHANGES = {
    "journal_entries": "UPDATE journal_entries SET description = 'edited'",
    "journal_legs": "UPDATE journal_legs SET amount_minor = amount_minor * 2",
    "period_events": "UPDATE period_events SET actor = 'mallory'",
    "audit_log": "UPDATE audit_log SET actor = 'mallory'",
}


def set_up(uow: UnitOfWork) -> UnitOfWork:
    """Entries 1 and 2 in March, February closed: every append-only table has rows."""
    book(
        uow,
        TREASURER,
        """
        2026-03-01 capital 10000.00 Dr 1000 Cr 3000
        2026-03-02 donation 250.00 Dr 1000 Cr 4000
        """,
    )
    close_month(uow, TREASURER, "2026-02")
    return uow


@pytest.fixture
def books(chart: UnitOfWork) -> UnitOfWork:
    return set_up(chart)


@pytest.fixture
def pg_books(pg_session_engine: Engine, clock: Clock) -> UnitOfWork:
    reset_postgres(pg_session_engine)
    uow = UnitOfWork(pg_session_engine, clock=clock)
    install_chart(uow, SYSTEM, default_chart("EUR"))
    return set_up(uow)


def account_id(conn: Connection, code: str) -> int:
    return int(conn.execute(select(accounts.c.id).where(accounts.c.code == code)).scalar_one())


def add_legs(
    conn: Connection, entry_id: int, *legs: tuple[str, int], currency: str = "EUR"
) -> None:
    conn.execute(
        insert(journal_legs),
        [
            {
                "entry_id": entry_id,
                "account_id": account_id(conn, code),
                "amount_minor": amount,
                "currency": currency,
            }
            for code, amount in legs
        ],
    )


def add_entry(
    conn: Connection, entry_id: int, booking_date: date, *, reverses_id: int | None = None
) -> None:
    fake = hashlib.sha256(f"forged {entry_id}".encode()).hexdigest()
    conn.execute(
        insert(journal_entries).values(
            id=entry_id,
            booking_date=booking_date,
            description="written by hand",
            kind="adjustment",
            author="mallory",
            created_at=datetime(2026, 3, 15, tzinfo=UTC),
            reverses_id=reverses_id,
            prev_hash=fake,
            hash=fake,
        )
    )


@pytest.fixture
def conn(books: UnitOfWork) -> Iterator[Connection]:
    """A raw connection in a transaction, rolled back at the end."""
    with books.engine.connect() as connection:
        tx = connection.begin()
        yield connection
        tx.rollback()


def refused(exc: pytest.ExceptionInfo[DBAPIError], words: str) -> None:
    message = str(exc.value.orig)
    assert words in message, message


# -- append-only ------------------------------------------------------------------------------


# Each refusal rolls its statement back, so one database serves every table in turn.


def test_update_refused(books: UnitOfWork) -> None:
    before = counts(books)
    for table in APPEND_ONLY:
        with pytest.raises(DBAPIError) as exc, books.engine.begin() as c:
            c.execute(text(CHANGES[table]))
        refused(exc, "fundledger:")
        refused(exc, "refused")
        assert counts(books) == before, table
    assert verify(books, AUDITOR).ok


def test_delete_refused(books: UnitOfWork) -> None:
    before = counts(books)
    for table in APPEND_ONLY:
        with pytest.raises(DBAPIError) as exc, books.engine.begin() as c:
            c.execute(text(f"DELETE FROM {table}"))
        refused(exc, "fundledger:")
        assert counts(books) == before, table


@pytest.mark.postgres
def test_truncate_refused_on_postgres(pg_books: UnitOfWork) -> None:
    before = counts(pg_books)
    for table in APPEND_ONLY:
        with pytest.raises(DBAPIError) as exc, pg_books.engine.begin() as c:
            c.execute(text(f"TRUNCATE {table} CASCADE"))
        refused(exc, "TRUNCATE")
        assert counts(pg_books) == before, table


# -- sealing entries --------------------------------------------------------------------------


def test_balanced_entry_written_by_hand_is_accepted(conn: Connection) -> None:
    # The control case for the refusals below: the guards let a proper entry through.
    add_legs(conn, 3, ("1000", 100), ("4000", -60), ("2100", -40))
    add_entry(conn, 3, date(2026, 3, 5))


def test_leg_added_to_posted_entry_refused(conn: Connection) -> None:
    with pytest.raises(IntegrityError) as exc:
        add_legs(conn, 2, ("6100", 1))
    refused(exc, "already posted")


def test_unbalanced_entry_refused(conn: Connection) -> None:
    add_legs(conn, 3, ("1000", 100), ("4000", -99))
    with pytest.raises(IntegrityError) as exc:
        add_entry(conn, 3, date(2026, 3, 5))
    refused(exc, "does not balance")


def test_entry_balanced_in_sum_but_not_per_currency_refused(books: UnitOfWork) -> None:
    install_chart(
        books,
        SYSTEM,
        [AccountSpec("3001", "Capital CHF", AccountType.EQUITY, "CHF", AccountRole.FUND_CAPITAL)],
    )
    with pytest.raises(IntegrityError) as exc, books.engine.begin() as c:
        add_legs(c, 3, ("1000", 100))
        add_legs(c, 3, ("3001", -100), currency="CHF")
        add_entry(c, 3, date(2026, 3, 5))
    refused(exc, "does not balance")


def test_entry_with_one_leg_refused(conn: Connection) -> None:
    add_legs(conn, 3, ("1000", 100))
    with pytest.raises(IntegrityError) as exc:
        add_entry(conn, 3, date(2026, 3, 5))
    refused(exc, "two legs")


def test_entry_without_legs_refused(conn: Connection) -> None:
    with pytest.raises(IntegrityError) as exc:
        add_entry(conn, 3, date(2026, 3, 5))
    refused(exc, "two legs")


def test_entry_in_closed_month_refused(conn: Connection) -> None:
    add_legs(conn, 3, ("1000", 100), ("4000", -100))
    with pytest.raises(IntegrityError) as exc:
        add_entry(conn, 3, date(2026, 2, 10))
    refused(exc, "closed")


def test_leg_in_other_currency_than_account_refused(conn: Connection) -> None:
    with pytest.raises(IntegrityError) as exc:
        add_legs(conn, 3, ("1000", 100), currency="CHF")
    refused(exc, "currency")


def test_leg_on_control_account_refused(conn: Connection) -> None:
    with pytest.raises(IntegrityError) as exc:
        add_legs(conn, 3, ("1200", 100))
    refused(exc, "control account")


def test_leg_on_closed_account_refused(books: UnitOfWork) -> None:
    close_account(books, TREASURER, "6000")
    with pytest.raises(IntegrityError) as exc, books.engine.begin() as c:
        add_legs(c, 3, ("6000", 100))
    refused(exc, "closed")


def test_legs_without_an_entry_refused_at_commit(books: UnitOfWork) -> None:
    with books.engine.connect() as c:
        tx = c.begin()
        add_legs(c, 99, ("1000", 100), ("4000", -100))  # accepted for now: the entry comes later
        with pytest.raises(IntegrityError) as exc:
            tx.commit()
    if books.engine.dialect.name == "postgresql":  # the commit-time check (migration 0008)
        refused(exc, "legs of entry 99 were written without their entry")
    assert counts(books)["journal_legs"] == 4


# -- references (foreign keys on SQLite; statement-level guards on PostgreSQL, 0008) ----------


def test_leg_on_an_account_that_does_not_exist_refused(conn: Connection) -> None:
    bank = account_id(conn, "1000")
    with pytest.raises(IntegrityError) as exc:
        conn.execute(
            insert(journal_legs),
            [
                {"entry_id": 3, "account_id": bank, "amount_minor": 100, "currency": "EUR"},
                {"entry_id": 3, "account_id": 987654, "amount_minor": -100, "currency": "EUR"},
            ],
        )
    if conn.dialect.name == "postgresql":
        refused(exc, "account id 987654 does not exist")
    else:
        refused(exc, "FOREIGN KEY constraint failed")


def test_idempotency_key_naming_no_entry_refused(conn: Connection) -> None:
    row = {
        "key": "forged-key",
        "command": "post_entry",
        "request": "{}",
        "actor": "mallory",
        "created_at": datetime(2026, 3, 15, tzinfo=UTC),
    }
    conn.execute(insert(idempotency_keys).values({**row, "entry_id": 2}))  # a real entry: fine
    with pytest.raises(IntegrityError) as exc:
        conn.execute(
            insert(idempotency_keys).values({**row, "key": "other-key", "entry_id": 424242})
        )
    if conn.dialect.name == "postgresql":
        refused(exc, "idempotency key other-key names entry 424242, which does not exist")
    else:
        refused(exc, "FOREIGN KEY constraint failed")


def test_idempotency_key_moved_to_no_entry_refused(books: UnitOfWork) -> None:
    (draft,) = entries("2026-03-03 donation 5.00 Dr 1000 Cr 4000")
    book(books, TREASURER, [replace(draft, idempotency_key="moved")])
    with pytest.raises(IntegrityError) as exc, books.engine.begin() as c:
        c.execute(text("UPDATE idempotency_keys SET entry_id = 777 WHERE key = 'moved'"))
    if books.engine.dialect.name == "postgresql":
        refused(exc, "names entry 777, which does not exist")
    else:
        refused(exc, "FOREIGN KEY constraint failed")


@pytest.mark.parametrize("code", ["6100", "1000"])  # unused, and with legs
def test_account_never_deleted(books: UnitOfWork, code: str) -> None:
    with pytest.raises(IntegrityError) as exc, books.engine.begin() as c:
        c.execute(text("DELETE FROM accounts WHERE code = :code"), {"code": code})
    refused(exc, "fundledger: DELETE on accounts refused")
    assert code in balances(books)


def test_account_id_never_changes(books: UnitOfWork) -> None:
    with pytest.raises(IntegrityError) as exc, books.engine.begin() as c:
        c.execute(text("UPDATE accounts SET id = 5000 WHERE code = '6100'"))
    refused(exc, "fundledger: the id of")
    with books.engine.begin() as c:  # other columns change as before
        c.execute(text("UPDATE accounts SET name = 'Bank fees' WHERE code = '6100'"))


def test_accounts_never_truncated_on_postgres(pg_books: UnitOfWork) -> None:
    with pytest.raises(DBAPIError) as exc, pg_books.engine.begin() as c:
        c.execute(text("TRUNCATE accounts CASCADE"))
    refused(exc, "fundledger: TRUNCATE on accounts refused")


# -- CHECK and UNIQUE constraints -------------------------------------------------------------


def test_zero_leg_refused(conn: Connection) -> None:
    with pytest.raises(IntegrityError) as exc:
        add_legs(conn, 3, ("1000", 0))
    refused(exc, "ck_journal_legs_nonzero")


def test_bank_balance_below_zero_refused(books: UnitOfWork) -> None:
    with pytest.raises(IntegrityError) as exc, books.engine.begin() as c:
        c.execute(text("UPDATE accounts SET balance_minor = -1 WHERE code = '1000'"))
    refused(exc, "ck_accounts_no_overdraft")
    # Accounts without the flag may go either way; the bank to exactly zero is fine.
    with books.engine.begin() as c:
        c.execute(text("UPDATE accounts SET balance_minor = 1 WHERE code = '4000'"))
        c.execute(text("UPDATE accounts SET balance_minor = 0 WHERE code = '1000'"))
    assert balances(books)["1000"] == 0


def test_entry_reversed_at_most_once(books: UnitOfWork) -> None:
    reverse_entry(books, TREASURER, 2)  # entry 3 reverses entry 2
    with pytest.raises(IntegrityError) as exc, books.engine.begin() as c:
        add_legs(c, 4, ("1000", -25000), ("4000", 25000))
        add_entry(c, 4, date(2026, 3, 15), reverses_id=2)
    refused(exc, "reverses_id")


def test_reversal_must_point_back_in_time(conn: Connection) -> None:
    add_legs(conn, 3, ("1000", 100), ("4000", -100))
    with pytest.raises(IntegrityError) as exc:
        add_entry(conn, 3, date(2026, 3, 5), reverses_id=3)
    refused(exc, "ck_journal_entries_reverses_earlier")


# -- PostgreSQL's deferred balance check --------------------------------------------------------


@pytest.mark.postgres
def test_legs_may_balance_only_by_commit_time(pg_books: UnitOfWork) -> None:
    # The balance check is deferred: legs written one by one, unbalanced in between, are fine.
    with pg_books.engine.begin() as c:
        add_legs(c, 3, ("1000", 100))
        add_legs(c, 3, ("4000", -60))
        add_legs(c, 3, ("2100", -40))
        add_entry(c, 3, date(2026, 3, 5))
    assert balances(pg_books)["1000"] == 1_025_000  # legs written by hand skip the cache


@pytest.mark.postgres
def test_deferred_trigger_refuses_unbalanced_legs_at_commit(pg_books: UnitOfWork) -> None:
    before = counts(pg_books)
    with pg_books.engine.connect() as c:
        tx = c.begin()
        # Without the seal the entry row goes in; only the deferred trigger is left to object.
        c.execute(text("ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_seal"))
        add_legs(c, 3, ("1000", 100), ("4000", -99))
        add_entry(c, 3, date(2026, 3, 5))
        with pytest.raises(IntegrityError) as exc:
            tx.commit()
    refused(exc, "does not balance at commit")
    assert counts(pg_books) == before
    with pg_books.engine.connect() as c:
        enabled = c.execute(
            text("SELECT tgenabled FROM pg_trigger WHERE tgname = 'journal_entries_seal'")
        ).scalar_one()
    assert enabled == "O"  # the ALTER was rolled back with the rest


# -- several entries in one statement, as the service writes a batch ------------------------


def add_entries(conn: Connection, *entries: tuple[int, date]) -> None:
    """Several entries in one INSERT statement."""
    rows = []
    for entry_id, booking_date in entries:
        fake = hashlib.sha256(f"forged {entry_id}".encode()).hexdigest()
        rows.append(
            {
                "id": entry_id,
                "booking_date": booking_date,
                "description": "written by hand",
                "kind": "adjustment",
                "author": "mallory",
                "created_at": datetime(2026, 3, 15, tzinfo=UTC),
                "prev_hash": fake,
                "hash": fake,
            }
        )
    conn.execute(insert(journal_entries).values(rows))


def test_one_unbalanced_entry_in_a_batch_refuses_the_batch(conn: Connection) -> None:
    add_legs(conn, 3, ("1000", 100), ("4000", -100))
    add_legs(conn, 4, ("1000", 100), ("4000", -99))
    add_legs(conn, 5, ("1000", 100), ("4000", -100))
    with pytest.raises(IntegrityError) as exc:
        add_entries(conn, (3, date(2026, 3, 5)), (4, date(2026, 3, 5)), (5, date(2026, 3, 5)))
    refused(exc, "does not balance")
    if conn.dialect.name == "postgresql":
        refused(exc, "entry 4 ")


def test_one_entry_in_a_closed_month_refuses_the_batch(conn: Connection) -> None:
    add_legs(conn, 3, ("1000", 100), ("4000", -100))
    add_legs(conn, 4, ("1000", 100), ("4000", -100))
    with pytest.raises(IntegrityError) as exc:
        add_entries(conn, (3, date(2026, 3, 5)), (4, date(2026, 2, 27)))
    refused(exc, "closed")


def test_one_entry_with_one_leg_in_a_batch_refuses_the_batch(conn: Connection) -> None:
    add_legs(conn, 3, ("1000", 100), ("4000", -100))
    add_legs(conn, 4, ("1000", 100))
    with pytest.raises(IntegrityError) as exc:
        add_entries(conn, (3, date(2026, 3, 5)), (4, date(2026, 3, 5)))
    refused(exc, "two legs")


# -- PostgreSQL's commit-time check, queued once per statement (migration 0007) --------------


def queued_checks(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM journal_commit_checks")).scalar_one())


@pytest.mark.postgres
def test_leg_added_by_another_transaction_refused_at_its_commit(pg_books: UnitOfWork) -> None:
    # While entry 3 is not committed, another transaction's legs guard cannot see it: the leg
    # goes in. When that transaction commits, entry 3 no longer balances: refused then.
    before = counts(pg_books)
    with pg_books.engine.connect() as first, pg_books.engine.connect() as second:
        tx1 = first.begin()
        add_legs(first, 3, ("1000", 100), ("4000", -100))
        add_entry(first, 3, date(2026, 3, 5))
        tx2 = second.begin()
        add_legs(second, 3, ("6100", 7))
        tx1.commit()
        with pytest.raises(IntegrityError) as exc:
            tx2.commit()
    refused(exc, "entry 3 does not balance at commit")
    after = counts(pg_books)
    assert after["journal_legs"] == before["journal_legs"] + 2
    assert queued_checks(pg_books.engine) == 0


@pytest.mark.postgres
def test_deleting_the_queued_check_does_not_skip_it(pg_books: UnitOfWork) -> None:
    before = counts(pg_books)
    with pg_books.engine.connect() as c:
        tx = c.begin()
        c.execute(text("ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_seal"))
        add_legs(c, 3, ("1000", 100), ("4000", -99))
        add_entry(c, 3, date(2026, 3, 5))
        assert c.execute(text("DELETE FROM journal_commit_checks")).rowcount > 0
        with pytest.raises(IntegrityError) as exc:
            tx.commit()
    refused(exc, "does not balance at commit")
    assert counts(pg_books) == before


@pytest.mark.postgres
def test_queued_checks_cannot_be_changed_or_truncated(pg_books: UnitOfWork) -> None:
    for statement, words in (
        ("UPDATE journal_commit_checks SET first_entry_id = 1000, last_entry_id = 1000", "UPDATE"),
        ("TRUNCATE journal_commit_checks", "TRUNCATE"),
    ):
        with pg_books.engine.connect() as c:
            tx = c.begin()
            add_legs(c, 3, ("1000", 100), ("4000", -99))
            with pytest.raises(DBAPIError) as exc:
                c.execute(text(statement))
            refused(exc, words)
            tx.rollback()
    with pytest.raises(DBAPIError) as exc, pg_books.engine.begin() as c:
        c.execute(text("TRUNCATE journal_commit_checks"))  # nothing queued: our own guard
    refused(exc, "fundledger: TRUNCATE on journal_commit_checks refused")


@pytest.mark.postgres
def test_queued_checks_are_gone_after_commit(pg_books: UnitOfWork) -> None:
    book(pg_books, TREASURER, "2026-03-03 donation 1.00 Dr 1000 Cr 4000")
    assert queued_checks(pg_books.engine) == 0
    assert verify(pg_books, AUDITOR).ok
