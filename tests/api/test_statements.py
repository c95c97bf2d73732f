"""The statement endpoints: upload, read, match by hand, CSV mappings; roles and bad files."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ledger.bank.csv_statement import CsvMapping
from ledger.bank.writers import camt053, csv_export
from ledger.config import Settings
from ledger.domain.roles import Role
from tests.support.api import MAX_BYTES, TTL_MINUTES, Login, assert_problem, entry, with_key
from tests.support.limits import memory_limit
from tests.support.statements import FUND_IBAN, PAYER_IBAN, statement
from tests.support.statements import entry as line

MAX_STATEMENT = 200_000


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        database_url="sqlite://",
        token_ttl_minutes=TTL_MINUTES,
        max_request_bytes=MAX_BYTES,
        max_statement_bytes=MAX_STATEMENT,
        hash_key=SecretStr("api-test-hash-key-0123456789abcdef"),
        fund_iban=FUND_IBAN,
    )


def upload(api: TestClient, headers: dict[str, str], data: bytes, **form: str) -> httpx.Response:
    response: httpx.Response = api.post(
        "/api/statements", headers=headers, files={"file": ("statement.xml", data)}, data=form
    )
    return response


@pytest.fixture
def funded(api: TestClient, treasurer: dict[str, str]) -> dict[str, str]:
    response = api.post(
        "/api/journal",
        json=entry("500.00", kind="capital", credit="3000", booking_date="2026-01-05"),
        headers=with_key(treasurer, "capital"),
    )
    assert response.status_code == 201, response.text
    return treasurer


def march() -> bytes:
    st = statement(
        "2026-03",
        50_000,
        [
            line("2026-03-02", "20.00", ref="A", remittance="thanks", counterparty_iban=PAYER_IBAN,
                 counterparty_name="Grace Okafor"),
            line("2026-03-03", "2.50", "debit", ref="B", bank_code="ACMT/MDOP/CHRG"),
        ],
    )  # fmt: skip
    return camt053([st], version=8)


def test_the_treasurer_uploads_and_the_auditor_reads(
    api: TestClient, funded: dict[str, str], login: Login
) -> None:
    response = upload(api, funded, march())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["format"] == "camt.053.001.08" and body["new_entries"] == 2
    [report] = body["statements"]
    assert report["states"] == {"unidentified": 1, "charge": 1}
    assert report["closing"] == {"amount": "517.50", "currency": "EUR", "minor": 51750}

    auditor = login(Role.AUDITOR)
    listed = api.get("/api/statements", headers=auditor).json()
    assert listed["total"] == 1 and listed["items"][0]["iban"] == FUND_IBAN
    detail = api.get(f"/api/statements/{report['id']}", headers=auditor).json()
    assert [ln["state"] for ln in detail["lines"]] == ["unidentified", "charge"]
    assert "Grace" not in str(detail) and PAYER_IBAN not in str(detail)
    assert_problem(upload(api, auditor, march()), 403)
    assert_problem(api.get("/api/statements", headers=login(Role.CASEWORKER)), 403)

    again = upload(api, funded, march()).json()
    assert again["new_entries"] == 0 and again["statements"][0]["id"] is None
    balance = api.get("/api/accounts/1000/balance", headers=auditor).json()
    assert balance["balance"]["minor"] == 51750


def test_a_line_is_matched_by_hand_through_the_api(api: TestClient, funded: dict[str, str]) -> None:
    upload(api, funded, march())
    waiting = api.get("/api/statements/lines?state=unidentified", headers=funded).json()
    [gift] = waiting["items"]
    assert gift["remittance"] == "thanks"
    booked = api.post(
        f"/api/statements/lines/{gift['id']}/book",
        json={"account": "4000", "kind": "donation", "reason": "a gift"},
        headers=funded,
    )
    assert booked.status_code == 200, booked.text
    assert booked.json()["state"] == "manual" and booked.json()["remittance"] is None
    assert [h["action"] for h in booked.json()["history"]] == ["import", "book"]
    back = api.post(f"/api/statements/lines/{gift['id']}/unmatch", headers=funded)
    assert back.json()["state"] == "unidentified"
    assert_problem(
        api.post(
            f"/api/statements/lines/{gift['id']}/match", json={"loan_id": "L999999"}, headers=funded
        ),
        404,
    )


def test_broken_and_oversized_files_are_refused(api: TestClient, funded: dict[str, str]) -> None:
    data = march()
    body = assert_problem(
        upload(api, funded, data[:-40]), 422, field="file", code="statement-refused"
    )
    assert "not well-formed XML" in body["detail"]
    wrong = data.replace(b'<Amt Ccy="EUR">2.50</Amt>', b'<Amt Ccy="EUR">2.05</Amt>', 1)
    assert "summary gives debits" in assert_problem(upload(api, funded, wrong), 422)["detail"]
    padding = b"<!--" + b"x" * (MAX_STATEMENT // 2) + b"-->"
    assert len(data + padding) > MAX_BYTES  # above the limit of other requests...
    accepted = upload(api, funded, data.replace(b"<Document", padding + b"<Document", 1))
    assert accepted.status_code == 201, accepted.text  # ...but within the statements' own
    huge = data + b"<!--" + b"x" * MAX_STATEMENT + b"-->"
    assert_problem(upload(api, funded, huge), 413)


def test_pathological_xml_is_refused_within_a_memory_limit(
    api: TestClient, funded: dict[str, str]
) -> None:
    """Deep nesting is refused at the first level too deep, a wide file read in little memory:
    neither can take the server down (issue 16: 10.5 GB for 701 KB nested 100,000 deep)."""
    data = march()
    deep = data.replace(b"<Ustrd>", b"<a>" * 28_000 + b"</a>" * 28_000 + b"<Ustrd>", 1)
    wide = data.replace(b"<Ustrd>", b"<Ustrd>zz</Ustrd>" * 11_000 + b"<Ustrd>", 1)
    assert len(deep) < MAX_STATEMENT and len(wide) < MAX_STATEMENT
    with memory_limit(256 * 1024 * 1024):
        refused = upload(api, funded, deep)
        accepted = upload(api, funded, wide)
    body = assert_problem(refused, 422, field="file", code="statement-refused")
    assert "the element 'a' is nested 65 levels deep" in body["detail"]
    assert "download it from the bank again" in body["detail"]
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["new_entries"] == 2


def test_totals_beyond_what_the_ledger_holds_are_refused_not_a_server_error(
    api: TestClient, funded: dict[str, str]
) -> None:
    """Each amount fits, the balances too, but the credits and debits add up to more than a
    64-bit integer of cents: refused as a statement, not a database overflow."""
    huge = "60000000000000000.00"  # 6e18 cents: fits, twice does not
    st = statement(
        "2026-03-big",
        50_000,
        [line("2026-03-02", huge, ref="C1"), line("2026-03-02", huge, ref="C2"),
         line("2026-03-03", huge, "debit", ref="D1"), line("2026-03-03", huge, "debit", ref="D2")],
    )  # fmt: skip
    data = camt053([st], version=8)
    summary = data[data.index(b"<TxsSummry>") : data.index(b"</TxsSummry>") + 12]
    data = data.replace(summary, b"")  # not every bank gives it: the totals are not checked
    body = assert_problem(upload(api, funded, data), 422, field="file", code="statement-refused")
    detail = body["detail"]
    assert "its credits add up to 120,000,000,000,000,000.00 EUR, more than the ledger" in detail
    assert "ask the bank for it again" in detail


def test_csv_through_a_saved_mapping(api: TestClient, funded: dict[str, str], login: Login) -> None:
    mapping = {"date": "Date", "amount": "Montant", "communication": "Communication"}
    saved = api.put("/api/statements/mappings/be-bank", json={"mapping": mapping}, headers=funded)
    assert saved.status_code == 200, saved.text
    assert_problem(
        api.put("/api/statements/mappings/x", json={"mapping": {"date": "D"}}, headers=funded), 422
    )
    st = statement("csv", 50_000, [line("2026-03-02", "12.00", remittance="hello")])
    data = csv_export(
        st,
        CsvMapping(
            name="be-bank",
            date=mapping["date"],
            amount=mapping["amount"],
            communication=mapping["communication"],
        ),
    )
    response = upload(api, funded, data, mapping="be-bank", iban=FUND_IBAN, opening="500.00")
    assert response.status_code == 201, response.text
    assert response.json()["statements"][0]["closing"]["amount"] == "512.00"
    listed = api.get("/api/statements/mappings", headers=login(Role.AUDITOR)).json()
    assert listed[0]["name"] == "be-bank"
