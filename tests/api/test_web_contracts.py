"""The contract pages as a client sees them: each refusal comes back on the page (422, beside
its field, what was typed kept) with nothing stored or booked; roles; the PDF; the upload's
size limit; the payout booked once. (The workflows run in a real browser: tests/e2e.)"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.documents import CONTRACT_KINDS, DocumentKind, NewDocument
from ledger.domain.loans import Loan
from ledger.domain.statuses import LoanStatus
from ledger.services import contracts, loans
from ledger.services.contracts import DocumentSettings
from ledger.store.tables import audit_log, documents, journal_entries
from ledger.store.uow import UnitOfWork
from ledger.web.i18n import UI_LANGUAGES, web_catalog
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.contracts import (
    CASEWORKER,
    KEY_PASSWORD,
    approved_loan,
    drawn_signature,
    own_key,
    stored_files,
)
from tests.support.ledgertext import book
from tests.support.pdf import minimal_pdf
from tests.support.web import client_sign_in, csrf_of, staffed_fund

MAX_UPLOAD = 60_000

APPROVED = "lu et approuvé"  # typed before signing, in the contract's language


@pytest.fixture
def settings(tmp_path: Path, fund_key_file: Path) -> Settings:
    key = own_key(tmp_path, fund_key_file)
    return Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_languages="en,fr",
        documents_dir=tmp_path / "documents",
        signing_key_file=key,
        signing_key_password=KEY_PASSWORD,
        max_upload_bytes=MAX_UPLOAD,
        max_request_bytes=20_000,  # smaller than an upload: the scan's path has its own limit
    )


@pytest.fixture
def web(engine: Engine, clock: Clock, settings: Settings) -> Iterator[TestClient]:
    staffed_fund(engine)
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def loan(web: TestClient, engine: Engine, clock: Clock) -> Loan:
    """Approved (clock: 2026-03-15), with capital in the bank to pay it out."""
    uow = UnitOfWork(engine, clock=clock)
    book(uow, TREASURER, "2026-03-01 capital 10000.00 EUR Dr 1000 Cr 3000 ; founding capital")
    return approved_loan(uow)


def page_of(web: TestClient, loan: Loan) -> str:
    response = web.get(f"/loans/{loan.id}/contract")
    assert response.status_code == 200, response.text
    text: str = response.text
    return text


def sign_as(web: TestClient, name: str) -> None:
    web.cookies.clear()
    assert client_sign_in(web, name).status_code == 303


def make_contract(web: TestClient, loan: Loan) -> None:
    csrf = csrf_of(page_of(web, loan))
    made = web.post(f"/loans/{loan.id}/contract/versions", data={"csrf": csrf})
    assert made.status_code == 200 and "Contract version 1 is made, in French." in plain(made.text)


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def document_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(documents)).scalar_one())


def entries(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(journal_entries)).scalar_one())


def error_of(html: str, name: str) -> str:
    found = re.search(rf'<p class="error[^"]*" id="{name}-error">(.*?)</p>', html, re.S)
    assert found is not None, f"no error beside {name}"
    return found.group(1)


def unescape(text: str) -> str:
    return html.unescape(text)


def plain(page: str) -> str:
    """A page's text as a reader sees it: no tags (the values' <bdi> isolation), one space."""
    text = re.sub(r"</?bdi[^>]*>", "", page)  # inside a sentence
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


# -- pages and roles -----------------------------------------------------------------------------


def test_every_role_sees_where_the_contract_stands(web: TestClient, loan: Loan) -> None:
    for name, next_step in (
        ("cas", "Make the contract"),
        ("tom", "A social worker now makes the contract."),
        ("aud", "A social worker now makes the contract."),
    ):
        sign_as(web, name)
        html = page_of(web, loan)
        assert f"Contract of loan {loan.id}" in html
        assert next_step in html
        assert f'href="/loans/{loan.id}"' in html  # back to the loan's page
        assert "<script>" not in html and "style=" not in html  # CSP: nothing inline


def test_roles_without_the_permission_get_403_and_nothing_changes(
    web: TestClient, loan: Loan, engine: Engine
) -> None:
    sign_as(web, "tom")  # a treasurer makes no contract, records no signature, reads no PDF
    csrf = csrf_of(page_of(web, loan))
    refused = web.post(f"/loans/{loan.id}/contract/versions", data={"csrf": csrf})
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert document_rows(engine) == 0

    sign_as(web, "cas")
    make_contract(web, loan)
    doc = f"/loans/{loan.id}/contract/documents/1"
    assert web.get(doc).status_code == 200
    for name in ("tom", "aud"):
        sign_as(web, name)
        csrf = csrf_of(page_of(web, loan))
        assert web.get(doc).status_code == 403
        signed = web.post(
            f"/loans/{loan.id}/contract/versions/1/signature",
            data={
                "csrf": csrf,
                "full_name": "Olena Kovalenko",
                "signature": data_url(drawn_signature()),
                "read_and_approved": "lu et approuvé",
            },
        )
        assert signed.status_code == 403
        scan = web.post(
            "/contract-scans",
            data={"csrf": csrf, "loan_id": loan.id, "version": "1"},
            files={"file": ("signed.pdf", minimal_pdf(), "application/pdf")},
        )
        assert scan.status_code == 403
        assert (
            web.post(
                f"/loans/{loan.id}/contract/versions/1/fund-signature", data={"csrf": csrf}
            ).status_code
            == 403
        )
    assert document_rows(engine) == 1

    sign_as(web, "cas")  # only the treasurer pays out
    csrf = csrf_of(page_of(web, loan))
    payout = web.post(
        f"/loans/{loan.id}/payout",
        data={"csrf": csrf, "payout_on": "2026-03-15", "idempotency_key": "web-k1"},
    )
    assert payout.status_code == 403
    assert entries(engine) == 1  # the capital only


def test_a_post_without_the_csrf_token_is_refused(
    web: TestClient, loan: Loan, engine: Engine
) -> None:
    sign_as(web, "cas")
    refused = web.post(f"/loans/{loan.id}/contract/versions", data={})
    assert refused.status_code == 403
    assert document_rows(engine) == 0


def test_an_unknown_loan_or_another_loans_document_is_not_found(
    web: TestClient, loan: Loan, engine: Engine, clock: Clock
) -> None:
    sign_as(web, "cas")
    assert web.get("/loans/L999999/contract").status_code == 404
    make_contract(web, loan)
    other = approved_loan(UnitOfWork(engine, clock=clock), name="Amina Haile")
    assert web.get(f"/loans/{other.id}/contract/documents/1").status_code == 404


def test_the_pdf_is_shown_in_the_browser_and_its_reading_audited(
    web: TestClient, loan: Loan, engine: Engine
) -> None:
    sign_as(web, "cas")
    make_contract(web, loan)
    shown = web.get(f"/loans/{loan.id}/contract/documents/1")
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"] == f'inline; filename="{loan.id}-contract-v1.pdf"'
    assert shown.headers["cache-control"] == "no-store"
    assert shown.content.startswith(b"%PDF-")
    saved = web.get(f"/loans/{loan.id}/contract/documents/1?download=1")
    assert saved.headers["content-disposition"].startswith("attachment;")
    assert saved.content == shown.content
    with engine.connect() as conn:
        reads = conn.execute(
            select(func.count()).where(audit_log.c.action == "read_document")
        ).scalar_one()
    assert reads == 2


# -- the beneficiary's signature -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (
            {"full_name": "Olena Kovalenko", "signature": "", "read_and_approved": APPROVED},
            "signature",
            "Draw the signature in the white box",
        ),
        (
            {"full_name": "Olena Kovalenko", "signature": "data:image/png;base64,@@@"},
            "signature",
            "Draw the signature in the white box",
        ),
        (
            {"full_name": "Olena Kovalenko", "signature": "DRAWN"},
            "read_and_approved",
            "Have the person type the words that come before a signature on paper: lu et "
            "approuvé / read and approved.",
        ),
        (
            {"full_name": "Olena Kovalenko", "signature": "DRAWN", "read_and_approved": "ok"},
            "read_and_approved",
            "Have the person type the words",
        ),
        (
            {"full_name": "Olena Someone", "signature": "DRAWN", "read_and_approved": APPROVED},
            "full_name",
            "This is not the name registered for this person.",
        ),
        (
            {"full_name": "   ", "signature": "DRAWN", "read_and_approved": APPROVED},
            "full_name",
            "Type the full name of the person signing",
        ),
    ],
)
def test_a_refused_signature_says_why_beside_its_field_and_keeps_nothing(
    web: TestClient,
    loan: Loan,
    engine: Engine,
    settings: Settings,
    form: dict[str, str],
    field: str,
    message: str,
) -> None:
    sign_as(web, "cas")
    make_contract(web, loan)
    rows, files = document_rows(engine), stored_files(settings.documents_path())
    data = {**form, "csrf": csrf_of(page_of(web, loan))}
    if data["signature"] == "DRAWN":
        data["signature"] = data_url(drawn_signature())
    refused = web.post(f"/loans/{loan.id}/contract/versions/1/signature", data=data)
    assert refused.status_code == 422
    assert unescape(error_of(refused.text, field)).startswith(message)
    assert 'class="error-summary"' in refused.text
    if form["full_name"].strip():
        assert f'value="{form["full_name"]}"' in refused.text  # what was typed is kept
    assert (document_rows(engine), stored_files(settings.documents_path())) == (rows, files)


def test_signed_on_screen_then_for_the_fund_by_someone_else(
    web: TestClient, loan: Loan, engine: Engine, clock: Clock, settings: Settings
) -> None:
    sign_as(web, "cas")
    make_contract(web, loan)
    signed = web.post(
        f"/loans/{loan.id}/contract/versions/1/signature",
        data={
            "csrf": csrf_of(page_of(web, loan)),
            "full_name": "Олена Коваленко",
            "signature": data_url(drawn_signature()),
            "read_and_approved": "lu et approuvé",
        },
    )
    assert signed.status_code == 200 and "The person's signature is recorded." in plain(signed.text)
    assert "You recorded the person's signature" in plain(signed.text)
    assert "fund-signature" not in signed.text  # no button: four eyes
    # Sent anyway, the fund's signature by the same person is refused, and nothing changes.
    refused = web.post(
        f"/loans/{loan.id}/contract/versions/1/fund-signature", data={"csrf": csrf_of(signed.text)}
    )
    assert refused.status_code == 403 and "Another staff member" in refused.text
    status = contracts.contract_status(UnitOfWork(engine, clock=clock), AUDITOR, loan.id)
    assert status.state == "signed_by_beneficiary"

    sign_as(web, "cor")
    fund = web.post(
        f"/loans/{loan.id}/contract/versions/1/fund-signature",
        data={"csrf": csrf_of(page_of(web, loan))},
    )
    assert fund.status_code == 200 and "The fund signed the contract." in fund.text
    assert "The loan is waiting for the payout by the treasurer" in fund.text
    view = loans.get_loan(UnitOfWork(engine, clock=clock), AUDITOR, loan.id)
    assert view.loan.status is LoanStatus.CONTRACT_SIGNED
    assert document_rows(engine) == 3


# -- the signed scan -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (None, "Choose the PDF file of the signed contract."),
        (("empty.pdf", b""), "This file cannot be used"),
        (("photo.jpg", b"\xff\xd8\xff\xe0 a photo"), "This file cannot be used"),
        (("broken.pdf", b"%PDF-1.7\nthis is no PDF at all"), "This file cannot be used"),
        (
            ("big.pdf", b"%PDF-1.7\n" + b"0" * MAX_UPLOAD),
            "The file is larger than 0,06 MB. Scan in black and white",
        ),
    ],
)
def test_a_refused_scan_says_why_and_keeps_nothing(
    web: TestClient,
    loan: Loan,
    engine: Engine,
    settings: Settings,
    upload: tuple[str, bytes] | None,
    message: str,
) -> None:
    sign_as(web, "cas")
    make_contract(web, loan)
    rows, files = document_rows(engine), stored_files(settings.documents_path())
    data = {"csrf": csrf_of(page_of(web, loan)), "loan_id": loan.id, "version": "1"}
    files_sent = {"file": (upload[0], upload[1], "application/pdf")} if upload else None
    if upload is None:  # a form sent without choosing a file: an empty part, as browsers do
        files_sent = {"file": ("", b"", "application/octet-stream")}
    refused = web.post("/contract-scans", data=data, files=files_sent)
    assert refused.status_code == 422, refused.text[:300]
    assert unescape(error_of(refused.text, "scan")).startswith(message)
    assert (document_rows(engine), stored_files(settings.documents_path())) == (rows, files)


def test_a_scan_larger_than_other_forms_may_be_reaches_the_upload(
    web: TestClient, loan: Loan, settings: Settings
) -> None:
    """The scan's path has the upload's size limit, not the smaller one of other requests."""
    sign_as(web, "cas")
    make_contract(web, loan)
    csrf = csrf_of(page_of(web, loan))
    large = minimal_pdf(b"BT /F1 12 Tf 72 720 Td (" + b"x" * 30_000 + b") Tj ET")
    assert settings.max_request_bytes < len(large) < MAX_UPLOAD
    saved = web.post(
        "/contract-scans",
        data={"csrf": csrf, "loan_id": loan.id, "version": "1"},
        files={"file": ("signed.pdf", large, "application/pdf")},
    )
    assert saved.status_code == 200 and "The signed contract (scan) is saved." in saved.text
    other = web.post(
        f"/loans/{loan.id}/contract/versions",
        data={"csrf": csrf, "padding": "x" * 30_000},
    )
    assert other.status_code == 413  # any other form keeps the smaller limit


# -- the payout ----------------------------------------------------------------------------------


def signed_by_both(web: TestClient, loan: Loan) -> None:
    sign_as(web, "cas")
    make_contract(web, loan)
    web.post(
        "/contract-scans",
        data={"csrf": csrf_of(page_of(web, loan)), "loan_id": loan.id, "version": "1"},
        files={"file": ("signed.pdf", minimal_pdf(), "application/pdf")},
    )
    sign_as(web, "ada")
    web.post(
        f"/loans/{loan.id}/contract/versions/1/fund-signature",
        data={"csrf": csrf_of(page_of(web, loan))},
    )


def payout_form(html: str) -> dict[str, str]:
    key = re.search(r'name="idempotency_key" value="(web-[0-9a-f-]+)"', html)
    day = re.search(r'id="payout_on" name="payout_on" type="date" value="([0-9-]*)"', html)
    assert key is not None and day is not None, "no payout form"
    return {"csrf": csrf_of(html), "idempotency_key": key.group(1), "payout_on": day.group(1)}


def test_the_caseworker_waits_and_the_treasurer_pays_out_once(
    web: TestClient, loan: Loan, engine: Engine, clock: Clock
) -> None:
    signed_by_both(web, loan)
    sign_as(web, "cas")
    html = page_of(web, loan)
    assert "Contract signed. The loan is waiting for the payout by the treasurer." in html
    assert 'id="payout"' not in html

    sign_as(web, "tom")
    form = payout_form(page_of(web, loan))
    assert form["payout_on"] == "2026-03-15"  # today, in the fund's zone
    booked = web.post(f"/loans/{loan.id}/payout", data=form)
    assert booked.status_code == 200
    said = plain(booked.text)
    assert "Payout of 1.400,00 € booked on 15 Mar 2026. The loan is now being repaid." in said
    assert "Paid out on 15 Mar 2026" in said, said
    again = web.post(f"/loans/{loan.id}/payout", data=form)  # resent: booked once
    assert "was already booked: it is booked only once." in plain(again.text)
    uow = UnitOfWork(engine, clock=clock)
    assert loans.get_loan(uow, AUDITOR, loan.id).loan.status is LoanStatus.ACTIVE
    assert loans.balances_of(uow, AUDITOR, loan.id).ledger_loan == 140_000
    assert entries(engine) == 2  # the capital and the payout


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("", "Enter a date, like"),
        ("15/03/2026", "Enter a date, like"),
        ("2026-03-16", "future"),  # the journal's rule: not after today
        ("2025-12-01", "more than 90 days before the lease starts"),
        # signed by both on 15 March (13:00 in Brussels): not paid out the day before
        ("2026-03-14", "The payout is dated 14 Mar 2026, before the contract was signed (15 Mar"),
    ],
)
def test_a_refused_payout_says_why_beside_the_date_and_books_nothing(
    web: TestClient, loan: Loan, engine: Engine, clock: Clock, day: str, message: str
) -> None:
    signed_by_both(web, loan)
    sign_as(web, "tom")
    form = {**payout_form(page_of(web, loan)), "payout_on": day}
    refused = web.post(f"/loans/{loan.id}/payout", data=form)
    assert refused.status_code == 422
    assert message in unescape(error_of(refused.text, "payout_on"))
    assert f'value="{day}"' in refused.text  # what was typed is kept
    assert form["idempotency_key"] in refused.text  # the same key: a resend books once
    assert entries(engine) == 1
    status = loans.get_loan(UnitOfWork(engine, clock=clock), AUDITOR, loan.id).loan.status
    assert status is LoanStatus.CONTRACT_SIGNED


@pytest.mark.parametrize(
    ("language", "said", "shown"),
    [
        ("nl", "Contract version 1 is made, in French with a translation into Dutch.", None),
        (
            "am",
            "Contract version 1 is made, in French only: there is no translation into Amharic "
            "yet. Explain the contract to the person in a language they understand before they "
            "sign.",
            "French",
        ),
    ],
)
def test_the_caseworker_is_told_which_languages_the_contract_is_in(
    web: TestClient, engine: Engine, clock: Clock, language: str, said: str, shown: str | None
) -> None:
    uow = UnitOfWork(engine, clock=clock)
    book(uow, TREASURER, "2026-03-01 capital 10000.00 EUR Dr 1000 Cr 3000 ; founding capital")
    loan = approved_loan(uow, name="Amina Haile", language=language)
    sign_as(web, "cas")
    made = web.post(
        f"/loans/{loan.id}/contract/versions", data={"csrf": csrf_of(page_of(web, loan))}
    )
    assert made.status_code == 200 and said in plain(made.text)
    facts = plain(made.text.split('class="facts"')[1].split("</dl>")[0])
    assert f"Language of the contract {shown or 'French with a translation into Dutch'}" in facts
    # The words the person may type to sign: the contract's languages, then English.
    words = "lu et approuvé / gelezen en goedgekeurd" if language == "nl" else "lu et approuvé"
    assert f"{words} / read and approved" in unescape(made.text)


def test_a_payout_before_the_contract_is_signed_is_refused(
    web: TestClient, loan: Loan, engine: Engine
) -> None:
    sign_as(web, "tom")
    html = page_of(web, loan)
    assert 'id="payout"' not in html  # no form before the contract is signed
    refused = web.post(
        f"/loans/{loan.id}/payout",
        data={"csrf": csrf_of(html), "payout_on": "2026-03-15", "idempotency_key": "web-x"},
    )
    assert refused.status_code == 422  # said in the summary: the form is not on the page
    summary = plain(refused.text.split('id="error-summary"')[1].split("</div>")[0])
    assert "A loan is paid out once it is approved and its contract signed." in summary
    assert entries(engine) == 1


def test_a_loan_whose_state_lags_behind_its_signed_contract_catches_up(
    web: TestClient, loan: Loan, engine: Engine, clock: Clock, settings: Settings
) -> None:
    """Signed by both, the loan still approved (the rows as an interrupted signing could leave
    them): the page offers to record it, through loans.sign_contract."""
    sign_as(web, "cas")
    make_contract(web, loan)
    uow = UnitOfWork(engine, clock=clock)
    docs = DocumentSettings.from_settings(settings)
    scan = contracts.record_scan(uow, CASEWORKER, docs, loan.id, 1, minimal_pdf())
    with uow:
        uow.documents.add(
            NewDocument(
                loan_id=loan.id,
                kind=DocumentKind.SIGNED_CONTRACT,
                contract_version=1,
                schedule_version=scan.schedule_version,
                principal_minor=scan.principal_minor,
                language=scan.language,
                sha256="c" * 64,
                size=1,
                created_at=uow.now(),
                created_by="cor",
                source_id=scan.id,
                beneficiary_method=scan.beneficiary_method,
                signed_by_beneficiary_at=scan.signed_by_beneficiary_at,
                signed_by_fund_at=uow.now(),
                signer="Test fund",
                signer_cert_sha256="d" * 64,
            )
        )
        uow.commit()
    html = page_of(web, loan)
    assert "but the loan does not show it yet" in html
    caught = web.post(f"/loans/{loan.id}/contract/signed", data={"csrf": csrf_of(html)})
    assert caught.status_code == 200
    assert "The loan now shows that its contract is signed." in caught.text
    assert "The loan is waiting for the payout by the treasurer" in caught.text
    assert loans.get_loan(uow, AUDITOR, loan.id).loan.status is LoanStatus.CONTRACT_SIGNED


def test_the_contract_page_speaks_every_language_of_the_screens() -> None:
    english = web_catalog("en")
    assert english is not None
    ours = {k for k in english if k.startswith(("contract.", "flash.contract_"))}
    for kind in CONTRACT_KINDS:  # names made from the documents' kinds and states
        assert f"contract.kind_{kind.value}" in ours
    for state in ("none", "generated", "signed_by_beneficiary", "signed"):
        assert f"contract.state_{state}" in ours
    for language in UI_LANGUAGES:
        catalog = web_catalog(language)
        assert catalog is not None and ours <= set(catalog), language
        assert all(catalog[k].strip() for k in ours), language
