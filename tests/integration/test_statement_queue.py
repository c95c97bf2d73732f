"""The treasurer's matching queue and the matches by hand it leads to, through the services, on
SQLite and PostgreSQL: loans suggested with their reasons, a transfer split across loans (and
undone, and returned by the bank), a form sent twice matching once."""

from __future__ import annotations

import pytest

from ledger.bank.writers import camt053
from ledger.domain.errors import IdempotencyConflict, LedgerError, ValidationError
from ledger.domain.loans import Loan
from ledger.domain.money import money
from ledger.domain.roles import SYSTEM
from ledger.domain.statements import LineFigures, StoredLine
from ledger.domain.statuses import LineState
from ledger.services import loans
from ledger.services.statements import (
    SplitPart,
    Why,
    get_line,
    get_statement,
    imported_file,
    match_line_to_loan,
    matching_queue,
    split_line,
    statement_figures,
    unmatch_line,
)
from ledger.services.verify import verify
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.ledgertext import book
from tests.support.queries import balances, counts
from tests.support.statements import (
    OTHER_PAYER_IBAN,
    PAYER_IBAN,
    entry,
    paid_out_loan,
    run_import,
    statement,
)

CAPITAL = 1_000_000  # 10,000.00
MARCH_OPENING = CAPITAL - 290_000  # the two payouts
MARCH_CLOSING = MARCH_OPENING + 7083 + 7083 + 5000 + 12083 + 2000 - 9900


@pytest.fixture
def fund(chart: UnitOfWork) -> tuple[UnitOfWork, Loan, Loan, dict[str, StoredLine], str]:
    """Two loans paid out on 2 February (A: 1,700.00 in 24 installments of 70.83, B: 1,200.00
    in 24 of 50.00, first due 1 March) and March's statement imported: A's installment paid
    with its reference from PAYER_IBAN, then money the import could not place. Returns the
    lines by bank reference and the file's SHA-256."""
    book(chart, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    a = paid_out_loan(chart)
    b = paid_out_loan(chart, deposit="1200.00", key="b")
    st = statement(
        "2026-03",
        MARCH_OPENING,
        [
            entry("2026-03-02", "70.83", ref="PAID", creditor_reference=a.reference.value,
                  counterparty_iban=PAYER_IBAN),
            # The same payer, no reference: A by the payer and the amount.
            entry("2026-03-04", "70.83", ref="PAYER", counterparty_iban=PAYER_IBAN),
            # B named by its number in the free text; 50.00 is also B's installment.
            entry("2026-03-05", "50.00", ref="NUMBER", remittance=f"rent deposit {b.id}",
                  counterparty_iban=OTHER_PAYER_IBAN),
            # One transfer for both loans' installments.
            entry("2026-03-06", "120.83", ref="BOTH", remittance="two families"),
            entry("2026-03-07", "20.00", ref="GIFT", remittance="for the fund"),
            entry("2026-03-08", "99.00", "debit", ref="OUT"),
        ],
        start="2026-03-01",
        end="2026-03-14",
    )  # fmt: skip
    data = camt053([st])
    result = run_import(chart, data)
    report = result.statements[0]
    assert report.states == {"loan": 1, "unidentified": 4, "unmatched": 1}
    lines = {
        ln.line_key.removeprefix("ref:"): ln
        for ln in get_statement(chart, TREASURER, report.id or 0)[1]
    }
    return chart, a, b, lines, result.file_sha256


def outstanding(uow: UnitOfWork, loan_id: str) -> int:
    return loans.get_loan(uow, TREASURER, loan_id).outstanding


def test_the_queue_lists_what_waits_with_suggested_loans_and_why(
    fund: tuple[UnitOfWork, Loan, Loan, dict[str, StoredLine], str],
) -> None:
    uow, a, b, lines, sha = fund
    page = matching_queue(uow, AUDITOR, month="2026-03")  # the auditor may look
    assert page.total == 5
    assert [q.line.id for q in page.lines] == [
        lines[k].id for k in ("PAYER", "NUMBER", "BOTH", "GIFT", "OUT")
    ]
    by_ref = {q.line.id: q for q in page.lines}
    payer = by_ref[lines["PAYER"].id].suggestions
    assert [(s.loan_id, s.reasons) for s in payer] == [(a.id, (Why.PAYER, Why.AMOUNT))]
    number = by_ref[lines["NUMBER"].id].suggestions
    assert [(s.loan_id, s.reasons) for s in number] == [(b.id, (Why.LOAN_NUMBER, Why.AMOUNT))]
    assert all(s.payable for s in payer + number)
    assert by_ref[lines["BOTH"].id].suggestions == ()
    assert by_ref[lines["GIFT"].id].suggestions == ()
    assert not any(q.month_closed for q in page.lines)
    # Paged, and by month.
    second = matching_queue(uow, TREASURER, month="2026-03", limit=2, offset=2)
    assert [q.line.id for q in second.lines] == [lines["BOTH"].id, lines["GIFT"].id]
    assert matching_queue(uow, TREASURER, month="2026-04").total == 0
    with pytest.raises(ValidationError) as refused:
        matching_queue(uow, TREASURER, month="March")
    assert refused.value.key == "err.statement.month_bad"
    # The import's result, and the statement's figures, as the treasurer reads them.
    [(stored, figures)] = imported_file(uow, TREASURER, sha)
    assert figures == LineFigures(lines=6, booked=5, matched=1, to_do=5)
    assert statement_figures(uow, TREASURER, [stored.id]) == {stored.id: figures}


def test_a_transfer_split_across_loans_is_booked_undone_and_returned(
    fund: tuple[UnitOfWork, Loan, Loan, dict[str, StoredLine], str],
) -> None:
    uow, a, b, lines, _ = fund
    both = lines["BOTH"].id
    a_before, b_before = outstanding(uow, a.id), outstanding(uow, b.id)
    entries_before = counts(uow)["journal_entries"]

    def parts(x: str, y: str) -> list[SplitPart]:
        return [SplitPart(a.id, money(x, "EUR")), SplitPart(b.id, money(y, "EUR"))]

    with pytest.raises(ValidationError) as refused:
        split_line(uow, TREASURER, both, parts("70.83", "49.99"))
    assert refused.value.key == "err.statement.split_sum"
    assert refused.value.params["difference"] == money("0.01", "EUR")
    for wrong, key in [
        ([SplitPart(a.id, money("120.83", "EUR"))], "err.statement.split_parts"),
        ([SplitPart(a.id, money("60", "EUR"))] * 2, "err.statement.split_twice"),
    ]:
        with pytest.raises(ValidationError) as refused:
            split_line(uow, TREASURER, both, wrong)
        assert refused.value.key == key
    with pytest.raises(LedgerError) as not_in:
        split_line(uow, TREASURER, lines["OUT"].id, parts("50.00", "49.00"))
    assert not_in.value.key == "err.statement.not_money_in"
    assert counts(uow)["journal_entries"] == entries_before  # nothing booked on refusal

    view = split_line(uow, TREASURER, both, parts("70.83", "50.00"), reason="two families")
    assert view.line.state == LineState.LOAN and view.line.loan_id == a.id
    assert outstanding(uow, a.id) == a_before - 7083
    assert outstanding(uow, b.id) == b_before - 5000
    split = [m for m in view.history if m.action == "split"]
    assert [(m.loan_id, m.reversal_entry_id is not None) for m in split] == [
        (a.id, True),  # the unidentified receipt reversed
        (b.id, False),
    ]
    assert balances(uow)["2200"] == -(7083 + 5000 + 2000)  # PAYER, NUMBER and GIFT still wait
    assert matching_queue(uow, TREASURER).total == 4

    # Undone: both parts reversed, the money back to unidentified receipts.
    view = unmatch_line(uow, TREASURER, both, reason="ask who sent it")
    assert view.line.state == LineState.UNIDENTIFIED
    assert outstanding(uow, a.id) == a_before and outstanding(uow, b.id) == b_before

    # Split again, then the bank returns the transfer: every part is reversed.
    split_line(uow, TREASURER, both, parts("20.83", "100.00"))
    april = statement(
        "2026-04",
        MARCH_CLOSING,
        [entry("2026-03-15", "120.83", "debit", ref="BACK", return_reason="AC04")],
        start="2026-03-15",
        end="2026-03-15",
    )
    returned = run_import(uow, camt053([april])).statements[0]
    assert returned.states == {"returned": 1}
    assert outstanding(uow, a.id) == a_before and outstanding(uow, b.id) == b_before
    assert verify(UnitOfWork(uow.engine, readonly=True), SYSTEM).ok


def test_a_form_sent_twice_matches_once(
    fund: tuple[UnitOfWork, Loan, Loan, dict[str, StoredLine], str],
) -> None:
    uow, a, _, lines, _ = fund
    line_id = lines["PAYER"].id
    first = match_line_to_loan(uow, TREASURER, line_id, a.id, form_key="web-form-1")
    entries = counts(uow)["journal_entries"]
    again = match_line_to_loan(uow, TREASURER, line_id, a.id, form_key="web-form-1")
    assert not first.replayed and again.replayed
    assert again.line == first.line and len(again.history) == len(first.history)
    assert counts(uow)["journal_entries"] == entries
    # The same key for another line is a mistake, not a replay.
    with pytest.raises(IdempotencyConflict):
        unmatch_line(uow, TREASURER, lines["GIFT"].id, form_key="web-form-1")
    assert get_line(uow, TREASURER, lines["GIFT"].id).line.state == LineState.UNIDENTIFIED
