"""The auditor's workspace in a real browser: from the menu to the journal, filtered (after a
filter refused beside its field), an entry's page, the books checked, the trial balance and
its CSV, the reads of personal data and their CSV; axe-core clean, photographed at 1366 and
390 px with no sideways scrolling."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.loans import Loan
from tests.support.actors import TREASURER
from tests.support.ledgertext import book
from tests.support.loan_page import funded_loan
from tests.support.web import LiveServer, serious_violations, shoot, sign_in


def _said(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).replace("\u202f", " ").split())


def _checked(page: Any, name: str) -> None:
    assert serious_violations(page) == []
    shoot(page, name)


@pytest.fixture
def loan(server: LiveServer) -> Loan:
    """A loan paid out ten days ago, a caseworker's read of it, and thirty gifts (one described
    as a spreadsheet formula), so that the journal has more than a page."""
    today = datetime.now(server.settings.zone).date()
    made = funded_loan(server.engine, paid_out=today - timedelta(days=10))
    lines = [f"{today} donation {n}.00 Dr 1000 Cr 4000 ; gift {n}" for n in range(1, 30)]
    lines.append(f"{today} donation 30.00 Dr 1000 Cr 4000 ; =SUM(A1:A9)")
    book(server.uow(), TREASURER, "\n".join(lines))
    return made


def _download(page: Any, click: Any, tmp_path: Path) -> tuple[str, list[list[str]]]:
    with page.expect_download() as info:
        click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(str(target))
    return download.suggested_filename, list(csv.reader(io.StringIO(target.read_text("utf-8"))))


def test_an_auditor_works_through_the_books(
    server: LiveServer, page: Any, loan: Loan, tmp_path: Path
) -> None:
    today = datetime.now(server.settings.zone).date()
    # A caseworker reads the loan's page: a read of personal data the auditor will see.
    sign_in(page, server.url, "cas")
    page.goto(f"{server.url}/loans/{loan.id}")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, server.url, "aud")
    page.get_by_role("link", name="Audit", exact=True).click()
    page.wait_for_url(f"{server.url}/journal")
    assert "Entries found: 32" in _said(page.get_by_role("status"))
    assert "1 to 25 of 32" in _said(page.locator(".pager"))
    _checked(page, "audit-journal")
    page.get_by_role("link", name="Next").click()
    page.wait_for_url(f"{server.url}/journal?before=8")  # before the last entry shown
    assert page.locator("table.journal tbody tr").count() == 7
    assert "26 to 32 of 32" in _said(page.locator(".pager"))
    _checked(page, "audit-journal-older")
    page.get_by_role("link", name="Previous").click()
    page.wait_for_url(f"{server.url}/journal?after=7")
    assert page.locator("table.journal tbody tr").count() == 25

    # A filter that cannot be read comes back beside its field, what was typed kept.
    page.goto(f"{server.url}/journal")
    page.locator("#min").fill("douze")
    page.locator("#who").fill("tina.treasurer")
    page.get_by_role("button", name="Show").click()
    assert "digits only" in page.locator("#min-error").inner_text()
    assert page.locator("#who").input_value() == "tina.treasurer"
    assert page.locator("#error-summary").is_visible()
    _checked(page, "audit-journal-refused")

    page.locator("#min").fill("29")
    page.locator("#max").fill("1700")
    page.locator("#kind").select_option("disbursement")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(lambda url: "kind=disbursement" in url)
    assert "Entries found: 1" in _said(page.get_by_role("status"))
    row = page.locator("table.journal tbody tr")
    assert row.count() == 1
    assert "1.700,00 €" in _said(row)
    amount = row.locator("td.num")
    assert amount.evaluate("e => getComputedStyle(e).textAlign") == "right"

    # The payout's page: its lines, who and when, its key, its hash and the one before.
    row.get_by_role("link").click()
    page.wait_for_url(f"{server.url}/journal/2")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Entry 2")
    assert "matches the content" in _said(page.locator("dl.hashes"))
    assert "matches entry 1" in _said(page.locator("dl.hashes"))
    assert f"payout-{loan.id}" in _said(page.locator("dl.facts").first)
    loan_link = page.get_by_role("link", name=loan.id, exact=True)
    assert loan_link.get_attribute("href") == f"/loans/{loan.id}"
    _checked(page, "audit-entry")

    # The books checked from a page.
    page.get_by_role("link", name="Check the books").click()
    page.wait_for_url(f"{server.url}/verification")
    assert "It reads all 32 entries" in _said(page.locator("#verify-time"))
    _checked(page, "audit-verify")
    page.get_by_role("button", name="Check the books now").click()
    page.wait_for_url(f"{server.url}/verification")
    assert page.get_by_role("heading", name="The books are in order").is_visible()
    assert "Entries read 32" in _said(page.locator("dl.facts"))
    _checked(page, "audit-verified")

    # The trial balance, today and on an earlier day, and its CSV.
    page.get_by_role("link", name="Trial balance").click()
    page.wait_for_url(f"{server.url}/trial-balance")
    assert "balanced" in _said(page.get_by_role("status"))
    _checked(page, "audit-trial-balance")
    earlier = today - timedelta(days=30)
    page.locator("#as_of").fill(earlier.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(lambda url: f"as_of={earlier}" in url)
    name, rows = _download(
        page, lambda: page.get_by_role("link", name="Download (CSV)").click(), tmp_path
    )
    assert name == f"rental-guarantee-fund-trial-balance-{earlier}.csv"
    assert rows[-1][1] == "Total" and rows[-1][4] == rows[-1][5]

    # The journal of the month as CSV: the formula is text.
    page.goto(f"{server.url}/journal")
    first = today.replace(day=1) - timedelta(days=31)
    page.locator("#export-from").fill(first.isoformat())
    page.locator("#export-to").fill(today.isoformat())
    name, rows = _download(
        page, lambda: page.get_by_role("button", name="Download").click(), tmp_path
    )
    assert name == f"rental-guarantee-fund-journal-{first}-{today}.csv"
    assert [r[3] for r in rows if "SUM" in r[3]] == ["'=SUM(A1:A9)"] * 2  # a row per line

    # The reads of personal data: the caseworker's, the person by id.
    page.get_by_role("link", name="Reads of personal data").click()
    page.wait_for_url(f"{server.url}/audit")
    table = page.locator("table.reads")
    assert loan.beneficiary_id in _said(table)
    assert "Amina" not in page.content()
    page.locator("#who").fill("cas")
    page.locator("#from").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(lambda url: "who=cas" in url)
    _checked(page, "audit-reads")
    name, rows = _download(
        page, lambda: page.get_by_role("link", name="Download (CSV)").click(), tmp_path
    )
    assert name == f"rental-guarantee-fund-personal-data-reads-{today}.csv"
    assert rows[1:] and {r[4] for r in rows[1:]} == {loan.beneficiary_id}


def test_a_caseworker_has_no_audit_menu(server: LiveServer, page: Any) -> None:
    sign_in(page, server.url, "cas")
    assert page.get_by_role("link", name="Audit", exact=True).count() == 0
    response = page.goto(f"{server.url}/journal")
    assert response is not None and response.status == 403
