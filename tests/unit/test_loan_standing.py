"""Where a loan stands for its beneficiary (ledger/domain/standing.py): each standing, what it
asks for and which figures it shows, from the installments as the allocation left them."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.repayment import Arrears
from ledger.domain.standing import Figure, LineState, Standing, loan_standing
from ledger.domain.statuses import LoanStatus
from ledger.services.loans import InstallmentView

S = LoanStatus
DUES = (date(2026, 2, 5), date(2026, 3, 5), date(2026, 4, 5))
AMOUNTS = (33333, 33333, 33334)
ON = date(2026, 3, 20)  # two installments due, the third to come


def lines(*paid: int) -> tuple[InstallmentView, ...]:
    return tuple(
        InstallmentView(n, d, a, p)
        for n, (d, a, p) in enumerate(zip(DUES, AMOUNTS, paid, strict=True), 1)
    )


def test_a_loan_being_repaid_asks_for_what_is_late_and_the_next_installment() -> None:
    s = loan_standing(S.ACTIVE, ON, lines(33333, 0, 0))
    assert s.standing is Standing.REPAYING and s.asks_payment
    assert (s.paid, s.outstanding, s.overdue) == (33333, 66667, 33333)
    assert (s.next_due_date, s.next_amount) == (date(2026, 4, 5), 66667)
    assert (s.late_since, s.days_past_due) == (date(2026, 3, 5), 15)
    assert [x.state for x in s.lines] == [LineState.PAID, LineState.LATE, LineState.TO_PAY]
    assert [x.to_pay for x in s.lines] == [0, 33333, 33334]
    assert s.figures() == (
        (Figure.PAID, 33333, None),
        (Figure.OUTSTANDING, 66667, None),
        (Figure.OVERDUE, 33333, date(2026, 3, 5)),
        (Figure.NEXT, 66667, date(2026, 4, 5)),
    )


def test_after_the_last_due_date_the_next_payment_is_what_is_late_today() -> None:
    day = date(2026, 5, 1)
    s = loan_standing(S.ACTIVE, day, lines(33333, 0, 0))
    assert (s.next_due_date, s.next_amount, s.overdue) == (day, 66667, 66667)


def test_a_refunded_debt_is_owed_and_late_with_the_schedule() -> None:
    arrears = Arrears(ON, 5000, 5000, 10, date(2026, 3, 10))  # the replay's: a debt only
    s = loan_standing(S.ACTIVE, ON, lines(*AMOUNTS), arrears=arrears)
    assert s.standing is Standing.REPAYING
    assert (s.outstanding, s.overdue, s.next_amount, s.next_due_date) == (5000, 5000, 5000, ON)


@pytest.mark.parametrize("status", [S.DRAFT, S.SUBMITTED, S.APPROVED, S.CONTRACT_SIGNED])
def test_before_the_payout_nothing_is_asked_and_the_first_installment_is_said(
    status: LoanStatus,
) -> None:
    s = loan_standing(status, ON, lines(0, 0, 0))
    assert s.standing is Standing.NOT_PAID_OUT and not s.asks_payment
    assert (s.outstanding, s.overdue) == (0, 0)  # nothing is owed, nothing late, yet
    assert {x.state for x in s.lines} == {LineState.PLANNED}
    assert s.figures() == ((Figure.LOAN, 100000, None), (Figure.FIRST, 33333, date(2026, 2, 5)))


@pytest.mark.parametrize("status", [S.REJECTED, S.WITHDRAWN])
def test_a_loan_not_granted_shows_nothing_owed(status: LoanStatus) -> None:
    s = loan_standing(status, ON, lines(0, 0, 0))
    assert s.standing is Standing.NOT_GRANTED and not s.asks_payment
    assert s.figures() == ()
    assert {x.state for x in s.lines} == {LineState.CANCELLED}


def test_a_repaid_loan_says_nothing_is_left() -> None:
    s = loan_standing(S.CLOSED, ON, lines(*AMOUNTS))
    assert s.standing is Standing.REPAID and not s.asks_payment
    assert s.figures() == ((Figure.PAID, 100000, None), (Figure.OUTSTANDING, 0, None))


def test_an_overpaid_loan_shows_what_the_fund_owes_back() -> None:
    s = loan_standing(S.OVERPAID, ON, lines(*AMOUNTS), credit=1500)
    assert s.standing is Standing.OVERPAID and not s.asks_payment
    assert s.figures() == ((Figure.PAID, 100000, None), (Figure.CREDIT, 1500, None))


def test_a_written_off_loan_asks_nothing_and_its_unpaid_rows_are_written_off() -> None:
    off = date(2026, 3, 10)
    s = loan_standing(S.WRITTEN_OFF, ON, lines(33333, 0, 0), written_off_on=off)
    assert s.standing is Standing.WRITTEN_OFF and not s.asks_payment
    assert (s.outstanding, s.overdue, s.next_amount, s.next_due_date) == (0, 0, 0, None)
    assert s.written_off == 66667
    assert [x.state for x in s.lines] == [LineState.PAID, *[LineState.WRITTEN_OFF] * 2]
    assert [x.to_pay for x in s.lines] == [0, 0, 0]
    assert sum(x.unpaid for x in s.lines) == s.written_off  # the rows add up to it
    assert s.figures() == ((Figure.PAID, 33333, None), (Figure.WRITTEN_OFF, 66667, off))


def test_money_after_a_write_off_is_a_recovery_shown_beside_what_was_written_off() -> None:
    off = date(2026, 3, 10)
    s = loan_standing(S.WRITTEN_OFF, ON, lines(33333, 0, 0), written_off_on=off, recovered=20000)
    assert s.standing is Standing.RECOVERED and not s.asks_payment
    assert not s.fully_recovered
    assert s.paid_in_all == 53333
    assert s.figures() == (
        (Figure.PAID, 33333, None),
        (Figure.WRITTEN_OFF, 66667, off),
        (Figure.RECOVERED, 20000, None),
    )
    whole = loan_standing(
        S.WRITTEN_OFF, ON, lines(33333, 0, 0), written_off_on=off, recovered=66667
    )
    assert whole.fully_recovered


def test_as_of_a_day_before_the_write_off_the_loan_was_being_repaid() -> None:
    s = loan_standing(
        S.WRITTEN_OFF, ON, lines(33333, 0, 0), written_off_on=date(2026, 4, 1), recovered=100
    )
    assert s.standing is Standing.REPAYING
    assert (s.written_off, s.recovered, s.outstanding) == (0, 0, 66667)


def test_once_written_off_what_comes_in_beyond_the_loss_is_owed_back_not_recovered() -> None:
    """Issue 16: recovered counts up to what was written off; the rest, less what was
    refunded since the write-off, is credit owed back to the person, and is shown."""
    off = date(2026, 3, 10)
    s = loan_standing(S.WRITTEN_OFF, ON, lines(33333, 0, 0), written_off_on=off, recovered=70_000)
    assert (s.standing, s.written_off, s.recovered, s.credit) == (
        Standing.RECOVERED,
        66667,
        66667,
        3333,
    )
    assert s.fully_recovered
    assert (Figure.CREDIT, 3333, None) in s.figures()
    refunded = loan_standing(
        S.WRITTEN_OFF,
        ON,
        lines(33333, 0, 0),
        written_off_on=off,
        recovered=70_000,
        refunded=3333,
    )
    assert (refunded.recovered, refunded.credit) == (66667, 0)
    assert all(f is not Figure.CREDIT for f, _, _ in refunded.figures())
