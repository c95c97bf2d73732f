"""The accountant's exports and the report's 12-month history, on both engines."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from ledger.domain.errors import PermissionDenied, ValidationError
from ledger.domain.statuses import LoanStatus
from ledger.services import loans, reports
from ledger.services.journal import balance
from ledger.services.reports import JOURNAL_COLUMNS, TRIAL_BALANCE_COLUMNS
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loans import eur, loan_in


@pytest.fixture
def fund(funded: UnitOfWork, clock: Clock) -> tuple[UnitOfWork, str]:
    """Capital on 1 March, a 1,700.00 loan paid out on 15 March, a donation and a repayment in
    April, and a bank charge on 1 May."""
    loan = loan_in(funded, LoanStatus.ACTIVE)
    clock.advance(days=30)  # 14 April
    book(funded, TREASURER, "2026-04-02 donation 250.00 EUR Dr 1000 Cr 4000 ; =1+1 from a parish")
    loans.record_payment(
        funded, TREASURER, loan.id, eur("70.83"), on=date(2026, 4, 3), idempotency_key="pay-1"
    )
    clock.advance(days=20)  # 4 May
    book(funded, TREASURER, "2026-05-01 bank_charge 3.10 EUR Dr 6100 Cr 1000 ; fees")
    return funded, loan.id


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def journal(uow: UnitOfWork, start: str, end: str) -> str:
    chunks = reports.journal_csv(uow, AUDITOR, date.fromisoformat(start), date.fromisoformat(end))
    return "".join(chunks)


def test_the_journal_of_a_month_lists_exactly_its_legs(fund: tuple[UnitOfWork, str]) -> None:
    uow, loan_id = fund
    text = journal(uow, "2026-04-01", "2026-04-30")
    assert text.splitlines()[0].split(",") == list(JOURNAL_COLUMNS)
    rows = rows_of(text)
    assert {r["booking_date"] for r in rows} == {"2026-04-02", "2026-04-03"}
    assert sorted(r["kind"] for r in rows) == ["donation", "donation", "repayment", "repayment"]
    assert len({r["entry_id"] for r in rows}) == 2
    payment = [r for r in rows if r["kind"] == "repayment"]
    assert {r["loan_id"] for r in payment} == {loan_id}
    assert {r["debit"] for r in payment} == {"70.83", ""}
    assert {r["credit"] for r in payment} == {"70.83", ""}
    bank = next(r for r in payment if r["account_code"] == "1000")
    assert (bank["debit"], bank["credit"], bank["account_name"]) == (
        "70.83",
        "",
        "Bank: current account",
    )
    assert all(len(r["entry_hash"]) == 64 for r in rows)
    # March holds the capital and the payout, nothing of April
    march = rows_of(journal(uow, "2026-03-01", "2026-03-31"))
    assert sorted({r["kind"] for r in march}) == ["capital", "disbursement"]
    assert len(march) == 4


def test_debits_equal_credits_and_each_leg_has_one_side(fund: tuple[UnitOfWork, str]) -> None:
    uow, _ = fund
    rows = rows_of(journal(uow, "2026-01-01", "2026-12-31"))
    assert len(rows) == 10
    debit = sum(Decimal(r["debit"]) for r in rows if r["debit"])
    credit = sum(Decimal(r["credit"]) for r in rows if r["credit"])
    amounts = ("10000.00", "1700.00", "250.00", "70.83", "3.10")
    assert debit == credit == sum(Decimal(a) for a in amounts)
    assert all(bool(r["debit"]) != bool(r["credit"]) for r in rows)


def test_a_description_that_looks_like_a_formula_is_kept_as_text(
    fund: tuple[UnitOfWork, str],
) -> None:
    uow, _ = fund
    donation = rows_of(journal(uow, "2026-04-02", "2026-04-02"))
    assert {r["description"] for r in donation} == {"'=1+1 from a parish"}


def test_the_journal_streams_in_chunks_on_a_long_period(
    fund: tuple[UnitOfWork, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uow, _ = fund
    monkeypatch.setattr(reports, "CHUNK_ROWS", 3)
    chunks = list(reports.journal_csv(uow, AUDITOR, date(2026, 1, 1), date(2026, 12, 31)))
    assert len(chunks) == 1 + 4  # the header, then 10 rows by 3
    assert len(rows_of("".join(chunks))) == 10


def test_the_trial_balance_export_balances_per_currency(fund: tuple[UnitOfWork, str]) -> None:
    uow, _ = fund
    text = reports.trial_balance_csv(uow, TREASURER, date(2026, 4, 30))
    assert text.splitlines()[0].split(",") == list(TRIAL_BALANCE_COLUMNS)
    rows = rows_of(text)
    by_code = {r["account_code"]: r for r in rows if r["account_code"]}
    # 10,000.00 - 1,700.00 + 250.00 + 70.83; the bank charge of 1 May is later
    assert (by_code["1000"]["debit"], by_code["1000"]["credit"]) == ("8620.83", "")
    assert (by_code["3000"]["debit"], by_code["3000"]["credit"]) == ("", "10000.00")
    assert by_code["3000"]["account_type"] == "equity"
    assert "6100" not in by_code or by_code["6100"]["debit"] in ("", "0.00")
    (total,) = [r for r in rows if not r["account_code"]]
    assert total["currency"] == "EUR"
    assert total["debit"] == total["credit"] == "10250.00"
    assert sum(Decimal(r["debit"] or 0) for r in by_code.values()) == Decimal(total["debit"])
    assert sum(Decimal(r["credit"] or 0) for r in by_code.values()) == Decimal(total["credit"])


def test_exports_need_the_right_to_read_the_ledger(fund: tuple[UnitOfWork, str]) -> None:
    uow, _ = fund
    with pytest.raises(PermissionDenied):
        reports.journal_csv(uow, CASEWORKER, date(2026, 4, 1), date(2026, 4, 30))
    with pytest.raises(PermissionDenied):
        reports.trial_balance_csv(uow, CASEWORKER, date(2026, 4, 30))
    assert rows_of(reports.trial_balance_csv(uow, ADMIN, date(2026, 4, 30)))
    with pytest.raises(ValidationError, match="after"):
        reports.journal_csv(uow, AUDITOR, date(2026, 4, 30), date(2026, 4, 1))


def test_history_gives_cash_and_loans_outstanding_at_the_fund_s_month_ends(
    fund: tuple[UnitOfWork, str],
) -> None:
    """The last 12 month ends, from the fund's first (its capital of 1 March): none before
    it existed. May runs (it is 4 May): its figures are as of today."""
    uow, _ = fund
    with uow:
        (h,) = reports.history(uow, "2026-05")
    assert h.currency == "EUR"
    assert h.month_ends == (date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 4))
    assert h.cash_minor == (830_000, 862_083, 861_773)
    assert h.loans_minor == (170_000, 162_917, 162_917)
    # the same figures as the ledger's own balance as of each month end
    for end, cash, loans_out in zip(h.month_ends, h.cash_minor, h.loans_minor, strict=True):
        assert balance(uow, AUDITOR, "1000", end).amount == Decimal(cash) / 100
        assert balance(uow, AUDITOR, "1200", end).amount == Decimal(loans_out) / 100
