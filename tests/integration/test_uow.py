"""The unit of work: one transaction per use case, nothing left behind when it fails."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.domain.errors import Overdraft
from ledger.services.journal import post_manual_entry
from ledger.store.tables import journal_legs
from ledger.store.uow import GuardRefused, UnitOfWork
from tests.support.actors import TREASURER
from tests.support.db import reset_postgres
from tests.support.ledgertext import entry
from tests.support.queries import balances, counts


def test_leaving_without_commit_rolls_back(funded: UnitOfWork) -> None:
    before = counts(funded)
    with funded:
        funded.audit.record(at=funded.now(), actor="x", action="nothing")
    assert counts(funded) == before


def test_error_inside_rolls_back(funded: UnitOfWork) -> None:
    before = counts(funded)
    with pytest.raises(RuntimeError), funded:
        funded.audit.record(at=funded.now(), actor="x", action="half")
        raise RuntimeError("boom")
    assert counts(funded) == before


def test_guard_refusal_becomes_a_ledger_error(funded: UnitOfWork) -> None:
    with pytest.raises(GuardRefused, match=r"^fundledger: .*append-only") as err, funded:
        funded.connection.execute(text("DELETE FROM journal_legs"))
    assert err.value.status == 409
    assert counts(funded)["journal_legs"] == 2


def test_failed_commit_leaves_the_next_unit_of_work_usable(funded: UnitOfWork) -> None:
    # Legs without their entry pass each statement but are refused at COMMIT: by the deferred
    # foreign key on SQLite, by the commit-time guard on PostgreSQL (migration 0008).
    refusal = GuardRefused if funded.engine.dialect.name == "postgresql" else IntegrityError
    with funded:
        funded.connection.execute(
            insert(journal_legs).values(entry_id=99, account_id=1, amount_minor=5, currency="EUR")
        )
        with pytest.raises(refusal):
            funded.commit()
    # The connection went back to the pool: it must not still sit inside that transaction.
    for _ in range(3):
        assert counts(funded)["journal_legs"] == 2
    post_manual_entry(funded, TREASURER, entry("2026-03-02 donation 1.00 Dr 1000 Cr 4000"))
    assert balances(funded)["1000"] == 1_000_100


def test_refused_posting_does_not_hold_the_database(funded: UnitOfWork) -> None:
    for _ in range(3):
        with pytest.raises(Overdraft):
            post_manual_entry(
                funded, TREASURER, entry("2026-03-02 bank_charge 20000.00 Dr 6100 Cr 1000")
            )
    post_manual_entry(funded, TREASURER, entry("2026-03-02 bank_charge 20.00 Dr 6100 Cr 1000"))
    assert balances(funded)["1000"] == 998_000


def test_a_read_only_unit_of_work_sees_one_snapshot(funded: UnitOfWork) -> None:
    """A reconciliation or a report reads many tables in one read-only unit of work: a posting
    committed meanwhile must not show in the later reads (REPEATABLE READ on PostgreSQL,
    SQLite's read transaction)."""
    reader = UnitOfWork(funded.engine, clock=funded.clock, readonly=True)
    with reader:
        before = reader.accounts.get("1000").balance_minor
        post_manual_entry(funded, TREASURER, entry("2026-03-02 donation 1.00 Dr 1000 Cr 4000"))
        assert reader.accounts.get("1000").balance_minor == before
        assert reader.journal.head() == reader.journal.head()
    assert balances(funded)["1000"] == before + 100


@pytest.mark.postgres
def test_a_read_only_unit_of_work_cannot_write_on_postgres(pg_session_engine: Engine) -> None:
    """PostgreSQL enforces it (READ ONLY); on SQLite the unit of work refuses to commit."""
    reset_postgres(pg_session_engine)
    with (
        pytest.raises(DBAPIError, match="read-only transaction"),
        UnitOfWork(pg_session_engine, readonly=True) as reader,
    ):
        reader.connection.execute(text("UPDATE chain_head SET last_hash = last_hash"))
