"""The treasurer's month and payouts as a client sees them: who sees what, the reconciliation
with its differences linked, the close asked by one person and signed off by another, the
report with its charts and PDF, signed loans paid out by one payment file, booked once when the
form is sent twice, and each transfer matched when the bank's statement comes back. (In a real
browser: tests/e2e/test_month.py.)"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import unescape

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.bank.writers import camt053
from ledger.config import Settings
from ledger.domain.loans import Loan
from ledger.domain.statuses import LoanStatus
from ledger.services import payment_files, periods
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.api import counts
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loan_page import funded_loan
from tests.support.loans import CASEWORKER, loan_in, person
from tests.support.statements import FUND_IBAN, entry, run_import, statement
from tests.support.web import client_sign_in, csrf_of, staffed_fund

MARCH = "2026-03"
LANDLORD = "DE89 3704 0044 0532 0130 00"


@dataclass(frozen=True, slots=True)
class Fund:
    client: TestClient
    engine: Engine
    clock: Clock
    loan: Loan

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, clock=self.clock)


@pytest.fixture
def fund(engine: Engine, clock: Clock) -> Iterator[Fund]:
    """March: capital (entry 1) and a loan paid out on the 15th (entry 2), both on the bank's
    March statement; a donation booked on the 31st that the bank has not brought yet (in
    transit). The clock on 2 April: March has ended."""
    staffed_fund(engine)
    loan = funded_loan(engine, clock, paid_out=date(2026, 3, 15))
    clock.now = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
    uow = UnitOfWork(engine, clock=clock)
    book(uow, TREASURER, "2026-03-31 donation 25.00 Dr 1000 Cr 4000 ; gift")
    lines = (
        entry("2026-03-01", "10000.00", ref="C1"),
        entry("2026-03-16", "1700.00", "debit", ref="P1", end_to_end_id="FL-E2"),
    )
    st = statement(MARCH, 0, lines, start="2026-03-01", end="2026-03-31")
    run_import(uow, camt053([st]))
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_name="Fonds Solidarité Logement",
        fund_languages="en,fr,nl,de",
        fund_iban=FUND_IBAN,
    )
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield Fund(client, engine, clock, loan)


def words(html: str) -> str:
    """The page's text as a reader reads it (values in <bdi> run on with their sentence)."""
    body = html.split("<main", 1)[-1]
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return re.sub(r"\(\s+", "(", re.sub(r"\s+([.,;:)])", r"\1", text))


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found is not None, f"no error beside {field}"
    return words(found.group(1))


def test_who_sees_the_month(fund: Fund) -> None:
    pages = [
        "/months",
        f"/months/{MARCH}/reconciliation",
        f"/months/{MARCH}/report",
        "/payouts",
        "/payment-files/1",
    ]
    client_sign_in(fund.client, "cas")
    assert 'href="/months"' not in fund.client.get("/").text
    for path in pages:
        assert fund.client.get(path).status_code == 403, path
    client_sign_in(fund.client, "aud")
    assert 'href="/months"' in fund.client.get("/").text
    rec = fund.client.get(f"/months/{MARCH}/reconciliation")
    assert rec.status_code == 200
    assert "/close-request" not in rec.text  # the auditor reads, does not close
    refused = fund.client.post(f"/months/{MARCH}/close-request", data={"csrf": csrf_of(rec.text)})
    assert refused.status_code == 403
    assert 'action="/payouts"' not in fund.client.get("/payouts").text
    assert fund.client.get("/months/2026-13/reconciliation").status_code == 404


def test_reconciliation_lists_and_links_each_figure(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    page = fund.client.get(f"/months/{MARCH}/reconciliation")
    assert page.status_code == 200
    text = words(page.text)
    assert "Reconciled" in text and "Does not reconcile" not in text
    # The ledger's balance: 10,000.00 - 1,700.00 + 25.00 (amounts as en-BE writes them),
    # linked to the account's journal up to the month's end.
    assert re.search(
        r'href="/journal\?account=1000&amp;to=2026-03-31">8\.325,00\W+€</a>', page.text
    )
    assert "8.300,00" in text  # the bank's closing balance
    # The donation booked on the 31st is in transit, linked to its entry.
    assert "In transit (1) 25,00" in text
    donation = re.search(
        r'<a href="/journal/(\d+)">entry ?<bdi class="k"> ?\1</bdi></a>', page.text
    )
    assert donation is not None and donation.group(1) == "3"
    assert 'href="/trial-balance?as_of=2026-03-31"' in page.text
    assert "What a closed month refuses" in text


def test_closed_by_two_people(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    page = fund.client.get(f"/months/{MARCH}/reconciliation")
    asked = fund.client.post(
        f"/months/{MARCH}/close-request",
        data={"csrf": csrf_of(page.text), "reason": ""},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    page = fund.client.get(f"/months/{MARCH}/reconciliation")
    assert "Another person must now sign it off" in words(page.text)
    assert 'action="/months/2026-03/sign-off"' not in page.text  # not offered to who asked
    own = fund.client.post(f"/months/{MARCH}/sign-off", data={"csrf": csrf_of(page.text)})
    assert own.status_code == 422
    assert "Another person must sign the close off" in error_of(own.text, "sign-off")
    assert periods.month_state(fund.uow(), TREASURER, MARCH).closed is None

    client_sign_in(fund.client, "ada")
    page = fund.client.get(f"/months/{MARCH}/reconciliation")
    assert 'action="/months/2026-03/sign-off"' in page.text
    closed = fund.client.post(
        f"/months/{MARCH}/sign-off", data={"csrf": csrf_of(page.text)}, follow_redirects=True
    )
    assert closed.status_code == 200
    text = words(closed.text)
    assert "2026-03 is closed." in text and "Asked by tom." in text
    state = periods.month_state(fund.uow(), TREASURER, MARCH)
    assert state.closed is not None and state.closed.actor == "ada"
    months = words(fund.client.get("/months").text)
    assert "Closed by ada" in months


def test_a_month_that_does_not_reconcile_is_refused_beside_the_reason(fund: Fund) -> None:
    # Booked on the day the statement opens with 0.00: the ledger held more than the bank.
    book(fund.uow(), TREASURER, "2026-03-01 donation 5.00 Dr 1000 Cr 4000 ; cash gift")
    client_sign_in(fund.client, "tom")
    page = fund.client.get(f"/months/{MARCH}/reconciliation")
    assert "Does not reconcile" in words(page.text)
    before = counts(fund.engine)
    refused = fund.client.post(
        f"/months/{MARCH}/close-request",
        data={"csrf": csrf_of(page.text), "reason": "the bank errs"},
    )
    assert refused.status_code == 422
    assert "2026-03 does not reconcile" in error_of(refused.text, "reason")
    assert "the bank errs</textarea>" in refused.text
    assert counts(fund.engine) == before
    client_sign_in(fund.client, "ada")
    page = fund.client.get(f"/months/{MARCH}/reconciliation")
    asked = fund.client.post(
        f"/months/{MARCH}/close-request",
        data={"csrf": csrf_of(page.text), "reason": "cash gift the bank will book in April"},
        follow_redirects=True,
    )
    assert "Reason given: cash gift the bank will book in April" in words(asked.text)


def test_the_report_on_screen_and_as_pdf(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    page = fund.client.get(f"/months/{MARCH}/report")
    assert page.status_code == 200
    # Aging, PAR30, cash and loans, paid out and repaid, loans by state: SVG from the server.
    assert page.text.count("<svg ") == 5
    assert "<script" not in page.text.split("<main", 1)[1]
    assert 'href="/journal?kind=disbursement&amp;from=2026-03-01&amp;to=2026-03-31"' in page.text
    assert 'href="/loans?status=active"' in page.text
    text = words(page.text)
    assert "1.700,00" in text  # paid out in March, and outstanding
    pdf = fund.client.get(f"/months/{MARCH}/report.pdf?language=fr")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # made at 09:00 UTC: printed in the fund's zone (the settings'), which it names
    printed = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "généré le 2 avr. 2026, 11:00 CEST (UTC+02:00)" in " ".join(printed.split())


def signed_loan(fund: Fund) -> Loan:
    uow = fund.uow()
    loan = loan_in(uow, LoanStatus.CONTRACT_SIGNED, person(uow, full_name="Jonas Peeters"))
    payment_files.set_landlord_account(uow, CASEWORKER, loan.id, iban=LANDLORD, name="Immo SRL")
    return loan


def test_payouts_filed_once_and_matched_by_the_statement(fund: Fund) -> None:
    # April's payouts: March is left as it is.
    loan = signed_loan(fund)
    client_sign_in(fund.client, "tom")
    page = fund.client.get("/payouts")
    assert f'value="{loan.id}"' in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key is not None
    form = {"csrf": csrf_of(page.text), "idempotency_key": key.group(1)}

    nothing = fund.client.post("/payouts", data={**form, "execution_date": "2026-04-03"})
    assert nothing.status_code == 422
    assert "Choose at least one" in error_of(nothing.text, "chosen")
    bad = fund.client.post("/payouts", data={**form, "loan": loan.id, "execution_date": "3/4"})
    assert bad.status_code == 422 and 'value="3/4"' in bad.text
    assert error_of(bad.text, "execution_date")

    sent = {**form, "loan": loan.id, "execution_date": "2026-04-03"}
    made = fund.client.post("/payouts", data=sent, follow_redirects=False)
    assert made.status_code == 303
    file_url = made.headers["location"]
    before = counts(fund.engine)
    again = fund.client.post("/payouts", data=sent, follow_redirects=True)
    assert again.headers.get("location") is None and "already made payment file" in again.text
    assert counts(fund.engine) == before

    page = fund.client.get(file_url)
    assert "not on a statement yet" in words(page.text)
    xml = fund.client.get(f"{file_url}/pain001.xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert b"DE89370400440532013000" in xml.content
    marked = fund.client.post(
        f"{file_url}/sent", data={"csrf": csrf_of(page.text)}, follow_redirects=True
    )
    assert "is marked sent to the bank" in words(marked.text)

    # The bank's April statement brings the transfer back: the file shows it matched.
    view = payment_files.get_payment_file(fund.uow(), TREASURER, int(file_url.split("/")[-1]))
    [item] = view.items
    line = entry("2026-04-03", "1700.00", "debit", ref="P2", end_to_end_id=item.end_to_end_id)
    april = statement("2026-04", 830_000, [line], start="2026-04-01", end="2026-04-03")
    run_import(fund.uow(), camt053([april]))
    client_sign_in(fund.client, "aud")
    page = fund.client.get(file_url)
    assert "matched SL-" in words(page.text) and "1 of 1" in words(page.text)
    assert "pain001.xml" not in page.text  # the auditor reads the file, not the XML
    assert fund.client.get(f"{file_url}/pain001.xml").status_code == 403
