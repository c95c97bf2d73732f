"""A month's close and reopen events, as recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.domain.statuses import CloseRequestStatus, PeriodAction


@dataclass(frozen=True, slots=True)
class PeriodEvent:
    id: int
    month: str
    action: PeriodAction
    actor: str
    at: datetime
    reason: str | None
    balances: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class CloseRequest:
    """One person's request to close a month, which another person signs off (four eyes)."""

    id: int
    month: str
    requested_by: str
    requested_at: datetime
    reason: str | None  # why a month that does not reconcile should close anyway
    status: CloseRequestStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None  # why it was withdrawn or refused
    close_event_id: int | None  # the close its sign-off recorded


@dataclass(frozen=True, slots=True)
class MonthState:
    """Where a month stands: closed (by which event), a close waiting for its sign-off, and
    every close, reopening and request of it, oldest first."""

    month: str
    ended: bool
    closed: PeriodEvent | None
    pending: CloseRequest | None
    events: tuple[PeriodEvent, ...]
    requests: tuple[CloseRequest, ...]
