"""Contracts, documents and beneficiaries' links through the HTTP API, on both engines."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ledger.config import Settings
from ledger.domain.loans import Loan
from ledger.domain.roles import Role
from ledger.store.tables import audit_log, documents
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.api import MAX_BYTES, TTL_MINUTES, Login, assert_problem
from tests.support.clock import Clock
from tests.support.contracts import (
    KEY_PASSWORD,
    approved_loan,
    drawn_signature,
    own_key,
    stored_files,
)
from tests.support.ledgertext import book

PDF_MAX = 300_000  # a generated contract (with its annexes and notices) fits


@pytest.fixture
def settings(tmp_path: Path, fund_key_file: Path) -> Settings:
    key = own_key(tmp_path, fund_key_file)
    return Settings(
        _env_file=None,
        database_url="sqlite://",
        token_ttl_minutes=TTL_MINUTES,
        max_request_bytes=max(MAX_BYTES, 200_000),
        documents_dir=tmp_path / "documents",
        signing_key_file=key,
        signing_key_password=KEY_PASSWORD,
        max_upload_bytes=PDF_MAX,
    )


@pytest.fixture
def loan(api: TestClient, engine: Engine, clock: Clock) -> Loan:
    uow = UnitOfWork(engine, clock=clock)
    book(uow, TREASURER, "2026-03-01 capital 10000.00 EUR Dr 1000 Cr 3000 ; founding capital")
    return approved_loan(uow)


def document_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(documents)).scalar_one())


def png_data_url() -> str:
    return "data:image/png;base64," + base64.b64encode(drawn_signature()).decode()


def test_contract_signed_on_screen_then_by_the_fund(
    api: TestClient, login: Login, loan: Loan
) -> None:
    caseworker, admin = login(Role.CASEWORKER), login(Role.ADMIN)
    treasurer = login(Role.TREASURER)
    made = api.post(f"/api/loans/{loan.id}/contracts", headers=caseworker)
    assert made.status_code == 201, made.text
    assert made.json()["contract_version"] == 1
    assert made.json()["missing_translations"] == []
    assert_problem(api.post(f"/api/loans/{loan.id}/contracts", headers=treasurer), 403)

    body = {
        "full_name": "Olena Kovalenko",
        "read_and_approved": "lu et approuvé",
        "signature_png": png_data_url(),
    }
    signed = api.post(
        f"/api/loans/{loan.id}/contracts/1/on-screen-signature", json=body, headers=caseworker
    )
    assert signed.status_code == 201, signed.text
    assert signed.json()["beneficiary_method"] == "on_screen"
    fund = api.post(f"/api/loans/{loan.id}/contracts/1/fund-signature", headers=admin)
    assert fund.status_code == 201, fund.text
    doc = fund.json()
    assert doc["kind"] == "signed_contract" and doc["signer"]

    state = api.get(f"/api/loans/{loan.id}/contract", headers=treasurer).json()
    assert state["state"] == "signed" and state["signed"]["sha256"] == doc["sha256"]
    check = api.get(f"/api/documents/{doc['id']}/validation", headers=treasurer)
    assert check.status_code == 200, check.text
    assert check.json()["ok"] and check.json()["signature"]["trusted"]

    assert_problem(api.get(f"/api/documents/{doc['id']}/content", headers=treasurer), 403)
    content = api.get(f"/api/documents/{doc['id']}/content", headers=caseworker)
    assert content.status_code == 200
    assert content.headers["content-type"] == "application/pdf"
    assert content.content.startswith(b"%PDF-")
    kinds = [
        d["kind"] for d in api.get(f"/api/loans/{loan.id}/documents", headers=treasurer).json()
    ]
    assert kinds == ["contract", "beneficiary_signed", "signed_contract"]
    again = api.post(f"/api/loans/{loan.id}/contracts/1/fund-signature", headers=admin)
    assert_problem(again, 409, field="version")


def test_scan_upload(api: TestClient, login: Login, loan: Loan, settings: Settings) -> None:
    caseworker = login(Role.CASEWORKER)
    api.post(f"/api/loans/{loan.id}/contracts", headers=caseworker).raise_for_status()
    rows, files = document_rows_engine(api), stored_files(settings.documents_path())

    def upload(data: bytes, name: str = "scan.pdf") -> object:
        return api.post(
            "/api/contract-scans",
            data={"loan_id": loan.id, "version": "1"},
            files={"file": (name, data, "application/pdf")},
            headers=caseworker,
        )

    assert_problem(upload(b"\x89PNG\r\n\x1a\n not a pdf", "scan.png"), 422, field="file")  # type: ignore[arg-type]
    assert_problem(upload(b"%PDF-1.4 broken"), 422, field="file")  # type: ignore[arg-type]
    too_big = upload(b"%PDF-1.4\n" + b"0" * PDF_MAX)
    assert_problem(too_big, 413)  # type: ignore[arg-type]
    assert document_rows_engine(api) == rows
    assert stored_files(settings.documents_path()) == files

    content = api.get("/api/documents/1/content", headers=caseworker).content
    ok = upload(content)
    assert ok.status_code == 201, ok.text  # type: ignore[attr-defined]
    assert ok.json()["beneficiary_method"] == "paper"  # type: ignore[attr-defined]


def document_rows_engine(api: TestClient) -> int:
    engine: Engine = api.app.state.ledger.engine  # type: ignore[attr-defined]
    return document_rows(engine)


def test_beneficiary_link(
    api: TestClient, login: Login, loan: Loan, clock: Clock, engine: Engine
) -> None:
    caseworker = login(Role.CASEWORKER)
    assert_problem(
        api.post(f"/api/loans/{loan.id}/access-links", headers=login(Role.TREASURER)), 403
    )
    made = api.post(f"/api/loans/{loan.id}/access-links", json={"days": 30}, headers=caseworker)
    assert made.status_code == 201, made.text
    token, url = made.json()["token"], made.json()["url"]
    assert url.endswith(f"/b/{token}")

    page = api.get(f"/b/{token}")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    # Approved, not paid out: nothing is asked yet (no reference to pay with); its PDF is linked.
    assert loan.reference.display not in page.text and loan.reference.value not in page.text
    assert f'href="{token}/schedule.pdf"' in page.text
    pdf = api.get(f"/b/{token}/schedule.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")

    wrong = api.get("/b/" + "x" * 43)
    assert wrong.status_code == 404 and loan.id not in wrong.text
    assert_problem(api.get("/b/" + "x" * 43 + "/schedule.pdf"), 404, code="link-not-found")
    assert api.get("/b/short").status_code == 404

    clock.advance(days=31)
    assert api.get(f"/b/{token}").status_code == 410
    assert_problem(api.get(f"/b/{token}/schedule.pdf"), 410, code="link-gone")
    clock.advance(days=-31)

    link_id = made.json()["id"]
    revoked = api.post(f"/api/access-links/{link_id}/revocation", headers=caseworker)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    gone = api.get(f"/b/{token}")
    assert gone.status_code == 410 and "expired" in gone.text and loan.id not in gone.text
    listed = api.get(f"/api/loans/{loan.id}/access-links", headers=caseworker).json()
    assert [link["id"] for link in listed] == [link_id] and "token" not in listed[0]

    with engine.connect() as conn:
        audited = conn.execute(select(audit_log.c.action, audit_log.c.details)).all()
    actions = [a for a, _ in audited]
    assert actions.count("access_link_used") == 2
    assert actions.count("access_link_refused") == 3
    assert all(token not in (details or "") for _, details in audited)


def test_the_access_log_hides_tokens(api: TestClient) -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/b/s3cret-t0ken/schedule.pdf", "1.1", 200),
        None,
    )
    filters = logging.getLogger("uvicorn.access").filters
    assert all(isinstance(f, logging.Filter) and f.filter(record) for f in filters)
    assert "s3cret-t0ken" not in record.getMessage() and "/b/***" in record.getMessage()


def test_signing_on_screen_needs_read_and_approved_and_the_registered_name(
    api: TestClient, login: Login, loan: Loan, engine: Engine
) -> None:
    caseworker = login(Role.CASEWORKER)
    api.post(f"/api/loans/{loan.id}/contracts", headers=caseworker).raise_for_status()
    path = f"/api/loans/{loan.id}/contracts/1/on-screen-signature"
    rows = document_rows(engine)
    body = {"full_name": "Olena Kovalenko", "signature_png": png_data_url()}
    assert_problem(api.post(path, json=body, headers=caseworker), 422, field="read_and_approved")
    for words in (True, "yes", "approved"):  # the words themselves, typed, are needed
        refused = api.post(path, json={**body, "read_and_approved": words}, headers=caseworker)
        assert_problem(refused, 422, field="read_and_approved")
    other = {**body, "full_name": "Someone Else", "read_and_approved": "lu et approuvé"}
    refused = api.post(path, json=other, headers=caseworker)
    problem = assert_problem(refused, 422, field="full_name", code="name-mismatch")
    assert "not the name registered" in problem["detail"]
    assert document_rows(engine) == rows


def test_the_fund_signs_through_another_staff_member(
    api: TestClient, login: Login, loan: Loan
) -> None:
    """Four eyes: who recorded the beneficiary's signature may not sign for the fund."""
    caseworker, admin = login(Role.CASEWORKER), login(Role.ADMIN)
    api.post(f"/api/loans/{loan.id}/contracts", headers=caseworker).raise_for_status()
    body = {
        "full_name": "Olena Kovalenko",
        "read_and_approved": "lu et approuvé",
        "signature_png": png_data_url(),
    }
    api.post(
        f"/api/loans/{loan.id}/contracts/1/on-screen-signature", json=body, headers=admin
    ).raise_for_status()

    refused = api.post(f"/api/loans/{loan.id}/contracts/1/fund-signature", headers=admin)
    problem = assert_problem(refused, 403, code="forbidden")
    assert "you recorded the beneficiary's signature" in problem["detail"]
    assert "another staff member" in problem["detail"]
    state = api.get(f"/api/loans/{loan.id}/contract", headers=admin).json()
    assert state["state"] == "signed_by_beneficiary"

    fund = api.post(f"/api/loans/{loan.id}/contracts/1/fund-signature", headers=caseworker)
    assert fund.status_code == 201, fund.text
    assert api.get(f"/api/loans/{loan.id}/contract", headers=admin).json()["state"] == "signed"


def test_the_links_documented_errors_are_the_ones_it_answers(
    api: TestClient, login: Login, loan: Loan, clock: Clock
) -> None:
    """Issue 16 (#20): the OpenAPI of the public link said nothing true of its errors. Every
    refusal of /b/{token} and its PDF is made here; the codes and media types seen are exactly
    the documented ones."""
    made = api.post(
        f"/api/loans/{loan.id}/access-links", json={"days": 30}, headers=login(Role.CASEWORKER)
    )
    token = made.json()["token"]
    seen: dict[str, dict[str, str]] = {"/b/{token}": {}, "/b/{token}/schedule.pdf": {}}

    def see(suffix: str, path_token: str) -> None:
        response = api.get(f"/b/{path_token}{suffix}")
        assert response.status_code >= 400, response.text
        media = response.headers["content-type"].split(";")[0]
        seen["/b/{token}" + suffix][str(response.status_code)] = media

    for suffix in ("", "/schedule.pdf"):
        see(suffix, "x" * 43)  # unknown
        see(suffix, "x" * 201)  # not a token
        see(suffix, "x%00y")  # control character
    clock.advance(days=31)
    for suffix in ("", "/schedule.pdf"):
        see(suffix, token)  # expired
    clock.advance(days=-31)

    paths = api.get("/openapi.json").json()["paths"]
    for path, answered in seen.items():
        documented = {
            status: next(iter(response["content"]))
            for status, response in paths[path]["get"]["responses"].items()
            if status[0] in "45"
        }
        assert documented == answered, path
