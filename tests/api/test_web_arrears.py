"""The loans in arrears page as a client sees it: who may see it, the day's aging and PAR30 with
each bucket a link to its list, the late loans filtered by bucket and by social worker, as of a
past day, paged, their CSV with a formula neutralised, and what cannot be read refused beside its
field with status 422. (In a real browser: tests/e2e/test_arrears.py.)

The fund (tests/support/arrears_page.py) on 2026-03-15, the clock's day: six loans of 1,700.00
in 24 installments of 70.83, none paid but 10.00 of one, first due 10, 20, 45, 75 and 200 days
before (5 late) and 10 days after (on time).
"""

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
from sqlalchemy import Engine, text

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.web.routes import arrears as arrears_routes
from tests.support.api import counts
from tests.support.arrears_page import FORMULA_NAME, Late, late_fund
from tests.support.clock import Clock
from tests.support.web import client_sign_in, csrf_of, staffed_fund

TODAY = date(2026, 3, 15)


@dataclass(frozen=True, slots=True)
class Fund:
    client: TestClient
    engine: Engine
    loans: dict[str, Late]

    def id(self, name: str) -> str:
        return self.loans[name].loan.id


@pytest.fixture
def fund(engine: Engine, clock: Clock) -> Iterator[Fund]:
    staffed_fund(engine)
    built = late_fund(engine, TODAY, clock)
    settings = Settings(_env_file=None, database_url="sqlite://", fund_languages="en,fr,nl,de")
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield Fund(client, engine, built)


def words(html: str) -> str:
    """The page's text as a reader reads it."""
    body = html.split("<main", 1)[-1]
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return re.sub(r"\(\s+", "(", re.sub(r"\s+([.,;:)])", r"\1", text)).replace("\u202f", " ")


def rows(html: str) -> list[list[str]]:
    """The list's rows, each cell's text."""
    table = re.search(r'<table class="stack-sm arrears">(.*?)</table>', html, re.S)
    if table is None:
        return []
    body = table.group(1).split("<tbody>", 1)[1]
    return [
        [words(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def aging(html: str) -> dict[str, tuple[str, str]]:
    """The aging table: bucket -> (loans, outstanding) as shown."""
    table = re.search(r'<table class="aging">(.*?)</table>', html, re.S)
    assert table is not None, "no aging table"
    found = {}
    body = table.group(1).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        head = re.search(r"<th[^>]*>(.*?)</th>", row, re.S)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if head and len(cells) == 2:
            found[words(head.group(1))] = (words(cells[0]), words(cells[1]))
    return found


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found is not None, f"no error beside {field}"
    return words(found.group(1))


def test_who_sees_the_arrears(fund: Fund) -> None:
    client_sign_in(fund.client, "cas")
    assert 'href="/arrears"' not in fund.client.get("/").text
    assert fund.client.get("/arrears").status_code == 403
    assert fund.client.get("/arrears.csv").status_code == 403
    for name in ("tom", "aud", "ada"):
        client_sign_in(fund.client, name)
        home = fund.client.get("/").text
        assert '<a href="/arrears">Arrears</a>' in home, name
        page = fund.client.get("/arrears")
        assert page.status_code == 200, name
        assert '<a href="/arrears" aria-current="page">Arrears</a>' in page.text
    client_sign_in(fund.client, "tom")
    assert "Loans late on their payments, and the fund's money at risk" in words(
        fund.client.get("/").text
    )


def test_the_day_s_aging_par30_and_chart(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    before = counts(fund.engine)
    page = fund.client.get("/arrears")
    assert page.status_code == 200
    assert counts(fund.engine) == before  # reading writes nothing, audits nothing
    assert aging(page.text) == {
        "on time": ("1", "1.700,00 €"),
        "1–30": ("2", "3.400,00 €"),
        "31–60": ("1", "1.700,00 €"),
        "61–90": ("1", "1.690,00 €"),
        "91–180": ("0", "0,00 €"),
        "181–360": ("1", "1.700,00 €"),
        "over 360": ("0", "0,00 €"),
    }
    text = words(page.text)
    assert "All loans still owing 6 10.190,00 €" in text
    assert "Loans late 5 of 6 loans still owing" in text
    assert "Still owed on late loans 8.490,00 € of 10.190,00 € still owed in all" in text
    # PAR30: the 61-90 and 181-360 loans, 3,390.00 + 1,700.00 of 10,190.00.
    assert "PAR30 (more than 30 days late) 49,95 % 5.090,00 €" in text
    # Each late bucket links to its list on the same day; the loans on time do not.
    assert 'href="/arrears?as_of=2026-03-15&amp;bucket=31-60">31–60</a>' in page.text
    assert 'href="/arrears?as_of=2026-03-15&amp;bucket=%3E360">over 360</a>' in page.text
    assert "bucket=current" not in page.text
    chart = re.search(r"<figure class=\"chart\">(<svg.*?</svg>)</figure>", page.text, re.S)
    assert chart is not None
    assert "<title>Still owed by days late on 15 Mar 2026 (EUR)</title>" in chart.group(1)
    assert "181–360 1.700,00\u00a0€" in chart.group(1)  # its description lists every bar


def test_the_late_loans_longest_late_first_each_linked(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    page = fund.client.get("/arrears")
    assert "Loans late: 5" in words(page.text)
    lid, odd = fund.id, FORMULA_NAME
    assert rows(page.text) == [
        [lid("long"), "200", "181–360 days late", "27 Aug 2025", "495,81 €", "1.700,00 €", "cor"],
        [lid("partial"), "75", "61–90 days late", "30 Dec 2025", "202,49 €", "1.690,00 €", "cor"],
        [lid("month"), "45", "31–60 days late", "29 Jan 2026", "141,66 €", "1.700,00 €", "cas"],
        [lid("formula"), "20", "1–30 days late", "23 Feb 2026", "70,83 €", "1.700,00 €", odd],
        [lid("short"), "10", "1–30 days late", "05 Mar 2026", "70,83 €", "1.700,00 €", "cas"],
    ]  # fmt: skip
    for name in ("long", "short"):
        assert f'<a href="/loans/{fund.id(name)}">{fund.id(name)}</a>' in page.text
    # Figures right-aligned; the social worker links to their own late loans that day.
    assert page.text.count('class="num">') >= 5 * 3
    assert 'href="/arrears?as_of=2026-03-15&amp;caseworker=cor">cor</a>' in page.text
    assert fund.client.get(f"/loans/{fund.id('long')}").status_code == 200


def test_filtered_by_bucket_and_by_social_worker(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    short = fund.client.get("/arrears", params={"bucket": "1-30"})
    assert [r[0] for r in rows(short.text)] == [fund.id("formula"), fund.id("short")]
    assert '<option value="1-30" selected>' in short.text
    assert 'class="chosen"' in short.text  # the bucket chosen is marked in the aging table
    cor = fund.client.get("/arrears", params={"caseworker": "cor"})
    assert [r[0] for r in rows(cor.text)] == [fund.id("long"), fund.id("partial")]
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', cor.text)
    assert ("cor", "cor (2 late)") in options and ("cas", "cas (2 late)") in options
    assert '<option value="cor" selected>' in cor.text
    both = fund.client.get("/arrears", params={"caseworker": "cas", "bucket": "31-60"})
    assert [r[0] for r in rows(both.text)] == [fund.id("month")]
    # The aging stays the whole fund's whatever the list shows.
    assert aging(both.text)["1–30"] == ("2", "3.400,00 €")
    # A social worker with nothing late: an empty list that says so, the choice kept.
    nobody = fund.client.get("/arrears", params={"caseworker": "ada"})
    assert nobody.status_code == 200
    assert rows(nobody.text) == []
    text = words(nobody.text)
    assert "No loan late on 15 Mar 2026 matches what you chose." in text
    assert '<option value="ada" selected>ada (0 late)</option>' in nobody.text
    assert 'href="/arrears?as_of=2026-03-15">See every loan late on' in nobody.text


def test_as_of_a_past_day(fund: Fund) -> None:
    """On 13 February: the loans first due on 5 March and 23 February were paid out and owed
    nothing yet, the one paid out on 28 February was not paid out."""
    client_sign_in(fund.client, "tom")
    page = fund.client.get("/arrears", params={"as_of": "2026-02-13"})
    assert page.status_code == 200
    assert aging(page.text)["on time"] == ("2", "3.400,00 €")
    assert aging(page.text)["1–30"] == ("1", "1.700,00 €")
    assert aging(page.text)["31–60"] == ("1", "1.690,00 €")
    assert aging(page.text)["91–180"] == ("1", "1.700,00 €")
    assert "All loans still owing 5 8.490,00 €" in words(page.text)
    lid = fund.id
    assert rows(page.text) == [
        [lid("long"), "170", "91–180 days late", "27 Aug 2025", "424,98 €", "1.700,00 €", "cor"],
        [lid("partial"), "45", "31–60 days late", "30 Dec 2025", "131,66 €", "1.690,00 €", "cor"],
        [lid("month"), "15", "1–30 days late", "29 Jan 2026", "70,83 €", "1.700,00 €", "cas"],
    ]  # fmt: skip
    assert 'value="2026-02-13"' in page.text  # the day chosen stays in the form
    # Quick links: today and the last three month ends, the filters kept.
    filtered = fund.client.get("/arrears", params={"as_of": "2026-02-13", "caseworker": "cor"})
    for day in ("2026-03-15", "2026-02-28", "2026-01-31", "2025-12-31"):
        assert f'href="/arrears?as_of={day}&amp;caseworker=cor"' in filtered.text
    month_end = fund.client.get("/arrears", params={"as_of": "2026-01-31"})
    assert 'href="/arrears?as_of=2026-01-31" aria-current="true"' in month_end.text
    # Before any payout: nothing late, said in plain words.
    early = fund.client.get("/arrears", params={"as_of": "2025-01-31"})
    assert early.status_code == 200
    assert "No loan was late on 31 Jan 2025" in words(early.text)
    assert "Download this list" not in early.text


def test_paged(fund: Fund, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrears_routes, "PAGE", 2)
    client_sign_in(fund.client, "tom")
    first = fund.client.get("/arrears", params={"as_of": "2026-03-15"})
    assert [r[0] for r in rows(first.text)] == [fund.id("long"), fund.id("partial")]
    assert "1 to 2 of 5" in words(first.text)
    assert 'href="/arrears?as_of=2026-03-15&amp;offset=2"' in first.text
    second = fund.client.get("/arrears", params={"as_of": "2026-03-15", "offset": 2})
    assert [r[0] for r in rows(second.text)] == [fund.id("month"), fund.id("formula")]
    last = fund.client.get("/arrears", params={"offset": 4})
    assert [r[0] for r in rows(last.text)] == [fund.id("short")]
    assert "5 to 5 of 5" in words(last.text)
    # The pager keeps the filters.
    cor = fund.client.get("/arrears", params={"caseworker": "cas"})
    assert [r[0] for r in rows(cor.text)] == [fund.id("month"), fund.id("short")]
    assert "pager" not in cor.text  # two loans: one page
    back = fund.client.get("/arrears", params={"offset": 1})
    assert [r[0] for r in rows(back.text)] == [fund.id("partial"), fund.id("month")]
    assert 'href="/arrears?as_of=2026-03-15&amp;offset=0">Previous' in back.text
    monkeypatch.setattr(arrears_routes, "PAGE", 1)
    second_of_two = fund.client.get("/arrears", params={"bucket": "1-30", "offset": 1})
    assert [r[0] for r in rows(second_of_two.text)] == [fund.id("short")]
    assert 'href="/arrears?as_of=2026-03-15&amp;bucket=1-30&amp;offset=0"' in second_of_two.text
    beyond = fund.client.get("/arrears", params={"offset": 50})
    assert rows(beyond.text) == []
    assert 'href="/arrears?as_of=2026-03-15&amp;offset=0">This page is past the end' in beyond.text
    assert fund.client.get("/arrears", params={"offset": -1}).status_code == 404


def test_the_csv(fund: Fund) -> None:
    client_sign_in(fund.client, "aud")
    page = fund.client.get("/arrears", params={"bucket": "1-30"})
    link = re.search(r'<a href="(/arrears\.csv\?[^"]*)">Download this list \(CSV\)</a>', page.text)
    assert (
        link is not None and unescape(link.group(1)) == "/arrears.csv?as_of=2026-03-15&bucket=1-30"
    )
    before = counts(fund.engine)
    response = fund.client.get(unescape(link.group(1)))
    assert response.status_code == 200
    assert counts(fund.engine) == before
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"] == 'attachment; filename="arrears-2026-03-15.csv"'
    )
    got = list(csv.reader(io.StringIO(response.text)))
    assert got[0][:4] == ["loan_id", "loan_number", "caseworker", "days_past_due"]
    neutral = "'" + FORMULA_NAME  # a name a spreadsheet would run: an apostrophe first
    assert got[1:] == [
        [fund.id("formula"), "2", neutral, "20", "1-30", "2026-02-23", "70.83", "1700.00", "EUR"],
        [fund.id("short"), "1", "cas", "10", "1-30", "2026-03-05", "70.83", "1700.00", "EUR"],
    ]  # fmt: skip
    everything = fund.client.get("/arrears.csv", params={"as_of": "2026-02-13"})
    assert everything.headers["content-disposition"].endswith('filename="arrears-2026-02-13.csv"')
    assert [r[0] for r in csv.reader(io.StringIO(everything.text))][1:] == [
        fund.id("long"),
        fund.id("partial"),
        fund.id("month"),
    ]
    mine = list(csv.reader(io.StringIO(fund.client.get("/arrears.csv?caseworker=cor").text)))
    assert [r[2] for r in mine[1:]] == ["cor", "cor"]


def test_what_cannot_be_read_is_refused_beside_its_field(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    bad = fund.client.get("/arrears", params={"as_of": "2026-02-30", "bucket": "current"})
    assert bad.status_code == 422
    assert error_of(bad.text, "as_of") == "Write the day as year-month-day, like 2026-03-15."
    assert error_of(bad.text, "bucket") == "Choose a group of days late from the list."
    assert 'href="#as_of"' in bad.text and 'href="#bucket"' in bad.text  # the summary links
    assert 'value="2026-02-30"' in bad.text  # what was typed is kept
    assert 'href="/arrears?as_of=2026-03-15"' in bad.text  # the quick days leave out the bad
    assert "aging" not in bad.text and rows(bad.text) == []  # nothing looked up
    future = fund.client.get("/arrears", params={"as_of": "2026-03-16"})
    assert future.status_code == 422
    assert "Choose today (15 Mar 2026) or a day before" in error_of(future.text, "as_of")
    assert fund.client.get("/arrears", params={"as_of": "15/03/2026"}).status_code == 422
    assert fund.client.get("/arrears", params={"bucket": "1-31"}).status_code == 422
    money = fund.client.get("/arrears", params={"currency": "CHF"})
    assert money.status_code == 422
    assert error_of(money.text, "currency") == "Choose one of the fund's currencies: EUR."
    csv_bad = fund.client.get("/arrears.csv", params={"as_of": "tomorrow"})
    assert csv_bad.status_code == 422
    assert csv_bad.headers["content-type"].startswith("text/html")
    assert error_of(csv_bad.text, "as_of").startswith("Write the day as")
    # In the user's language.
    fund.client.post("/me/language", data={"language": "fr", "csrf": csrf_of(bad.text)})
    french = fund.client.get("/arrears", params={"as_of": "2026-13-01", "bucket": "x"})
    assert french.status_code == 422
    assert error_of(french.text, "as_of") == (
        "Écrivez le jour comme année-mois-jour, par exemple 2026-03-15."
    )
    assert (
        error_of(french.text, "bucket") == "Choisissez un groupe de jours de retard dans la liste."
    )


def test_in_french_the_figures_are_written_the_french_way(fund: Fund) -> None:
    client_sign_in(fund.client, "tom")
    home = fund.client.get("/")
    fund.client.post("/me/language", data={"language": "fr", "csrf": csrf_of(home.text)})
    page = fund.client.get("/arrears")
    text = words(page.text)
    assert "Prêts en retard: 5" in text  # (words() joins a colon to its word)
    assert "PAR30 (plus de 30 jours de retard) 49,95 % 5 090,00 €" in text.replace("\u00a0", " ")
    assert rows(page.text)[0][2:5] == ["181–360 jours de retard", "27 août 2025", "495,81 €"]


def test_a_second_currency_is_offered_and_chosen(fund: Fund) -> None:
    """A fund whose loans owe in two currencies (a step in CHF written by hand here: the
    default chart lends in EUR only) offers the choice; one currency at a time is shown."""
    client_sign_in(fund.client, "tom")
    assert 'id="currency"' not in fund.client.get("/arrears").text  # one currency: no choice
    with fund.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO loan_arrears (loan_id, valid_from, valid_to, currency, "
                "outstanding_minor, late_since, caseworker) VALUES (:loan, '2026-03-01', "
                "'9999-12-31', 'CHF', 50000, '2026-02-01', 'cor')"
            ),
            {"loan": fund.id("short")},
        )
    page = fund.client.get("/arrears")
    options = re.search(r'<select id="currency" name="currency">(.*?)</select>', page.text, re.S)
    assert options is not None
    assert re.findall(r'<option value="([A-Z]{3})"', options.group(1)) == ["EUR", "CHF"]
    assert "Loans late: 5" in words(page.text)  # the fund's own currency first
    chf = fund.client.get("/arrears", params={"currency": "CHF"})
    assert chf.status_code == 200
    assert [r[0] for r in rows(chf.text)] == [fund.id("short")]
    assert "All loans still owing 1 500,00 CHF" in words(chf.text)
    assert 'href="/arrears.csv?as_of=2026-03-15&amp;currency=CHF"' in chf.text
    assert 'href="/arrears?as_of=2026-03-15&amp;bucket=31-60&amp;currency=CHF"' in chf.text
    exported = fund.client.get("/arrears.csv", params={"currency": "CHF"})
    assert exported.headers["content-disposition"].endswith('"arrears-CHF-2026-03-15.csv"')
    assert [r[-1] for r in csv.reader(io.StringIO(exported.text))][1:] == ["CHF"]
    refused = fund.client.get("/arrears", params={"currency": "USD"})
    assert error_of(refused.text, "currency") == "Choose one of the fund's currencies: EUR, CHF."
