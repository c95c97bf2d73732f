"""The treasurer's bank statements in a real browser: a refused file (why, nothing booked), a
statement uploaded with its progress bar, the import's result, then the matching queue worked
through from the keyboard (Enter accepts the suggestion and the next line takes the focus, j/k
move, f books a bank fee, u undoes it, s opens the split form) and a transfer split across two
loans; axe-core clean, photographed at 1366 and 390 px with no sideways scrolling."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from ledger.bank.writers import camt053
from ledger.domain.loans import Loan
from ledger.domain.statuses import LineState
from ledger.services import loans
from ledger.services.statements import list_lines
from tests.support.actors import TREASURER
from tests.support.loan_page import another_person_loan, funded_loan
from tests.support.statements import PAYER_IBAN, entry, statement
from tests.support.web import LiveServer, serious_violations, shoot, sign_in


def _said(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).replace("\u202f", " ").split())


def _checked(page: Any, name: str) -> None:
    assert serious_violations(page) == []
    shoot(page, name)


def _focused_line(page: Any) -> str:
    """The id of the queue's line that holds the keyboard's focus."""
    return str(page.evaluate("(document.activeElement.closest('li.qline') || {}).id || ''"))


@pytest.fixture
def fund(server: LiveServer, tmp_path: Path) -> tuple[Loan, Loan, Path, Path]:
    """Two loans of 1,700.00 paid out forty days ago, and a statement of the last days as a
    camt.053 file: A's installment with its reference, the same payer again without one, a
    gift, one transfer for both loans, an unknown debit. Also a file that is no statement."""
    today = datetime.now(server.settings.zone).date()
    a = funded_loan(server.engine, paid_out=today - timedelta(days=40))
    b = another_person_loan(server.engine, paid_out=today - timedelta(days=40))
    day = [str(today - timedelta(days=n)) for n in range(6)]
    st = statement(
        "BANK-1",
        1_000_000 - 340_000,
        [
            entry(day[5], "70.83", ref="PAID", creditor_reference=a.reference.value,
                  counterparty_iban=PAYER_IBAN),
            entry(day[4], "70.83", ref="PAYER", counterparty_iban=PAYER_IBAN),
            entry(day[3], "20.00", ref="GIFT", remittance="for the fund, from the parish"),
            entry(day[2], "141.66", ref="BOTH", remittance="two families"),
            entry(day[1], "9.99", "debit", ref="OUT"),
        ],
        start=day[5],
        end=day[1],
    )  # fmt: skip
    good, bad = tmp_path / "statement.xml", tmp_path / "notes.txt"
    good.write_bytes(camt053([st]))
    bad.write_text("a shopping list, not a bank statement\n")
    return a, b, good, bad


def test_a_treasurer_imports_a_statement_and_clears_the_queue_from_the_keyboard(
    server: LiveServer, page: Any, fund: tuple[Loan, Loan, Path, Path]
) -> None:
    a, b, good, bad = fund
    sign_in(page, server.url, "tom")
    page.get_by_role("link", name="Bank", exact=True).click()
    page.wait_for_url(f"{server.url}/statements")
    _checked(page, "statements-upload")

    # A file that is no statement: refused, with why, and nothing booked.
    page.locator("#file").set_input_files(str(bad))
    page.get_by_role("button", name="Import the statement").click()
    alert = page.locator(".result-bad")
    alert.wait_for()
    assert "could not be read as a bank statement" in _said(alert)
    assert "Nothing was booked." in _said(alert)
    assert "neither a camt.053 statement nor a CODA file" in _said(page.locator("#file-error"))
    _checked(page, "statements-refused")

    # The statement: sent with its progress, then the import's result.
    page.locator("#file").set_input_files(str(good))
    page.get_by_role("button", name="Import the statement").click()
    page.wait_for_url(f"{server.url}/statements/imports/*")
    said = _said(page.locator("main"))
    assert "5 lines 4 booked 1 matched 4 left to do" in said
    _checked(page, "statements-imported")

    # The queue: the first line's suggestion has the focus, with why it is suggested.
    page.get_by_role("link", name="Match the lines left to do (4)").click()
    page.wait_for_url(f"{server.url}/statements/queue")
    waiting = {ln.line_key.removeprefix("ref:"): ln.id for ln in _waiting(server)}
    first = page.locator(f"#line-{waiting['PAYER']}")
    assert "the same account paid it before" in _said(first)
    assert page.evaluate("document.activeElement.textContent.trim()") == f"Repays {a.id}"
    _checked(page, "statements-queue")

    page.keyboard.press("Enter")  # accepted; the next line (the gift) takes the focus
    page.wait_for_url(f"**/statements/queue?*done={waiting['PAYER']}*")
    assert _focused_line(page) == f"line-{waiting['GIFT']}"
    assert f"booked as a repayment of {a.id}" in _said(page.locator(".flash"))
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert _focused_line(page) == f"line-{waiting['OUT']}"
    page.keyboard.press("k")
    assert _focused_line(page) == f"line-{waiting['BOTH']}"
    page.keyboard.press("j")
    page.keyboard.press("f")  # the unknown debit: a bank fee
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/statements/queue?*done={waiting['OUT']}*")
    assert f"Line {waiting['OUT']} booked to account" in _said(page.locator(".flash"))
    page.keyboard.press("u")  # undone: the debit waits again, and has the focus
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/statements/queue?*focus={waiting['OUT']}*")
    assert "is undone" in _said(page.locator(".flash"))
    assert _focused_line(page) == f"line-{waiting['OUT']}"

    # One transfer for both loans: s opens the split form at its first field.
    page.keyboard.press("k")
    assert _focused_line(page) == f"line-{waiting['BOTH']}"
    page.keyboard.press("s")
    page.wait_for_url(f"{server.url}/statements/lines/{waiting['BOTH']}?act=split")
    expect(page.locator("#loan_1")).to_be_focused()
    page.keyboard.type(a.id)
    page.keyboard.press("Tab")
    page.keyboard.type("70,83")
    page.keyboard.press("Tab")
    page.keyboard.type(b.id)
    page.keyboard.press("Tab")
    page.keyboard.type("70,00")
    page.get_by_role("button", name="Split and book").click()
    assert "The parts add up to 140,83 €, but the transfer is 141,66 €" in _said(
        page.locator("#split-error")
    )
    page.locator("#amount_2").fill("70,83")
    page.get_by_role("button", name="Split and book").click()
    page.wait_for_url(f"{server.url}/statements/lines/{waiting['BOTH']}")
    assert "split across loans: 2" in _said(page.locator(".flash"))
    _checked(page, "statements-line")
    for loan, paid in ((a, 3 * 7083), (b, 7083)):
        outstanding = loans.get_loan(server.uow(), TREASURER, loan.id).outstanding
        assert outstanding == 170_000 - paid

    page.get_by_role("link", name="Bank statements", exact=True).first.click()
    page.wait_for_url(f"{server.url}/statements")
    assert "Bank lines waiting to be matched: 2" in _said(page.locator("main"))
    _checked(page, "statements-list")
    assert {ln.state for ln in _waiting(server)} == {LineState.UNIDENTIFIED, LineState.UNMATCHED}


def _waiting(server: LiveServer) -> list[Any]:
    found, _ = list_lines(
        server.uow(),
        TREASURER,
        states=(LineState.UNIDENTIFIED, LineState.UNMATCHED),
    )
    return found
