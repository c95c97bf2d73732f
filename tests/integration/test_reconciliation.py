"""The monthly reconciliation and the month-close gate, on SQLite and PostgreSQL.

Each fund is small enough to reconcile by hand: the figures below are worked out in the
comments, not read back from the code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ledger.bank.writers import camt053
from ledger.domain.accounts import AccountRole, AccountSpec, AccountType
from ledger.domain.errors import NotReconciled, PermissionDenied, ValidationError
from ledger.domain.money import money
from ledger.domain.reconciliation import MonthReconciliation
from ledger.domain.roles import Actor
from ledger.domain.statements import Statement, end_to_end_id
from ledger.domain.statuses import EntryKind
from ledger.services import journal, loans
from ledger.services.periods import list_periods
from ledger.services.reconciliation import reconcile
from ledger.services.statements import book_line
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.periods import SIGNER, close_month
from tests.support.queries import counts
from tests.support.statements import entry, paid_out_loan, run_import, statement

CAPITAL = 1_000_000  # 10,000.00 booked by hand on 2026-03-01 (the `funded` fixture)


@pytest.fixture
def april(funded: UnitOfWork, clock: Clock) -> UnitOfWork:
    """The fund of `funded`, on 2026-04-03: March has ended and can be closed."""
    clock.now = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)
    return funded


def march(*lines: object, opening: int = CAPITAL, end: str = "2026-03-31") -> Statement:
    """March's statement: it opens with the capital the ledger booked on 2026-03-01."""
    return statement("2026-03", opening, list(lines), start="2026-03-01", end=end)  # type: ignore[arg-type]


def one(uow: UnitOfWork, month: str, actor: Actor = TREASURER) -> MonthReconciliation:
    [rec] = reconcile(uow, actor, month)
    return rec


def test_a_statement_that_matches_the_ledger_exactly_reconciles(april: UnitOfWork) -> None:
    # The donation was booked by hand before the statement came (the import links its line);
    # the bank's fee is booked by the import. Ledger and bank: 10,000 + 350 - 7.50.
    book(april, TREASURER, "2026-03-10 donation 350.00 Dr 1000 Cr 4000 ; parish")
    run_import(
        april,
        camt053(
            [
                march(
                    entry("2026-03-11", "350.00", ref="D1", remittance="gift"),
                    entry("2026-03-31", "7.50", "debit", ref="F1", bank_code="ACMT/MDOP/CHRG"),
                )
            ]
        ),
    )
    rec = one(april, "2026-03")
    [bank] = rec.banks
    assert (bank.iban, bank.account_code, bank.currency) == ("BE71096123456769", "1000", "EUR")
    assert (bank.ledger_minor, bank.bank_minor) == (1_034_250, 1_034_250)
    assert bank.statement_date == date(2026, 3, 31)
    assert (bank.in_transit, bank.unmatched) == ((), ())
    # The capital booked on the day the statement opens is what its opening balance says.
    assert (bank.opening_minor, bank.opening_date, bank.before_opening_minor) == (
        CAPITAL,
        date(2026, 3, 1),
        CAPITAL,
    )
    assert bank.difference == bank.unexplained == 0 and bank.reconciled
    assert rec.reconciled and rec.notes == ()

    event = close_month(april, TREASURER, "2026-03")
    assert event.actor == SIGNER.name and event.reason is None
    assert event.balances is not None
    summary = event.balances["reconciliation"]
    assert summary["reconciled"] is True and summary["override"] is False
    assert summary["signed_off_by"] == SIGNER.name
    assert summary["requested_by"] == TREASURER.name
    assert summary["currencies"]["EUR"]["banks"] == [
        {
            "account": "1000",
            "iban": "BE71096123456769",
            "ledger": 1_034_250,
            "bank": 1_034_250,
            "statement_date": "2026-03-31",
            "difference": 0,
            "in_transit": 0,
            "in_transit_items": 0,
            "unmatched": 0,
            "unmatched_lines": 0,
            "unexplained": 0,
            "reconciled": True,
        }
    ]
    assert event.balances["accounts"]["1000"] == 1_034_250  # the asserted balances, as before
    assert one(april, "2026-03").closed


def test_a_payout_booked_on_the_31st_and_executed_on_the_2nd_is_in_transit(
    april: UnitOfWork, clock: Clock
) -> None:
    loan = paid_out_loan(april, on=date(2026, 3, 31))
    run_import(april, camt053([march(entry("2026-03-20", "25.00", ref="G1"))]))
    rec = one(april, "2026-03")
    [bank] = rec.banks
    # Ledger: 10,000 + 25 (unidentified) - 1,700; bank: 10,000 + 25.
    assert (bank.ledger_minor, bank.bank_minor) == (830_000 + 2_500, 1_002_500)
    [item] = bank.in_transit
    assert (item.entry_id, item.booking_date, item.kind, item.amount_minor) == (
        loan.disbursement_entry_id,
        date(2026, 3, 31),
        "disbursement",
        -170_000,
    )
    assert bank.difference == -170_000 and bank.explained == -170_000
    assert bank.unexplained == 0 and bank.reconciled and rec.reconciled
    assert (
        close_month(april, TREASURER, "2026-03").balances["reconciliation"]["currencies"][  # type: ignore[index]
            "EUR"
        ]["banks"][0]["in_transit"]
        == -170_000
    )

    # April's statement brings the payout on the 2nd: nothing is in transit any more. (Read
    # once April is over: while it runs, its figures are as of today, before that statement.)
    clock.now = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    run_import(
        april,
        camt053(
            [
                statement(
                    "2026-04",
                    1_002_500,
                    [
                        entry(
                            "2026-04-02",
                            "1700.00",
                            "debit",
                            ref="P1",
                            end_to_end_id=end_to_end_id(loan.disbursement_entry_id or 0),
                        )
                    ],
                    start="2026-04-01",
                    end="2026-04-30",
                )
            ]
        ),
    )
    [bank] = one(april, "2026-04").banks
    assert bank.in_transit == () and bank.ledger_minor == bank.bank_minor == 832_500
    # March, reconciled again later, still has the payout in transit: the line is April's.
    assert [t.entry_id for t in one(april, "2026-03").banks[0].in_transit] == [
        loan.disbursement_entry_id
    ]


def test_an_entry_and_its_reversal_in_the_month_cancel_out(april: UnitOfWork) -> None:
    [gift] = book(april, TREASURER, "2026-03-12 donation 40.00 Dr 1000 Cr 4000 ; booked twice")
    journal.reverse_entry(april, TREASURER, gift.id, booking_date=date(2026, 3, 13))
    run_import(april, camt053([march(entry("2026-03-20", "7.50", "debit", ref="F1",
                                           bank_code="ACMT/MDOP/CHRG"))]))  # fmt: skip
    rec = one(april, "2026-03")
    assert rec.banks[0].in_transit == () and rec.reconciled
    assert {m.kind: (m.count, m.total_minor) for m in rec.movements}["reversals"] == (1, 4_000)


def test_an_unmatched_bank_debit_blocks_the_close_until_booked_or_overruled(
    april: UnitOfWork,
) -> None:
    run_import(
        april,
        camt053([march(entry("2026-03-18", "50.00", "debit", ref="X1", remittance="CARD 4411"))]),
    )
    rec = one(april, "2026-03")
    [bank] = rec.banks
    [line] = bank.unmatched
    assert (line.booking_date, line.amount_minor, line.text) == (
        date(2026, 3, 18),
        -5_000,
        "CARD 4411",
    )
    # Ledger 10,000.00, bank 9,950.00: the difference is the line, which nothing explains.
    assert bank.difference == 5_000 and bank.explained == 5_000 and bank.unexplained == 0
    assert not bank.reconciled and not rec.reconciled
    assert any("1 statement line of BE71096123456769 unmatched (-50.00 EUR" in n for n in rec.notes)

    before = counts(april)
    for actor, reason in ((TREASURER, None), (TREASURER, "I checked it"), (ADMIN, None)):
        with pytest.raises(NotReconciled, match=r"2026-03 does not reconcile") as err:
            close_month(april, actor, "2026-03", reason)
        assert "-50.00 EUR" in err.value.detail and "fundledger statement link" in err.value.detail
        assert err.value.field == ("reason" if actor is ADMIN else "month")
    assert counts(april) == before
    assert list_periods(april, AUDITOR)[0] == frozenset()

    event = close_month(april, ADMIN, "2026-03", "  Card payment disputed with the bank  ")
    assert event.reason == "Card payment disputed with the bank"
    assert event.balances is not None
    summary = event.balances["reconciliation"]
    assert summary["reconciled"] is False and summary["override"] is True
    assert (summary["signed_off_by"], summary["requested_by"]) == (SIGNER.name, ADMIN.name)
    assert summary["currencies"]["EUR"]["banks"][0]["unmatched"] == -5_000
    with april:
        [record] = april.audit.page(actor=SIGNER.name, action="close_month", limit=1, offset=0)[0]
    assert record.details == {
        "reconciled": False,
        "reason": "Card payment disputed with the bank",
        "requested_by": ADMIN.name,
    }


def test_booking_the_unmatched_line_lets_the_treasurer_close(april: UnitOfWork) -> None:
    result = run_import(april, camt053([march(entry("2026-03-18", "50.00", "debit", ref="X1"))]))
    [line] = one(april, "2026-03").banks[0].unmatched
    assert result.statements[0].states == {"unmatched": 1}
    book_line(april, TREASURER, line.line_id, "6100", EntryKind.BANK_CHARGE, reason="card fee")
    rec = one(april, "2026-03")
    assert rec.reconciled and rec.banks[0].ledger_minor == rec.banks[0].bank_minor == 995_000
    assert close_month(april, TREASURER, "2026-03").month == "2026-03"


def test_no_statement_means_not_reconciled_unless_nothing_happened(
    chart: UnitOfWork, clock: Clock
) -> None:
    clock.now = datetime(2026, 4, 3, tzinfo=UTC)
    rec = one(chart, "2026-02")
    [bank] = rec.banks
    assert (bank.iban, bank.ledger_minor, bank.bank_minor, bank.in_transit) == ("", 0, None, ())
    assert rec.reconciled and rec.notes == ()
    assert close_month(chart, TREASURER, "2026-02").balances["reconciliation"]["reconciled"]  # type: ignore[index]

    book(chart, TREASURER, "2026-03-01 capital 100.00 Dr 1000 Cr 3000")
    rec = one(chart, "2026-03")
    assert not rec.reconciled
    assert [t.amount_minor for t in rec.banks[0].in_transit] == [10_000]
    assert rec.notes[0].startswith("No statement of ledger account 1000 imported up to 2026-03-31")
    with pytest.raises(NotReconciled, match="No statement"):
        close_month(chart, TREASURER, "2026-03")


def test_an_opening_balance_the_ledger_does_not_hold_stays_unexplained(
    april: UnitOfWork,
) -> None:
    run_import(april, camt053([march(entry("2026-03-20", "5.00", ref="G1"), opening=900_000)]))
    rec = one(april, "2026-03")
    [bank] = rec.banks
    assert (bank.before_opening_minor, bank.opening_minor, bank.opening_difference) == (
        CAPITAL,
        900_000,
        100_000,
    )
    assert bank.unexplained == 100_000 and not rec.reconciled
    assert any("opens with 9,000.00 EUR on 2026-03-01" in n for n in rec.notes)


def test_a_statement_that_ends_before_the_month_counts_the_rest_as_in_transit(
    april: UnitOfWork,
) -> None:
    book(april, TREASURER, "2026-03-25 donation 30.00 Dr 1000 Cr 4000")
    run_import(april, camt053([march(entry("2026-03-05", "5.00", ref="G1"), end="2026-03-14")]))
    rec = one(april, "2026-03")
    [bank] = rec.banks
    assert bank.statement_date == date(2026, 3, 14)
    assert [(t.kind, t.amount_minor) for t in bank.in_transit] == [("donation", 3_000)]
    assert rec.reconciled
    assert any("ends on 2026-03-14" in n for n in rec.notes)


def test_unidentified_receipts_are_aged_at_month_end(chart: UnitOfWork, clock: Clock) -> None:
    clock.now = datetime(2026, 4, 3, tzinfo=UTC)
    lines = [
        entry("2025-12-01", "10.00", ref="U1"),  # 120 days before 31 March
        entry("2026-01-10", "20.00", ref="U2"),  # 80 days
        entry("2026-02-20", "30.00", ref="U3"),  # 39 days
        entry("2026-03-25", "40.00", ref="U4"),  # 6 days
        entry("2026-04-01", "50.00", ref="U5"),  # after the month
    ]
    run_import(
        chart,
        camt053([statement("S", 0, lines, start="2025-12-01", end="2026-04-01")]),
        account_code="1000",
    )
    rec = one(chart, "2026-03")
    assert [(u.booking_date.isoformat(), u.amount_minor, u.age) for u in rec.unidentified] == [
        ("2025-12-01", 1_000, ">90"),
        ("2026-01-10", 2_000, "61-90"),
        ("2026-02-20", 3_000, "31-60"),
        ("2026-03-25", 4_000, "0-30"),
    ]
    assert rec.unidentified_by_age == {
        "0-30": (1, 4_000),
        "31-60": (1, 3_000),
        "61-90": (1, 2_000),
        ">90": (1, 1_000),
    }
    assert rec.position.liabilities_minor == 10_000  # all of it in 2200 on 31 March
    assert any(
        "4 unidentified receipts (100.00 EUR) wait to be matched, 3 of them for more than 30 days"
        in n
        for n in rec.notes
    )
    # The statement closes after the month: March has no statement of its own.
    assert rec.banks[0].bank_minor is None and not rec.reconciled
    [january] = reconcile(chart, TREASURER, "2026-01")
    assert [(u.amount_minor, u.age) for u in january.unidentified] == [
        (1_000, "61-90"),
        (2_000, "0-30"),
    ]


def test_position_and_movements_of_a_small_fund(april: UnitOfWork, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # the loans are approved in March
    book(
        april,
        TREASURER,
        """
        2026-03-05 donation 350.00 Dr 1000 Cr 4000
        2026-03-06 bank_charge 7.50 Dr 6100 Cr 1000
        2026-03-25 donation 20.00 Dr 1000 Cr 4000 ; booked twice
        """,
    )
    loan = paid_out_loan(april, on=date(2026, 3, 10))
    loans.record_payment(
        april,
        TREASURER,
        loan.id,
        money("70.83", "EUR"),
        on=date(2026, 3, 20),
        idempotency_key="pay-1",
    )
    journal.reverse_entry(april, TREASURER, 4, booking_date=date(2026, 3, 26))
    promised = paid_out_loan(april, deposit="1200.00", key="second", disburse=False)
    clock.now = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)
    book(april, TREASURER, "2026-04-01 donation 99.00 Dr 1000 Cr 4000 ; April")
    late = paid_out_loan(april, deposit="1000.00", key="third", disburse=False)

    rec = one(april, "2026-03")
    # Cash: 10,000 + 350 - 7.50 + 20 - 20 - 1,700 + 70.83 = 8,713.33.
    # Capital: 10,000 of capital + 350 of donations - 7.50 of charges = 10,342.50.
    # Loans: 1,700 - 70.83 = 1,629.17; promised: 1,200 (approved, not paid out).
    # Available: 8,713.33 - 1,200 - 1,000 (the reserve) = 6,513.33.
    p = rec.position
    assert (p.cash_minor, p.capital_minor, p.loans_outstanding_minor) == (
        871_333,
        1_034_250,
        162_917,
    )
    assert (p.approved_not_disbursed_minor, p.reserve_minor, p.liabilities_minor) == (
        120_000,
        100_000,
        0,
    )
    assert p.available_to_lend_minor == 651_333
    assert p.cash_minor + p.loans_outstanding_minor == p.capital_minor + p.liabilities_minor
    assert (rec.sub_ledger.control_minor, rec.sub_ledger.loans_minor) == (162_917, 162_917)
    assert [(m.kind, m.count, m.total_minor) for m in rec.movements] == [
        ("new_loans", 1, 170_000),
        ("repayments", 1, 7_083),
        ("donations", 2, 37_000),
        ("charges", 1, 750),
        ("reversals", 1, 2_000),
        ("other", 1, CAPITAL),  # the capital
    ]
    # The payment of 20 March paid the installment due on 1 March: nothing is late.
    a = rec.aging
    assert (a.loans, a.outstanding_minor, a.par30_minor) == (1, 162_917, 0)
    assert a.buckets["current"] == (1, 162_917) and a.par30_ratio == 0
    assert promised.status.value == "contract_signed"

    # A month later the installment due on 1 April is 30 days late: still not PAR30.
    [later] = reconcile(april, AUDITOR, "2026-04")
    assert later.aging.buckets["1-30"] == (1, 162_917) and later.aging.par30_minor == 0
    # Approved on 3 April: not promised at the end of March, promised at the end of April.
    assert later.position.approved_not_disbursed_minor == 120_000 + 100_000
    assert late.status.value == "contract_signed"
    assert [(m.kind, m.count) for m in later.movements] == [("donations", 1)]


def test_a_second_currency_is_reconciled_on_its_own(chart: UnitOfWork) -> None:
    chf = AccountSpec("1010", "Bank CHF", AccountType.ASSET, "CHF", AccountRole.BANK)
    journal.open_account(chart, TREASURER, chf)
    recs = reconcile(chart, TREASURER, "2026-02")
    assert [(r.currency, [b.account_code for b in r.banks]) for r in recs] == [
        ("CHF", ["1010"]),
        ("EUR", ["1000"]),
    ]
    assert all(r.reconciled for r in recs)


def test_who_may_reconcile_and_bad_months(funded: UnitOfWork) -> None:
    for actor in (TREASURER, ADMIN, AUDITOR):
        assert reconcile(funded, actor, "2026-03")
    with pytest.raises(PermissionDenied):
        reconcile(funded, CASEWORKER, "2026-03")
    for month in ("2026-13", "abc", "2026-3", ""):
        with pytest.raises(ValidationError) as err:
            reconcile(funded, TREASURER, month)
        assert err.value.field == "month"


def test_reading_the_reconciliation_writes_nothing(april: UnitOfWork) -> None:
    before = counts(april)
    reconcile(april, AUDITOR, "2026-03")
    assert counts(april) == before
