"""Who may do what with loans, and who sees personal data.

Every loan endpoint is called by every role that may not use it: 403, and nothing written. The
people's data (name, income, savings, landlord, address, and the decision's inputs and the rule
reasons that quote them) reach caseworkers and admins only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.domain.roles import Role
from tests.support.api import assert_problem, audit_actions
from tests.support.api_loans import (
    BY_ROLE,
    CW1,
    TR1,
    Team,
    fund,
    loan_counts,
    ok,
    open_loan,
    pay,
    walk,
)

ALL = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.CASEWORKER})
TREASURER = frozenset({Role.TREASURER})
PERSONAL_WORDS = ("Amina", "Haile", "1450.00", "120.00", "Immo Dupont", "Rue Haute", "+32 470")


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # {active}, {submitted}, {draft}, {person}, {payment} and {write_off} filled in
    allowed: frozenset[Role]
    body: dict[str, Any] | None = None
    keyed: bool = False


ON = {"on": "2026-03-15"}
WHY = {"reason": "a reason"}
PERSON = {"currency": "EUR", "full_name": "Someone Else"}
TERMS = {
    "currency": "EUR",
    "deposit": "1000.00",
    "monthly_rent": "500.00",
    "jurisdiction": "BE-BRU",
    "deposit_form": "blocked_account",
    "lease_start": "2025-10-01",
    "lease_end": "2028-09-30",
    "first_due_date": "2025-11-05",
    "installments": 20,
}
CALLS = [
    Call("POST", "/api/beneficiaries", STAFF, PERSON),
    Call("GET", "/api/beneficiaries/{person}", ALL),
    Call("PUT", "/api/beneficiaries/{person}", STAFF, PERSON),
    Call("POST", "/api/beneficiaries/{person}/erasure", STAFF),
    Call("POST", "/api/loans", STAFF, {**TERMS, "beneficiary_id": "{person}"}),
    Call("GET", "/api/loans", ALL),
    Call("GET", "/api/loans/{active}", ALL),
    Call("PUT", "/api/loans/{draft}", STAFF, TERMS),
    Call("POST", "/api/loans/{draft}/eligibility", STAFF),
    Call("POST", "/api/loans/{draft}/submit", STAFF),
    Call("POST", "/api/loans/{submitted}/approve", STAFF),
    Call("POST", "/api/loans/{submitted}/reject", STAFF, WHY),
    Call("POST", "/api/loans/{draft}/withdraw", STAFF, WHY),
    Call("POST", "/api/loans/{submitted}/undo-approval", STAFF, WHY),
    Call("POST", "/api/loans/{submitted}/eligibility/override", frozenset({Role.ADMIN}), WHY),
    Call("POST", "/api/loans/{submitted}/disbursement", TREASURER, ON, keyed=True),
    Call("POST", "/api/loans/{active}/disbursement/undo", TREASURER, {**ON, **WHY}, keyed=True),
    Call(
        "POST",
        "/api/loans/{active}/payments",
        TREASURER,
        {"amount": "10.00", "currency": "EUR", **ON},
        keyed=True,
    ),
    Call("POST", "/api/loan-payments/{payment}/reversal", TREASURER, {**ON, **WHY}, keyed=True),
    Call("POST", "/api/loans/{active}/refund", TREASURER, ON, keyed=True),
    Call(
        "POST",
        "/api/loans/{active}/deposit-release",
        TREASURER,
        {"currency": "EUR", "returned": "100.00", **ON},
        keyed=True,
    ),
    Call("POST", "/api/loans/{active}/holidays", STAFF, {"month": "2026-05", **WHY}),
    Call(
        "POST",
        "/api/loans/{active}/reschedule",
        STAFF,
        {"first_due_date": "2026-04-05", "installments": 10, **WHY},
    ),
    Call("POST", "/api/loans/{active}/write-offs", STAFF | TREASURER, WHY),
    Call("POST", "/api/write-offs/{write_off}/approval", TREASURER, ON, keyed=True),
    Call("POST", "/api/write-offs/{write_off}/rejection", TREASURER, WHY),
    Call("GET", "/api/portfolio", ALL),
]


@pytest.fixture
def book(api: TestClient, team: Team) -> dict[str, str]:
    """An active loan with a payment and a proposed write-off, a submitted and a draft one."""
    fund(api, team)
    active = open_loan(api, team)
    walk(api, team, active["id"], "active")
    payment = pay(api, team, active["id"], "70.83", "2025-11-05", "seed-pay")
    write_off = ok(
        api.post(f"/api/loans/{active['id']}/write-offs", json=WHY, headers=team(TR1)), 201
    )
    submitted = open_loan(api, team)
    walk(api, team, submitted["id"], "submitted")
    draft = open_loan(api, team)
    return {
        "active": active["id"],
        "person": active["beneficiary_id"],
        "payment": str(payment["entry"]["id"]),
        "write_off": str(write_off["id"]),
        "submitted": submitted["id"],
        "draft": draft["id"],
    }


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_loan_endpoint_refuses_the_roles_it_is_not_for(
    api: TestClient, team: Team, engine: Engine, book: dict[str, str], role: Role
) -> None:
    headers = team(BY_ROLE[role])
    refused = 0
    for call in CALLS:
        path = _fill(call.path, book)
        wanted = {**headers, "Idempotency-Key": f"roles-{role.value}"} if call.keyed else headers
        before = loan_counts(engine)
        response = api.request(call.method, path, headers=wanted, json=_fill(call.body, book))
        if role in call.allowed:
            if call.method == "GET":
                assert response.status_code == 200, (path, response.text)
            continue
        body = assert_problem(response, 403, code="forbidden")
        assert f"your role ({role.value})" in body["detail"], (path, body)
        assert loan_counts(engine) == before, path
        refused += 1
    assert refused == sum(role not in call.allowed for call in CALLS)


@pytest.mark.parametrize("role", [Role.TREASURER, Role.AUDITOR], ids=["treasurer", "auditor"])
def test_treasurers_and_auditors_never_see_personal_data(
    api: TestClient, team: Team, engine: Engine, book: dict[str, str], role: Role
) -> None:
    headers = team(BY_ROLE[role])
    person = ok(api.get(f"/api/beneficiaries/{book['person']}", headers=headers))
    assert person == {"id": book["person"], "currency": "EUR", "erased": False, "personal": None}
    before = audit_actions(engine)
    view = ok(api.get(f"/api/loans/{book['active']}", headers=headers))
    assert view["lease"] is None
    decision = view["eligibility"]
    assert decision["facts"] is None
    reasons = {r["rule"]: r["reason"] for r in decision["results"]}
    assert reasons["own_savings"] is None and reasons["affordability"] is None
    assert reasons["residence_permit"] is None
    assert reasons["legal_maximum"] == "the deposit is within 2 months' rent"
    listed = ok(api.get("/api/loans", headers=headers))
    for body in (person, view, listed):
        text = str(body)
        assert not [w for w in PERSONAL_WORDS if w in text], text
    assert audit_actions(engine) == before  # no personal data read, nothing to audit


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.ADMIN], ids=["caseworker", "admin"])
def test_caseworkers_and_admins_see_it_and_each_read_is_audited(
    api: TestClient, team: Team, engine: Engine, book: dict[str, str], role: Role
) -> None:
    headers = team(BY_ROLE[role])
    person = ok(api.get(f"/api/beneficiaries/{book['person']}", headers=headers))
    assert person["personal"]["full_name"] == "Amina Haile"
    assert person["personal"]["monthly_net_income"] == {
        "amount": "1450.00",
        "currency": "EUR",
        "minor": 145000,
    }
    assert audit_actions(engine)[-1] == "read_personal_data"
    view = ok(api.get(f"/api/loans/{book['active']}", headers=headers))
    assert view["lease"] == {
        "landlord": "Immo Dupont SRL",
        "address": "Rue Haute 12, 1000 Bruxelles",
        "landlord_iban": None,
    }
    assert view["eligibility"]["facts"]["monthly_net_income"] == "1450.00"
    reasons = {r["rule"]: r["reason"] for r in view["eligibility"]["results"]}
    assert reasons["own_savings"] == "own savings do not cover the deposit"
    assert audit_actions(engine)[-1] == "read_personal_data"
    listed = ok(api.get("/api/loans", headers=headers))
    assert not [w for w in PERSONAL_WORDS if w in str(listed)]


def test_a_caseworker_cannot_move_money(
    api: TestClient, team: Team, engine: Engine, book: dict[str, str]
) -> None:
    before = loan_counts(engine)
    for path, body in (
        (f"/api/loans/{book['active']}/payments", {"amount": "70.83", "currency": "EUR", **ON}),
        (f"/api/loans/{book['submitted']}/disbursement", ON),
    ):
        response = api.post(path, json=body, headers=team.keyed(CW1, "cw-money"))
        assert "may not" in assert_problem(response, 403, code="forbidden")["detail"]
    assert loan_counts(engine) == before


def test_requests_without_a_token_are_refused(api: TestClient, book: dict[str, str]) -> None:
    for method, path in (("GET", "/api/loans"), ("GET", f"/api/loans/{book['active']}"),
                         ("POST", "/api/beneficiaries"), ("GET", "/api/portfolio")):  # fmt: skip
        assert_problem(api.request(method, path, json=PERSON), 401, code="unauthenticated")
