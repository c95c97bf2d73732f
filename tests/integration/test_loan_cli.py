"""`fundledger loan list/show/portfolio` on a real SQLite file, with a loan built through the
services: 1,400.00 over 14 months of 100.00 from 2026-05-01, paid out on 2026-03-15, the first
installment paid in advance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ledger.cli import app
from ledger.config import get_settings
from ledger.domain.accounts import default_chart
from ledger.domain.money import money
from ledger.domain.roles import SYSTEM
from ledger.services import loans
from ledger.services.journal import install_chart
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.api_loans import sign_contract
from tests.support.clock import Clock
from tests.support.contracts import CASEWORKER2, approved_loan
from tests.support.ledgertext import book

runner = CliRunner()


@pytest.fixture
def fund(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'fund.db'}"
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate.upgrade(engine)
    clock = Clock()
    install_chart(UnitOfWork(engine, clock=clock), SYSTEM, default_chart("EUR"))
    book(
        UnitOfWork(engine, clock=clock),
        TREASURER,
        "2026-03-01 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital",
    )
    loan = approved_loan(UnitOfWork(engine, clock=clock))
    sign_contract(engine, clock, loan.id, CASEWORKER2)
    on = date(2026, 3, 15)
    loans.disburse(UnitOfWork(engine, clock=clock), TREASURER, loan.id, on=on, idempotency_key="p")
    loans.record_payment(
        UnitOfWork(engine, clock=clock),
        TREASURER,
        loan.id,
        money("100.00", "EUR"),
        on=on,
        idempotency_key="pay-1",
    )
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["loan", *args])
    return result.exit_code, result.output


def test_list_shows_loans_without_personal_data(fund: Engine) -> None:
    code, out = invoke("list")
    assert code == 0, out
    assert "L000001" in out and "active" in out and "1400.00" in out
    assert "+++000/0000/00101+++" in out
    assert "1 loan(s)" in out
    for personal in ("Olena", "Immo Exemple", "Rue de la Loi", "1500.00"):
        assert personal not in out
    code, out = invoke("list", "--status", "closed")
    assert code == 0 and "0 loan(s)" in out
    code, out = invoke("list", "--status", "lost")
    assert code == 2


def test_show_gives_the_schedule_paid_and_remaining_and_the_arrears(fund: Engine) -> None:
    code, out = invoke("show", "L000001", "--as-of", "2026-06-15")
    assert code == 0, out
    assert "loan L000001: active" in out
    assert "payment reference +++000/0000/00101+++" in out
    lines = out.splitlines()
    assert "   1 2026-05-01       100.00       100.00         0.00" in lines
    assert "   2 2026-06-01       100.00         0.00       100.00" in lines
    assert "outstanding 1300.00 EUR, credit 0.00" in out
    assert "arrears: 100.00 overdue since 2026-06-01, 14 days past due (1-30)" in out
    assert "2026-03-15       100.00 repayment" in out
    assert "eligibility: pass" in out
    for personal in ("Olena", "Immo Exemple", "Rue de la Loi", "1500.00"):
        assert personal not in out
    code, out = invoke("show", "L000001", "--as-of", "2026-04-30")
    assert code == 0 and "arrears: none (current)" in out


def test_show_refuses_unknown_loans_and_bad_dates(fund: Engine) -> None:
    code, out = invoke("show", "L999999")
    assert code == 1 and "loan L999999 does not exist" in out
    code, out = invoke("show", "L000001", "--as-of", "15/06/2026")
    assert code == 2 and "YYYY-MM-DD" in out


def test_portfolio_ages_and_par30(fund: Engine) -> None:
    code, out = invoke("portfolio", "--as-of", "2026-06-15")
    assert code == 0, out
    assert "portfolio as of 2026-06-15 in EUR: 1 loan(s), 1300.00 outstanding" in out
    assert "1-30            1        1300.00" in out.splitlines()
    assert "PAR30 0.00 EUR (0.00%)" in out
    code, out = invoke("portfolio", "--as-of", "2026-08-15")
    assert code == 0, out
    assert "61-90           1        1300.00" in out.splitlines()
    assert "PAR30 1300.00 EUR (100.00%)" in out
    code, out = invoke("portfolio", "--currency", "CHF", "--as-of", "2026-08-15")
    assert code == 0 and "0 loan(s), 0.00 outstanding" in out


def test_arrears_lists_the_late_loans_and_exports_them(fund: Engine) -> None:
    code, out = invoke("arrears", "--as-of", "2026-06-15")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == [
        "loan",
        "number",
        "days",
        "late",
        "bucket",
        "overdue",
        "outstanding",
        "caseworker",
    ]
    assert lines[1].split() == [
        "L000001",
        "1",
        "14",
        "1-30",
        "100.00",
        "1300.00",
        "carl.caseworker",
    ]
    assert "1 loan(s) in arrears as of 2026-06-15 in EUR" in out
    for personal in ("Olena", "Immo Exemple", "Rue de la Loi", "1500.00"):
        assert personal not in out
    code, out = invoke("arrears", "--as-of", "2026-05-31")
    assert code == 0 and "0 loan(s) in arrears" in out
    code, out = invoke("arrears", "--as-of", "2026-08-15", "--bucket", "61-90", "--csv")
    assert code == 0, out
    assert out.splitlines() == [
        "loan_id,loan_number,caseworker,days_past_due,bucket,late_since,overdue,outstanding,currency",
        "L000001,1,carl.caseworker,75,61-90,2026-06-01,300.00,1300.00,EUR",
    ]
    code, out = invoke("arrears", "--bucket", "current")
    assert code == 1 and "not a bucket of loans in arrears" in out


def test_init_fills_the_projection_of_a_fund_migrated_from_before_it(fund: Engine) -> None:
    migrate.downgrade(fund, "0010")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert "schema: 0010 -> " in result.output
    assert "arrears projection of the loans paid out filled: 1 step(s)" in result.output
    result = runner.invoke(app, ["init"])  # already at the head: nothing to fill
    assert result.exit_code == 0 and "arrears projection" not in result.output
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 0, result.output
    assert "arrears projection of 1 loan(s) matches the full computation" in result.output
    code, out = invoke("portfolio", "--as-of", "2026-08-15")
    assert code == 0 and "61-90           1        1300.00" in out.splitlines()


def test_arrears_rebuild_makes_the_projection_again(fund: Engine) -> None:
    with fund.begin() as conn:
        conn.exec_driver_sql("DELETE FROM loan_arrears")
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 1 and "run `fundledger loan arrears-rebuild`" in result.output
    code, out = invoke("arrears-rebuild")
    assert code == 0 and "arrears projection rebuilt: 1 step(s)" in out
    assert runner.invoke(app, ["verify"]).exit_code == 0
