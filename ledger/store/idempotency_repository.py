"""Idempotency keys in the database: the request each key carried and the entry it made."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain, islice
from typing import Any

from sqlalchemy import (
    Connection,
    select,
)

from ledger.domain.idempotency import IdempotencyRecord
from ledger.store.driver import COPY_FROM, Driver, Sql
from ledger.store.tables import (
    idempotency_keys,
)

_KEYS = "SELECT key, command, request, entry_id FROM idempotency_keys WHERE key"
_KEY = Sql.both(f"{_KEYS} = :key")
_INSERT_KEYS = Sql.both(
    "INSERT INTO idempotency_keys (key, command, request, entry_id, actor, created_at) "
    "VALUES (:key, :command, :request, :entry_id, :actor, :created_at)"
)
KEY_COLUMNS = [
    ("key", "varchar"),
    ("command", "varchar"),
    ("request", "text"),
    ("entry_id", "int8"),
    ("actor", "varchar"),
    ("created_at", "timestamptz"),
]
_PG_KEYS = """
SELECT key, command, request, entry_id FROM idempotency_keys WHERE key = ANY(%(keys)b::varchar[])
"""
_PG_INSERT_KEYS = """
INSERT INTO idempotency_keys (key, command, request, entry_id, actor, created_at)
SELECT * FROM unnest(
    %(key)b::varchar[], %(command)b::varchar[], %(request)b::text[], %(entry_id)b::bigint[],
    %(actor)b::varchar[], %(created_at)b::timestamptz[]
)
"""
#: Keys looked up per query: well below every engine's limit on bound parameters.
_KEYS_PER_QUERY = 1000


class IdempotencyRepository:
    def __init__(self, conn: Connection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver

    def get(self, key: str) -> IdempotencyRecord | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        """The records of those keys that were used before, by key."""
        driver = self.driver
        rows: list[Any] = []
        if len(keys) == 1:  # the common case, an API call: a plain = is cheaper than IN
            rows = driver.execute(_KEY, {"key": keys[0]}).fetchall()
        elif keys and driver.pg:  # one array, not a placeholder per key
            rows = driver.execute(_PG_KEYS, {"keys": list(keys)}).fetchall()
        else:
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                condition, params = driver.in_list("key", keys[start : start + _KEYS_PER_QUERY])
                rows += driver.execute(f"{_KEYS} {condition}", params).fetchall()
        return {
            key: IdempotencyRecord(key, command, json.loads(request), int(entry_id))
            for key, command, request, entry_id in rows
        }

    def add_many(self, records: Iterable[IdempotencyRecord], *, actor: str, now: datetime) -> None:
        """Record keys. ``records`` may be lazy: on PostgreSQL a batch of COPY_FROM or more
        goes by COPY, each record made as its row streams."""
        driver = self.driver
        records = iter(records)
        first = list(islice(records, COPY_FROM if driver.pg else None))
        if not first:
            return
        if driver.pg and len(first) == COPY_FROM:
            created_at = driver.stamp(now)
            driver.copy(
                "idempotency_keys",
                KEY_COLUMNS,
                (
                    (
                        r.key,
                        r.command,
                        json.dumps(r.request, sort_keys=True),
                        r.entry_id,
                        actor,
                        created_at,
                    )
                    for r in chain(first, records)
                ),
            )
        elif driver.pg:  # one statement, as the journal's rows
            driver.execute(
                _PG_INSERT_KEYS,
                {
                    "key": [r.key for r in first],
                    "command": [r.command for r in first],
                    "request": [json.dumps(r.request, sort_keys=True) for r in first],
                    "entry_id": [r.entry_id for r in first],
                    "actor": [actor] * len(first),
                    "created_at": [driver.stamp(now)] * len(first),
                },
            )
        else:
            created_at = driver.stamp(now)
            driver.executemany(
                _INSERT_KEYS,
                [
                    {
                        "key": r.key,
                        "command": r.command,
                        "request": json.dumps(r.request, sort_keys=True),
                        "entry_id": r.entry_id,
                        "actor": actor,
                        "created_at": created_at,
                    }
                    for r in first
                ],
            )

    def all(self) -> Iterator[tuple[str, int]]:
        for r in self.conn.execute(select(idempotency_keys.c.key, idempotency_keys.c.entry_id)):
            yield r.key, int(r.entry_id)
