"""The posting path's statements, sent straight to the database driver.

SQLAlchemy spends about 30 µs of CPU on every statement executed through a ``Connection``
(finding the compiled form, processing parameters and results, firing events), where sqlite3
runs a small statement in 2 µs. An entry posted alone runs about ten statements, so on SQLite
that bookkeeping was most of a posting's cost. The few statements on that path are written out
here, once per engine, and run on the DBAPI cursor of the unit of work's own connection: they
are part of its transaction like every other statement. Everything else goes through
SQLAlchemy Core.

Values are bound as the tables' column types bind them (timestamps as UTC text on SQLite, as
``UTCDateTime`` does), so rows written here read back through SQLAlchemy like any other, and a
driver error is raised as SQLAlchemy's own exception (``IntegrityError``, ...), so callers and
the unit of work see one kind of error whichever way a statement went.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

Params = Mapping[str, Any] | Sequence[Any]

# SQLAlchemy's storage format for DateTime on SQLite; its reader parses exactly this.
_SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"
_NAMED = re.compile(r"(?<![:\w]):(\w+)")


@dataclass(frozen=True, slots=True)
class Sql:
    """One statement, as each engine's driver takes it."""

    sqlite: str
    postgresql: str

    @classmethod
    def both(cls, text: str, *, pg_suffix: str = "") -> Sql:
        """A statement written with ``:name`` placeholders, valid on both engines."""
        text = " ".join(text.split())
        return cls(text, _NAMED.sub(r"%(\1)s", text) + pg_suffix)


class Driver:
    """The DBAPI cursor of one unit of work's connection, and the engine's value formats."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self._error: type[Exception] = conn.dialect.loaded_dbapi.Error
        self._cursor: Any = None
        self._stamped: tuple[datetime, Any] | None = None  # a use case stamps with one `now`
        # The engine's listeners of before_cursor_execute: a live collection, empty (false)
        # unless someone listens.
        self._listeners = conn.dispatch.before_cursor_execute

    def _cur(self) -> Any:
        if self._cursor is None:
            self._cursor = self.conn.connection.cursor()
        return self._cursor

    def execute(self, sql: Sql | str, params: Params = ()) -> Any:
        """Run one statement; the cursor, to fetch from."""
        text = sql if isinstance(sql, str) else sql.postgresql if self.pg else sql.sqlite
        cur = self._cur()
        self._announce(cur, text, params, many=False)
        try:
            cur.execute(text, params)
        except self._error as exc:
            raise DBAPIError.instance(text, params, exc, self._error) from exc
        return cur

    def executemany(self, sql: Sql, rows: Sequence[Params]) -> None:
        text = sql.postgresql if self.pg else sql.sqlite
        cur = self._cur()
        self._announce(cur, text, rows, many=True)
        try:
            cur.executemany(text, rows)
        except self._error as exc:
            raise DBAPIError.instance(text, rows, exc, self._error) from exc

    def copy(
        self, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]
    ) -> None:
        """PostgreSQL: rows into ``table`` by ``COPY ... FROM STDIN`` in binary.

        ``columns`` names each column with its PostgreSQL type (binary COPY sends values in
        the column's own format). The fastest way into PostgreSQL: the driver formats the rows
        in C, and the server runs no SQL per row. Triggers and constraints run as for INSERT,
        statement-level triggers once for the whole COPY.
        """
        names = ", ".join(name for name, _ in columns)
        text = f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)"
        cur = self._cur()
        self._announce(cur, text, (), many=False)
        try:
            with cur.copy(text) as copy:
                copy.set_types([type_ for _, type_ in columns])
                for row in rows:
                    copy.write_row(row)
        except self._error as exc:
            raise DBAPIError.instance(text, (), exc, self._error) from exc

    def _announce(self, cur: Any, text: str, params: Any, *, many: bool) -> None:
        """SQLAlchemy's ``before_cursor_execute`` event, for whoever listens (tracing, tests):
        the statements run here are seen like every other. No listener, no cost."""
        if self._listeners:
            self._listeners(self.conn, cur, text, params, None, many)

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    # -- values as the column types bind and read them -------------------------------------
    def stamp(self, at: datetime) -> Any:
        """A time-zone aware timestamp as ``UTCDateTime`` binds it."""
        if self._stamped is not None and self._stamped[0] is at:
            return self._stamped[1]
        if at.tzinfo is None:
            raise ValueError("naive datetime refused: pass a time-zone aware value")
        utc = at.astimezone(UTC)
        value = utc if self.pg else utc.strftime(_SQLITE_STAMP)
        self._stamped = (at, value)
        return value

    def day(self, d: date) -> Any:
        return d if self.pg else d.isoformat()

    def read_stamp(self, value: Any) -> datetime | None:
        """A timestamp read back, time-zone aware, as ``UTCDateTime`` reads it."""
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        if not isinstance(value, datetime):
            raise TypeError(f"unexpected timestamp {value!r}")
        return value.astimezone(UTC)

    def in_list(self, name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        """``IN`` over many values: one array on PostgreSQL, a placeholder each on SQLite."""
        if self.pg:
            return f"= ANY(%({name})s)", {name: list(values)}
        names = [f"{name}_{i}" for i in range(len(values))]
        return (
            "IN (" + ", ".join(f":{n}" for n in names) + ")",
            dict(zip(names, values, strict=True)),
        )


#: From this many entries in one batch, PostgreSQL gets the rows by COPY: it costs a round trip
#: more than an INSERT, and saves a few microseconds per row on both sides.
COPY_FROM = 100
