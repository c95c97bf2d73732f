"""A loan's standing told the same way on the beneficiary's page, the schedule PDF and
`fundledger loan show`, on SQLite and PostgreSQL.

Each scenario brings the standard loan (1,700.00 in 24 installments of 70.83 and a last of
70.91, due on month ends from 31 March 2026, paid out on 15 March 2026) to a standing through
the services, events in odd orders among them (a write-off, then a payment dated before it,
then the deposit released; or the release first). ``TABLE`` says, for each, the standing, whether
a payment is asked and every figure shown; the three outputs are read back and checked against
it, and so is what none of them may say (a figure not in the row, "nothing left to pay" while
something is)."""

from __future__ import annotations

import html as html_lib
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine
from typer.testing import CliRunner

from ledger.api.app import create_app
from ledger.cli import app
from ledger.cli.loans import FIGURE_WORDS
from ledger.config import Settings, get_settings
from ledger.documents.i18n import Translator
from ledger.documents.model import FundInfo
from ledger.documents.render import render_schedule, render_schedule_html
from ledger.domain.loans import Loan
from ledger.domain.money import from_minor
from ledger.domain.roles import SYSTEM
from ledger.domain.standing import Figure, Standing
from ledger.domain.statuses import LoanStatus
from ledger.services import access_links, loans, users
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.loans import (
    CASEWORKER,
    TREASURER,
    TREASURER2,
    assert_verified,
    day,
    eur,
    loan_in,
    person,
)
from tests.support.web import PASSWORD, client_sign_in

AS_OF = date(2026, 6, 30)
F = Figure
FUND = FundInfo(
    name="Fonds de garanties locatives",
    address_lines=("Rue de l'Exemple 1",),
    iban="BE71096123456769",
    creditor_name="Fonds de garanties locatives ASBL",
    phone="+32 2 000 00 00",
    email="fonds@example.org",
    city="Bruxelles",
    postcode="1000",
)
#: What each figure is called on the English page and PDF.
LABELS = {
    F.LOAN: "Amount of the loan",
    F.FIRST: "First instalment",
    F.PAID: "Already paid",
    F.OUTSTANDING: "Still to pay",
    F.OVERDUE: "Of which late",
    F.NEXT: "Next payment",
    F.CREDIT: "We owe you",
    F.WRITTEN_OFF: "Written off",
    F.RECOVERED: "Received since the write-off",
}


@dataclass(frozen=True)
class Row:
    standing: Standing
    asks: bool  # a payment asked: amount, reference, QR code
    figures: dict[Figure, tuple[int, date | None]]
    says: tuple[str, ...]  # sentences of the page and the PDF (English)


TABLE: dict[str, Row] = {
    "not_paid_out": Row(
        Standing.NOT_PAID_OUT,
        False,
        {F.LOAN: (170_000, None), F.FIRST: (7_083, date(2026, 3, 31))},
        ("The loan has not been paid out yet", "You have nothing to pay before then."),
    ),
    "repaying": Row(
        Standing.REPAYING,
        True,
        {
            F.PAID: (20_000, None),
            F.OUTSTANDING: (150_000, None),
            F.OVERDUE: (8_332, date(2026, 5, 31)),
            F.NEXT: (15_415, date(2026, 7, 31)),
        },
        ("Please pay 154,15 € by 31 July 2026.", "83,32 € should already have been paid."),
    ),
    "repaid": Row(
        Standing.REPAID,
        False,
        {F.PAID: (170_000, None), F.OUTSTANDING: (0, None)},
        ("You have nothing left to pay on this loan.",),
    ),
    "overpaid": Row(
        Standing.OVERPAID,
        False,
        {F.PAID: (170_000, None), F.CREDIT: (5_000, None)},
        ("You have paid 50,00 € more than you owed.",),
    ),
    "written_off": Row(
        Standing.WRITTEN_OFF,
        False,
        {F.PAID: (20_000, None), F.WRITTEN_OFF: (150_000, date(2026, 6, 15))},
        ("On 15 June 2026 the fund wrote off the 1.500,00 € that was still unpaid",),
    ),
    # The 50.00 is dated before the write-off (entered after it): it repaid the loan then, and
    # the write-off shrank by as much (issue 16).
    "recovered_payment_then_release": Row(
        Standing.RECOVERED,
        False,
        {
            F.PAID: (25_000, None),
            F.WRITTEN_OFF: (145_000, date(2026, 6, 15)),
            F.RECOVERED: (30_000, None),
        },
        (
            "On 15 June 2026 the fund wrote off the 1.450,00 € that was still unpaid",
            "Since then the fund has received 300,00 € for this loan.",
        ),
    ),
    "recovered_release_then_payment": Row(
        Standing.RECOVERED,
        False,
        {
            F.PAID: (25_000, None),
            F.WRITTEN_OFF: (145_000, date(2026, 6, 15)),
            F.RECOVERED: (30_000, None),
        },
        ("Since then the fund has received 300,00 € for this loan.",),
    ),
    "recovered_in_full": Row(
        Standing.RECOVERED,
        False,
        {
            F.PAID: (20_000, None),
            F.WRITTEN_OFF: (150_000, date(2026, 6, 15)),
            F.RECOVERED: (150_000, None),
        },
        ("that covers everything that was written off",),
    ),
}


def _pay(uow: UnitOfWork, loan: Loan, amount: str, on: str) -> None:
    loans.record_payment(
        uow, TREASURER, loan.id, eur(amount), on=day(on), idempotency_key=f"{loan.id}-{on}-{amount}"
    )


def _release(uow: UnitOfWork, loan: Loan, returned: str, on: str) -> None:
    loans.record_deposit_release(
        uow,
        TREASURER,
        loan.id,
        on=day(on),
        returned=eur(returned),
        kept=eur("0.00"),
        kept_reason=None,
        idempotency_key=f"release-{loan.id}-{on}",
    )


def _write_off(uow: UnitOfWork, loan: Loan) -> None:
    proposal = loans.propose_write_off(uow, TREASURER, loan.id, "left without an address")
    loans.approve_write_off(
        uow, TREASURER2, proposal.id, on=day("2026-06-15"), idempotency_key=f"w-{loan.id}"
    )


def _loan(uow: UnitOfWork, status: LoanStatus) -> Loan:
    """A loan decided and paid out on 15 March 2026 (the rules want its first installment,
    31 March, still ahead), whatever day the clock stands on."""
    clock = uow.clock
    assert isinstance(clock, Clock)
    today, clock.now = clock.now, datetime(2026, 3, 15, 12, tzinfo=UTC)
    try:
        return loan_in(uow, status, person(uow, preferred_language="en"))
    finally:
        clock.now = today


def _written_off(uow: UnitOfWork) -> Loan:
    loan = _loan(uow, LoanStatus.ACTIVE)
    _pay(uow, loan, "200.00", "2026-04-30")
    _write_off(uow, loan)
    return loan


def _scenario(name: str, uow: UnitOfWork) -> Loan:
    """The loan brought to the scenario's standing (the clock stands on 30 June 2026)."""
    if name == "not_paid_out":
        return _loan(uow, LoanStatus.CONTRACT_SIGNED)
    if name.startswith(("written_off", "recovered")):
        loan = _written_off(uow)
        if name == "recovered_payment_then_release":
            _pay(uow, loan, "50.00", "2026-05-20")  # entered after the write-off, dated before
            _release(uow, loan, "300.00", "2026-06-20")
        elif name == "recovered_release_then_payment":
            _release(uow, loan, "300.00", "2026-06-20")
            _pay(uow, loan, "50.00", "2026-05-20")
        elif name == "recovered_in_full":
            _release(uow, loan, "1500.00", "2026-06-20")
        return loan
    loan = _loan(uow, LoanStatus.ACTIVE)
    paid = {"repaying": "200.00", "repaid": "1700.00", "overpaid": "1750.00"}[name]
    _pay(uow, loan, paid, "2026-04-30")
    return loan


def _spaced(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def _page_text(page: str) -> str:
    body = page[page.index("<body") :]
    inline = re.sub(r"</?bdi[^>]*>", "", body)  # values isolated inside a sentence
    return _spaced(html_lib.unescape(re.sub(r"<[^>]+>", " ", inline)))


def _pdf_text(pdf: bytes) -> str:
    return _spaced(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _pdf_qr_codes(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        found = []
        for page in document:
            found += [r.text for r in zxingcpp.read_barcodes(page.render(scale=3).to_pil())]
        return found
    finally:
        document.close()


def _expected_text(row: Row, t: Translator) -> list[str]:
    """Each figure as the page and the PDF write it: its label, then its amount."""
    return [
        _spaced(f"{LABELS[figure]} {t.money(from_minor(minor, 'EUR'))}")
        for figure, (minor, _) in row.figures.items()
    ]


@pytest.fixture
def fund(funded: UnitOfWork, clock: Clock) -> UnitOfWork:
    clock.now = datetime(2026, 6, 30, 12, tzinfo=UTC)
    return funded


@pytest.mark.parametrize("name", list(TABLE))
def test_the_page_the_pdf_and_the_command_line_tell_the_same_standing(
    name: str,
    fund: UnitOfWork,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    row = TABLE[name]
    loan = _scenario(name, fund)
    assert_verified(fund)

    # The one reading all three use.
    standing = loans.get_loan(fund, TREASURER, loan.id, AS_OF).standing
    assert standing.standing is row.standing
    assert standing.asks_payment is row.asks
    assert {f: (minor, when) for f, minor, when in standing.figures()} == row.figures

    # The beneficiary's page and PDF, through their personal link.
    token = access_links.create_link(fund, CASEWORKER, loan.id, days=30).token
    data = access_links.open_link(fund, token, FUND, shown="page")
    assert data.as_of == AS_OF and data.standing == standing
    page = render_schedule_html(data, pdf_href=f"{token}/schedule.pdf")
    rendered = render_schedule(data)
    t = Translator("en", "BE")
    for what, text in (("page", _page_text(page)), ("pdf", _pdf_text(rendered.pdf))):
        for expected in (*_expected_text(row, t), *row.says):
            assert expected in text, f"{what} of {name} does not say {expected!r}"
        if row.standing in (Standing.WRITTEN_OFF, Standing.RECOVERED, Standing.REPAYING):
            assert "nothing left to pay" not in text, what
        if row.standing is not Standing.WRITTEN_OFF and row.standing is not Standing.RECOVERED:
            assert "Written off" not in text, what
        assert ("How to pay" in text) is row.asks, what
        assert (loan.reference.display in text) is row.asks, what
    # The page's figures are the row's, no more, in its order.
    summary = page[page.index('<table class="summary"') :] if row.figures else ""
    summary = summary[: summary.index("</table>")] if summary else ""
    labels = re.findall(r'<span class="label">(.*?)</span>', summary)
    values = re.findall(r'<span class="value">(.*?)</span>', summary)
    assert labels == [LABELS[f] for f in row.figures]
    assert [_spaced(v) for v in values] == [
        _spaced(t.money(from_minor(minor, "EUR"))) for minor, _ in row.figures.values()
    ]
    assert ('src="data:image/svg+xml' in page) is row.asks
    assert bool(_pdf_qr_codes(rendered.pdf)) is row.asks

    # `fundledger loan show`, on the same database.
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["loan", "show", loan.id, "--as-of", AS_OF.isoformat()])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert f"standing: {row.standing.value} " in result.output
    start = next(i for i, line in enumerate(out) if line.startswith("standing: "))
    end = next(i for i, line in enumerate(out) if line.startswith("payment asked: "))
    shown = [line.strip() for line in out[start + 1 : end]]
    words = {"first": "due", "next": "due", "overdue": "since", "written_off": "on"}
    expected_cli = [
        f"{FIGURE_WORDS[f.value]} {from_minor(minor, 'EUR').amount}"
        + (f" {words[f.value]} {when}" if when else "")
        for f, (minor, when) in row.figures.items()
    ]
    assert shown == expected_cli
    if row.asks:
        amount, when = row.figures[F.NEXT]
        assert f"payment asked: {from_minor(amount, 'EUR').amount} by {when}" in out
    else:
        assert "payment asked: none" in out
    owed = row.figures.get(F.OUTSTANDING, (0, None))[0] if row.asks else 0
    credit = row.figures.get(F.CREDIT, (0, None))[0]
    assert (
        f"outstanding {from_minor(owed, 'EUR').amount} EUR, "
        f"credit {from_minor(credit, 'EUR').amount}" in out
    )
    if row.standing is Standing.REPAYING:
        assert "arrears: 83.32 overdue since 2026-05-31, 30 days past due (1-30)" in out
    else:  # no arrears beside a written-off, repaid or unpaid-out loan
        assert [line for line in out if line.startswith("arrears:")] == [
            f"arrears: none ({row.standing.value.replace('_', ' ')})"
        ]


#: The staff loan page's words for each standing (English), and the API's figure names.
STAFF_WORDS = {
    Standing.NOT_PAID_OUT: "Not paid out yet",
    Standing.REPAYING: "Being repaid",
    Standing.REPAID: "Repaid",
    Standing.OVERPAID: "Paid too much: the fund owes money back",
    Standing.WRITTEN_OFF: "Written off",
    Standing.RECOVERED: "Written off, money received since",
}


@pytest.mark.parametrize("name", list(TABLE))
def test_the_staff_page_and_the_api_tell_the_same_standing(
    name: str, fund: UnitOfWork, engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    row = TABLE[name]
    loan = _scenario(name, fund)
    clock.now = datetime(2026, 6, 30, 12, tzinfo=UTC)
    users.create_user(UnitOfWork(engine), SYSTEM, "tom", PASSWORD, "treasurer")
    settings = Settings(
        _env_file=None, database_url="sqlite://", documents_dir=tmp_path, fund_languages="en"
    )
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as web:
        client_sign_in(web, "tom")
        page = web.get(f"/loans/{loan.id}")
        assert page.status_code == 200, page.text
        facts = _spaced(html_lib.unescape(re.sub(r"<[^>]+>", " ", page.text)))
        facts = re.sub(r" ([:.,])", r"\1", facts)  # the space a tag left before punctuation
        assert f"Where the loan stands {STAFF_WORDS[row.standing]}" in facts
        t = Translator("en", "BE")
        if row.standing in (Standing.WRITTEN_OFF, Standing.RECOVERED):
            amount = _spaced(t.money(from_minor(row.figures[F.WRITTEN_OFF][0], "EUR")))
            assert "Still owed" not in facts and "days late" not in facts
            assert "written off on 15 Jun 2026: nothing is asked of the person" in facts
            if row.standing is Standing.RECOVERED:
                recovered = row.figures[F.RECOVERED][0]
                money_text = _spaced(t.money(from_minor(recovered, "EUR")))
                assert f"Received since the write-off {money_text}" in facts
            assert amount.replace("€", "").strip() in facts

        token = web.post("/api/auth/token", json={"username": "tom", "password": PASSWORD}).json()[
            "access_token"
        ]
        body = web.get(
            f"/api/loans/{loan.id}",
            params={"as_of": AS_OF.isoformat()},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    standing = body["standing"]
    assert standing["standing"] == row.standing.value
    assert standing["asks_payment"] is row.asks
    assert [(f["figure"], f["amount"]["amount"], f["on"]) for f in standing["figures"]] == [
        (figure.value, str(from_minor(minor, "EUR").amount), when and when.isoformat())
        for figure, (minor, when) in row.figures.items()
    ]


def test_as_of_a_day_before_the_write_off_the_loan_was_being_repaid(
    fund: UnitOfWork,
) -> None:
    loan = _written_off(fund)
    # Dated before the write-off (entered after it): it repaid the loan on its day, and the
    # write-off shrank by as much; it is no recovery (issue 16).
    _pay(fund, loan, "50.00", "2026-05-20")
    before = loans.get_loan(fund, TREASURER, loan.id, day("2026-06-14")).standing
    assert before.standing is Standing.REPAYING
    assert (before.written_off, before.recovered, before.outstanding) == (0, 0, 145_000)
    after = loans.get_loan(fund, TREASURER, loan.id, day("2026-06-15")).standing
    assert (after.standing, after.written_off, after.recovered) == (
        Standing.WRITTEN_OFF,
        145_000,
        0,
    )


def test_a_reversed_recovery_is_no_longer_counted(fund: UnitOfWork) -> None:
    loan = _written_off(fund)
    _pay(fund, loan, "50.00", "2026-06-20")
    entry = loans.get_loan(fund, TREASURER, loan.id).payments[-1][0]
    loans.reverse_payment(
        fund, TREASURER, entry, on=day("2026-06-25"), reason="bounced", idempotency_key="rev"
    )
    standing = loans.get_loan(fund, TREASURER, loan.id, AS_OF).standing
    assert (standing.standing, standing.recovered) == (Standing.WRITTEN_OFF, 0)
    assert_verified(fund)
