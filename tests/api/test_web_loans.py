"""The loan page and its forms, as a client sees them: what each role is shown, validation
errors (422, nothing booked), a form sent twice booking once, the personal link shown once,
the documents' download and the catalogs' completeness. (The workflows run in a real browser in
tests/e2e/test_loan_page.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html import unescape
from pathlib import Path
from urllib.parse import unquote

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.documents import DocumentKind
from ledger.domain.loans import DepositForm, Loan, LoanAction
from ledger.domain.statuses import LoanStatus, PaymentKind
from ledger.services import loans
from ledger.services.loans import LoanView
from ledger.store.tables import audit_log, loan_payments
from ledger.store.uow import UnitOfWork
from ledger.web.routes.loans import NEW_LINK_COOKIE
from tests.support.clock import Clock
from tests.support.loan_page import PDF_BYTES, funded_loan, store_document
from tests.support.loans import AUDITOR, TREASURER, eur, loan_in
from tests.support.web import client_sign_in, csrf_of, staffed_fund

LOCALE = Path(__file__).resolve().parents[2] / "ledger" / "web" / "locale"
TEMPLATES = Path(__file__).resolve().parents[2] / "ledger" / "web" / "templates" / "loans"
ROUTES = Path(__file__).resolve().parents[2] / "ledger" / "web" / "routes" / "loans.py"
PAID_OUT = date(2026, 3, 15)  # the clock's first day
DAYS_LATER = 70  # then today is 2026-05-24: two installments late, none paid


@dataclass(frozen=True, slots=True)
class Fund:
    client: TestClient
    engine: Engine
    clock: Clock
    settings: Settings
    loan: Loan

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, clock=self.clock)

    def view(self) -> LoanView:
        return loans.get_loan(self.uow(), AUDITOR, self.loan.id)

    def payments(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(loan_payments)).scalar_one())

    def audited(self, actor: str, action: str) -> int:
        with self.engine.connect() as conn:
            query = select(func.count()).where(
                audit_log.c.actor == actor, audit_log.c.action == action
            )
            return int(conn.execute(query.select_from(audit_log)).scalar_one())


@pytest.fixture
def fund(engine: Engine, clock: Clock, tmp_path: Path) -> Iterator[Fund]:
    staffed_fund(engine)
    loan = funded_loan(engine, clock, paid_out=PAID_OUT)
    clock.advance(days=DAYS_LATER)
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_languages="en,fr,nl,de",
        documents_dir=tmp_path / "documents",
        hash_key="k" * 40,
    )
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield Fund(client, engine, clock, settings, loan)


def _form_values(html: str) -> dict[str, str]:
    """The hidden values of the page's form: its CSRF token and idempotency key."""
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert key is not None, "no idempotency key on the form"
    return {"csrf": csrf_of(html), "idempotency_key": key.group(1)}


def _words(html: str) -> str:
    """The page's text as a reader sees it: no tags, spaces collapsed."""
    body = html.split("<main", 1)[-1]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split()).replace(" .", ".")


def _error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found is not None, f"no error beside {field}"
    return _words(found.group(1))


def _payment(fund: Fund, **fields: str) -> Response:
    form = fund.client.get(f"/loans/{fund.loan.id}/payments/new")
    assert form.status_code == 200
    data = {**_form_values(form.text), "amount": "70,83", "on": "2026-05-20", **fields}
    response: Response = fund.client.post(f"/loans/{fund.loan.id}/payments", data=data)
    return response


def _release(fund: Fund, **fields: str) -> Response:
    form = fund.client.get(f"/loans/{fund.loan.id}/deposit-release/new")
    assert form.status_code == 200
    data = {**_form_values(form.text), "kind": "full", "on": "2026-05-20", **fields}
    response: Response = fund.client.post(f"/loans/{fund.loan.id}/deposit-release", data=data)
    return response


# -- the loan's page -----------------------------------------------------------------------


def test_a_caseworker_sees_the_person_the_lease_the_schedule_and_the_history(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    doc = store_document(fund.engine, fund.settings, fund.loan, fund.clock)
    page = fund.client.get(f"/loans/{fund.loan.id}")
    assert page.status_code == 200
    html = page.text
    assert f'href="/beneficiaries/{fund.loan.beneficiary_id}">Amina Kebede</a>' in html
    assert "Immo Exemple SRL" in html
    assert "Rue de la Loi 1, 1000 Bruxelles" in html
    assert fund.loan.reference.display in html  # +++000/0000/00101+++
    assert "being repaid" in html  # the state in plain words
    assert "blocked bank account" in html
    # As of 24 May 2026, in the fund's zone: March and April are late, May still to come.
    assert html.count('class="inst-late"') == 2
    assert html.count('class="inst-due"') == 22
    assert "141,66 € late, for 54 days" in _words(html)
    assert f'href="/loans/{fund.loan.id}/contract"' in html
    assert f'href="/loans/{fund.loan.id}/documents/{doc.id}"' in html
    assert "deposit paid out" in html and "tina.treasurer" in html
    assert f'href="/loans/{fund.loan.id}/links"' in html
    assert f"/loans/{fund.loan.id}/payments/new" not in html  # a treasurer's form
    assert 'data-label="Due on"' in html  # the schedule stacks on a phone
    # Reading the lease and the person is audited, as the API's reads are: once per view, as
    # a read through the loan (the reads of personal data name its beneficiary).
    assert fund.audited("cas", "read_personal_data") == 1
    with fund.engine.connect() as conn:
        target = conn.execute(
            select(audit_log.c.target).where(audit_log.c.action == "read_personal_data")
        ).scalar_one()
    assert target == f"loan:{fund.loan.id}"
    fund.client.get(f"/loans/{fund.loan.id}")
    assert fund.audited("cas", "read_personal_data") == 2  # another view, another read


@pytest.mark.parametrize("name", ["tom", "aud"])
def test_roles_without_personal_data_see_the_loan_but_no_name_nor_landlord(
    fund: Fund, name: str
) -> None:
    client_sign_in(fund.client, name)
    store_document(fund.engine, fund.settings, fund.loan, fund.clock)
    html = fund.client.get(f"/loans/{fund.loan.id}").text
    assert fund.loan.beneficiary_id in html
    assert "/beneficiaries/" not in html
    assert "Amina" not in html and "Immo Exemple" not in html and "Rue de la Loi" not in html
    assert "/documents/" not in html  # the files hold personal data
    assert "Repayment plan for the person" in html  # but the list of them is shown
    assert "/links" not in html
    treasurer = name == "tom"
    assert (f"/loans/{fund.loan.id}/payments/new" in html) is treasurer
    assert (f"/loans/{fund.loan.id}/deposit-release/new" in html) is treasurer
    assert fund.audited(name, "read_personal_data") == 0


def test_a_reversed_payment_is_marked_and_its_installment_is_owed_again(fund: Fund) -> None:
    paid = loans.record_payment(
        fund.uow(), TREASURER, fund.loan.id, eur("70.83"), on=date(2026, 4, 2), idempotency_key="k1"
    )
    loans.reverse_payment(
        fund.uow(),
        TREASURER,
        paid.entry.id,
        on=date(2026, 4, 20),
        reason="bounced",
        idempotency_key="k2",
    )
    client_sign_in(fund.client, "tom")
    html = fund.client.get(f"/loans/{fund.loan.id}").text
    assert '<tr class="reversed">' in html
    assert "cancelled (bounced or booked by mistake)" in _words(html)
    assert html.count('class="inst-late"') == 2  # the arrears reopened


def test_a_loan_not_paid_out_shows_its_plan_and_no_money_forms(fund: Fund) -> None:
    waiting = loan_in(fund.uow(), LoanStatus.SUBMITTED)
    client_sign_in(fund.client, "tom")
    html = fund.client.get(f"/loans/{waiting.id}").text
    assert "waiting for approval" in html
    assert html.count('class="inst-planned"') == 24
    assert "The loan is not paid out yet: nothing can be late." in _words(html)
    assert "/payments/new" not in html and "/deposit-release/new" not in html
    assert "No payment yet." in html


def test_an_unknown_loan_is_a_404_page(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    page = fund.client.get("/loans/L999999")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]


@pytest.mark.parametrize(
    ("name", "method", "path"),
    [
        ("cas", "GET", "/payments/new"),
        ("aud", "GET", "/payments/new"),
        ("ada", "POST", "/payments"),
        ("cas", "GET", "/deposit-release/new"),
        ("cas", "POST", "/deposit-release"),
        ("tom", "GET", "/links"),
        ("aud", "GET", "/links"),
        ("tom", "POST", "/links"),
        ("tom", "POST", "/links/1/revocation"),
        ("tom", "GET", "/documents/1"),
        ("aud", "GET", "/documents/1"),
    ],
)
def test_a_role_without_the_permission_gets_403_and_nothing_is_done(
    fund: Fund, name: str, method: str, path: str
) -> None:
    client_sign_in(fund.client, name)
    csrf = csrf_of(fund.client.get(f"/loans/{fund.loan.id}").text)
    url = f"/loans/{fund.loan.id}{path}"
    data = {"csrf": csrf, "amount": "10,00", "on": "2026-05-20", "kind": "full", "days": "30"}
    data["idempotency_key"] = "web-refused"
    response = fund.client.get(url) if method == "GET" else fund.client.post(url, data=data)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert fund.payments() == 0


# -- a cash payment ------------------------------------------------------------------------


def test_a_payment_sent_twice_with_the_same_key_is_booked_once(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    form = fund.client.get(f"/loans/{fund.loan.id}/payments/new")
    data = {**_form_values(form.text), "amount": "70,83", "on": "2026-05-20"}
    first = fund.client.post(f"/loans/{fund.loan.id}/payments", data=data)
    assert first.status_code == 200  # after the redirect to the loan's page
    assert str(first.url).endswith(f"/loans/{fund.loan.id}")
    assert "Payment of 70,83 € booked. The loan is now: being repaid." in _words(first.text)
    second = fund.client.post(f"/loans/{fund.loan.id}/payments", data=data)  # a double click
    assert second.status_code == 200
    assert "was already booked: it was not booked a second time" in _words(second.text)
    assert fund.payments() == 1
    view = fund.view()
    assert [(p[2], p[3]) for p in view.payments] == [(7083, PaymentKind.REPAYMENT)]
    assert view.installments[0].paid == 7083
    assert 'class="inst-paid"' in second.text  # the schedule shows it


def test_the_payment_form_makes_a_new_key_each_time(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    url = f"/loans/{fund.loan.id}/payments/new"
    keys = {_form_values(fund.client.get(url).text)["idempotency_key"] for _ in range(2)}
    assert len(keys) == 2


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": ""}, "amount", "Enter an amount."),
        ({"amount": "seventy"}, "amount", "Write the amount with digits only, like 1234,56."),
        ({"amount": "-5"}, "amount", "The amount must be more than zero."),
        ({"amount": "12,345"}, "amount", "Use at most 2 digits after the comma."),
        ({"on": ""}, "on", "This is needed."),
        ({"on": "20/05/2026"}, "on", "Enter a date, like 31/01/2027."),
        ({"on": "2026-03-01"}, "on", "was paid out on 15 Mar 2026"),  # the service's refusal
        ({"on": "2026-06-30"}, "on", "future"),  # after today: the journal's refusal
    ],
)
def test_a_bad_payment_comes_back_with_the_error_beside_its_field_and_nothing_booked(
    fund: Fund, fields: dict[str, str], field: str, message: str
) -> None:
    client_sign_in(fund.client, "tom")
    response = _payment(fund, **fields)
    assert response.status_code == 422
    assert message in _error_of(response.text, field)
    assert 'id="error-summary"' in response.text
    for name, value in fields.items():
        assert f'name="{name}" type' in response.text
        assert f'value="{value}"' in response.text  # what was typed is kept
    assert fund.payments() == 0


def test_a_payment_is_typed_as_the_users_language_writes_amounts(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    home = fund.client.get("/")
    fund.client.post("/me/language", data={"language": "fr", "csrf": csrf_of(home.text)})
    done = _payment(fund, amount="1 000,50")
    assert done.status_code == 200
    assert "Paiement de 1 000,50 € enregistré" in _words(done.text)
    assert fund.view().payments[0][2] == 100050


def test_a_closed_loan_refuses_a_payment_and_says_why(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    form = fund.client.get(f"/loans/{fund.loan.id}/payments/new")  # still active
    assert _release(fund).status_code == 200  # the whole deposit repays the loan
    assert fund.view().loan.status is LoanStatus.CLOSED
    data = {**_form_values(form.text), "amount": "10,00", "on": "2026-05-20"}
    refused = fund.client.post(f"/loans/{fund.loan.id}/payments", data=data)
    assert refused.status_code == 422
    assert "is fully repaid and closed" in _words(refused.text)
    assert fund.payments() == 1  # the deposit's, nothing more
    assert "/payments/new" not in fund.client.get(f"/loans/{fund.loan.id}").text


# -- the deposit at the end of the lease ---------------------------------------------------


def test_the_whole_deposit_back_repays_the_loan(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    done = _release(fund)
    assert done.status_code == 200
    assert (
        "Deposit booked: 1.700,00 € given back, 0,00 € kept by the landlord. "
        "Still to pay back on the loan: 0,00 €." in _words(done.text)
    )
    view = fund.view()
    assert view.loan.status is LoanStatus.CLOSED
    assert [(p[2], p[3]) for p in view.payments] == [(170000, PaymentKind.DEPOSIT_RELEASE)]
    assert "deposit given back by the landlord" in _words(done.text)


def test_part_of_the_deposit_kept_by_the_landlord_stays_owed(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    done = _release(
        fund, kind="partial", returned="1200,00", kept="500,00", kept_reason="broken window"
    )
    assert done.status_code == 200
    assert "1.200,00 € given back, 500,00 € kept by the landlord" in _words(done.text)
    assert "Still to pay back on the loan: 500,00 €." in _words(done.text)
    view = fund.view()
    assert view.loan.status is LoanStatus.ACTIVE
    assert view.outstanding == 50000


def test_a_release_sent_twice_is_booked_once(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    form = fund.client.get(f"/loans/{fund.loan.id}/deposit-release/new")
    data = {
        **_form_values(form.text),
        "kind": "partial",
        "returned": "0",
        "kept": "1700,00",
        "kept_reason": "the flat was left in ruins",
        "on": "2026-05-20",
    }
    first = fund.client.post(f"/loans/{fund.loan.id}/deposit-release", data=data)
    assert "0,00 € given back, 1.700,00 € kept" in _words(first.text)
    second = fund.client.post(f"/loans/{fund.loan.id}/deposit-release", data=data)
    assert "This deposit was already booked" in _words(second.text)
    again = fund.client.post(
        f"/loans/{fund.loan.id}/deposit-release", data={**data, "kept": "1600,00"}
    )
    assert again.status_code == 422  # same key, other values: said, and a new key given
    assert "already sent once with other values" in _words(again.text)
    assert _form_values(again.text)["idempotency_key"] != data["idempotency_key"]
    assert fund.payments() == 0  # nothing came back: no money booked
    assert fund.view().outstanding == 170000


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": ""}, "kind", "Choose whether the landlord gave back all"),
        (
            {"kind": "partial", "returned": "1000,00", "kept": "700,00"},
            "kept_reason",
            "Say why the landlord kept part of the deposit.",
        ),
        ({"kind": "partial", "returned": "0", "kept": ""}, "returned", "they cannot both be zero"),
        ({"kind": "partial", "returned": "abc"}, "returned", "digits only"),
        (
            {"kind": "partial", "returned": "1700,00", "kept": "1,00", "kept_reason": "x"},
            "returned",
            "is more than the deposit",
        ),
        ({"on": "2026-02-01"}, "on", "was paid out on 15 Mar 2026"),
    ],
)
def test_a_bad_release_comes_back_with_the_error_and_nothing_booked(
    fund: Fund, fields: dict[str, str], field: str, message: str
) -> None:
    client_sign_in(fund.client, "tom")
    response = _release(fund, **fields)
    assert response.status_code == 422
    assert message in _error_of(response.text, field)
    assert fund.payments() == 0
    assert fund.view().loan.status is LoanStatus.ACTIVE


def test_a_refusal_of_the_service_is_said_in_the_users_language(fund: Fund) -> None:
    """The service refuses in English for the API; the page says it in the user's words, with
    amounts and dates as the user's locale writes them."""
    client_sign_in(fund.client, "tom")
    home = fund.client.get("/")
    fund.client.post("/me/language", data={"csrf": csrf_of(home.text), "language": "fr"})
    response = _release(
        fund, kind="partial", returned="1700,00", kept="1,00", kept_reason="x", on="2026-05-20"
    )
    assert response.status_code == 422
    said = _error_of(response.text, "returned")
    assert said == "Rendu plus gardé (1 701,00 €) fait plus que la garantie de 1 700,00 €."
    early = _release(fund, on="2026-02-01")
    assert "Le prêt L000001 a été versé le 15 mars 2026." in _error_of(early.text, "on")
    assert fund.payments() == 0


# -- the personal link ---------------------------------------------------------------------


def test_a_new_link_is_shown_once_with_its_qr_code_and_works_until_stopped(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    links = fund.client.get(f"/loans/{fund.loan.id}/links")
    assert links.status_code == 200
    assert 'value="90"' in links.text  # the fund's default lifetime
    made = fund.client.post(
        f"/loans/{fund.loan.id}/links",
        data={"csrf": csrf_of(links.text), "days": "30"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert NEW_LINK_COOKIE in made.headers["set-cookie"]
    assert "HttpOnly" in made.headers["set-cookie"]
    shown = fund.client.get(made.headers["location"])
    found = re.search(r'id="link-url" type="text" readonly value="([^"]+)"', shown.text)
    assert found is not None
    url = found.group(1)
    assert url.startswith("http://testserver/b/")
    assert '<img src="data:image/svg+xml;base64,' in shown.text
    assert 'data-copy="link-url"' in shown.text
    mailto = re.search(r'href="(mailto:[^"]+)"', shown.text)
    assert mailto is not None
    assert mailto.group(1).startswith("mailto:amina@example.org?subject=")
    assert url in unquote(mailto.group(1).replace("&amp;", "&"))
    assert "The personal link is made" in _words(shown.text)
    again = fund.client.get(f"/loans/{fund.loan.id}/links")  # shown once
    assert url not in again.text
    assert "/b/" not in again.text
    token_path = url.removeprefix("http://testserver")
    assert fund.client.get(token_path).status_code == 200  # the person's page
    link_id = re.search(r"/links/([0-9]+)/revocation", again.text)
    assert link_id is not None
    assert "It stops working at once" in again.text  # the confirmation says what happens
    stopped = fund.client.post(
        f"/loans/{fund.loan.id}/links/{link_id.group(1)}/revocation",
        data={"csrf": csrf_of(again.text)},
    )
    assert stopped.status_code == 200
    assert "The link is stopped. It no longer works." in _words(stopped.text)
    assert "stopped on" in _words(stopped.text)
    assert fund.client.get(token_path).status_code == 410


def test_a_link_of_another_loan_cannot_be_stopped_from_this_one(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    page = fund.client.get(f"/loans/{fund.loan.id}/links")
    response = fund.client.post(
        f"/loans/{fund.loan.id}/links/999/revocation", data={"csrf": csrf_of(page.text)}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("days", ["", "0", "367", "ten"])
def test_a_link_with_a_bad_number_of_days_is_refused(fund: Fund, days: str) -> None:
    client_sign_in(fund.client, "cas")
    page = fund.client.get(f"/loans/{fund.loan.id}/links")
    response = fund.client.post(
        f"/loans/{fund.loan.id}/links", data={"csrf": csrf_of(page.text), "days": days}
    )
    assert response.status_code == 422
    assert _error_of(response.text, "days") == "Write a number of days from 1 to 366."
    assert "No link was made for this loan yet." in response.text


# -- documents -----------------------------------------------------------------------------


def test_a_document_is_downloaded_by_a_caseworker_and_the_read_audited(fund: Fund) -> None:
    doc = store_document(fund.engine, fund.settings, fund.loan, fund.clock)
    client_sign_in(fund.client, "cas")
    response = fund.client.get(f"/loans/{fund.loan.id}/documents/{doc.id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == PDF_BYTES
    assert "attachment" in response.headers["content-disposition"]
    assert fund.audited("cas", "read_document") == 1
    other = fund.client.get(f"/loans/L000999/documents/{doc.id}")
    assert other.status_code == 404  # a document is reached through its own loan only
    assert fund.audited("cas", "read_document") == 1


# -- wording -------------------------------------------------------------------------------


def _catalog(language: str) -> dict[str, str]:
    with (LOCALE / language / "LC_MESSAGES" / "loans.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


def test_the_loan_pages_wording_is_complete_in_every_language() -> None:
    english = _catalog("en")
    for language in ("fr", "nl", "de"):
        other = _catalog(language)
        assert set(other) == set(english), language
        assert all(other.values()), language
    assert all(k.startswith(("loanpage.", "flash.loanpage_")) for k in english)
    sources = [p.read_text() for p in (*TEMPLATES.glob("*.html"), ROUTES)]
    quoted = re.compile(r"""["'](loanpage\.[a-z_.]+[a-z_]|flash\.loanpage_[a-z_]+)["']""")
    used = {key for text in sources for key in quoted.findall(text)}
    assert used - set(english) == set()
    built = {
        *(f"loanpage.inst.{s}" for s in ("paid", "late", "due_today", "due", "planned")),
        "loanpage.inst.written_off",
        *(f"loanpage.deposit_form.{f.value}" for f in DepositForm),
        *(f"loanpage.doc.{k.value}" for k in DocumentKind),
        *(f"loanpage.pay.{k.value}" for k in PaymentKind),
        "loanpage.pay.refund",
        *(f"loanpage.contract_state.{s}" for s in ("none", "generated", "signed")),
        "loanpage.contract_state.signed_by_beneficiary",
        *(f"loanpage.event.{a.value}" for a in LoanAction),
        "loanpage.event.open",
        "loanpage.event.settle",
    }
    assert built - set(english) == set()
