"""The arrears projection kept by the services equals the full replay, on both engines.

Random histories of one or two loans in a fund of Brussels (UTC+1/+2) whose clock sits near
midnight: payments backdated to any day since the payout, bounced payments, refunds of
credit, deposit releases, write-offs followed by payments dated before them, reschedules made
at 23:30 UTC (already the next day in Brussels), time passing. Whatever the services refuse
is left out. After every step the stored projection equals the one the full computation makes
(what `verify` checks); at the end, as of random days and of every day around the loans' own
dates and month ends, the portfolio's aging and PAR30 and the arrears list (read from the
projection) equal those of the full replay of every payment.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ledger.domain.accounts import default_chart
from ledger.domain.errors import LedgerError
from ledger.domain.loans import Lease
from ledger.domain.money import from_minor
from ledger.domain.policy import LoanPolicy
from ledger.domain.repayment import arrears
from ledger.domain.roles import SYSTEM
from ledger.services import loans
from ledger.services.journal import install_chart
from ledger.services.periods import month_end
from ledger.services.reports import month_ends
from ledger.store.arrears_repository import PAID_OUT
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.db import fresh_sqlite, reset_postgres
from tests.support.ledgertext import book
from tests.support.loans import CASEWORKER2, POLICY, TREASURER2, person, sign, terms
from tests.support.profiles import examples

BRUSSELS = ZoneInfo("Europe/Brussels")
#: 00:30 on 11 January in Brussels: the fund's day is a day ahead of UTC's.
START = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)
SETTINGS = settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

step = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 1), st.integers(0, 120), st.integers(1, 90_000)),
    st.tuples(st.just("bounce"), st.integers(0, 1), st.integers(0, 20), st.integers(0, 9)),
    st.tuples(st.just("refund"), st.integers(0, 1), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("release"), st.integers(0, 1), st.integers(0, 30), st.integers(0, 80_000)),
    st.tuples(st.just("write_off"), st.integers(0, 1), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("reschedule"), st.integers(0, 1), st.integers(1, 12), st.integers(1, 60)),
    st.tuples(st.just("time"), st.just(0), st.integers(1, 70), st.integers(-2, 2)),
)


@pytest.fixture
def open_db(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[Callable[[], Engine]]:
    """A fresh database per Hypothesis example, on the engine of this test's parameter."""
    engines: list[tuple[Engine, Path]] = []

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
        shutil.rmtree(directory, ignore_errors=True)


class Fund:
    def __init__(self, engine: Engine) -> None:
        self.clock = Clock(START)
        self.uow = UnitOfWork(engine, clock=self.clock, zone=BRUSSELS)
        install_chart(self.uow, SYSTEM, default_chart("EUR"))
        book(self.uow, TREASURER, "2026-01-02 capital 50000.00 EUR Dr 1000 Cr 3000 ; capital")
        self.loan_ids: list[str] = []
        self.payments: list[int] = []  # entry ids
        self.days: set[date] = set()
        self.serial = 0

    def key(self) -> str:
        self.serial += 1
        return f"k{self.serial}"

    def today(self) -> date:
        return self.uow.today()

    def open_loan(self, deposit: int, count: int) -> None:
        loan = loans.open_application(
            self.uow,
            CASEWORKER,
            person(self.uow).id,
            terms(
                deposit=from_minor(deposit, "EUR"),
                monthly_rent=from_minor(-(-deposit // 2), "EUR"),
                lease_start=date(2026, 1, 1),
                lease_end=date(2029, 12, 31),
                first_due_date=date(2026, 1, 31),
                installments=count,
            ),
            Lease(None, None),
            POLICY,
        )
        loans.submit(self.uow, CASEWORKER, loan.id, POLICY)
        decision = loans.get_loan(self.uow, AUDITOR, loan.id).decision
        if decision is None or not decision.accepted:
            loans.override_eligibility(self.uow, ADMIN, loan.id, "the board agreed")
        loans.approve(self.uow, CASEWORKER2, loan.id, LoanPolicy())
        sign(self.uow, loan.id)
        loans.disburse(self.uow, TREASURER, loan.id, on=self.today(), idempotency_key=self.key())
        self.loan_ids.append(loan.id)
        self.days.add(self.today())

    def run(self, what: str, which: int, n: int, m: int) -> None:
        loan_id = self.loan_ids[which % len(self.loan_ids)]
        day = self.today() - timedelta(days=n)
        self.days.add(day)
        if what == "pay":
            paid = loans.record_payment(
                self.uow,
                TREASURER,
                loan_id,
                from_minor(m, "EUR"),
                on=day,
                idempotency_key=self.key(),
            )
            self.payments.append(paid.entry.id)
        elif what == "bounce" and self.payments:
            entry_id = self.payments[m % len(self.payments)]
            loans.reverse_payment(
                self.uow,
                TREASURER,
                entry_id,
                on=self.today(),
                reason="bounced",
                idempotency_key=self.key(),
            )
        elif what == "refund":
            loans.refund_credit(
                self.uow, TREASURER, loan_id, on=self.today(), idempotency_key=self.key()
            )
        elif what == "release":
            loans.record_deposit_release(
                self.uow,
                TREASURER,
                loan_id,
                on=day,
                returned=from_minor(m, "EUR"),
                kept=from_minor(0, "EUR"),
                kept_reason=None,
                idempotency_key=self.key(),
            )
        elif what == "write_off":
            proposal = loans.propose_write_off(self.uow, TREASURER, loan_id, "gone abroad")
            loans.approve_write_off(
                self.uow, TREASURER2, proposal.id, on=day, idempotency_key=self.key()
            )
        elif what == "reschedule":
            # At 23:30 UTC: in force from the fund's next day, not UTC's.
            self.clock.now = datetime.combine(self.clock.now.date(), START.timetz())
            loans.reschedule(
                self.uow,
                CASEWORKER,
                loan_id,
                first_due=self.today() + timedelta(days=m),
                reason="lower income",
                installments=n,
            )
            self.days.add(self.today())
        elif what == "time":
            self.clock.advance(days=n, hours=m)


def check_day(fund: Fund, day: date) -> None:
    uow = fund.uow
    with uow:
        projected = loans.compute_portfolio(uow, day, "EUR")
        replayed = loans.replay_portfolio(uow, day, "EUR")
        expected = {
            loan_id: arrears(insts, pays, day)
            for loan_id, _cur, insts, pays in uow.loans.portfolio(PAID_OUT, as_of=day)
            if insts
        }
    assert projected == replayed, day
    listed = loans.arrears_list(uow, AUDITOR, day, "EUR", limit=500)
    late = {k: a for k, a in expected.items() if a.days_past_due > 0}
    assert listed.total == len(late), day
    for line in listed.lines:
        a = late[line.loan_id]
        assert (line.days_past_due, line.outstanding_minor, line.overdue_minor) == (
            a.days_past_due,
            a.outstanding,
            a.overdue,
        ), (day, line)
    assert [line.days_past_due for line in listed.lines] == sorted(
        (line.days_past_due for line in listed.lines), reverse=True
    )


@pytest.mark.parametrize(
    "open_db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
@SETTINGS
@given(
    opened=st.lists(
        st.tuples(st.integers(30_000, 200_000), st.integers(1, 12)), min_size=1, max_size=2
    ),
    steps=st.lists(step, max_size=14),
    days=st.lists(st.integers(-10, 500), max_size=6),
)
def test_the_projection_answers_as_the_full_replay(
    open_db: Callable[[], Engine],
    opened: list[tuple[int, int]],
    steps: list[tuple[str, int, int, int]],
    days: list[int],
) -> None:
    fund = Fund(open_db())
    for deposit, count in opened:
        fund.open_loan(deposit, count)
    for what, which, n, m in steps:
        with contextlib.suppress(LedgerError):  # refused: nothing written
            fund.run(what, which, n, m)
        with fund.uow:
            assert list(loans.projection_problems(fund.uow)) == []
    start = date(2026, 1, 10)
    wanted = {start + timedelta(days=d) for d in days}
    wanted |= {d + timedelta(days=k) for d in fund.days for k in (-1, 0, 1)}
    wanted |= set(month_ends(f"{fund.today():%Y-%m}", 3))
    wanted.add(month_end(f"{fund.today():%Y-%m}"))
    for day in sorted(wanted):
        check_day(fund, day)
