"""A loan's page in a real browser, each workflow from the first click to what was booked: a
treasurer's cash payment and the deposit back at the end of the lease, a caseworker's view of
the person, a document's download and the person's own link, made and stopped."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from ledger.domain.loans import Loan
from ledger.domain.money import money
from ledger.domain.statuses import LoanStatus, PaymentKind
from ledger.services import loans
from ledger.services.loans import LoanView
from tests.support.loan_page import PDF_BYTES, funded_loan, store_document
from tests.support.loans import AUDITOR, TREASURER
from tests.support.web import LiveServer, choose_language, serious_violations, shoot, sign_in


def _today(server: LiveServer) -> date:
    return datetime.now(server.settings.zone).date()


def _view(server: LiveServer, loan: Loan) -> LoanView:
    return loans.get_loan(server.uow(), AUDITOR, loan.id)


@pytest.fixture
def loan(server: LiveServer) -> Loan:
    """A loan paid out about four months ago whose first installment was paid: the page shows
    installments paid, late and to come."""
    paid_out = _today(server) - timedelta(days=100)
    made = funded_loan(server.engine, paid_out=paid_out)
    first = loans.get_loan(server.uow(), AUDITOR, made.id).installments[0]
    loans.record_payment(
        server.uow(),
        TREASURER,
        made.id,
        money("70.83", "EUR"),
        on=first.due_date,
        idempotency_key="e2e-first-installment",
    )
    return made


def _said(locator: Any) -> str:
    """What an element says, with the narrow and no-break spaces of amounts as plain ones."""
    return " ".join(str(locator.inner_text()).split())


def _no_console_errors(page: Any) -> list[str]:
    """The console's errors from now on: none from the CSP or a missing asset; a form sent
    back with its errors (422) is the one the test meant."""
    errors: list[str] = []

    def seen(message: Any) -> None:
        if message.type == "error" and "status of 422" not in message.text:
            errors.append(message.text)

    page.on("console", seen)
    return errors


def test_a_treasurer_records_a_cash_payment_from_the_loan_page(
    server: LiveServer, page: Any, loan: Loan
) -> None:
    errors = _no_console_errors(page)
    sign_in(page, server.url, "tom")
    page.goto(f"{server.url}/loans")
    page.get_by_role("link", name=loan.id).click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}")
    assert page.get_by_role("heading", level=1).inner_text().startswith(f"Loan {loan.id}")
    schedule = page.locator("table.schedule tbody tr")
    assert schedule.nth(0).locator(".inst-state").inner_text() == "paid"
    assert schedule.nth(1).locator(".inst-state").inner_text() == "late"
    assert "Amina" not in page.locator("main").inner_text()  # not for a treasurer
    assert serious_violations(page) == []
    shoot(page, "loan-page-treasurer")

    page.get_by_role("link", name="Record a cash payment").click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}/payments/new")
    page.get_by_role("button", name="Book the payment").click()  # nothing typed
    assert "Enter an amount." in page.locator("#error-summary").inner_text()
    assert page.locator("#amount").get_attribute("aria-invalid") == "true"
    assert serious_violations(page) == []
    shoot(page, "loan-payment-errors")

    page.locator("#amount").fill("70,83")
    page.get_by_role("button", name="Book the payment").click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}")
    assert _said(page.get_by_role("status")) == (
        "Payment of 70,83 € booked. The loan is now: being repaid."
    )
    assert schedule.nth(1).locator(".inst-state").inner_text() == "paid"
    payments = [(p[2], p[3], p[4]) for p in _view(server, loan).payments]
    assert payments == [(7083, PaymentKind.REPAYMENT, False)] * 2
    shoot(page, "loan-page-after-payment")
    assert errors == []


def test_a_treasurer_books_the_deposit_back_with_what_the_landlord_kept(
    server: LiveServer, page: Any, loan: Loan
) -> None:
    errors = _no_console_errors(page)
    sign_in(page, server.url, "tom")
    page.goto(f"{server.url}/loans/{loan.id}")
    page.get_by_role("link", name="Deposit back at the end of the lease").click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}/deposit-release/new")
    assert page.locator("#kind-full").is_checked()
    assert page.locator("fieldset.partial").is_hidden()  # not needed when all came back
    assert "What will be booked" in page.locator("main").inner_text()
    assert serious_violations(page) == []
    shoot(page, "loan-release-form")

    page.get_by_label("Only part: the landlord kept some money").check()
    assert page.locator("fieldset.partial").is_visible()
    page.locator("#returned").fill("1200,00")
    page.locator("#kept").fill("500,00")
    page.get_by_role("button", name="Book the deposit").click()  # no reason given
    assert "Say why the landlord kept part" in page.locator("#kept_reason-error").inner_text()
    assert page.locator("#returned").input_value() == "1200,00"  # what was typed is kept
    assert serious_violations(page) == []
    shoot(page, "loan-release-errors")

    page.locator("#kept_reason").fill("Paint damage in the living room")
    page.get_by_role("button", name="Book the deposit").click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}")
    assert _said(page.get_by_role("status")) == (
        "Deposit booked: 1.200,00 € given back, 500,00 € kept by the landlord. "
        "Still to pay back on the loan: 429,17 €."
    )
    view = _view(server, loan)
    assert view.loan.status is LoanStatus.ACTIVE
    assert view.outstanding == 170000 - 7083 - 120000
    assert (120000, PaymentKind.DEPOSIT_RELEASE) in [(p[2], p[3]) for p in view.payments]
    assert "deposit given back by the landlord" in page.locator("main").inner_text()
    assert errors == []


def test_a_caseworker_sees_the_person_downloads_a_document_and_gives_a_link(
    server: LiveServer, page: Any, loan: Loan
) -> None:
    errors = _no_console_errors(page)
    store_document(server.engine, server.settings, loan)
    sign_in(page, server.url, "cas")
    page.goto(f"{server.url}/loans/{loan.id}")
    person = page.get_by_role("link", name="Amina Kebede")
    assert person.get_attribute("href") == f"/beneficiaries/{loan.beneficiary_id}"
    assert "Immo Exemple SRL" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Record a cash payment").count() == 0
    assert serious_violations(page) == []
    shoot(page, "loan-page-caseworker")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download Repayment plan for the person").click()
    with open(download.value.path(), "rb") as f:
        assert f.read() == PDF_BYTES

    page.get_by_role("link", name="Personal link for the person").first.click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}/links")
    page.locator("#days").fill("30")
    page.get_by_role("button", name="Make the link").click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}/links")
    url = page.locator("#link-url").input_value()
    assert url.startswith(f"{server.url}/b/")
    qr = page.get_by_role("img", name="QR code of the personal link")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    mailto = page.get_by_role("link", name="Send by e-mail").get_attribute("href")
    assert mailto is not None and mailto.startswith("mailto:amina@example.org?subject=")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy the link").click()
    assert page.evaluate("navigator.clipboard.readText()") == url
    assert page.locator("#link-url-copied").inner_text() == "Link copied"
    assert serious_violations(page) == []
    shoot(page, "loan-link-new")

    beneficiary = page.context.new_page()
    assert beneficiary.goto(url).status == 200  # the person's own page works

    page.reload()
    assert page.locator("#link-url").count() == 0  # the link is shown only once
    messages: list[str] = []

    def accept(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Stop this link").click()
    page.wait_for_load_state()
    assert "It stops working at once" in messages[0]
    assert _said(page.get_by_role("status")) == "The link is stopped. It no longer works."
    assert "stopped on" in page.locator("table.links").inner_text()
    assert beneficiary.goto(url).status == 410
    shoot(page, "loan-links-stopped")

    choose_language(page, "de")  # the longest words: still no sideways scroll
    page.goto(f"{server.url}/loans/{loan.id}")
    assert page.get_by_role("heading", level=1).inner_text().startswith(f"Darlehen {loan.id}")
    assert serious_violations(page) == []
    shoot(page, "loan-page-caseworker-de")
    page.goto(f"{server.url}/loans/{loan.id}/links")
    shoot(page, "loan-links-de")
    assert errors == []
