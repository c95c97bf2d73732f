"""Money after a write-off lands where it belongs (issue 16, findings 1-3); `verify` after each.

The standard loan of 1,700.00 (see tests/integration/test_loans.py), paid out on 15 March
2026; 200.00 repaid on 30 April; written off on 15 June for the 1,500.00 then owed; the clock
then moves to 15 July.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ledger.domain.errors import PermissionDenied, ValidationError
from ledger.domain.loans import Loan
from ledger.domain.statuses import EntryKind, LoanStatus, WriteOffStatus
from ledger.services import loans
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.loans import (
    CASEWORKER,
    TREASURER,
    TREASURER2,
    assert_verified,
    day,
    eur,
    loan_in,
)
from tests.support.queries import balances

S = LoanStatus
ACCOUNT = "1200-L000001"
LOSSES, RECOVERIES, CREDIT, BANK = "6000", "4100", "2100", "1000"


@pytest.fixture(autouse=True)
def _verified_after(uow: UnitOfWork) -> Iterator[None]:
    yield
    assert_verified(uow)


@pytest.fixture
def written_off(funded: UnitOfWork, clock: Clock) -> Loan:
    loan = loan_in(funded, S.ACTIVE)
    clock.now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    pay(funded, loan, "200.00", "2026-04-30")
    proposal = loans.propose_write_off(funded, CASEWORKER, loan.id, "left the country")
    loans.approve_write_off(
        funded, TREASURER, proposal.id, on=day("2026-06-15"), idempotency_key="w"
    )
    assert balances(funded)[LOSSES] == 150_000
    clock.now = datetime(2026, 7, 15, 12, tzinfo=UTC)
    return loan


def pay(uow: UnitOfWork, loan: Loan, amount: str, on: str) -> loans.MoneyResult:
    return loans.record_payment(
        uow, TREASURER, loan.id, eur(amount), on=day(on), idempotency_key=f"pay-{on}-{amount}"
    )


def release(uow: UnitOfWork, loan: Loan, returned: str, on: str) -> loans.ReleaseResult:
    return loans.record_deposit_release(
        uow,
        TREASURER,
        loan.id,
        on=day(on),
        returned=eur(returned),
        kept=eur("0.00"),
        kept_reason=None,
        idempotency_key=f"rel-{on}",
    )


def legs(entry: object) -> list[tuple[str, int]]:
    return sorted((leg.account_code, leg.minor) for leg in entry.legs)  # type: ignore[attr-defined]


# -- 1. recoveries are capped at the loss not yet recovered ----------------------------------


def test_a_release_beyond_the_unrecovered_loss_is_owed_back_and_refundable(
    funded: UnitOfWork, written_off: Loan
) -> None:
    recovery = pay(funded, written_off, "35.00", "2026-06-20")
    assert legs(recovery.entry) == [(BANK, 3_500), (RECOVERIES, -3_500)]
    done = release(funded, written_off, "1600.00", "2026-07-01")
    assert done.entry is not None and done.entry.kind is EntryKind.RECOVERY
    # 1,465.00 still unrecovered: that is recovery income; the 135.00 beyond is hers.
    assert legs(done.entry) == [(BANK, 160_000), (CREDIT, -13_500), (RECOVERIES, -146_500)]
    assert balances(funded)[RECOVERIES] == -150_000
    assert balances(funded)[CREDIT] == -13_500
    assert done.loan.status is S.WRITTEN_OFF
    standing = loans.get_loan(funded, TREASURER, written_off.id).standing
    assert (standing.written_off, standing.recovered, standing.credit) == (150_000, 150_000, 13_500)
    assert standing.fully_recovered
    assert_verified(funded)
    with pytest.raises(ValidationError, match="cannot be refunded before"):
        loans.refund_credit(
            funded, TREASURER, written_off.id, on=day("2026-06-25"), idempotency_key="early"
        )
    refund = loans.refund_credit(
        funded, TREASURER, written_off.id, on=day("2026-07-02"), idempotency_key="refund"
    )
    assert legs(refund.entry) == [(BANK, -13_500), (CREDIT, 13_500)]
    assert balances(funded)[CREDIT] == 0
    assert balances(funded)[ACCOUNT] == 0
    # The refund gave back what was beyond the loss: what was written off stays as it was.
    standing = loans.get_loan(funded, TREASURER, written_off.id).standing
    assert (standing.written_off, standing.recovered, standing.credit) == (150_000, 150_000, 0)


def test_a_recovery_once_all_is_recovered_is_all_owed_back(
    funded: UnitOfWork, written_off: Loan
) -> None:
    pay(funded, written_off, "1500.00", "2026-06-20")
    again = pay(funded, written_off, "10.00", "2026-06-30")
    assert legs(again.entry) == [(BANK, 1_000), (CREDIT, -1_000)]
    assert balances(funded)[RECOVERIES] == -150_000


def test_a_statement_batch_caps_recoveries_as_one_by_one(
    funded: UnitOfWork, written_off: Loan
) -> None:
    with funded:
        results = loans.book_payments(
            funded,
            TREASURER,
            [
                loans.PaymentIn(written_off.id, eur("1000.00"), day("2026-06-20"), "b1"),
                loans.PaymentIn(written_off.id, eur("700.00"), day("2026-06-21"), "b2"),
            ],
        )
        funded.commit()
    assert legs(results[0].entry) == [(BANK, 100_000), (RECOVERIES, -100_000)]
    assert legs(results[1].entry) == [(BANK, 70_000), (CREDIT, -20_000), (RECOVERIES, -50_000)]


# -- 2. money dated before the write-off repays the loan and shrinks the write-off -----------


def test_a_payment_dated_before_the_write_off_repays_the_loan_then(
    funded: UnitOfWork, written_off: Loan
) -> None:
    late = pay(funded, written_off, "100.00", "2026-05-31")
    assert late.entry.kind is EntryKind.REPAYMENT
    assert legs(late.entry) == [(BANK, 10_000), (ACCOUNT, -10_000)]
    assert late.entry.booking_date == day("2026-05-31")
    b = balances(funded)
    assert (b[LOSSES], b[RECOVERIES], b[ACCOUNT], b[CREDIT]) == (140_000, 0, 0, 0)
    view = loans.get_loan(funded, TREASURER, written_off.id)
    assert view.standing.written_off == 140_000 and view.standing.recovered == 0
    # As of the day before the write-off, the loan owed what this money left.
    before = loans.get_loan(funded, TREASURER, written_off.id, as_of=day("2026-06-14"))
    assert before.standing.outstanding == 140_000


def test_money_before_the_write_off_beyond_it_makes_recoveries_owed_back(
    funded: UnitOfWork, written_off: Loan
) -> None:
    pay(funded, written_off, "35.00", "2026-06-20")
    pay(funded, written_off, "1480.00", "2026-05-31")  # leaves 20.00 written off
    b = balances(funded)
    # 35.00 recovered of a loss now 20.00: 15.00 of it is owed back.
    assert (b[LOSSES], b[RECOVERIES], b[CREDIT], b[ACCOUNT]) == (2_000, -2_000, -1_500, 0)
    # 20.00 repays the rest, 30.00 was beyond everything owed then; nothing is written off
    # any more, so the 20.00 recovered is owed back as well.
    more = pay(funded, written_off, "50.00", "2026-06-01")
    assert legs(more.entry) == [(BANK, 5_000), (ACCOUNT, -2_000), (CREDIT, -3_000)]
    b = balances(funded)
    assert (b[LOSSES], b[RECOVERIES], b[CREDIT], b[ACCOUNT]) == (0, 0, -6_500, 0)
    standing = loans.get_loan(funded, TREASURER, written_off.id).standing
    assert (standing.written_off, standing.recovered, standing.credit) == (0, 0, 6_500)


# -- 3. a reversal that would write off more needs a second treasurer ------------------------


def test_reversing_a_payment_from_before_the_write_off_is_proposed_not_written_off(
    funded: UnitOfWork, written_off: Loan
) -> None:
    first = loans.get_loan(funded, TREASURER, written_off.id).payments[0][0]
    loans.reverse_payment(
        funded, TREASURER, first, on=day("2026-06-20"), reason="bounced", idempotency_key="r"
    )
    b = balances(funded)
    assert (b[LOSSES], b[ACCOUNT]) == (150_000, 20_000)  # nothing written off alone
    view = loans.get_loan(funded, TREASURER, written_off.id)
    proposal = view.pending_write_off
    assert proposal is not None and proposal.status is WriteOffStatus.PROPOSED
    assert proposal.proposed_by == TREASURER.name
    assert_verified(funded)
    with pytest.raises(PermissionDenied, match="another treasurer"):
        loans.approve_write_off(
            funded, TREASURER, proposal.id, on=day("2026-06-20"), idempotency_key="w2"
        )
    done = loans.approve_write_off(
        funded, TREASURER2, proposal.id, on=day("2026-06-20"), idempotency_key="w2"
    )
    assert legs(done.entry) == [(ACCOUNT, -20_000), (LOSSES, 20_000)]
    assert done.loan.status is S.WRITTEN_OFF
    b = balances(funded)
    assert (b[LOSSES], b[ACCOUNT]) == (170_000, 0)


def test_a_bounced_recovery_already_counted_as_owed_back_is_no_longer_owed(
    funded: UnitOfWork, written_off: Loan
) -> None:
    recovery = pay(funded, written_off, "35.00", "2026-06-20")
    pay(funded, written_off, "1480.00", "2026-05-31")  # 15.00 of the 35.00 now owed back
    loans.reverse_payment(
        funded,
        TREASURER,
        recovery.entry.id,
        on=day("2026-07-01"),
        reason="bounced",
        idempotency_key="r",
    )
    b = balances(funded)
    # The 35.00 never came: nothing recovered, nothing owed back.
    assert (b[LOSSES], b[RECOVERIES], b[CREDIT], b[ACCOUNT]) == (2_000, 0, 0, 0)
