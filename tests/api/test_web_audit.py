"""The auditor's pages as a client sees them: who may see them, the journal's filters and
pages, a filter that cannot be read (422, the error beside its field, what was typed kept), an
entry's page, verify run from a page, the trial balance, the reads of personal data, and the CSV
exports with their cells neutralised. (In a real browser: tests/e2e/test_audit.py.)"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.loans import Loan
from ledger.domain.statuses import EntryKind
from ledger.services import journal
from ledger.store.uow import UnitOfWork
from ledger.web.i18n import UI_LANGUAGES, web_catalog
from tests.support.actors import TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loan_page import funded_loan
from tests.support.web import client_sign_in, csrf_of, staffed_fund

PAID_OUT = date(2026, 3, 15)  # the clock's first day
GIFTS = 30  # with the capital and the payout: more than a page of 25
FORMULA = '=HYPERLINK("http://evil.example","x")'


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
    """Entry 1 the capital, 2 the loan's payout, then GIFTS gifts of 1.00 to 30.00 on 15 March
    (the last one described as a formula), booked by the treasurer tina.treasurer."""
    staffed_fund(engine)
    loan = funded_loan(engine, clock, paid_out=PAID_OUT)
    uow = UnitOfWork(engine, clock=clock)
    lines = [f"2026-03-15 donation {n}.00 Dr 1000 Cr 4000 ; gift {n}" for n in range(1, GIFTS)] + [
        f"2026-03-15 donation {GIFTS}.00 Dr 1000 Cr 4000 ; {FORMULA}"
    ]
    book(uow, TREASURER, "\n".join(lines))
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_name="Fonds Solidarité Logement",
        fund_languages="en,fr,nl,de",
    )
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield Fund(client, engine, clock, loan)


def words(html: str) -> str:
    body = html.split("<main", 1)[-1]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found is not None, f"no error beside {field}"
    return words(found.group(1))


def entry_links(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<a href="/journal/(\d+)">', html)]


def value_of(html: str, field: str) -> str:
    found = re.search(rf'id="{field}" name="[^"]+" type="[^"]+" value="([^"]*)"', html)
    assert found is not None, f"no field {field}"
    return unescape(found.group(1))


# -- roles -----------------------------------------------------------------------------------

PAGES = ["/journal", "/journal/1", "/trial-balance", "/verification", "/audit"]
EXPORTS = [
    "/journal.csv?from=2026-03-01&to=2026-03-31",
    "/trial-balance.csv?as_of=2026-03-31",
    "/audit.csv",
]


def test_a_caseworker_sees_none_of_it(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    home = fund.client.get("/")
    assert 'href="/journal"' not in home.text
    for path in PAGES + EXPORTS:
        response = fund.client.get(path)
        assert response.status_code == 403, path
        assert "text/html" in response.headers["content-type"], path
    refused = fund.client.post("/verification", data={"csrf": csrf_of(home.text)})
    assert refused.status_code == 403


def test_the_treasurer_reads_the_books_but_not_who_read_whom(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    home = fund.client.get("/")
    assert 'href="/journal"' in home.text
    for path in PAGES[:-1] + EXPORTS[:-1]:
        assert fund.client.get(path).status_code == 200, path
    assert fund.client.get("/audit").status_code == 403
    assert fund.client.get("/audit.csv").status_code == 403
    assert 'href="/audit"' not in fund.client.get("/journal").text


def test_the_auditor_and_the_admin_see_every_page(fund: Fund) -> None:
    for name in ("aud", "ada"):
        client_sign_in(fund.client, name)
        home = fund.client.get("/")
        assert '<a href="/journal">Audit</a>' in home.text
        for path in PAGES + EXPORTS:
            assert fund.client.get(path).status_code == 200, (name, path)
        fund.client.post("/sign-out", data={"csrf": csrf_of(home.text)})


# -- the journal -----------------------------------------------------------------------------


def test_the_journal_pages_through_every_entry(fund: Fund) -> None:
    """Pages by entry number: the next page is the entries before the last one shown, the
    previous the entries after the first one shown; each says where it stands in the list."""
    client_sign_in(fund.client, "aud")
    first = fund.client.get("/journal")
    assert first.status_code == 200
    total = 2 + GIFTS
    assert f"Entries found: {total}" in words(first.text)
    assert f"1 to 25 of {total}" in words(first.text)
    assert entry_links(first.text) == list(range(total, total - 25, -1))  # the latest first
    oldest_shown = total - 24
    assert f'href="/journal?before={oldest_shown}" rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    second = fund.client.get(f"/journal?before={oldest_shown}")
    assert entry_links(second.text) == list(range(oldest_shown - 1, 0, -1))
    assert f"26 to {total} of {total}" in words(second.text)
    assert f'href="/journal?after={oldest_shown - 1}" rel="prev"' in second.text
    assert 'rel="next"' not in second.text
    back = fund.client.get(f"/journal?after={oldest_shown - 1}")
    assert entry_links(back.text) == entry_links(first.text)
    # From any entry: where it stands; after one near the top, the first page whole.
    middle = fund.client.get("/journal?before=20")
    assert entry_links(middle.text) == list(range(19, 0, -1))
    assert f"14 to {total} of {total}" in words(middle.text)
    assert entry_links(fund.client.get("/journal?after=20").text) == entry_links(first.text)
    # The filter keeps to the links.
    gifts = fund.client.get("/journal?kind=donation")
    assert f'href="/journal?kind=donation&amp;before={oldest_shown}"' in gifts.text
    older_gifts = fund.client.get(f"/journal?kind=donation&before={oldest_shown}")
    assert entry_links(older_gifts.text) == list(range(oldest_shown - 1, 2, -1))
    assert f"26 to {GIFTS} of {GIFTS}" in words(older_gifts.text)
    assert f'href="/journal?kind=donation&amp;after={oldest_shown - 1}"' in older_gifts.text
    # A link made before the pages went by number still shows its page.
    bookmarked = fund.client.get("/journal?offset=25")
    assert entry_links(bookmarked.text) == list(range(total - 25, 0, -1))
    assert fund.client.get("/journal?before=-1").status_code == 404  # as any URL not read


def test_the_journal_filters(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    loan = fund.loan.id

    def found(query: str) -> list[int]:
        response = fund.client.get(f"/journal?{query}")
        assert response.status_code == 200, (query, words(response.text)[:300])
        return entry_links(response.text)

    assert found(f"loan={loan}") == [2]
    assert found("account=4000&min=29&max=30") == [32, 31]
    assert found("min=1700&max=1700") == [2]  # the payout, on either side
    assert found("min=10000") == [1]
    assert found("max=1,50") == [3]  # gift 1: 1.00 (a Belgian fund: "1,50" in English too)
    assert found("who=tina.treasurer&to=2026-03-01") == [1]
    assert found("who=nobody") == []
    assert found("kind=disbursement") == [2]
    assert found("from=2026-03-16") == []
    assert "No entry matches these filters." in fund.client.get("/journal?who=nobody").text


def test_amounts_are_read_and_written_in_the_users_language(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    page = fund.client.get("/")
    fund.client.post("/me/language", data={"language": "fr", "csrf": csrf_of(page.text)})
    french = fund.client.get("/journal?min=1700,00&max=1+700,00")
    assert french.status_code == 200
    assert entry_links(french.text) == [2]
    assert '<td data-label="Montant" class="num">1\u202f700,00\xa0€</td>' in french.text
    assert "Écriture 2" in words(french.text)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-02-30", "from", "Write the date as year-month-day, like 2026-03-31."),
        ("to=31/03/2026", "to", "Write the date as year-month-day, like 2026-03-31."),
        ("from=2026-03-20&to=2026-03-01", "from", "The first day is after the last one."),
        ("min=abc", "min", "Write the amount with digits only"),
        ("max=0", "max", "more than zero"),
        ("min=20&max=10", "min", "The smallest amount is above the largest."),
        ("min=1,234", "min", "2 digits"),
        ("account=9999", "account", "No account has this code."),
        ("kind=bribe", "kind", "Choose a kind from the list."),
    ],
)
def test_a_filter_that_cannot_be_read_comes_back_beside_its_field(
    fund: Fund, query: str, field: str, message: str
) -> None:
    client_sign_in(fund.client, "aud")
    response = fund.client.get(f"/journal?{query}&who=tina.treasurer")
    assert response.status_code == 422
    assert message in error_of(response.text, field)
    assert f'href="#{field}"' in response.text  # the summary links to the field
    assert entry_links(response.text) == []  # nothing looked up
    assert value_of(response.text, "who") == "tina.treasurer"  # what was typed is kept
    if field not in ("kind",):
        typed = dict(p.split("=") for p in query.split("&"))[field]
        assert value_of(response.text, field) == typed


def test_an_entrys_page(fund: Fund) -> None:
    uow = fund.uow()
    payout = journal.get_entry(uow, TREASURER, 2)
    manual = book(uow, TREASURER, "2026-03-15 bank_charge 2.50 Dr 6100 Cr 1000 ; fee")[0]
    fund.clock.advance(days=1)
    undone = journal.reverse_entry(uow, TREASURER, manual.id, idempotency_key="undo-fee-1")
    client_sign_in(fund.client, "aud")
    page = fund.client.get("/journal/2")
    assert page.status_code == 200
    text = words(page.text)
    assert "Entry 2 · payout" in text
    assert f'href="/loans/{fund.loan.id}"' in page.text
    assert payout.hash in page.text and payout.prev_hash in page.text
    assert "matches the content" in text and "matches entry 1" in text
    assert payout.author in text
    # Created at noon UTC on 15 March: 13:00 in Brussels, the fund's zone.
    assert "15 Mar 2026, 13:00:00" in text
    assert "(Europe/Brussels)" in text
    assert f"payout-{fund.loan.id}" in text  # the idempotency key
    legs = re.findall(r'<td data-label="(Debit|Credit)" class="num">([^<]+)</td>', page.text)
    assert sorted(legs) == [("Credit", "1.700,00\xa0€"), ("Debit", "1.700,00\xa0€")]
    assert 'href="/journal/1"' in page.text and 'href="/journal/3"' in page.text
    original = fund.client.get(f"/journal/{manual.id}")
    assert f'href="/journal/{undone.entry.id}"' in original.text
    assert "none (booked without a key)" in words(original.text)
    reversal = fund.client.get(f"/journal/{undone.entry.id}")
    assert f'href="/journal/{manual.id}"' in reversal.text
    assert "undo-fee-1" in reversal.text
    assert f'href="/journal/{undone.entry.id + 1}"' not in reversal.text  # the last entry
    assert fund.client.get("/journal/9999").status_code == 404
    assert fund.client.get("/journal/0").status_code == 404


# -- verify, the trial balance -----------------------------------------------------------------


def test_verify_runs_from_its_page_with_the_forms_token(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    form = fund.client.get("/verification")
    assert form.status_code == 200
    assert f"It reads all {2 + GIFTS} entries" in words(form.text)
    assert fund.client.post("/verification", data={}).status_code == 403
    result = fund.client.post("/verification", data={"csrf": csrf_of(form.text)})
    assert result.status_code == 200
    text = words(result.text)
    assert "The books are in order" in text
    assert f"Entries read {2 + GIFTS}" in text
    assert f"Lines read {2 * (2 + GIFTS)}" in text
    assert "The chain of entries" in text  # what was checked


def test_the_trial_balance_today_and_as_of_a_day(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    today = fund.client.get("/trial-balance")
    assert today.status_code == 200
    text = words(today.text)
    assert "balanced" in text and "NOT balanced" not in text
    assert value_of(today.text, "as_of") == "2026-03-15"
    gifts = sum(range(1, GIFTS + 1))
    assert f"{gifts},00 €" in text.replace("\xa0", " ")  # the gifts, on the credit side
    assert "Loans receivable (loan accounts added up: 1 ) 1.700,00" in text
    assert "Total in EUR 10.465,00 € 10.465,00 €" in text.replace("\xa0", " ")
    before = fund.client.get("/trial-balance?as_of=2026-03-14")
    assert f"{gifts},00" not in words(before.text)
    assert 'href="/trial-balance.csv?as_of=2026-03-14"' in before.text
    bad = fund.client.get("/trial-balance?as_of=yesterday")
    assert bad.status_code == 422
    assert "year-month-day" in error_of(bad.text, "as_of")
    assert value_of(bad.text, "as_of") == "yesterday"


# -- reads of personal data ------------------------------------------------------------------


def test_reads_of_personal_data_show_ids_not_names(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    assert fund.client.get(f"/loans/{fund.loan.id}").status_code == 200  # audited reads
    client_sign_in(fund.client, "aud")
    page = fund.client.get("/audit")
    assert page.status_code == 200
    assert fund.loan.beneficiary_id in page.text
    assert "Amina" not in page.text and "Kebede" not in page.text
    assert f'href="/loans/{fund.loan.id}"' in page.text
    assert 'href="/audit?who=cas"' in page.text
    mine = fund.client.get("/audit?who=aud")
    assert "Reads found: 0" in words(mine.text)
    later = fund.client.get("/audit?from=2026-03-16")
    assert "Reads found: 0" in words(later.text)
    bad = fund.client.get("/audit?from=2026-03-16&to=2026-03-15&who=cas")
    assert bad.status_code == 422
    assert "first day is after" in error_of(bad.text, "from")
    assert value_of(bad.text, "who") == "cas"


# -- exports ---------------------------------------------------------------------------------


def test_the_journal_csv_is_named_for_the_fund_and_neutralised(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    response = fund.client.get("/journal.csv?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="fonds-solidarite-logement-journal-2026-03-01-2026-03-31.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert len(rows) == 1 + 2 * (2 + GIFTS)
    described = [r for r in rows if "HYPERLINK" in ",".join(r)]
    assert described and all(r[3] == "'" + FORMULA for r in described)
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_an_export_without_its_days_comes_back_beside_them(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    missing = fund.client.get("/journal.csv?from=2026-03-01")
    assert missing.status_code == 422
    assert error_of(missing.text, "export-to") == "Enter a date."
    assert 'value="2026-03-01"' in missing.text
    backwards = fund.client.get("/journal.csv?from=2026-03-31&to=2026-03-01")
    assert backwards.status_code == 422
    assert "first day is after" in error_of(backwards.text, "export-from")
    assert fund.client.get("/trial-balance.csv?as_of=").status_code == 422


def test_the_trial_balance_and_reads_exports(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    fund.client.get(f"/loans/{fund.loan.id}")
    client_sign_in(fund.client, "aud")
    tb = fund.client.get("/trial-balance.csv?as_of=2026-03-15")
    assert tb.status_code == 200
    assert tb.headers["content-disposition"].endswith(
        'filename="fonds-solidarite-logement-trial-balance-2026-03-15.csv"'
    )
    assert list(csv.reader(io.StringIO(tb.text)))[-1][1] == "Total"
    reads = fund.client.get("/audit.csv?who=cas&from=2026-03-15&to=2026-03-15")
    assert reads.status_code == 200
    assert reads.headers["content-disposition"].endswith(
        'filename="fonds-solidarite-logement-personal-data-reads-2026-03-15-2026-03-15.csv"'
    )
    rows = list(csv.reader(io.StringIO(reads.text)))
    assert rows[0][:3] == ["id", "at_utc", "user"]
    assert rows[1:] and all(r[2] == "cas" and r[4] == fund.loan.beneficiary_id for r in rows[1:])
    assert "Amina" not in reads.text


def test_every_entry_kind_and_read_has_words_in_every_language() -> None:
    for language in UI_LANGUAGES:
        catalog = web_catalog(language) or {}
        assert [k.value for k in EntryKind if f"entry_kind.{k.value}" not in catalog] == []
        assert "audit.action_read_personal_data" in catalog
        assert "audit.action_read_document" in catalog
