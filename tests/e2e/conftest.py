"""Browser tests: Playwright drives Debian's Chromium against a live server on a fresh fund, on
SQLite and on PostgreSQL (the ``engine`` fixture). Without Chromium they are skipped, except
under CI=true, where a browser test that cannot run fails the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from ledger.config import Settings
from ledger.services import users
from tests.support.web import LiveServer, chromium_path, live_server, staffed_fund


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    path = chromium_path()
    if path is None:
        message = "Chromium not found: apt-get install -y chromium (.ci/run does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": path, "args": ["--no-sandbox"]}


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its production cost takes half a second per hash; each test makes five users
    and signs in several times (the live server runs in this process: the patch reaches it)."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def web_settings(tmp_path: Any) -> Settings:
    return Settings(
        _env_file=None,
        database_url="sqlite://",  # unused: the server is handed its engine
        fund_languages="en,fr,nl,de",
        documents_dir=tmp_path / "documents",
        hash_key="k" * 40,
    )


@pytest.fixture
def server(engine: Engine, web_settings: Settings) -> Iterator[LiveServer]:
    staffed_fund(engine)
    with live_server(engine, web_settings) as live:
        yield live
