"""A month's close and reopen events, as recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.domain.statuses import PeriodAction


@dataclass(frozen=True, slots=True)
class PeriodEvent:
    id: int
    month: str
    action: PeriodAction
    actor: str
    at: datetime
    reason: str | None
    balances: dict[str, Any] | None
