"""`fundledger month reconcile` and `fundledger month close` on a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.bank.writers import camt053
from ledger.cli import app
from ledger.config import get_settings
from tests.support.statements import entry, statement

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "fund.db"
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("FUNDLEDGER_HASH_KEY", raising=False)
    monkeypatch.delenv("FUNDLEDGER_HASH_KEY_FILE", raising=False)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def import_statement(tmp_path: Path, name: str, *args: object, **kwargs: object) -> None:
    path = tmp_path / f"{name}.xml"
    path.write_bytes(camt053([statement(name, *args, **kwargs)]))  # type: ignore[arg-type]
    code, out = invoke("statement", "import", str(path))
    assert code == 0, out


def test_reconcile_then_close_a_month(db: Path, tmp_path: Path) -> None:
    assert invoke("init")[0] == 0
    import_statement(
        tmp_path,
        "2026-03",
        0,
        [
            entry("2026-03-02", "250.00", ref="A", remittance="gift"),
            entry("2026-03-10", "40.00", "debit", ref="B", remittance="CARD 4411"),
        ],
        end="2026-03-31",
    )
    code, out = invoke("month", "reconcile", "2026-03")
    assert code == 1, out
    assert out.startswith("2026-03: NOT reconciled\n")
    assert "bank account 1000 BE71096123456769: NOT reconciled" in out
    assert "    unmatched lines (1)               -40.00\n" in out
    assert "unidentified receipts: 0-30 days: 1 (250.00)" in out
    assert "to do: 1 statement line of BE71096123456769 unmatched (-40.00 EUR" in out
    assert out.rstrip().endswith(
        "2026-03 does not reconcile: clear the differences above before closing it"
    )

    code, out = invoke("month", "reconcile", "2026-03", "--json")
    assert code == 1
    body = json.loads(out)
    assert body["reconciled"] is False
    [bank] = body["currencies"][0]["banks"]
    assert bank["unmatched_total"] == {"amount": "-40.00", "currency": "EUR", "minor": -4_000}
    [line] = bank["unmatched"]

    code, out = invoke("month", "close", "2026-03")
    assert code == 1
    assert "2026-03 does not reconcile" in out and "give a written reason" in out

    code, out = invoke(
        "statement", "book", str(line["line_id"]), "--account", "6100", "--kind", "bank_charge"
    )
    assert code == 0, out
    code, out = invoke("month", "reconcile", "2026-03")
    assert code == 0, out
    assert out.startswith("2026-03: reconciled\n")
    assert out.rstrip().endswith("2026-03 reconciles: it can be closed")
    code, out = invoke("month", "close", "2026-03")
    assert code == 0, out
    assert "2026-03 closed by cli:" in out and "although" not in out
    code, out = invoke("month", "reconcile", "2026-03")
    assert code == 0 and out.startswith("2026-03: reconciled (closed)")

    # April's statement brings a debit nothing explains: the operator closes it with a reason.
    import_statement(
        tmp_path,
        "2026-04",
        21_000,
        [entry("2026-04-05", "10.00", "debit", ref="C")],
        start="2026-04-01",
        end="2026-04-30",
    )
    code, out = invoke("month", "close", "2026-04", "--reason", "Disputed with the bank")
    assert code == 0, out
    assert "closed although it does not reconcile: Disputed with the bank" in out
    code, out = invoke("month", "list")
    assert "close  2026-04 by cli:" in out and "Disputed with the bank" in out


def test_a_bad_month_and_an_empty_fund(db: Path) -> None:
    assert invoke("init")[0] == 0
    code, out = invoke("month", "reconcile", "2026-13")
    assert code == 1 and "does not exist" in out
    code, out = invoke("month", "reconcile", "2026-02")
    assert code == 0, out
    assert "    ledger at 2026-02-28                0.00\n" in out
    assert "(no statement up to 2026-02-28)" in out


def test_the_fund_s_rules_file_sets_the_reserve_and_a_bad_one_stops_the_command(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("init")[0] == 0
    rules = tmp_path / "rules.toml"
    rules.write_text('version = "v1"\ncash_reserve = "1234.00"\n', encoding="utf-8")
    monkeypatch.setenv("FUNDLEDGER_RULES_FILE", str(rules))
    get_settings.cache_clear()
    code, out = invoke("month", "reconcile", "2026-02", "--json")
    (currency,) = json.loads(out)["currencies"]
    assert currency["position"]["reserve"]["amount"] == "1234.00", out
    rules.write_text('cash_reserve = 1234.0\nversion = "v1"\n', encoding="utf-8")
    code, out = invoke("month", "reconcile", "2026-02")
    assert code == 1
    assert "cash_reserve must be written as a string" in out
    get_settings.cache_clear()
