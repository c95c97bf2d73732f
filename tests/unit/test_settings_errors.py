"""A bad FUNDLEDGER_* setting stops the command line and the server with one line a setting,
naming the variable and what to set, not pydantic's traceback (issue 16, #14)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.config import get_settings
from ledger.config_errors import SettingsInvalid

BAD = {"FUNDLEDGER_TOKEN_TTL_MINUTES": "abc", "FUNDLEDGER_TIMEZONE": "Mars/Base"}


@pytest.fixture
def bad_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in BAD.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_one_line_a_bad_setting(bad_env: None) -> None:
    with pytest.raises(SettingsInvalid) as refused:
        get_settings()
    lines = str(refused.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("FUNDLEDGER_TIMEZONE: unknown time zone 'Mars/Base'")
    assert "set it to the fund's time zone (IANA name)" in lines[0]
    assert lines[1].startswith("FUNDLEDGER_TOKEN_TTL_MINUTES: ")
    assert "valid integer" in lines[1]


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **BAD, "FUNDLEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    return subprocess.run(
        args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_command_line_says_it_in_a_line_each(tmp_path: Path) -> None:
    fundledger = str(Path(sys.executable).parent / "fundledger")
    done = _run(fundledger, "user", "list", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "pydantic" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert [e.split(":")[1].strip() for e in errors] == [
        "FUNDLEDGER_TIMEZONE",
        "FUNDLEDGER_TOKEN_TTL_MINUTES",
    ]


def test_the_server_says_it_in_a_line_each(tmp_path: Path) -> None:
    code = "from ledger.api.app import create_app; create_app()"
    done = _run(sys.executable, "-W", "ignore", "-c", code, tmp_path=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "error: FUNDLEDGER_TOKEN_TTL_MINUTES: " in done.stderr
