"""The treasurer's bank statement pages as a client sees them, on both engines: who sees what,
a refused file (why, and nothing booked), an import and its result, the same file again, the
matching queue (suggestions and why, accept, a form sent twice, a refusal beside its field,
the next line focused, undo) and a transfer split across loans. (In a real browser:
tests/e2e/test_statements.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from starlette.datastructures import Headers

from ledger.api.app import create_app
from ledger.bank.writers import camt053
from ledger.config import Settings
from ledger.domain.loans import Loan
from ledger.domain.statements import StoredLine
from ledger.services import loans
from ledger.services.statements import ImportOptions, import_statements, list_lines
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.clock import Clock
from tests.support.loan_page import another_person_loan, funded_loan
from tests.support.queries import counts
from tests.support.statements import FUND_IBAN, PAYER_IBAN, entry, statement
from tests.support.web import client_sign_in, csrf_of, staffed_fund

MAX_BYTES = 10_000  # the smallest limit the settings allow: a file over it is easy to make
HASH_KEY = "web-test-hash-key-0123456789abcdef"


@dataclass(frozen=True, slots=True)
class Fund:
    client: TestClient
    engine: Engine
    clock: Clock
    a: Loan
    b: Loan
    file: bytes

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, clock=self.clock)

    def entries(self) -> int:
        return counts(self.uow())["journal_entries"]

    def waiting(self) -> dict[str, StoredLine]:
        found, _ = list_lines(self.uow(), TREASURER, limit=100)
        return {ln.line_key.removeprefix("ref:"): ln for ln in found}


@pytest.fixture
def fund(engine: Engine, clock: Clock) -> Iterator[Fund]:
    """Two loans of 1,700.00 paid out on 2 February (24 installments of 70.83 from 4 March)
    and March's statement, written but not imported: A's installment with its reference from
    PAYER_IBAN, then the same payer without one, one transfer for both loans, a gift and an
    unknown debit."""
    staffed_fund(engine)
    a = funded_loan(engine, clock, paid_out=clock.now.date().replace(month=2, day=2))
    b = another_person_loan(engine, clock, paid_out=clock.now.date().replace(month=2, day=2))
    st = statement(
        "2026-03",
        1_000_000 - 340_000,
        [
            entry("2026-03-04", "70.83", ref="PAID", creditor_reference=a.reference.value,
                  counterparty_iban=PAYER_IBAN),
            entry("2026-03-05", "70.83", ref="PAYER", counterparty_iban=PAYER_IBAN),
            entry("2026-03-06", "141.66", ref="BOTH", remittance="=two families"),
            entry("2026-03-07", "20.00", ref="GIFT", remittance="for the fund"),
            entry("2026-03-08", "9.99", "debit", ref="OUT"),
        ],
        start="2026-03-01",
        end="2026-03-14",
    )  # fmt: skip
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_languages="en,fr,nl,de",
        hash_key=SecretStr(HASH_KEY),
        max_statement_bytes=MAX_BYTES,
    )
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield Fund(client, engine, clock, a, b, camt053([st]))


def words(html: str) -> str:
    body = re.sub(r"</?bdi[^>]*>", "", html.split("<main", 1)[-1])  # values isolated inline
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found is not None, f"no error beside {field}"
    return words(found.group(1))


def upload(fund: Fund, data: bytes, name: str = "march.xml") -> httpx.Response:
    page = fund.client.get("/statements")
    response: httpx.Response = fund.client.post(
        "/statements/upload",
        data={"csrf": csrf_of(page.text)},
        files={"file": (name, data, "application/xml")},
        follow_redirects=False,
    )
    return response


def form_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the first form posting to ``action``."""
    found = re.search(rf'<form method="post" action="{re.escape(action)}"(.*?)</form>', html, re.S)
    assert found is not None, f"no form for {action}"
    return {
        k: unescape(v)
        for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', found[1])
    }


def test_who_sees_the_bank_pages(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    assert 'href="/statements"' not in fund.client.get("/").text
    for path in ("/statements", "/statements/queue", "/statements/lines/1"):
        assert fund.client.get(path).status_code == 403, path
    fund.client.post("/sign-out", data={"csrf": csrf_of(fund.client.get("/").text)})
    # The auditor reads the pages, without a form to book anything; the service refuses it.
    client_sign_in(fund.client, "aud")
    listing = fund.client.get("/statements")
    assert listing.status_code == 200 and 'action="/statements/upload"' not in listing.text
    assert 'href="/statements"' in fund.client.get("/").text
    refused = fund.client.post(
        "/statements/upload",
        data={"csrf": csrf_of(listing.text)},
        files={"file": ("m.xml", fund.file, "application/xml")},
    )
    assert refused.status_code == 403 and fund.waiting() == {}
    # Imported by the treasurer: the auditor reads the queue, its suggestions and why, and a
    # line, with nothing to press.
    options = ImportOptions(hash_key=HASH_KEY.encode(), fund_ibans=frozenset({FUND_IBAN}))
    import_statements(fund.uow(), TREASURER, fund.file, options)
    for path in ("/statements/queue", f"/statements/lines/{fund.waiting()['PAYER'].id}"):
        shown = fund.client.get(path)
        main = shown.text.split("<main", 1)[1].split("</main>", 1)[0]
        assert shown.status_code == 200 and 'method="post"' not in main, path
        assert "because: the same account paid it before" in words(shown.text), path
        assert "takes no repayment" not in words(shown.text), path


def test_a_refused_file_says_why_and_books_nothing_then_the_import_and_its_result(
    fund: Fund,
) -> None:
    client_sign_in(fund.client, "tom")
    entries = fund.entries()
    # Not a statement at all.
    response = upload(fund, b"hello, this is not a bank statement\n", "notes.txt")
    assert response.status_code == 422
    assert "could not be read as a bank statement" in words(response.text)
    assert "Nothing was booked." in words(response.text)
    assert error_of(response.text, "file")
    # Too large: the service's refusal, in the user's words, with the limit.
    response = upload(fund, b"<?xml version='1.0'?>" + b" " * (MAX_BYTES + 10))
    assert response.status_code == 422
    assert error_of(response.text, "file").startswith("The file is too large")
    assert "0 MB" not in error_of(response.text, "file")  # 0.01 MB, never rounded to nothing
    # Far too large for the request itself: a page too, not the API's JSON.
    page = fund.client.get("/statements")
    huge = fund.client.post(
        "/statements/upload",
        data={"csrf": csrf_of(page.text)},
        files={"file": ("big.xml", b"x" * (MAX_BYTES + 200_000), "application/xml")},
    )
    assert huge.status_code == 413 and "text/html" in Headers(huge.headers)["content-type"]
    assert "The file is too large" in words(huge.text)
    assert fund.entries() == entries

    response = upload(fund, fund.file)
    assert response.status_code == 303
    result = fund.client.get(response.headers["location"])
    said = words(result.text)
    assert "Statements imported: 1" in said
    assert "5 lines 4 booked 1 matched 4 left to do" in said
    assert "Match the lines left to do (4)" in said
    # The same file again: nothing new, and it says so.
    again = upload(fund, fund.file)
    assert again.status_code == 422
    assert "was imported before" in words(again.text) and "Nothing was booked" in words(again.text)
    listing = fund.client.get("/statements")
    assert "Bank lines waiting to be matched: 4" in words(listing.text)


def test_the_queue_from_the_keyboard_accept_resend_refuse_book_undo(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    assert upload(fund, fund.file).status_code == 303
    lines = fund.waiting()
    payer, both, gift, out = (lines[k].id for k in ("PAYER", "BOTH", "GIFT", "OUT"))
    queue = fund.client.get("/statements/queue")
    said = words(queue.text)
    assert "Lines waiting: 4" in said
    assert f"Repays {fund.a.id} because: the same account paid it before; an installment" in said
    assert f"Repays {fund.b.id} because: an installment of exactly this amount is due" in said
    assert "“=two families”" in said  # the payer's message, shown as text
    # The first line's first suggestion has the focus; Enter sends it.
    assert re.search(
        rf'name="loan_id" value="{fund.a.id}">\s*'
        r'<button type="submit" class="primary" data-primary autofocus>',
        queue.text,
    )
    action = f"/statements/lines/{payer}/match"
    form = form_fields(queue.text, action)
    assert form["next_line"] == str(both) and form["idempotency_key"].startswith("web-")
    entries = fund.entries()
    done = fund.client.post(action, data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == (f"/statements/queue?focus={both}&done={payer}#line-{both}")
    after = fund.client.get(done.headers["location"])
    assert f"Line {payer} booked as a repayment of {fund.a.id}." in words(after.text)
    assert f"Just done: line {payer}" in words(after.text)
    assert 'id="undo-last"' in after.text
    # The next line has no suggestion: the line itself is focused (o, f, s act from there).
    assert re.search(rf'<li id="line-{both}"[^>]*autofocus>', after.text)
    paid = fund.entries()
    assert paid > entries
    # The same form again (a double click): matched once.
    resent = fund.client.post(action, data=form)
    assert "already sent" in words(resent.text) and fund.entries() == paid
    # A loan that does not exist: the queue again, the error beside the line's field, kept.
    bad = form_fields(after.text, f"/statements/lines/{both}/match")
    refused = fund.client.post(
        f"/statements/lines/{both}/match", data={**bad, "loan_id": "L999999"}
    )
    assert refused.status_code == 422
    assert error_of(refused.text, f"loan_id-{both}") == (
        "There is no loan L999999. Check the number (for example L000123)."
    )
    assert 'value="L999999"' in refused.text and fund.entries() == paid
    # Money out booked as a bank fee with one button.
    fee = form_fields(after.text, f"/statements/lines/{out}/book")
    assert fee["kind"] == "bank_charge"
    booked = fund.client.post(f"/statements/lines/{out}/book", data=fee)
    assert booked.status_code == 200 and f"Line {out} booked to account" in words(booked.text)
    # Undo from the box at the top: the line waits again.
    undo = form_fields(booked.text, f"/statements/lines/{out}/undo")
    undone = fund.client.post(f"/statements/lines/{out}/undo", data=undo)
    assert f"The match of line {out} is undone" in words(undone.text)
    assert out in {ln.id for ln in fund.waiting().values()}
    assert gift in {ln.id for ln in fund.waiting().values()}


def test_a_transfer_split_across_two_loans_from_the_line_page(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    assert upload(fund, fund.file).status_code == 303
    both = fund.waiting()["BOTH"].id
    page = fund.client.get(f"/statements/lines/{both}")
    assert page.status_code == 200
    hidden = form_fields(page.text, f"/statements/lines/{both}/split")
    wrong = {"loan_1": fund.a.id, "amount_1": "70,83", "loan_2": fund.b.id, "amount_2": "70,00"}
    entries = fund.entries()
    refused = fund.client.post(f"/statements/lines/{both}/split", data={**hidden, **wrong})
    assert refused.status_code == 422
    # Amounts as the fund's locale writes them (English in Belgium: 70,83 €).
    assert "The parts add up to 140,83 €, but the transfer is 141,66 € (difference 0,83 €)" in (
        words(refused.text)
    )
    assert 'value="70,00"' in refused.text and fund.entries() == entries
    right = {**wrong, "amount_2": "70,83", "reason": "two families, one transfer"}
    done = fund.client.post(
        f"/statements/lines/{both}/split", data={**hidden, **right}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/statements/lines/{both}"
    shown = words(fund.client.get(done.headers["location"]).text)
    assert "split across loans: 2" in shown
    assert shown.count("split across loans") >= 3  # the message and the two history rows
    # A's installment came twice (with its reference, then in the split), B's once.
    for loan, paid in ((fund.a, 2 * 7083), (fund.b, 7083)):
        assert loans.get_loan(fund.uow(), TREASURER, loan.id).outstanding == 170_000 - paid
