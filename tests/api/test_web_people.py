"""People and applications in the web application, as a client sees them: the forms' errors
(422, the field's message, nothing saved), the roles that may not see personal data (403), the
search of people (service, both engines), the live eligibility check (nothing stored), drafts,
submission and an admin's override. The workflows in a browser are tests/e2e/test_people.py."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import (
    ApplicationFacts,
    EligibilityRules,
    PublicAlternatives,
    decide,
)
from ledger.domain.errors import PermissionDenied, ValidationError
from ledger.domain.loans import DepositForm, Lease, LoanTerms
from ledger.domain.money import Money, money
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Actor, Role
from ledger.domain.statuses import LoanStatus
from ledger.services import loans
from ledger.store.tables import audit_log, beneficiaries, eligibility_decisions
from ledger.store.tables import loans as loan_table
from ledger.store.uow import UnitOfWork
from ledger.web.i18n import WebText, web_catalog
from ledger.web.routes.applications import reason_of
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.web import client_sign_in, csrf_of, staffed_fund

CAS = Actor("cas", Role.CASEWORKER)
ADA = Actor("ada", Role.ADMIN)
TOM = Actor("tom", Role.TREASURER)


@pytest.fixture
def web(engine: Engine, clock: Clock) -> Iterator[TestClient]:
    staffed_fund(engine)
    book(
        UnitOfWork(engine, clock=clock),
        TOM,
        "2026-03-01 capital 10000.00 EUR Dr 1000 Cr 3000 ; founding capital",
    )
    settings = Settings(_env_file=None, database_url="sqlite://", fund_languages="en,fr,nl,de")
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


def _uow(engine: Engine, clock: Clock | None = None) -> UnitOfWork:
    return UnitOfWork(engine, clock=clock or Clock())


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _person(engine: Engine, name: str = "Amina Kebede", **changes: Any) -> str:
    data: dict[str, Any] = {
        "full_name": name,
        "preferred_language": "ti",
        "phone": "+32 470 12 34 56",
        "residence_status": "B card",
        "permit_end_date": date(2028, 1, 1),
        "monthly_net_income": eur("1400.00"),
        "household_size": 2,
        "own_savings": eur("100.00"),
    }
    data.update(changes)
    return loans.register_beneficiary(_uow(engine), CAS, "EUR", PersonalData(**data)).id


def eur(text: str) -> Money:
    return money(text, "EUR")


def _signed(web: TestClient, name: str, path: str = "/") -> str:
    """Sign ``name`` in; the CSRF token of their pages."""
    assert client_sign_in(web, name).status_code == 303
    return csrf_of(web.get(path).text)


def _application(**changes: str) -> dict[str, str]:
    """Brussels, 1,700.00 (two months of an 850.00 rent) over 24 months: passes every rule."""
    form = {
        "monthly_rent": "850,00",
        "deposit": "1700,00",
        "jurisdiction": "BE-BRU",
        "deposit_form": "blocked_account",
        "lease_start": "2026-04-01",
        "lease_end": "2029-03-31",
        "first_due_date": "2026-04-30",
        "installments": "24",
        "landlord": "Immo Exemple SRL",
        "address": "Rue de la Loi 1, 1000 Bruxelles",
        "landlord_iban": "BE71 0961 2345 6769",
        "public_alternatives": "refused",
    }
    form.update(changes)
    return form


def _text(page: str) -> str:
    """A page's words, without its tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert found is not None, f"no error beside {field}"
    return found.group(1)


# -- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["tom", "aud"])
def test_treasurer_and_auditor_never_see_people(web: TestClient, engine: Engine, who: str) -> None:
    bid = _person(engine)
    draft = loans.open_application(_uow(engine), CAS, bid, _terms(), _lease(), LoanPolicy())
    csrf = _signed(web, who)
    for path in (
        "/beneficiaries",
        "/beneficiaries?q=amina",
        "/beneficiaries/new",
        f"/beneficiaries/{bid}",
        f"/beneficiaries/{bid}/edit",
        f"/beneficiaries/{bid}/applications/new",
        f"/applications/{draft.id}",
        f"/applications/{draft.id}/edit",
    ):
        response = web.get(path)
        assert response.status_code == 403, path
        assert "Amina" not in response.text
    people = _count(engine, beneficiaries)
    posted = web.post(
        "/beneficiaries/new",
        data={"csrf": csrf, "full_name": "Someone", "preferred_language": "fr"},
    )
    assert posted.status_code == 403
    checked = web.post(
        f"/beneficiaries/{bid}/applications/check", data={"csrf": csrf, **_application()}
    )
    assert checked.status_code == 403, checked.text
    assert "Amina" not in checked.text
    opened = web.post(
        f"/beneficiaries/{bid}/applications/new",
        data={"csrf": csrf, "action": "draft", **_application()},
    )
    assert opened.status_code == 403
    assert _count(engine, beneficiaries) == people
    assert _count(engine, loan_table) == 1
    assert "/beneficiaries" not in web.get("/").text  # no menu entry either


def _terms() -> LoanTerms:
    return LoanTerms(
        deposit=eur("1700.00"),
        monthly_rent=eur("850.00"),
        jurisdiction="BE-BRU",
        deposit_form=DepositForm.BLOCKED_ACCOUNT,
        lease_start=date(2026, 4, 1),
        lease_end=date(2029, 3, 31),
        first_due_date=date(2026, 4, 30),
        installments=24,
        public_alternatives=PublicAlternatives.REFUSED,
    )


def _lease() -> Lease:
    return Lease("Immo Exemple SRL", "Rue de la Loi 1, 1000 Bruxelles")


# -- the search (service) -------------------------------------------------------------------


def test_search_finds_people_by_any_case_of_their_name_or_by_id(engine: Engine) -> None:
    elodie = _person(engine, "Élodie Martin")
    _person(engine, "ÉLISE Dubois")
    _person(engine, "Marc 100% Dupont")
    gone = _person(engine, "Erased Person")
    loans.erase_beneficiary(_uow(engine), CAS, gone)

    def names(text: str, limit: int = 10, offset: int = 0) -> tuple[list[str], int]:
        found, total = loans.search_beneficiaries(
            _uow(engine), CAS, text, limit=limit, offset=offset
        )
        return [p.personal.full_name if p.personal else p.id for p in found], total

    assert names("élodie") == (["Élodie Martin"], 1)
    assert names("ÉLO") == (["Élodie Martin"], 1)
    assert names("  martin ") == (["Élodie Martin"], 1)
    assert names("él") == (["ÉLISE Dubois", "Élodie Martin"], 2)
    assert names("%") == (["Marc 100% Dupont"], 1)  # a wildcard is a plain character
    assert names("_") == ([], 0)
    assert names(elodie.lower()) == (["Élodie Martin"], 1)  # by id
    assert names(gone) == ([gone], 1)  # an erased person: by id only
    assert names("erased") == ([], 0)
    # By the name's letters (the same order on both engines: "é" after "m").
    assert names("") == (["Marc 100% Dupont", "ÉLISE Dubois", "Élodie Martin"], 3)
    assert names("", limit=2, offset=2) == (["Élodie Martin"], 3)


def test_a_search_is_audited_once_without_the_words_searched(engine: Engine) -> None:
    bid = _person(engine, "Élodie Martin")
    before = _count(engine, audit_log)
    loans.search_beneficiaries(_uow(engine), CAS, "Élodie", limit=25, offset=0)
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
    assert len(rows) == before + 1
    record = rows[-1]
    assert (record.actor, record.action, record.target) == (
        "cas",
        "read_personal_data",
        "people:search",
    )
    assert bid in str(record.details)
    assert "lodie" not in str(record.details)


def test_only_roles_that_see_personal_data_may_search(engine: Engine) -> None:
    _person(engine)
    for actor in (TOM, Actor("aud", Role.AUDITOR)):
        with pytest.raises(PermissionDenied):
            loans.search_beneficiaries(_uow(engine), actor, "", limit=10, offset=0)
    with pytest.raises(ValidationError):
        loans.search_beneficiaries(_uow(engine), CAS, "x" * 201, limit=10, offset=0)
    with pytest.raises(ValidationError):
        loans.search_beneficiaries(_uow(engine), CAS, "", limit=0, offset=0)


def test_the_list_pages_and_links_each_person(web: TestClient, engine: Engine) -> None:
    ids = [_person(engine, f"Person {n:02d}") for n in range(30)]
    _signed(web, "cas")
    first = web.get("/beneficiaries")
    assert first.status_code == 200
    assert "Person 00" in first.text and "Person 24" in first.text
    assert "Person 25" not in first.text
    assert f'href="/beneficiaries/{ids[0]}"' in first.text
    assert "/beneficiaries?offset=25" in first.text
    second = web.get("/beneficiaries?offset=25")
    assert "Person 25" in second.text and "Person 00" not in second.text
    found = web.get("/beneficiaries?q=son%2007")
    assert "Person 07" in found.text and "Person 08" not in found.text
    nobody = web.get("/beneficiaries?q=nobody")
    assert "Nobody found" in nobody.text


# -- a person's form ------------------------------------------------------------------------


def test_a_new_person_is_recorded_and_shown(web: TestClient, engine: Engine) -> None:
    csrf = _signed(web, "cas", "/beneficiaries/new")
    form = {
        "csrf": csrf,
        "full_name": "  Yonas Tesfay ",
        "preferred_language": "ti",
        "phone": "+32 470 11 22 33",
        "email": "yonas@example.org",
        "residence_status": "refugee",
        "permit_end_date": "2030-06-30",
        "monthly_net_income": "1250,50",
        "household_size": "3",
        "own_savings": "0",
        "iban": "BE71 0961 2345 6769",
    }
    created = web.post("/beneficiaries/new", data=form, follow_redirects=False)
    assert created.status_code == 303
    location = created.headers["location"]
    assert re.fullmatch(r"/beneficiaries/B[A-Z0-9]{12}", location)
    shown = web.get(location)
    assert shown.status_code == 200
    assert "The person is added." in shown.text
    assert "Yonas Tesfay" in shown.text
    assert "1.250,50\xa0€" in shown.text
    assert "BE71096123456769" in shown.text
    person = loans.read_beneficiary(_uow(engine), CAS, location.rsplit("/", 1)[1])
    assert person.personal is not None
    assert person.personal.own_savings == eur("0")
    assert person.personal.permit_end_date == date(2030, 6, 30)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", "   ", "This is needed."),
        ("email", "not-an-address", "This is not an e-mail address."),
        ("phone", "call me", "Write the phone number with digits"),
        ("monthly_net_income", "12.34.5", "Write the amount with digits only"),
        ("own_savings", "-5", "The amount must be more than zero."),
        ("household_size", "40", "Write a whole number from 1 to 30."),
        ("permit_end_date", "31/12/2030", "Enter a date, like"),
        ("iban", "BE00 1234", "This bank account number is not right."),
    ],
)
def test_a_wrong_field_comes_back_beside_it_and_nothing_is_saved(
    web: TestClient, engine: Engine, field: str, value: str, message: str
) -> None:
    csrf = _signed(web, "cas", "/beneficiaries/new")
    form = {"csrf": csrf, "full_name": "Yonas Tesfay", "preferred_language": "ti", field: value}
    response = web.post("/beneficiaries/new", data=form)
    assert response.status_code == 422
    assert _error_of(response.text, field).startswith(message.split("%")[0])
    assert 'href="#' + field + '"' in response.text  # the summary links to it
    if field != "full_name":
        assert 'value="Yonas Tesfay"' in response.text  # what was typed is kept
    assert _count(engine, beneficiaries) == 0


def test_a_person_is_changed_and_a_wrong_change_is_refused(web: TestClient, engine: Engine) -> None:
    bid = _person(engine)
    csrf = _signed(web, "cas", f"/beneficiaries/{bid}/edit")
    page = web.get(f"/beneficiaries/{bid}/edit")
    assert 'value="Amina Kebede"' in page.text
    assert 'value="1400,00"' in page.text
    wrong = web.post(
        f"/beneficiaries/{bid}/edit",
        data={"csrf": csrf, "full_name": "Amina K.", "preferred_language": "ti", "email": "x@"},
    )
    assert wrong.status_code == 422
    assert loans.read_beneficiary(_uow(engine), CAS, bid).personal.full_name == "Amina Kebede"  # type: ignore[union-attr]
    done = web.post(
        f"/beneficiaries/{bid}/edit",
        data={"csrf": csrf, "full_name": "Amina K.", "preferred_language": "ar"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    person = loans.read_beneficiary(_uow(engine), CAS, bid).personal
    assert person is not None
    assert (person.full_name, person.preferred_language, person.own_savings) == (
        "Amina K.",
        "ar",
        None,
    )


def test_the_person_page_lists_their_loans_and_audits_the_read(
    web: TestClient, engine: Engine
) -> None:
    bid = _person(engine)
    draft = loans.open_application(_uow(engine), CAS, bid, _terms(), _lease(), LoanPolicy())
    _signed(web, "cas")
    before = _count(engine, audit_log)
    page = web.get(f"/beneficiaries/{bid}")
    assert page.status_code == 200
    assert f'href="/loans/{draft.id}"' in page.text
    assert f'href="/applications/{draft.id}/edit"' in page.text
    with engine.connect() as conn:
        actions = [
            (r.action, r.target)
            for r in conn.execute(select(audit_log).where(audit_log.c.id > before))
        ]
    assert ("read_personal_data", f"person:{bid}") in actions
    assert web.get("/beneficiaries/BNOSUCHPERSON1").status_code == 404


# -- applications ---------------------------------------------------------------------------


def test_the_check_shows_every_rule_and_stores_nothing(web: TestClient, engine: Engine) -> None:
    bid = _person(engine)
    csrf = _signed(web, "cas", f"/beneficiaries/{bid}/applications/new")
    page = web.get(f"/beneficiaries/{bid}/applications/new")
    assert page.status_code == 200
    assert 'hx-trigger="input changed delay:500ms"' in page.text
    assert "The check starts when these are filled in" in page.text
    loans_before, decisions_before = (
        _count(engine, loan_table),
        _count(engine, eligibility_decisions),
    )
    passing = web.post(
        f"/beneficiaries/{bid}/applications/check",
        data={"csrf": csrf, **_application()},
        headers={"HX-Request": "true"},
    )
    assert passing.status_code == 200
    assert "<html" not in passing.text  # the panel only
    assert "The application meets every rule." in passing.text
    assert passing.text.count('class="apply-badge badge-pass"') == 12
    too_much = web.post(
        f"/beneficiaries/{bid}/applications/check",
        data={"csrf": csrf, **_application(deposit="2000,00", installments="3")},
    )
    assert "The application does not meet the rules." in too_much.text
    assert too_much.text.index("badge-fail") < too_much.text.index("badge-pass")  # first
    words = _text(too_much.text)
    assert "The deposit of 2.000,00\xa0€ is more than the law allows in Brussels" in words
    assert "2 months of rent, 1.700,00\xa0€." in words
    assert "is more than 15% of the person's income" in words
    half = web.post(
        f"/beneficiaries/{bid}/applications/check",
        data={"csrf": csrf, **_application(installments="", deposit="abc")},
    )
    assert "The check starts when these are filled in" in half.text
    assert "Number of monthly payments" in half.text
    wrong = web.post(
        f"/beneficiaries/{bid}/applications/check",
        data={"csrf": csrf, **_application(deposit="abc")},
    )
    assert "The check waits until these are right" in wrong.text
    assert _count(engine, loan_table) == loans_before
    assert _count(engine, eligibility_decisions) == decisions_before


def _reads(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    """(who, whose, details) of every read of personal data recorded so far, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.target, audit_log.c.details)
            .where(audit_log.c.action == "read_personal_data")
            .order_by(audit_log.c.id)
        )
        return [(r.actor, r.target, r.details) for r in rows]


def _read_key(page: str) -> str:
    found = re.search(r'name="read_key" value="([0-9a-f]{64})"', page)
    assert found is not None, "the form has no read key"
    return found.group(1)


def test_the_checks_of_one_view_of_the_form_record_its_read_once(
    web: TestClient, engine: Engine
) -> None:
    """The form's page records that it read the person; the live checks it makes while shown
    (with its key) read the same person's data and record nothing more. A check without that
    key, with another person's, or another session's, records its own read."""
    bid, other = _person(engine), _person(engine, "Berhane Tesfay")
    csrf = _signed(web, "cas")
    before = len(_reads(engine))
    page = web.get(f"/beneficiaries/{bid}/applications/new")
    assert _reads(engine)[before:] == [("cas", f"person:{bid}", None)]
    key = _read_key(page.text)
    for deposit in ("1700,00", "1600,00", "2000,00"):
        checked = web.post(
            f"/beneficiaries/{bid}/applications/check",
            data={"csrf": csrf, "read_key": key, **_application(deposit=deposit)},
            headers={"HX-Request": "true"},
        )
        assert checked.status_code == 200 and "badge-" in checked.text
    assert len(_reads(engine)) == before + 1
    alone = {"csrf": csrf, **_application()}
    elsewhere = _read_key(web.get(f"/beneficiaries/{other}/applications/new").text)
    for data in (alone, {**alone, "read_key": elsewhere}, {**alone, "read_key": "0" * 64}):
        web.post(f"/beneficiaries/{bid}/applications/check", data=data)
    preview = '{"for": "eligibility_preview"}'
    assert _reads(engine)[before + 2 :] == [("cas", f"person:{bid}", preview)] * 3
    # Another session of the same person gets other keys.
    web.post("/sign-out", data={"csrf": csrf})
    csrf = _signed(web, "cas")
    web.post(
        f"/beneficiaries/{bid}/applications/check", data={"csrf": csrf, "read_key": key, **alone}
    )
    assert _reads(engine)[-1] == ("cas", f"person:{bid}", preview)


def test_a_drafts_form_records_one_read_per_view(web: TestClient, engine: Engine) -> None:
    """The draft's form reads the loan's lease and its person and runs the check: one read."""
    bid = _person(engine)
    draft = loans.open_application(_uow(engine), CAS, bid, _terms(), _lease(), LoanPolicy())
    _signed(web, "cas")
    before = len(_reads(engine))
    page = web.get(f"/applications/{draft.id}/edit")
    assert page.status_code == 200 and "badge-" in page.text  # the check ran
    assert _reads(engine)[before:] == [("cas", f"loan:{draft.id}", '{"via": "loan_page"}')]
    assert web.get(f"/applications/{draft.id}").status_code == 200
    assert len(_reads(engine)) == before + 2


def test_the_check_speaks_the_users_language(web: TestClient, engine: Engine) -> None:
    bid = _person(engine, own_savings=eur("5000.00"))
    csrf = _signed(web, "cas")
    web.post("/me/language", data={"csrf": csrf, "language": "fr"})
    checked = web.post(
        f"/beneficiaries/{bid}/applications/check",
        data={"csrf": csrf, **_application(monthly_rent="850,00", deposit="1700,00")},
    )
    assert "La demande ne respecte pas les règles." in checked.text
    assert "suffit pour payer la garantie" in checked.text
    assert "5\u202f000,00\xa0€" in checked.text


def test_a_wrong_application_comes_back_and_books_nothing(web: TestClient, engine: Engine) -> None:
    bid = _person(engine)
    csrf = _signed(web, "cas")
    for changes, field, message in (
        ({"deposit": "1,700.00"}, "deposit", "Write the amount with digits only"),
        ({"lease_start": "yesterday"}, "lease_start", "Enter a date"),
        ({"lease_end": "2026-03-01"}, "lease_end", "The lease must end after it starts."),
        ({"installments": "0"}, "installments", "Write a whole number from 1 to 120."),
        ({"installments": "48"}, "installments", "The last payment would come after the lease"),
        ({"landlord_iban": "NL00 0000"}, "landlord_iban", "This bank account number is not"),
        ({"deposit_form": "cash"}, "deposit_form", "Choose one from the list."),
    ):
        response = web.post(
            f"/beneficiaries/{bid}/applications/new",
            data={"csrf": csrf, "action": "draft", **_application(**changes)},
        )
        assert response.status_code == 422, changes
        assert _error_of(response.text, field).startswith(message), changes
        assert 'value="Immo Exemple SRL"' in response.text
    assert _count(engine, loan_table) == 0


def test_a_draft_is_saved_changed_and_submitted(web: TestClient, engine: Engine) -> None:
    bid = _person(engine)
    csrf = _signed(web, "cas")
    saved = web.post(
        f"/beneficiaries/{bid}/applications/new",
        data={"csrf": csrf, "action": "draft", **_application()},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    loan_id = saved.headers["location"].split("/")[2]
    assert saved.headers["location"] == f"/applications/{loan_id}/edit"
    view = loans.get_loan(_uow(engine), CAS, loan_id)
    assert view.loan.status is LoanStatus.DRAFT
    assert view.lease is not None and view.lease.landlord_iban == "BE71096123456769"
    page = web.get(f"/applications/{loan_id}/edit")
    assert f"Application {loan_id} is saved as a draft." in _text(page.text)
    assert 'value="1700,00"' in page.text
    assert "The application meets every rule." in page.text  # checked as it stands
    changed = web.post(
        f"/applications/{loan_id}/edit",
        data={"csrf": csrf, "action": "save", **_application(installments="20")},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert loans.get_loan(_uow(engine), CAS, loan_id).loan.terms.installments == 20
    refused = web.post(
        f"/applications/{loan_id}/edit",
        data={"csrf": csrf, "action": "submit", **_application(monthly_rent="")},
    )
    assert refused.status_code == 422
    assert loans.get_loan(_uow(engine), CAS, loan_id).loan.status is LoanStatus.DRAFT
    sent = web.post(
        f"/applications/{loan_id}/edit",
        data={"csrf": csrf, "action": "submit", **_application(installments="18")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/loans/{loan_id}"
    assert "apply_submitted%22" in sent.headers["set-cookie"]
    loan = loans.get_loan(_uow(engine), CAS, loan_id)
    assert loan.loan.status is LoanStatus.SUBMITTED
    assert loan.loan.terms.installments == 18
    assert loan.decision is not None and loan.decision.outcome == "pass"
    later = web.get(f"/applications/{loan_id}/edit", follow_redirects=False)
    assert later.status_code == 303  # no longer a draft: its page instead
    assert later.headers["location"] == f"/applications/{loan_id}"


def test_a_new_application_can_be_sent_at_once(web: TestClient, engine: Engine) -> None:
    bid = _person(engine)
    csrf = _signed(web, "cas")
    sent = web.post(
        f"/beneficiaries/{bid}/applications/new",
        data={"csrf": csrf, "action": "submit", **_application(public_alternatives="not_tried")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    loan_id = sent.headers["location"].rsplit("/", 1)[1]
    assert sent.headers["location"] == f"/loans/{loan_id}"
    assert "apply_submitted_review" in sent.headers["set-cookie"]
    loan = loans.get_loan(_uow(engine), CAS, loan_id)
    assert loan.loan.status is LoanStatus.SUBMITTED
    assert loan.decision is not None and loan.decision.outcome == "review"


def test_an_application_form_sent_twice_opens_one_loan(web: TestClient, engine: Engine) -> None:
    """The form carries a key made when it is shown: a double click, or the browser sending it
    again, opens one loan; the key sent for another person opens nothing and says so."""
    bid = _person(engine)
    csrf = _signed(web, "cas")
    form = web.get(f"/beneficiaries/{bid}/applications/new")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
    assert key is not None
    data = {"csrf": csrf, "action": "draft", "idempotency_key": key.group(1), **_application()}
    url = f"/beneficiaries/{bid}/applications/new"
    first = web.post(url, data=data, follow_redirects=False)
    second = web.post(url, data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert _count(engine, loan_table) == 1
    loan_id = first.headers["location"].split("/")[2]
    submitted = web.post(url, data={**data, "action": "submit"}, follow_redirects=False)
    assert submitted.headers["location"] == f"/loans/{loan_id}"  # the draft, now submitted
    assert loans.get_loan(_uow(engine), CAS, loan_id).loan.status is LoanStatus.SUBMITTED
    again = web.post(url, data={**data, "action": "submit"}, follow_redirects=False)
    assert again.headers["location"] == f"/loans/{loan_id}"
    assert "apply_sent_before" in again.headers["set-cookie"]
    other = _person(engine)
    elsewhere = web.post(f"/beneficiaries/{other}/applications/new", data=data)
    assert elsewhere.status_code == 422
    assert "This form was already used for another application." in _text(elsewhere.text)
    fresh = re.search(r'name="idempotency_key" value="([^"]+)"', elsewhere.text)
    assert fresh is not None and fresh.group(1) != key.group(1)
    assert 'value="Immo Exemple SRL"' in elsewhere.text  # what was typed is kept
    assert _count(engine, loan_table) == 1


def test_without_script_the_check_button_reloads_the_page(web: TestClient, engine: Engine) -> None:
    bid = _person(engine)
    csrf = _signed(web, "cas")
    page = web.post(
        f"/beneficiaries/{bid}/applications/new",
        data={"csrf": csrf, "action": "check", **_application(jurisdiction="BE-VLG")},
    )
    assert page.status_code == 200
    assert "<html" in page.text
    assert "The application meets every rule." in page.text
    assert _count(engine, loan_table) == 0


def _submitted_failing(engine: Engine) -> str:
    bid = _person(engine, own_savings=eur("5000.00"))
    loan = loans.open_application(_uow(engine), CAS, bid, _terms(), _lease(), LoanPolicy())
    loans.submit(_uow(engine), CAS, loan.id, LoanPolicy())
    return loan.id


def test_an_admin_overrides_a_failed_decision_with_a_reason(
    web: TestClient, engine: Engine
) -> None:
    loan_id = _submitted_failing(engine)
    _signed(web, "cas")
    caseworker = web.get(f"/applications/{loan_id}")
    assert caseworker.status_code == 200
    assert "The application does not meet the rules." in caseworker.text
    assert "are enough to pay the deposit" in caseworker.text  # the stored reason, worded
    assert "An administrator must decide on this application." in caseworker.text
    assert 'action="/applications/' not in caseworker.text
    web.post("/sign-out", data={"csrf": csrf_of(caseworker.text)})
    csrf = _signed(web, "ada", f"/applications/{loan_id}")
    admin = web.get(f"/applications/{loan_id}")
    assert f'action="/applications/{loan_id}/override"' in admin.text
    empty = web.post(f"/applications/{loan_id}/override", data={"csrf": csrf, "reason": "  "})
    assert empty.status_code == 422
    assert _error_of(empty.text, "reason") == "Write why you accept this application."
    assert loans.get_loan(_uow(engine), ADA, loan_id).decision.override_by is None  # type: ignore[union-attr]
    done = web.post(
        f"/applications/{loan_id}/override",
        data={"csrf": csrf, "reason": "Savings are set aside for the move"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    decision = loans.get_loan(_uow(engine), ADA, loan_id).decision
    assert decision is not None
    assert (decision.override_by, decision.override_reason) == (
        "ada",
        "Savings are set aside for the move",
    )
    shown = web.get(f"/applications/{loan_id}")
    assert "Accepted anyway by ada." in _text(shown.text)
    assert f'action="/applications/{loan_id}/override"' not in shown.text


def test_an_admin_may_not_override_their_own_application(web: TestClient, engine: Engine) -> None:
    bid = _person(engine, own_savings=eur("5000.00"))
    loan = loans.open_application(_uow(engine), ADA, bid, _terms(), _lease(), LoanPolicy())
    loans.submit(_uow(engine), ADA, loan.id, LoanPolicy())
    csrf = _signed(web, "ada")
    page = web.get(f"/applications/{loan.id}")
    assert "another administrator must decide" in page.text
    forced = web.post(f"/applications/{loan.id}/override", data={"csrf": csrf, "reason": "mine"})
    assert forced.status_code == 403
    assert loans.get_loan(_uow(engine), ADA, loan.id).decision.override_by is None  # type: ignore[union-attr]
    caseworker_csrf = _signed(web, "cas")
    refused = web.post(
        f"/applications/{loan.id}/override", data={"csrf": caseworker_csrf, "reason": "please"}
    )
    assert refused.status_code == 403


def test_a_stored_decision_is_worded_again_only_under_the_same_rules(
    web: TestClient, engine: Engine
) -> None:
    loan_id = _submitted_failing(engine)
    decision = loans.get_loan(_uow(engine), CAS, loan_id).decision
    assert decision is not None
    again = loans.stored_reasons(decision, "EUR", LoanPolicy())
    assert again is not None
    assert [r.outcome.value for r in again.results] == [r["outcome"] for r in decision.results]
    assert [r.reason for r in again.results] == [r["reason"] for r in decision.results]
    savings = next(r for r in again.results if r.rule == "own_savings")
    assert (savings.code, savings.values) == ("cover", {"savings": eur("5000.00")})
    other = LoanPolicy(rules=EligibilityRules(version="other", max_months=12))
    assert loans.stored_reasons(decision, "EUR", other) is None


def test_the_preview_refuses_another_persons_draft(web: TestClient, engine: Engine) -> None:
    bid = _person(engine)
    other = _person(engine, "Other Person")
    loan = loans.open_application(_uow(engine), CAS, bid, _terms(), _lease(), LoanPolicy())
    with pytest.raises(ValidationError):
        loans.preview_eligibility(_uow(engine), CAS, other, _terms(), LoanPolicy(), loan_id=loan.id)
    with pytest.raises(PermissionDenied):
        loans.preview_eligibility(_uow(engine), TOM, bid, _terms(), LoanPolicy())


def _facts(**changes: Any) -> ApplicationFacts:
    base: dict[str, Any] = {
        "deposit": eur("1700.00"),
        "monthly_rent": eur("850.00"),
        "jurisdiction": "BE-BRU",
        "lease_start": date(2026, 4, 1),
        "lease_end": date(2029, 3, 31),
        "installments": 24,
        "installment": eur("70.84"),
        "monthly_net_income": eur("1400.00"),
        "own_savings": eur("100.00"),
        "permit_end": None,
        "has_permit_status": True,
        "other_open_loans": 0,
        "past_write_offs": 0,
        "public_alternatives": PublicAlternatives.REFUSED,
        "available_cash": eur("10000.00"),
        "decision_date": date(2026, 3, 15),
    }
    base.update(changes)
    return ApplicationFacts(**base)


def test_every_case_of_every_rule_has_its_words_in_each_language() -> None:
    """Each case a rule can answer (``RuleResult.code``) has a message in every catalog, with
    the figures it quotes; and no message is left for a case that no longer exists."""
    short_lease = date(2026, 9, 30)
    variants: list[dict[str, Any]] = [
        {},
        {"jurisdiction": "XX"},
        {"deposit": eur("5000.00")},
        {"other_open_loans": 1},
        {"past_write_offs": 1},
        {"public_alternatives": PublicAlternatives.NOT_TRIED},
        {"own_savings": None},
        {"own_savings": eur("2000.00")},
        {"monthly_net_income": None},
        {"monthly_net_income": eur("100.00")},
        {"has_permit_status": False},
        {"permit_end": date(2026, 1, 1)},
        {"lease_end": None, "installments": 30},
        {"lease_end": short_lease},
        {"lease_end": short_lease, "installments": 3},
        {"lease_start": date(2025, 1, 1), "lease_end": date(2026, 3, 1), "installments": 12},
        {"first_due": date(2026, 3, 15)},
        {"installments": 100, "installment": eur("17.00")},
        {"available_cash": eur("500.00")},
    ]
    rules = EligibilityRules()
    results = [r for v in variants for r in decide(_facts(**v), rules).results]
    results += decide(_facts(), EligibilityRules(require_valid_permit=False)).results
    english = web_catalog("en")
    assert english is not None
    cases = {f"apply.rule.{r.rule}.{r.code}" for r in results}
    keys = {k for k in english if k.startswith("apply.rule.") and k.count(".") == 3}
    assert cases == keys
    assert {f"apply.rule.{r.rule}" for r in results} <= set(english)
    for language in ("en", "fr", "nl", "de"):
        text = WebText(language, "BE", ZoneInfo("Europe/Brussels"))
        for result in results:
            worded = str(reason_of(text, result))
            assert "%(" not in worded and text.missing == (), (language, result.rule)
            assert worded != result.reason or language == "en"
