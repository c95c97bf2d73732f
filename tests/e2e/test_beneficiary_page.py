"""The beneficiary's own page (/b/{token}) in a real browser, as they open it: on a phone first.

At 320, 390, 768 and 1366 px: nothing scrolls sideways and no table cell is narrower than its
longest word (each word measured on a canvas in its cell's font, and its Range on one line);
axe-core finds nothing serious; screenshots of each page at each width are written to
tests/e2e/screens/ (beneficiary-*.png) to be looked at. The page links its PDF and the fund's
phone (tel:) and e-mail (mailto:), asks for a payment only once the loan is paid out, and tells
a written-off loan with money received since as such."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from ledger.domain.loans import Loan
from ledger.domain.money import money
from ledger.domain.statuses import LoanStatus
from ledger.services import access_links, loans
from ledger.store.uow import UnitOfWork
from tests.support.ledgertext import book
from tests.support.loans import CASEWORKER, TREASURER, TREASURER2, loan_in, person
from tests.support.web import SCREENS, LiveServer, serious_violations

WIDTHS = (320, 390, 768, 1366)
PHONE_HREF = "tel:+3220000000"  # the settings' default +32 2 000 00 00, spaces dropped

#: Every shown td/th: (what, its content width, the longest word's width, the word), where the
#: word is wider than the cell or broken over two lines. Hidden cells are not looked at.
NARROW_CELLS = """() => {
  const canvas = document.createElement('canvas').getContext('2d');
  const found = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const style = getComputedStyle(cell);
    if (style.display === 'none' || cell.getClientRects().length === 0) continue;
    const head = cell.closest('thead');  // a phone's cards hide it: read aloud only
    if (head && head.getBoundingClientRect().width <= 1) continue;
    const inner = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      canvas.font = getComputedStyle(node.parentElement).font;
      const words = /[^ \\t\\n\\r]+/g;
      for (let m = words.exec(node.data); m; m = words.exec(node.data)) {
        const width = canvas.measureText(m[0]).width;
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        if (width > inner + 0.5 || lines > 1) {
          found.push([cell.className || cell.tagName, Math.round(inner), Math.round(width), m[0]]);
        }
      }
    }
  }
  return found;
}"""


def _today(server: LiveServer) -> date:
    return datetime.now(server.settings.zone).date()


def _loan(engine: Engine, language: str, name: str, status: LoanStatus, paid_out: date) -> Loan:
    """Capital, then 1,700.00 over 24 months for ``name`` reading ``language``, its first
    installment a month after the lease starts (the first of ``paid_out``'s month)."""
    uow = UnitOfWork(engine)
    start = paid_out.replace(day=1)
    book(uow, TREASURER, f"{start.isoformat()} capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    return loan_in(
        uow,
        status,
        person(uow, full_name=name, preferred_language=language),
        on=paid_out,
        lease_start=start,
        lease_end=start.replace(year=start.year + 3) - timedelta(days=1),
        first_due_date=start + timedelta(days=30),
    )


def _pay(engine: Engine, loan: Loan, amount: str, on: date, key: str) -> None:
    loans.record_payment(
        UnitOfWork(engine), TREASURER, loan.id, money(amount, "EUR"), on=on, idempotency_key=key
    )


def _link(server: LiveServer, loan: Loan) -> str:
    made = access_links.create_link(UnitOfWork(server.engine), CASEWORKER, loan.id, days=30)
    return f"{server.url}/b/{made.token}"


def _repaying(server: LiveServer, language: str, name: str) -> str:
    """Paid out about a hundred days ago, its first installment paid: one late, more to come."""
    paid_out = _today(server) - timedelta(days=100)
    loan = _loan(server.engine, language, name, LoanStatus.ACTIVE, paid_out)
    first = loans.get_loan(UnitOfWork(server.engine), TREASURER, loan.id).installments[0]
    _pay(server.engine, loan, "70.83", first.due_date, f"first-{loan.id}")
    return _link(server, loan)


def _looked_at(page: Any, url: str, name: str) -> None:
    """The page at each width: no sideways scroll, no cell narrower than a word; axe-core at
    a phone's and a laptop's width; a full-length screenshot at each."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    assert page.goto(url).status == 200
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        inner = page.evaluate("window.innerWidth")
        assert scroll <= inner, f"{name} scrolls sideways at {width} px ({scroll} px wide)"
        assert page.evaluate(NARROW_CELLS) == [], f"{name} at {width} px"
        if width in (390, 1366):
            assert serious_violations(page) == [], f"{name} at {width} px"
        page.screenshot(path=str(SCREENS / f"beneficiary-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize(
    ("language", "name", "title"),
    [
        ("fr", "Amina Haddad", "Votre plan de remboursement"),
        ("en", "Amina Haddad", "Your repayment schedule"),
        ("de", "Maximiliane Schwarzenbach-Kowalczyk", "Ihr Tilgungsplan"),
    ],
)
def test_a_loan_being_repaid_reads_right_on_every_width_and_links_its_pdf_and_the_fund(
    server: LiveServer, page: Any, language: str, name: str, title: str
) -> None:
    url = _repaying(server, language, name)
    _looked_at(page, url, f"repaying-{language}")
    assert page.get_by_role("heading", level=1).inner_text() == title
    # The PDF, the phone and the e-mail, each one tap away.
    pdf = page.locator("a[type='application/pdf']")
    href = pdf.get_attribute("href")
    assert href is not None and page.evaluate("h => new URL(h, location.href).href", href) == (
        f"{url}/schedule.pdf"
    )
    got = page.request.get(f"{url}/schedule.pdf")
    assert got.status == 200 and got.headers["content-type"] == "application/pdf"
    assert got.body().startswith(b"%PDF-")
    assert page.locator(f"a[href='{PHONE_HREF}']").count() == 1
    assert page.locator("a[href='mailto:fund@example.org']").count() == 1
    # Being repaid: a payment is asked, with its QR code and reference.
    assert page.locator(".pay img").count() == 1
    assert page.locator(".installments tr.line-late").count() >= 1


def test_before_the_payout_the_page_says_what_comes_and_asks_for_nothing(
    server: LiveServer, page: Any
) -> None:
    loan = _loan(server.engine, "en", "Amina Haddad", LoanStatus.CONTRACT_SIGNED, _today(server))
    url = _link(server, loan)
    _looked_at(page, url, "not-paid-out-en")
    text = " ".join(page.locator("body").inner_text().split())
    assert "How to pay" not in text
    assert "+++" not in text and "Structured communication" not in text  # no reference to pay
    assert page.locator("img").count() == 0  # no QR code
    assert "You have nothing to pay before then." in text
    assert "we will tell you how to pay it" in text
    assert page.locator(".installments .line-planned").count() == 24


def test_a_written_off_loan_with_money_received_since_is_told_as_such(
    server: LiveServer, page: Any
) -> None:
    today = _today(server)
    loan = _loan(server.engine, "en", "Amina Haddad", LoanStatus.ACTIVE, today - timedelta(100))
    first = loans.get_loan(UnitOfWork(server.engine), TREASURER, loan.id).installments[0]
    _pay(server.engine, loan, "70.83", first.due_date, "first")
    proposal = loans.propose_write_off(UnitOfWork(server.engine), TREASURER, loan.id, "gone")
    loans.approve_write_off(
        UnitOfWork(server.engine),
        TREASURER2,
        proposal.id,
        on=today - timedelta(5),
        idempotency_key="w",
    )
    # Money since the write-off (money dated before it repays the loan instead: issue 16).
    _pay(server.engine, loan, "20.00", today - timedelta(2), "since")
    url = _link(server, loan)
    _looked_at(page, url, "recovered-en")
    text = " ".join(page.locator("body").inner_text().replace("\u202f", " ").split())
    assert "How to pay" not in text and page.locator("img").count() == 0
    assert "nothing left to pay" not in text
    assert "wrote off the 1.629,17 € that was still unpaid" in text  # 1,700.00 less 70.83
    assert "Since then the fund has received 20,00 €" in text
    assert page.locator(".installments .line-written_off").count() == 23
    assert page.locator(".installments .line-late, .installments .line-to_pay").count() == 0


def test_a_language_without_a_catalog_gets_the_funds_legal_language_and_says_so(
    server: LiveServer, page: Any
) -> None:
    url = _repaying(server, "am", "አሚና ሃዳድ")
    _looked_at(page, url, "untranslated-am")
    assert page.locator("html").get_attribute("lang") == "fr"
    notice = " ".join(page.locator(".notice.untranslated").inner_text().split())
    assert notice.startswith("Ce plan est en français")
    assert "amharique" in notice
