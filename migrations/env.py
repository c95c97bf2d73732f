"""Alembic environment: the database URL comes from fundledger's settings (FUNDLEDGER_DATABASE_URL)
unless the caller hands over a connection (``fundledger init`` and the tests do)."""

from __future__ import annotations

from functools import partial

from alembic import context
from sqlalchemy import Connection

from ledger.store.database import make_engine
from ledger.store.tables import include_in_comparison, metadata

config = context.config


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=partial(include_in_comparison, dialect=connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from ledger.config import get_settings

        url = get_settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            run_with(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("fundledger migrations run online only: use `fundledger init`")
run_migrations_online()
