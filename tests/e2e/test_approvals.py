"""The approvers' queue in a real browser, from the first click to the booked result: a loan
request refused without a reason then approved, one's own request offering no button, a stale
page's decision refused and said, an eligibility override, a write-off booked; the caseworker's
home showing what follows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ledger.domain.loans import Loan
from ledger.domain.money import money
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.domain.statuses import LoanStatus
from ledger.services import loans, users
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR
from tests.support.ledgertext import book
from tests.support.loans import POLICY, application, person, sign
from tests.support.web import PASSWORD, LiveServer, serious_violations, shoot, sign_in

CAS = Actor("cas", Role.CASEWORKER)
COR = Actor("cor", Role.CASEWORKER)
ADA = Actor("ada", Role.ADMIN)
TOM = Actor("tom", Role.TREASURER)


def plain(text: str) -> str:
    """Text as compared here: no-break spaces (between an amount and its currency) as spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def fund_day(server: LiveServer) -> date:
    return datetime.now(server.settings.zone).date()


def funded(server: LiveServer) -> UnitOfWork:
    """The server's fund with 10,000.00 of capital (the rules check the fund has the cash)."""
    uow = UnitOfWork(server.engine, zone=server.settings.zone)
    book(
        uow,
        TOM,
        f"{fund_day(server).replace(day=1)} capital 10000.00 EUR Dr 1000 Cr 3000 ; capital",
    )
    return uow


def submitted(uow: UnitOfWork, by: Actor = CAS, **changes: Any) -> Loan:
    """Sent today: a lease from this month for three years, the first installment in a month
    (the rules compare them with the day they run)."""
    today = uow.today()
    start = today.replace(day=1)
    dates = {
        "lease_start": start,
        "lease_end": start.replace(year=start.year + 3) - timedelta(days=1),
        "first_due_date": today + timedelta(days=30),
    }
    loan = application(uow, by=by, **{**dates, **changes})
    return loans.submit(uow, by, loan.id, POLICY)


def status(server: LiveServer, loan_id: str) -> LoanStatus:
    return loans.get_loan(server.uow(), AUDITOR, loan_id).loan.status


def test_a_request_is_refused_without_reason_then_approved(server: LiveServer, page: Any) -> None:
    uow = funded(server)
    first = submitted(uow)
    second = submitted(uow, monthly_rent=money("900.00", "EUR"))
    sign_in(page, server.url, "cor")
    page.get_by_role("link", name="To approve").click()
    page.wait_for_url(f"{server.url}/approvals")
    assert page.get_by_role("heading", level=1).inner_text() == "To approve"
    item = page.locator(f"#loan-{first.id}")
    assert "1.700,00 €" in plain(item.inner_text())
    assert "all met" in item.inner_text()
    assert serious_violations(page) == []
    shoot(page, "approvals-queue")
    # Refusing without a reason: said beside the field, nothing done.
    refuse = page.locator(f"#loan-{second.id} details.refuse")
    refuse.locator("summary").click()
    refuse.get_by_role("button", name=f"Refuse loan request {second.id}").click()
    assert (
        page.locator(f"#reason-{second.id}-error").inner_text() == "Write the reason: it is needed."
    )
    assert page.get_by_role("alert").is_visible()
    assert serious_violations(page) == []
    shoot(page, "approvals-reason-missing")
    assert status(server, second.id) is LoanStatus.SUBMITTED
    page.locator(f"#reason-{second.id}").fill("The rent is above what the person can pay.")
    page.get_by_role("button", name=f"Refuse loan request {second.id}").click()
    page.wait_for_url(f"{server.url}/approvals")
    assert f"Loan request {second.id} is refused" in page.get_by_role("status").inner_text()
    assert status(server, second.id) is LoanStatus.REJECTED
    page.get_by_role("button", name=f"Approve loan {first.id}").click()
    page.wait_for_url(f"{server.url}/approvals")
    assert f"Loan {first.id} is approved" in page.get_by_role("status").inner_text()
    assert status(server, first.id) is LoanStatus.APPROVED
    assert page.locator(f"#loan-{first.id}").count() == 0  # no longer waiting
    # The caseworker who opened it sees what comes next on their home page.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server.url, "cas")
    contract = page.locator(
        "section", has=page.get_by_role("heading", name="Contract not signed yet")
    )
    assert first.id in contract.inner_text()
    assert "Amina Kebede" in contract.inner_text()
    assert serious_violations(page) == []
    shoot(page, "home-worklist")
    contract.get_by_role("link", name=f"Prepare the contract of {first.id}").click()
    page.wait_for_url(f"{server.url}/loans/{first.id}")


def test_ones_own_request_has_no_button_and_a_stale_decision_is_refused(
    server: LiveServer, page: Any
) -> None:
    uow = funded(server)
    loan = submitted(uow)
    sign_in(page, server.url, "cas")
    page.goto(f"{server.url}/approvals")
    own = page.locator(f"#loan-{loan.id}")
    assert "You opened or sent this request" in own.inner_text()
    assert own.get_by_role("button").count() == 0
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server.url, "cor")
    page.goto(f"{server.url}/approvals")
    loans.approve(server.uow(), ADA, loan.id, LoanPolicy())  # someone else, meanwhile
    page.get_by_role("button", name=f"Approve loan {loan.id}").click()
    alert = page.get_by_role("alert")
    assert "This was not done" in alert.inner_text()
    assert "Nothing was changed" in alert.inner_text()
    assert serious_violations(page) == []
    shoot(page, "approvals-refused")
    events = loans.get_loan(server.uow(), AUDITOR, loan.id).events
    assert [e.actor for e in events if e.action == "approve"] == ["ada"]


def test_a_supervisor_overrides_the_rules_then_a_colleague_approves(
    server: LiveServer, page: Any
) -> None:
    uow = funded(server)
    review = application(uow, person(uow, own_savings=None), by=CAS)
    loans.submit(uow, CAS, review.id, POLICY)
    sign_in(page, server.url, "ada")
    page.goto(f"{server.url}/approvals")
    item = page.locator(f"#loan-{review.id}")
    assert "To check: the person's savings do not cover the deposit" in " ".join(
        item.inner_text().split()
    )
    assert item.get_by_role("button", name=f"Approve loan {review.id}").count() == 0
    item.get_by_role("button", name="Accept despite the rules").click()
    assert page.locator(f"#override-{review.id}-error").is_visible()  # a reason is needed
    page.locator(f"#override-{review.id}").fill("No savings: checked the bank statements.")
    page.get_by_role("button", name="Accept despite the rules").click()
    page.wait_for_url(f"{server.url}/approvals")
    assert "accepted despite the rules" in page.get_by_role("status").inner_text()
    assert (
        "Accepted anyway by the supervisor ada" in page.locator(f"#loan-{review.id}").inner_text()
    )
    page.get_by_role("button", name=f"Approve loan {review.id}").click()
    page.wait_for_url(f"{server.url}/approvals")
    assert status(server, review.id) is LoanStatus.APPROVED


def test_a_write_off_is_approved_by_another_treasurer_and_booked(
    server: LiveServer, page: Any
) -> None:
    users.create_user(server.uow(), SYSTEM, "tia", PASSWORD, "treasurer")
    uow = funded(server)
    loan = loans.approve(uow, COR, submitted(uow).id, LoanPolicy())
    sign(uow, loan.id, COR)
    today = fund_day(server)
    loans.disburse(uow, TOM, loan.id, on=today, idempotency_key="out-1")
    signed = loans.approve(uow, COR, submitted(uow).id, LoanPolicy())
    sign(uow, signed.id, COR)
    loans.propose_write_off(uow, TOM, loan.id, "The person left the country.")
    sign_in(page, server.url, "tom")
    assert page.get_by_role("heading", name="Waiting for you").is_visible()
    page.get_by_role("link", name="write-offs to decide").click()
    assert "You proposed this write-off" in page.locator("#write-off-1").inner_text()
    payouts = page.locator(
        "section", has=page.get_by_role("heading", name="Loans to pay out (contract signed)")
    )
    assert signed.id in payouts.inner_text()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server.url, "tia")
    page.goto(f"{server.url}/approvals")
    assert page.locator("#on-1").input_value() == today.isoformat()
    assert serious_violations(page) == []
    shoot(page, "approvals-write-off")
    messages: list[str] = []

    def answer(dialog: Any) -> None:
        messages.append(dialog.message)
        if len(messages) == 1:
            dialog.dismiss()  # the first time: changed one's mind, nothing booked
        else:
            dialog.accept()

    page.on("dialog", answer)
    button = page.get_by_role("button", name="Approve: write off 1.700,00 €")
    button.click()
    assert status(server, loan.id) is LoanStatus.ACTIVE
    button.click()
    page.wait_for_url(f"{server.url}/approvals")
    assert plain(messages[0]).startswith(f"Loan {loan.id}: the fund gives up 1.700,00 € for good.")
    assert f"Loan {loan.id} is written off: 1.700,00 € booked as a loss." in plain(
        page.get_by_role("status").inner_text()
    )
    assert status(server, loan.id) is LoanStatus.WRITTEN_OFF
    assert loans.balances_of(server.uow(), AUDITOR, loan.id).ledger_loan == 0
