"""Control characters (NUL, terminal escapes) in any text are refused at the edge with a 422
naming the field, on both engines, before any login: PostgreSQL cannot store a NUL (it was a
500 there) and SQLite stored it as-is (issue 16, finding 15)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import assert_problem, counts, entry, with_key

Headers = dict[str, str]

BAD = ["\x00", "\x1b[31m", "\x07", "\x7f", "\x9b"]


@pytest.mark.parametrize("bad", BAD)
def test_a_login_name_with_a_control_character_is_refused_before_any_login(
    api: TestClient, bad: str
) -> None:
    response = api.post("/api/auth/token", json={"username": f"ann{bad}", "password": "x" * 12})
    problem = assert_problem(response, 422, field="username", code="control-character")
    assert "control character" in problem["detail"]


@pytest.mark.parametrize(
    ("where", "field"),
    [("description", "description"), ("legs", "legs[1].account")],
)
def test_a_control_character_in_a_body_is_refused_and_nothing_is_written(
    api: TestClient, treasurer: Headers, engine: Engine, where: str, field: str
) -> None:
    body: dict[str, Any] = entry("10.00")
    if where == "description":
        body["description"] = "Donation\x00 from a parish"
    else:
        body["legs"][1]["account"] = "4000\x00"
    before = counts(engine)
    response = api.post("/api/journal", json=body, headers=with_key(treasurer, "nul"))
    assert_problem(response, 422, field=field, code="control-character")
    assert counts(engine) == before


def test_a_control_character_in_a_key_is_refused(api: TestClient, treasurer: Headers) -> None:
    body: dict[str, Any] = {**entry("10.00"), "x\x00": "y"}
    response = api.post("/api/journal", json=body, headers=with_key(treasurer, "nul-key"))
    assert_problem(response, 422, field="x?", code="control-character")


def test_line_breaks_and_tabs_are_text(api: TestClient, treasurer: Headers) -> None:
    body = entry("10.00", description="Donation\tfrom a parish\r\nsecond line")
    response = api.post("/api/journal", json=body, headers=with_key(treasurer, "multi-line"))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nobody"}])
def test_a_control_character_in_a_query_parameter_is_refused(
    api: TestClient, headers: Headers
) -> None:
    response = api.get("/api/loans", params={"beneficiary_id": "b\x00"}, headers=headers)
    assert_problem(response, 422, field="beneficiary_id", code="control-character")


def test_a_control_character_in_the_path_is_refused(api: TestClient, treasurer: Headers) -> None:
    response = api.get("/api/loans/L%00", headers=treasurer)
    assert_problem(response, 422, field="path", code="control-character")


def test_a_web_form_with_a_control_character_gets_a_page(api: TestClient) -> None:
    response = api.post("/sign-in", data={"username": "ann\x00", "password": "x"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text
