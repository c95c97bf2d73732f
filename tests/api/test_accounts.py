"""The chart of accounts through the API: list, open, read, close."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import assert_problem, audit_actions, counts, entry, with_key

Headers = dict[str, str]


def account(**fields: Any) -> dict[str, Any]:
    return {"code": "1010", "name": "Savings account", "type": "asset", "currency": "EUR", **fields}


def test_the_chart_lists_every_account_with_its_balance(api: TestClient, auditor: Headers) -> None:
    chart = api.get("/api/accounts", headers=auditor).json()
    assert [a["code"] for a in chart] == [
        "1000", "1200", "2100", "2200", "3000", "4000", "4100", "6000", "6100"
    ]  # fmt: skip
    bank = chart[0]
    assert bank["role"] == "bank" and bank["no_overdraft"] is True
    assert bank["balance"] == {"amount": "0.00", "currency": "EUR", "minor": 0}
    assert chart[1]["is_control"] is True


def test_open_an_account(api: TestClient, treasurer: Headers, engine: Engine) -> None:
    response = api.post("/api/accounts", json=account(role="bank"), headers=treasurer)
    assert response.status_code == 201
    opened = response.json()
    assert {k: opened[k] for k in ("code", "name", "type", "currency", "role")} == {
        "code": "1010",
        "name": "Savings account",
        "type": "asset",
        "currency": "EUR",
        "role": "bank",
    }
    assert opened["closed_at"] is None and opened["parent_code"] is None
    assert api.get("/api/accounts/1010", headers=treasurer).json() == opened
    assert audit_actions(engine)[-1] == "open_account"


def test_a_sub_account_names_its_control_account(api: TestClient, admin: Headers) -> None:
    control = api.post(
        "/api/accounts",
        json=account(code="1300", name="Deposits paid", is_control=True),
        headers=admin,
    )
    assert control.status_code == 201
    sub = api.post(
        "/api/accounts",
        json=account(code="1300-01", name="Deposit, lease 1", parent_code="1300"),
        headers=admin,
    )
    assert sub.status_code == 201
    assert sub.json()["parent_code"] == "1300"
    assert api.get("/api/accounts/1300-01", headers=admin).json()["parent_code"] == "1300"
    listed = {a["code"]: a for a in api.get("/api/accounts", headers=admin).json()}
    assert listed["1300-01"]["parent_code"] == "1300"


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"code": "1000"}, 409, "code"),
        ({"code": "has space"}, 422, "code"),
        ({"code": "c" * 41}, 422, "code"),
        ({"name": ""}, 422, "name"),
        ({"name": "n" * 201}, 422, "name"),
        ({"type": "cash"}, 422, "type"),
        ({"currency": "XYZ"}, 422, "currency"),
        ({"currency": "EURO"}, 422, "currency"),
        ({"role": "piggy_bank"}, 422, "role"),
        ({"is_control": "yes"}, 422, "is_control"),
        ({"parent_code": "4000"}, 422, "parent_code"),  # not a control account
        ({"parent_code": "9999"}, 404, "parent_code"),
        ({"balance": "100.00"}, 422, "balance"),  # balances come from postings only
    ],
)
def test_an_account_that_cannot_be_opened(
    api: TestClient,
    treasurer: Headers,
    engine: Engine,
    fields: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = counts(engine)
    response = api.post("/api/accounts", json=account(**fields), headers=treasurer)
    assert_problem(response, status, field=field)
    assert counts(engine) == before


def test_an_unknown_account(api: TestClient, auditor: Headers) -> None:
    for path in (
        "/api/accounts/9999",
        "/api/accounts/9999/balance",
        "/api/accounts/9999/statement",
    ):
        problem = assert_problem(api.get(path, headers=auditor), 404, code="not-found")
        assert problem["field"] == "account"
        assert "9999" in problem["detail"]


def test_close_an_account(api: TestClient, treasurer: Headers, engine: Engine) -> None:
    api.post("/api/journal", json=entry("50.00"), headers=with_key(treasurer, "k1"))
    before = counts(engine)
    with_money = api.post("/api/accounts/1000/close", headers=treasurer)
    problem = assert_problem(with_money, 409, field="account", code="conflict")
    assert "50.00" in problem["detail"]
    assert counts(engine) == before

    closed = api.post("/api/accounts/2200/close", headers=treasurer)
    assert closed.status_code == 200
    assert closed.json()["closed_at"] == "2026-03-15T12:00:00Z"
    assert audit_actions(engine)[-1] == "close_account"
    again = api.post("/api/accounts/2200/close", headers=treasurer)
    assert_problem(again, 409, field="account", code="closed-account")

    before = counts(engine)
    body = entry("5.00", kind="transfer", debit="1000", credit="2200")
    refused = api.post("/api/journal", json=body, headers=with_key(treasurer, "k2"))
    assert_problem(refused, 409, field="legs", code="closed-account")
    assert counts(engine) == before


def test_natural_balance_reads_the_way_an_accountant_expects(
    api: TestClient, treasurer: Headers
) -> None:
    api.post("/api/journal", json=entry("80.00"), headers=with_key(treasurer, "k1"))
    donations = api.get("/api/accounts/4000", headers=treasurer).json()
    assert donations["balance"] == {"amount": "-80.00", "currency": "EUR", "minor": -8000}
    assert donations["natural_balance"] == {"amount": "80.00", "currency": "EUR", "minor": 8000}
