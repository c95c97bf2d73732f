"""The arrears list over HTTP (`GET /api/arrears`) and its CSV (`/api/exports/arrears.csv`).

Two loans paid out on 2025-10-01, due on the 5th from 2025-11-05 (the clock: 2026-03-15): one
of 1,700.00 paid on time, one of 1,600.00 (24 x 66.67) paid once, unpaid since 2025-12-05.
"""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.support.api import assert_problem
from tests.support.api_loans import AUDITOR, CW1, TR1, Team, fund, ok, open_loan, pay, walk


def two_loans(api: TestClient, team: Team) -> tuple[str, str]:
    fund(api, team)
    on_time = open_loan(api, team)["id"]
    late = open_loan(api, team, deposit="1600.00", monthly_rent="800.00")["id"]
    for lid in (on_time, late):
        walk(api, team, lid, "active")
    for n, day in enumerate(["2025-11-05", "2025-12-05", "2026-01-05", "2026-02-05", "2026-03-05"]):
        pay(api, team, on_time, "70.83", day, f"on-time-{n}")
    pay(api, team, late, "66.67", "2025-11-05", "late-1")
    return on_time, late


def eur(amount: str, minor: int) -> dict[str, object]:
    return {"amount": amount, "currency": "EUR", "minor": minor}


def test_the_list_gives_the_late_loans_by_bucket(api: TestClient, team: Team) -> None:
    _on_time, late = two_loans(api, team)
    page = ok(api.get("/api/arrears", headers=team(AUDITOR)))
    assert page == {
        "as_of": "2026-03-15",
        "currency": "EUR",
        "bucket": None,
        "caseworker": None,
        "total": 1,
        "limit": 50,
        "offset": 0,
        "loans": [
            {
                "loan_id": late,
                "loan_number": 2,
                "caseworker": CW1,
                "days_past_due": 100,
                "bucket": "91-180",
                "late_since": "2025-12-05",
                "overdue": eur("266.68", 26668),  # due 5 December to 5 March, 4 x 66.67
                "outstanding": eur("1533.33", 153333),
            }
        ],
    }
    then = ok(api.get("/api/arrears", params={"as_of": "2025-12-20"}, headers=team(TR1)))
    assert [(x["days_past_due"], x["bucket"]) for x in then["loans"]] == [(15, "1-30")]
    none = ok(api.get("/api/arrears", params={"bucket": "1-30"}, headers=team(TR1)))
    assert none["total"] == 0 and none["loans"] == [] and none["bucket"] == "1-30"
    mine = ok(api.get("/api/arrears", params={"caseworker": CW1}, headers=team(TR1)))
    assert mine["total"] == 1
    other = ok(api.get("/api/arrears", params={"caseworker": "someone"}, headers=team(TR1)))
    assert other["total"] == 0


def test_the_list_refuses_with_problems(api: TestClient, team: Team) -> None:
    two_loans(api, team)
    refused = api.get("/api/arrears", params={"bucket": "current"}, headers=team(TR1))
    assert "choose one of 1-30" in assert_problem(refused, 422, field="bucket")["detail"]
    assert_problem(api.get("/api/arrears", params={"limit": 0}, headers=team(TR1)), 422)
    assert_problem(api.get("/api/arrears", params={"as_of": "15/03/2026"}, headers=team(TR1)), 422)
    assert_problem(api.get("/api/arrears", headers=team(CW1)), 403)
    assert_problem(api.get("/api/exports/arrears.csv", headers=team(CW1)), 403)
    assert_problem(api.get("/api/arrears"), 401)


def test_the_csv_export(api: TestClient, team: Team) -> None:
    _on_time, late = two_loans(api, team)
    response = api.get(
        "/api/exports/arrears.csv", params={"as_of": "2026-03-15"}, headers=team(AUDITOR)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="arrears-EUR-2026-03-15.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[1:] == [
        [late, "2", CW1, "100", "91-180", "2025-12-05", "266.68", "1533.33", "EUR"],
    ]
    assert rows[0][0] == "loan_id" and len(rows) == 2
