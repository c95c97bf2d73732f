"""Month closes: only ended months, nothing dated in them afterwards, reopened by an admin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.bank.writers import camt053
from ledger.domain.errors import ClosedPeriod, Conflict, PermissionDenied, ValidationError
from ledger.domain.roles import SYSTEM
from ledger.domain.statements import StatementEntry
from ledger.services import periods
from ledger.services.journal import post_manual_entry
from ledger.services.periods import list_periods, month_end, reopen_month
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book, entry
from tests.support.periods import SIGNER, close_month
from tests.support.queries import counts
from tests.support.statements import entry as line
from tests.support.statements import run_import, statement


def bank_statement(uow: UnitOfWork, month: str, opening: int, *lines: StatementEntry) -> None:
    """The bank's statement of the month: its lines explain the entries booked by hand (the
    import links each to its entry), so the month reconciles and the treasurer may close it."""
    st = statement(month, opening, lines, start=f"{month}-01", end=month_end(month).isoformat())
    run_import(uow, camt053([st]))


@pytest.fixture
def february(funded: UnitOfWork, clock: Clock) -> UnitOfWork:
    """February and March booked, and the bank's statements of both imported; the clock on
    2026-04-02; nothing closed yet."""
    clock.now = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
    book(
        funded,
        TREASURER,
        """
        2026-02-10 capital 500.00 Dr 1000 Cr 3000
        2026-02-27 bank_charge 2.50 Dr 6100 Cr 1000
        2026-03-20 donation 100.00 Dr 1000 Cr 4000
        """,
    )
    bank_statement(
        funded,
        "2026-02",
        0,
        line("2026-02-10", "500.00", ref="F1"),
        line("2026-02-27", "2.50", "debit", ref="F2", bank_code="ACMT/MDOP/CHRG"),
    )
    bank_statement(
        funded,
        "2026-03",
        49_750,
        line("2026-03-01", "10000.00", ref="M1"),
        line("2026-03-20", "100.00", ref="M2"),
    )
    return funded


def test_month_not_ended_cannot_be_closed(funded: UnitOfWork, clock: Clock) -> None:
    bank_statement(funded, "2026-03", 0, line("2026-03-01", "10000.00", ref="M1"))
    for now in (clock.now, datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)):
        clock.now = now
        with pytest.raises(ValidationError, match="2026-04-01") as err:
            close_month(funded, TREASURER, "2026-03")
        assert err.value.field == "month"
    with pytest.raises(ValidationError, match="not ended"):
        close_month(funded, TREASURER, "2026-07")
    clock.now = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    assert close_month(funded, TREASURER, "2026-03").month == "2026-03"


def test_malformed_month_refused(funded: UnitOfWork) -> None:
    for month in ("2026-3", "2026-13", "March", ""):
        with pytest.raises(ValidationError) as err:
            close_month(funded, TREASURER, month)
        assert err.value.field == "month"


def test_close_records_who_when_and_balances(february: UnitOfWork, clock: Clock) -> None:
    event = close_month(february, TREASURER, "2026-02")
    assert (event.month, event.action, event.actor, event.at) == (
        "2026-02",
        "close",
        SIGNER.name,
        clock.now,
    )
    assert event.reason is None
    # Balances at the end of February: the March donation and capital are not in them.
    assert event.balances is not None
    accounts = event.balances["accounts"]
    assert accounts["1000"] == 49_750
    assert accounts["3000"] == -50_000
    assert accounts["6100"] == 250
    assert accounts["4000"] == 0
    assert "1200" not in accounts
    assert event.balances["totals"] == {"EUR": 0}
    # ... and the reconciliation it signed off: the bank's 497.50 at the end of February.
    reconciliation = event.balances["reconciliation"]
    assert reconciliation["reconciled"] is True and reconciliation["override"] is False
    assert reconciliation["signed_off_by"] == SIGNER.name
    assert reconciliation["requested_by"] == TREASURER.name
    [bank] = reconciliation["currencies"]["EUR"]["banks"]
    assert (bank["ledger"], bank["bank"], bank["statement_date"]) == (49_750, 49_750, "2026-02-28")
    with february:
        records, _ = february.audit.page(actor=None, action="close_month", limit=5, offset=0)
    assert records[0].target == "2026-02"


def test_posting_into_closed_month_refused(february: UnitOfWork) -> None:
    close_month(february, TREASURER, "2026-02")
    before = counts(february)
    for day in ("2026-02-01", "2026-02-28"):
        with pytest.raises(ClosedPeriod, match="2026-02 is closed") as err:
            post_manual_entry(february, TREASURER, entry(f"{day} donation 1.00 Dr 1000 Cr 4000"))
        assert err.value.field == "booking_date"
    assert counts(february) == before
    # The days around it are open.
    for day in ("2026-01-31", "2026-03-01"):
        post_manual_entry(february, TREASURER, entry(f"{day} donation 1.00 Dr 1000 Cr 4000"))


def test_closing_twice_refused(february: UnitOfWork) -> None:
    close_month(february, TREASURER, "2026-02")
    with pytest.raises(Conflict, match="already closed"):
        close_month(february, ADMIN, "2026-02")


def test_close_needs_permission(february: UnitOfWork) -> None:
    before = counts(february)
    for actor in (AUDITOR, CASEWORKER):
        with pytest.raises(PermissionDenied):
            close_month(february, actor, "2026-02")
    assert counts(february) == before


def test_reopen_by_admin_with_reason_is_recorded(february: UnitOfWork, clock: Clock) -> None:
    close_month(february, TREASURER, "2026-02")
    clock.advance(hours=1)
    event = reopen_month(february, ADMIN, "2026-02", "  Bank fee booked in the wrong month  ")
    assert (event.action, event.actor, event.at, event.reason) == (
        "reopen",
        ADMIN.name,
        clock.now,
        "Bank fee booked in the wrong month",
    )
    closed, history = list_periods(february, AUDITOR)
    assert closed == frozenset()
    assert [(e.month, e.action) for e in history] == [("2026-02", "close"), ("2026-02", "reopen")]
    with february:
        records, _ = february.audit.page(actor=ADMIN.name, action="reopen_month", limit=5, offset=0)
    assert records[0].target == "2026-02"
    assert records[0].details == {"reason": "Bank fee booked in the wrong month"}
    post_manual_entry(february, TREASURER, entry("2026-02-28 donation 1.00 Dr 1000 Cr 4000"))
    # ... and it can be closed again.
    assert close_month(february, TREASURER, "2026-02").balances is not None
    assert list_periods(february, AUDITOR)[0] == frozenset({"2026-02"})


def test_only_admin_reopens_and_with_a_reason(february: UnitOfWork) -> None:
    close_month(february, TREASURER, "2026-02")
    before = counts(february)
    for actor in (TREASURER, AUDITOR, CASEWORKER):
        with pytest.raises(PermissionDenied, match="admin"):
            reopen_month(february, actor, "2026-02", "I would like to")
    for reason in ("", "   ", "x" * 1001):
        with pytest.raises(ValidationError) as err:
            reopen_month(february, ADMIN, "2026-02", reason)
        assert err.value.field == "reason"
    assert counts(february) == before
    assert list_periods(february, AUDITOR)[0] == frozenset({"2026-02"})


def test_reopen_month_that_is_not_closed(february: UnitOfWork) -> None:
    with pytest.raises(Conflict, match="not closed"):
        reopen_month(february, ADMIN, "2026-02", "typo")


def test_months_close_independently(february: UnitOfWork) -> None:
    close_month(february, TREASURER, "2026-01")
    close_month(february, TREASURER, "2026-03")
    assert list_periods(february, AUDITOR)[0] == frozenset({"2026-01", "2026-03"})
    post_manual_entry(february, TREASURER, entry("2026-02-15 donation 1.00 Dr 1000 Cr 4000"))
    with pytest.raises(ClosedPeriod):
        post_manual_entry(february, TREASURER, entry("2026-01-15 donation 1.00 Dr 1000 Cr 4000"))


def test_only_the_system_operator_closes_a_month_alone(february: UnitOfWork) -> None:
    """A person signed in never closes a month by themself, whatever their role: the one-step
    close is the command line's (the operator holds the database); it records no requester."""
    before = counts(february)
    for actor in (TREASURER, ADMIN):
        with pytest.raises(PermissionDenied) as err:
            periods.close_month(february, actor, "2026-02")
        assert "two steps" in err.value.detail and err.value.key == "err.close.two_steps"
    assert counts(february) == before
    event = periods.close_month(february, SYSTEM, "2026-02")
    assert event.actor == SYSTEM.name
    assert event.balances is not None
    assert "requested_by" not in event.balances["reconciliation"]


def test_the_operators_close_settles_a_request_left_waiting(february: UnitOfWork) -> None:
    periods.request_close(february, TREASURER, "2026-02")
    event = periods.close_month(february, SYSTEM, "2026-02")
    state = periods.month_state(february, AUDITOR, "2026-02")
    assert state.pending is None and state.closed is not None
    [request] = state.requests
    assert (request.status.value, request.decided_by) == ("signed_off", SYSTEM.name)
    assert request.close_event_id == event.id
