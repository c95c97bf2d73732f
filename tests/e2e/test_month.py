"""The treasurer's month in a real browser: last month's reconciliation from the menu, its
close asked by the treasurer and signed off by the admin, the monthly report with its charts,
then a signed loan paid out by a payment file that is downloaded and marked sent; axe-core
clean, photographed at 1366 and 390 px with no sideways scrolling."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.bank.writers import camt053
from ledger.domain.loans import Loan
from ledger.domain.statuses import LoanStatus
from ledger.services import payment_files
from tests.support.loan_page import funded_loan
from tests.support.loans import CASEWORKER, loan_in, person
from tests.support.statements import entry, run_import, statement
from tests.support.web import LiveServer, serious_violations, shoot, sign_in


def _said(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).replace("\u202f", " ").split())


def _checked(page: Any, name: str) -> None:
    assert serious_violations(page) == []
    shoot(page, name)


def _last_month(today: date) -> tuple[str, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.strftime("%Y-%m"), end


@pytest.fixture
def signed(server: LiveServer) -> Loan:
    """Last month: capital and a loan paid out on its 15th, both on the bank's statement of
    the month (it reconciles); today, a second loan signed and waiting for its payout, its
    landlord's account recorded."""
    today = datetime.now(server.settings.zone).date()
    month, end = _last_month(today)
    first = end.replace(day=1)
    paid = funded_loan(server.engine, paid_out=first + timedelta(days=14))
    lines = (
        entry(first.isoformat(), "10000.00", ref="C1"),
        entry(
            (first + timedelta(days=15)).isoformat(),
            "1700.00",
            "debit",
            ref="P1",
            end_to_end_id=f"FL-E{paid.disbursement_entry_id}",
        ),
    )
    st = statement(month, 0, lines, start=first.isoformat(), end=end.isoformat())
    uow = server.uow()
    run_import(uow, camt053([st]))
    loan = loan_in(uow, LoanStatus.CONTRACT_SIGNED, person(uow, full_name="Jonas Peeters"))
    payment_files.set_landlord_account(
        uow, CASEWORKER, loan.id, iban="DE89 3704 0044 0532 0130 00", name="Immo SRL"
    )
    return loan


def test_a_month_closed_by_two_and_a_loan_paid_by_file(
    server: LiveServer, page: Any, signed: Loan, tmp_path: Path
) -> None:
    today = datetime.now(server.settings.zone).date()
    month, _ = _last_month(today)
    sign_in(page, server.url, "tom")
    page.get_by_role("link", name="Months", exact=True).click()
    page.wait_for_url(f"{server.url}/months")
    _checked(page, "month-list")
    page.locator(f"a[href='/months/{month}/reconciliation']").click()
    page.wait_for_url(f"{server.url}/months/{month}/reconciliation")
    assert "Reconciled" in _said(page.get_by_role("status"))
    _checked(page, "month-reconciliation")

    page.get_by_role("button", name="Ask to close").click()
    page.wait_for_url(f"{server.url}/months/{month}/reconciliation")
    assert "Another person must now sign it off" in _said(page.locator(".flash"))
    assert page.get_by_role("button", name="Sign off").count() == 0
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, server.url, "ada")
    page.goto(f"{server.url}/months/{month}/reconciliation")
    assert "asked to close this month" in _said(page.locator("section.close"))
    _checked(page, "month-sign-off")
    page.get_by_role("button", name="Sign off and close").click()
    page.wait_for_url(f"{server.url}/months/{month}/reconciliation")
    assert "is closed" in _said(page.locator(".flash"))
    assert "Asked by tom" in _said(page.locator("section.close"))

    page.get_by_role("link", name="Monthly report").click()
    page.wait_for_url(f"{server.url}/months/{month}/report")
    # Aging, PAR30, cash, paid out and repaid, and loans by state: the loan whose payout is
    # booked on the month's 15th was active at its end, though every event of it is today's.
    assert page.locator("figure.chart svg").count() == 5
    assert "being repaid 1" in _said(page.locator("section[aria-labelledby^='states-'] table"))
    _checked(page, "month-report")
    page.get_by_role("button", name="Sign out").click()

    # Payouts: the signed loan chosen by keyboard, the file made, downloaded and sent.
    sign_in(page, server.url, "tom")
    page.goto(f"{server.url}/payouts")
    _checked(page, "payouts")
    page.locator(f"#loan-{signed.id}").focus()
    page.keyboard.press("Space")
    page.locator("#execution_date").fill((today + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Pay out and make the file").click()
    page.wait_for_url(lambda url: "/payment-files/" in url)
    assert "transfers" in _said(page.locator(".flash"))
    assert "not on a statement yet" in _said(page.locator("table"))
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the file").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(str(target))
    assert b"pain.001" in target.read_bytes()
    page.get_by_role("button", name="Mark as sent to the bank").click()
    page.wait_for_url(lambda url: "/payment-files/" in url)
    assert "marked sent" in _said(page.locator(".flash"))
    _checked(page, "payment-file")
