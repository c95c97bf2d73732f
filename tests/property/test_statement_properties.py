"""Property: for any sequence of statements, after each import the ledger's bank account equals
the statement's closing balance, and importing the same file again, or a statement that repeats
the last entries, books nothing twice. On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ledger.bank.writers import camt053, coda
from ledger.domain.accounts import default_chart
from ledger.domain.roles import SYSTEM
from ledger.domain.statements import Direction, Statement, StatementEntry
from ledger.services.journal import install_chart
from ledger.services.verify import verify
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.db import fresh_sqlite, reset_postgres
from tests.support.profiles import examples
from tests.support.queries import balances, counts
from tests.support.statements import FUND_IBAN, run_import

START = date(2026, 1, 1)
SETTINGS = settings(
    max_examples=examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# A line: money in (with or without the bank's reference, a reference to no loan now and then)
# or a bank charge; some repeated identically, which only a fingerprint tells apart.
line = st.tuples(
    st.sampled_from(["credit", "credit", "credit", "charge", "charge_refund"]),
    st.integers(min_value=1, max_value=250_000),
    st.booleans(),  # the bank gives a reference
    st.sampled_from([None, "rent", "+++000/0000/09797+++", "RF18539007547034"]),
    st.booleans(),  # the same line twice
)
statements_ = st.lists(
    st.tuples(st.lists(line, max_size=8), st.integers(0, 3), st.sampled_from([2, 4, 8, 13, 0])),
    min_size=1,
    max_size=4,
)


def _entries(
    spec: list[tuple[str, int, bool, str | None, bool]], day: date, balance: int, counter: list[int]
) -> list[StatementEntry]:
    out: list[StatementEntry] = []
    for kind, amount, with_ref, text, twice in spec:
        if kind == "charge" and amount > balance:
            kind = "credit"  # the fund's account is never overdrawn
        counter[0] += 1
        e = StatementEntry(
            booking_date=day,
            amount_minor=amount if kind != "charge" else min(amount, 5_000),
            currency="EUR",
            direction=Direction.DEBIT if kind == "charge" else Direction.CREDIT,
            bank_reference=f"B{counter[0]}" if with_ref else None,
            remittance=text,
            bank_code="ACMT/MDOP/CHRG" if kind.startswith("charge") else None,
        )
        balance += e.signed_minor
        out.append(e)
        if twice and not with_ref and balance + e.signed_minor >= 0:
            out.append(e)
            balance += e.signed_minor
    return out


def _file(sts: list[Statement], version: int) -> bytes:
    return coda(sts) if version == 0 else camt053(sts, version=version)


@pytest.fixture
def open_db(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[Callable[[], Engine]]:
    """A fresh database per Hypothesis example, on the engine of this test's parameter."""
    engines: list[tuple[Engine, Path | None]] = []

    def fresh() -> Engine:
        if request.param == "sqlite":
            directory = Path(tempfile.mkdtemp(dir=tmp_path))
            eng = fresh_sqlite(sqlite_template, directory)
            engines.append((eng, directory))
            return eng
        pg: Engine = request.getfixturevalue("pg_session_engine")
        reset_postgres(pg)
        return pg

    yield fresh
    for eng, directory in engines:
        eng.dispose()
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize(
    "open_db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
@SETTINGS
@given(plan=statements_)
def test_bank_equals_every_closing_and_a_second_import_changes_nothing(
    open_db: Callable[[], Engine],
    plan: list[tuple[list[tuple[str, int, bool, str | None, bool]], int, int]],
) -> None:
    engine = open_db()
    uow = UnitOfWork(engine, clock=Clock())
    install_chart(uow, SYSTEM, default_chart("EUR"))
    closing, day, counter = 0, START, [0]
    previous: Statement | None = None
    for n, (spec, repeat, version) in enumerate(plan, start=1):
        day += timedelta(days=7)
        fresh = _entries(spec, day, closing, counter)
        # The bank may repeat the previous statement's last entries (overlapping periods).
        repeated = list(previous.entries[-repeat:]) if previous and repeat else []
        opening = closing - sum(e.signed_minor for e in repeated)
        entries = repeated + fresh
        stmt = Statement(
            account_iban=FUND_IBAN,
            currency="EUR",
            statement_id=f"S{n}",
            entries=tuple(entries),
            source_format="test",
            sequence=n,
            opening_minor=opening,
            opening_date=day - timedelta(days=6),
            closing_minor=opening + sum(e.signed_minor for e in entries),
            closing_date=day,
        )
        data = _file([stmt], version)
        result = run_import(uow, data)
        closing = stmt.closing_minor or 0
        assert balances(uow)["1000"] == closing
        assert result.new_entries == len(fresh)
        before = counts(uow)
        again = run_import(uow, data)
        assert again.new_entries == 0
        assert counts(uow) == before
        assert balances(uow)["1000"] == closing
        previous = stmt if entries else previous
    assert verify(UnitOfWork(engine, readonly=True), SYSTEM).ok
