""" "Today" is the fund's day, in its time zone: the latest booking date and the end of a month.

The clock runs in UTC; at 23:30 UTC on 31 March it is already 1 April in Brussels (UTC+2 in
summer time), and a caseworker there books what happened that morning on 1 April.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ledger.config import Settings
from ledger.domain.errors import ValidationError
from ledger.services.journal import post_manual_entry
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import entry
from tests.support.periods import close_month
from tests.support.queries import counts

BRUSSELS = ZoneInfo("Europe/Brussels")
LATE_ON_31_MARCH = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # 01:30 on 1 April in Brussels


def in_zone(uow: UnitOfWork, zone: ZoneInfo) -> UnitOfWork:
    return UnitOfWork(uow.engine, clock=uow.clock, zone=zone)


def test_today_is_the_fund_s_day(funded: UnitOfWork, clock: Clock) -> None:
    clock.now = LATE_ON_31_MARCH
    assert in_zone(funded, BRUSSELS).today().isoformat() == "2026-04-01"
    assert funded.today().isoformat() == "2026-03-31"  # a unit of work without a zone: UTC


def test_a_booking_dated_the_fund_s_today_is_accepted(funded: UnitOfWork, clock: Clock) -> None:
    clock.now = LATE_ON_31_MARCH
    april_first = entry("2026-04-01 donation 1.00 Dr 1000 Cr 4000")
    with pytest.raises(ValidationError, match="future"):
        post_manual_entry(funded, TREASURER, april_first)  # in UTC it is still 31 March
    before = counts(funded)
    post_manual_entry(in_zone(funded, BRUSSELS), TREASURER, april_first)
    assert counts(funded)["journal_entries"] == before["journal_entries"] + 1


def test_a_month_ends_at_midnight_in_the_fund_s_zone(funded: UnitOfWork, clock: Clock) -> None:
    clock.now = LATE_ON_31_MARCH
    with pytest.raises(ValidationError, match="not ended"):
        close_month(funded, ADMIN, "2026-03", reason="the books are complete")
    closed = close_month(
        in_zone(funded, BRUSSELS), ADMIN, "2026-03", reason="the books are complete"
    )
    assert closed.month == "2026-03"


def test_an_unknown_time_zone_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"unknown time zone 'Europe/Bruxelles'.*Europe/Brussels"):
        Settings(_env_file=None, timezone="Europe/Bruxelles")
    zurich = Settings(_env_file=None, timezone="Europe/Zurich")
    assert zurich.zone == ZoneInfo("Europe/Zurich")
