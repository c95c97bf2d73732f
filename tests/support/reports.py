"""Monthly report values built by hand, as ``ledger.services.reconciliation`` returns them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ledger.documents.model import FundInfo
from ledger.documents.report import History, MonthlyReportData, SignOff
from ledger.domain.reconciliation import (
    Aging,
    BankReconciliation,
    FundPosition,
    InTransit,
    MonthReconciliation,
    Movement,
    Note,
    OpenLine,
    SubLedgerCheck,
    UnidentifiedReceipt,
)
from ledger.services.reconciliation import note_text
from ledger.services.reports import month_ends

FUND = FundInfo(
    name="Fonds de garanties locatives",
    address_lines=("Rue de l'Exemple 1",),
    iban="BE71096123456769",
    creditor_name="Fonds de garanties locatives",
    phone="+32 2 000 00 00",
    email="fund@example.org",
    city="Bruxelles",
    postcode="1000",
)

#: The note ``reconciliation`` gives: one receipt of 45.00 waits, for more than 30 days.
UNIDENTIFIED = Note.of("unidentified", "EUR", count=1, total_minor=4_500, old=1, days=30)


def reconciliation(*, unmatched: bool = False, month: str = "2026-05") -> MonthReconciliation:
    bank = BankReconciliation(
        iban="BE71096123456769",
        account_code="1000",
        currency="EUR",
        ledger_minor=812_345,
        bank_minor=842_345 + (1_999 if unmatched else 0),
        statement_date=date(2026, 5, 29),
        in_transit=(
            InTransit(41, date(2026, 5, 31), "disbursement", "Payout of loan L000007", -30_000),
        ),
        unmatched=(
            (OpenLine(77, date(2026, 5, 20), 1_999, "Jane Payer rent May"),) if unmatched else ()
        ),
        opening_minor=1_000_000,
        opening_date=date(2026, 1, 2),
        before_opening_minor=1_000_000,
    )
    return MonthReconciliation(
        month=month,
        month_end=date(2026, 5, 31),
        currency="EUR",
        banks=(bank,),
        sub_ledger=SubLedgerCheck("EUR", 456_789, 456_789),
        unidentified=(UnidentifiedReceipt(12, date(2026, 3, 2), 4_500, "61-90", "L000003"),),
        aging=Aging(
            loans=5,
            outstanding_minor=456_789,
            buckets={
                "current": (3, 300_000),
                "1-30": (1, 100_000),
                "31-60": (1, 56_789),
                "61-90": (0, 0),
                "91-180": (0, 0),
                "181-360": (0, 0),
                ">360": (0, 0),
            },
            par30_minor=56_789,
        ),
        position=FundPosition(
            currency="EUR",
            capital_minor=1_250_000,
            cash_minor=812_345,
            loans_outstanding_minor=456_789,
            approved_not_disbursed_minor=120_000,
            reserve_minor=100_000,
            liabilities_minor=4_500,
        ),
        movements=(Movement("new_loans", 2, 240_000), Movement("repayments", 17, 61_234)),
        closed=False,
        to_do=(UNIDENTIFIED,),
        notes=(note_text(UNIDENTIFIED),),
    )


def report(*, closed: bool = True, unmatched: bool = False) -> MonthlyReportData:
    ends = tuple(month_ends("2026-05"))
    return MonthlyReportData(
        fund=FUND,
        month="2026-05",
        month_end=date(2026, 5, 31),
        generated_at=datetime(2026, 6, 3, 9, 30, tzinfo=UTC),
        reconciliations=(reconciliation(unmatched=unmatched),),
        history=(
            History(
                "EUR",
                ends,
                tuple(1_000_000 - 15_000 * i for i in range(12)),
                tuple(10_000 * i * i for i in range(12)),
            ),
        ),
        sign_off=SignOff("tina.treasurer", datetime(2026, 6, 2, 16, 5, tzinfo=UTC))
        if closed
        else None,
    )
