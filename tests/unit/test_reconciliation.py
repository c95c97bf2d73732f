"""The reconciliation's values: what reconciles, what is explained, what the fund may lend."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ledger.domain.reconciliation import (
    MOVEMENT_KINDS,
    RECEIPT_AGES,
    Aging,
    BankReconciliation,
    FundPosition,
    InTransit,
    MonthReconciliation,
    OpenLine,
    SubLedgerCheck,
    UnidentifiedReceipt,
    movement_kind,
    receipt_age,
)
from ledger.domain.statuses import EntryKind

DAY = date(2026, 3, 31)
PAYOUT = InTransit(41, DAY, "disbursement", "Payout of loan L000007", -170_000)
CARD = OpenLine(77, date(2026, 3, 18), -5_000, "CARD 4411")


def bank(**changes: object) -> BankReconciliation:
    """10,000.00 at the bank and in the ledger on 31 March."""
    base = BankReconciliation(
        iban="BE71096123456769",
        account_code="1000",
        currency="EUR",
        ledger_minor=1_000_000,
        bank_minor=1_000_000,
        statement_date=DAY,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_same_balance_on_both_sides_reconciles() -> None:
    b = bank()
    assert (b.difference, b.explained, b.unexplained) == (0, 0, 0)
    assert b.reconciled


def test_a_payout_not_yet_at_the_bank_explains_the_difference() -> None:
    b = bank(ledger_minor=830_000, in_transit=(PAYOUT,))
    assert (b.difference, b.explained, b.unexplained) == (-170_000, -170_000, 0)
    assert b.reconciled


def test_an_unmatched_line_explains_the_difference_but_blocks_the_close() -> None:
    b = bank(bank_minor=995_000, unmatched=(CARD,))
    assert (b.difference, b.explained, b.unexplained) == (5_000, 5_000, 0)
    assert not b.reconciled


def test_a_difference_nothing_explains_does_not_reconcile() -> None:
    b = bank(ledger_minor=1_000_100)
    assert (b.difference, b.unexplained) == (100, 100)
    assert not b.reconciled
    # An item in transit of the wrong amount leaves the rest unexplained.
    b = bank(ledger_minor=830_000, in_transit=(replace(PAYOUT, amount_minor=-160_000),))
    assert b.unexplained == -10_000 and not b.reconciled


def test_without_a_statement_only_an_untouched_account_reconciles() -> None:
    empty = bank(ledger_minor=0, bank_minor=None, statement_date=None)
    assert empty.difference == 0 and empty.reconciled
    booked = bank(
        bank_minor=None, statement_date=None, in_transit=(replace(PAYOUT, amount_minor=1_000_000),)
    )
    assert booked.difference == 1_000_000 and booked.unexplained == 0
    assert not booked.reconciled
    # Money in and out again: a zero balance, but nothing confirms it.
    both = bank(
        ledger_minor=0,
        bank_minor=None,
        statement_date=None,
        in_transit=(PAYOUT, replace(PAYOUT, entry_id=40, amount_minor=170_000)),
    )
    assert not both.reconciled


def test_the_opening_difference_is_what_the_first_statement_does_not_confirm() -> None:
    assert bank().opening_difference == 0  # no first statement recorded
    b = bank(opening_minor=1_000_000, opening_date=date(2026, 3, 1), before_opening_minor=1_000_000)
    assert b.opening_difference == 0 and b.reconciled
    short = bank(
        bank_minor=900_000,
        opening_minor=900_000,
        opening_date=date(2026, 3, 1),
        before_opening_minor=1_000_000,
    )
    assert short.opening_difference == 100_000 and short.unexplained == 100_000
    assert not short.reconciled


def test_sub_ledger_difference() -> None:
    assert SubLedgerCheck("EUR", 162_917, 162_917).difference == 0
    assert SubLedgerCheck("EUR", 162_917, 162_900).difference == 17


@pytest.mark.parametrize(
    ("days", "age"),
    [(0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"),
     (91, ">90"), (400, ">90")],
)  # fmt: skip
def test_receipt_ages(days: int, age: str) -> None:
    assert receipt_age(days) == age
    assert age in RECEIPT_AGES


def test_par30_ratio_is_exact_in_percent() -> None:
    def aging(par30: int, total: int) -> Aging:
        return Aging(loans=3, outstanding_minor=total, buckets={}, par30_minor=par30)

    assert aging(0, 0).par30_ratio == Decimal("0.00")
    assert aging(56_789, 456_789).par30_ratio == Decimal("12.43")
    assert aging(1, 3).par30_ratio == Decimal("33.33")
    assert aging(1, 8).par30_ratio == Decimal("12.50")  # exact, no rounding needed
    assert aging(1, 800).par30_ratio == Decimal("0.12")  # 0.125: half to even
    assert aging(3, 800).par30_ratio == Decimal("0.38")  # 0.375: half to even


def position(**changes: int) -> FundPosition:
    base = FundPosition(
        currency="EUR",
        capital_minor=1_034_250,
        cash_minor=871_333,
        loans_outstanding_minor=162_917,
        approved_not_disbursed_minor=120_000,
        reserve_minor=100_000,
        liabilities_minor=0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_available_to_lend_is_own_cash_less_promises_and_reserve() -> None:
    assert position().available_to_lend_minor == 871_333 - 120_000 - 100_000
    assert position(liabilities_minor=4_500).available_to_lend_minor == 646_833
    assert position(cash_minor=150_000).available_to_lend_minor == 0  # never negative


def month(**changes: object) -> MonthReconciliation:
    base = MonthReconciliation(
        month="2026-03",
        month_end=DAY,
        currency="EUR",
        banks=(bank(),),
        sub_ledger=SubLedgerCheck("EUR", 0, 0),
        unidentified=(),
        aging=Aging(0, 0, {}, 0),
        position=position(),
        movements=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_month_reconciles_when_every_bank_and_the_sub_ledger_do() -> None:
    assert month().reconciled
    assert month(banks=()).reconciled
    assert not month(banks=(bank(), bank(account_code="1010", unmatched=(CARD,)))).reconciled
    assert not month(sub_ledger=SubLedgerCheck("EUR", 100, 0)).reconciled
    # Unidentified receipts are booked (to 2200): they do not stop a month from reconciling.
    receipt = UnidentifiedReceipt(12, date(2026, 1, 2), 4_500, ">90", None)
    assert month(unidentified=(receipt,)).reconciled


def test_unidentified_receipts_by_age() -> None:
    receipts = (
        UnidentifiedReceipt(1, date(2026, 3, 30), 1_000, "0-30", None),
        UnidentifiedReceipt(2, date(2026, 3, 2), 2_000, "0-30", "L000003"),
        UnidentifiedReceipt(3, date(2025, 12, 1), 3_000, ">90", None),
    )
    assert month(unidentified=receipts).unidentified_by_age == {
        "0-30": (2, 3_000),
        "31-60": (0, 0),
        "61-90": (0, 0),
        ">90": (1, 3_000),
    }
    assert month().unidentified_by_age == dict.fromkeys(RECEIPT_AGES, (0, 0))


def test_every_entry_kind_counts_as_a_movement() -> None:
    kinds = {k: movement_kind(k) for k in EntryKind}
    assert set(kinds.values()) <= set(MOVEMENT_KINDS)
    assert kinds[EntryKind.DISBURSEMENT] == "new_loans"
    assert kinds[EntryKind.REPAYMENT] == "repayments"
    assert kinds[EntryKind.DEPOSIT_RELEASE] == "deposit_releases"
    assert kinds[EntryKind.WRITE_OFF] == "write_offs"
    assert kinds[EntryKind.RECOVERY] == "recoveries"
    assert kinds[EntryKind.DONATION] == "donations"
    assert kinds[EntryKind.BANK_CHARGE] == "charges"
    assert kinds[EntryKind.REFUND] == "refunds"
    assert kinds[EntryKind.REVERSAL] == "reversals"
    for other in (EntryKind.CAPITAL, EntryKind.TRANSFER, EntryKind.ADJUSTMENT,
                  EntryKind.UNIDENTIFIED_RECEIPT, EntryKind.REALLOCATION):  # fmt: skip
        assert kinds[other] == "other"
    assert movement_kind("something new") == "other"
