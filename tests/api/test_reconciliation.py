"""The month's reconciliation and the close gate over HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.bank.writers import camt053
from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import money
from ledger.domain.roles import Role
from ledger.domain.statuses import EntryKind
from ledger.services.journal import post_manual_entry
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.api import Login, assert_problem, close_month, counts
from tests.support.clock import Clock
from tests.support.statements import entry as line
from tests.support.statements import run_import, statement

Headers = dict[str, str]


@pytest.fixture
def march(api: TestClient, engine: Engine, clock: Clock) -> TestClient:
    """On 3 April (users log in after this): 10,000.00 of capital booked on 1 March; March's
    statement opens with it and brings a card payment of 50.00 nothing explains."""
    clock.now = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)
    capital = money("10000.00", "EUR")
    post_manual_entry(
        UnitOfWork(engine, clock=clock),
        TREASURER,
        EntryDraft(
            date(2026, 3, 1),
            "Founding capital",
            EntryKind.CAPITAL,
            (Leg.debit("1000", capital), Leg.credit("3000", capital)),
        ),
    )
    card = line("2026-03-18", "50.00", "debit", ref="X1", remittance="CARD 4411")
    st = statement("2026-03", 1_000_000, [card], start="2026-03-01", end="2026-03-31")
    run_import(UnitOfWork(engine, clock=clock), camt053([st]), TREASURER)
    return api


def test_the_reconciliation_as_json(march: TestClient, treasurer: Headers) -> None:
    response = march.get("/api/months/2026-03/reconciliation", headers=treasurer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["month"], body["month_end"], body["reconciled"], body["closed"]) == (
        "2026-03",
        "2026-03-31",
        False,
        False,
    )
    [eur] = body["currencies"]
    assert eur["currency"] == "EUR" and eur["reconciled"] is False
    [bank] = eur["banks"]
    assert bank["account"] == "1000" and bank["iban"] == "BE71096123456769"
    assert bank["ledger"] == {"amount": "10000.00", "currency": "EUR", "minor": 1_000_000}
    assert bank["bank"] == {"amount": "9950.00", "currency": "EUR", "minor": 995_000}
    assert bank["statement_date"] == "2026-03-31"
    assert bank["difference"]["amount"] == "50.00"
    assert bank["unexplained"]["minor"] == 0
    [card] = bank["unmatched"]
    assert card["booking_date"] == "2026-03-18" and card["text"] == "CARD 4411"
    assert card["amount"] == {"amount": "-50.00", "currency": "EUR", "minor": -5_000}
    assert bank["unmatched_total"]["amount"] == "-50.00" and bank["in_transit"] == []
    assert bank["opening"]["amount"] == "10000.00" and bank["before_opening"]["minor"] == 1_000_000
    assert eur["position"]["cash"]["amount"] == "10000.00"
    assert eur["position"]["available_to_lend"]["amount"] == "9000.00"  # less the reserve
    assert eur["sub_ledger"]["difference"]["minor"] == 0
    assert [a["age"] for a in eur["unidentified_by_age"]] == ["0-30", "31-60", "61-90", ">90"]
    assert eur["aging"]["par30_percent"] == "0.00" and len(eur["aging"]["buckets"]) == 7
    assert eur["movements"] == [
        {"kind": "other", "count": 1, "total": {"amount": "10000.00", "currency": "EUR",
                                               "minor": 1_000_000}}
    ]  # fmt: skip
    assert any("unmatched" in note for note in eur["notes"])


@pytest.mark.parametrize("role", list(Role))
def test_who_may_read_it(march: TestClient, login: Login, role: Role, engine: Engine) -> None:
    headers = login(role)
    before = counts(engine)
    response = march.get("/api/months/2026-03/reconciliation", headers=headers)
    if role is Role.CASEWORKER:
        body = assert_problem(response, 403, code="forbidden")
        assert "your role (caseworker)" in body["detail"]
    else:
        assert response.status_code == 200, response.text
    assert counts(engine) == before


@pytest.mark.parametrize("month", ["2026-13", "abc", "2026-1", "0999-01", "2026-00"])
def test_a_bad_month_is_refused(api: TestClient, treasurer: Headers, month: str) -> None:
    response = api.get(f"/api/months/{month}/reconciliation", headers=treasurer)
    assert_problem(response, 422, field="month", code="validation-error")


def test_the_close_is_refused_until_reconciled_and_an_admin_may_overrule(
    march: TestClient, treasurer: Headers, admin: Headers, engine: Engine
) -> None:
    before = counts(engine)
    for headers, body, field in (
        (treasurer, None, "month"),
        (treasurer, {"reason": "I checked it"}, "month"),
        (admin, None, "reason"),
        (admin, {"reason": None}, "reason"),
        (admin, {"reason": "   "}, "reason"),
    ):
        refused = march.post("/api/periods/2026-03/close-requests", json=body, headers=headers)
        problem = assert_problem(refused, 409, field=field, code="not-reconciled")
        assert "2026-03 does not reconcile" in problem["detail"]
        assert "(-50.00 EUR" in problem["detail"]
    assert counts(engine) == before
    asks = "/api/periods/2026-03/close-requests"
    too_long = march.post(asks, json={"reason": "r" * 1001}, headers=admin)
    assert_problem(too_long, 422, field="reason")
    extra = march.post(asks, json={"why": "x"}, headers=admin)
    assert_problem(extra, 422, field="why")

    reason = "The card payment is disputed with the bank"
    closed = close_month(march, "2026-03", admin, treasurer, reason)
    assert closed.status_code == 200, closed.text
    event = closed.json()
    assert (event["action"], event["actor"], event["reason"]) == ("close", "treasurer.user", reason)
    summary = event["balances"]["reconciliation"]
    assert summary["reconciled"] is False and summary["override"] is True
    assert summary["requested_by"] == "admin.user"
    assert summary["currencies"]["EUR"]["banks"][0]["unmatched"] == -5_000
    body = march.get("/api/months/2026-03/reconciliation", headers=treasurer).json()
    assert body["closed"] is True


def test_a_month_that_reconciles_closes_without_a_body(
    api: TestClient, treasurer: Headers, admin: Headers
) -> None:
    closed = close_month(api, "2026-02", treasurer, admin)
    assert closed.status_code == 200, closed.text
    summary = closed.json()["balances"]["reconciliation"]
    assert summary["reconciled"] is True and summary["signed_off_by"] == "admin.user"
    assert summary["requested_by"] == "treasurer.user"


def test_a_month_closes_in_two_steps_by_two_people(
    api: TestClient, treasurer: Headers, admin: Headers, engine: Engine
) -> None:
    """Nobody closes a month alone through the API: one asks, another signs off; who asked
    cannot sign off, nor ask twice; a request is withdrawn by who asked, refused by another
    with a reason; where the month stands is read back at every step."""
    before = counts(engine)
    nobody = api.post("/api/periods/2026-02/close", headers=treasurer)
    assert "nobody has asked" in assert_problem(nobody, 409, field="month")["detail"]
    assert counts(engine) == before

    asked = api.post("/api/periods/2026-02/close-requests", headers=treasurer)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["requested_by"], request["status"]) == ("treasurer.user", "requested")
    state = api.get("/api/periods/2026-02", headers=admin).json()
    assert state["pending"]["id"] == request["id"] and state["closed"] is None
    assert state["ended"] is True

    own = api.post("/api/periods/2026-02/close", headers=treasurer)
    assert "another person must sign" in assert_problem(own, 409, field="month")["detail"]
    twice = api.post("/api/periods/2026-02/close-requests", headers=admin)
    assert "treasurer.user already asked" in assert_problem(twice, 409)["detail"]
    reason_late = api.post("/api/periods/2026-02/close", json={"reason": "x"}, headers=admin)
    assert_problem(reason_late, 422, field="reason")
    unexplained = api.post("/api/periods/2026-02/close-requests/cancel", headers=admin)
    assert_problem(unexplained, 422, field="reason")

    refused = api.post(
        "/api/periods/2026-02/close-requests/cancel",
        json={"reason": "the bank fee of February is missing"},
        headers=admin,
    )
    assert refused.status_code == 200, refused.text
    assert (refused.json()["status"], refused.json()["decided_by"]) == ("refused", "admin.user")
    assert api.get("/api/periods/2026-02", headers=admin).json()["pending"] is None

    asked = api.post("/api/periods/2026-02/close-requests", headers=treasurer)
    withdrawn = api.post("/api/periods/2026-02/close-requests/cancel", headers=treasurer)
    assert withdrawn.json()["status"] == "withdrawn", withdrawn.text

    closed = close_month(api, "2026-02", admin, treasurer)
    assert closed.status_code == 200, closed.text
    state = api.get("/api/periods/2026-02", headers=treasurer).json()
    assert state["closed"]["id"] == closed.json()["id"]
    assert [r["status"] for r in state["requests"]] == [
        "refused",
        "withdrawn",
        "signed_off",
    ]
    assert state["requests"][-1]["close_event_id"] == closed.json()["id"]
