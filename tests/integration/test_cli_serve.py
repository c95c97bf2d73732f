"""`fundledger serve`: the API on the configured database (uvicorn itself replaced)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.cli import app
from ledger.config import get_settings

runner = CliRunner()


#: A real fund's profile (FUNDLEDGER_FUND_*): serve refuses a fund still on the demo's.
PROFILE = {
    "FUNDLEDGER_FUND_NAME": "Fonds de garantie locative asbl",
    "FUNDLEDGER_FUND_IBAN": "BE62510007547061",
    "FUNDLEDGER_FUND_ADDRESS": "Rue Haute 12",
    "FUNDLEDGER_FUND_POSTCODE": "1000",
    "FUNDLEDGER_FUND_CITY": "Bruxelles",
    "FUNDLEDGER_FUND_PHONE": "+32 2 511 22 33",
    "FUNDLEDGER_FUND_EMAIL": "fonds@garantie.example",
    "FUNDLEDGER_FUND_LEGAL_LANGUAGE": "fr",
}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "fund.db"
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", f"sqlite:///{path}")
    for name, value in PROFILE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FUNDLEDGER_DEMO", raising=False)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_serve_refuses_a_real_fund_still_on_the_demo_profile(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    runs: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kw: runs.append(args))
    assert runner.invoke(app, ["init"]).exit_code == 0
    monkeypatch.delenv("FUNDLEDGER_FUND_IBAN")
    monkeypatch.setenv("FUNDLEDGER_FUND_PHONE", "+32 2 000 00 00")
    get_settings.cache_clear()
    result = runner.invoke(app, ["serve", "--port", "18001"])
    assert result.exit_code == 1, result.output
    assert "FUNDLEDGER_FUND_IBAN is not set" in result.output
    assert "FUNDLEDGER_FUND_PHONE is not set" in result.output
    assert "FUNDLEDGER_FUND_NAME" not in result.output  # what is set is not named
    assert runs == []

    monkeypatch.setenv("FUNDLEDGER_DEMO", "true")  # a demo fund may keep the demo values
    get_settings.cache_clear()
    assert runner.invoke(app, ["serve", "--port", "18001"]).exit_code == 0
    assert len(runs) == 1


def test_serve_runs_the_api_of_the_configured_database(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from fastapi import FastAPI

    runs: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: runs.append((application, kw)))
    result = runner.invoke(app, ["serve", "--port", "18001"])
    assert result.exit_code == 1 and "run `fundledger init`" in result.output, result.output
    assert runs == []

    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["serve", "--port", "18001"])
    assert result.exit_code == 0, result.output
    assert f"fundledger serving sqlite:///{db} on http://127.0.0.1:18001" in result.output
    [(application, kw)] = runs
    assert isinstance(application, FastAPI)
    assert kw == {"host": "127.0.0.1", "port": 18001, "log_level": "info"}
