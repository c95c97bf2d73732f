"""Looking at the database state the services leave behind."""

from __future__ import annotations

from sqlalchemy import func, select

from ledger.domain.journal import Entry
from ledger.store.tables import audit_log, idempotency_keys, journal_entries, journal_legs
from ledger.store.uow import UnitOfWork


def balances(uow: UnitOfWork) -> dict[str, int]:
    """Cached balance of every account, by code."""
    with uow:
        return {a.code: a.balance_minor for a in uow.accounts.all()}


def counts(uow: UnitOfWork) -> dict[str, int]:
    """Rows in the tables a posting writes to: all must stay put when a posting is refused."""
    with uow:
        conn = uow.connection
        out = {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (journal_entries, journal_legs, idempotency_keys, audit_log)
        }
        out["head"] = uow.journal.head()[0]
        return out


def last_entry(uow: UnitOfWork) -> Entry:
    with uow:
        return uow.journal.get(uow.journal.head()[0])
