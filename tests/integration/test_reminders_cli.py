"""`fundledger reminders send` and `letter` on a real SQLite file, sending through a local SMTP
server (aiosmtpd): what it prints (no personal data), its exit code, once a day per reminder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ledger.cli import app
from ledger.config import get_settings
from ledger.domain.accounts import default_chart
from ledger.domain.roles import SYSTEM
from ledger.domain.statuses import LoanStatus
from ledger.services.journal import install_chart
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.uow import UnitOfWork
from tests.support import loans as support_loans
from tests.support.actors import TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loans import loan_in
from tests.support.smtp import Inbox, smtp_server


@pytest.fixture(autouse=True)
def _people_speak_a_language_without_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reminders go in the fund's first language when the person's has no catalog: the
    people of these tests speak one (``NO_CATALOG``)."""
    monkeypatch.setattr(support_loans, "LANGUAGE", support_loans.NO_CATALOG)


runner = CliRunner()
RULES = """
version = "test"

[reminders]
before_due_days = 5
late_days = 10
formal_notice_days = 30
tone = "friendly"
"""


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def fund(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inbox: Inbox) -> Iterator[Engine]:
    """A fund with one loan paid out on 15 March 2026, nothing repaid (first due 31 March)."""
    url = f"sqlite:///{tmp_path / 'fund.db'}"
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    for name, value in {
        "DATABASE_URL": url,
        "RULES_FILE": str(rules),
        "PUBLIC_URL": "https://fund.example.org/",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(inbox.port),
        "SMTP_STARTTLS": "false",
        "SMTP_FROM": "rappels@fund.example.org",
    }.items():
        monkeypatch.setenv(f"FUNDLEDGER_{name}", value)
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate.upgrade(engine)
    clock = Clock()
    install_chart(UnitOfWork(engine, clock=clock), SYSTEM, default_chart("EUR"))
    book(
        UnitOfWork(engine, clock=clock),
        TREASURER,
        "2026-03-01 capital 10000.00 EUR Dr 1000 Cr 3000",
    )
    loan_in(UnitOfWork(engine, clock=clock), LoanStatus.ACTIVE)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["reminders", *args])
    return result.exit_code, result.output


PERSONAL = ("Amina", "Kebede", "amina@example.org", "Rue de la Loi", "70.83", "70,83")


def test_a_dry_run_then_the_run_then_the_same_run_again(fund: Engine, inbox: Inbox) -> None:
    code, out = invoke("send", "--dry-run", "--on", "2026-04-10")
    assert code == 0, out
    assert "payment reminders of 2026-04-10 (dry run)" in out
    assert "L000001    late           2026-03-31  10 days late" in out
    assert "would be sent (fr)" in out
    assert "dry run: 1 would be sent, 0 skipped; nothing was sent or recorded" in out
    assert inbox.messages == []
    code, out = invoke("send", "--on", "2026-04-10")
    assert code == 0, out
    assert "sent (fr)" in out and "1 sent, 0 not sent, 0 skipped, of 1 active loan(s)" in out
    assert len(inbox.messages) == 1
    assert "https://fund.example.org/b/" in str(inbox.messages[0].get_body(("plain",)))
    code, out = invoke("send", "--on", "2026-04-10")
    assert code == 0, out
    assert "0 sent, 0 not sent, 0 skipped" in out and "L000001" not in out
    assert len(inbox.messages) == 1
    for words in PERSONAL:
        assert words not in out


def test_a_refused_e_mail_makes_the_exit_code_one_and_goes_next_time(
    fund: Engine, inbox: Inbox
) -> None:
    inbox.refused.add("amina@example.org")
    code, out = invoke("send", "--on", "2026-04-10")
    assert code == 1
    assert "NOT SENT, tried again next run: recipient refused: 550" in out
    assert "amina" not in out
    inbox.refused.clear()
    code, out = invoke("send", "--on", "2026-04-11")
    assert code == 0, out
    assert "sent (fr, try 2)" in out


def test_what_is_missing_is_said(fund: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = invoke("send", "--on", "2026-13-01")
    assert code == 2 and "--on '2026-13-01' is not a date" in out
    monkeypatch.delenv("FUNDLEDGER_SMTP_HOST")
    get_settings.cache_clear()
    code, out = invoke("send")
    assert code == 1 and "FUNDLEDGER_SMTP_HOST is not set" in out
    monkeypatch.delenv("FUNDLEDGER_RULES_FILE")
    get_settings.cache_clear()
    code, out = invoke("send", "--dry-run")
    assert code == 1 and "no [reminders] table" in out
    code, out = invoke("send", "--on", "2099-01-01")
    assert code == 1


def test_the_letter_is_written_to_a_file_and_recorded(fund: Engine, tmp_path: Path) -> None:
    target = tmp_path / "letter.pdf"
    code, out = invoke("letter", "L000001", "--out", str(target))
    assert code == 0, out
    assert target.read_bytes().startswith(b"%PDF")
    # Today (the machine's) the loan is months late: the formal notice.
    assert (
        f"formal_notice letter of loan L000001 (fr, printed 1 time(s)) written to {target}" in out
    )
    code, out = invoke("letter", "L000001", "--out", str(target), "--kind", "before_due")
    assert code == 1 and "nothing late and nothing left to pay" in out
    code, out = invoke("letter", "L000009")
    assert code == 1 and "L000009" in out
    for words in PERSONAL:
        assert words not in out
