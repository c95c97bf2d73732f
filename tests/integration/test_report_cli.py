"""`fundledger report` and `fundledger export` on a real SQLite file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from ledger.cli import app
from ledger.config import get_settings
from ledger.store.database import make_engine
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.ledgertext import book

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "fund.db"
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("FUNDLEDGER_HASH_KEY_FILE", str(tmp_path / "hash.key"))
    get_settings.cache_clear()
    assert invoke("init")[0] == 0
    engine = make_engine(f"sqlite:///{path}")
    book(
        UnitOfWork(engine),
        TREASURER,
        "2026-01-05 capital 8000.00 EUR Dr 1000 Cr 3000 ; founding capital\n"
        "2026-02-10 donation 99.99 EUR Dr 1000 Cr 4000 ; -5 percent promise",
    )
    engine.dispose()
    yield path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_export_journal_writes_the_legs_of_the_period(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "feb.csv"
    code, text = invoke(
        "export", "journal", "--from", "2026-02-01", "--to", "2026-02-28", "--out", str(out)
    )
    assert code == 0, text
    assert f"journal 2026-02-01 to 2026-02-28 written to {out}" in text
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["account_code"], r["debit"], r["credit"]) for r in rows] == [
        ("1000", "99.99", ""),
        ("4000", "", "99.99"),
    ]
    assert rows[0]["description"] == "'-5 percent promise"
    assert not (tmp_path / "feb.csv.part").exists()


def test_export_trial_balance_as_of_a_day(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "tb.csv"
    code, text = invoke("export", "trial-balance", "--as-of", "2026-01-31", "--out", str(out))
    assert code == 0, text
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    (total,) = [r for r in rows if r["account_name"] == "Total"]
    assert (total["currency"], total["debit"], total["credit"]) == ("EUR", "8000.00", "8000.00")


def test_bad_dates_and_months_are_refused_and_nothing_is_written(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    code, text = invoke(
        "export", "journal", "--from", "2026-02-31", "--to", "2026-03-01", "--out", str(out)
    )
    assert code == 2 and "--from '2026-02-31' is not a date" in text
    code, text = invoke(
        "export", "journal", "--from", "2026-03-01", "--to", "2026-02-01", "--out", str(out)
    )
    assert code == 1 and "is after to" in text
    code, text = invoke("report", "monthly", "2026-13", "--out", str(tmp_path / "r.pdf"))
    assert code == 1 and "2026-13" in text and "does not exist" in text
    future = f"{date.today().year + 1}-01"
    code, text = invoke("report", "monthly", future, "--out", str(tmp_path / "r.pdf"))
    assert code == 1 and "has not begun" in text
    assert not out.exists() and not (tmp_path / "r.pdf").exists()


def test_report_monthly_writes_the_pdf(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    code, text = invoke("report", "monthly", "2026-02", "--out", str(out))
    assert code == 0, text
    assert f"monthly report 2026-02 written to {out}" in text
    assert out.read_bytes().startswith(b"%PDF-")


def _pdf_text(path: Path) -> str:
    return " ".join(p.extract_text() for p in PdfReader(path).pages)


def test_report_language_from_the_option_or_the_setting(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.pdf"
    assert invoke("report", "monthly", "2026-02", "--out", str(out), "--language", "fr")[0] == 0
    assert "Rapport mensuel du fonds" in _pdf_text(out)
    monkeypatch.setenv("FUNDLEDGER_REPORT_LANGUAGE", "de")
    get_settings.cache_clear()
    assert invoke("report", "monthly", "2026-02", "--out", str(out))[0] == 0
    assert "Monatsbericht" in _pdf_text(out)


def test_report_times_are_in_the_fund_s_zone(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FUNDLEDGER_TIMEZONE reaches the report: its time is the fund's, the zone named."""
    monkeypatch.setenv("FUNDLEDGER_TIMEZONE", "Asia/Tokyo")  # no summer time: always +09:00
    get_settings.cache_clear()
    out = tmp_path / "report.pdf"
    assert invoke("report", "monthly", "2026-02", "--out", str(out))[0] == 0
    assert "JST (UTC+09:00)" in _pdf_text(out)
