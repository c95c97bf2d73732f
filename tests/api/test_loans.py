"""Loans over HTTP: a whole life from application to closure, write-off and the portfolio.

Amounts follow docs/accounting.md: a Brussels deposit of 1,700.00 repaid in 23 installments of
70.83 and a last one of 70.91, due on the 5th from 2025-11-05; the clock is at 2026-03-15.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.config import Settings
from tests.support.api import MAX_BYTES, TTL_MINUTES, assert_problem
from tests.support.api_loans import (
    ADMIN,
    AUDITOR,
    CW1,
    CW2,
    PAYOUT_DAY,
    SIGNED_AT,
    TR1,
    TR2,
    Json,
    Team,
    application,
    fund,
    loan_counts,
    new_beneficiary,
    ok,
    open_loan,
    pay,
    submit_before_payout,
    walk,
)
from tests.support.contracts import KEY_PASSWORD, drawn_signature, own_key


@pytest.fixture
def settings(tmp_path: Path, fund_key_file: Path) -> Settings:
    """The API's settings with a fund signing key, so that contracts can be signed."""
    key = own_key(tmp_path, fund_key_file)
    return Settings(
        _env_file=None,
        database_url="sqlite://",
        token_ttl_minutes=TTL_MINUTES,
        max_request_bytes=max(MAX_BYTES, 200_000),
        documents_dir=tmp_path / "documents",
        signing_key_file=key,
        signing_key_password=KEY_PASSWORD,
    )


def png_data_url() -> str:
    return "data:image/png;base64," + base64.b64encode(drawn_signature()).decode()


def eur(amount: str) -> Json:
    minor = int(amount.replace(".", ""))
    return {"amount": amount, "currency": "EUR", "minor": minor}


def legs(entry: Json) -> list[tuple[str, str, str]]:
    return [(leg["account"], leg["side"], leg["amount"]) for leg in entry["legs"]]


def test_a_loan_from_application_to_closure(api: TestClient, team: Team, engine: Engine) -> None:
    fund(api, team)
    # A caseworker records the person and the application, and submits it.
    created = ok(
        api.post(
            "/api/beneficiaries",
            json={"currency": "EUR", "full_name": "Amina Haile", "monthly_net_income": "1450.00",
                  "own_savings": "120.00", "residence_status": "residence permit"},
            headers=team(CW1),
        ),
        201,
    )  # fmt: skip
    bid = created["id"]
    assert bid.startswith("B") and len(bid) == 13 and "Amina" not in bid
    assert created["personal"]["full_name"] == "Amina Haile"
    opened = api.post("/api/loans", json=application(bid), headers=team(CW1))
    loan = ok(opened, 201)
    lid = loan["id"]
    assert opened.headers["location"].endswith(f"/api/loans/{lid}")
    assert (lid, loan["status"], loan["beneficiary_id"]) == ("L000001", "draft", bid)
    assert loan["reference"] == {
        "kind": "ogm",
        "value": "000000000101",
        "display": "+++000/0000/00101+++",
    }
    assert loan["deposit"] == eur("1700.00")
    assert submit_before_payout(api, team, lid)["status"] == "submitted"

    # Four eyes: the submitter may not approve; another caseworker does.
    refused = api.post(f"/api/loans/{lid}/approve", headers=team(CW1))
    assert "another caseworker" in assert_problem(refused, 403, code="forbidden")["detail"]
    approved = ok(api.post(f"/api/loans/{lid}/approve", headers=team(CW2)))
    assert (approved["status"], approved["approved_by"]) == ("approved", CW2)
    # The contract: generated, signed on screen by the beneficiary, then for the fund, two
    # days before the payout (a payout is never dated before the contract's signature).
    today, team.clock.now = team.clock.now, SIGNED_AT
    version = ok(api.post(f"/api/loans/{lid}/contracts", headers=team(CW1)), 201)
    signature = {
        "full_name": "Amina Haile",
        "read_and_approved": "lu et approuvé",
        "signature_png": png_data_url(),
    }
    ok(
        api.post(
            f"/api/loans/{lid}/contracts/{version['contract_version']}/on-screen-signature",
            json=signature,
            headers=team(CW1),
        ),
        201,
    )
    path = f"/api/loans/{lid}/contracts/{version['contract_version']}/fund-signature"
    ok(api.post(path, headers=team(CW2)), 201)
    team.clock.now = today
    assert ok(api.get(f"/api/loans/{lid}", headers=team(CW2)))["status"] == "contract_signed"

    # The treasurer pays out, once, whatever the retries.
    payout = api.post(
        f"/api/loans/{lid}/disbursement", json={"on": PAYOUT_DAY}, headers=team.keyed(TR1, "p-out")
    )
    paid_out = ok(payout, 201)
    assert paid_out["loan"]["status"] == "active"
    assert legs(paid_out["entry"]) == [
        ("1200-L000001", "debit", "1700.00"),
        ("1000", "credit", "1700.00"),
    ]
    assert paid_out["entry"]["kind"] == "disbursement"
    assert payout.headers["location"].endswith(f"/api/journal/{paid_out['entry']['id']}")
    again = api.post(
        f"/api/loans/{lid}/disbursement", json={"on": PAYOUT_DAY}, headers=team.keyed(TR1, "p-out")
    )
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["entry"] == paid_out["entry"]

    # Payments: a retry returns the same entry; the same key with another amount is refused.
    first = pay(api, team, lid, "70.83", "2025-11-05", "pay-1")
    assert legs(first["entry"]) == [("1000", "debit", "70.83"), ("1200-L000001", "credit", "70.83")]
    before = loan_counts(engine)
    retry = api.post(
        f"/api/loans/{lid}/payments",
        json={"amount": "70.83", "currency": "EUR", "on": "2025-11-05"},
        headers=team.keyed(TR1, "pay-1"),
    )
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["entry"]["id"] == first["entry"]["id"]
    changed = api.post(
        f"/api/loans/{lid}/payments",
        json={"amount": "70.84", "currency": "EUR", "on": "2025-11-05"},
        headers=team.keyed(TR1, "pay-1"),
    )
    assert (
        "70.84"
        in assert_problem(changed, 409, field="amount", code="idempotency-key-reused")["detail"]
    )
    assert loan_counts(engine) == before
    pay(api, team, lid, "70.83", "2025-12-05", "pay-2")
    bounced = pay(api, team, lid, "70.83", "2026-01-05", "pay-3")["entry"]["id"]

    # The January payment bounces: reversed, the arrears reopen.
    reversal = ok(
        api.post(
            f"/api/loan-payments/{bounced}/reversal",
            json={"on": "2026-01-20", "reason": "returned by the bank: insufficient funds"},
            headers=team.keyed(TR1, "bounce-3"),
        ),
        201,
    )
    assert reversal["entry"]["reverses_id"] == bounced
    assert legs(reversal["entry"]) == [
        ("1000", "credit", "70.83"),
        ("1200-L000001", "debit", "70.83"),
    ]
    view = ok(api.get(f"/api/loans/{lid}", headers=team(CW1)))
    assert view["as_of"] == "2026-03-15"
    assert [(p["amount"]["amount"], p["reversed"]) for p in view["payments"]] == [
        ("70.83", False),
        ("70.83", False),
        ("70.83", True),
    ]
    assert view["outstanding"] == eur("1558.34")
    # What to pay next: the three late installments and the one due on 5 April.
    assert (view["standing"]["next_due_date"], view["standing"]["next_amount"]) == (
        "2026-04-05",
        eur("283.32"),
    )
    assert view["arrears"] == {
        "overdue": eur("212.49"),
        "days_past_due": 69,
        "bucket": "61-90",
        "oldest_unpaid_due": "2026-01-05",
    }
    schedule = view["schedule"]
    assert len(schedule) == 24 and schedule[-1]["amount"] == eur("70.91")
    assert [(i["paid"]["amount"], i["remaining"]["amount"]) for i in schedule[:4]] == [
        ("70.83", "0.00"),
        ("70.83", "0.00"),
        ("0.00", "70.83"),
        ("0.00", "70.83"),
    ]
    assert view["eligibility"]["outcome"] == "pass"
    assert view["lease"] == {
        "landlord": "Immo Dupont SRL",
        "address": "Rue Haute 12, 1000 Bruxelles",
        "landlord_iban": None,
    }
    assert [e["action"] for e in view["events"]] == [
        "open",
        "submit",
        "approve",
        "sign_contract",
        "disburse",
    ]
    # As of a past day: the January payment counted until it bounced on the 20th.
    then = ok(api.get(f"/api/loans/{lid}", params={"as_of": "2026-01-10"}, headers=team(TR1)))
    assert then["arrears"]["days_past_due"] == 0 and then["arrears"]["bucket"] == "current"
    then = ok(api.get(f"/api/loans/{lid}", params={"as_of": "2026-01-25"}, headers=team(TR1)))
    assert then["arrears"]["days_past_due"] == 20 and then["arrears"]["bucket"] == "1-30"
    assert then["outstanding"] == eur("1558.34")

    # A payment holiday in April moves that installment and the later ones a month on.
    holiday = ok(
        api.post(
            f"/api/loans/{lid}/holidays",
            json={"month": "2026-04", "reason": "hospital stay"},
            headers=team(CW1),
        ),
        201,
    )
    dues = [i["due_date"] for i in holiday["installments"]]
    assert dues[4:7] == ["2026-03-05", "2026-05-05", "2026-06-05"]
    assert dues[-1] == "2027-11-05"

    # Rescheduled over twelve months from April; what was paid stays as one settled line.
    fresh = ok(
        api.post(
            f"/api/loans/{lid}/reschedule",
            json={"first_due_date": "2026-04-05", "installments": 12, "reason": "new job"},
            headers=team(CW2),
        ),
        201,
    )
    lines = [(i["due_date"], i["amount"]["amount"]) for i in fresh["installments"]]
    assert lines[0] == ("2026-03-15", "141.66")
    assert lines[1] == ("2026-04-05", "129.86") and lines[-1] == ("2027-03-05", "129.88")
    assert len(lines) == 13
    view = ok(api.get(f"/api/loans/{lid}", headers=team(AUDITOR)))
    assert view["schedule_version"] == 3
    assert view["arrears"]["bucket"] == "current" and view["outstanding"] == eur("1558.34")

    # The lease ends early: the landlord keeps 100.00 for paint, 1,600.00 comes back; the
    # 41.66 beyond the debt is owed to the person, then refunded, and the loan closes.
    release = ok(
        api.post(
            f"/api/loans/{lid}/deposit-release",
            json={"on": "2026-03-15", "currency": "EUR", "returned": "1600.00",
                  "kept": "100.00", "kept_reason": "repainting the living room"},
            headers=team.keyed(TR1, "release-1"),
        ),
        201,
    )  # fmt: skip
    assert release["loan"]["status"] == "overpaid" and release["still_owed"] == eur("0.00")
    assert legs(release["entry"]) == [
        ("1000", "debit", "1600.00"),
        ("1200-L000001", "credit", "1558.34"),
        ("2100", "credit", "41.66"),
    ]
    refund = ok(
        api.post(
            f"/api/loans/{lid}/refund", json={"on": "2026-03-15"}, headers=team.keyed(TR1, "rf-1")
        ),
        201,
    )
    assert refund["loan"]["status"] == "closed"
    closed = ok(api.get(f"/api/loans/{lid}", headers=team(TR1)))
    assert closed["credit"] == eur("0.00") and closed["outstanding"] == eur("0.00")
    assert legs(refund["entry"]) == [("2100", "debit", "41.66"), ("1000", "credit", "41.66")]
    late = api.post(
        f"/api/loans/{lid}/payments",
        json={"amount": "10.00", "currency": "EUR", "on": "2026-03-15"},
        headers=team.keyed(TR1, "too-late"),
    )
    assert "closed" in assert_problem(late, 409, field="status")["detail"]
    verify = ok(api.get("/api/trial-balance", headers=team(AUDITOR)))
    assert verify["balanced"] is True


def test_write_off_needs_a_second_treasurer_and_later_money_is_a_recovery(
    api: TestClient, team: Team, engine: Engine
) -> None:
    fund(api, team)
    lid = open_loan(api, team)["id"]
    walk(api, team, lid, "active")
    proposal = ok(
        api.post(
            f"/api/loans/{lid}/write-offs",
            json={"reason": "no contact since November"},
            headers=team(TR1),
        ),
        201,
    )
    assert (proposal["status"], proposal["proposed_by"]) == ("proposed", TR1)
    wid = proposal["id"]
    view = ok(api.get(f"/api/loans/{lid}", headers=team(AUDITOR)))
    assert view["pending_write_off"]["id"] == wid
    twice = api.post(f"/api/loans/{lid}/write-offs", json={"reason": "again"}, headers=team(CW1))
    assert "already proposed" in assert_problem(twice, 409, field="status")["detail"]

    before = loan_counts(engine)
    own = api.post(
        f"/api/write-offs/{wid}/approval", json={"on": "2026-03-15"}, headers=team.keyed(TR1, "w")
    )
    assert "another treasurer" in assert_problem(own, 403, code="forbidden")["detail"]
    by_caseworker = api.post(
        f"/api/write-offs/{wid}/approval", json={"on": "2026-03-15"}, headers=team.keyed(CW2, "w")
    )
    assert_problem(by_caseworker, 403, code="forbidden")
    assert loan_counts(engine) == before

    approved = ok(
        api.post(
            f"/api/write-offs/{wid}/approval",
            json={"on": "2026-03-15"},
            headers=team.keyed(TR2, "w"),
        ),
        201,
    )
    assert approved["loan"]["status"] == "written_off"
    assert legs(approved["entry"]) == [
        ("6000", "debit", "1700.00"),
        ("1200-L000001", "credit", "1700.00"),
    ]
    replay = api.post(
        f"/api/write-offs/{wid}/approval", json={"on": "2026-03-15"}, headers=team.keyed(TR2, "w")
    )
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["entry"]["id"] == approved["entry"]["id"]
    view = ok(api.get(f"/api/loans/{lid}", headers=team(TR2)))
    assert view["outstanding"] == eur("0.00") and view["pending_write_off"] is None

    recovery = pay(api, team, lid, "25.00", "2026-03-15", "recovered-1")
    assert recovery["entry"]["kind"] == "recovery"
    assert legs(recovery["entry"]) == [("1000", "debit", "25.00"), ("4100", "credit", "25.00")]
    assert recovery["loan"]["status"] == "written_off"


def test_a_rejected_write_off_leaves_the_loan_active(api: TestClient, team: Team) -> None:
    fund(api, team)
    lid = open_loan(api, team)["id"]
    walk(api, team, lid, "active")
    wid = ok(
        api.post(f"/api/loans/{lid}/write-offs", json={"reason": "gone"}, headers=team(CW1)), 201
    )["id"]
    rejected = ok(
        api.post(
            f"/api/write-offs/{wid}/rejection",
            json={"reason": "she wrote back; a new plan follows"},
            headers=team(TR1),
        )
    )
    assert (rejected["status"], rejected["decided_by"]) == ("rejected", TR1)
    again = api.post(
        f"/api/write-offs/{wid}/approval", json={"on": "2026-03-15"}, headers=team.keyed(TR2, "x")
    )
    assert "already rejected" in assert_problem(again, 409, field="status")["detail"]
    assert ok(api.get(f"/api/loans/{lid}", headers=team(TR1)))["status"] == "active"


def test_portfolio_ages_the_loans_and_computes_par30(api: TestClient, team: Team) -> None:
    fund(api, team)
    on_time = open_loan(api, team)["id"]
    late = open_loan(api, team, deposit="1600.00", monthly_rent="800.00")["id"]
    for lid in (on_time, late):
        walk(api, team, lid, "active")
    for n, day in enumerate(["2025-11-05", "2025-12-05", "2026-01-05", "2026-02-05", "2026-03-05"]):
        pay(api, team, on_time, "70.83", day, f"on-time-{n}")
    pay(api, team, late, "66.67", "2025-11-05", "late-1")  # 1,600.00 / 24 = 66.67 (x23)

    report = ok(api.get("/api/portfolio", headers=team(AUDITOR)))
    assert report["as_of"] == "2026-03-15" and report["currency"] == "EUR"
    assert report["loans"] == 2
    # on time: 1,700.00 - 5 x 70.83 = 1,345.85; late: 1,600.00 - 66.67 = 1,533.33, unpaid
    # since 2025-12-05, i.e. 100 days.
    assert report["outstanding"] == eur("2879.18")
    buckets = {b["bucket"]: (b["loans"], b["outstanding"]["amount"]) for b in report["buckets"]}
    assert list(buckets) == ["current", "1-30", "31-60", "61-90", "91-180", "181-360", ">360"]
    assert buckets["current"] == (1, "1345.85") and buckets["91-180"] == (1, "1533.33")
    assert sum(n for n, _ in buckets.values()) == 2
    assert report["par30"] == eur("1533.33")
    assert report["par30_percent"] == "53.26"  # 1,533.33 / 2,879.18

    # As of 2025-12-20 the late loan was 15 days late: nothing at risk yet.
    then = ok(api.get("/api/portfolio", params={"as_of": "2025-12-20"}, headers=team(TR1)))
    assert then["outstanding"] == eur("3091.67")  # 1,700.00 - 141.66 + 1,533.33
    loans_then = {b["bucket"]: b["loans"] for b in then["buckets"]}
    assert loans_then["current"] == 1 and loans_then["1-30"] == 1
    assert then["par30"] == eur("0.00") and then["par30_percent"] == "0.00"

    chf = ok(api.get("/api/portfolio", params={"currency": "CHF"}, headers=team(CW1)))
    assert chf["loans"] == 0 and chf["outstanding"] == {"amount": "0.00", "currency": "CHF",
                                                        "minor": 0}  # fmt: skip


def test_an_application_is_amended_while_draft_only(api: TestClient, team: Team) -> None:
    fund(api, team)
    loan = open_loan(api, team)
    lid, bid = loan["id"], loan["beneficiary_id"]
    body = application(bid, installments=None, monthly_amount="100", landlord="New landlord")
    del body["beneficiary_id"]
    amended = ok(api.put(f"/api/loans/{lid}", json=body, headers=team(CW2)))
    assert amended["installments"] is None and amended["monthly_amount"] == eur("100.00")
    view = ok(api.get(f"/api/loans/{lid}", headers=team(CW1)))
    assert view["schedule_version"] == 2 and len(view["schedule"]) == 17
    assert view["schedule"][-1]["amount"] == eur("100.00")
    assert view["lease"]["landlord"] == "New landlord"
    walk(api, team, lid, "submitted")
    refused = api.put(f"/api/loans/{lid}", json=body, headers=team(CW1))
    assert "only a draft" in assert_problem(refused, 409, field="status")["detail"]


def test_eligibility_is_checked_on_demand_and_overridden_by_a_supervisor(
    api: TestClient, team: Team, engine: Engine
) -> None:
    fund(api, team)
    lid = open_loan(api, team, public_alternatives="not_tried")["id"]
    # Checked before the first installment's day (2025-11-05), as the rules require.
    today, team.clock.now = team.clock.now, SIGNED_AT
    decision = ok(api.post(f"/api/loans/{lid}/eligibility", headers=team(CW1)))
    team.clock.now = today
    assert decision["outcome"] == "review" and decision["accepted"] is False
    results = {r["rule"]: (r["outcome"], r["reason"]) for r in decision["results"]}
    assert results["public_alternatives"][0] == "review"
    assert "not tried" in results["public_alternatives"][1]
    assert results["legal_maximum"] == ("pass", "the deposit is within 2 months' rent")
    assert decision["facts"]["own_savings"] == "120.00"
    walk(api, team, lid, "submitted")
    before = loan_counts(engine)
    refused = api.post(f"/api/loans/{lid}/approve", headers=team(CW2))
    assert "'review'" in assert_problem(refused, 409, field="eligibility")["detail"]
    by_caseworker = api.post(
        f"/api/loans/{lid}/eligibility/override", json={"reason": "asked"}, headers=team(CW2)
    )
    assert_problem(by_caseworker, 403, code="forbidden")
    assert loan_counts(engine) == before
    overridden = ok(
        api.post(
            f"/api/loans/{lid}/eligibility/override",
            json={"reason": "the CPAS has not answered in six weeks"},
            headers=team(ADMIN),
        )
    )
    assert overridden["accepted"] is True and overridden["override_by"] == ADMIN
    assert ok(api.post(f"/api/loans/{lid}/approve", headers=team(CW2)))["status"] == "approved"


def test_transitions_back_and_out(api: TestClient, team: Team) -> None:
    fund(api, team)
    lid = open_loan(api, team)["id"]
    walk(api, team, lid, "active")
    undone = ok(
        api.post(
            f"/api/loans/{lid}/disbursement/undo",
            json={"on": "2025-10-02", "reason": "paid to the wrong account"},
            headers=team.keyed(TR1, "undo-1"),
        ),
        201,
    )
    assert undone["loan"]["status"] == "contract_signed"
    assert undone["entry"]["kind"] == "reversal"
    back = ok(
        api.post(f"/api/loans/{lid}/undo-approval", json={"reason": "new lease"}, headers=team(CW2))
    )
    assert (back["status"], back["approved_by"]) == ("submitted", None)
    gone = ok(
        api.post(f"/api/loans/{lid}/withdraw", json={"reason": "found a CPAS guarantee"},
                 headers=team(CW1))
    )  # fmt: skip
    assert gone["status"] == "withdrawn"
    other = open_loan(api, team)["id"]
    walk(api, team, other, "submitted")
    rejected = ok(
        api.post(f"/api/loans/{other}/reject", json={"reason": "no lease yet"}, headers=team(CW2))
    )
    assert rejected["status"] == "rejected"


def test_loans_are_listed_and_filtered_without_personal_data(api: TestClient, team: Team) -> None:
    fund(api, team)
    first = open_loan(api, team)
    second = open_loan(api, team)
    walk(api, team, second["id"], "submitted")
    page = ok(api.get("/api/loans", headers=team(AUDITOR)))
    assert page["total"] == 2 and [ln["id"] for ln in page["items"]] == ["L000001", "L000002"]
    assert "Immo Dupont" not in str(page) and "Rue Haute" not in str(page)
    submitted = ok(api.get("/api/loans", params={"status": "submitted"}, headers=team(TR1)))
    assert [ln["id"] for ln in submitted["items"]] == [second["id"]]
    mine = ok(
        api.get("/api/loans", params={"beneficiary_id": first["beneficiary_id"]}, headers=team(CW1))
    )
    assert mine["total"] == 1 and mine["items"][0]["id"] == first["id"]
    paged = ok(api.get("/api/loans", params={"limit": 1, "offset": 1}, headers=team(CW1)))
    assert (paged["total"], paged["limit"], paged["offset"]) == (2, 1, 1)
    assert [ln["id"] for ln in paged["items"]] == [second["id"]]
    bad = api.get("/api/loans", params={"status": "lost"}, headers=team(CW1))
    assert_problem(bad, 422, field="status")


def test_beneficiary_data_is_updated_and_erased_once_no_loan_is_open(
    api: TestClient, team: Team, engine: Engine
) -> None:
    fund(api, team)
    loan = open_loan(api, team)
    lid, bid = loan["id"], loan["beneficiary_id"]
    changed = {"currency": "EUR", "full_name": "Amina H.", "email": "amina@example.org"}
    response = api.put(f"/api/beneficiaries/{bid}", json=changed, headers=team(CW2))
    assert response.status_code == 204, response.text
    got = ok(api.get(f"/api/beneficiaries/{bid}", headers=team(CW2)))
    assert got["personal"]["full_name"] == "Amina H."
    assert got["personal"]["email"] == "amina@example.org"
    assert got["personal"]["monthly_net_income"] is None

    refused = api.post(f"/api/beneficiaries/{bid}/erasure", headers=team(CW1))
    assert lid in assert_problem(refused, 409, field="beneficiary_id")["detail"]
    ok(api.post(f"/api/loans/{lid}/withdraw", json={"reason": "moved away"}, headers=team(CW1)))
    erased = api.post(f"/api/beneficiaries/{bid}/erasure", headers=team(CW1))
    assert erased.status_code == 204, erased.text
    got = ok(api.get(f"/api/beneficiaries/{bid}", headers=team(ADMIN)))
    assert got == {"id": bid, "currency": "EUR", "erased": True, "personal": None}
    view = ok(api.get(f"/api/loans/{lid}", headers=team(CW1)))
    assert view["lease"] == {"landlord": None, "address": None, "landlord_iban": None}
    assert view["eligibility"] is None or view["eligibility"]["facts"] == {"erased": True}
    before = loan_counts(engine)
    again = api.put(f"/api/beneficiaries/{bid}", json=changed, headers=team(CW1))
    assert_problem(again, 409, field="beneficiary_id")
    twice = api.post(f"/api/beneficiaries/{bid}/erasure", headers=team(CW1))
    assert_problem(twice, 409, field="beneficiary_id")
    assert loan_counts(engine) == before


def test_a_second_beneficiary_is_another_person(api: TestClient, team: Team) -> None:
    a, b = new_beneficiary(api, team), new_beneficiary(api, team)
    assert a != b


def test_openapi_marks_the_money_requests_as_needing_a_key(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    keyed = {
        "/api/loans/{loan_id}/disbursement",
        "/api/loans/{loan_id}/disbursement/undo",
        "/api/loans/{loan_id}/payments",
        "/api/loan-payments/{entry_id}/reversal",
        "/api/loans/{loan_id}/refund",
        "/api/loans/{loan_id}/deposit-release",
        "/api/write-offs/{write_off_id}/approval",
    }
    for path in keyed:
        post = paths[path]["post"]
        key = next(p for p in post["parameters"] if p["name"] == "Idempotency-Key")
        assert key["required"] is True, path
        assert {"200", "201", "409", "422"} <= set(post["responses"]), path
    deposit = paths["/api/loans"]["post"]["requestBody"]["content"]["application/json"]
    assert deposit["schema"]["$ref"].endswith("/LoanIn")


def test_a_release_retried_with_the_amounts_written_differently_is_the_same_request(
    api: TestClient, team: Team, engine: Engine
) -> None:
    fund(api, team)
    lid = open_loan(api, team)["id"]
    walk(api, team, lid, "active")
    path = f"/api/loans/{lid}/deposit-release"
    body = {"on": "2026-03-15", "currency": "EUR", "returned": "1700"}
    first = ok(api.post(path, json=body, headers=team.keyed(TR1, "rel")), 201)
    assert first["loan"]["status"] == "closed" and first["still_owed"] == eur("0.00")
    before = loan_counts(engine)
    again = api.post(path, json={**body, "returned": "1700.00", "kept": "0.00"},
                     headers=team.keyed(TR1, "rel"))  # fmt: skip
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["entry"]["id"] == first["entry"]["id"]
    assert loan_counts(engine) == before


def test_a_release_that_brought_nothing_back_is_answered_on_retry(
    api: TestClient, team: Team, engine: Engine
) -> None:
    fund(api, team)
    lid = open_loan(api, team)["id"]
    walk(api, team, lid, "active")
    path = f"/api/loans/{lid}/deposit-release"
    body = {"on": "2026-03-15", "currency": "EUR", "returned": "0", "kept": "1700.00",
            "kept_reason": "two months of unpaid rent"}  # fmt: skip
    first = ok(api.post(path, json=body, headers=team.keyed(TR1, "rel-0")), 201)
    assert first["entry"] is None and first["still_owed"] == eur("1700.00")
    before = loan_counts(engine)
    again = api.post(path, json={**body, "returned": "0.00"}, headers=team.keyed(TR1, "rel-0"))
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first
    other = api.post(path, json={**body, "kept": "1600.00"}, headers=team.keyed(TR1, "rel-0"))
    assert "kept" in assert_problem(other, 409, field="kept")["detail"]
    assert loan_counts(engine) == before


def test_a_submission_may_carry_an_exception_request(api: TestClient, team: Team) -> None:
    lid = open_loan(api, team)["id"]
    too_long = api.post(
        f"/api/loans/{lid}/submit", json={"exception_request": "x" * 1001}, headers=team(CW1)
    )
    assert_problem(too_long, 422)
    sent = api.post(
        f"/api/loans/{lid}/submit",
        json={"exception_request": "income confirmed by the shelter"},
        headers=team(CW1),
    )
    assert ok(sent)["status"] == "submitted"
    view = ok(api.get(f"/api/loans/{lid}", headers=team(CW2)))
    submit = [e for e in view["events"] if e["action"] == "submit"]
    assert submit[-1]["reason"] == "income confirmed by the shelter"
