"""The entries each loan event books (``ledger.domain.postings``): exact legs, no database.

A leg is (account, minor units): positive a debit, negative a credit.
"""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain import postings
from ledger.domain.errors import ValidationError
from ledger.domain.journal import EntryDraft
from ledger.domain.money import money
from ledger.domain.statuses import EntryKind

LOAN = "1100-00042"
BANK, CREDIT, RECOVERIES, LOSSES = "1000", "2100", "4200", "6100"
ON = date(2026, 3, 31)


def legs(draft: EntryDraft) -> list[tuple[str, int]]:
    return [(leg.account_code, leg.minor) for leg in draft.legs]


def test_disbursement_debits_the_loan_and_credits_the_bank() -> None:
    d = postings.disbursement(
        "L-42", ON, loan=LOAN, bank=BANK, amount=money("1500.00", "EUR"), idempotency_key="k1"
    )
    assert legs(d) == [(LOAN, 150_000), (BANK, -150_000)]
    assert d.kind is EntryKind.DISBURSEMENT and d.booking_date == ON
    assert d.description == "Rental deposit paid out for loan L-42"
    assert (d.loan_id, d.idempotency_key, d.statement_line_id) == ("L-42", "k1", None)


def test_repayment_splits_between_the_loan_and_the_credit() -> None:
    d = postings.repayment(
        "L-42",
        ON,
        bank=BANK,
        loan=LOAN,
        credit=CREDIT,
        to_loan=money("100.00", "EUR"),
        to_credit=money("25.50", "EUR"),
        statement_line_id="s-7",
        idempotency_key="k2",
    )
    assert legs(d) == [(BANK, 12_550), (LOAN, -10_000), (CREDIT, -2_550)]
    assert d.kind is EntryKind.REPAYMENT and d.description == "Repayment of loan L-42"
    assert (d.statement_line_id, d.idempotency_key) == ("s-7", "k2")


def test_repayment_leaves_out_a_zero_part() -> None:
    zero = money("0.00", "EUR")
    all_to_loan = postings.repayment(
        "L-42", ON, bank=BANK, loan=LOAN, credit=CREDIT, to_loan=money("80", "EUR"), to_credit=zero
    )
    assert legs(all_to_loan) == [(BANK, 8_000), (LOAN, -8_000)]
    all_credit = postings.repayment(
        "L-42", ON, bank=BANK, loan=LOAN, credit=CREDIT, to_loan=zero, to_credit=money("5", "EUR")
    )
    assert legs(all_credit) == [(BANK, 500), (CREDIT, -500)]


def test_a_deposit_release_is_booked_as_a_repayment_of_its_own_kind() -> None:
    d = postings.repayment(
        "L-42",
        ON,
        bank=BANK,
        loan=LOAN,
        credit=CREDIT,
        to_loan=money("900.00", "EUR"),
        to_credit=money("100.00", "EUR"),
        release=True,
    )
    assert legs(d) == [(BANK, 100_000), (LOAN, -90_000), (CREDIT, -10_000)]
    assert d.kind is EntryKind.DEPOSIT_RELEASE
    assert d.description == "Deposit released for loan L-42"


def test_recovery_on_a_written_off_loan() -> None:
    d = postings.recovery(
        "L-42",
        ON,
        bank=BANK,
        recoveries=RECOVERIES,
        amount=money("40.00", "EUR"),
        idempotency_key="k",
    )
    assert legs(d) == [(BANK, 4_000), (RECOVERIES, -4_000)]
    assert d.kind is EntryKind.RECOVERY
    assert d.description == "Recovery on written-off loan L-42"


def test_refund_of_a_credit_balance() -> None:
    d = postings.refund(
        "L-42", ON, credit=CREDIT, bank=BANK, amount=money("12.34", "EUR"), idempotency_key="k"
    )
    assert legs(d) == [(CREDIT, 1_234), (BANK, -1_234)]
    assert d.kind is EntryKind.REFUND
    assert d.description == "Credit balance of loan L-42 refunded"


def test_write_off_of_what_the_loan_holds() -> None:
    d = postings.write_off(
        "L-42",
        ON,
        write_off_id=7,
        losses=LOSSES,
        loan=LOAN,
        credit=CREDIT,
        outstanding=money("1000.00", "EUR"),
        debt=money("0.00", "EUR"),
        idempotency_key="k",
    )
    assert legs(d) == [(LOSSES, 100_000), (LOAN, -100_000)]
    assert d.kind is EntryKind.WRITE_OFF
    assert d.description == "Loan L-42 written off (write-off #7)"


def test_write_off_takes_a_refunded_debt_with_it() -> None:
    d = postings.write_off(
        "L-42",
        ON,
        write_off_id=7,
        losses=LOSSES,
        loan=LOAN,
        credit=CREDIT,
        outstanding=money("1000.00", "EUR"),
        debt=money("30.00", "EUR"),
        idempotency_key="k",
    )
    assert legs(d) == [(LOSSES, 103_000), (LOAN, -100_000), (CREDIT, -3_000)]


def test_money_before_a_write_off_and_recoveries_beyond_it() -> None:
    """Issue 16: the entries that keep a written-off loan's money where it belongs."""
    m = money("250.00", "EUR")
    shrink = postings.write_off_reduced("L-42", ON, losses=LOSSES, loan=LOAN, amount=m)
    assert legs(shrink) == [(LOAN, 25_000), (LOSSES, -25_000)]
    assert shrink.kind is EntryKind.WRITE_OFF and shrink.loan_id == "L-42"
    back = postings.recovery_owed_back("L-42", ON, recoveries=RECOVERIES, credit=CREDIT, amount=m)
    assert legs(back) == [(RECOVERIES, 25_000), (CREDIT, -25_000)]
    undo = postings.recovery_not_owed_back(
        "L-42", ON, recoveries=RECOVERIES, credit=CREDIT, amount=m
    )
    assert legs(undo) == [(CREDIT, 25_000), (RECOVERIES, -25_000)]
    split = postings.recovery(
        "L-42",
        ON,
        bank=BANK,
        recoveries=RECOVERIES,
        amount=money("200.00", "EUR"),
        credit=CREDIT,
        to_credit=money("50.00", "EUR"),
    )
    assert legs(split) == [(BANK, 25_000), (RECOVERIES, -20_000), (CREDIT, -5_000)]


@pytest.mark.parametrize(
    ("from_credit", "expected"),
    [(True, [(CREDIT, 6_000), (LOAN, -6_000)]), (False, [(LOAN, 6_000), (CREDIT, -6_000)])],
)
def test_reallocation_moves_money_between_the_credit_and_the_loan(
    from_credit: bool, expected: list[tuple[str, int]]
) -> None:
    d = postings.reallocation(
        "L-42", ON, loan=LOAN, credit=CREDIT, amount=money("60.00", "EUR"), from_credit=from_credit
    )
    assert legs(d) == expected
    assert d.kind is EntryKind.REALLOCATION
    assert d.description == "Loan L-42: payments reallocated"


def test_minor_units_follow_the_currency() -> None:
    d = postings.disbursement(
        "L-1", ON, loan=LOAN, bank=BANK, amount=money("150000", "JPY"), idempotency_key="k"
    )
    assert legs(d) == [(LOAN, 150_000), (BANK, -150_000)]


def test_nothing_to_book_is_refused() -> None:
    with pytest.raises(ValidationError):
        postings.refund(
            "L-42", ON, credit=CREDIT, bank=BANK, amount=money("0.00", "EUR"), idempotency_key="k"
        )
