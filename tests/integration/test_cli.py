"""The command line on a real SQLite file: init, demo, verify, users, months, schema checks."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from ledger.cli import app
from ledger.config import get_settings
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.tables import documents, journal_entries, loan_events, loans

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "fund.db"
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_init_creates_schema_and_chart_once(db: Path) -> None:
    code, out = invoke("init")
    assert code == 0, out
    assert f"schema: empty -> {migrate.head_revision()}" in out
    assert "9 account(s) opened" in out
    code, out = invoke("init")
    assert code == 0, out
    assert "all present already" in out
    code, out = invoke("accounts")
    assert code == 0
    assert "1200" in out and "control" in out and "no-overdraft" in out


def test_init_with_chart_file_and_bad_chart(db: Path, tmp_path: Path) -> None:
    chart = tmp_path / "chart.toml"
    chart.write_text(
        'currency = "CHF"\n'
        '[[account]]\ncode = "1020"\nname = "PostFinance"\ntype = "asset"\nrole = "bank"\n'
        '[[account]]\ncode = "1300"\nname = "Prets"\ntype = "asset"\nrole = "loans_receivable"\n'
        "is_control = true\n"
        '[[account]]\ncode = "2800"\nname = "Capital"\ntype = "equity"\nrole = "fund_capital"\n'
    )
    code, out = invoke("init", "--chart", str(chart))
    assert code == 0, out
    assert "3 account(s) opened (1020, 1300, 2800)" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[account]]\ncode = "1"\nname = "x"\ntype = "gold"\n')
    code, out = invoke("init", "--chart", str(bad))
    assert code == 1
    assert "gold" in out and "unknown" in out


def test_commands_refuse_an_unmigrated_database(db: Path) -> None:
    code, out = invoke("verify")
    assert code == 1
    assert "fundledger init" in out
    code, out = invoke("db", "status")
    assert code == 1
    assert "database: empty" in out


def test_demo_is_idempotent_and_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    code, out = invoke("demo", "--database", url)
    assert code == 0, out
    assert "16 new entries, 11 new loans, 6 new users, 31 new bank statement lines" in out
    code, out = invoke("demo", "--database", url)
    assert code == 0, out
    assert "0 new entries, 0 new loans, 0 new users, 0 new bank statement lines" in out
    engine = make_engine(url)
    assert migrate.current_revision(engine) == migrate.head_revision()
    # Six months of statements: every movement the demo booked is linked to its entry; the
    # last month leaves the treasurer a receipt without reference and a card payment.
    with engine.connect() as conn:
        states: dict[str, int] = dict(
            conn.execute(text("SELECT state, count(*) FROM statement_lines GROUP BY state")).all()
        )
        to_fix = conn.execute(
            text(
                "SELECT state, amount_minor, suggested_loan_id FROM statement_lines "
                "WHERE state <> 'linked' ORDER BY id"
            )
        ).all()
    assert states == {"linked": 29, "unidentified": 1, "unmatched": 1}
    assert [tuple(r) for r in to_fix] == [
        ("unidentified", 4500, "L000001"),
        ("unmatched", -1240, None),
    ]
    # Each loan paid out was paid on or after the day its contract was signed by both (in the
    # fund's zone), and signed after it was approved.
    with engine.connect() as conn:
        paid = conn.execute(
            select(
                loans.c.id,
                journal_entries.c.booking_date,
                documents.c.signed_by_beneficiary_at,
                documents.c.signed_by_fund_at,
            )
            .join(journal_entries, journal_entries.c.id == loans.c.disbursement_entry_id)
            .join(documents, documents.c.loan_id == loans.c.id)
            .where(documents.c.kind == "signed_contract", documents.c.voided_at.is_(None))
        ).all()
        approved = dict(
            conn.execute(
                select(loan_events.c.loan_id, loan_events.c.at).where(
                    loan_events.c.to_status == "approved"
                )
            ).all()
        )
    zone = get_settings().zone
    assert len(paid) == 5
    for loan_id, paid_on, by_beneficiary, by_fund in paid:
        assert approved[loan_id] <= by_beneficiary <= by_fund, loan_id
        assert by_fund.astimezone(zone).date() <= paid_on, loan_id


def test_verify_catches_a_leg_changed_behind_the_application(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{db}"
    assert invoke("demo", "--database", url)[0] == 0
    code, out = invoke("verify")
    assert code == 0, out
    assert out.startswith("OK: 33 entries, 67 legs")
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER journal_legs_no_update")
        conn.execute("UPDATE journal_legs SET amount_minor = amount_minor + 1 WHERE id = 3")
    code, out = invoke("verify")
    assert code == 1
    assert "FAILED" in out
    assert "content does not match its hash" in out
    assert "does not balance" in out


def test_users_months_and_trial_balance(db: Path) -> None:
    assert invoke("demo", "--database", f"sqlite:///{db}")[0] == 0
    code, out = invoke(
        "user",
        "add",
        "tom",
        "--role",
        "treasurer",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert code == 0, out
    code, out = invoke(
        "user",
        "add",
        "tom",
        "--role",
        "treasurer",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert code == 1 and "already exists" in out
    code, out = invoke(
        "user", "add", "eve", "--role", "auditor", "--password-stdin", input="short\n"
    )
    assert code == 1 and "at least 12 characters" in out
    code, out = invoke("user", "list")
    assert "tom" in out and "treasurer" in out and "eve" not in out

    code, out = invoke("trial-balance")
    assert code == 0, out
    assert "total EUR: 0.00 (balanced)" in out

    code, out = invoke("month", "list")
    closed_line = out.splitlines()[0]
    first_closed = closed_line.removeprefix("closed: ").split(", ")[0]
    code, out = invoke("month", "close", first_closed)
    assert code == 1 and "already closed" in out
    code, out = invoke("month", "reopen", first_closed, "--reason", "late bank statement")
    assert code == 0, out
    code, out = invoke("month", "list")
    assert first_closed not in out.splitlines()[0]
    assert "late bank statement" in out
    code, out = invoke("month", "close", "2999-01")
    assert code == 1 and "has not ended yet" in out
    code, out = invoke("trial-balance", "--as-of", "yesterday")
    assert code == 2 and "YYYY-MM-DD" in out
