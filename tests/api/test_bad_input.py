"""Bad requests to POST /api/journal: each is refused as problem+json naming the field, and
nothing at all is written (no entry, no leg, no idempotency key, no audit record)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import Message, Scope

from tests.support.api import MAX_BYTES, assert_problem, counts, entry, leg, with_key

Headers = dict[str, str]
Body = dict[str, Any]


def legs(*items: dict[str, Any]) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["legs"] = list(items)

    return change


def first_leg(**fields: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["legs"][0].update(fields)

    return change


def field(name: str, value: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body[name] = value

    return change


def drop(name: str) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        del body[name]

    return change


# (change to a valid body, status, field, code, words the detail must contain)
CASES: dict[str, tuple[Callable[[Body], None], int, str, str, str]] = {
    "float amount": (
        first_leg(amount=100.5), 422, "legs[0].amount", "validation-error", "not a JSON number"
    ),
    "integer amount": (
        first_leg(amount=100), 422, "legs[0].amount", "validation-error", "not a JSON number"
    ),
    "boolean amount": (
        first_leg(amount=True), 422, "legs[0].amount", "validation-error", "not a JSON number"
    ),
    "negative amount": (
        first_leg(amount="-100.00"), 422, "legs[0].amount", "validation-error", "positive"
    ),
    "zero amount": (first_leg(amount="0.00"), 422, "legs[0].amount", "validation-error", "zero"),
    "too many decimals": (
        first_leg(amount="100.001"), 422, "legs[0].amount", "validation-error", "decimals"
    ),
    "exponent": (first_leg(amount="1e2"), 422, "legs[0].amount", "validation-error", "12.34"),
    "decimal comma": (first_leg(amount="12,50"), 422, "legs[0].amount", "validation-error", ""),
    "not a number": (first_leg(amount="NaN"), 422, "legs[0].amount", "validation-error", ""),
    "too large": (
        first_leg(amount="12345678901234.00"), 422, "legs[0].amount", "validation-error", "digits"
    ),
    "amount too long": (
        first_leg(amount="1" + "0" * 40), 422, "legs[0].amount", "validation-error", ""
    ),
    "unknown currency": (
        first_leg(currency="XYZ"), 422, "legs[0].currency", "validation-error", "unknown"
    ),
    "lowercase currency": (
        first_leg(currency="eur"), 422, "legs[0].currency", "validation-error", "ISO 4217"
    ),
    "currency of another account": (
        legs(leg("1000", "debit", "10.00", "CHF"), leg("4000", "credit", "10.00", "CHF")),
        422, "legs", "validation-error", "kept in EUR",
    ),
    "unbalanced": (
        legs(leg("1000", "debit", "100.00"), leg("4000", "credit", "99.99")),
        422, "legs", "unbalanced-entry", "0.01",
    ),
    "one leg": (legs(leg("1000", "debit", "1.00")), 422, "legs", "validation-error", ""),
    "no legs": (drop("legs"), 422, "legs", "validation-error", "required"),
    "unknown account": (
        legs(leg("9999", "debit", "1.00"), leg("4000", "credit", "1.00")),
        404, "legs", "not-found", "9999",
    ),
    "control account": (
        legs(leg("1200", "debit", "1.00"), leg("4000", "credit", "1.00")),
        422, "legs", "validation-error", "control account",
    ),
    "account code too long": (
        first_leg(account="1" * 41), 422, "legs[0].account", "validation-error", "40"
    ),
    "unknown side": (first_leg(side="up"), 422, "legs[0].side", "validation-error", ""),
    "misspelt field": (
        first_leg(amout="1.00"), 422, "legs[0].amout", "validation-error", "not permitted"
    ),
    "description too long": (
        field("description", "d" * 501), 422, "description", "validation-error", "500"
    ),
    "empty description": (field("description", ""), 422, "description", "validation-error", ""),
    "blank description": (field("description", "   "), 422, "description", "validation-error", ""),
    "numeric description": (field("description", 12), 422, "description", "validation-error", ""),
    "date format": (
        field("booking_date", "01/03/2026"), 422, "booking_date", "validation-error", "YYYY-MM-DD"
    ),
    "impossible date": (
        field("booking_date", "2026-02-30"), 422, "booking_date", "validation-error", ""
    ),
    "timestamp date": (
        field("booking_date", 1772323200), 422, "booking_date", "validation-error", "YYYY-MM-DD"
    ),
    "loan kind": (field("kind", "disbursement"), 422, "kind", "validation-error", ""),
    "loan id": (field("loan_id", "L-1"), 422, "loan_id", "validation-error", "not permitted"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_bad_entry_is_refused_naming_the_field(
    api: TestClient, treasurer: Headers, engine: Engine, case: str
) -> None:
    change, status, name, code, words = CASES[case]
    body = entry("100.00")
    change(body)
    before = counts(engine)
    response = api.post("/api/journal", json=body, headers=with_key(treasurer, "bad-1"))
    problem = assert_problem(response, status, field=name, code=code)
    assert words in problem["detail"]
    if code == "validation-error" and problem.get("errors"):
        assert problem["errors"][0]["field"] == name
    assert counts(engine) == before


def test_every_invalid_field_is_listed(api: TestClient, treasurer: Headers) -> None:
    body = entry()
    body["legs"] = [leg("1000", "debit", -5), leg("4000", "credit", 12.5, "XYZ")]
    body["description"] = "d" * 600
    response = api.post("/api/journal", json=body, headers=with_key(treasurer, "many"))
    problem = assert_problem(response, 422, code="validation-error")
    assert {e["field"] for e in problem["errors"]} == {
        "description",
        "legs[0].amount",
        "legs[1].currency",
        "legs[1].amount",
    }
    assert problem["field"] == problem["errors"][0]["field"]
    for error in problem["errors"]:
        assert set(error) == {"field", "message", "type"}
    assert "d" * 600 not in response.text  # inputs are not echoed


def test_malformed_json(api: TestClient, treasurer: Headers, engine: Engine) -> None:
    before = counts(engine)
    response = api.post(
        "/api/journal",
        content=b'{"booking_date": "2026-03-01", "legs": [',
        headers={**with_key(treasurer, "broken"), "Content-Type": "application/json"},
    )
    assert_problem(response, 400, field="body", code="malformed-json")
    assert counts(engine) == before


@pytest.mark.parametrize(
    "payload", [b"[1, 2]", b'"a string"', b"null"], ids=["list", "string", "null"]
)
def test_a_body_that_is_not_an_object(
    api: TestClient, treasurer: Headers, engine: Engine, payload: bytes
) -> None:
    before = counts(engine)
    response = api.post(
        "/api/journal",
        content=payload,
        headers={**with_key(treasurer, "not-object"), "Content-Type": "application/json"},
    )
    assert_problem(response, 422, field="body", code="validation-error")
    assert counts(engine) == before


def test_a_body_that_is_not_json(api: TestClient, treasurer: Headers, engine: Engine) -> None:
    before = counts(engine)
    response = api.post(
        "/api/journal",
        content=b"booking_date=2026-03-01",
        headers={**with_key(treasurer, "form"), "Content-Type": "text/plain"},
    )
    assert_problem(response, 422, field="body")
    assert counts(engine) == before


def test_an_oversized_body_is_refused_by_its_content_length(
    api: TestClient, treasurer: Headers, engine: Engine
) -> None:
    before = counts(engine)
    body = entry()
    body["description"] = "x" * (MAX_BYTES + 1)
    response = api.post("/api/journal", json=body, headers=with_key(treasurer, "huge"))
    problem = assert_problem(response, 413, field="body", code="content-too-large")
    assert str(MAX_BYTES) in problem["detail"]
    assert counts(engine) == before


def test_an_oversized_streamed_body_is_refused_while_it_arrives(
    api: TestClient, treasurer: Headers, engine: Engine
) -> None:
    """Called as ASGI directly: the test client would read the whole body before sending it."""
    chunk, chunks_offered = 1000, 100
    received = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal received
        received += 1
        return {
            "type": "http.request",
            "body": b" " * chunk,
            "more_body": received < chunks_offered,
        }

    async def send(message: Message) -> None:
        sent.append(message)

    headers = {**with_key(treasurer, "stream"), "Content-Type": "application/json"}
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/journal",
        "raw_path": b"/api/journal",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
    }
    before = counts(engine)
    anyio.run(api.app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert (b"content-type", b"application/problem+json") in start["headers"]
    body = json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    )
    assert body["field"] == "body" and body["code"] == "content-too-large"
    assert received == MAX_BYTES // chunk + 1 < chunks_offered  # stopped reading at the limit
    assert counts(engine) == before


def test_a_body_just_under_the_limit_is_read(api: TestClient, treasurer: Headers) -> None:
    body = entry()
    raw = json.dumps(body).encode()
    raw += b" " * (MAX_BYTES - len(raw))  # whitespace padding: still valid JSON
    response = api.post(
        "/api/journal",
        content=raw,
        headers={**with_key(treasurer, "padded"), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_a_bad_content_length_is_refused(api: TestClient, treasurer: Headers) -> None:
    response = api.post(
        "/api/journal",
        content=b"{}",
        headers={**with_key(treasurer, "bad-length"), "Content-Length": "two"},
    )
    assert_problem(response, 400, field="Content-Length", code="bad-content-length")


def test_an_oversized_field_elsewhere(api: TestClient, admin: Headers, engine: Engine) -> None:
    before = counts(engine)
    response = api.post("/api/periods/2026-01/reopen", json={"reason": "r" * 1001}, headers=admin)
    problem = assert_problem(response, 422, field="reason")
    assert "1000" in problem["detail"]
    assert counts(engine) == before
