"""Posting, idempotent retries, reversals, closed months and the reports built on the journal."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import (
    assert_problem,
    audit_actions,
    close_month,
    counts,
    entry,
    leg,
    with_key,
)

Headers = dict[str, str]


def post(api: TestClient, headers: Headers, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/journal", json=body, headers=with_key(headers, key))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def books(api: TestClient, treasurer: Headers) -> list[dict[str, Any]]:
    """Capital 1,000.00 (03-01), a donation of 250.00 (03-05), a bank charge of 12.34 (03-10)."""
    return [
        post(api, treasurer, "capital-1", entry("1000.00", kind="capital", credit="3000")),
        post(api, treasurer, "donation-1", entry("250.00", booking_date="2026-03-05")),
        post(
            api,
            treasurer,
            "charge-1",
            entry(
                "12.34",
                booking_date="2026-03-10",
                kind="bank_charge",
                description="Account fee",
                debit="6100",
                credit="1000",
            ),
        ),
    ]


# -- posting -----------------------------------------------------------------------------------


def test_post_returns_the_entry_with_exact_amounts(
    api: TestClient, treasurer: Headers, engine: Engine
) -> None:
    body = entry("1234567.89")
    response = api.post("/api/journal", json=body, headers=with_key(treasurer, "k-1"))
    assert response.status_code == 201
    posted = response.json()
    assert response.headers["location"].endswith(f"/api/journal/{posted['id']}")
    assert "idempotent-replayed" not in response.headers
    assert posted["id"] == 1
    assert posted["legs"] == [
        {
            "account": "1000",
            "side": "debit",
            "amount": "1234567.89",
            "currency": "EUR",
            "minor": 123456789,
        },
        {
            "account": "4000",
            "side": "credit",
            "amount": "1234567.89",
            "currency": "EUR",
            "minor": 123456789,
        },
    ]
    assert posted["author"] == "treasurer.user"
    assert posted["idempotency_key"] == "k-1"
    assert posted["prev_hash"] == "0" * 64
    assert len(posted["hash"]) == 64 and posted["hash"] != posted["prev_hash"]
    assert posted["reverses_id"] is None and posted["reversed_by_id"] is None
    assert api.get("/api/journal/1", headers=treasurer).json() == posted
    assert audit_actions(engine)[-1] == "post_entry"


def test_amounts_are_written_back_with_the_currency_decimals(
    api: TestClient, treasurer: Headers
) -> None:
    posted = post(api, treasurer, "k-1", entry("100"))
    assert [leg["amount"] for leg in posted["legs"]] == ["100.00", "100.00"]
    bank = api.get("/api/accounts/1000", headers=treasurer).json()
    assert bank["balance"] == {"amount": "100.00", "currency": "EUR", "minor": 10000}


def test_entries_are_chained(api: TestClient, books: list[dict[str, Any]]) -> None:
    assert [e["id"] for e in books] == [1, 2, 3]
    assert books[1]["prev_hash"] == books[0]["hash"]
    assert books[2]["prev_hash"] == books[1]["hash"]


def test_idempotent_retry_returns_the_original(
    api: TestClient, treasurer: Headers, engine: Engine
) -> None:
    first = post(api, treasurer, "retry-me", entry("42.00"))
    before = counts(engine)
    again = api.post("/api/journal", json=entry("42.00"), headers=with_key(treasurer, "retry-me"))
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first
    assert counts(engine) == before
    listed = api.get("/api/journal", headers=treasurer).json()
    assert listed["total"] == 1


def test_the_same_amount_written_differently_is_the_same_request(
    api: TestClient, treasurer: Headers, engine: Engine
) -> None:
    first = post(api, treasurer, "same", entry("100"))
    again = api.post("/api/journal", json=entry("100.00"), headers=with_key(treasurer, "same"))
    assert again.status_code == 200
    assert counts(engine)["journal_entries"] == 1
    assert again.json()["id"] == first["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": "Another donation"}, "description"),
        ({"booking_date": "2026-03-02"}, "booking_date"),
        ({"kind": "adjustment"}, "kind"),
        ({"amount": "100.01"}, "legs"),
    ],
    ids=["description", "booking_date", "kind", "amount"],
)
def test_same_key_with_different_content_is_a_conflict_naming_the_field(
    api: TestClient, treasurer: Headers, engine: Engine, change: dict[str, str], field: str
) -> None:
    post(api, treasurer, "used-once", entry("100.00"))
    before = counts(engine)
    fields = dict(change)  # the parameter is shared by both engines' runs: do not mutate it
    body = {**entry(fields.pop("amount", "100.00")), **fields}
    response = api.post("/api/journal", json=body, headers=with_key(treasurer, "used-once"))
    problem = assert_problem(response, 409, field=field, code="idempotency-key-reused")
    assert "used-once" in problem["detail"]
    assert counts(engine) == before


def test_posting_needs_an_idempotency_key(
    api: TestClient, treasurer: Headers, engine: Engine
) -> None:
    before = counts(engine)
    response = api.post("/api/journal", json=entry(), headers=treasurer)
    assert_problem(response, 400, field="Idempotency-Key", code="idempotency-key-missing")
    assert counts(engine) == before


@pytest.mark.parametrize("key", ["k" * 65, "has space", "tab\tkey"], ids=["long", "space", "tab"])
def test_a_malformed_idempotency_key_is_refused(
    api: TestClient, treasurer: Headers, engine: Engine, key: str
) -> None:
    before = counts(engine)
    response = api.post("/api/journal", json=entry(), headers=with_key(treasurer, key))
    assert_problem(response, 422, field="Idempotency-Key", code="validation-error")
    assert counts(engine) == before


def test_a_closed_month_takes_no_posting_until_an_admin_reopens_it(
    api: TestClient, treasurer: Headers, admin: Headers, engine: Engine
) -> None:
    closed = close_month(api, "2026-02", treasurer, admin)
    assert closed.status_code == 200
    assert closed.json()["action"] == "close"
    assert closed.json()["actor"] == "admin.user"
    february = entry("10.00", booking_date="2026-02-20")

    before = counts(engine)
    refused = api.post("/api/journal", json=february, headers=with_key(treasurer, "feb-1"))
    problem = assert_problem(refused, 409, field="booking_date", code="closed-period")
    assert "2026-02 is closed" in problem["detail"]
    assert counts(engine) == before

    assert_problem(
        api.post("/api/periods/2026-02/reopen", json={"reason": "x"}, headers=treasurer),
        403,
        code="forbidden",
    )
    assert_problem(
        api.post("/api/periods/2026-02/reopen", json={}, headers=admin), 422, field="reason"
    )
    assert_problem(
        api.post("/api/periods/2026-02/reopen", json={"reason": "r" * 1001}, headers=admin),
        422,
        field="reason",
    )
    assert_problem(
        api.post("/api/periods/2026-02/reopen", json={"reason": "   "}, headers=admin),
        422,
        field="reason",
    )
    reason = "Bank statement of 20 February was booked in March by mistake"
    reopened = api.post("/api/periods/2026-02/reopen", json={"reason": reason}, headers=admin)
    assert reopened.status_code == 200
    assert reopened.json()["action"] == "reopen"
    assert reopened.json()["reason"] == reason
    assert reopened.json()["actor"] == "admin.user"

    periods = api.get("/api/periods", headers=admin).json()
    assert periods["closed"] == []
    assert [(e["month"], e["action"], e["reason"]) for e in periods["events"]] == [
        ("2026-02", "close", None),
        ("2026-02", "reopen", reason),
    ]
    assert periods["events"][0]["balances"]["totals"] == {"EUR": 0}

    retried = api.post("/api/journal", json=february, headers=with_key(treasurer, "feb-1"))
    assert retried.status_code == 201
    assert audit_actions(engine)[-3:] == ["close_month", "reopen_month", "post_entry"]


@pytest.mark.parametrize(
    ("month", "status", "code"),
    [
        ("2026-03", 422, "validation-error"),  # not ended yet
        ("2026-13", 422, "validation-error"),
        ("26-01aa", 422, "validation-error"),
        ("2026-1", 422, "validation-error"),
    ],
)
def test_a_month_that_cannot_be_closed(
    api: TestClient, treasurer: Headers, engine: Engine, month: str, status: int, code: str
) -> None:
    before = counts(engine)
    response = api.post(f"/api/periods/{month}/close-requests", headers=treasurer)
    assert_problem(response, status, field="month", code=code)
    assert counts(engine) == before


def test_closing_a_closed_month_again_is_a_conflict(
    api: TestClient, treasurer: Headers, admin: Headers
) -> None:
    assert close_month(api, "2026-01", treasurer, admin).status_code == 200
    asked = api.post("/api/periods/2026-01/close-requests", headers=treasurer)
    assert_problem(asked, 409, field="month", code="conflict")
    signed = api.post("/api/periods/2026-01/close", headers=admin)
    assert_problem(signed, 409, field="month", code="conflict")


def test_reopening_an_open_month_is_a_conflict(api: TestClient, admin: Headers) -> None:
    response = api.post("/api/periods/2026-01/reopen", json={"reason": "why"}, headers=admin)
    assert_problem(response, 409, field="month", code="conflict")


def test_a_booking_date_in_the_future_is_refused(
    api: TestClient, treasurer: Headers, engine: Engine
) -> None:
    before = counts(engine)
    response = api.post(
        "/api/journal",
        json=entry(booking_date="2026-03-16"),
        headers=with_key(treasurer, "future"),
    )
    assert_problem(response, 422, field="booking_date", code="validation-error")
    assert counts(engine) == before


def test_an_overdraft_of_a_protected_account_is_refused(
    api: TestClient, treasurer: Headers, engine: Engine
) -> None:
    before = counts(engine)
    body = entry("5.00", kind="bank_charge", debit="6100", credit="1000")
    response = api.post("/api/journal", json=body, headers=with_key(treasurer, "overdraw"))
    assert_problem(response, 409, field="legs", code="overdraft")
    assert counts(engine) == before


# -- reversals ---------------------------------------------------------------------------------


def test_reversal_mirrors_the_entry_and_is_allowed_once(
    api: TestClient, treasurer: Headers, books: list[dict[str, Any]], engine: Engine
) -> None:
    donation = books[1]
    response = api.post(
        f"/api/journal/{donation['id']}/reversal",
        json={"description": "Donation returned to the donor"},
        headers=with_key(treasurer, "rev-1"),
    )
    assert response.status_code == 201
    reversal = response.json()
    assert reversal["kind"] == "reversal"
    assert reversal["reverses_id"] == donation["id"]
    assert reversal["booking_date"] == "2026-03-15"  # today, by default
    assert reversal["description"] == "Donation returned to the donor"
    assert [(x["account"], x["side"], x["amount"]) for x in reversal["legs"]] == [
        ("1000", "credit", "250.00"),
        ("4000", "debit", "250.00"),
    ]
    original = api.get(f"/api/journal/{donation['id']}", headers=treasurer).json()
    assert original["reversed_by_id"] == reversal["id"]
    assert audit_actions(engine)[-1] == "reverse_entry"

    before = counts(engine)
    replay = api.post(
        f"/api/journal/{donation['id']}/reversal",
        json={"description": "Donation returned to the donor"},
        headers=with_key(treasurer, "rev-1"),
    )
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == reversal["id"]

    twice = api.post(
        f"/api/journal/{donation['id']}/reversal", headers=with_key(treasurer, "rev-2")
    )
    problem = assert_problem(twice, 409, field="entry_id", code="already-reversed")
    assert f"reversed by entry {reversal['id']}" in problem["detail"]
    assert counts(engine) == before

    bank = api.get("/api/accounts/1000/balance", headers=treasurer).json()
    assert bank["balance"]["amount"] == "987.66"


def test_reversal_needs_an_idempotency_key(
    api: TestClient, treasurer: Headers, books: list[dict[str, Any]], engine: Engine
) -> None:
    before = counts(engine)
    response = api.post("/api/journal/1/reversal", headers=treasurer)
    assert_problem(response, 400, field="Idempotency-Key")
    assert counts(engine) == before


def test_reversal_cannot_predate_its_entry(
    api: TestClient, treasurer: Headers, books: list[dict[str, Any]], engine: Engine
) -> None:
    before = counts(engine)
    response = api.post(
        "/api/journal/3/reversal",
        json={"booking_date": "2026-03-09"},
        headers=with_key(treasurer, "early"),
    )
    assert_problem(response, 422, field="booking_date")
    assert counts(engine) == before


def test_reversal_of_an_unknown_entry(api: TestClient, treasurer: Headers, engine: Engine) -> None:
    before = counts(engine)
    response = api.post("/api/journal/77/reversal", headers=with_key(treasurer, "nope"))
    assert_problem(response, 404, field="entry_id", code="not-found")
    assert counts(engine) == before


# -- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/journal/999", 404, "entry_id"),
        ("/api/journal/0", 422, "entry_id"),
        ("/api/journal/abc", 422, "entry_id"),
        (f"/api/journal/{2**70}", 422, "entry_id"),
    ],
)
def test_reading_an_entry_that_does_not_exist(
    api: TestClient, auditor: Headers, path: str, status: int, field: str
) -> None:
    assert_problem(api.get(path, headers=auditor), status, field=field)


def test_journal_filters_and_pages(
    api: TestClient, auditor: Headers, books: list[dict[str, Any]]
) -> None:
    everything = api.get("/api/journal", headers=auditor).json()
    assert everything["total"] == 3
    assert [e["id"] for e in everything["items"]] == [1, 2, 3]

    page = api.get("/api/journal", params={"limit": 1, "offset": 1}, headers=auditor).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [e["id"] for e in page["items"]] == [2]

    def ids(**params: Any) -> list[int]:
        body = api.get("/api/journal", params=params, headers=auditor).json()
        assert body["total"] == len(body["items"])
        return [e["id"] for e in body["items"]]

    assert ids(**{"from": "2026-03-02", "to": "2026-03-09"}) == [2]
    assert ids(kind="bank_charge") == [3]
    assert ids(account="6100") == [3]
    assert ids(account="1000") == [1, 2, 3]
    assert ids(loan_id="no-such-loan") == []


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"kind": "gift"}, 422, "kind"),
        ({"from": "yesterday"}, 422, "from"),
        ({"to": "2026-02-30"}, 422, "to"),
        ({"limit": 0}, 422, "limit"),
        ({"limit": 501}, 422, "limit"),
        ({"offset": -1}, 422, "offset"),
        ({"account": "9999"}, 404, "account"),
        ({"account": "x" * 41}, 422, "account"),
    ],
)
def test_journal_filters_are_checked(
    api: TestClient, auditor: Headers, params: dict[str, Any], status: int, field: str
) -> None:
    response = api.get("/api/journal", params=params, headers=auditor)
    body = assert_problem(response, status, field=field)
    if status == 422:
        assert body["errors"][0]["field"] == field


def test_trial_balance_sums_to_zero(
    api: TestClient, auditor: Headers, books: list[dict[str, Any]]
) -> None:
    tb = api.get("/api/trial-balance", headers=auditor).json()
    assert tb["balanced"] is True
    assert tb["totals"] == [{"amount": "0.00", "currency": "EUR", "minor": 0}]
    by_code = {line["account"]: line for line in tb["lines"]}
    assert by_code["1000"]["balance"]["amount"] == "1237.66"
    assert by_code["1000"]["side"] == "debit"
    assert by_code["3000"]["balance"]["amount"] == "-1000.00"
    assert by_code["3000"]["side"] == "credit"
    assert by_code["4000"]["balance"]["amount"] == "-250.00"
    assert by_code["6100"]["balance"]["amount"] == "12.34"
    assert by_code["2100"]["side"] is None
    assert "1200" not in by_code  # control accounts are summed through their sub-accounts

    early = api.get("/api/trial-balance", params={"as_of": "2026-03-04"}, headers=auditor).json()
    assert early["as_of"] == "2026-03-04"
    early_codes = {line["account"]: line["balance"]["amount"] for line in early["lines"]}
    assert early_codes["1000"] == "1000.00"
    assert early_codes["4000"] == "0.00"
    assert early["balanced"] is True


def test_statement_gives_a_running_balance(
    api: TestClient, auditor: Headers, books: list[dict[str, Any]]
) -> None:
    full = api.get("/api/accounts/1000/statement", headers=auditor).json()
    assert full["opening_balance"]["amount"] == "0.00"
    assert full["total"] == 3
    assert [
        (x["entry_id"], x["side"], x["amount"]["amount"], x["running_balance"]["amount"])
        for x in full["lines"]
    ] == [
        (1, "debit", "1000.00", "1000.00"),
        (2, "debit", "250.00", "1250.00"),
        (3, "credit", "12.34", "1237.66"),
    ]

    march = api.get(
        "/api/accounts/1000/statement",
        params={"from": "2026-03-02", "to": "2026-03-31", "limit": 1, "offset": 1},
        headers=auditor,
    ).json()
    assert march["from"] == "2026-03-02" and march["to"] == "2026-03-31"
    assert march["opening_balance"] == {"amount": "1000.00", "currency": "EUR", "minor": 100000}
    assert march["total"] == 2
    assert [x["running_balance"]["amount"] for x in march["lines"]] == ["1237.66"]


def test_statement_checks_its_period(api: TestClient, auditor: Headers) -> None:
    response = api.get(
        "/api/accounts/1000/statement",
        params={"from": "2026-03-10", "to": "2026-03-01"},
        headers=auditor,
    )
    assert_problem(response, 422, field="from")


def test_balance_as_of_a_past_day(
    api: TestClient, auditor: Headers, books: list[dict[str, Any]]
) -> None:
    now = api.get("/api/accounts/4000/balance", headers=auditor).json()
    assert now["as_of"] is None
    assert now["balance"] == {"amount": "-250.00", "currency": "EUR", "minor": -25000}
    assert now["natural_balance"] == {"amount": "250.00", "currency": "EUR", "minor": 25000}
    then = api.get(
        "/api/accounts/1000/balance", params={"as_of": "2026-03-05"}, headers=auditor
    ).json()
    assert then["balance"]["amount"] == "1250.00"


def test_a_leg_list_in_several_lines(api: TestClient, treasurer: Headers) -> None:
    body = entry()
    body["legs"] = [
        leg("1000", "debit", "100.00"),
        leg("4000", "credit", "60.00"),
        leg("4000", "credit", "40.00"),
    ]
    posted = post(api, treasurer, "split", body)
    assert [x["amount"] for x in posted["legs"]] == ["100.00", "60.00", "40.00"]


def test_concurrent_retries_post_once(api: TestClient, treasurer: Headers, engine: Engine) -> None:
    """A client that retries before the first answer arrives still posts exactly once."""

    def send(_: int) -> tuple[int, int]:
        response = api.post("/api/journal", json=entry("7.00"), headers=with_key(treasurer, "c"))
        return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(send, range(6)))
    assert sorted(status for status, _ in results) == [200] * 5 + [201]
    assert {entry_id for _, entry_id in results} == {1}
    assert counts(engine)["journal_entries"] == 1
    assert counts(engine)["idempotency_keys"] == 1
