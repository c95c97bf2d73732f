"""`fundledger statement ...` on a real SQLite file, and the hash key `init` writes."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.bank.csv_statement import CsvMapping
from ledger.bank.writers import camt053, csv_export
from ledger.cli import app
from ledger.config import get_settings
from ledger.fund.hash_key import load_hash_key
from tests.support.statements import FUND_IBAN, entry, statement

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


def test_init_writes_a_private_hash_key_once(db: Path) -> None:
    code, out = invoke("init")
    assert code == 0, out
    key_file = db.parent / "fundledger-hash.key"
    assert f"hash key for payers' IBANs written to {key_file}" in out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = load_hash_key(get_settings())
    assert len(key) == 64
    code, out = invoke("init")
    assert "hash key" not in out and load_hash_key(get_settings()) == key


def test_import_list_and_match_from_the_command_line(db: Path, tmp_path: Path) -> None:
    assert invoke("init")[0] == 0
    st = statement(
        "2026-03", 0,
        [entry("2026-03-02", "250.00", ref="A", remittance="gift"),
         entry("2026-03-03", "2.00", "debit", ref="B", bank_code="ACMT/MDOP/CHRG")],
    )  # fmt: skip
    path = tmp_path / "march.xml"
    path.write_bytes(camt053([st]))
    code, out = invoke("statement", "import", str(path))
    assert code == 0, out
    assert "2026-03 (BE71096123456769): 2 new of 2 (1 charge, 1 unidentified)" in out
    assert "closing 248.00 EUR" in out
    code, out = invoke("statement", "import", str(path))
    assert code == 0 and "already imported, nothing new" in out
    code, out = invoke("statement", "list")
    assert code == 0 and "closing         248.00 EUR 2/2 lines" in out
    code, out = invoke("statement", "lines")
    assert code == 0 and "unidentified" in out and "gift" in out
    line_id = out.split()[0]
    code, out = invoke("statement", "book", line_id, "--account", "3000", "--kind", "capital")
    assert code == 0, out
    assert f"line {line_id} 2026-03-02 250.00 EUR: manual" in out
    code, out = invoke("statement", "lines")
    assert "0 of 0 lines" in out
    code, out = invoke("verify")
    assert code == 0, out


def test_a_refused_file_exits_1_with_the_reason(db: Path, tmp_path: Path) -> None:
    assert invoke("init")[0] == 0
    bad = statement("S", 0, [entry("2026-03-02", "1.00", ref="A")], closing=500)
    path = tmp_path / "bad.xml"
    path.write_bytes(camt053([bad]))
    code, out = invoke("statement", "import", str(path))
    assert code == 1
    assert "statement S of account BE71096123456769 does not add up" in out


def test_csv_mapping_saved_and_used(db: Path, tmp_path: Path) -> None:
    assert invoke("init")[0] == 0
    mapping = {"date": "Date", "amount": "Montant", "communication": "Texte"}
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(mapping))
    code, out = invoke("statement", "mapping", "save", "my-bank", str(mapping_file))
    assert code == 0 and "mapping my-bank saved" in out
    code, out = invoke("statement", "mapping", "list")
    assert '"amount": "Montant"' in out
    st = statement("x", 0, [entry("2026-03-02", "12.00", remittance="hello")])
    path = tmp_path / "export.csv"
    path.write_bytes(
        csv_export(
            st,
            CsvMapping(
                name="my-bank",
                date=mapping["date"],
                amount=mapping["amount"],
                communication=mapping["communication"],
            ),
        )
    )
    code, out = invoke("statement", "import", str(path), "--mapping", "my-bank")
    assert code == 1 and "give the account's IBAN" in out
    code, out = invoke(
        "statement", "import", str(path), "--mapping", "my-bank", "--iban", FUND_IBAN,
        "--opening", "0.00",
    )  # fmt: skip
    assert code == 0, out
    assert "closing 12.00 EUR" in out


def test_a_payers_terminal_escape_codes_are_printed_escaped(db: Path, tmp_path: Path) -> None:
    """Issue 16 (#14): a bank file's text reached the terminal raw; an escape sequence in a
    remittance could clear the screen or rewrite what was printed before."""
    assert invoke("init")[0] == 0
    mapping = {"date": "Date", "amount": "Montant", "communication": "Texte"}
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(mapping))
    assert invoke("statement", "mapping", "save", "my-bank", str(mapping_file))[0] == 0
    st = statement("x", 0, [entry("2026-03-02", "12.00", remittance="rent\x1b[2J\x1b]0;pwned\x07")])
    path = tmp_path / "export.csv"
    columns = CsvMapping(name="my-bank", date="Date", amount="Montant", communication="Texte")
    path.write_bytes(csv_export(st, columns))
    code, out = invoke(
        "statement", "import", str(path), "--mapping", "my-bank", "--iban", FUND_IBAN,
        "--opening", "0.00",
    )  # fmt: skip
    assert code == 0, out
    code, out = invoke("statement", "lines")
    assert code == 0, out
    assert "\x1b" not in out and "\x07" not in out
    assert "rent" in out and "\\x1b]0;pwned\\x07" in out
