"""People and applications in a browser: a caseworker records a person, finds them, opens an
application whose check follows the typing, saves it as a draft and sends it for approval; an
admin accepts a failed application with a written reason; the roles that may not see personal
data find no way in. Each ends on the result as the services read it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from playwright.sync_api import expect

from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.loans import DepositForm, Lease, LoanTerms
from ledger.domain.money import money
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Actor, Role
from ledger.domain.statuses import LoanStatus
from ledger.services import loans
from ledger.store.uow import UnitOfWork
from tests.support.ledgertext import book
from tests.support.web import LiveServer, choose_language, serious_violations, shoot, sign_in

CAS = Actor("cas", Role.CASEWORKER)
ADA = Actor("ada", Role.ADMIN)


def _capital(server: LiveServer) -> None:
    """10,000.00 in the bank, so the fund has the cash to lend."""
    day = (date.today() - timedelta(days=1)).isoformat()
    book(
        server.uow(),
        Actor("tom", Role.TREASURER),
        f"{day} capital 10000.00 EUR Dr 1000 Cr 3000 ; founding capital",
    )


def _first_of_next_month() -> date:
    today = date.today()
    return date(today.year + (today.month == 12), today.month % 12 + 1, 1)


def test_a_caseworker_records_a_person_and_sends_an_application(
    server: LiveServer, page: Any
) -> None:
    _capital(server)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, server.url, "cas")
    page.get_by_role("link", name="People", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    assert page.get_by_text("No person recorded yet.").is_visible()
    page.get_by_role("link", name="Add a person").click()

    # A mistake first: it comes back beside its field, what was typed is kept.
    page.get_by_label("Full name").fill("Hiwet Tesfamariam")
    page.get_by_label("Language the person prefers").select_option("ti")
    page.get_by_label("E-mail").fill("hiwet-at-example.org")
    page.get_by_label("Phone").fill("+32 470 98 76 54")
    page.get_by_label("Residence status").fill("refugee")
    page.get_by_label("Permit valid until").fill("2031-05-31")
    page.get_by_label("Income each month").fill("1480,00")
    page.get_by_label("People in the household").fill("3")
    page.get_by_label("Own savings").fill("150,00")
    page.get_by_role("button", name="Add this person").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("This is not an e-mail address.")
    expect(page.locator("#error-summary")).to_be_focused()
    assert page.get_by_label("Full name").input_value() == "Hiwet Tesfamariam"
    assert serious_violations(page) == []
    shoot(page, "person-new-error")
    summary.get_by_role("link").click()
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.get_by_label("E-mail").fill("hiwet@example.org")
    page.get_by_role("button", name="Add this person").click()
    expect(page.get_by_role("status")).to_have_text("The person is added.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hiwet Tesfamariam")
    person_id = page.url.rsplit("/", 1)[1]
    assert page.get_by_text("1.480,00 €").is_visible()
    assert serious_violations(page) == []
    shoot(page, "person")

    # Found again by part of the name, in any case.
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_label("Find a person").fill("TESFA")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_contain_text("1 found")
    assert serious_violations(page) == []
    shoot(page, "people-list")
    page.get_by_role("link", name="Hiwet Tesfamariam").click()
    page.get_by_role("link", name="New application").click()

    # The check follows the typing: nothing is stored until the draft is saved.
    check = page.locator("#eligibility")
    expect(check).to_contain_text("The check starts when these are filled in")
    start = _first_of_next_month()
    page.get_by_label("Rent each month").fill("780,00")
    page.get_by_label("Deposit the landlord asks").fill("2340,00")  # three months: too much
    page.get_by_label("Where the home is").select_option("BE-BRU")
    page.get_by_label("Lease starts").fill(start.isoformat())
    page.get_by_label("Lease ends").fill(start.replace(year=start.year + 3).isoformat())
    page.get_by_label("Landlord's name").fill("Logements Sociaux SCRL")
    page.get_by_label("Address of the home").fill("Rue Haute 12, 1000 Bruxelles")
    page.get_by_label("Landlord's bank account").fill("BE71 0961 2345 6769")
    page.get_by_label("First payment to the fund").fill((start + timedelta(days=27)).isoformat())
    page.get_by_label("Number of monthly payments").fill("24")
    expect(check).to_contain_text("The application does not meet the rules.")
    expect(check).to_contain_text("more than the law allows in Brussels")
    expect(check).to_contain_text("An administrator must then accept it")
    assert serious_violations(page) == []
    shoot(page, "application-check-fails")
    page.get_by_label("Deposit the landlord asks").fill("1560,00")
    expect(check).to_contain_text("An administrator must look at this application.")
    page.get_by_label("Public help asked first").select_option("refused")
    expect(check).to_contain_text("The application meets every rule.")
    assert check.locator(".badge-pass").count() == 12  # with "first due after today"
    with UnitOfWork(server.engine, readonly=True) as uow:
        assert uow.loans.of_beneficiary(person_id) == []
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("status").first).to_contain_text("is saved as a draft.")
    loan_id = re.search(r"/applications/(L\d+)/edit", page.url).group(1)  # type: ignore[union-attr]
    draft = loans.get_loan(server.uow(), CAS, loan_id)
    assert draft.loan.status is LoanStatus.DRAFT
    assert draft.loan.terms.deposit == money("1560.00", "EUR")
    expect(check).to_contain_text("The application meets every rule.")
    assert serious_violations(page) == []
    shoot(page, "application-draft")

    # The draft changed and sent: the decision is kept, the loan waits for approval.
    page.get_by_label("Number of monthly payments").fill("20")
    expect(check).to_contain_text("20 monthly payments")
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url(f"{server.url}/loans/{loan_id}")
    sent = loans.get_loan(server.uow(), CAS, loan_id)
    assert sent.loan.status is LoanStatus.SUBMITTED
    assert sent.loan.terms.installments == 20
    assert sent.decision is not None and sent.decision.outcome == "pass"
    assert sent.lease is not None and sent.lease.landlord_iban == "BE71096123456769"
    page.goto(f"{server.url}/beneficiaries/{person_id}")
    row = page.get_by_role("row").filter(has_text=loan_id)
    expect(row).to_contain_text("waiting for approval")
    assert row.get_by_role("link", name=loan_id).get_attribute("href") == f"/loans/{loan_id}"
    # No script or style refused by the CSP; the 422 is the mistake's, the 404 /loans/{id}'s
    # until that page is built.
    assert [e for e in errors if "status of 422" not in e and "status of 404" not in e] == []


def _failing_application(server: LiveServer) -> tuple[str, str]:
    """A submitted application whose person's savings cover the deposit: it fails."""
    _capital(server)
    start = _first_of_next_month()
    person = loans.register_beneficiary(
        server.uow(),
        CAS,
        "EUR",
        PersonalData(
            "Samir Haddad",
            "ar",
            residence_status="B card",
            monthly_net_income=money("1600.00", "EUR"),
            own_savings=money("4000.00", "EUR"),
        ),
    )
    terms = LoanTerms(
        deposit=money("1500.00", "EUR"),
        monthly_rent=money("750.00", "EUR"),
        jurisdiction="BE-WAL",
        deposit_form=DepositForm.BLOCKED_ACCOUNT,
        lease_start=start,
        lease_end=start.replace(year=start.year + 3),
        first_due_date=start + timedelta(days=27),
        installments=20,
        public_alternatives=PublicAlternatives.NOT_ACCESSIBLE,
    )
    loan = loans.open_application(
        server.uow(), CAS, person.id, terms, Lease("Mme Dubois", None), LoanPolicy()
    )
    loans.submit(server.uow(), CAS, loan.id, LoanPolicy())
    return person.id, loan.id


def test_an_admin_accepts_a_failed_application_with_a_reason(server: LiveServer, page: Any) -> None:
    _, loan_id = _failing_application(server)
    sign_in(page, server.url, "cas")
    page.goto(f"{server.url}/applications/{loan_id}")
    expect(page.locator(".apply-overall")).to_have_text("The application does not meet the rules.")
    expect(page.get_by_text("An administrator must decide on this application.")).to_be_visible()
    assert page.locator("form.apply-override").count() == 0
    assert serious_violations(page) == []
    shoot(page, "application-caseworker")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, server.url, "ada")
    page.goto(f"{server.url}/applications/{loan_id}")
    expect(page.get_by_text("are enough to pay the deposit")).to_be_visible()
    messages: list[str] = []

    def accept(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Accept with this reason").click()  # empty: not sent
    assert page.locator("#reason:invalid").count() == 1
    assert messages == []  # the browser stops it before the question is asked
    assert loans.get_loan(server.uow(), ADA, loan_id).decision.override_by is None  # type: ignore[union-attr]
    page.get_by_label("Why do you accept it?").fill("The savings pay the move and the furniture")
    assert serious_violations(page) == []
    shoot(page, "application-override")
    page.get_by_role("button", name="Accept with this reason").click()
    expect(page.get_by_role("status")).to_contain_text("is accepted. It can now be approved.")
    assert messages and loan_id in messages[0]
    decision = loans.get_loan(server.uow(), ADA, loan_id).decision
    assert decision is not None and decision.accepted
    assert decision.override_reason == "The savings pay the move and the furniture"
    expect(page.get_by_text("Accepted anyway by ada.")).to_be_visible()


def test_the_check_speaks_french_on_a_phone(server: LiveServer, page: Any) -> None:
    person_id, _ = _failing_application(server)
    sign_in(page, server.url, "cas")
    choose_language(page, "fr")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server.url}/beneficiaries/{person_id}/applications/new")
    start = _first_of_next_month()
    page.get_by_label("Loyer par mois").fill("750,00")
    page.get_by_label("Garantie demandée par le propriétaire").fill("1500,00")
    page.get_by_label("Début du bail").fill(start.isoformat())
    page.get_by_label("Premier paiement au fonds").fill((start + timedelta(days=27)).isoformat())
    page.get_by_label("Nombre de paiements mensuels").fill("12")
    check = page.locator("#eligibility")
    expect(check).to_contain_text("La demande ne respecte pas les règles.")
    expect(check).to_contain_text("La personne a déjà un prêt qui n'est pas remboursé.")
    expect(check).to_contain_text("4\u202f000,00\xa0€")
    assert serious_violations(page) == []
    shoot(page, "application-check-fr")


def test_treasurer_and_auditor_see_no_personal_data(server: LiveServer, page: Any) -> None:
    person_id, loan_id = _failing_application(server)
    for name in ("tom", "aud"):
        sign_in(page, server.url, name)
        assert page.get_by_role("link", name="People", exact=True).count() == 0
        for path in (f"/beneficiaries/{person_id}", f"/applications/{loan_id}"):
            response = page.goto(f"{server.url}{path}")
            assert response is not None and response.status == 403
            assert "Samir" not in page.content()
        page.goto(f"{server.url}/")
        page.get_by_role("button", name="Sign out").click()
