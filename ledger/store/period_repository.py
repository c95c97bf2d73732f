"""Month closes and reopenings in the database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    func,
    insert,
    select,
    update,
)

from ledger.domain.periods import CloseRequest, PeriodEvent
from ledger.domain.statuses import CloseRequestStatus, PeriodAction
from ledger.store.tables import (
    close_requests,
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

    def last_event_id(self, month: str) -> int:
        found = self.conn.execute(
            select(func.max(period_events.c.id)).where(period_events.c.month == month)
        ).scalar_one()
        return int(found)

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

    # -- requests to close a month (four eyes) ----------------------------------------------

    def add_request(
        self, *, month: str, requested_by: str, at: datetime, reason: str | None
    ) -> int:
        result = self.conn.execute(
            insert(close_requests)
            .values(
                month=month,
                requested_by=requested_by,
                requested_at=at,
                reason=reason,
                status=CloseRequestStatus.REQUESTED.value,
            )
            .returning(close_requests.c.id)
        )
        return int(result.scalar_one())

    def decide_request(
        self,
        request_id: int,
        *,
        status: CloseRequestStatus,
        by: str,
        at: datetime,
        reason: str | None = None,
        close_event_id: int | None = None,
    ) -> None:
        self.conn.execute(
            update(close_requests)
            .where(
                close_requests.c.id == request_id,
                close_requests.c.status == CloseRequestStatus.REQUESTED.value,
            )
            .values(
                status=status.value,
                decided_by=by,
                decided_at=at,
                decision_reason=reason,
                close_event_id=close_event_id,
            )
        )

    def requests(self, month: str) -> list[CloseRequest]:
        stmt = (
            select(close_requests)
            .where(close_requests.c.month == month)
            .order_by(close_requests.c.id)
        )
        return [_request(r) for r in self.conn.execute(stmt)]

    def pending_request(self, month: str) -> CloseRequest | None:
        found = [r for r in self.requests(month) if r.status is CloseRequestStatus.REQUESTED]
        return found[-1] if found else None

    def pending_months(self) -> dict[str, CloseRequest]:
        """Every month with a close waiting for its sign-off."""
        stmt = (
            select(close_requests)
            .where(close_requests.c.status == CloseRequestStatus.REQUESTED.value)
            .order_by(close_requests.c.id)
        )
        return {r.month: _request(r) for r in self.conn.execute(stmt)}


def _request(r: Row[Any]) -> CloseRequest:
    return CloseRequest(
        id=r.id,
        month=r.month,
        requested_by=r.requested_by,
        requested_at=r.requested_at,
        reason=r.reason,
        status=CloseRequestStatus(r.status),
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        decision_reason=r.decision_reason,
        close_event_id=r.close_event_id,
    )
