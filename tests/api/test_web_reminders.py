"""Payment reminders on the staff pages: the loan's reminders listed, the letter printed (and
refused beside its form, in the user's language), a person's e-mail reminders stopped and
started again; who may do what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.loans import Loan
from ledger.domain.policy import LoanPolicy
from ledger.domain.reminders import ReminderRules
from ledger.domain.statuses import ReminderChannel, ReminderStatus
from ledger.services import loans
from ledger.services.reminders import ReminderSettings, reminders_of, send_reminders
from ledger.store.uow import UnitOfWork
from tests.support import loans as support_loans
from tests.support.clock import Clock
from tests.support.loan_page import funded_loan
from tests.support.loans import AUDITOR, CASEWORKER
from tests.support.web import client_sign_in, csrf_of, staffed_fund


@pytest.fixture(autouse=True)
def _people_speak_a_language_without_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reminders go in the fund's first language when the person's has no catalog: the
    people of these tests speak one (``NO_CATALOG``)."""
    monkeypatch.setattr(support_loans, "LANGUAGE", support_loans.NO_CATALOG)


PAID_OUT = date(2026, 3, 15)  # the first installment is due on 31 March
RULES = """
version = "web-test"

[reminders]
before_due_days = 5
late_days = 10
formal_notice_days = 30
"""


class Outbox:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


@dataclass(frozen=True, slots=True)
class Fund:
    client: TestClient
    engine: Engine
    clock: Clock
    settings: Settings
    loan: Loan

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, clock=self.clock, zone=self.settings.zone)

    def send(self) -> Outbox:
        outbox = Outbox()
        policy = LoanPolicy(reminders=ReminderRules())
        reminder_settings = ReminderSettings.from_settings(self.settings, policy)
        send_reminders(self.uow(), CASEWORKER, reminder_settings, outbox)
        return outbox


def make_fund(engine: Engine, clock: Clock, tmp_path: Path, rules: str | None) -> Iterator[Fund]:
    staffed_fund(engine)
    loan = funded_loan(engine, clock, paid_out=PAID_OUT)
    clock.now = clock.now.replace(month=4, day=25)  # 25 days late
    rules_file = None
    if rules is not None:
        rules_file = tmp_path / "rules.toml"
        rules_file.write_text(rules, encoding="utf-8")
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_languages="en,fr,nl,de",
        documents_dir=tmp_path / "documents",
        hash_key="k" * 40,
        rules_file=rules_file,
        public_url="https://fund.example.org",
    )
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield Fund(client, engine, clock, settings, loan)


@pytest.fixture
def fund(engine: Engine, clock: Clock, tmp_path: Path) -> Iterator[Fund]:
    yield from make_fund(engine, clock, tmp_path, RULES)


def words(html: str) -> str:
    body = html.split("<main", 1)[-1]
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return text.replace("( ", "(").replace(" )", ")")


def test_the_loan_page_lists_the_reminders_for_every_role_that_reads_loans(fund: Fund) -> None:
    assert len(fund.send().sent) == 1
    client_sign_in(fund.client, "aud")
    page = fund.client.get(f"/loans/{fund.loan.id}")
    assert page.status_code == 200
    text = words(page.text)
    assert "Payment reminders" in text
    assert "Late payment (25 days late)" in text and "E-mail (en)" in text and "Sent" in text
    assert f'href="/loans/{fund.loan.id}/reminders"' in page.text
    listing = fund.client.get(f"/loans/{fund.loan.id}/reminders")
    assert listing.status_code == 200
    text = words(listing.text)
    assert "An e-mail when a payment is 10 days late." in text
    assert "A friendly e-mail 5 days before each payment is due." in text
    assert "Print a letter" not in text  # not for an auditor
    assert "Amina" not in listing.text and "amina@example.org" not in listing.text


def test_a_caseworker_prints_the_letter_and_it_is_recorded(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    page = fund.client.get(f"/loans/{fund.loan.id}/reminders")
    assert "This person gets the reminders by e-mail." in words(page.text)
    letter = fund.client.post(
        f"/loans/{fund.loan.id}/reminder-letters",
        data={"csrf": csrf_of(page.text), "kind": ""},
    )
    assert letter.status_code == 200
    assert letter.headers["content-type"] == "application/pdf"
    assert letter.content.startswith(b"%PDF")
    assert letter.headers["content-disposition"] == (
        f'attachment; filename="{fund.loan.id}-reminder-late-2026-04-25.pdf"'
    )
    (recorded,) = reminders_of(fund.uow(), AUDITOR, fund.loan.id)
    assert (recorded.channel, recorded.status) == (ReminderChannel.LETTER, ReminderStatus.PRINTED)
    again = fund.client.get(f"/loans/{fund.loan.id}/reminders")
    assert "Letter (en)" in words(again.text) and "Printed" in words(again.text)


def test_a_letter_that_does_not_fit_is_refused_beside_the_form_in_the_user_s_language(
    fund: Fund,
) -> None:
    client_sign_in(fund.client, "cas")
    page = fund.client.get(f"/loans/{fund.loan.id}/reminders")
    csrf = csrf_of(page.text)
    fund.client.post("/me/language", data={"csrf": csrf, "language": "fr"})
    refused = fund.client.post(
        f"/loans/{fund.loan.id}/reminder-letters", data={"csrf": csrf, "kind": "before_due"}
    )
    assert refused.status_code == 422
    error = re.search(r'<p class="error" id="kind-error">(.*?)</p>', refused.text, re.S)
    assert error is not None
    assert words(error.group(1)).startswith(f"Le prêt {fund.loan.id} n'a rien en retard")
    assert 'href="#kind"' in refused.text  # the summary links to the field
    assert '<option value="before_due" selected>' in refused.text  # what was chosen is kept
    bad = fund.client.post(
        f"/loans/{fund.loan.id}/reminder-letters", data={"csrf": csrf, "kind": "angry"}
    )
    assert bad.status_code == 422 and "Choisissez une lettre dans la liste." in bad.text
    assert reminders_of(fund.uow(), AUDITOR, fund.loan.id) == []


def test_only_caseworkers_and_admins_print_letters_and_only_with_the_form_s_token(
    fund: Fund,
) -> None:
    client_sign_in(fund.client, "tom")
    page = fund.client.get(f"/loans/{fund.loan.id}")
    refused = fund.client.post(
        f"/loans/{fund.loan.id}/reminder-letters", data={"csrf": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    client_sign_in(fund.client, "cas")
    forged = fund.client.post(f"/loans/{fund.loan.id}/reminder-letters", data={"csrf": "0" * 64})
    assert forged.status_code == 403
    assert reminders_of(fund.uow(), AUDITOR, fund.loan.id) == []


def test_a_person_s_e_mail_reminders_stopped_and_started_again(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    person_id = fund.loan.beneficiary_id
    page = fund.client.get(f"/beneficiaries/{person_id}")
    assert "E-mail reminders Yes" in words(page.text)
    stopped = fund.client.post(
        f"/beneficiaries/{person_id}/reminders",
        data={"csrf": csrf_of(page.text), "opt_out": "1"},
        follow_redirects=False,
    )
    assert stopped.status_code == 303
    assert stopped.headers["location"] == f"/beneficiaries/{person_id}"
    page = fund.client.get(f"/beneficiaries/{person_id}")
    text = words(page.text)
    assert "E-mail reminders are stopped for this person." in text
    assert "No: the person asked for none" in text and "Send e-mail reminders again" in text
    assert loans.read_beneficiary(fund.uow(), CASEWORKER, person_id).reminders_opt_out
    assert fund.send().sent == []  # the late reminder is skipped
    listing = fund.client.get(f"/loans/{fund.loan.id}/reminders")
    text = words(listing.text)
    assert "This person asked for no e-mail reminders." in text
    assert "Not sent (the person asked for no e-mails)" in text
    started = fund.client.post(
        f"/beneficiaries/{person_id}/reminders",
        data={"csrf": csrf_of(page.text), "opt_out": "0"},
    )
    assert started.status_code == 200
    assert "This person gets e-mail reminders again." in words(started.text)
    assert len(fund.send().sent) == 1


def test_an_auditor_may_not_switch_a_person_s_reminders(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    page = fund.client.get(f"/loans/{fund.loan.id}")
    refused = fund.client.post(
        f"/beneficiaries/{fund.loan.beneficiary_id}/reminders",
        data={"csrf": csrf_of(page.text), "opt_out": "1"},
    )
    assert refused.status_code == 403
    assert not loans.read_beneficiary(
        fund.uow(), CASEWORKER, fund.loan.beneficiary_id
    ).reminders_opt_out


@pytest.fixture
def fund_without_reminders(engine: Engine, clock: Clock, tmp_path: Path) -> Iterator[Fund]:
    yield from make_fund(engine, clock, tmp_path, None)


def test_a_fund_whose_rules_send_no_e_mails_says_so_and_still_prints_letters(
    fund_without_reminders: Fund,
) -> None:
    fund = fund_without_reminders
    client_sign_in(fund.client, "ada")
    page = fund.client.get(f"/loans/{fund.loan.id}/reminders")
    assert "No reminders are e-mailed" in words(page.text)
    letter = fund.client.post(
        f"/loans/{fund.loan.id}/reminder-letters", data={"csrf": csrf_of(page.text), "kind": ""}
    )
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
