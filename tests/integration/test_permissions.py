"""Every ledger use case, tried by every role: allowed ones work, the others change nothing.

Permissions are checked before the database is touched, the same way on both engines, so this
matrix runs on SQLite only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ledger.domain.accounts import AccountSpec, AccountType, default_chart
from ledger.domain.errors import PermissionDenied
from ledger.domain.journal import JournalFilter
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.services import journal as j
from ledger.services import periods, verify
from ledger.services.journal import install_chart
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.db import fresh_sqlite
from tests.support.ledgertext import book, entry
from tests.support.periods import close_month
from tests.support.queries import counts

Use = Callable[[UnitOfWork, Actor], object]
READERS = {Role.ADMIN, Role.TREASURER, Role.AUDITOR}
USE_CASES: dict[str, tuple[Use, set[Role]]] = {
    "post": (
        lambda u, a: j.post_manual_entry(u, a, entry("2026-04-01 donation 1.00 Dr 1000 Cr 4000")),
        {Role.TREASURER},
    ),
    "bulk post": (
        lambda u, a: j.post(u, a, [entry("2026-04-01 donation 1.00 Dr 1000 Cr 4000")]),
        {Role.TREASURER},
    ),
    "reverse": (lambda u, a: j.reverse_entry(u, a, 1), {Role.TREASURER}),
    "open account": (
        lambda u, a: j.open_account(
            u, a, AccountSpec("6200", "Postage", AccountType.EXPENSE, "EUR")
        ),
        {Role.ADMIN, Role.TREASURER},
    ),
    "close account": (lambda u, a: j.close_account(u, a, "6000"), {Role.ADMIN, Role.TREASURER}),
    "ask to close month": (  # January reconciles: nothing happened in it
        lambda u, a: periods.request_close(u, a, "2026-01"),
        {Role.ADMIN, Role.TREASURER},
    ),
    "close month alone": (  # only the system operator (the command line) closes in one step
        lambda u, a: periods.close_month(u, a, "2026-01"),
        set(),
    ),
    "reopen month": (
        lambda u, a: periods.reopen_month(u, a, "2026-02", "late invoice"),
        {Role.ADMIN},
    ),
    "list periods": (periods.list_periods, READERS),
    "balance": (lambda u, a: j.balance(u, a, "1000", date(2026, 3, 31)), READERS),
    "statement": (lambda u, a: j.statement(u, a, "1000"), READERS),
    "trial balance": (j.trial_balance, READERS),
    "journal": (lambda u, a: j.list_entries(u, a, JournalFilter()), READERS),
    "entry": (lambda u, a: j.get_entry(u, a, 1), READERS),
    "accounts": (j.list_accounts, READERS),
    "account": (lambda u, a: j.get_account(u, a, "1000"), READERS),
    "verify": (verify.verify, READERS),
}
ACTORS = {
    Role.ADMIN: ADMIN,
    Role.TREASURER: TREASURER,
    Role.AUDITOR: AUDITOR,
    Role.CASEWORKER: CASEWORKER,
}


@pytest.fixture
def books(sqlite_template: Path, tmp_path: Path, clock: Clock) -> Iterator[UnitOfWork]:
    """On 2026-04-02: capital booked on 2026-03-01 (entry 1), February closed."""
    engine = fresh_sqlite(sqlite_template, tmp_path)
    uow = UnitOfWork(engine, clock=clock)
    install_chart(uow, SYSTEM, default_chart("EUR"))
    book(uow, TREASURER, "2026-03-01 capital 100.00 Dr 1000 Cr 3000")
    clock.now = datetime(2026, 4, 2, tzinfo=UTC)
    close_month(uow, TREASURER, "2026-02")
    yield uow
    engine.dispose()


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("use_case", list(USE_CASES))
def test_use_case_per_role(books: UnitOfWork, use_case: str, role: Role) -> None:
    run, allowed = USE_CASES[use_case]
    before = counts(books)
    if role in allowed:
        run(books, ACTORS[role])
    else:
        with pytest.raises(PermissionDenied):
            run(books, ACTORS[role])
        assert counts(books) == before
