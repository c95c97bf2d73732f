"""Loan use cases on real databases, from application to closure; `verify` after every test.

Clock: 2026-03-15 at noon (the tests move it). The fund has 10,000.00 of capital. The standard
loan is 1,700.00 (two months of an 850.00 Brussels rent) in 24 installments of 70.83 and a last
of 70.91, due on month ends from 31 March 2026, paid out on 15 March 2026.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.errors import (
    AlreadyReversed,
    ClosedPeriod,
    Conflict,
    IdempotencyConflict,
    NotFound,
    Overdraft,
    PermissionDenied,
    ValidationError,
)
from ledger.domain.loans import Lease, Loan
from ledger.domain.money import money
from ledger.domain.policy import LoanPolicy
from ledger.domain.repayment import AgingBucket
from ledger.domain.statuses import EntryKind, LoanStatus
from ledger.services import loans
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loans import (
    ADMIN,
    ADMIN2,
    AUDITOR,
    CASEWORKER,
    CASEWORKER2,
    LEASE,
    POLICY,
    TREASURER,
    TREASURER2,
    application,
    assert_verified,
    day,
    eur,
    loan_in,
    paid,
    person,
    position,
    sign,
    status_of,
    terms,
)
from tests.support.periods import close_month
from tests.support.queries import balances, counts, last_entry

S = LoanStatus
INSTALLMENT = 7_083  # 70.83
LOAN = 170_000  # 1,700.00
ACCOUNT = "1200-L000001"


@pytest.fixture(autouse=True)
def _verified_after(uow: UnitOfWork) -> Iterator[None]:
    """Every scenario leaves books that `verify` proves from the legs up."""
    yield
    assert_verified(uow)


@pytest.fixture
def active(funded: UnitOfWork, clock: Clock) -> Loan:
    """The standard loan, paid out on 15 March; the clock then moves to 15 June 2026."""
    loan = loan_in(funded, S.ACTIVE)
    clock.now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    return loan


def pay(
    uow: UnitOfWork, loan: Loan, amount: str, on: str, key: str | None = None
) -> loans.MoneyResult:
    return loans.record_payment(
        uow,
        TREASURER,
        loan.id,
        eur(amount),
        on=day(on),
        idempotency_key=key or f"pay-{on}-{amount}",
    )


def legs(result: loans.MoneyResult) -> list[tuple[str, int]]:
    return sorted((leg.account_code, leg.minor) for leg in result.entry.legs)


# -- from application to payout --------------------------------------------------------------


def test_lifecycle_from_draft_to_payout(funded: UnitOfWork) -> None:
    loan = application(funded)
    assert (loan.id, loan.number, loan.status) == ("L000001", 1, S.DRAFT)
    assert loan.reference.display == "+++000/0000/00101+++"
    assert loan.account_id is None

    loan = loans.submit(funded, CASEWORKER, loan.id, POLICY)
    assert (loan.status, loan.submitted_by) == (S.SUBMITTED, CASEWORKER.name)
    decision = loans.get_loan(funded, CASEWORKER, loan.id).decision
    assert decision is not None and decision.outcome == "pass" and decision.accepted
    assert decision.rules_version == POLICY.rules.version
    assert decision.rules_fingerprint == POLICY.rules.fingerprint
    assert {r["outcome"] for r in decision.results} == {"pass"}
    assert decision.facts is not None and decision.facts["deposit"] == "1700.00"

    with pytest.raises(PermissionDenied, match="you submitted this application"):
        loans.approve(funded, CASEWORKER, loan.id, LoanPolicy())
    with pytest.raises(PermissionDenied):
        loans.approve(funded, TREASURER, loan.id, LoanPolicy())
    loan = loans.approve(funded, CASEWORKER2, loan.id, LoanPolicy())
    assert (loan.status, loan.approved_by) == (S.APPROVED, CASEWORKER2.name)

    loan = sign(funded, loan.id)
    assert loan.status is S.CONTRACT_SIGNED

    with pytest.raises(PermissionDenied):
        loans.disburse(funded, CASEWORKER, loan.id, on=date(2026, 3, 15), idempotency_key="x")
    out = loans.disburse(funded, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="out")
    loan = out.loan
    assert loan.status is S.ACTIVE and loan.disbursement_entry_id == out.entry.id
    assert not out.replayed
    bal = balances(funded)
    assert bal["1000"] == 1_000_000 - LOAN
    assert bal[ACCOUNT] == LOAN
    assert bal["1200"] == LOAN  # the control account caches the sum of its sub-accounts
    with funded:
        account = funded.accounts.get(ACCOUNT)
        control = funded.accounts.get("1200")
    assert account.parent_id == control.id and account.id == loan.account_id
    entry = last_entry(funded)
    assert (entry.kind, entry.loan_id, entry.id) == (
        EntryKind.DISBURSEMENT,
        loan.id,
        loan.disbursement_entry_id,
    )
    assert sorted((leg.account_code, leg.minor) for leg in entry.legs) == [
        ("1000", -LOAN),
        (ACCOUNT, LOAN),
    ]
    view = loans.get_loan(funded, TREASURER, loan.id)
    assert [e.action for e in view.events][:1] == ["open"]
    assert [(e.action, e.to_status) for e in view.events if e.action != "open"][-4:] == [
        ("submit", "submitted"),
        ("approve", "approved"),
        ("sign_contract", "contract_signed"),
        ("disburse", "active"),
    ]
    assert view.outstanding == LOAN
    assert len(view.installments) == 24
    assert [i.amount for i in view.installments] == [INSTALLMENT] * 23 + [7_091]


def test_loan_numbers_and_references_follow_each_other(funded: UnitOfWork) -> None:
    first, second = application(funded), application(funded)
    assert (first.id, second.id) == ("L000001", "L000002")
    assert second.reference.display == "+++000/0000/00202+++"


def test_amend_a_draft_only(funded: UnitOfWork) -> None:
    loan = application(funded)
    new_terms = loans.get_loan(funded, CASEWORKER, loan.id).loan.terms
    amended = loans.amend_application(
        funded,
        CASEWORKER,
        loan.id,
        type(new_terms)(**{**_fields(new_terms), "installments": 12}),
        LEASE,
    )
    view = loans.get_loan(funded, CASEWORKER, amended.id)
    assert view.schedule_version == 2 and len(view.installments) == 12
    loans.submit(funded, CASEWORKER, loan.id, POLICY)
    with pytest.raises(Conflict, match="only a draft can be changed"):
        loans.amend_application(funded, CASEWORKER, loan.id, new_terms, LEASE)


def _fields(t: object) -> dict[str, Any]:
    return {name: getattr(t, name) for name in t.__slots__}  # type: ignore[attr-defined]


def test_schedule_past_the_lease_refused(funded: UnitOfWork) -> None:
    with pytest.raises(ValidationError, match="after the lease ends") as err:
        application(funded, lease_end=date(2027, 2, 28))
    assert err.value.field == "installments"


def test_application_in_another_currency_than_the_person_refused(funded: UnitOfWork) -> None:
    with pytest.raises(ValidationError, match="lends in EUR"):
        application(
            funded,
            deposit=money("1700.00", "CHF"),
            monthly_rent=money("850.00", "CHF"),
        )


# -- eligibility -----------------------------------------------------------------------------


def test_review_needs_an_admin_override_with_a_reason(funded: UnitOfWork) -> None:
    loan = loan_in(funded, S.SUBMITTED, public_alternatives=PublicAlternatives.NOT_TRIED)
    decision = loans.get_loan(funded, CASEWORKER, loan.id).decision
    assert decision is not None and decision.outcome == "review" and not decision.accepted
    [review] = [r for r in decision.results if r["outcome"] != "pass"]
    assert review == {
        "rule": "public_alternatives",
        "outcome": "review",
        "reason": "public guarantee schemes (CPAS, housing fund) were not tried yet",
    }
    with pytest.raises(Conflict, match="decision is 'review'") as err:
        loans.approve(funded, CASEWORKER2, loan.id, LoanPolicy())
    assert err.value.field == "eligibility"
    # A caseworker cannot override, whoever they are.
    with pytest.raises(PermissionDenied, match="override"):
        loans.override_eligibility(funded, CASEWORKER2, loan.id, "I know her")
    with pytest.raises(ValidationError, match="reason"):
        loans.override_eligibility(funded, ADMIN, loan.id, "   ")
    overridden = loans.override_eligibility(
        funded, ADMIN, loan.id, "CPAS refused orally; the letter follows"
    )
    assert overridden.accepted
    assert (overridden.override_by, overridden.override_reason) == (
        ADMIN.name,
        "CPAS refused orally; the letter follows",
    )
    with pytest.raises(Conflict, match="already overridden"):
        loans.override_eligibility(funded, ADMIN2, loan.id, "again")
    assert loans.approve(funded, CASEWORKER2, loan.id, LoanPolicy()).status is S.APPROVED
    with funded:
        records, _ = funded.audit.page(
            actor=ADMIN.name, action="eligibility_override", limit=5, offset=0
        )
    assert [r.target for r in records] == [f"loan:{loan.id}"]


def test_admin_may_not_override_a_case_they_opened_or_submitted(funded: UnitOfWork) -> None:
    who = person(funded)
    loan = loans.open_application(
        funded,
        ADMIN,
        who.id,
        terms(public_alternatives=PublicAlternatives.NOT_TRIED),
        LEASE,
        POLICY,
    )
    loans.submit(funded, CASEWORKER, loan.id, POLICY)
    with pytest.raises(PermissionDenied, match="another supervisor"):
        loans.override_eligibility(funded, ADMIN, loan.id, "fine by me")
    other = loan_in(funded, S.DRAFT, public_alternatives=PublicAlternatives.NOT_TRIED)
    loans.submit(funded, ADMIN, other.id, POLICY)
    with pytest.raises(PermissionDenied):
        loans.override_eligibility(funded, ADMIN, other.id, "fine by me")
    assert loans.override_eligibility(funded, ADMIN2, other.id, "checked").accepted


def test_nothing_to_override_on_a_pass_or_before_a_decision(funded: UnitOfWork) -> None:
    loan = loan_in(funded, S.SUBMITTED)
    with pytest.raises(Conflict, match="nothing to override"):
        loans.override_eligibility(funded, ADMIN, loan.id, "why not")
    draft = application(funded)
    with pytest.raises(Conflict, match="no eligibility decision"):
        loans.override_eligibility(funded, ADMIN, draft.id, "why not")


def test_second_open_loan_of_the_same_person_fails(funded: UnitOfWork) -> None:
    who = person(funded)
    loan_in(funded, S.ACTIVE, who)
    second = loan_in(funded, S.SUBMITTED, who)
    decision = loans.get_loan(funded, CASEWORKER, second.id).decision
    assert decision is not None and decision.outcome == "fail"
    assert [r["rule"] for r in decision.results if r["outcome"] == "fail"] == ["no_other_loan"]


def test_check_eligibility_stores_each_decision(funded: UnitOfWork) -> None:
    loan = application(funded, deposit=eur("2550.00"))  # three months in Brussels
    decision = loans.check_eligibility(funded, CASEWORKER, loan.id, POLICY)
    assert decision.outcome == "fail"
    [fail] = [r for r in decision.results if r["outcome"] == "fail"]
    assert fail["rule"] == "legal_maximum"
    assert fail["reason"] is not None
    assert "legal maximum of 2 months' rent" in fail["reason"]


def test_payout_without_enough_cash_is_refused_by_the_bank(chart: UnitOfWork) -> None:
    # No capital at all: eligibility says so, an admin overrides, the approval still waits
    # for the money; approved once it came, the money went out again: the bank refuses.
    loan = loan_in(chart, S.SUBMITTED)
    decision = loans.get_loan(chart, CASEWORKER, loan.id).decision
    assert decision is not None
    assert [r["rule"] for r in decision.results if r["outcome"] == "fail"] == ["fund_cash"]
    loans.override_eligibility(chart, ADMIN, loan.id, "a donation is announced")
    with pytest.raises(Conflict, match="free to lend") as refused:
        loans.approve(chart, CASEWORKER2, loan.id, LoanPolicy())
    assert refused.value.key == "err.approve.cash"
    book(chart, TREASURER, "2026-03-10 donation 2700.00 EUR Dr 1000 Cr 4000 ; the donation")
    loans.approve(chart, CASEWORKER2, loan.id, LoanPolicy())
    book(chart, TREASURER, "2026-03-12 transfer 2000.00 EUR Dr 3000 Cr 1000 ; given back")
    sign(chart, loan.id)
    before = counts(chart)
    with pytest.raises(Overdraft):
        loans.disburse(chart, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="out")
    assert counts(chart) == before
    assert status_of(chart, loan.id) is S.CONTRACT_SIGNED
    with chart:
        assert chart.accounts.find(ACCOUNT) is None


# -- payments --------------------------------------------------------------------------------


def test_partial_payment_and_arrears(funded: UnitOfWork, active: Loan) -> None:
    result = pay(funded, active, "50.00", "2026-03-31")
    assert not result.replayed and result.loan.status is S.ACTIVE
    assert legs(result) == [("1000", 5_000), (ACCOUNT, -5_000)]
    assert result.entry.kind is EntryKind.REPAYMENT and result.entry.loan_id == active.id
    assert paid(funded, active.id)[:2] == [5_000, 0]
    pos = position(funded, active.id)
    assert (pos.outstanding, pos.ledger_loan, pos.credit, pos.ledger_credit) == (
        LOAN - 5_000,
        LOAN - 5_000,
        0,
        0,
    )
    view = loans.get_loan(funded, TREASURER, active.id)
    assert view.arrears.oldest_unpaid_due == date(2026, 3, 31)
    assert view.arrears.days_past_due == 76
    assert view.arrears.overdue == 3 * INSTALLMENT - 5_000
    assert view.arrears.bucket is AgingBucket.D61_90


def test_late_payment_pays_the_oldest_installments_first(funded: UnitOfWork, active: Loan) -> None:
    pay(funded, active, "150.00", "2026-06-01")
    assert paid(funded, active.id)[:4] == [INSTALLMENT, INSTALLMENT, 834, 0]


def test_prepayment_shortens_the_loan_from_the_end(funded: UnitOfWork, active: Loan) -> None:
    pay(funded, active, "70.83", "2026-03-31")
    pay(funded, active, "500.00", "2026-04-10")
    got = paid(funded, active.id)
    # April is the next due, the remaining 429.17 pays the last installments backwards.
    assert got[:3] == [INSTALLMENT, INSTALLMENT, 0]
    assert got[-1] == 7_091 and got[18:23] == [INSTALLMENT] * 5 and got[17] == 411
    assert sum(got) == 57_083
    # On 15 June, May (due 31 May) is 15 days late even though the end was prepaid.
    assert loans.get_loan(funded, TREASURER, active.id).arrears.days_past_due == 15


def test_overpayment_is_a_credit_and_the_refund_closes_the_loan(
    funded: UnitOfWork, active: Loan
) -> None:
    result = pay(funded, active, "2000.00", "2026-06-01")
    assert result.loan.status is S.OVERPAID
    assert legs(result) == [("1000", 200_000), (ACCOUNT, -LOAN), ("2100", -30_000)]
    pos = position(funded, active.id)
    assert (pos.outstanding, pos.credit, pos.ledger_loan, pos.ledger_credit) == (
        0,
        30_000,
        0,
        30_000,
    )
    assert balances(funded)["2100"] == -30_000
    # More money on an overpaid loan adds to the credit.
    more = pay(funded, active, "10.00", "2026-06-02")
    assert legs(more) == [("1000", 1_000), ("2100", -1_000)]

    refund = loans.refund_credit(
        funded, TREASURER, active.id, on=day("2026-06-15"), idempotency_key="rf"
    )
    assert refund.loan.status is S.CLOSED
    assert refund.entry.kind is EntryKind.REFUND
    assert legs(refund) == [("1000", -31_000), ("2100", 31_000)]
    assert balances(funded)["2100"] == 0
    assert balances(funded)[ACCOUNT] == 0
    again = loans.refund_credit(
        funded, TREASURER, active.id, on=day("2026-06-15"), idempotency_key="rf"
    )
    assert again.replayed and again.entry == refund.entry
    with pytest.raises(Conflict, match="no credit balance"):
        loans.refund_credit(
            funded, TREASURER, active.id, on=day("2026-06-15"), idempotency_key="rf2"
        )
    with pytest.raises(Conflict, match="repaid and closed"):
        pay(funded, active, "5.00", "2026-06-15")


def test_refund_dated_before_the_overpayment_refused(funded: UnitOfWork, active: Loan) -> None:
    pay(funded, active, "2000.00", "2026-06-01")
    before = counts(funded)
    with pytest.raises(ValidationError, match="received money on 2026-06-01") as err:
        loans.refund_credit(
            funded, TREASURER, active.id, on=day("2026-05-31"), idempotency_key="rf"
        )
    assert err.value.field == "on"
    assert counts(funded) == before
    refund = loans.refund_credit(
        funded, TREASURER, active.id, on=day("2026-06-01"), idempotency_key="rf"
    )
    assert refund.loan.status is S.CLOSED


def test_bounce_after_a_refund_makes_the_refunded_money_owed(
    funded: UnitOfWork, active: Loan
) -> None:
    first = pay(funded, active, "70.83", "2026-03-31")
    pay(funded, active, "1700.00", "2026-06-01")  # 70.83 too much
    loans.refund_credit(funded, TREASURER, active.id, on=day("2026-06-10"), idempotency_key="rf")
    assert status_of(funded, active.id) is S.CLOSED
    # The first payment bounces: the fund paid back 70.83 it never had; the person owes it.
    loans.reverse_payment(
        funded,
        TREASURER,
        first.entry.id,
        on=day("2026-06-15"),
        reason="bounced",
        idempotency_key="rv",
    )
    pos = position(funded, active.id)
    assert (pos.outstanding, pos.ledger_loan, pos.credit, pos.ledger_credit) == (
        INSTALLMENT,
        INSTALLMENT,
        0,
        0,
    )
    assert status_of(funded, active.id) is S.ACTIVE
    assert balances(funded)["2100"] == 0


def test_refunded_credit_of_a_payment_that_bounced_stays_owed_until_paid(
    funded: UnitOfWork, active: Loan
) -> None:
    big = pay(funded, active, "2000.00", "2026-06-01")
    loans.refund_credit(funded, TREASURER, active.id, on=day("2026-06-02"), idempotency_key="rf")
    loans.reverse_payment(
        funded, TREASURER, big.entry.id, on=day("2026-06-10"), reason="bounced", idempotency_key="r"
    )
    # She received 1,700.00 and a refund of 300.00 and in the end paid nothing: 2,000.00 owed,
    # 300.00 of it outside the schedule.
    pos = position(funded, active.id)
    assert (pos.outstanding, pos.ledger_loan, pos.credit, pos.ledger_credit) == (
        LOAN,
        LOAN,
        -30_000,
        -30_000,
    )
    assert status_of(funded, active.id) is S.ACTIVE
    # Paying the loan's 1,700.00 settles the refund first: 300.00 are still owed on the loan.
    after = pay(funded, active, "1700.00", "2026-06-15")
    assert after.loan.status is S.ACTIVE
    pos = position(funded, active.id)
    assert (pos.outstanding, pos.ledger_loan, pos.credit, pos.ledger_credit) == (
        30_000,
        30_000,
        0,
        0,
    )
    assert balances(funded)["2100"] == 0
    assert pay(funded, active, "300.00", "2026-06-15").loan.status is S.CLOSED


def test_backdated_payment_reallocates(funded: UnitOfWork, active: Loan) -> None:
    pay(funded, active, "70.83", "2026-06-01")
    assert paid(funded, active.id)[:3] == [INSTALLMENT, 0, 0]  # it paid March, the oldest
    view = loans.get_loan(funded, TREASURER, active.id)
    assert view.arrears.oldest_unpaid_due == date(2026, 4, 30)
    pay(funded, active, "70.83", "2026-03-31")  # booked late, dated when it was received
    assert paid(funded, active.id)[:3] == [INSTALLMENT, INSTALLMENT, 0]
    view = loans.get_loan(funded, TREASURER, active.id)
    assert view.arrears.oldest_unpaid_due == date(2026, 5, 31)
    # As of mid April only the March payment counted: nothing was late.
    assert (
        loans.get_loan(funded, TREASURER, active.id, day("2026-04-15")).arrears.days_past_due == 0
    )
    assert paid(funded, active.id, day("2026-04-15"))[:2] == [INSTALLMENT, 0]


def test_payment_into_a_closed_month_refused(funded: UnitOfWork, active: Loan) -> None:
    # No bank statement in these tests: the months are closed by an admin, saying so.
    why = "closed without the bank's statements (a test of the closed months)"
    close_month(funded, ADMIN, "2026-03", why)
    close_month(funded, ADMIN, "2026-04", why)
    before = counts(funded)
    with pytest.raises(ClosedPeriod):
        pay(funded, active, "70.83", "2026-04-30")
    assert counts(funded) == before
    assert pay(funded, active, "70.83", "2026-05-02").loan.status is S.ACTIVE


@pytest.mark.parametrize(
    ("amount", "field"),
    [("0.00", "amount"), ("-70.83", "amount")],
)
def test_zero_or_negative_payment_refused(
    funded: UnitOfWork, active: Loan, amount: str, field: str
) -> None:
    before = counts(funded)
    with pytest.raises(ValidationError, match="must be positive") as err:
        pay(funded, active, amount, "2026-06-01")
    assert err.value.field == field
    assert counts(funded) == before


def test_payment_in_another_currency_refused(funded: UnitOfWork, active: Loan) -> None:
    with pytest.raises(ValidationError, match="in EUR") as err:
        loans.record_payment(
            funded,
            TREASURER,
            active.id,
            money("70.83", "CHF"),
            on=day("2026-06-01"),
            idempotency_key="chf",
        )
    assert err.value.field == "currency"


def test_payment_dates_refused(funded: UnitOfWork, active: Loan) -> None:
    before = counts(funded)
    with pytest.raises(ValidationError, match="future"):
        pay(funded, active, "70.83", "2026-06-16")
    with pytest.raises(ValidationError, match="paid out") as err:
        pay(funded, active, "70.83", "2026-03-14")  # the day before the payout
    assert err.value.field == "on"
    with pytest.raises(ValidationError, match="paid out on 2026-03-15") as err:
        loans.record_deposit_release(
            funded,
            TREASURER,
            active.id,
            on=day("2026-03-01"),
            returned=eur("1700.00"),
            kept=eur("0.00"),
            kept_reason=None,
            idempotency_key="rel",
        )
    assert err.value.field == "on"
    assert counts(funded) == before
    assert pay(funded, active, "70.83", "2026-03-15").loan.status is S.ACTIVE


def test_payment_refused_before_payout_for_unknown_loans_and_roles(funded: UnitOfWork) -> None:
    loan = loan_in(funded, S.APPROVED)
    with pytest.raises(Conflict, match="once it is paid out"):
        pay(funded, loan, "70.83", "2026-03-15")
    with pytest.raises(NotFound):
        loans.record_payment(
            funded, TREASURER, "L999999", eur("1.00"), on=day("2026-03-15"), idempotency_key="k"
        )
    with pytest.raises(PermissionDenied):
        loans.record_payment(
            funded, CASEWORKER, loan.id, eur("1.00"), on=day("2026-03-15"), idempotency_key="k"
        )


def test_bounced_payment_reopens_the_arrears_and_the_loan(funded: UnitOfWork, active: Loan) -> None:
    full = pay(funded, active, "1700.00", "2026-06-01")
    assert full.loan.status is S.CLOSED
    assert loans.get_loan(funded, TREASURER, active.id).arrears.days_past_due == 0
    with pytest.raises(ValidationError, match="reason"):
        loans.reverse_payment(
            funded, TREASURER, full.entry.id, on=day("2026-06-15"), reason="", idempotency_key="r"
        )
    with pytest.raises(ValidationError, match="before its entry"):
        loans.reverse_payment(
            funded, TREASURER, full.entry.id, on=day("2026-05-31"), reason="x", idempotency_key="r"
        )
    back = loans.reverse_payment(
        funded,
        TREASURER,
        full.entry.id,
        on=day("2026-06-15"),
        reason="bounced",
        idempotency_key="r",
    )
    assert back.loan.status is S.ACTIVE
    assert back.entry.reverses_id == full.entry.id
    assert sorted((leg.account_code, leg.minor) for leg in back.entry.legs) == [
        ("1000", -LOAN),
        (ACCOUNT, LOAN),
    ]
    view = loans.get_loan(funded, TREASURER, active.id)
    assert view.arrears.days_past_due == 76 and view.outstanding == LOAN
    assert [p[4] for p in view.payments] == [True]  # shown, marked reversed
    assert [(e.from_status, e.to_status) for e in view.events if e.action == "settle"] == [
        ("active", "closed"),
        ("closed", "active"),
    ]
    again = loans.reverse_payment(
        funded,
        TREASURER,
        full.entry.id,
        on=day("2026-06-15"),
        reason="bounced",
        idempotency_key="r",
    )
    assert again.replayed and again.entry == back.entry
    with pytest.raises(AlreadyReversed):
        loans.reverse_payment(
            funded, TREASURER, full.entry.id, on=day("2026-06-15"), reason="x", idempotency_key="r2"
        )
    with pytest.raises(NotFound, match="not a loan payment"):
        loans.reverse_payment(
            funded,
            TREASURER,
            active.disbursement_entry_id or 0,
            on=day("2026-06-15"),
            reason="x",
            idempotency_key="r3",
        )


def test_bounce_of_an_overpaying_payment_moves_the_credit_back(
    funded: UnitOfWork, active: Loan
) -> None:
    pay(funded, active, "1000.00", "2026-06-01")
    second = pay(funded, active, "1000.00", "2026-06-02")
    assert second.loan.status is S.OVERPAID
    first_id = loans.get_loan(funded, TREASURER, active.id).payments[0][0]
    loans.reverse_payment(
        funded, TREASURER, first_id, on=day("2026-06-15"), reason="bounced", idempotency_key="r"
    )
    pos = position(funded, active.id)
    assert (pos.outstanding, pos.ledger_loan, pos.credit, pos.ledger_credit) == (
        70_000,
        70_000,
        0,
        0,
    )
    assert status_of(funded, active.id) is S.ACTIVE
    assert balances(funded)["2100"] == 0
    assert last_entry(funded).kind is EntryKind.REALLOCATION


# -- idempotency -----------------------------------------------------------------------------


def test_payment_retries_are_idempotent(funded: UnitOfWork, active: Loan) -> None:
    first = pay(funded, active, "70.83", "2026-03-31", key="bank-line-1")
    before = counts(funded)
    again = pay(funded, active, "70.83", "2026-03-31", key="bank-line-1")
    assert again.replayed and again.entry == first.entry
    assert counts(funded) == before
    assert position(funded, active.id).outstanding == LOAN - INSTALLMENT
    with pytest.raises(IdempotencyConflict) as err:
        pay(funded, active, "70.84", "2026-03-31", key="bank-line-1")
    assert err.value.field == "amount"
    with pytest.raises(IdempotencyConflict) as err:
        pay(funded, active, "70.83", "2026-04-01", key="bank-line-1")
    assert err.value.field == "on"
    with pytest.raises(IdempotencyConflict) as err:
        loans.disburse(
            funded, TREASURER, active.id, on=day("2026-03-15"), idempotency_key="bank-line-1"
        )
    assert err.value.field == "command"
    assert counts(funded) == before


def test_payout_retry_returns_the_loan_without_paying_twice(funded: UnitOfWork) -> None:
    loan = loan_in(funded, S.ACTIVE)
    before = counts(funded)
    again = loans.disburse(
        funded, TREASURER, loan.id, on=day("2026-03-15"), idempotency_key=f"payout-{loan.id}"
    )
    assert again.replayed and again.loan.status is S.ACTIVE
    assert counts(funded) == before
    assert balances(funded)["1000"] == 1_000_000 - LOAN


# -- going back ------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [S.APPROVED, S.CONTRACT_SIGNED])
def test_undo_approval(funded: UnitOfWork, start: LoanStatus) -> None:
    loan = loan_in(funded, start)
    with pytest.raises(ValidationError, match="reason"):
        loans.undo_approval(funded, CASEWORKER2, loan.id, "")
    with pytest.raises(PermissionDenied):
        loans.undo_approval(funded, TREASURER, loan.id, "wrong rent")
    back = loans.undo_approval(funded, CASEWORKER2, loan.id, "the rent was wrong")
    assert (back.status, back.approved_by) == (S.SUBMITTED, None)
    [event] = [
        e for e in loans.get_loan(funded, CASEWORKER, loan.id).events if e.action == "undo_approval"
    ]
    assert (event.from_status, event.to_status, event.reason) == (
        start.value,
        "submitted",
        "the rent was wrong",
    )
    assert loans.approve(funded, CASEWORKER2, loan.id, LoanPolicy()).status is S.APPROVED


def test_undo_approval_refused_once_paid_out(funded: UnitOfWork) -> None:
    loan = loan_in(funded, S.ACTIVE)
    with pytest.raises(Conflict, match="not paid out"):
        loans.undo_approval(funded, CASEWORKER2, loan.id, "too late")


def test_undo_payout_while_nothing_was_paid(funded: UnitOfWork, active: Loan) -> None:
    undone = loans.undo_disbursement(
        funded,
        TREASURER,
        active.id,
        on=day("2026-06-15"),
        reason="lease cancelled",
        idempotency_key="u",
    )
    assert undone.loan.status is S.CONTRACT_SIGNED and undone.loan.disbursement_entry_id is None
    bal = balances(funded)
    assert (bal["1000"], bal[ACCOUNT], bal["1200"]) == (1_000_000, 0, 0)
    entry = last_entry(funded)
    assert entry == undone.entry and entry.reverses_id == active.disbursement_entry_id
    # The reason is kept with the loan's events, never in the hashed journal.
    assert entry.description == f"Payout of loan {active.id} undone"
    events = loans.get_loan(funded, TREASURER, active.id).events
    assert events[-1].reason == "lease cancelled" and events[-1].entry_id == entry.id
    again = loans.undo_disbursement(
        funded,
        TREASURER,
        active.id,
        on=day("2026-06-15"),
        reason="lease cancelled",
        idempotency_key="u",
    )
    assert again.replayed and again.loan.status is S.CONTRACT_SIGNED
    assert last_entry(funded) == entry
    with pytest.raises(Conflict, match="once it is paid out"):
        pay(funded, active, "1.00", "2026-06-15")
    # Paid out again later, on the same sub-account.
    out = loans.disburse(funded, TREASURER, active.id, on=day("2026-06-15"), idempotency_key="out2")
    assert out.loan.status is S.ACTIVE and out.loan.account_id == active.account_id
    assert balances(funded)[ACCOUNT] == LOAN


def test_undo_payout_refused_after_a_payment(funded: UnitOfWork, active: Loan) -> None:
    payment = pay(funded, active, "70.83", "2026-03-31")
    with pytest.raises(Conflict, match="has payments"):
        loans.undo_disbursement(
            funded, TREASURER, active.id, on=day("2026-06-15"), reason="x", idempotency_key="u"
        )
    # Once that payment is reversed, nothing was paid any more.
    loans.reverse_payment(
        funded,
        TREASURER,
        payment.entry.id,
        on=day("2026-06-15"),
        reason="bounced",
        idempotency_key="r",
    )
    undone = loans.undo_disbursement(
        funded, TREASURER, active.id, on=day("2026-06-15"), reason="x", idempotency_key="u"
    )
    assert undone.loan.status is S.CONTRACT_SIGNED
    assert balances(funded)[ACCOUNT] == 0


def test_withdraw_and_reject_need_a_reason(funded: UnitOfWork) -> None:
    loan = loan_in(funded, S.SUBMITTED)
    with pytest.raises(ValidationError, match="reason"):
        loans.withdraw(funded, CASEWORKER, loan.id, " ")
    gone = loans.withdraw(funded, CASEWORKER, loan.id, "found a flat with a CPAS guarantee")
    assert gone.status is S.WITHDRAWN
    [event] = [
        e for e in loans.get_loan(funded, CASEWORKER, loan.id).events if e.action == "withdraw"
    ]
    assert event.reason == "found a flat with a CPAS guarantee"

    other = loan_in(funded, S.SUBMITTED)
    with pytest.raises(PermissionDenied):
        loans.reject(funded, TREASURER, other.id, "no")
    with pytest.raises(ValidationError, match="reason"):
        loans.reject(funded, CASEWORKER2, other.id, "")
    assert loans.reject(funded, CASEWORKER2, other.id, "income not proven").status is S.REJECTED
    with pytest.raises(ValidationError, match="longer than"):
        loans.withdraw(funded, CASEWORKER, loan_in(funded, S.DRAFT).id, "x" * 1001)


def test_illegal_transitions_refused_with_the_reason(funded: UnitOfWork) -> None:
    draft = application(funded)
    with pytest.raises(Conflict, match="cannot approve a loan that is draft: only a submitted"):
        loans.approve(funded, CASEWORKER2, draft.id, LoanPolicy())
    approved = loan_in(funded, S.APPROVED)
    with pytest.raises(Conflict, match="cannot disburse a loan that is approved"):
        loans.disburse(funded, TREASURER, approved.id, on=day("2026-03-15"), idempotency_key="d")
    with pytest.raises(Conflict, match="cannot submit a loan that is approved"):
        loans.submit(funded, CASEWORKER, approved.id, POLICY)
    active = loan_in(funded, S.ACTIVE)
    with pytest.raises(Conflict, match="undo the disbursement first"):
        loans.withdraw(funded, CASEWORKER, active.id, "changed her mind")
    rejected = loan_in(funded, S.SUBMITTED)
    loans.reject(funded, CASEWORKER2, rejected.id, "no")
    with pytest.raises(Conflict, match="cannot submit a loan that is rejected"):
        loans.submit(funded, CASEWORKER, rejected.id, POLICY)
    with pytest.raises(Conflict, match="cannot sign contract a loan that is draft"):
        loans.sign_contract(funded, CASEWORKER, draft.id)


# -- end of lease ----------------------------------------------------------------------------


def _three_paid(uow: UnitOfWork, loan: Loan) -> None:
    for on in ("2026-03-31", "2026-04-30", "2026-05-31"):
        pay(uow, loan, "70.83", on)


def test_deposit_release_repays_and_the_excess_is_owed_back(
    funded: UnitOfWork, active: Loan
) -> None:
    _three_paid(funded, active)
    owed = LOAN - 3 * INSTALLMENT  # 1,487.51
    result = loans.record_deposit_release(
        funded,
        TREASURER,
        active.id,
        on=day("2026-06-15"),
        returned=eur("1600.00"),
        kept=eur("100.00"),
        kept_reason="cleaning after the move",
        idempotency_key="rel",
    )
    assert result.loan.status is S.OVERPAID and result.still_owed == 0
    assert result.entry is not None and result.entry.kind is EntryKind.DEPOSIT_RELEASE
    assert sorted((leg.account_code, leg.minor) for leg in result.entry.legs) == [
        ("1000", 160_000),
        (ACCOUNT, -owed),
        ("2100", -(160_000 - owed)),
    ]
    with funded:
        [release] = funded.loans.releases(active.id)
    assert (release["returned_minor"], release["kept_minor"], release["kept_reason"]) == (
        160_000,
        10_000,
        "cleaning after the move",
    )
    again = loans.record_deposit_release(
        funded,
        TREASURER,
        active.id,
        on=day("2026-06-15"),
        returned=eur("1600.00"),
        kept=eur("100.00"),
        kept_reason="cleaning after the move",
        idempotency_key="rel",
    )
    assert again.replayed and again.entry == result.entry
    refund = loans.refund_credit(
        funded, TREASURER, active.id, on=day("2026-06-15"), idempotency_key="rf"
    )
    assert refund.loan.status is S.CLOSED


def test_deposit_release_shortfall_stays_due(funded: UnitOfWork, active: Loan) -> None:
    result = loans.record_deposit_release(
        funded,
        TREASURER,
        active.id,
        on=day("2026-06-15"),
        returned=eur("1000.00"),
        kept=eur("700.00"),
        kept_reason="water damage in the kitchen",
        idempotency_key="rel",
    )
    assert result.loan.status is S.ACTIVE
    assert result.still_owed == 70_000
    assert position(funded, active.id).outstanding == 70_000


def test_deposit_release_all_kept_posts_nothing(funded: UnitOfWork, active: Loan) -> None:
    before = counts(funded)
    result = loans.record_deposit_release(
        funded,
        TREASURER,
        active.id,
        on=day("2026-06-15"),
        returned=eur("0.00"),
        kept=eur("1700.00"),
        kept_reason="two months of unpaid rent",
        idempotency_key="rel",
    )
    assert result.entry is None and result.still_owed == LOAN
    assert counts(funded)["journal_entries"] == before["journal_entries"]


def test_deposit_release_refusals(funded: UnitOfWork, active: Loan) -> None:
    def release(returned: str, kept: str, reason: str | None, key: str = "rel") -> object:
        return loans.record_deposit_release(
            funded,
            TREASURER,
            active.id,
            on=day("2026-06-15"),
            returned=eur(returned),
            kept=eur(kept),
            kept_reason=reason,
            idempotency_key=key,
        )

    with pytest.raises(ValidationError, match="say why") as err:
        release("1600.00", "100.00", None)
    assert err.value.field == "kept_reason"
    with pytest.raises(ValidationError, match="say why"):
        release("1600.00", "100.00", "  ")
    with pytest.raises(ValidationError, match="more than the deposit"):
        release("1700.00", "0.01", "paint")
    with pytest.raises(ValidationError, match="not be negative"):
        release("-1.00", "0.00", None)
    with pytest.raises(ValidationError, match="nor both zero"):
        release("0.00", "0.00", None)
    # Two partial releases together may not exceed the deposit either.
    release("1000.00", "0.00", None, key="rel-1")
    with pytest.raises(ValidationError, match="more than the deposit"):
        release("1000.00", "0.00", None, key="rel-2")
    release("600.00", "100.00", "paint", key="rel-3")
    assert position(funded, active.id).outstanding == 10_000


def test_a_reversed_release_no_longer_counts_towards_the_deposit(
    funded: UnitOfWork, active: Loan
) -> None:
    wrong = loans.record_deposit_release(
        funded,
        TREASURER,
        active.id,
        on=day("2026-06-15"),
        returned=eur("1700.00"),
        kept=eur("0.00"),
        kept_reason=None,
        idempotency_key="rel-wrong",
    )
    assert wrong.entry is not None and wrong.loan.status is S.CLOSED
    loans.reverse_payment(
        funded,
        TREASURER,
        wrong.entry.id,
        on=day("2026-06-15"),
        reason="it was another tenant's deposit",
        idempotency_key="rv",
    )
    right = loans.record_deposit_release(
        funded,
        TREASURER,
        active.id,
        on=day("2026-06-15"),
        returned=eur("1500.00"),
        kept=eur("200.00"),
        kept_reason="repairs",
        idempotency_key="rel-right",
    )
    assert right.still_owed == 20_000 and right.loan.status is S.ACTIVE


def test_a_reversed_release_on_a_written_off_loan_no_longer_counts(
    funded: UnitOfWork, active: Loan
) -> None:
    proposal = loans.propose_write_off(funded, CASEWORKER, active.id, "left the country")
    loans.approve_write_off(
        funded, TREASURER, proposal.id, on=day("2026-06-15"), idempotency_key="w"
    )

    def release(returned: str, key: str) -> loans.ReleaseResult:
        return loans.record_deposit_release(
            funded,
            TREASURER,
            active.id,
            on=day("2026-06-15"),
            returned=eur(returned),
            kept=eur("0.00"),
            kept_reason=None,
            idempotency_key=key,
        )

    wrong = release("1700.00", "rel-wrong")
    assert wrong.entry is not None and wrong.entry.kind is EntryKind.RECOVERY
    loans.reverse_payment(
        funded, TREASURER, wrong.entry.id, on=day("2026-06-15"), reason="x", idempotency_key="r"
    )
    assert release("1700.00", "rel-right").loan.status is S.WRITTEN_OFF
    assert balances(funded)["4100"] == -LOAN


def test_deposit_release_refused_before_payout(funded: UnitOfWork) -> None:
    loan = loan_in(funded, S.CONTRACT_SIGNED)
    with pytest.raises(Conflict, match="not paid out"):
        loans.record_deposit_release(
            funded,
            TREASURER,
            loan.id,
            on=day("2026-03-15"),
            returned=eur("1700.00"),
            kept=eur("0.00"),
            kept_reason=None,
            idempotency_key="rel",
        )


# -- write-off -------------------------------------------------------------------------------


def test_write_off_four_eyes_and_later_money_is_a_recovery(
    funded: UnitOfWork, active: Loan
) -> None:
    pay(funded, active, "200.00", "2026-04-30")
    with pytest.raises(ValidationError, match="reason"):
        loans.propose_write_off(funded, TREASURER, active.id, "")
    proposal = loans.propose_write_off(funded, TREASURER, active.id, "left the country")
    assert (proposal.status, proposal.proposed_by) == ("proposed", TREASURER.name)
    with pytest.raises(Conflict, match="already proposed"):
        loans.propose_write_off(funded, CASEWORKER, active.id, "again")
    with pytest.raises(PermissionDenied, match="you proposed this write-off"):
        loans.approve_write_off(
            funded, TREASURER, proposal.id, on=day("2026-06-15"), idempotency_key="w"
        )
    with pytest.raises(PermissionDenied):
        loans.approve_write_off(
            funded, CASEWORKER2, proposal.id, on=day("2026-06-15"), idempotency_key="w"
        )
    done = loans.approve_write_off(
        funded, TREASURER2, proposal.id, on=day("2026-06-15"), idempotency_key="w"
    )
    assert done.loan.status is S.WRITTEN_OFF and done.loan.written_off
    assert sorted((leg.account_code, leg.minor) for leg in done.entry.legs) == [
        (ACCOUNT, -(LOAN - 20_000)),
        ("6000", LOAN - 20_000),
    ]
    assert balances(funded)[ACCOUNT] == 0
    view = loans.get_loan(funded, TREASURER, active.id)
    assert view.outstanding == 0 and view.pending_write_off is None
    again = loans.approve_write_off(
        funded, TREASURER2, proposal.id, on=day("2026-06-15"), idempotency_key="w"
    )
    assert again.replayed and again.entry == done.entry
    with pytest.raises(Conflict, match="already approved"):
        loans.approve_write_off(
            funded, TREASURER2, proposal.id, on=day("2026-06-15"), idempotency_key="w2"
        )

    recovery = pay(funded, active, "50.00", "2026-06-15")
    assert recovery.loan.status is S.WRITTEN_OFF
    assert recovery.entry.kind is EntryKind.RECOVERY
    assert legs(recovery) == [("1000", 5_000), ("4100", -5_000)]
    assert balances(funded)[ACCOUNT] == 0
    # A payment from before the write-off that bounces afterwards is owed again: writing it
    # off too is proposed for another treasurer to approve (four eyes), never done alone.
    first = loans.get_loan(funded, TREASURER, active.id).payments[0][0]
    loans.reverse_payment(
        funded, TREASURER, first, on=day("2026-06-15"), reason="bounced", idempotency_key="r"
    )
    assert balances(funded)[ACCOUNT] == 20_000
    assert balances(funded)["6000"] == LOAN - 20_000
    more = loans.get_loan(funded, TREASURER, active.id).pending_write_off
    assert more is not None and more.proposed_by == TREASURER.name
    loans.approve_write_off(
        funded, TREASURER2, more.id, on=day("2026-06-15"), idempotency_key="w-more"
    )
    assert balances(funded)[ACCOUNT] == 0
    assert balances(funded)["6000"] == LOAN
    assert status_of(funded, active.id) is S.WRITTEN_OFF


def test_write_off_dated_before_the_payout_refused(funded: UnitOfWork, active: Loan) -> None:
    proposal = loans.propose_write_off(funded, TREASURER, active.id, "left the country")
    with pytest.raises(ValidationError, match="paid out on 2026-03-15") as err:
        loans.approve_write_off(
            funded, TREASURER2, proposal.id, on=day("2026-03-14"), idempotency_key="w"
        )
    assert err.value.field == "on"
    assert status_of(funded, active.id) is S.ACTIVE


def test_rejected_write_off_leaves_the_loan_active(funded: UnitOfWork, active: Loan) -> None:
    proposal = loans.propose_write_off(funded, CASEWORKER, active.id, "no contact")
    with pytest.raises(ValidationError, match="reason"):
        loans.reject_write_off(funded, TREASURER, proposal.id, "")
    rejected = loans.reject_write_off(funded, TREASURER, proposal.id, "she called back")
    assert (rejected.status, rejected.decided_by) == ("rejected", TREASURER.name)
    assert status_of(funded, active.id) is S.ACTIVE
    with pytest.raises(Conflict, match="already rejected"):
        loans.approve_write_off(
            funded, TREASURER2, proposal.id, on=day("2026-06-15"), idempotency_key="w"
        )


def test_write_off_refused_unless_active(funded: UnitOfWork) -> None:
    loan = loan_in(funded, S.APPROVED)
    with pytest.raises(Conflict, match="cannot write off a loan that is approved"):
        loans.propose_write_off(funded, TREASURER, loan.id, "x")


# -- arrears and the portfolio as of past dates ----------------------------------------------


def test_portfolio_aging_and_par30_as_of_past_dates(funded: UnitOfWork, clock: Clock) -> None:
    on_time = loan_in(funded, S.ACTIVE)
    late = loan_in(funded, S.ACTIVE)
    never = loan_in(funded, S.ACTIVE)
    clock.now = datetime(2026, 8, 20, 12, tzinfo=UTC)
    for on in ("2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31"):
        pay(funded, on_time, "70.83", on)
    pay(funded, late, "70.83", "2026-04-02")  # pays March, late
    loans.propose_write_off(funded, TREASURER, never.id, "no answer")
    proposal = loans.get_loan(funded, TREASURER, never.id).pending_write_off
    assert proposal is not None
    loans.approve_write_off(
        funded, TREASURER2, proposal.id, on=day("2026-08-20"), idempotency_key="w"
    )

    before_payout = loans.portfolio(funded, AUDITOR, day("2026-03-14"), "EUR")
    assert (before_payout.loans, before_payout.outstanding, before_payout.par30) == (0, 0, 0)
    assert before_payout.par30_ratio == "0.00"

    april = loans.portfolio(funded, AUDITOR, day("2026-04-15"), "EUR")
    # on_time: current; late: paid March on 2 April, April not yet due: current;
    # never: March unpaid for 15 days. The write-off came later: it still counts.
    assert april.loans == 3
    assert april.outstanding == 3 * LOAN - 2 * INSTALLMENT
    assert april.buckets["current"] == (2, 2 * (LOAN - INSTALLMENT))
    assert april.buckets["1-30"] == (1, LOAN)
    assert april.par30 == 0

    june = loans.portfolio(funded, AUDITOR, day("2026-06-15"), "EUR")
    # late: April unpaid since 30 April (46 days); never: March since 31 March (76 days).
    assert june.buckets["current"] == (1, LOAN - 3 * INSTALLMENT)
    assert june.buckets["31-60"] == (1, LOAN - INSTALLMENT)
    assert june.buckets["61-90"] == (1, LOAN)
    assert june.par30 == 2 * LOAN - INSTALLMENT
    total = 3 * LOAN - 4 * INSTALLMENT
    assert june.outstanding == total
    assert june.par30_ratio == "69.12"  # 332,917 / 481,668

    today = loans.portfolio(funded, AUDITOR, day("2026-08-20"), "EUR")
    # The written-off loan is out of the portfolio from the day of the write-off.
    assert today.loans == 2
    assert today.buckets["91-180"] == (1, LOAN - INSTALLMENT)
    assert loans.portfolio(funded, AUDITOR, day("2026-08-20"), "CHF").loans == 0


def test_past_arrears_count_a_payment_until_it_bounced(funded: UnitOfWork, active: Loan) -> None:
    payment = pay(funded, active, "70.83", "2026-03-31")
    loans.reverse_payment(
        funded,
        TREASURER,
        payment.entry.id,
        on=day("2026-06-15"),
        reason="bounced",
        idempotency_key="r",
    )
    april = day("2026-04-15")
    view = loans.get_loan(funded, TREASURER, active.id, april)
    assert view.arrears.days_past_due == 0  # on 15 April the payment had not bounced yet
    assert view.installments[0].paid == INSTALLMENT
    assert loans.portfolio(funded, AUDITOR, april, "EUR").buckets["current"] == (
        1,
        LOAN - INSTALLMENT,
    )
    now = loans.get_loan(funded, TREASURER, active.id)
    assert now.arrears.days_past_due == 76


# -- schedules: holidays and rescheduling ----------------------------------------------------


def test_payment_holiday_moves_the_maturity_and_keeps_the_amounts(
    funded: UnitOfWork, active: Loan
) -> None:
    before = loans.get_loan(funded, CASEWORKER, active.id)
    with pytest.raises(PermissionDenied):
        loans.add_holiday(funded, TREASURER, active.id, "2026-07", "job loss")
    with pytest.raises(ValidationError, match="in the past"):
        loans.add_holiday(funded, CASEWORKER, active.id, "2026-05", "job loss")
    schedule = loans.add_holiday(funded, CASEWORKER, active.id, "2026-07", "job loss")
    dates = [i.due_date for i in schedule.installments]
    assert dates[:5] == [
        day("2026-03-31"),
        day("2026-04-30"),
        day("2026-05-31"),
        day("2026-06-30"),
        day("2026-08-31"),
    ]
    assert schedule.maturity == day("2028-03-31")
    assert [i.minor for i in schedule.installments] == [i.amount for i in before.installments]
    assert not any(d.strftime("%Y-%m") == "2026-07" for d in dates)
    view = loans.get_loan(funded, CASEWORKER, active.id)
    assert view.schedule_version == 2 and view.outstanding == LOAN
    # As of the day before, the first schedule was in force.
    yesterday = loans.get_loan(funded, CASEWORKER, active.id, day("2026-06-14"))
    assert yesterday.schedule_version == 1
    assert yesterday.installments[4].due_date == day("2026-07-31")
    # A second holiday keeps the first one.
    schedule = loans.add_holiday(funded, CASEWORKER, active.id, "2026-09", "still no job")
    months = [i.due_date.strftime("%Y-%m") for i in schedule.installments]
    assert "2026-07" not in months and "2026-09" not in months
    assert schedule.maturity == day("2028-04-30")
    assert sum(i.minor for i in schedule.installments) == LOAN


def test_holiday_for_a_month_without_installment_refused(funded: UnitOfWork, active: Loan) -> None:
    loans.add_holiday(funded, CASEWORKER, active.id, "2026-07", "job loss")
    with pytest.raises(ValidationError, match="2026-07") as err:
        loans.add_holiday(funded, CASEWORKER, active.id, "2026-07", "job loss")
    assert err.value.field == "month"
    assert loans.get_loan(funded, CASEWORKER, active.id).installments[-1].due_date == day(
        "2028-03-31"
    )


def test_reschedule_what_is_still_owed(funded: UnitOfWork, active: Loan) -> None:
    _three_paid(funded, active)
    with pytest.raises(ValidationError, match="after today"):
        loans.reschedule(
            funded, CASEWORKER, active.id, first_due=day("2026-06-15"), reason="x", installments=12
        )
    schedule = loans.reschedule(
        funded,
        CASEWORKER,
        active.id,
        first_due=day("2026-07-15"),
        reason="lost her job",
        installments=12,
    )
    owed = LOAN - 3 * INSTALLMENT
    amounts = [i.minor for i in schedule.installments]
    assert amounts == [3 * INSTALLMENT] + [12_396] * 11 + [owed - 11 * 12_396]
    assert schedule.installments[0].due_date == day("2026-06-15")
    assert [i.due_date for i in schedule.installments[1:4]] == [
        day("2026-07-15"),
        day("2026-08-15"),
        day("2026-09-15"),
    ]
    assert sum(amounts) == LOAN
    view = loans.get_loan(funded, CASEWORKER, active.id)
    assert view.schedule_version == 2
    assert view.installments[0].remaining == 0 and view.arrears.days_past_due == 0
    assert view.outstanding == owed == position(funded, active.id).ledger_loan


def test_holiday_after_rescheduling_keeps_the_new_due_day(funded: UnitOfWork, active: Loan) -> None:
    _three_paid(funded, active)
    loans.reschedule(
        funded,
        CASEWORKER,
        active.id,
        first_due=day("2026-07-15"),
        reason="lost her job",
        installments=12,
    )
    schedule = loans.add_holiday(funded, CASEWORKER, active.id, "2026-08", "hospital")
    dates = [i.due_date for i in schedule.installments[1:5]]
    assert dates == [day("2026-07-15"), day("2026-09-15"), day("2026-10-15"), day("2026-11-15")]
    assert schedule.maturity == day("2027-07-15")


def test_reschedule_refused_when_nothing_is_owed(funded: UnitOfWork, active: Loan) -> None:
    pay(funded, active, "1700.00", "2026-06-01")
    with pytest.raises(Conflict, match="only an active loan"):
        loans.reschedule(
            funded, CASEWORKER, active.id, first_due=day("2026-07-15"), reason="x", installments=3
        )


# -- personal data ---------------------------------------------------------------------------


def _personal_reads(uow: UnitOfWork) -> list[tuple[str, str | None]]:
    with uow:
        records, _ = uow.audit.page(actor=None, action="read_personal_data", limit=100, offset=0)
    return sorted((r.actor, r.target) for r in records)


def test_personal_data_hidden_from_treasurer_and_auditor_and_every_read_audited(
    funded: UnitOfWork,
) -> None:
    who = person(funded)
    loan = loan_in(funded, S.ACTIVE, who)
    for actor in (TREASURER, AUDITOR):
        seen = loans.read_beneficiary(funded, actor, who.id)
        assert (seen.id, seen.personal, seen.erased) == (who.id, None, False)
        assert loans.get_loan(funded, actor, loan.id).lease is None
    assert _personal_reads(funded) == []
    with pytest.raises(PermissionDenied):
        loans.register_beneficiary(funded, TREASURER, "EUR", who.personal)  # type: ignore[arg-type]

    seen = loans.read_beneficiary(funded, CASEWORKER, who.id)
    assert seen.personal == who.personal and seen.personal is not None
    assert seen.personal.full_name == "Amina Kebede"
    loans.read_beneficiary(funded, ADMIN, who.id)
    assert loans.get_loan(funded, CASEWORKER2, loan.id).lease == LEASE
    assert _personal_reads(funded) == [
        (ADMIN.name, f"person:{who.id}"),
        (CASEWORKER.name, f"person:{who.id}"),
        (CASEWORKER2.name, f"loan:{loan.id}"),
    ]
    with funded:
        records, _ = funded.audit.page(actor=None, action="read_personal_data", limit=10, offset=0)
    assert all(r.details is None or "Amina" not in str(r.details) for r in records)


def test_erasure_refused_while_a_loan_is_open_allowed_after(
    funded: UnitOfWork, active: Loan
) -> None:
    with funded:
        bid = funded.loans.get(active.id).beneficiary_id
    with pytest.raises(Conflict, match="still has open loans") as err:
        loans.erase_beneficiary(funded, CASEWORKER, bid)
    assert active.id in err.value.detail
    with pytest.raises(PermissionDenied):
        loans.erase_beneficiary(funded, TREASURER, bid)
    pay(funded, active, "1700.00", "2026-06-01")
    assert status_of(funded, active.id) is S.CLOSED
    loans.erase_beneficiary(funded, CASEWORKER, bid)
    seen = loans.read_beneficiary(funded, CASEWORKER, bid)
    assert (seen.personal, seen.erased) == (None, True)
    view = loans.get_loan(funded, CASEWORKER, active.id)
    assert view.lease == Lease(None, None)
    assert view.decision is not None and view.decision.facts == {"erased": True}
    # The reasons quoted her savings, income and permit: only each rule's outcome is left.
    assert view.decision.results[0] == {
        "rule": "legal_maximum",
        "outcome": "pass",
        "reason": "erased",
    }
    assert {r["reason"] for r in view.decision.results} == {"erased"}
    with pytest.raises(Conflict, match="already erased"):
        loans.erase_beneficiary(funded, CASEWORKER, bid)
    with pytest.raises(Conflict, match="erased"):
        loans.open_application(funded, CASEWORKER, bid, active.terms, LEASE, POLICY)
    with funded:
        records, _ = funded.audit.page(actor=None, action="erase_beneficiary", limit=5, offset=0)
    assert [r.target for r in records] == [f"person:{bid}"]


def test_erasure_allowed_for_withdrawn_and_written_off_loans(funded: UnitOfWork) -> None:
    who = person(funded)
    loan = loan_in(funded, S.SUBMITTED, who)
    loans.withdraw(funded, CASEWORKER, loan.id, "moved to another city")
    loans.erase_beneficiary(funded, ADMIN, who.id)
    assert loans.read_beneficiary(funded, ADMIN, who.id).erased


def test_amounts_in_another_currency_than_the_persons_refused(funded: UnitOfWork) -> None:
    # Kept in minor units of the person's currency, 1,000 JPY would read back as 10.00 EUR.
    with pytest.raises(ValidationError, match="in EUR") as err:
        person(funded, monthly_net_income=money("1000", "JPY"))
    assert err.value.field == "monthly_net_income"
    with pytest.raises(ValidationError, match="in EUR") as err:
        person(funded, own_savings=money("100.00", "CHF"))
    assert err.value.field == "own_savings"
    with pytest.raises(ValidationError) as err:
        loans.register_beneficiary(funded, CASEWORKER, "EURO", PersonalData("Amina Kebede"))
    assert err.value.field == "currency"
    who = person(funded)
    with pytest.raises(ValidationError, match="in EUR"):
        loans.update_beneficiary(
            funded, CASEWORKER, who.id, PersonalData("Amina", own_savings=money("1", "JPY"))
        )
    assert _count_people(funded) == 1


def _count_people(uow: UnitOfWork) -> int:
    with uow:
        return uow.beneficiaries.page(limit=10, offset=0)[1]


def test_unknown_beneficiary(funded: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        loans.read_beneficiary(funded, CASEWORKER, "BXXXXXXXXXXXX")


# -- listing ---------------------------------------------------------------------------------


def test_list_loans_by_status_and_person(funded: UnitOfWork) -> None:
    who = person(funded)
    active = loan_in(funded, S.ACTIVE, who)
    draft = application(funded)
    page, total = loans.list_loans(funded, AUDITOR)
    assert total == 2 and [ln.id for ln in page] == [active.id, draft.id]
    page, total = loans.list_loans(funded, AUDITOR, status=S.DRAFT)
    assert (total, [ln.id for ln in page]) == (1, [draft.id])
    page, total = loans.list_loans(funded, AUDITOR, beneficiary_id=who.id)
    assert (total, [ln.id for ln in page]) == (1, [active.id])
    with pytest.raises(ValidationError):
        loans.list_loans(funded, AUDITOR, limit=0)
