"""The report and the CSV exports over HTTP: roles, bad input as problem+json, the files."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.exc import OperationalError

from ledger.config import Settings
from ledger.domain.roles import Role
from ledger.store.report_repository import JournalLegRow, ReportRepository
from tests.support.api import Login, assert_problem, entry, with_key

READERS = (Role.ADMIN, Role.TREASURER, Role.AUDITOR)


@pytest.fixture
def booked(api: TestClient, login: Login) -> TestClient:
    """Capital and a donation on 1 and 2 March 2026 (the clock says 15 March)."""
    treasurer = login(Role.TREASURER)
    for key, body in (
        ("cap", entry("5000.00", kind="capital", credit="3000", description="capital")),
        ("don", entry("12.50", booking_date="2026-03-02", description="@gift")),
    ):
        response = api.post("/api/journal", json=body, headers=with_key(treasurer, key))
        assert response.status_code == 201, response.text
    return api


@pytest.mark.parametrize("role", READERS)
def test_readers_of_the_ledger_get_the_journal_as_csv(
    booked: TestClient, login: Login, role: Role
) -> None:
    response = booked.get(
        "/api/exports/journal.csv",
        params={"from": "2026-03-02", "to": "2026-03-31"},
        headers=login(role),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="journal-2026-03-02-2026-03-31.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["account_code"], r["debit"], r["credit"]) for r in rows] == [
        ("1000", "12.50", ""),
        ("4000", "", "12.50"),
    ]
    assert {r["description"] for r in rows} == {"'@gift"}


def test_the_trial_balance_csv_totals_balance(booked: TestClient, login: Login) -> None:
    response = booked.get(
        "/api/exports/trial-balance.csv",
        params={"as_of": "2026-03-01"},
        headers=login(Role.AUDITOR),
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    (total,) = [r for r in rows if r["account_name"] == "Total"]
    assert total["debit"] == total["credit"] == "5000.00"  # the donation is a day later


@pytest.mark.parametrize(
    "path",
    [
        "/api/reports/monthly/2026-03",
        "/api/exports/journal.csv?from=2026-03-01&to=2026-03-31",
        "/api/exports/trial-balance.csv?as_of=2026-03-31",
    ],
)
def test_a_caseworker_may_not_read_the_reports(booked: TestClient, login: Login, path: str) -> None:
    assert_problem(booked.get(path, headers=login(Role.CASEWORKER)), 403)


@pytest.mark.parametrize(
    "path",
    [
        "/api/reports/monthly/2026-03",
        "/api/exports/journal.csv?from=2026-03-01&to=2026-03-31",
        "/api/exports/trial-balance.csv?as_of=2026-03-31",
    ],
)
def test_reports_need_a_login(booked: TestClient, path: str) -> None:
    assert_problem(booked.get(path), 401)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/reports/monthly/2026-13", "month"),
        ("/api/reports/monthly/26-03-1", "month"),
        ("/api/reports/monthly/2026-04", "month"),  # has not begun on 15 March 2026
        ("/api/exports/journal.csv?from=2026-02-30&to=2026-03-31", "from"),
        ("/api/exports/journal.csv?from=2026-03-31&to=2026-03-01", "from"),
        ("/api/exports/journal.csv?to=2026-03-31", "from"),
        ("/api/exports/trial-balance.csv?as_of=yesterday", "as_of"),
        ("/api/exports/trial-balance.csv", "as_of"),
    ],
)
def test_bad_months_and_dates_are_422_naming_the_field(
    booked: TestClient, login: Login, path: str, field: str
) -> None:
    assert_problem(booked.get(path, headers=login(Role.AUDITOR)), 422, field=field)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.TREASURER])
def test_the_monthly_report_is_a_pdf_for_readers_of_the_ledger(
    booked: TestClient, login: Login, role: Role
) -> None:
    response = booked.get("/api/reports/monthly/2026-03", headers=login(role))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="fund-report-2026-03.pdf"' in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "Monthly fund report" in text and "March 2026" in text


def test_a_database_failure_half_way_is_an_error_not_a_short_file(
    booked: TestClient, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal export is made whole before the answer starts: when the database fails
    after the first rows, the client gets a 503 problem, not a 200 with a truncated file."""
    original = ReportRepository.journal_legs

    def failing(self: ReportRepository, start: date, end: date) -> Iterator[JournalLegRow]:
        yield next(iter(original(self, start, end)))
        raise OperationalError("SELECT ...", {}, Exception("server closed the connection"))

    monkeypatch.setattr(ReportRepository, "journal_legs", failing)
    response = booked.get(
        "/api/exports/journal.csv",
        params={"from": "2026-03-01", "to": "2026-03-31"},
        headers=login(Role.AUDITOR),
    )
    assert_problem(response, 503)


def test_the_journal_export_says_its_length(booked: TestClient, login: Login) -> None:
    response = booked.get(
        "/api/exports/journal.csv",
        params={"from": "2026-03-01", "to": "2026-03-31"},
        headers=login(Role.AUDITOR),
    )
    assert response.status_code == 200, response.text
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.text.count("\n") == 1 + 4  # header, two entries of two legs


def _report_text(response: object) -> str:
    assert isinstance(response, httpx.Response)
    assert response.status_code == 200, response.text
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)


def test_the_report_language_is_the_request_s_or_the_fund_s(
    booked: TestClient, login: Login, settings: Settings
) -> None:
    auditor = login(Role.AUDITOR)
    french = booked.get("/api/reports/monthly/2026-03?language=fr", headers=auditor)
    assert "Rapport mensuel du fonds" in _report_text(french)
    app_state = booked.app.state  # type: ignore[attr-defined]
    dutch_fund = settings.model_copy(update={"report_language": "nl"})
    app_state.ledger = dataclasses.replace(app_state.ledger, settings=dutch_fund)
    dutch = booked.get("/api/reports/monthly/2026-03", headers=auditor)
    assert "Maandrapport van het fonds" in _report_text(dutch)
    english = booked.get("/api/reports/monthly/2026-03?language=en", headers=auditor)
    assert "Monthly fund report" in _report_text(english)


@pytest.mark.parametrize("language", ["x", "fr!", "toolonglanguage"])
def test_a_malformed_report_language_is_refused(
    booked: TestClient, login: Login, language: str
) -> None:
    response = booked.get(
        "/api/reports/monthly/2026-03", params={"language": language}, headers=login(Role.AUDITOR)
    )
    assert_problem(response, 422, field="language")
