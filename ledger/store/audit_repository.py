"""The audit log in the database: who did or read what, when."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    func,
    select,
)

from ledger.domain.audit import AuditRecord
from ledger.store.driver import Driver, Sql
from ledger.store.tables import (
    audit_log,
)

_INSERT_AUDIT = Sql.both(
    "INSERT INTO audit_log (at, actor, action, target, details) "
    "VALUES (:at, :actor, :action, :target, :details)"
)


class AuditRepository:
    def __init__(self, conn: Connection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver

    def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        row = {
            "at": self.driver.stamp(at),
            "actor": actor,
            "action": action,
            "target": target,
            "details": json.dumps(details, sort_keys=True, default=str) if details else None,
        }
        self.driver.execute(_INSERT_AUDIT, row)

    def page(
        self, *, actor: str | None, action: str | None, limit: int, offset: int
    ) -> tuple[list[AuditRecord], int]:
        conds: list[ColumnElement[bool]] = []
        if actor is not None:
            conds.append(audit_log.c.actor == actor)
        if action is not None:
            conds.append(audit_log.c.action == action)
        where = and_(True, *conds)
        total = self.conn.execute(select(func.count()).select_from(audit_log).where(where))
        rows = self.conn.execute(
            select(audit_log)
            .where(where)
            .order_by(audit_log.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [
            AuditRecord(
                id=r.id,
                at=r.at,
                actor=r.actor,
                action=r.action,
                target=r.target,
                details=json.loads(r.details) if r.details else None,
            )
            for r in rows
        ], int(total.scalar_one())
