"""Month closes and reopenings in the database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    func,
    insert,
    select,
)

from ledger.domain.periods import PeriodEvent
from ledger.domain.statuses import PeriodAction
from ledger.store.tables import (
    period_events,
)

_latest_per_month = (
    select(func.max(period_events.c.id)).group_by(period_events.c.month).scalar_subquery()
)
_CLOSED_MONTHS = select(period_events.c.month).where(
    period_events.c.id.in_(_latest_per_month), period_events.c.action == PeriodAction.CLOSE.value
)


class PeriodRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def closed_months(self) -> frozenset[str]:
        return frozenset(r.month for r in self.conn.execute(_CLOSED_MONTHS))

    def add(
        self,
        *,
        month: str,
        action: PeriodAction,
        actor: str,
        at: datetime,
        reason: str | None = None,
        balances: dict[str, Any] | None = None,
    ) -> None:
        self.conn.execute(
            insert(period_events).values(
                month=month,
                action=action.value,
                actor=actor,
                at=at,
                reason=reason,
                balances=json.dumps(balances, sort_keys=True) if balances is not None else None,
            )
        )

    def events(self, month: str | None = None) -> list[PeriodEvent]:
        stmt = select(period_events).order_by(period_events.c.id)
        if month is not None:
            stmt = stmt.where(period_events.c.month == month)
        return [
            PeriodEvent(
                id=r.id,
                month=r.month,
                action=PeriodAction(r.action),
                actor=r.actor,
                at=r.at,
                reason=r.reason,
                balances=json.loads(r.balances) if r.balances else None,
            )
            for r in self.conn.execute(stmt)
        ]
