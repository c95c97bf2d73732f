"""Engines for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine, in_memory=":memory:" in url or url.rstrip("/") == "sqlite:")
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    # Many rows of one INSERT (``conn.execute(insert(t), [row, row, ...])``) go as multi-row
    # VALUES statements of up to 1,000 rows, as SQLAlchemy sends them to psycopg2, instead of
    # a statement per row in psycopg's pipeline: a statement-level trigger then runs once per
    # thousand rows, and the server parses and plans one statement instead of a thousand.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    """Foreign keys on, WAL, and transactions we begin ourselves.

    pysqlite's own transaction handling starts transactions lazily and never as IMMEDIATE; a
    writer that begins DEFERRED and upgrades later can fail with "database is locked" instead
    of waiting. So the driver is put in autocommit mode and each transaction starts with
    BEGIN IMMEDIATE, unless the connection is marked read-only.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA busy_timeout = 30000")
        # Sorts, IN lists and subqueries build temporary b-trees; kept in memory they cost a
        # tenth of what the default temporary file pager costs. Nothing durable lives there.
        cur.execute("PRAGMA temp_store = MEMORY")
        if not in_memory:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("fundledger_readonly", False)
        # Straight to the driver: this runs for every unit of work, and a statement through
        # SQLAlchemy costs ten times what SQLite takes to begin.
        conn.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_conn: Any, _record: Any, _state: Any) -> None:
        # A COMMIT that SQLite refuses (a deferred foreign key, a full disk) leaves the
        # transaction open and its write lock held, while SQLAlchemy counts it as ended and
        # skips its own rollback: end it before the connection goes back to the pool.
        if dbapi_conn.in_transaction:
            dbapi_conn.rollback()
