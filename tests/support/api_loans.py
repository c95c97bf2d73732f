"""Helpers for the loan API tests: a team of named staff, request bodies, a loan walked through
its life over HTTP, and row counts of every table a loan request writes to.

The clock stays at 2026-03-15; the loans are dated in the months before, so every date a test
books is in the past, as a real booking must be.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ledger.domain.documents import DocumentKind, NewDocument
from ledger.domain.money import to_minor
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.services import loans as loan_services
from ledger.services import users
from ledger.store.tables import (
    beneficiaries,
    deposit_releases,
    eligibility_decisions,
    leases,
    loan_events,
    loan_payments,
    loans,
    schedule_versions,
    write_offs,
)
from ledger.store.uow import UnitOfWork
from tests.support.api import counts, entry, with_key
from tests.support.clock import Clock

Headers = dict[str, str]
Json = dict[str, Any]

#: login name -> role; two caseworkers and two treasurers for the four-eyes rules.
STAFF = {
    "carla.case": Role.CASEWORKER,
    "chris.case": Role.CASEWORKER,
    "tina.treasurer": Role.TREASURER,
    "theo.treasurer": Role.TREASURER,
    "ada.admin": Role.ADMIN,
    "aude.auditor": Role.AUDITOR,
}
CW1, CW2, TR1, TR2, ADMIN, AUDITOR = STAFF
BY_ROLE = {Role.CASEWORKER: CW1, Role.TREASURER: TR1, Role.ADMIN: ADMIN, Role.AUDITOR: AUDITOR}

PAYOUT_DAY = "2025-10-01"
SIGNED_AT = datetime(2025, 9, 29, 10, tzinfo=UTC)  # the contract, signed before the payout day


class Team:
    """``team("tina.treasurer")``: headers with a bearer token of that user, created on demand."""

    def __init__(self, api: TestClient, engine: Engine, clock: Clock, password: str) -> None:
        self.api, self.engine, self.clock, self.password = api, engine, clock, password
        self.tokens: dict[str, Headers] = {}

    def __call__(self, name: str) -> Headers:
        if name not in self.tokens:
            users.create_user(
                UnitOfWork(self.engine, clock=self.clock), SYSTEM, name, self.password, STAFF[name]
            )
            response = self.api.post(
                "/api/auth/token", json={"username": name, "password": self.password}
            )
            assert response.status_code == 200, response.text
            self.tokens[name] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return self.tokens[name]

    def everyone(self) -> Team:
        """Log every member in now, so that a later count of audit records sees no login."""
        for name in STAFF:
            self(name)
        return self

    def keyed(self, name: str, key: str) -> Headers:
        return with_key(self(name), key)


def person(**changes: Any) -> Json:
    body: Json = {
        "currency": "EUR",
        "full_name": "Amina Haile",
        "preferred_language": "ti",
        "phone": "+32 470 12 34 56",
        "residence_status": "residence permit",
        "monthly_net_income": "1450.00",
        "household_size": 2,
        "own_savings": "120.00",
    }
    body.update(changes)
    return body


def application(beneficiary_id: str, **changes: Any) -> Json:
    """Brussels: 1,700.00 (two months of an 850.00 rent), 24 installments from 2025-11-05."""
    body: Json = {
        "beneficiary_id": beneficiary_id,
        "currency": "EUR",
        "deposit": "1700.00",
        "monthly_rent": "850.00",
        "jurisdiction": "BE-BRU",
        "deposit_form": "blocked_account",
        "landlord": "Immo Dupont SRL",
        "address": "Rue Haute 12, 1000 Bruxelles",
        "lease_start": "2025-10-01",
        "lease_end": "2028-09-30",
        "first_due_date": "2025-11-05",
        "installments": 24,
        "public_alternatives": "refused",
    }
    body.update(changes)
    return body


def ok(response: Any, status: int = 200) -> Json:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: Json = response.json()
    return body


def fund(api: TestClient, team: Team, amount: str = "10000.00") -> None:
    """Capital in the bank on 2025-09-01, so the fund has cash to lend."""
    body = entry(amount, booking_date="2025-09-01", kind="capital", credit="3000")
    ok(api.post("/api/journal", json=body, headers=team.keyed(TR1, "capital")), 201)


def new_beneficiary(api: TestClient, team: Team, **changes: Any) -> str:
    created = ok(api.post("/api/beneficiaries", json=person(**changes), headers=team(CW1)), 201)
    bid: str = created["id"]
    return bid


def open_loan(api: TestClient, team: Team, **changes: Any) -> Json:
    """A draft opened by the first caseworker for a new beneficiary."""
    bid = new_beneficiary(api, team)
    return ok(api.post("/api/loans", json=application(bid, **changes), headers=team(CW1)), 201)


STAGES = ("draft", "submitted", "approved", "contract_signed", "active")


def sign_contract(engine: Engine, clock: Clock, loan_id: str, by: Actor) -> None:
    """The contract chain the contract workflow (``services.contracts``, with its own tests)
    leaves behind: the current version generated, signed on paper by the beneficiary, then by
    the fund; the loan becomes contract signed. Only the rows: no file is rendered or signed."""
    uow = UnitOfWork(engine, clock=clock)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        schedule_version, _ = uow.loans.schedule(loan_id)
        now = min(uow.now(), SIGNED_AT)  # signed before the payout day: never paid out before
        version = uow.documents.latest_contract_version(loan_id) + 1
        source: int | None = None
        signed = {"beneficiary_method": "paper", "signed_by_beneficiary_at": now}
        fund = {"signed_by_fund_at": now, "signer": "CN=Test fund", "signer_cert_sha256": "f" * 64}
        for kind, extra in (
            (DocumentKind.CONTRACT, {}),
            (DocumentKind.BENEFICIARY_SCAN, signed),
            (DocumentKind.SIGNED_CONTRACT, {**signed, **fund}),
        ):
            doc = uow.documents.add(
                NewDocument(
                    loan_id=loan_id,
                    kind=kind,
                    contract_version=version,
                    schedule_version=schedule_version,
                    principal_minor=to_minor(loan.terms.deposit),
                    language="en",
                    sha256=hashlib.sha256(f"{loan_id}/{version}/{kind}".encode()).hexdigest(),
                    size=1,
                    created_at=now,
                    created_by=by.name,
                    source_id=source,
                    **extra,  # type: ignore[arg-type]
                )
            )
            source = doc.id
        loan_services.record_contract_signed(uow, by, loan)
        uow.commit()


def submit_before_payout(api: TestClient, team: Team, loan_id: str) -> Json:
    """Submitted by the first caseworker on the day the contract is signed (``SIGNED_AT``):
    the rules compare the lease and the first due date with the day they run, and these loans
    are paid out on 2025-10-01 with a first installment due on 2025-11-05."""
    today, team.clock.now = team.clock.now, min(team.clock.now, SIGNED_AT)
    try:
        return ok(api.post(f"/api/loans/{loan_id}/submit", headers=team(CW1)))
    finally:
        team.clock.now = today


def walk(api: TestClient, team: Team, loan_id: str, upto: str) -> Json:
    """Take a draft on to ``upto``: submitted by the first caseworker, approved by the second,
    contract signed, paid out by the first treasurer on 2025-10-01."""
    loan: Json = {}
    for stage in STAGES[1 : STAGES.index(upto) + 1]:
        if stage == "submitted":
            loan = submit_before_payout(api, team, loan_id)
        elif stage == "approved":
            loan = ok(api.post(f"/api/loans/{loan_id}/approve", headers=team(CW2)))
        elif stage == "contract_signed":
            sign_contract(team.engine, team.clock, loan_id, Actor(CW2, STAFF[CW2]))
            loan = ok(api.get(f"/api/loans/{loan_id}", headers=team(CW2)))
        else:
            payout = api.post(
                f"/api/loans/{loan_id}/disbursement",
                json={"on": PAYOUT_DAY},
                headers=team.keyed(TR1, f"payout-{loan_id}"),
            )
            loan = ok(payout, 201)["loan"]
        assert loan["status"] == stage
    return loan


def pay(
    api: TestClient, team: Team, loan_id: str, amount: str, on: str, key: str, status: int = 201
) -> Json:
    body = {"amount": amount, "currency": "EUR", "on": on}
    response = api.post(f"/api/loans/{loan_id}/payments", json=body, headers=team.keyed(TR1, key))
    return ok(response, status)


def loan_counts(engine: Engine) -> dict[str, int]:
    """Rows in the journal tables, the audit log and every loan table."""
    tables = (
        beneficiaries,
        loans,
        leases,
        loan_events,
        schedule_versions,
        eligibility_decisions,
        loan_payments,
        deposit_releases,
        write_offs,
    )
    with engine.connect() as conn:
        rows = {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in tables
        }
    return {**counts(engine), **rows}
