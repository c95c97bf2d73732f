"""A clock the tests set and move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """A clock tests can set and move; starts at noon UTC on 2026-03-15."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
