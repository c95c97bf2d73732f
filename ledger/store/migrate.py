"""Schema migrations: Alembic, driven from Python so operators only run `fundledger init`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import ledger
from ledger.domain.errors import LedgerError


class SchemaOutdated(LedgerError):
    code = "schema-outdated"
    status = 503
    title = "Database schema is not up to date"


def migrations_dir() -> Path:
    """``migrations/`` beside the package in a checkout, or shipped inside the wheel."""
    package = Path(ledger.__file__).resolve().parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("fundledger's migrations directory is missing from this install")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("path_separator", "os")
    return cfg


def _run(engine: Engine, fn: str, revision: str) -> None:
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, fn)(cfg, revision)
        if conn.in_transaction():
            conn.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    _run(engine, "downgrade", revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect().execution_options(fundledger_readonly=True) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema(engine: Engine) -> None:
    """Refuse to run on a schema older (or newer) than this code, saying how to fix it."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaOutdated(
            "the database has no fundledger schema yet: run `fundledger init` to create it"
        )
    raise SchemaOutdated(
        f"the database schema is at revision {current} but this version of fundledger needs "
        f"{head}: back up the database, then run `fundledger init` to migrate it"
    )
