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


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "fund.db"
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


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
