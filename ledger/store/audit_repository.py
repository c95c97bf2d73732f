"""The audit log in the database: who did or read what, when."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    func,
    select,
)

from ledger.domain.audit import AuditRecord
from ledger.domain.paging import IdPage, Window
from ledger.store.driver import Driver, Sql
from ledger.store.paging import page_counts, page_rows
from ledger.store.tables import (
    audit_log,
    loans,
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
        self,
        *,
        actor: str | None,
        action: str | None,
        limit: int,
        offset: int,
        actions: Sequence[str] | None = None,
        since: datetime | None = None,
        before: datetime | None = None,
    ) -> tuple[list[AuditRecord], int]:
        """Records newest first: of one user, of one action or of any of ``actions``, at or
        after ``since`` and before ``before``."""
        where = self._where(actor, action, actions, since, before)
        total = self.conn.execute(select(func.count()).select_from(audit_log).where(where))
        rows = self.conn.execute(
            select(audit_log)
            .where(where)
            .order_by(audit_log.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_record(r) for r in rows], int(total.scalar_one())

    def page_by_id(
        self,
        *,
        actor: str | None,
        actions: Sequence[str] | None,
        since: datetime | None,
        before: datetime | None,
        window: Window,
        limit: int,
    ) -> IdPage[AuditRecord]:
        """Records newest first, a page from the last record seen (``ledger.domain.paging``):
        of one user, of any of ``actions``, at or after ``since`` and before ``before``."""
        where = self._where(actor, None, actions, since, before)
        rows = page_rows(self.conn, select(audit_log), audit_log.c.id, where, window, limit)
        records = [_record(r) for r in rows]
        first_id = records[0].id if records else None
        total, newer = page_counts(self.conn, audit_log.c.id, where, audit_log, window, first_id)
        return IdPage(records, total, newer, first_id, records[-1].id if records else None)

    def iter_matching(
        self,
        *,
        actor: str | None,
        actions: Sequence[str] | None,
        since: datetime | None,
        before: datetime | None,
        batch: int = 2000,
    ) -> Iterator[AuditRecord]:
        """Every matching record, newest first, read in batches (an export of any length)."""
        where = self._where(actor, None, actions, since, before)
        below: int | None = None
        while True:
            stmt = select(audit_log).where(where).order_by(audit_log.c.id.desc()).limit(batch)
            if below is not None:
                stmt = stmt.where(audit_log.c.id < below)
            rows = self.conn.execute(stmt).all()
            if not rows:
                return
            yield from (_record(r) for r in rows)
            below = rows[-1].id

    def beneficiaries_of_loans(self, loan_ids: Sequence[str]) -> dict[str, str]:
        """Each loan's beneficiary id (an opaque id, not personal data)."""
        if not loan_ids:
            return {}
        rows = self.conn.execute(
            select(loans.c.id, loans.c.beneficiary_id).where(loans.c.id.in_(sorted(set(loan_ids))))
        )
        return {r.id: r.beneficiary_id for r in rows}

    @staticmethod
    def _where(
        actor: str | None,
        action: str | None,
        actions: Sequence[str] | None,
        since: datetime | None,
        before: datetime | None,
    ) -> ColumnElement[bool]:
        conds: list[ColumnElement[bool]] = []
        if actor is not None:
            conds.append(audit_log.c.actor == actor)
        if action is not None:
            conds.append(audit_log.c.action == action)
        if actions is not None:
            conds.append(audit_log.c.action.in_(list(actions)))
        if since is not None:
            conds.append(audit_log.c.at >= since)
        if before is not None:
            conds.append(audit_log.c.at < before)
        return and_(True, *conds)


def _record(r: Row[Any]) -> AuditRecord:
    return AuditRecord(
        id=r.id,
        at=r.at,
        actor=r.actor,
        action=r.action,
        target=r.target,
        details=json.loads(r.details) if r.details else None,
    )
