"""The approvers' queue, administration and the home page through the web application: forms
refused with their message beside the field and nothing done, four eyes, roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.errors import Conflict
from ledger.domain.loans import Loan
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.domain.statuses import LoanStatus, WriteOffStatus
from ledger.services import loans, users
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR
from tests.support.api import audit_actions
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loans import POLICY, application, person, sign
from tests.support.web import PASSWORD, client_sign_in, csrf_of, staffed_fund

CAS = Actor("cas", Role.CASEWORKER)
COR = Actor("cor", Role.CASEWORKER)
TOM = Actor("tom", Role.TREASURER)
TIA = Actor("tia", Role.TREASURER)  # a second treasurer: four eyes on write-offs
PAID_OUT = date(2026, 3, 15)


@pytest.fixture
def web(engine: Engine, clock: Clock) -> Iterator[TestClient]:
    staffed_fund(engine)
    users.create_user(
        UnitOfWork(engine), Actor("system", Role.ADMIN, True), "tia", PASSWORD, "treasurer"
    )
    book(
        UnitOfWork(engine, clock=clock),
        TOM,
        "2026-03-01 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital",
    )
    settings = Settings(_env_file=None, database_url="sqlite://", fund_languages="en,fr")
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


def submitted(engine: Engine, clock: Clock, by: Actor = CAS, **changes: Any) -> Loan:
    uow = UnitOfWork(engine, clock=clock)
    loan = application(uow, by=by, **changes)
    return loans.submit(uow, by, loan.id, POLICY)


def active(engine: Engine, clock: Clock) -> Loan:
    uow = UnitOfWork(engine, clock=clock)
    loan = loans.approve(uow, COR, submitted(engine, clock).id, LoanPolicy())
    sign(uow, loan.id, COR)
    return loans.disburse(uow, TOM, loan.id, on=PAID_OUT, idempotency_key=f"out-{loan.id}").loan


def status(engine: Engine, loan_id: str) -> LoanStatus:
    return loans.get_loan(UnitOfWork(engine), AUDITOR, loan_id).loan.status


def words(response: object) -> str:
    """A page's text as a reader sees it: no tags, spaces collapsed."""
    html = str(getattr(response, "text", ""))
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" .", ".").replace(" ,", ",")


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{re.escape(field)}-error">([^<]*)</p>', html)
    assert found is not None, f"no error beside {field}"
    return found.group(1)


# -- the queue -----------------------------------------------------------------------------


def test_the_queue_offers_no_decision_on_ones_own_request(
    web: TestClient, engine: Engine, clock: Clock
) -> None:
    loan = submitted(engine, clock)
    client_sign_in(web, "cas")
    mine = web.get("/approvals")
    assert mine.status_code == 200
    assert f"Loan request {loan.id}" in words(mine)
    assert f"/approvals/applications/{loan.id}/decision" not in mine.text  # no button at all
    assert "you cannot decide on it" in words(mine)
    client_sign_in(web, "cor")
    other = web.get("/approvals")
    assert f"/approvals/applications/{loan.id}/decision" in other.text
    assert "Approve loan" in words(other)
    assert "all met" in words(other)  # the rules' outcome in plain words


def test_the_service_refusing_ones_own_request_is_said_and_nothing_changes(
    web: TestClient, engine: Engine, clock: Clock
) -> None:
    loan = submitted(engine, clock)
    client_sign_in(web, "cas")
    csrf = csrf_of(web.get("/approvals").text)
    refused = web.post(
        f"/approvals/applications/{loan.id}/decision", data={"csrf": csrf, "decision": "approve"}
    )
    assert refused.status_code == 403
    assert "This was not done" in words(refused)
    assert "You opened or submitted this application. Another caseworker" in words(refused)
    assert status(engine, loan.id) is LoanStatus.SUBMITTED


def test_approving_then_a_second_click_is_refused_as_already_decided(
    web: TestClient, engine: Engine, clock: Clock
) -> None:
    loan = submitted(engine, clock)
    client_sign_in(web, "cor")
    csrf = csrf_of(web.get("/approvals").text)
    form = {"csrf": csrf, "decision": "approve"}
    done = web.post(f"/approvals/applications/{loan.id}/decision", data=form)
    assert done.status_code == 200  # followed the redirect to the queue
    assert f"Loan {loan.id} is approved" in words(done)
    assert status(engine, loan.id) is LoanStatus.APPROVED
    again = web.post(f"/approvals/applications/{loan.id}/decision", data=form)
    assert again.status_code == 409
    assert "This was not done" in words(again)


def test_a_refusal_without_a_reason_is_422_beside_the_field(
    web: TestClient, engine: Engine, clock: Clock
) -> None:
    loan = submitted(engine, clock)
    client_sign_in(web, "cor")
    csrf = csrf_of(web.get("/approvals").text)
    url = f"/approvals/applications/{loan.id}/decision"
    empty = web.post(url, data={"csrf": csrf, "decision": "reject", "reason": "   "})
    assert empty.status_code == 422
    assert field_error(empty.text, f"reason-{loan.id}") == "Write the reason: it is needed."
    assert f'href="#reason-{loan.id}"' in empty.text  # in the summary at the top too
    assert status(engine, loan.id) is LoanStatus.SUBMITTED
    done = web.post(url, data={"csrf": csrf, "decision": "reject", "reason": "lease too short"})
    assert done.status_code == 200
    assert status(engine, loan.id) is LoanStatus.REJECTED
    (event,) = [
        e
        for e in loans.get_loan(UnitOfWork(engine), AUDITOR, loan.id).events
        if e.action == "reject"
    ]
    assert (event.actor, event.reason) == ("cor", "lease too short")


def test_an_override_needs_a_reason_and_only_an_admin_is_offered_it(
    web: TestClient, engine: Engine, clock: Clock
) -> None:
    uow = UnitOfWork(engine, clock=clock)
    review = application(uow, person(uow, own_savings=None), by=CAS)
    loans.submit(uow, CAS, review.id, POLICY)
    client_sign_in(web, "cor")
    caseworker = web.get("/approvals")
    assert "waits for a supervisor" in words(caseworker)
    assert "eligibility-override" not in caseworker.text
    assert "Approve loan" not in caseworker.text
    client_sign_in(web, "ada")
    page = web.get("/approvals")
    assert f"/approvals/applications/{review.id}/eligibility-override" in page.text
    url = f"/approvals/applications/{review.id}/eligibility-override"
    empty = web.post(url, data={"csrf": csrf_of(page.text), "reason": ""})
    assert empty.status_code == 422
    assert field_error(empty.text, f"override-{review.id}") == "Write the reason: it is needed."
    done = web.post(url, data={"csrf": csrf_of(page.text), "reason": "savings checked: none"})
    assert done.status_code == 200
    assert "accepted despite the rules" in words(done)
    decision = loans.get_loan(UnitOfWork(engine), AUDITOR, review.id).decision
    assert decision is not None and decision.override_by == "ada"
    assert "Approve loan" in words(done)  # now an admin other than the opener may approve


def test_write_offs_four_eyes_bad_date_and_booking_once(
    web: TestClient, engine: Engine, clock: Clock
) -> None:
    loan = active(engine, clock)
    proposal = loans.propose_write_off(UnitOfWork(engine, clock=clock), TOM, loan.id, "gone")
    client_sign_in(web, "tom")
    own = web.get("/approvals")
    assert f"/approvals/write-offs/{proposal.id}/decision" not in own.text
    assert "You proposed this write-off" in words(own)
    client_sign_in(web, "tia")
    page = web.get("/approvals")
    assert f"/approvals/write-offs/{proposal.id}/decision" in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key is not None
    url = f"/approvals/write-offs/{proposal.id}/decision"
    form = {
        "csrf": csrf_of(page.text),
        "decision": "approve",
        "loan_id": loan.id,
        "idempotency_key": key.group(1),
        "on": "15/03/2026",
    }
    bad = web.post(url, data=form)
    assert bad.status_code == 422
    assert field_error(bad.text, f"on-{proposal.id}").startswith("Enter a date")
    assert 'value="15/03/2026"' in bad.text  # what was typed is kept
    no_reason = web.post(url, data={**form, "decision": "reject", "reason": ""})
    assert no_reason.status_code == 422
    assert field_error(no_reason.text, f"wo-reason-{proposal.id}").startswith("Write the reason")
    booked = web.post(url, data={**form, "on": "2026-03-15"})
    assert booked.status_code == 200
    assert f"Loan {loan.id} is written off: 1.700,00 € booked as a loss." in words(booked)
    assert status(engine, loan.id) is LoanStatus.WRITTEN_OFF
    again = web.post(url, data={**form, "on": "2026-03-15"})  # the browser resends the form
    assert again.status_code == 200  # the same booking, answered again
    with UnitOfWork(engine) as uow:
        assert uow.loans.write_off(proposal.id).status is WriteOffStatus.APPROVED


def test_roles_without_a_queue_or_admin_get_403(web: TestClient) -> None:
    client_sign_in(web, "aud")
    assert web.get("/approvals").status_code == 403
    assert web.get("/admin").status_code == 403
    assert web.get("/admin/fund").status_code == 200  # the auditor reads the rules
    client_sign_in(web, "cas")
    assert web.get("/admin").status_code == 403
    assert web.get("/admin/fund").status_code == 403
    csrf = csrf_of(web.get("/").text)
    refused = web.post(
        "/admin/users",
        data={"csrf": csrf, "username": "eve", "role": "admin", "password": "x" * 20},
    )
    assert refused.status_code == 403
    with UnitOfWork(engine_of(web)) as uow:
        assert uow.users.find("eve") is None
    client_sign_in(web, "tom")  # a treasurer: write-offs and payouts, no applications
    page = web.get("/approvals")
    assert page.status_code == 200
    assert "Loans to pay out" in words(page)
    assert "Loan requests to decide" not in page.text
    csrf = csrf_of(page.text)
    assert web.post(
        "/approvals/applications/L000001/decision", data={"csrf": csrf, "decision": "approve"}
    ).status_code in (403, 404)


def engine_of(client: TestClient) -> Engine:
    engine: Engine = client.app.state.ledger.engine  # type: ignore[attr-defined]
    return engine


# -- administration ------------------------------------------------------------------------


def test_creating_a_user_refuses_bad_fields_beside_them(web: TestClient, engine: Engine) -> None:
    client_sign_in(web, "ada")
    csrf = csrf_of(web.get("/admin").text)
    form = {"csrf": csrf, "username": "Marie Dupont", "role": "caseworker", "password": "short"}
    bad = web.post("/admin/users", data=form)
    assert bad.status_code == 422
    assert field_error(bad.text, "new-username").startswith("Use 2 to 64 small letters")
    assert 'value="Marie Dupont"' in bad.text
    assert "short" not in re.sub(r"<[^>]+>", "", bad.text).split("First password")[-1]
    short = web.post("/admin/users", data={**form, "username": "marie"})
    assert short.status_code == 422
    assert field_error(short.text, "new-password") == "The password needs at least 12 characters."
    no_role = web.post(
        "/admin/users", data={**form, "username": "marie", "role": "", "password": "x" * 12}
    )
    assert no_role.status_code == 422
    assert "new-role-error" in no_role.text
    taken = web.post("/admin/users", data={**form, "username": "cas", "password": "x" * 12})
    assert taken.status_code == 409
    assert (
        field_error(taken.text, "new-username")
        == "This user name is already used. Choose another one."
    )
    with UnitOfWork(engine) as uow:
        assert uow.users.find("marie") is None
    done = web.post(
        "/admin/users", data={**form, "username": "marie", "password": "a long first password"}
    )
    assert done.status_code == 200
    assert "The account marie is ready" in words(done)
    with UnitOfWork(engine) as uow:
        created = uow.users.find("marie")
        assert created is not None and created.role == "caseworker" and created.active


def test_reset_and_deactivate_end_the_users_sessions(web: TestClient, engine: Engine) -> None:
    other = TestClient(web.app, base_url="http://testserver")
    assert client_sign_in(other, "cor").status_code == 303
    client_sign_in(web, "ada")
    page = web.get("/admin")
    assert 'action="/admin/users/ada/deactivation"' not in page.text  # not oneself
    assert 'data-confirm="Switch off cor?' in page.text
    csrf = csrf_of(page.text)
    short = web.post("/admin/users/cor/password", data={"csrf": csrf, "password": "short"})
    assert short.status_code == 422
    assert field_error(short.text, "password-cor") == "The password needs at least 12 characters."
    assert other.get("/", follow_redirects=False).status_code == 200  # nothing changed
    done = web.post(
        "/admin/users/cor/password", data={"csrf": csrf, "password": "a new password 2"}
    )
    assert "cor has a new password" in words(done)
    assert other.get("/", follow_redirects=False).status_code == 303  # signed out
    assert client_sign_in(other, "cor", password="a new password 2").status_code == 303
    gone = web.post("/admin/users/cor/deactivation", data={"csrf": csrf})
    assert "cor is switched off" in words(gone)
    assert other.get("/", follow_redirects=False).status_code == 303
    assert client_sign_in(other, "cor", password="a new password 2").status_code == 401


def test_a_long_queue_shows_the_oldest_and_says_how_many_wait(
    web: TestClient, engine: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each part shows the items that have waited longest (the next come up when these are
    done) and says how many wait in all; only the items shown are read (and audited)."""
    from ledger.services.loans import queue

    monkeypatch.setattr(queue, "SHOWN", 2)
    first = [submitted(engine, clock).id for _ in range(3)]
    client_sign_in(web, "ada")
    before = audit_actions(engine).count("read_personal_data")
    page = web.get("/approvals")
    assert "(3)" in words(page)
    assert "The 2 that have waited longest are shown, of 3." in words(page)
    assert f"Loan request {first[0]}" in words(page) and f"Loan request {first[1]}" in words(page)
    assert f"Loan request {first[2]}" not in words(page)
    assert audit_actions(engine).count("read_personal_data") == before + 2


def test_a_switched_off_user_is_switched_on_again_with_their_password(
    web: TestClient, engine: Engine
) -> None:
    client_sign_in(web, "ada")
    csrf = csrf_of(web.get("/admin").text)
    web.post("/admin/users/cor/deactivation", data={"csrf": csrf})
    page = web.get("/admin")
    assert 'action="/admin/users/cor/reactivation"' in page.text
    assert 'action="/admin/users/tom/reactivation"' not in page.text  # tom can sign in
    back = web.post("/admin/users/cor/reactivation", data={"csrf": csrf})
    assert "cor can sign in again" in words(back)
    assert client_sign_in(TestClient(web.app), "cor").status_code == 303
    again = web.post("/admin/users/cor/reactivation", data={"csrf": csrf})
    assert again.status_code == 409
    assert field_error_summary(again.text) == ["This person can already sign in."]
    actions = [a for a in audit_actions(engine) if a.endswith("activate_user")]
    assert actions == ["deactivate_user", "reactivate_user"]


def test_an_admin_changes_a_users_role_and_their_sessions_end(
    web: TestClient, engine: Engine
) -> None:
    other = TestClient(web.app)
    assert client_sign_in(other, "cor").status_code == 303
    client_sign_in(web, "ada")
    page = web.get("/admin")
    assert 'action="/admin/users/cor/role"' in page.text
    assert 'action="/admin/users/ada/role"' not in page.text  # not one's own
    csrf = csrf_of(page.text)
    changed = web.post("/admin/users/cor/role", data={"csrf": csrf, "role": "treasurer"})
    assert "cor is now: treasurer. They must sign in again." in words(changed)
    with UnitOfWork(engine) as uow:
        cor = uow.users.find("cor")
        assert cor is not None and cor.role == "treasurer"
    assert other.get("/", follow_redirects=False).status_code == 303  # signed out
    bad = web.post("/admin/users/cor/role", data={"csrf": csrf, "role": "owner"})
    assert bad.status_code == 422
    assert (
        field_error(bad.text, "role-cor") == "This role does not exist. Choose one from the list."
    )
    own = web.post("/admin/users/ada/role", data={"csrf": csrf, "role": "auditor"})
    assert own.status_code == 409
    assert field_error_summary(own.text) == ["You cannot change your own role. Ask another admin."]
    with pytest.raises(Conflict, match="ada is the last admin"):
        users.change_role(UnitOfWork(engine), SYSTEM, "ada", "caseworker")
    assert audit_actions(engine).count("change_role") == 1


def test_an_admin_cannot_switch_off_themselves_nor_the_last_admin(
    web: TestClient, engine: Engine
) -> None:
    """The page offers no button for oneself; a forged form is refused by the service, and the
    last admin who can sign in cannot be switched off by anyone."""
    client_sign_in(web, "ada")
    csrf = csrf_of(web.get("/admin").text)
    own = web.post("/admin/users/ada/deactivation", data={"csrf": csrf})
    assert own.status_code == 409
    assert field_error_summary(own.text) == [
        "You cannot switch off your own account. Ask another admin."
    ]
    with UnitOfWork(engine) as uow:
        ada = uow.users.find("ada")
        assert ada is not None and ada.active
    users.create_user(UnitOfWork(engine), SYSTEM, "bea", PASSWORD, Role.ADMIN.value)
    bea = TestClient(web.app)
    client_sign_in(bea, "bea")
    bea_csrf = csrf_of(bea.get("/admin").text)
    assert bea.post("/admin/users/ada/deactivation", data={"csrf": bea_csrf}).status_code == 200
    with pytest.raises(Conflict, match="bea is the last admin who can sign in"):
        users.deactivate_user(UnitOfWork(engine), SYSTEM, "bea")  # even from the command line
    users.reactivate_user(UnitOfWork(engine), SYSTEM, "ada")
    users.deactivate_user(UnitOfWork(engine), SYSTEM, "bea")  # ada is an admin again


def field_error_summary(html: str) -> list[str]:
    """The messages of the error summary at the top of a page."""
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert found is not None, "no error summary"
    return [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(r"<a [^>]*>(.*?)</a>", found.group(0), re.S)
    ]


def test_the_fund_page_shows_profile_rules_and_history(
    web: TestClient, engine: Engine, clock: Clock
) -> None:
    submitted(engine, clock)
    client_sign_in(web, "ada")
    fund = web.get("/admin/fund")
    assert fund.status_code == 200
    assert "FUNDLEDGER_FUND_IBAN" in words(fund)
    assert "FUNDLEDGER_FUND_NAME is not set" in words(fund)  # the profile's problems
    assert POLICY.rules.version in fund.text
    assert POLICY.rules.fingerprint in fund.text
    assert "3.000,00 €" in words(fund)  # the fund's cap
    assert "BE-BRU" in words(fund) and "in force" in words(fund)


# -- home ----------------------------------------------------------------------------------


def test_home_lists_my_loans_that_need_something(
    web: TestClient, engine: Engine, clock: Clock
) -> None:
    mine = submitted(engine, clock)
    approved = loans.approve(
        UnitOfWork(engine, clock=clock), COR, submitted(engine, clock).id, LoanPolicy()
    )
    client_sign_in(web, "cas")
    home = web.get("/")
    assert "Waiting for approval" in words(home) and "Contract not signed yet" in words(home)
    assert f'href="/loans/{mine.id}"' in home.text
    assert f'href="/loans/{approved.id}"' in home.text
    assert "Amina Kebede" in words(home)
    client_sign_in(web, "cor")
    assert "Nothing waits for you" in web.get("/").text
    client_sign_in(web, "tom")
    summary = web.get("/")
    assert "Loans by stage" in words(summary)
    assert 'href="/loans?status=submitted"' in summary.text
    assert "Amina Kebede" not in summary.text


# -- wording -------------------------------------------------------------------------------


def test_keys_built_from_a_value_have_every_value() -> None:
    """``t(("work.kind.", kind)|join)``: every kind of work, rule, outcome, setting and role
    these pages name has its words in English (and so in every language, test_web_catalogs)."""
    from dataclasses import fields

    from ledger.domain.eligibility import ApplicationFacts, EligibilityRules, Outcome, decide
    from ledger.services.loans import WorkKind
    from ledger.web.i18n import web_catalog
    from ledger.web.routes.admin import PROFILE
    from tests.support.loans import eur, terms

    t = terms()
    decision = decide(
        ApplicationFacts(
            deposit=t.deposit,
            monthly_rent=t.monthly_rent,
            jurisdiction=t.jurisdiction,
            lease_start=t.lease_start,
            lease_end=t.lease_end,
            installments=24,
            installment=eur("70.84"),
            monthly_net_income=None,
            own_savings=None,
            permit_end=None,
            has_permit_status=False,
            other_open_loans=0,
            past_write_offs=0,
            public_alternatives=t.public_alternatives,
            available_cash=eur("0.00"),
            decision_date=date(2026, 3, 15),
        ),
        EligibilityRules(),
    )
    settings = [f.name.removesuffix("_minor") for f in fields(EligibilityRules)]
    wanted = [
        *(f"approve.rule.{r.rule}" for r in decision.results),
        *(f"approve.{part}.{o.value}" for part in ("outcome", "result") for o in Outcome),
        *(f"work.{part}.{k.value}" for part in ("kind", "why", "date", "do") for k in WorkKind),
        *(f"admin.profile.{name}" for name in PROFILE),
        *(f"admin.rule.{name}" for name in [*settings, "fingerprint"]),
        *(f"admin.role_does.{role.value}" for role in Role),
    ]
    english = web_catalog("en") or {}
    assert len(decision.results) == 12
    assert [key for key in wanted if key not in english] == []


def test_a_caseworker_asks_for_an_exception_and_the_supervisor_reads_why(
    web: TestClient, engine: Engine, clock: Clock
) -> None:
    """The application's form sends the caseworker's reason with the submission; it is kept in
    the loan's history and shown to the supervisor who may override the rules."""
    uow = UnitOfWork(engine, clock=clock)
    review = application(uow, person(uow, own_savings=None), by=CAS)
    client_sign_in(web, "cas")
    form = web.get(f"/applications/{review.id}/edit")
    assert 'name="exception_request"' in form.text
    loans.submit(
        uow,
        CAS,
        review.id,
        POLICY,
        exception_request="  Savings unknown: she left the shelter "
        "last week; her social worker confirms the income.  ",
    )
    event = [e for e in loans.get_loan(uow, AUDITOR, review.id).events if e.action == "submit"]
    assert event[-1].reason == (
        "Savings unknown: she left the shelter last week; her social worker confirms the income."
    )
    client_sign_in(web, "ada")
    page = web.get("/approvals")
    assert "cas asks for an exception: Savings unknown: she left the shelter" in words(page)
    plain = submitted(engine, clock)  # no reason given: nothing shown for it
    assert loans.get_loan(uow, AUDITOR, plain.id).events[-1].reason is None


def test_an_exception_request_longer_than_a_reason_may_be_is_refused(
    engine: Engine, clock: Clock
) -> None:
    from ledger.domain.errors import ValidationError

    uow = UnitOfWork(engine, clock=clock)
    loan = application(uow, by=CAS)
    with pytest.raises(ValidationError, match="longer than 1000"):
        loans.submit(uow, CAS, loan.id, POLICY, exception_request="x" * 1001)
    assert status(engine, loan.id) is LoanStatus.DRAFT
