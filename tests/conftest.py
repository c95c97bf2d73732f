"""Shared fixtures: fresh databases on SQLite (always) and PostgreSQL (when configured).

PostgreSQL tests run when FUNDLEDGER_TEST_POSTGRES_URL names a database the tests may wipe
(`.ci/run` creates a fresh one). Without it they are skipped, except under CI=true or
FUNDLEDGER_REQUIRE_POSTGRES=1, where a missing server fails the run instead of hiding it.

Hypothesis profiles (docs/testing.md): "dev" (Hypothesis's defaults, the local default),
"fast" (a tenth of the examples, `make test-fast`) and "thorough" (twice as many, CI: chosen
when CI=true). HYPOTHESIS_PROFILE=NAME or pytest's --hypothesis-profile=NAME picks one.

Only fixtures live here; what tests import is in tests/support/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, text

from ledger.domain.accounts import default_chart
from ledger.domain.roles import SYSTEM
from ledger.services.journal import install_chart
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.db import PG_URL_ENV, fresh_sqlite, postgres_url, reset_postgres, worker_database

#: No test depends on how fast the machine is: no deadline, and Hypothesis's "input generation
#: is slow" health check is off (it failed a CI run on a busy machine, one draw taking 1.1 s).
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("dev", **_UNTIMED)  # type: ignore[arg-type]
settings.register_profile("fast", max_examples=10, **_UNTIMED)  # type: ignore[arg-type]
settings.register_profile(
    "thorough",
    max_examples=200,
    print_blob=True,
    **_UNTIMED,  # type: ignore[arg-type]
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("thorough" if os.environ.get("CI", "").lower() == "true" else "dev")
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_session_engine() -> Iterator[Engine]:
    url = postgres_url()
    if url is None:
        pytest.skip(f"PostgreSQL not configured: set {PG_URL_ENV} to run these tests")
    with ExitStack() as stack:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:
            url = stack.enter_context(worker_database(url, worker))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        migrate.downgrade(engine, "base")
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        migrate.upgrade(engine)
        yield engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[Engine]:
    """An empty, migrated database on each engine."""
    if request.param == "sqlite":
        eng = fresh_sqlite(sqlite_template, tmp_path)
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("pg_session_engine")
        reset_postgres(eng)
        yield eng


@pytest.fixture
def uow(engine: Engine, clock: Clock) -> UnitOfWork:
    return UnitOfWork(engine, clock=clock)


@pytest.fixture
def chart(uow: UnitOfWork) -> UnitOfWork:
    """The unit of work on a database with the default EUR chart installed."""
    install_chart(uow, SYSTEM, default_chart("EUR"))
    return uow


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser tests need a pytest run of their own (``make pytest`` runs two): Playwright
    keeps an event loop running in the process, and code that starts its own (pyHanko's
    signing, anyio.run) then fails, depending on the order the tests happened to run in."""
    e2e = [i for i in items if "/tests/e2e/" in str(i.path)]
    if e2e and len(e2e) != len(items):
        raise pytest.UsageError(
            "run the browser tests on their own: `pytest tests/e2e` in one run and "
            "`pytest --ignore=tests/e2e` in another (`make pytest` does both)"
        )
