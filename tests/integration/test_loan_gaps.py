"""The loans' known gaps of issue 3, closed: on real databases, `verify` after every test.

Clock: 15 June 2026 at noon, unless a test moves it. The standard loan is 1,700.00 in 24
installments (70.83, the last 70.91) due on month ends from 31 March 2026, paid out on 15 March
2026.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from ledger.domain.errors import Conflict, IdempotencyConflict, PermissionDenied
from ledger.domain.loans import Loan
from ledger.domain.money import money
from ledger.domain.policy import LoanPolicy
from ledger.domain.repayment import AgingBucket
from ledger.domain.statuses import LoanStatus
from ledger.services import loans
from ledger.store.tables import journal_entries
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.loans import (
    ADMIN,
    AUDITOR,
    CASEWORKER,
    CASEWORKER2,
    POLICY,
    TREASURER,
    TREASURER2,
    application,
    assert_verified,
    day,
    eur,
    loan_in,
    person,
    position,
    status_of,
)
from tests.support.queries import balances, counts

S = LoanStatus
LOAN = 170_000


@pytest.fixture(autouse=True)
def _verified_after(uow: UnitOfWork) -> Iterator[None]:
    yield
    assert_verified(uow)


@pytest.fixture
def active(funded: UnitOfWork, clock: Clock) -> Loan:
    """The standard loan, paid out on 15 March; the clock then moves to 15 June 2026."""
    loan = loan_in(funded, S.ACTIVE)
    clock.now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    return loan


def pay(uow: UnitOfWork, loan: Loan, amount: str, on: str, key: str) -> loans.MoneyResult:
    return loans.record_payment(
        uow, TREASURER, loan.id, eur(amount), on=day(on), idempotency_key=key
    )


def release(
    uow: UnitOfWork, loan: Loan, key: str, *, on: str = "2026-06-15", **changes: Any
) -> loans.ReleaseResult:
    args: dict[str, Any] = {
        "returned": eur("0.00"),
        "kept": eur("1700.00"),
        "kept_reason": "two months of unpaid rent",
    }
    args.update(changes)
    return loans.record_deposit_release(
        uow, TREASURER, loan.id, on=day(on), idempotency_key=key, **args
    )


# -- 1. a release with nothing returned answers its retry ------------------------------------


def test_a_release_that_posts_nothing_is_answered_on_retry(
    funded: UnitOfWork, active: Loan
) -> None:
    first = release(funded, active, "rel")
    assert first.entry is None and not first.replayed and first.still_owed == LOAN
    before = counts(funded)
    # The same request written differently (amounts, spaces around the reason) is the same.
    again = release(funded, active, "rel", kept_reason="  two months of unpaid rent ")
    assert again.replayed and again.entry is None and again.still_owed == LOAN
    assert counts(funded) == before
    with funded:
        [stored] = funded.loans.releases(active.id)
    assert stored["idempotency_key"] == "rel" and stored["kept_minor"] == LOAN


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"on": "2026-06-16"}, "on"),
        ({"kept": eur("1600.00")}, "kept"),
        ({"returned": eur("100.00")}, "returned"),
        ({"kept_reason": "paint"}, "kept_reason"),
    ],
)
def test_a_release_key_reused_with_other_content_is_a_conflict_naming_the_field(
    funded: UnitOfWork, active: Loan, changes: dict[str, Any], field: str
) -> None:
    release(funded, active, "rel")
    before = counts(funded)
    with pytest.raises(IdempotencyConflict, match=f"first used with {field} = ") as err:
        release(funded, active, "rel", **changes)
    assert err.value.field == field
    assert counts(funded) == before


def test_every_release_keeps_its_key_and_a_key_of_another_command_is_refused(
    funded: UnitOfWork, active: Loan
) -> None:
    money_back = release(
        funded, active, "rel-1", returned=eur("1000.00"), kept=eur("0.00"), kept_reason=None
    )
    assert money_back.entry is not None
    pay(funded, active, "10.00", "2026-06-15", key="pay-1")
    with pytest.raises(IdempotencyConflict, match="loan_payment") as err:
        release(funded, active, "pay-1", kept=eur("100.00"))
    assert err.value.field == "command"
    with funded:
        assert [r["idempotency_key"] for r in funded.loans.releases(active.id)] == ["rel-1"]


# -- 2. four eyes ----------------------------------------------------------------------------


def test_who_opened_an_application_may_not_approve_it_even_if_another_submitted(
    funded: UnitOfWork,
) -> None:
    loan = application(funded, by=CASEWORKER)
    loans.submit(funded, CASEWORKER2, loan.id, POLICY)
    with pytest.raises(PermissionDenied, match="you opened this application"):
        loans.approve(funded, CASEWORKER, loan.id, LoanPolicy())
    with pytest.raises(PermissionDenied, match="you submitted this application"):
        loans.approve(funded, CASEWORKER2, loan.id, LoanPolicy())
    assert status_of(funded, loan.id) is S.SUBMITTED
    approved = loans.approve(funded, ADMIN, loan.id, LoanPolicy())
    assert approved.status is S.APPROVED and approved.approved_by == ADMIN.name


def test_who_proposed_a_write_off_may_not_approve_it(funded: UnitOfWork, active: Loan) -> None:
    proposal = loans.propose_write_off(funded, TREASURER2, active.id, "left the country")
    before = counts(funded)
    with pytest.raises(PermissionDenied, match="you proposed this write-off"):
        loans.approve_write_off(
            funded, TREASURER2, proposal.id, on=day("2026-03-20"), idempotency_key="w"
        )
    assert counts(funded) == before
    done = loans.approve_write_off(
        funded, TREASURER, proposal.id, on=day("2026-03-20"), idempotency_key="w"
    )
    assert done.loan.status is S.WRITTEN_OFF


# -- 3. personal figures in eligibility reasons ----------------------------------------------


def test_eligibility_reasons_quoting_personal_figures_only_for_who_may_see_them(
    funded: UnitOfWork,
) -> None:
    # Savings that cover the deposit fail the application, and the reason quotes them.
    who = person(funded, own_savings=eur("2500.00"), permit_end_date=day("2026-01-31"))
    loan = application(funded, who)
    for actor in (CASEWORKER, ADMIN):
        stored = loans.check_eligibility(funded, actor, loan.id, POLICY)
        reasons = {r["rule"]: r["reason"] for r in stored.results}
        assert "2500.00" in (reasons["own_savings"] or "")
        assert "2026-01-31" in (reasons["residence_permit"] or "")
        assert stored.facts is not None and stored.facts["own_savings"] == "2500.00"
    for actor in (TREASURER, AUDITOR):
        shown = loans.get_loan(funded, actor, loan.id).decision
        assert shown is not None and shown.facts is None
        results = {r["rule"]: (r["outcome"], r["reason"]) for r in shown.results}
        # The outcome of every rule stays; the reasons that quote the person go.
        assert results["own_savings"] == ("fail", None)
        assert results["residence_permit"] == ("fail", None)
        assert results["affordability"] == ("pass", None)
        assert results["fund_cap"] == ("pass", "the amount is within the fund's cap")
        assert "2500.00" not in repr(shown)
    full = loans.get_loan(funded, CASEWORKER, loan.id).decision
    assert full is not None and full.facts is not None
    assert "2500.00" in str({r["rule"]: r["reason"] for r in full.results}["own_savings"])
    # What is stored is whole: only what a role is shown is blanked.
    with funded:
        stored_now = funded.loans.latest_decision(loan.id)
    assert stored_now is not None and stored_now.facts is not None


# -- 4. no free text in the hashed journal ---------------------------------------------------


def test_reasons_people_type_stay_out_of_the_journal(funded: UnitOfWork, clock: Clock) -> None:
    undone = loan_in(funded, S.ACTIVE)
    loan = loan_in(funded, S.ACTIVE, person(funded))  # decided while its schedule is ahead
    clock.now = datetime(2026, 4, 10, 12, tzinfo=UTC)
    loans.undo_disbursement(
        funded,
        TREASURER,
        undone.id,
        on=day("2026-03-16"),
        reason="SECRET-undo Rue de la Loi 1",
        idempotency_key="undo",
    )
    first = pay(funded, loan, "70.83", "2026-03-31", key="p1")
    loans.reverse_payment(
        funded,
        TREASURER,
        first.entry.id,
        on=day("2026-04-02"),
        reason="SECRET-reversal she lost her job",
        idempotency_key="rv",
    )
    loans.add_holiday(funded, CASEWORKER, loan.id, "2026-05", "SECRET-holiday hospital stay")
    loans.reschedule(
        funded,
        CASEWORKER,
        loan.id,
        first_due=day("2026-06-30"),
        installments=20,
        reason="SECRET-reschedule divorce",
    )
    release(
        funded,
        loan,
        "rel",
        on="2026-04-10",
        returned=eur("100.00"),
        kept=eur("50.00"),
        kept_reason="SECRET-kept broken window",
    )
    proposal = loans.propose_write_off(funded, TREASURER, loan.id, "SECRET-write-off deported")
    done = loans.approve_write_off(
        funded, TREASURER2, proposal.id, on=day("2026-04-10"), idempotency_key="w"
    )
    assert done.entry.description == f"Loan {loan.id} written off (write-off #{proposal.id})"
    with funded:
        texts = list(funded.connection.execute(select(journal_entries.c.description)).scalars())
        kept = funded.loans.write_off(proposal.id).reason
        release_reason = funded.loans.releases(loan.id)[0]["kept_reason"]
    assert len(texts) > 5 and not [t for t in texts if "SECRET" in t]
    # Each reason is kept where it belongs, outside the hash chain.
    assert kept == "SECRET-write-off deported"
    assert release_reason == "SECRET-kept broken window"
    events = loans.get_loan(funded, CASEWORKER, undone.id).events
    assert any(e.reason == "SECRET-undo Rue de la Loi 1" for e in events)


# -- 5. a payment on a closed loan -----------------------------------------------------------


def test_a_payment_on_a_closed_loan_is_refused_and_nothing_is_written(
    funded: UnitOfWork, active: Loan
) -> None:
    """The issue's bad input: a repaid loan takes no more payments, by hand or in a batch (the
    statement import books such money to unidentified receipts instead, see
    test_statement_import)."""
    assert pay(funded, active, "1700.00", "2026-03-20", key="all").loan.status is S.CLOSED
    before = balances(funded)
    with pytest.raises(Conflict, match="repaid and closed"):
        pay(funded, active, "70.83", "2026-03-31", key="late")
    batch = [loans.PaymentIn(active.id, money("70.83", "EUR"), day("2026-03-31"), "late-2", None)]
    with funded, pytest.raises(Conflict, match="repaid and closed"):
        loans.book_payments(funded, TREASURER, batch)
    assert balances(funded) == before
    assert loans.get_loan(funded, TREASURER, active.id).loan.status is S.CLOSED


# -- 6. a debt refunded beyond what was paid shows in arrears --------------------------------


def bounced_after_refund(uow: UnitOfWork, loan: Loan) -> None:
    """2,000.00 paid on 16 March (300.00 too much), the 300.00 refunded on 17 March, then the
    2,000.00 bounce on 20 March: she owes the loan and the 300.00 paid back to her."""
    big = pay(uow, loan, "2000.00", "2026-03-16", key="big")
    loans.refund_credit(uow, TREASURER, loan.id, on=day("2026-03-17"), idempotency_key="rf")
    loans.reverse_payment(
        uow, TREASURER, big.entry.id, on=day("2026-03-20"), reason="bounced", idempotency_key="rv"
    )


def test_a_refunded_debt_is_past_due_from_the_refund(funded: UnitOfWork, active: Loan) -> None:
    bounced_after_refund(funded, active)
    # Before the first installment falls due, only the refunded 300.00 is late.
    view = loans.get_loan(funded, TREASURER, active.id, as_of=day("2026-03-25"))
    assert view.outstanding == LOAN + 30_000
    a = view.arrears
    assert (a.outstanding, a.overdue, a.days_past_due) == (LOAN + 30_000, 30_000, 8)
    assert a.oldest_unpaid_due == day("2026-03-17") and a.bucket is AgingBucket.D1_30
    book = loans.portfolio(funded, AUDITOR, day("2026-03-25"), "EUR")
    assert (book.loans, book.outstanding, book.buckets["1-30"]) == (1, 200_000, (1, 200_000))
    # As it stood before the bounce, nothing was owed.
    before = loans.get_loan(funded, TREASURER, active.id, as_of=day("2026-03-19"))
    assert before.arrears.outstanding == 0 and before.arrears.days_past_due == 0
    # Paid back, the debt is gone and the loan is current again.
    pay(funded, active, "300.00", "2026-03-26", key="back")
    after = loans.get_loan(funded, TREASURER, active.id, as_of=day("2026-03-26"))
    assert (after.arrears.outstanding, after.arrears.days_past_due) == (LOAN, 0)


def test_a_refunded_debt_blocks_undoing_the_payout(funded: UnitOfWork, active: Loan) -> None:
    bounced_after_refund(funded, active)
    before = counts(funded)
    with pytest.raises(Conflict, match=r"300\.00 were refunded") as err:
        loans.undo_disbursement(
            funded,
            TREASURER,
            active.id,
            on=day("2026-03-25"),
            reason="lease cancelled",
            idempotency_key="undo",
        )
    assert err.value.field == "status" and counts(funded) == before
    assert status_of(funded, active.id) is S.ACTIVE


def test_a_write_off_takes_the_refunded_debt_with_the_loan(
    funded: UnitOfWork, active: Loan
) -> None:
    bounced_after_refund(funded, active)
    proposal = loans.propose_write_off(funded, TREASURER, active.id, "unreachable")
    done = loans.approve_write_off(
        funded, TREASURER2, proposal.id, on=day("2026-03-25"), idempotency_key="w"
    )
    assert sorted((leg.account_code, leg.minor) for leg in done.entry.legs) == [
        ("1200-L000001", -LOAN),
        ("2100", -30_000),
        ("6000", LOAN + 30_000),
    ]
    pos = position(funded, active.id)
    assert (pos.ledger_loan, pos.ledger_credit) == (0, 0)
    assert balances(funded)["2100"] == 0
