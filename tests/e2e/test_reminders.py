"""Payment reminders in a real browser: a caseworker reads a loan's reminders, prints its letter
(and is told beside the form when a letter does not fit), and stops a person's e-mails."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from ledger.config import Settings
from ledger.domain.loans import Loan
from ledger.domain.policy import LoanPolicy
from ledger.domain.reminders import ReminderRules
from ledger.services import loans
from ledger.services.reminders import ReminderSettings, send_reminders
from ledger.store.uow import UnitOfWork
from tests.support.loan_page import funded_loan
from tests.support.loans import CASEWORKER
from tests.support.web import LiveServer, serious_violations, shoot, sign_in

RULES = """
version = "e2e"

[reminders]
before_due_days = 5
late_days = 10
formal_notice_days = 30
tone = "friendly"
"""


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    return Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_languages="en,fr,nl,de",
        documents_dir=tmp_path / "documents",
        hash_key="k" * 40,
        rules_file=rules,
        public_url="https://fund.example.org",
    )


class Outbox:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


@pytest.fixture
def loan(server: LiveServer) -> Loan:
    """A loan paid out 100 days ago, nothing repaid: its formal notice went by e-mail."""
    today = datetime.now(server.settings.zone).date()
    made = funded_loan(server.engine, paid_out=today - timedelta(days=100))
    settings = ReminderSettings.from_settings(
        server.settings, LoanPolicy(reminders=ReminderRules())
    )
    outbox = Outbox()
    send_reminders(
        UnitOfWork(server.engine, zone=server.settings.zone), CASEWORKER, settings, outbox
    )
    assert len(outbox.sent) == 1
    return made


def test_a_caseworker_reads_the_reminders_prints_a_letter_and_stops_the_e_mails(
    server: LiveServer, page: Any, loan: Loan
) -> None:
    sign_in(page, server.url, "cas")
    page.goto(f"{server.url}/loans/{loan.id}")
    section = page.locator("section[aria-labelledby=reminders-title]")
    assert "Formal notice" in section.inner_text() and "Sent" in section.inner_text()
    assert serious_violations(page) == []
    page.get_by_role("link", name="All reminders, and the letter to print").click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}/reminders")
    main = page.locator("main").inner_text()
    assert "An e-mail when a payment is 10 days late." in main
    assert "This person gets the reminders by e-mail." in main
    assert serious_violations(page) == []
    shoot(page, "loan-reminders")

    page.locator("#kind").select_option("before_due")
    page.get_by_role("button", name="Make the letter (PDF)").click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}/reminder-letters")
    error = page.locator("#kind-error").inner_text()
    assert error.startswith(f"Loan {loan.id} has nothing late, and nothing to pay soon")
    assert serious_violations(page) == []
    shoot(page, "loan-reminders-refused")

    page.locator("#kind").select_option("")
    with page.expect_download() as download:
        page.get_by_role("button", name="Make the letter (PDF)").click()
    assert download.value.suggested_filename.startswith(f"{loan.id}-reminder-formal_notice-")
    with open(download.value.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"

    page.goto(f"{server.url}/beneficiaries/{loan.beneficiary_id}")
    page.get_by_role("button", name="Stop e-mail reminders").click()
    page.wait_for_url(f"{server.url}/beneficiaries/{loan.beneficiary_id}")
    assert "E-mail reminders are stopped for this person." in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Send e-mail reminders again").count() == 1
    assert serious_violations(page) == []
    shoot(page, "person-reminders-stopped")
    person = loans.read_beneficiary(server.uow(), CASEWORKER, loan.beneficiary_id)
    assert person.reminders_opt_out

    page.goto(f"{server.url}/loans/{loan.id}/reminders")
    main = page.locator("main").inner_text()
    assert "This person asked for no e-mail reminders." in main
    assert "Letter" in main and "Printed" in main
    shoot(page, "loan-reminders-after")
