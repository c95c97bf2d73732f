"""Dates a loan is decided and paid out on are the fund's days (issue 16, findings 5 and 6).

The clock runs in UTC; at 23:30 UTC on 31 March it is already 1 April in Brussels. The rules and
the payout compare the lease and the schedule with the fund's today, never with UTC's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ledger.domain.errors import ValidationError
from ledger.domain.loans import Loan
from ledger.domain.statuses import LoanStatus
from ledger.services import loans
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.loans import (
    ADMIN,
    CASEWORKER,
    CASEWORKER2,
    POLICY,
    TREASURER,
    application,
    sign,
    status_of,
)
from tests.support.queries import counts

BRUSSELS = ZoneInfo("Europe/Brussels")
LATE_ON_31_MARCH = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # 01:30 on 1 April in Brussels


def in_zone(uow: UnitOfWork, zone: ZoneInfo = BRUSSELS) -> UnitOfWork:
    return UnitOfWork(uow.engine, clock=uow.clock, zone=zone)


def failed_rules(uow: UnitOfWork, loan_id: str) -> dict[str, str]:
    decision = loans.get_loan(uow, CASEWORKER, loan_id).decision
    assert decision is not None
    return {str(r["rule"]): str(r["reason"]) for r in decision.results if r["outcome"] == "fail"}


def signed_despite_the_rules(uow: UnitOfWork, **terms: Any) -> Loan:
    """An application submitted, accepted by a supervisor whatever the rules said, approved
    and signed: only the payout's own checks stand between it and the bank."""
    loan = application(uow, **terms)
    loans.submit(uow, CASEWORKER, loan.id, POLICY)
    decision = loans.get_loan(uow, CASEWORKER, loan.id).decision
    assert decision is not None
    if decision.outcome != "pass":
        loans.override_eligibility(uow, ADMIN, loan.id, "the supervisor accepts it")
    loans.approve(uow, CASEWORKER2, loan.id)
    return sign(uow, loan.id, by=uow.today())


# -- eligibility ---------------------------------------------------------------------------


def test_a_lease_already_over_and_a_schedule_in_the_past_fail(funded: UnitOfWork) -> None:
    loan = application(
        funded,
        lease_start=date(2022, 3, 1),
        lease_end=date(2025, 2, 28),
        first_due_date=date(2022, 3, 31),
    )
    loans.submit(funded, CASEWORKER, loan.id, POLICY)
    failed = failed_rules(funded, loan.id)
    assert failed["lease_length"] == (
        "the lease ended on 2025-02-28, before today (2026-03-15); record the current lease"
    )
    assert failed["first_due"] == (
        "the first installment would fall due on 2022-03-31, not after today (2026-03-15); "
        "choose a later first due date"
    )


def test_the_lease_ends_and_the_schedule_starts_at_the_fund_s_midnight(
    funded: UnitOfWork, clock: Clock
) -> None:
    """A lease ending on 31 March is over at 01:30 on 1 April in Brussels, and a first
    installment due on 1 April is due today there, although it is still 31 March in UTC."""
    clock.now = LATE_ON_31_MARCH
    ended: dict[str, Any] = {
        "lease_start": date(2025, 3, 1),
        "lease_end": date(2026, 3, 31),
        "first_due_date": date(2025, 3, 31),
        "installments": 12,
    }
    due: dict[str, Any] = {"lease_end": None, "first_due_date": date(2026, 4, 1)}
    brussels = in_zone(funded)
    for uow, today, fails in ((funded, "2026-03-31", False), (brussels, "2026-04-01", True)):
        over = application(uow, **ended)
        loans.submit(uow, CASEWORKER, over.id, POLICY)
        reason = failed_rules(uow, over.id).get("lease_length")
        assert (reason is not None) is fails
        assert reason is None or f"before today ({today})" in reason
        starts = application(uow, **due)
        loans.submit(uow, CASEWORKER, starts.id, POLICY)
        reason = failed_rules(uow, starts.id).get("first_due")
        assert (reason is not None) is fails
        assert reason is None or f"not after today ({today})" in reason


# -- payout --------------------------------------------------------------------------------


def test_a_payout_after_the_lease_ended_is_refused(funded: UnitOfWork) -> None:
    loan = signed_despite_the_rules(
        funded,
        lease_start=date(2022, 3, 1),
        lease_end=date(2025, 2, 28),
        first_due_date=date(2022, 3, 31),
    )
    before = counts(funded)
    with pytest.raises(ValidationError, match="ended on 2025-02-28, before the payout") as e:
        loans.disburse(funded, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="out")
    assert e.value.key == "err.payout.lease_ended"
    assert counts(funded) == before
    assert status_of(funded, loan.id) is LoanStatus.CONTRACT_SIGNED


def test_a_payout_on_or_after_the_first_due_date_is_refused(funded: UnitOfWork) -> None:
    """The issue's loan: paid out, it would have been 1,405 days late at once."""
    loan = signed_despite_the_rules(
        funded, lease_start=date(2022, 5, 1), first_due_date=date(2022, 5, 10)
    )
    before = counts(funded)
    with pytest.raises(ValidationError, match="falls due on 2022-05-10, not after the payout"):
        loans.disburse(funded, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="out")
    assert counts(funded) == before


def test_a_payout_is_compared_with_the_fund_s_day(funded: UnitOfWork, clock: Clock) -> None:
    """At 01:30 on 1 April in Brussels a payout dated that day comes on the first due date and
    is refused; recorded for 31 March (the money left the day before) it is booked."""
    brussels = in_zone(funded)
    loan = signed_despite_the_rules(brussels, first_due_date=date(2026, 4, 1))
    clock.now = LATE_ON_31_MARCH
    with pytest.raises(ValidationError) as e:
        loans.disburse(brussels, TREASURER, loan.id, on=brussels.today(), idempotency_key="a")
    assert e.value.key == "err.payout.first_due_past"
    paid = loans.disburse(brussels, TREASURER, loan.id, on=date(2026, 3, 31), idempotency_key="b")
    assert paid.loan.status is LoanStatus.ACTIVE
