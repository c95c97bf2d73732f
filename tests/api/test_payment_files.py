"""The payment file endpoints: make, download, send, cancel; roles and bad input."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine

from ledger.bank.pain001 import NAMESPACE
from ledger.config import Settings
from ledger.domain.roles import Role
from ledger.domain.statements import end_to_end_id
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.api import MAX_BYTES, TTL_MINUTES, Login, assert_problem, with_key
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.statements import FUND_IBAN, paid_out_loan

LANDLORD = "DE89370400440532013000"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        database_url="sqlite://",
        token_ttl_minutes=TTL_MINUTES,
        max_request_bytes=MAX_BYTES,
        fund_iban=FUND_IBAN,
        fund_bic="GEBABEBB",
        fund_name="Fonds de garanties",
    )


@pytest.fixture
def loan_id(api: TestClient, engine: Engine, clock: Clock, login: Login) -> str:
    """A loan of 1,700.00 paid out; a caseworker records the landlord's account over HTTP."""
    uow = UnitOfWork(engine, clock=clock)
    book(uow, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    loan = paid_out_loan(uow)
    response = api.put(
        f"/api/loans/{loan.id}/landlord-account",
        json={"iban": "de89 3704 0044 0532 0130 00", "name": "Immo SRL"},
        headers=login(Role.CASEWORKER),
    )
    assert response.status_code == 204, response.text
    return loan.id


BODY = {"currency": "EUR", "execution_date": "2026-03-16"}


def test_make_download_send(
    api: TestClient, loan_id: str, treasurer: dict[str, str], auditor: dict[str, str]
) -> None:
    pending = api.get("/api/payment-files/pending", headers=treasurer)
    assert pending.status_code == 200, pending.text
    [payout] = pending.json()
    assert payout["loan_id"] == loan_id and payout["missing"] is None
    assert payout["amount"]["amount"] == "1700.00"

    made = api.post("/api/payment-files", json=BODY, headers=with_key(treasurer, "f1"))
    assert made.status_code == 201, made.text
    file = made.json()
    assert (file["status"], file["transfers"], file["total"]["amount"]) == ("created", 1, "1700.00")
    again = api.post("/api/payment-files", json=BODY, headers=with_key(treasurer, "f1"))
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == file["id"]

    xml = api.get(made.headers["Location"], headers=treasurer)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert hashlib.sha256(xml.content).hexdigest() == file["sha256"]
    doc = etree.fromstring(xml.content)
    ns = {"p": NAMESPACE}
    assert doc.findtext(".//p:CdtTrfTxInf/p:CdtrAcct/p:Id/p:IBAN", namespaces=ns) == LANDLORD
    assert doc.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=ns) == FUND_IBAN
    assert doc.findtext(".//p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=ns) == "GEBABEBB"

    # The auditor reads the metadata, not the file with names and IBANs.
    detail = api.get(f"/api/payment-files/{file['id']}", headers=auditor)
    assert detail.status_code == 200
    assert detail.json()["items"][0]["end_to_end_id"] == end_to_end_id(
        detail.json()["items"][0]["entry_id"]
    )
    assert LANDLORD not in detail.text
    assert_problem(api.get(made.headers["Location"], headers=auditor), 403, code="forbidden")
    listed = api.get("/api/payment-files", headers=auditor).json()
    assert listed["total"] == 1 and listed["items"][0]["executed"] == 0

    sent = api.post(f"/api/payment-files/{file['id']}/sent", headers=treasurer)
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    body = assert_problem(
        api.post(
            f"/api/payment-files/{file['id']}/cancel", json={"reason": "x"}, headers=treasurer
        ),
        409,
        field="file_id",
    )
    assert "ask the bank" in body["detail"]


def test_cancel_frees_the_payout(api: TestClient, loan_id: str, admin: dict[str, str]) -> None:
    made = api.post("/api/payment-files", json=BODY, headers=with_key(admin, "a")).json()
    second = api.post("/api/payment-files", json=BODY, headers=with_key(admin, "b"))
    assert_problem(second, 409)
    cancelled = api.post(
        f"/api/payment-files/{made['id']}/cancel", json={"reason": "typo"}, headers=admin
    )
    assert cancelled.status_code == 200 and cancelled.json()["cancel_reason"] == "typo"
    assert (
        api.post("/api/payment-files", json=BODY, headers=with_key(admin, "b")).status_code == 201
    )


def test_roles(api: TestClient, loan_id: str, login: Login, treasurer: dict[str, str]) -> None:
    for role in (Role.AUDITOR, Role.CASEWORKER):
        headers = login(role)
        assert_problem(api.get("/api/payment-files/pending", headers=headers), 403)
        assert_problem(
            api.post("/api/payment-files", json=BODY, headers=with_key(headers, "k")), 403
        )
    assert_problem(api.get("/api/payment-files", headers=login(Role.CASEWORKER)), 403)
    assert_problem(
        api.put(
            f"/api/loans/{loan_id}/landlord-account", json={"iban": LANDLORD}, headers=treasurer
        ),
        403,
    )
    assert_problem(api.get("/api/payment-files"), 401)


def test_bad_input(
    api: TestClient, engine: Engine, clock: Clock, treasurer: dict[str, str], login: Login
) -> None:
    uow = UnitOfWork(engine, clock=clock)
    book(uow, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    loan = paid_out_loan(uow)
    # No landlord IBAN yet: refused, naming the loan and how to add it.
    body = assert_problem(
        api.post("/api/payment-files", json=BODY, headers=with_key(treasurer, "k")),
        422,
        field="entry_ids",
    )
    assert f"loan {loan.id}: the landlord's IBAN is missing" in body["detail"]
    assert_problem(api.post("/api/payment-files", json=BODY, headers=treasurer), 400)
    for bad, field in (
        ({**BODY, "execution_date": "2026-03-01"}, "execution_date"),
        ({**BODY, "execution_date": "16/03/2026"}, "execution_date"),
        ({**BODY, "currency": "euro"}, "currency"),
        ({**BODY, "entry_ids": []}, "entry_ids"),
        ({**BODY, "entry_ids": [0]}, None),
        ({**BODY, "surprise": 1}, "surprise"),
    ):
        assert_problem(
            api.post("/api/payment-files", json=bad, headers=with_key(treasurer, "k2")),
            422,
            field=field,
        )
    assert_problem(api.get("/api/payment-files/99", headers=treasurer), 404)
    assert_problem(api.get("/api/payment-files?status=lost", headers=treasurer), 422)
    assert_problem(
        api.post("/api/payment-files/1/cancel", json={"reason": ""}, headers=treasurer), 422
    )
    caseworker = login(Role.CASEWORKER)
    assert_problem(
        api.put(
            f"/api/loans/{loan.id}/landlord-account", json={"iban": "DE00"}, headers=caseworker
        ),
        422,
        field="landlord_iban",
    )
    assert_problem(
        api.put("/api/loans/L999999/landlord-account", json={"iban": LANDLORD}, headers=caseworker),
        404,
    )


def test_the_accounts_are_personal_data(
    api: TestClient, loan_id: str, login: Login, treasurer: dict[str, str]
) -> None:
    caseworker = login(Role.CASEWORKER)
    lease = api.get(f"/api/loans/{loan_id}", headers=caseworker).json()["lease"]
    assert (lease["landlord"], lease["landlord_iban"]) == ("Immo SRL", LANDLORD)
    as_treasurer = api.get(f"/api/loans/{loan_id}", headers=treasurer)
    assert as_treasurer.json()["lease"] is None and LANDLORD not in as_treasurer.text
    person_id = api.get(f"/api/loans/{loan_id}", headers=caseworker).json()["beneficiary_id"]
    person = {"currency": "EUR", "full_name": "Test Person", "iban": "be62 5100 0754 7061"}
    updated = api.put(f"/api/beneficiaries/{person_id}", json=person, headers=caseworker)
    assert updated.status_code in (200, 204), updated.text
    seen = api.get(f"/api/beneficiaries/{person_id}", headers=caseworker).json()
    assert seen["personal"]["iban"] == "BE62510007547061"
    assert api.get(f"/api/beneficiaries/{person_id}", headers=treasurer).json()["personal"] is None
    assert_problem(
        api.put(
            f"/api/beneficiaries/{person_id}",
            json={**person, "iban": "BE00 0000"},
            headers=caseworker,
        ),
        422,
        field="iban",
    )
