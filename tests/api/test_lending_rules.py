"""The fund's own lending rules (FUNDLEDGER_RULES_FILE) are the ones the API decides with."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.errors import ValidationError
from tests.support.api import MAX_BYTES, TTL_MINUTES
from tests.support.api_loans import CW1, TR1, Team, fund, ok, open_loan
from tests.support.clock import Clock

RULES = """
version = "tight-2027"
fund_cap = "1000.00"
cash_reserve = "9500.00"
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return Settings(
        _env_file=None,
        database_url="sqlite://",
        token_ttl_minutes=TTL_MINUTES,
        max_request_bytes=MAX_BYTES,
        rules_file=path,
    )


def test_eligibility_is_decided_by_the_fund_s_rules(api: TestClient, team: Team) -> None:
    fund(api, team)  # 10,000.00 in the bank
    lid = open_loan(api, team)["id"]  # a deposit of 1,700.00
    decision = ok(api.post(f"/api/loans/{lid}/eligibility", headers=team(CW1)))
    assert decision["rules_version"] == "tight-2027"
    results = {r["rule"]: (r["outcome"], r["reason"]) for r in decision["results"]}
    assert results["fund_cap"][0] == "fail"
    assert "1,000.00" in results["fund_cap"][1] or "1000.00" in results["fund_cap"][1]
    assert results["fund_cash"][0] == "fail"  # 10,000.00 less a reserve of 9,500.00
    assert decision["outcome"] == "fail"


def test_a_bad_rules_file_stops_the_service_at_start(
    engine: Engine, clock: Clock, settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('fund_cap = "1000.00"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="version is required"):
        create_app(settings.model_copy(update={"rules_file": bad}), engine=engine, clock=clock)


def test_the_reconciliation_keeps_the_fund_s_reserve_back(
    api: TestClient, team: Team, clock: Clock
) -> None:
    fund(api, team)  # 10,000.00 on 2025-09-01
    response = api.get("/api/months/2025-09/reconciliation", headers=team(TR1))
    (rec,) = ok(response)["currencies"]
    assert rec["position"]["reserve"]["amount"] == "9500.00"
    assert rec["position"]["available_to_lend"]["amount"] == "500.00"
