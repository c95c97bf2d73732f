"""`fundledger payment-file ...` and `fundledger loan landlord-account` on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli import app
from ledger.config import get_settings
from ledger.domain.statements import end_to_end_id
from ledger.store.database import make_engine
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.ledgertext import book
from tests.support.statements import paid_out_loan

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "fund.db"
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("FUNDLEDGER_FUND_NAME", "Fonds de garanties")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_make_show_send_from_the_command_line(db: Path, tmp_path: Path) -> None:
    assert invoke("init")[0] == 0
    engine = make_engine(f"sqlite:///{db}")
    uow = UnitOfWork(engine)
    book(uow, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    loan = paid_out_loan(uow)
    engine.dispose()
    entry_id = loan.disbursement_entry_id or 0

    code, out = invoke("payment-file", "pending")
    assert code == 0 and "landlord's IBAN is missing" in out
    code, out = invoke("loan", "landlord-account", loan.id, "--iban", "DE00 1")
    assert code == 1 and "not a valid IBAN" in out
    code, out = invoke(
        "loan", "landlord-account", loan.id, "--iban", "DE89370400440532013000", "--name", "Immo"
    )
    assert code == 0, out
    code, out = invoke("payment-file", "pending")
    assert code == 0 and f"entry {entry_id:>6}" in out and "ready" in out

    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    first = tmp_path / "pay.xml"
    code, out = invoke(
        "payment-file", "create", "--out", str(first), "--execution-date", tomorrow, "--key", "k"
    )
    assert code == 0, out
    xml = first.read_bytes()
    assert end_to_end_id(entry_id).encode() in xml and b"DE89370400440532013000" in xml
    assert "1 transfers 1700.00 EUR, 0/1 executed" in out
    code, out = invoke("payment-file", "create", "--out", str(first), "--execution-date", tomorrow)
    assert code == 2 and "exists already" in out

    code, out = invoke("payment-file", "list")
    assert code == 0 and "created" in out and "1 of 1 payment files" in out
    again = tmp_path / "again.xml"
    code, out = invoke("payment-file", "show", "1", "--out", str(again))
    assert code == 0, out
    assert again.read_bytes() == xml
    assert end_to_end_id(entry_id) in out and "Immo" not in out
    code, out = invoke("payment-file", "sent", "1")
    assert code == 0 and " sent " in out
    code, out = invoke("payment-file", "cancel", "1", "--reason", "oops")
    assert code == 1 and "cannot be cancelled here" in out
