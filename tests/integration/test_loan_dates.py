"""Dates a loan is decided and paid out on are the fund's days (issue 16, findings 5 and 6).

The clock runs in UTC; at 23:30 UTC on 31 March it is already 1 April in Brussels. The rules and
the payout compare the lease and the schedule with the fund's today, never with UTC's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ledger.domain.errors import Conflict, Overdraft, ValidationError
from ledger.domain.loans import Loan
from ledger.domain.statuses import LoanStatus
from ledger.services import loans
from ledger.services.reconciliation import reconcile
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loans import (
    ADMIN,
    AUDITOR,
    CASEWORKER,
    CASEWORKER2,
    POLICY,
    TREASURER,
    application,
    eur,
    loan_in,
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
    loans.approve(uow, CASEWORKER2, loan.id, POLICY)
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


# -- the bank on past days (finding 6) ------------------------------------------------------


def test_a_backdated_payout_may_not_overdraw_the_bank_on_any_day(funded: UnitOfWork) -> None:
    """10,000.00 from 1 March; 9,000.00 out on 12 March, 5,000.00 in on 14 March: 6,000.00
    today. A payout of 1,700.00 fits today's balance, but dated 13 March the bank held only
    1,000.00 that day, and dated 5 March it leaves too little for the 12th."""
    book(
        funded,
        TREASURER,
        """2026-03-12 transfer 9000.00 EUR Dr 3000 Cr 1000 ; capital returned
        2026-03-14 capital 5000.00 EUR Dr 1000 Cr 3000 ; new capital""",
    )
    loan = loan_in(funded, LoanStatus.CONTRACT_SIGNED, on=date(2026, 3, 5))
    before = counts(funded)
    for day, short in (("2026-03-13", "2026-03-13"), ("2026-03-05", "2026-03-12")):
        with pytest.raises(Overdraft, match=f"700.00 below zero at the end of {short}"):
            loans.disburse(
                funded, TREASURER, loan.id, on=date.fromisoformat(day), idempotency_key=day
            )
    assert counts(funded) == before
    paid = loans.disburse(funded, TREASURER, loan.id, on=date(2026, 3, 14), idempotency_key="ok")
    assert paid.loan.status is LoanStatus.ACTIVE


# -- "as of a day" ends at the fund's midnight (finding 7) ------------------------------------


def test_a_loan_approved_after_the_fund_s_midnight_is_promised_the_next_month(
    funded: UnitOfWork, clock: Clock
) -> None:
    """Approved at 23:30 UTC on 31 March, i.e. on 1 April in Brussels: March's reconciliation
    counts it as promised in UTC, not in the fund's zone."""
    brussels = in_zone(funded)
    loan = application(brussels)
    loans.submit(brussels, CASEWORKER, loan.id, POLICY)
    clock.now = LATE_ON_31_MARCH
    loans.approve(brussels, CASEWORKER2, loan.id, POLICY)
    [march] = reconcile(brussels, AUDITOR, "2026-03", aging=False)
    assert march.position.approved_not_disbursed_minor == 0
    clock.now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    [april] = reconcile(brussels, AUDITOR, "2026-04", aging=False)
    assert april.position.approved_not_disbursed_minor == 170_000


def test_a_loan_as_of_a_past_day_has_its_state_of_that_day(
    funded: UnitOfWork, clock: Clock
) -> None:
    """Approved at 23:30 UTC on 31 March (1 April in Brussels) and paid out on 2 April: as of
    31 March it was submitted, as of 1 April approved and owed nothing, as of 2 April active."""
    brussels = in_zone(funded)
    loan = application(brussels, first_due_date=date(2026, 4, 30))
    loans.submit(brussels, CASEWORKER, loan.id, POLICY)
    clock.now = LATE_ON_31_MARCH
    loans.approve(brussels, CASEWORKER2, loan.id, POLICY)
    clock.now = datetime(2026, 4, 2, 12, tzinfo=UTC)
    sign(brussels, loan.id, by=date(2026, 4, 2))
    loans.disburse(brussels, TREASURER, loan.id, on=date(2026, 4, 2), idempotency_key="out")
    clock.now = datetime(2026, 4, 20, 12, tzinfo=UTC)

    def then(day: str) -> tuple[LoanStatus, int]:
        view = loans.get_loan(brussels, AUDITOR, loan.id, date.fromisoformat(day))
        return view.loan.status, view.outstanding

    assert then("2026-03-31") == (LoanStatus.SUBMITTED, 0)
    assert then("2026-04-01") == (LoanStatus.APPROVED, 0)
    assert then("2026-04-02") == (LoanStatus.ACTIVE, 170_000)
    assert loans.get_loan(brussels, AUDITOR, loan.id).loan.status is LoanStatus.ACTIVE


# -- the cash reserve at approval (finding 4) ---------------------------------------------------


def test_applications_that_each_fit_the_free_cash_are_approved_only_while_it_lasts(
    funded: UnitOfWork,
) -> None:
    """9,500.00 in the bank, a 1,000.00 reserve: three applications of 3,000.00 each fit
    when submitted together; the third approval would leave the bank below the reserve."""
    book(funded, TREASURER, "2026-03-02 transfer 500.00 EUR Dr 3000 Cr 1000 ; given back")
    submitted = []
    for _ in range(3):
        loan = application(funded, deposit=eur("3000.00"), monthly_rent=eur("1500.00"))
        loans.submit(funded, CASEWORKER, loan.id, POLICY)
        assert loans.get_loan(funded, CASEWORKER, loan.id).decision.accepted  # type: ignore[union-attr]
        submitted.append(loan)
    first, second, third = submitted
    loans.approve(funded, CASEWORKER2, first.id, POLICY)
    loans.approve(funded, CASEWORKER2, second.id, POLICY)
    before = counts(funded)
    with pytest.raises(Conflict, match="free to lend") as e:
        loans.approve(funded, CASEWORKER2, third.id, POLICY)
    assert e.value.key == "err.approve.cash"
    assert counts(funded) == before
    assert status_of(funded, third.id) is LoanStatus.SUBMITTED
    # The second is paid out: still committed money, now out of the bank; the third waits.
    sign(funded, second.id)
    loans.disburse(funded, TREASURER, second.id, on=date(2026, 3, 15), idempotency_key="2")
    with pytest.raises(Conflict, match="free to lend"):
        loans.approve(funded, CASEWORKER2, third.id, POLICY)
    # Once the first is given up, the third fits.
    loans.undo_approval(funded, CASEWORKER2, first.id, "the person found another flat")
    assert loans.approve(funded, CASEWORKER2, third.id, POLICY).status is LoanStatus.APPROVED
