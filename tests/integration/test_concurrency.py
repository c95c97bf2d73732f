"""Concurrent postings: no lost update, no deadlock, one entry per key.

Several threads, each with its own unit of work on one shared engine, post to the same accounts
at once, in both directions (money into the bank and out of it), while two more threads send
the same idempotent requests as each other, as a client retrying on a timeout would.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from ledger.domain.accounts import default_chart
from ledger.domain.journal import EntryDraft
from ledger.domain.roles import SYSTEM
from ledger.services.journal import install_chart, post_manual_entry
from ledger.services.verify import verify
from ledger.store.database import make_engine
from ledger.store.tables import journal_entries
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.db import reset_postgres
from tests.support.ledgertext import book, entry
from tests.support.queries import balances

WORKERS = 6
RETRIERS = 2
PER_THREAD = 50
JOIN_TIMEOUT = 120.0  # generous: a deadlock or a lost wakeup shows as a thread still alive


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def shared_engine(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[Engine]:
    """One engine for every thread; PostgreSQL is the engine under test, SQLite (whose writers
    queue on BEGIN IMMEDIATE) gets the same treatment because it is cheap."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        shutil.copyfile(sqlite_template, tmp_path / "ledger.db")
    else:
        pg: Engine = request.getfixturevalue("pg_session_engine")
        reset_postgres(pg)
        url = pg.url.render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=WORKERS + RETRIERS + 2, max_overflow=0)
    yield engine
    engine.dispose()


def worker_drafts(n: int) -> list[EntryDraft]:
    """Gifts into the bank and charges out of it, touching the same accounts in both orders."""
    drafts = []
    for i in range(PER_THREAD):
        cents = f"{n + 1}.{i:02d}"
        if i % 3 == 2:
            drafts.append(entry(f"2026-03-10 bank_charge 0.{n + 1}{i % 10} Dr 6100 Cr 1000"))
        else:
            drafts.append(entry(f"2026-03-10 donation {cents} Dr 1000 Cr 4000"))
    return drafts


def retried_drafts() -> list[EntryDraft]:
    return [
        entry(f"2026-03-11 donation 7.{i:02d} Dr 1000 Cr 4000 ; pledge {i}", key=f"pledge-{i}")
        for i in range(PER_THREAD)
    ]


def bank_delta(draft: EntryDraft) -> int:
    return sum(leg.minor for leg in draft.legs if leg.account_code == "1000")


def test_concurrent_postings(shared_engine: Engine) -> None:
    clock = Clock()  # never moved while threads run
    setup = UnitOfWork(shared_engine, clock=clock)
    install_chart(setup, SYSTEM, default_chart("EUR"))
    book(setup, TREASURER, "2026-03-01 capital 100.00 Dr 1000 Cr 3000")

    start = threading.Barrier(WORKERS + RETRIERS)
    errors: list[BaseException] = []
    replayed: list[bool] = []
    lock = threading.Lock()

    def run(drafts: list[EntryDraft]) -> Callable[[], None]:
        def body() -> None:
            uow = UnitOfWork(shared_engine, clock=clock)
            try:
                start.wait(timeout=30)
                for draft in drafts:
                    posted = post_manual_entry(uow, TREASURER, draft)
                    if draft.idempotency_key:
                        with lock:
                            replayed.append(posted.replayed)
            except BaseException as exc:  # reported to the main thread below
                with lock:
                    errors.append(exc)

        return body

    plans = [worker_drafts(n) for n in range(WORKERS)] + [retried_drafts()] * RETRIERS
    threads = [threading.Thread(target=run(p), name=f"poster-{i}") for i, p in enumerate(plans)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=JOIN_TIMEOUT)
    assert not [t.name for t in threads if t.is_alive()], "threads did not finish: deadlock?"
    assert errors == []

    # No lost update: the cached bank balance is the capital plus every movement once.
    expected = 10_000 + sum(bank_delta(d) for p in plans[:WORKERS] for d in p)
    expected += sum(bank_delta(d) for d in retried_drafts())
    bal = balances(setup)
    assert bal["1000"] == expected
    assert bal["1000"] + bal["3000"] + bal["4000"] + bal["6100"] == 0

    # Exactly one entry per idempotency key; each key posted once and replayed once.
    assert sorted(replayed) == [False] * PER_THREAD + [True] * PER_THREAD
    with shared_engine.connect() as conn:
        keyed = conn.execute(
            select(journal_entries.c.idempotency_key, func.count())
            .where(journal_entries.c.idempotency_key.is_not(None))
            .group_by(journal_entries.c.idempotency_key)
        ).all()
        total = conn.execute(select(func.count()).select_from(journal_entries)).scalar_one()
    assert len(keyed) == PER_THREAD
    assert all(n == 1 for _, n in keyed)
    assert total == 1 + WORKERS * PER_THREAD + PER_THREAD

    report = verify(setup, AUDITOR)
    assert report.ok, report.summary()
    assert report.entries == total
