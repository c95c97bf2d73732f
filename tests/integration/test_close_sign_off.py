"""A month closed in two steps: one person asks, another signs the close off (four eyes)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from ledger.bank.writers import camt053
from ledger.domain.errors import (
    ClosedPeriod,
    Conflict,
    NotReconciled,
    PermissionDenied,
    ValidationError,
)
from ledger.domain.roles import Actor, Role
from ledger.domain.statuses import CloseRequestStatus, PeriodAction
from ledger.services.journal import post_manual_entry
from ledger.services.periods import (
    cancel_close_request,
    month_end,
    month_state,
    pending_closes,
    request_close,
    sign_off_close,
)
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book, entry
from tests.support.queries import counts
from tests.support.statements import entry as line
from tests.support.statements import run_import, statement

#: A second treasurer: the one who signs off what the first asked.
TOM = Actor("tom.treasurer", Role.TREASURER)
FEB = "2026-02"


@pytest.fixture
def february(funded: UnitOfWork, clock: Clock) -> UnitOfWork:
    """February booked and its statement imported (it reconciles); the clock on 2026-03-02."""
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    book(
        funded,
        TREASURER,
        """
        2026-02-10 capital 500.00 Dr 1000 Cr 3000
        2026-02-27 bank_charge 2.50 Dr 6100 Cr 1000
        """,
    )
    lines = (
        line("2026-02-10", "500.00", ref="F1"),
        line("2026-02-27", "2.50", "debit", ref="F2", bank_code="ACMT/MDOP/CHRG"),
    )
    st = statement(FEB, 0, lines, start=f"{FEB}-01", end=month_end(FEB).isoformat())
    run_import(funded, camt053([st]))
    return funded


def test_asked_by_one_signed_off_by_another(february: UnitOfWork, clock: Clock) -> None:
    asked = request_close(february, TREASURER, FEB)
    assert (asked.requested_by, asked.status, asked.requested_at) == (
        TREASURER.name,
        CloseRequestStatus.REQUESTED,
        clock.now,
    )
    state = month_state(february, AUDITOR, FEB)
    assert state.closed is None and state.pending == asked and state.ended
    assert pending_closes(february, AUDITOR) == {FEB: asked}

    event = sign_off_close(february, TOM, FEB)
    assert (event.action, event.actor) == (PeriodAction.CLOSE, TOM.name)
    assert event.balances is not None
    signed = event.balances["reconciliation"]
    assert (signed["requested_by"], signed["signed_off_by"]) == (TREASURER.name, TOM.name)
    assert signed["reconciled"] is True and signed["override"] is False

    state = month_state(february, TREASURER, FEB)
    assert state.closed == event and state.pending is None
    [done] = state.requests
    assert (done.status, done.decided_by, done.close_event_id) == (
        CloseRequestStatus.SIGNED_OFF,
        TOM.name,
        event.id,
    )
    assert pending_closes(february, TREASURER) == {}
    with pytest.raises(ClosedPeriod):
        post_manual_entry(february, TREASURER, entry("2026-02-28 donation 1.00 Dr 1000 Cr 4000"))
    with february:
        records, _ = february.audit.page(actor=None, action="close_month", limit=5, offset=0)
    assert records[0].details == {"reconciled": True, "requested_by": TREASURER.name}


def test_who_asked_cannot_sign_off(february: UnitOfWork) -> None:
    request_close(february, TREASURER, FEB)
    before = counts(february)
    with pytest.raises(Conflict) as err:
        sign_off_close(february, TREASURER, FEB)
    assert err.value.key == "err.close.own_request"
    assert counts(february) == before
    assert month_state(february, TREASURER, FEB).closed is None


def test_the_database_refuses_a_sign_off_by_who_asked(february: UnitOfWork) -> None:
    asked = request_close(february, TREASURER, FEB)
    with pytest.raises(IntegrityError), february:
        february.periods.add(
            month=FEB, action=PeriodAction.CLOSE, actor=TREASURER.name, at=asked.requested_at
        )
        february.periods.decide_request(
            asked.id,
            status=CloseRequestStatus.SIGNED_OFF,
            by=TREASURER.name,
            at=asked.requested_at,
            close_event_id=february.periods.last_event_id(FEB),
        )
        february.commit()


def test_refusals_before_and_after(february: UnitOfWork, clock: Clock) -> None:
    with pytest.raises(Conflict) as err:
        sign_off_close(february, TOM, FEB)
    assert err.value.key == "err.close.none_pending"
    with pytest.raises(ValidationError) as bad:
        request_close(february, TREASURER, "2026-03")
    assert bad.value.key == "err.close.not_ended"
    for actor in (AUDITOR, CASEWORKER):
        with pytest.raises(PermissionDenied):
            request_close(february, actor, FEB)
    request_close(february, TREASURER, FEB)
    with pytest.raises(Conflict) as twice:
        request_close(february, TOM, FEB)
    assert (twice.value.key, twice.value.params["who"]) == ("err.close.pending", TREASURER.name)
    sign_off_close(february, ADMIN, FEB)
    with pytest.raises(Conflict) as closed:
        request_close(february, TOM, FEB)
    assert closed.value.key == "err.close.closed_already"


def test_withdrawn_by_who_asked_refused_by_another_with_a_reason(february: UnitOfWork) -> None:
    request_close(february, TREASURER, FEB)
    withdrawn = cancel_close_request(february, TREASURER, FEB)
    assert (withdrawn.status, withdrawn.decided_by) == (
        CloseRequestStatus.WITHDRAWN,
        "tina.treasurer",
    )
    request_close(february, TREASURER, FEB)
    with pytest.raises(ValidationError) as err:
        cancel_close_request(february, TOM, FEB, "  ")
    assert (err.value.key, err.value.field) == ("err.close.refusal_reason", "reason")
    refused = cancel_close_request(february, TOM, FEB, "the March charge is disputed")
    assert (refused.status, refused.decision_reason) == (
        CloseRequestStatus.REFUSED,
        "the March charge is disputed",
    )
    state = month_state(february, TREASURER, FEB)
    assert state.pending is None and state.closed is None and len(state.requests) == 2


def test_a_month_that_does_not_reconcile(february: UnitOfWork) -> None:
    # Booked on the day the first statement opens with 0.00: the opening does not match.
    book(february, TREASURER, "2026-02-01 donation 40.00 Dr 1000 Cr 4000")
    with pytest.raises(NotReconciled) as err:
        request_close(february, TREASURER, FEB)
    assert err.value.key == "err.close.not_reconciled"
    with pytest.raises(NotReconciled) as why:
        request_close(february, ADMIN, FEB)
    assert (why.value.key, why.value.field) == ("err.close.reason_needed", "reason")
    request_close(february, ADMIN, FEB, "the bank will book the donation on 3 March")
    event = sign_off_close(february, TREASURER, FEB)
    assert event.reason == "the bank will book the donation on 3 March"
    assert event.balances is not None
    assert event.balances["reconciliation"]["override"] is True


def test_books_that_moved_since_the_request(february: UnitOfWork) -> None:
    request_close(february, TREASURER, FEB)
    book(february, TREASURER, "2026-02-01 donation 40.00 Dr 1000 Cr 4000")
    with pytest.raises(NotReconciled) as err:
        sign_off_close(february, TOM, FEB)
    assert err.value.key == "err.close.no_longer_reconciled"
    assert month_state(february, TOM, FEB).closed is None
