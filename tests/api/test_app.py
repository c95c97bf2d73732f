"""The app itself: startup checks, health, OpenAPI, and errors no router raises."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from ledger.api.app import create_app
from ledger.api.schemas import ManualKind
from ledger.config import Settings
from ledger.domain.journal import MANUAL_KINDS
from ledger.services import journal
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.migrate import SchemaOutdated
from ledger.store.uow import GuardRefused
from tests.support.api import PROBLEM_JSON, assert_problem, counts, entry, with_key


def test_refuses_to_start_without_a_schema(tmp_path: Path, settings: Settings) -> None:
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaOutdated, match="fundledger init"):
        create_app(settings, engine=empty)
    empty.dispose()


def test_refuses_to_start_on_an_outdated_schema(tmp_path: Path, settings: Settings) -> None:
    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(old, "0001")
    assert migrate.head_revision() != "0001", "needs a schema newer than 0001 to test this"
    with pytest.raises(SchemaOutdated, match="run `fundledger init`"):
        create_app(settings, engine=old)
    old.dispose()


def test_health_needs_no_token_and_names_the_revision(api: TestClient) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "schema_revision": migrate.head_revision()}


def test_openapi_documents_bearer_auth_and_problems(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearer"]["description"],
    }
    post = schema["paths"]["/api/journal"]["post"]
    assert post["security"] == [{"bearer": []}]
    key = next(p for p in post["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] is True
    assert set(post["responses"]["422"]["content"]) == {PROBLEM_JSON}
    amount = schema["components"]["schemas"]["LegIn"]["properties"]["amount"]
    assert amount["type"] == "string"
    expected = {
        "/api/auth/token", "/api/auth/logout", "/api/accounts", "/api/accounts/{code}",
        "/api/accounts/{code}/close", "/api/accounts/{code}/balance",
        "/api/accounts/{code}/statement", "/api/journal", "/api/journal/{entry_id}",
        "/api/journal/{entry_id}/reversal", "/api/trial-balance", "/api/periods",
        "/api/periods/{month}", "/api/periods/{month}/close-requests",
        "/api/periods/{month}/close-requests/cancel",
        "/api/periods/{month}/close", "/api/periods/{month}/reopen", "/api/audit",
        "/api/users", "/health", "/api/months/{month}/reconciliation",
    }  # fmt: skip
    expected |= {
        "/api/statements", "/api/statements/{statement_id}", "/api/statements/lines",
        "/api/statements/lines/{line_id}", "/api/statements/lines/{line_id}/match",
        "/api/statements/lines/{line_id}/book", "/api/statements/lines/{line_id}/link",
        "/api/statements/lines/{line_id}/unmatch", "/api/statements/mappings",
        "/api/statements/mappings/{name}",
    }  # fmt: skip
    expected |= {
        "/api/loans/{loan_id}/contract", "/api/loans/{loan_id}/contracts", "/api/contract-scans",
        "/api/loans/{loan_id}/contracts/{version}/on-screen-signature",
        "/api/loans/{loan_id}/contracts/{version}/fund-signature",
        "/api/loans/{loan_id}/schedules", "/api/loans/{loan_id}/documents",
        "/api/documents/{document_id}", "/api/documents/{document_id}/content",
        "/api/documents/{document_id}/validation", "/api/loans/{loan_id}/access-links",
        "/api/access-links/{link_id}/revocation", "/b/{token}", "/b/{token}/schedule.pdf",
    }  # fmt: skip
    expected |= {
        "/api/beneficiaries", "/api/beneficiaries/{beneficiary_id}",
        "/api/beneficiaries/{beneficiary_id}/erasure", "/api/loans", "/api/loans/{loan_id}",
        "/api/loans/{loan_id}/eligibility", "/api/loans/{loan_id}/eligibility/override",
        "/api/loans/{loan_id}/submit", "/api/loans/{loan_id}/approve",
        "/api/loans/{loan_id}/reject", "/api/loans/{loan_id}/withdraw",
        "/api/loans/{loan_id}/undo-approval", "/api/loans/{loan_id}/disbursement",
        "/api/loans/{loan_id}/disbursement/undo", "/api/loans/{loan_id}/payments",
        "/api/loan-payments/{entry_id}/reversal", "/api/loans/{loan_id}/refund",
        "/api/loans/{loan_id}/deposit-release", "/api/loans/{loan_id}/holidays",
        "/api/loans/{loan_id}/reschedule", "/api/loans/{loan_id}/write-offs",
        "/api/write-offs/{write_off_id}/approval", "/api/write-offs/{write_off_id}/rejection",
        "/api/portfolio",
    }  # fmt: skip
    expected |= {
        "/api/payment-files", "/api/payment-files/pending", "/api/payment-files/{file_id}",
        "/api/payment-files/{file_id}/xml", "/api/payment-files/{file_id}/sent",
        "/api/payment-files/{file_id}/cancel", "/api/loans/{loan_id}/landlord-account",
    }  # fmt: skip
    expected |= {
        "/api/reports/monthly/{month}", "/api/exports/journal.csv",
        "/api/exports/trial-balance.csv",
    }  # fmt: skip
    expected |= {"/api/arrears", "/api/exports/arrears.csv"}
    assert set(schema["paths"]) == expected


def test_docs_page_is_served(api: TestClient) -> None:
    response = api.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_unknown_route_is_a_problem(api: TestClient) -> None:
    body = assert_problem(api.get("/api/nothing-here"), 404, code="not-found")
    assert body["instance"] == "/api/nothing-here"


def test_wrong_method_is_a_problem(api: TestClient, treasurer: dict[str, str]) -> None:
    response = api.delete("/api/journal", headers=treasurer)
    assert_problem(response, 405, code="method-not-allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_unexpected_error_leaks_nothing(
    api: TestClient,
    treasurer: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals: password=hunter2 at /srv/ledger.py")

    monkeypatch.setattr(journal, "list_accounts", broken)
    # A client that raises what the app re-raises: the error must stop in the app.
    with TestClient(api.app) as strict:
        response = strict.get("/api/accounts", headers=treasurer)
    body = assert_problem(response, 500, code="internal-error")
    assert "secret" not in response.text and "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert body["field"] is None
    assert "RuntimeError" in caplog.text  # logged on the server, for the operator


def test_a_database_error_is_logged_without_its_parameters(
    api: TestClient,
    treasurer: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise IntegrityError(
            "INSERT INTO journal_entries (description) VALUES (?)",
            ("Deposit for Ms Secret-Name",),
            ValueError("UNIQUE constraint failed"),
        )

    monkeypatch.setattr(journal, "list_accounts", broken)
    response = api.get("/api/accounts", headers=treasurer)
    assert_problem(response, 500, code="internal-error")
    assert "Secret-Name" not in response.text and "INSERT" not in response.text
    assert "database error on GET /api/accounts: ValueError" in caplog.text
    assert "Secret-Name" not in caplog.text


def test_a_database_that_does_not_answer_is_a_503(
    api: TestClient, treasurer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(journal, "list_accounts", down)
    response = api.get("/api/accounts", headers=treasurer)
    assert_problem(response, 503, code="database-unavailable")
    assert response.headers["retry-after"] == "5"
    assert "SELECT" not in response.text

    monkeypatch.setattr(migrate, "current_revision", down)
    assert_problem(api.get("/health"), 503, code="database-unavailable")


def test_database_guard_refusal_is_a_conflict(
    api: TestClient, treasurer: dict[str, str], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*_args: object, **_kwargs: object) -> None:
        raise GuardRefused("fundledger: journal_entries is append-only")

    monkeypatch.setattr(journal, "post_manual_entry", refused)
    before = counts(engine)
    response = api.post("/api/journal", json=entry(), headers=with_key(treasurer, "k-guard"))
    body = assert_problem(response, 409, code="refused-by-database")
    assert body["detail"] == "fundledger: journal_entries is append-only"
    assert counts(engine) == before


def test_the_manual_kinds_offered_are_the_domain_s() -> None:
    assert set(get_args(ManualKind)) == {kind.value for kind in MANUAL_KINDS}
