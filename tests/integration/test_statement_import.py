"""Statement import and matching through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import Engine, select, text, update

from ledger.bank.csv_statement import CsvMapping
from ledger.bank.writers import camt053, coda, csv_export
from ledger.domain.errors import Conflict, LedgerError, PermissionDenied, StatementRefused
from ledger.domain.journal import Entry
from ledger.domain.loans import Loan
from ledger.domain.money import money
from ledger.domain.reconciliation import MissingStatements
from ledger.domain.references import ReferenceKind
from ledger.domain.roles import SYSTEM
from ledger.domain.statements import Statement, StatementEntry, StoredLine, end_to_end_id
from ledger.domain.statuses import EntryKind, LineState, LoanStatus
from ledger.services import loans
from ledger.services.reconciliation import reconcile
from ledger.services.statements import (
    book_line,
    get_statement,
    link_line,
    list_lines,
    match_line_to_loan,
    save_mapping,
    unmatch_line,
)
from ledger.services.verify import verify
from ledger.store.tables import bank_statements, statement_lines
from ledger.store.uow import GuardRefused, UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.queries import balances, counts
from tests.support.statements import (
    FUND_IBAN,
    OTHER_PAYER_IBAN,
    PAYER_IBAN,
    closing_of,
    entry,
    opening_of,
    paid_out_loan,
    run_import,
    statement,
)

CAPITAL = 1_000_000  # 10,000.00 in the bank from January


@pytest.fixture
def fund(chart: UnitOfWork) -> tuple[UnitOfWork, Loan]:
    """Capital in January, one loan of 1,700.00 paid out on 2 February; February's statement
    (the payout) imported: the bank account is linked and holds 8,300.00."""
    book(chart, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; founding capital")
    loan = paid_out_loan(chart)
    feb = statement(
        "2026-02",
        CAPITAL,
        [entry("2026-02-03", "1700.00", "debit", ref="PAYOUT-1",
               end_to_end_id=end_to_end_id(loan.disbursement_entry_id or 0))],
        start="2026-02-01",
        end="2026-02-28",
    )  # fmt: skip
    result = run_import(chart, camt053([feb]))
    assert result.statements[0].states == {"linked": 1}
    return chart, loan


def bank(uow: UnitOfWork) -> int:
    return balances(uow)["1000"]


def lines_of(uow: UnitOfWork, statement_id: int) -> list[StoredLine]:
    return get_statement(uow, TREASURER, statement_id)[1]


def outstanding(uow: UnitOfWork, loan_id: str) -> int:
    return loans.get_loan(uow, TREASURER, loan_id).outstanding


def march(loan: Loan, *extra: StatementEntry, opening: int = CAPITAL - 170_000) -> Statement:
    ogm = loan.reference
    return statement(
        "2026-03",
        opening,
        [
            entry("2026-03-02", "70.83", ref="M1", creditor_reference=ogm.value,
                  counterparty_name="Amina Haile", counterparty_iban=PAYER_IBAN),
            entry("2026-03-03", "7.50", "debit", ref="M2", bank_code="ACMT/MDOP/CHRG"),
            entry("2026-03-04", "20.00", ref="M3", remittance="gift for the fund",
                  counterparty_name="Joy Mensah", counterparty_iban=OTHER_PAYER_IBAN),
            entry("2026-03-05", "70.83", ref="M4", remittance=f"loyer mars {ogm.display} merci"),
            *extra,
        ],
        start="2026-03-01",
        end="2026-03-14",
    )  # fmt: skip


def test_each_kind_of_line_is_matched_and_the_bank_mirrors_the_statement(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    uow, loan = fund
    st = march(loan)
    before = outstanding(uow, loan.id)
    result = run_import(uow, camt053([st], version=8))
    [report] = result.statements
    assert report.states == {"loan": 2, "charge": 1, "unidentified": 1}
    assert bank(uow) == st.closing_minor
    b = balances(uow)
    assert b["2200"] == -2000 and b["6100"] == 750
    assert outstanding(uow, loan.id) == before - 2 * 7083
    lines = {line.line_key: line for line in lines_of(uow, report.id or 0)}
    assert lines["ref:M1"].loan_id == loan.id and lines["ref:M4"].loan_id == loan.id
    assert (
        lines["ref:M3"].state == "unidentified"
        and lines["ref:M3"].remittance == "gift for the fund"
    )
    with uow:
        entry_id = lines["ref:M1"].entry_id
        assert entry_id is not None
        entry_ = uow.journal.get(entry_id)
    assert entry_.kind is EntryKind.REPAYMENT and entry_.statement_line_id == lines["ref:M1"].ref
    assert verify(UnitOfWork(uow.engine, readonly=True), SYSTEM).ok


def test_the_same_file_twice_and_an_overlapping_statement_book_once(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    uow, loan = fund
    st = march(loan)
    data = camt053([st])
    run_import(uow, data)
    after_first = counts(uow)
    again = run_import(uow, data)
    assert again.statements[0].id is None and again.new_entries == 0
    assert counts(uow)["journal_entries"] == after_first["journal_entries"]
    # The bank's next statement starts on 10 March: two lines come again, one is new.
    overlap = statement(
        "2026-03-b",
        opening_of(st) + 7083 - 750,
        [
            entry("2026-03-04", "20.00", ref="M3", remittance="gift for the fund",
                  counterparty_iban=OTHER_PAYER_IBAN),
            entry("2026-03-05", "70.83", ref="M4", remittance=f"loyer {loan.reference.display}"),
            entry("2026-03-12", "15.00", ref="M9"),
        ],
        start="2026-03-04",
        end="2026-03-14",
    )  # fmt: skip
    result = run_import(uow, coda([overlap]))
    assert (result.statements[0].entries, result.new_entries) == (3, 1)
    assert bank(uow) == overlap.closing_minor
    assert counts(uow)["journal_entries"] == after_first["journal_entries"] + 1


def test_opening_must_equal_the_previous_closing_and_nothing_is_half_imported(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    uow, loan = fund
    good = march(loan)
    gap = statement("2026-04", closing_of(good) + 100, [entry("2026-03-14", "1.00", ref="A1")])
    before = counts(uow), balances(uow)
    with pytest.raises(StatementRefused) as refused:
        run_import(uow, camt053([good, gap]))
    detail = refused.value.detail
    assert "statement 2026-04" in detail and "previous statement 2026-03" in detail
    assert "difference 1.00 EUR" in detail
    assert (counts(uow), balances(uow)) == before  # not even the good first statement


def test_a_statement_in_another_currency_is_refused(fund: tuple[UnitOfWork, Loan]) -> None:
    uow, _ = fund
    chf = statement(
        "X", 830_000, [entry("2026-03-02", "5.00", ref="C", currency="CHF")], currency="CHF"
    )
    with pytest.raises(StatementRefused, match=r"is in CHF.*ledger account 1000 in EUR"):
        run_import(uow, camt053([chf]))


def test_an_unknown_account_needs_its_ledger_account(chart: UnitOfWork) -> None:
    book(chart, TREASURER, "2026-01-05 capital 500.00 EUR Dr 1000 Cr 3000 ; capital")
    other = statement("S", 50_000, [entry("2026-03-02", "5.00", ref="A")], iban=PAYER_IBAN)
    with pytest.raises(StatementRefused, match=r"not linked to a ledger account yet.*--account"):
        run_import(chart, camt053([other]))
    run_import(chart, camt053([other]), account_code="1000")
    assert balances(chart)["1000"] == 50_500
    with pytest.raises(Conflict, match=r"linked to ledger account 1000, not 1010"):
        run_import(chart, camt053([other]), account_code="1010")


def test_the_auditor_may_not_import(fund: tuple[UnitOfWork, Loan]) -> None:
    uow, loan = fund
    with pytest.raises(PermissionDenied):
        run_import(uow, camt053([march(loan)]), actor=AUDITOR)


def test_rf_and_qrr_references_find_their_loans(chart: UnitOfWork) -> None:
    book(chart, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    rf = paid_out_loan(chart, kind=ReferenceKind.RF, key="rf")
    qrr = paid_out_loan(chart, kind=ReferenceKind.QRR, key="qrr")
    st = statement(
        "S",
        CAPITAL - 340_000,
        [
            entry("2026-03-02", "70.83", ref="A", creditor_reference=rf.reference.value),
            entry("2026-03-02", "70.83", ref="B", creditor_reference=qrr.reference.value),
            entry("2026-03-03", "10.00", ref="C", remittance=f"pay {rf.reference.display} thx"),
        ],
    )
    run_import(chart, camt053([st], version=4))
    found = {line.line_key: line.loan_id for line in list_lines(chart, TREASURER)[0]}
    assert found == {"ref:A": rf.id, "ref:B": qrr.id, "ref:C": rf.id}


def test_a_reference_to_a_closed_loan_goes_to_unidentified_with_a_note(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    """record_payment refuses money for a repaid loan; the statement books it to unidentified
    receipts, naming the loan, for the treasurer to refund or place."""
    uow, loan = fund
    repaid = statement(
        "S1", CAPITAL - 170_000,
        [entry("2026-03-02", "1700.00", ref="A", creditor_reference=loan.reference.value)],
    )  # fmt: skip
    run_import(uow, camt053([repaid]))
    late = statement(
        "S2", repaid.closing_minor or 0,
        [entry("2026-03-03", "5.00", ref="B", creditor_reference=loan.reference.value)],
    )  # fmt: skip
    assert loans.get_loan(uow, TREASURER, loan.id).loan.status is LoanStatus.CLOSED
    report = run_import(uow, camt053([late])).statements[0]
    assert report.states == {"unidentified": 1}
    [line] = lines_of(uow, report.id or 0)
    assert line.note is not None
    assert "closed" in line.note and line.suggested_loan_id == loan.id
    assert loans.get_loan(uow, TREASURER, loan.id).loan.status is LoanStatus.CLOSED


def test_a_returned_payment_reverses_the_repayment(fund: tuple[UnitOfWork, Loan]) -> None:
    uow, loan = fund
    st = march(loan)
    run_import(uow, camt053([st]))
    paid = outstanding(uow, loan.id)
    back = statement(
        "2026-03-r",
        closing_of(st),
        [entry("2026-03-14", "70.83", "debit", ref="RET1", return_reason="AC04",
               creditor_reference=loan.reference.value)],
        start="2026-03-14",
    )  # fmt: skip
    report = run_import(uow, camt053([back], version=2)).statements[0]
    assert report.states == {"returned": 1}
    assert outstanding(uow, loan.id) == paid + 7083
    assert bank(uow) == back.closing_minor
    [line] = lines_of(uow, report.id or 0)
    with uow:
        assert line.entry_id is not None
        reversal = uow.journal.get(line.entry_id)
    assert reversal.kind is EntryKind.REVERSAL and reversal.loan_id == loan.id
    assert verify(UnitOfWork(uow.engine, readonly=True), SYSTEM).ok


def test_the_treasurer_matches_rematches_and_unmatches_by_hand(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    uow, loan = fund
    report = run_import(uow, camt053([march(loan)])).statements[0]
    gift = next(ln for ln in lines_of(uow, report.id or 0) if ln.line_key == "ref:M3")
    before = outstanding(uow, loan.id)
    entries_before = counts(uow)["journal_entries"]

    view = match_line_to_loan(uow, TREASURER, gift.id, loan.id, reason="the payer phoned")
    assert view.line.state == "loan" and view.line.remittance is None
    assert outstanding(uow, loan.id) == before - 2000 and balances(uow)["2200"] == 0
    view = unmatch_line(uow, TREASURER, gift.id, reason="it was a donation after all")
    assert view.line.state == "unidentified" and outstanding(uow, loan.id) == before
    view = book_line(uow, TREASURER, gift.id, "4000", EntryKind.DONATION)
    assert view.line.state == "manual" and balances(uow)["4000"] == -2000
    assert [m.action for m in view.history] == ["import", "match", "unmatch", "book"]
    assert all(m.reversal_entry_id for m in view.history[1:])
    # Nothing edited: three new bookings and three reversals.
    assert counts(uow)["journal_entries"] == entries_before + 6
    assert bank(uow) == march(loan).closing_minor
    assert verify(UnitOfWork(uow.engine, readonly=True), SYSTEM).ok


def test_a_debit_is_linked_to_its_payout_by_amount_and_date(chart: UnitOfWork) -> None:
    book(chart, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    loan = paid_out_loan(chart, on=date(2026, 3, 2))
    st = statement(
        "S",
        CAPITAL,
        [
            entry("2026-03-04", "1700.00", "debit", ref="P"),
            entry("2026-03-05", "99.00", "debit", ref="Q"),
        ],
    )  # fmt: skip
    report = run_import(chart, camt053([st])).statements[0]
    assert report.states == {"linked": 1, "unmatched": 1}
    lines = {ln.line_key: ln for ln in lines_of(chart, report.id or 0)}
    assert lines["ref:P"].entry_id == loan.disbursement_entry_id
    # The unknown debit waits; the treasurer books it, say, as a transfer to savings.
    book(chart, TREASURER, "2026-03-05 transfer 99.00 EUR Dr 1000 Cr 3000 ; placeholder")
    with pytest.raises(LedgerError, match=r"moves 99.00 on 1000; the line is -99.00"):
        link_line(chart, TREASURER, lines["ref:Q"].id, 3)
    view = book_line(chart, TREASURER, lines["ref:Q"].id, "6100", EntryKind.BANK_CHARGE)
    assert view.line.state == "manual"
    assert bank(chart) == closing_of(st) + 9900


def test_one_payout_explains_one_debit_a_repeat_debit_waits_with_a_note(
    chart: UnitOfWork,
) -> None:
    """The bank debited the same transfer twice (same end-to-end id): the first debit is the
    payout, the second is not explained by it, nor by another payout of the same amount."""
    book(chart, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    loan = paid_out_loan(chart, on=date(2026, 3, 2))
    other = paid_out_loan(chart, on=date(2026, 3, 3), key="other")
    e2e = end_to_end_id(loan.disbursement_entry_id or 0)
    st = statement(
        "S",
        CAPITAL,
        [
            entry("2026-03-04", "1700.00", "debit", ref="P1", end_to_end_id=e2e),
            entry("2026-03-04", "1700.00", "debit", ref="P2", end_to_end_id=e2e),
        ],
        end="2026-03-05",
    )  # fmt: skip
    report = run_import(chart, camt053([st])).statements[0]
    assert report.states == {"linked": 1, "unmatched": 1}
    lines = {ln.line_key: ln for ln in lines_of(chart, report.id or 0)}
    assert lines["ref:P1"].entry_id == loan.disbursement_entry_id
    repeat = lines["ref:P2"]
    assert repeat.state == "unmatched" and repeat.entry_id is None
    assert repeat.note is not None
    assert f"names entry {loan.disbursement_entry_id}" in repeat.note
    assert "already explained by this statement's debit of 2026-03-04" in repeat.note
    assert "the bank may have paid it twice" in repeat.note
    waiting = list_lines(chart, TREASURER, states=(LineState.UNMATCHED,))[0]
    assert [ln.line_key for ln in waiting] == ["ref:P2"]
    # A later statement with the same debit again: still not linked to the other payout.
    again = statement(
        "S2",
        closing_of(st),
        [entry("2026-03-06", "1700.00", "debit", ref="P3", end_to_end_id=e2e)],
        start="2026-03-06",
        end="2026-03-06",
    )  # fmt: skip
    report = run_import(chart, camt053([again])).statements[0]
    assert report.states == {"unmatched": 1}
    [line] = lines_of(chart, report.id or 0)
    assert line.note is not None
    assert f"already explained by line {lines['ref:P1'].id} (a debit of 2026-03-04)" in line.note
    assert line.entry_id is None and other.disbursement_entry_id is not None


def test_a_missing_statement_that_nets_to_zero_is_noticed_and_accepted_when_it_comes(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    """Statements nos. 7 and 9 arrive, no. 8 (a gift sent back the same week) does not: the
    balances agree, but the gap is said on import and on the reconciliation; no. 8, when it
    comes, fills it instead of being refused as out of order."""
    uow, _ = fund
    opening = CAPITAL - 170_000
    no7 = statement("2026-03-07", opening, [entry("2026-03-02", "20.00", ref="A7")],
                    start="2026-03-01", end="2026-03-04", sequence=7)  # fmt: skip
    no8 = statement(
        "2026-03-08",
        closing_of(no7),
        [entry("2026-03-06", "50.00", ref="A8", remittance="gift"),
         entry("2026-03-07", "50.00", "debit", ref="B8", return_reason="MS02")],
        start="2026-03-05",
        end="2026-03-08",
        sequence=8,
    )  # fmt: skip
    no9 = statement("2026-03-09", closing_of(no8), [entry("2026-03-10", "5.00", ref="A9")],
                    start="2026-03-09", end="2026-03-12", sequence=9)  # fmt: skip
    assert closing_of(no8) == closing_of(no7)
    assert run_import(uow, camt053([no7], version=8)).statements[0].missing == ()
    [report] = run_import(uow, camt053([no9], version=8)).statements
    assert report.missing == (
        f"statement no. 8 of {FUND_IBAN} is missing (between 2026-03-07 and 2026-03-09): its "
        "lines are not in the ledger even though the balances agree; ask the bank for it and "
        "import it",
    )
    [rec] = reconcile(uow, TREASURER, "2026-03")
    assert rec.banks[0].missing_statements == (MissingStatements(8, 8, "2026-03-07", "2026-03-09"),)
    assert any("statement no. 8 of" in n and "is missing" in n for n in rec.notes)

    [late] = run_import(uow, camt053([no8], version=8)).statements
    assert late.new_entries == 2 and late.missing == ()
    assert {ln.line_key for ln in lines_of(uow, late.id or 0)} == {"ref:A8", "ref:B8"}
    assert bank(uow) == closing_of(no9)
    [rec] = reconcile(uow, TREASURER, "2026-03")
    assert rec.banks[0].missing_statements == ()
    assert not any("is missing" in n for n in rec.notes)
    assert verify(UnitOfWork(uow.engine, readonly=True), SYSTEM).ok


def test_a_late_statement_must_still_add_up_with_its_neighbours(
    fund: tuple[UnitOfWork, Loan], clock: Clock
) -> None:
    uow, _ = fund
    opening = CAPITAL - 170_000
    no7 = statement("S7", opening, [entry("2026-03-02", "20.00", ref="A7")],
                    start="2026-03-01", end="2026-03-04", sequence=7)  # fmt: skip
    no9 = statement("S9", closing_of(no7), [entry("2026-03-10", "5.00", ref="A9")],
                    start="2026-03-09", end="2026-03-12", sequence=9)  # fmt: skip
    run_import(uow, camt053([no7, no9]))
    wrong_start = statement("S8", opening, [entry("2026-03-06", "1.00", ref="A8")],
                            start="2026-03-05", end="2026-03-08", sequence=8)  # fmt: skip
    with pytest.raises(StatementRefused, match=r"does not equal the closing balance .* of the "
                       r"previous statement S7"):  # fmt: skip
        run_import(uow, camt053([wrong_start]))
    wrong_end = statement("S8", closing_of(no7), [entry("2026-03-06", "1.00", ref="A8")],
                          start="2026-03-05", end="2026-03-08", sequence=8)  # fmt: skip
    fills = r"S8 of account \w+ \(no. 8\) fills the gap before S9, but closes with 8,321.00 EUR"
    with pytest.raises(StatementRefused, match=fills + " while S9 opens with 8,320.00 EUR"):
        run_import(uow, camt053([wrong_end]))
    clock.advance(days=300)  # January 2027: the bank numbers the year's statements from 1
    restart = statement("2027-S2", closing_of(no9), [entry("2027-01-05", "1.00", ref="N2")],
                        start="2027-01-01", end="2027-01-07", sequence=2)  # fmt: skip
    [report] = run_import(uow, camt053([restart])).statements
    assert [m.split(" (")[0] for m in report.missing] == [
        f"statement no. 8 of {FUND_IBAN} is missing",
        f"statement no. 1 of {FUND_IBAN} is missing",
    ]


def test_a_returned_payout_is_held_with_a_note_naming_the_payout(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    """The landlord's account was closed (AC04): the bank credits the payout back. It is not
    the person's repayment; it waits, saying which payout came back."""
    uow, loan = fund
    payout = loan.disbursement_entry_id or 0
    before = outstanding(uow, loan.id)
    st = statement(
        "2026-03-ret",
        CAPITAL - 170_000,
        [entry("2026-03-04", "1700.00", ref="BACK1", return_reason="AC04",
               end_to_end_id=end_to_end_id(payout), creditor_reference=loan.reference.value),
         entry("2026-03-05", "40.00", ref="BACK2", reversal=True)],
        start="2026-03-01",
        end="2026-03-06",
    )  # fmt: skip
    report = run_import(uow, camt053([st], version=8)).statements[0]
    assert report.states == {"unidentified": 2}
    lines = {ln.line_key: ln for ln in lines_of(uow, report.id or 0)}
    back = lines["ref:BACK1"]
    assert back.note == (
        f"sent back by the bank (AC04): the disbursement of loan {loan.id} (entry {payout}) did "
        "not arrive; check the account it went to, then pay it again or match this line by hand"
    )
    assert back.suggested_loan_id == loan.id and back.loan_id is None
    assert outstanding(uow, loan.id) == before  # not booked as the person's repayment
    other = lines["ref:BACK2"]
    assert other.note is not None
    assert other.note.startswith("sent back by the bank (reversal): a payment of the fund")
    assert bank(uow) == closing_of(st)


def test_an_overdrawn_statement_is_imported_its_debits_waiting(chart: UnitOfWork) -> None:
    """The bank let the account go below zero: the statement is what the bank says, so it is
    imported; a debit nothing explains books nothing (it waits, unmatched), so the ledger's bank
    account stays at zero or above. Only a line the import would book itself below zero (a
    bank charge) is refused, by the ledger's no-overdraft rule."""
    book(chart, TREASURER, "2026-01-05 capital 100.00 EUR Dr 1000 Cr 3000 ; capital")
    st = statement(
        "2026-03-od",
        10_000,
        [entry("2026-03-02", "300.00", "debit", ref="OD1")],
        start="2026-03-01",
        end="2026-03-04",
    )  # fmt: skip
    assert closing_of(st) == -20_000
    report = run_import(chart, camt053([st], version=8)).statements[0]
    assert report.states == {"unmatched": 1} and report.closing_minor == -20_000
    assert bank(chart) == 10_000
    charge = statement(
        "2026-03-od2",
        -20_000,
        [entry("2026-03-05", "150.00", "debit", ref="OD2", bank_code="ACMT/MDOP/CHRG")],
        start="2026-03-05",
        end="2026-03-06",
    )  # fmt: skip
    with pytest.raises(LedgerError, match=r"account 1000 may not be overdrawn; .*50.00 below"):
        run_import(chart, camt053([charge], version=8))
    assert bank(chart) == 10_000


def test_csv_import_with_a_saved_mapping_and_balances(fund: tuple[UnitOfWork, Loan]) -> None:
    uow, loan = fund
    mapping = CsvMapping(
        name="be-bank", date="Date", amount="Montant", communication="Communication",
        iban="IBAN", bank_reference="Ref", type="Type", charge_pattern="(?i)charges",
    )  # fmt: skip
    save_mapping(uow, TREASURER, mapping)
    st = march(loan)
    data = csv_export(st, mapping)
    with pytest.raises(StatementRefused, match=r"closing balance given is 8,000.00 EUR"):
        run_import(uow, data, mapping="be-bank", iban=FUND_IBAN, closing=8000)
    result = run_import(uow, data, mapping="be-bank", iban=FUND_IBAN)
    report = result.statements[0]
    assert report.opening_minor == CAPITAL - 170_000  # the previous statement's closing
    assert bank(uow) == st.closing_minor
    assert run_import(uow, data, mapping="be-bank", iban=FUND_IBAN).new_entries == 0


def test_payer_names_and_ibans_are_not_stored(fund: tuple[UnitOfWork, Loan]) -> None:
    uow, loan = fund
    run_import(uow, camt053([march(loan)]))
    dump = _dump(uow.engine)
    for secret in ("Amina", "Haile", "Joy Mensah", PAYER_IBAN, OTHER_PAYER_IBAN, "5390 0754"):
        assert secret not in dump, secret
    with uow:
        digests = (
            uow.connection.execute(
                select(statement_lines.c.counterparty_digest).where(
                    statement_lines.c.counterparty_digest.is_not(None)
                )
            )
            .scalars()
            .all()
        )
    assert len(digests) == 2 and all(len(d) == 64 for d in digests)


def test_what_the_bank_said_cannot_be_changed_nor_deleted(fund: tuple[UnitOfWork, Loan]) -> None:
    uow, _ = fund
    for stmt in (
        update(statement_lines).values(amount_minor=1),
        update(statement_lines).values(line_key="ref:other"),
        statement_lines.delete(),
        update(bank_statements).values(closing_minor=0),
        bank_statements.delete(),
    ):
        with pytest.raises(GuardRefused), uow:
            uow.connection.execute(stmt)
    with uow:  # the match may change (the service does it, history is kept)
        uow.connection.execute(update(statement_lines).values(note="checked"))


def test_a_statement_that_does_not_add_up_is_refused_by_the_database_too(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    uow, _ = fund
    with pytest.raises(Exception, match=r"adds_up|CHECK|check"), uow:
        uow.connection.execute(
            text(
                "INSERT INTO bank_statements (bank_account_id, statement_key, source_format, "
                "opening_minor, closing_minor, credits_minor, debits_minor, entries, new_entries,"
                " file_sha256, imported_at, imported_by) VALUES (1, 'x', 'x', 0, 5, 1, 0, 1, 1, "
                "'x', '2026-03-01 00:00:00', 'x')"
            )
        )
        uow.commit()


def test_a_statement_in_a_closed_month_is_refused(
    fund: tuple[UnitOfWork, Loan], clock: Clock
) -> None:
    uow, loan = fund
    from tests.support.periods import close_month

    clock.advance(days=30)  # March must be over before it can be closed
    close_month(uow, TREASURER, "2026-03")
    with pytest.raises(LedgerError, match=r"closed"):
        run_import(uow, camt053([march(loan)]))


def _dump(engine: Engine) -> str:
    """Every text value in the database, as one string."""
    from ledger.store.tables import metadata

    out: list[str] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                out.extend(str(v) for v in row if v is not None)
    return "\n".join(out)


def test_a_zero_entry_is_ignored(fund: tuple[UnitOfWork, Loan]) -> None:
    uow, _ = fund
    st = statement(
        "Z", CAPITAL - 170_000, [replace(entry("2026-03-02", "1.00", ref="Z1"), amount_minor=0)]
    )
    assert run_import(uow, camt053([st])).statements[0].states == {"ignored": 1}


def test_a_statement_books_payments_exactly_as_one_by_one(chart: UnitOfWork) -> None:
    """Bulk booking (a statement) and record_payment one at a time split alike, down to the
    overpayment, and leave the loans in the same state."""
    book(chart, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    bulk = paid_out_loan(chart, deposit="300.00", installments=3, key="bulk")
    single = paid_out_loan(chart, deposit="300.00", installments=3, key="single")
    amounts = ["150.00", "100.00", "80.00", "5.00"]
    st = statement(
        "S", CAPITAL - 60_000,
        [entry(f"2026-03-0{i + 1}", a, ref=f"P{i}", creditor_reference=bulk.reference.value)
         for i, a in enumerate(amounts)],
    )  # fmt: skip
    run_import(chart, camt053([st]))
    for i, amount in enumerate(amounts):
        loans.record_payment(
            chart, TREASURER, single.id, money(amount, "EUR"), on=date(2026, 3, i + 1),
            idempotency_key=f"single-{i}",
        )  # fmt: skip

    def legs(loan_id: str) -> list[list[tuple[str, int]]]:
        with chart:
            entries = [
                e
                for e in uow_entries(chart)
                if e.loan_id == loan_id and e.kind is EntryKind.REPAYMENT
            ]
        return [
            sorted((leg.account_code.replace(loan_id, "LOAN"), leg.minor) for leg in e.legs)
            for e in entries
        ]

    assert legs(bulk.id) == legs(single.id) and len(legs(bulk.id)) == 4
    a, b = loans.get_loan(chart, TREASURER, bulk.id), loans.get_loan(chart, TREASURER, single.id)
    assert a.loan.status is b.loan.status is LoanStatus.OVERPAID
    assert (a.outstanding, a.credit) == (b.outstanding, b.credit) == (0, 3500)
    assert verify(UnitOfWork(chart.engine, readonly=True), SYSTEM).ok


def uow_entries(uow: UnitOfWork) -> list[Entry]:
    return list(uow.journal.iter_all())


def test_a_payer_who_paid_a_loan_before_suggests_it(fund: tuple[UnitOfWork, Loan]) -> None:
    uow, loan = fund
    st = statement(
        "S", CAPITAL - 170_000,
        [entry("2026-03-02", "70.83", ref="A", creditor_reference=loan.reference.value,
               counterparty_iban=PAYER_IBAN),
         entry("2026-03-09", "70.83", ref="B", remittance="march", counterparty_iban=PAYER_IBAN),
         entry("2026-03-09", "70.83", ref="C", remittance="march",
               counterparty_iban=OTHER_PAYER_IBAN)],
    )  # fmt: skip
    report = run_import(uow, camt053([st])).statements[0]
    lines = {ln.line_key: ln for ln in lines_of(uow, report.id or 0)}
    assert lines["ref:B"].state == "unidentified" and lines["ref:B"].suggested_loan_id == loan.id
    assert lines["ref:C"].suggested_loan_id is None
    assert balances(uow)["2200"] == -2 * 7083  # a suggestion is shown, never booked


def test_money_booked_by_hand_before_the_statement_is_not_booked_twice(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    """A repayment recorded at the counter, a donation and the bank's fee booked by hand: the
    statement's lines explain those entries instead of booking the money again."""
    uow, loan = fund
    paid = loans.record_payment(
        uow, TREASURER, loan.id, money("70.83", "EUR"), on=date(2026, 3, 2), idempotency_key="h1"
    )
    book(uow, TREASURER, "2026-03-04 donation 20.00 EUR Dr 1000 Cr 4000 ; gift for the fund")
    book(uow, TREASURER, "2026-03-03 bank_charge 7.50 EUR Dr 6100 Cr 1000 ; account fee")
    before = balances(uow)
    st = march(loan)  # M1 70.83 with the reference, M2 fee, M3 gift 20.00, M4 70.83 in text
    result = run_import(uow, camt053([st], version=8))
    [report] = result.statements
    # M1 and M4 both name the loan with the same amount: one explains the hand-booked payment,
    # the other is a second payment, booked as such.
    assert report.states == {"linked": 3, "loan": 1}
    after = balances(uow)
    assert after["1000"] == st.closing_minor == before["1000"] + 7083
    assert after["4000"] == before["4000"] and after["6100"] == before["6100"]
    lines = {line.line_key: line for line in lines_of(uow, report.id or 0)}
    assert lines["ref:M1"].state == "linked" and lines["ref:M1"].entry_id == paid.entry.id
    assert lines["ref:M1"].loan_id == loan.id
    assert lines["ref:M4"].state == "loan"
    assert verify(uow, AUDITOR).ok


def test_two_hand_booked_entries_that_fit_leave_the_line_booked_with_a_note(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    uow, _loan = fund
    book(uow, TREASURER, "2026-03-03 donation 20.00 EUR Dr 1000 Cr 4000 ; gift one")
    book(uow, TREASURER, "2026-03-05 donation 20.00 EUR Dr 1000 Cr 4000 ; gift two")
    st = statement(
        "2026-03",
        CAPITAL - 170_000,
        [entry("2026-03-04", "20.00", ref="G1", remittance="gift")],
        start="2026-03-01",
        end="2026-03-14",
    )
    [report] = run_import(uow, camt053([st])).statements
    assert report.states == {"unidentified": 1}
    [line] = lines_of(uow, report.id or 0)
    assert "2 entries booked by hand fit this line" in (line.note or "")


def test_a_returned_payment_reverses_a_payment_recorded_by_hand(
    fund: tuple[UnitOfWork, Loan],
) -> None:
    """The payment was recorded by hand, the statement's credit linked to it; when the bank
    sends it back, the hand-recorded payment is reversed and the arrears reopen."""
    uow, loan = fund
    loans.record_payment(
        uow, TREASURER, loan.id, money("70.83", "EUR"), on=date(2026, 3, 2), idempotency_key="h1"
    )
    owed = outstanding(uow, loan.id)
    came = statement(
        "2026-03-a",
        CAPITAL - 170_000,
        [entry("2026-03-02", "70.83", ref="IN1", creditor_reference=loan.reference.value)],
        start="2026-03-01",
        end="2026-03-02",
    )
    assert run_import(uow, camt053([came])).statements[0].states == {"linked": 1}
    back = statement(
        "2026-03-b",
        closing_of(came),
        [entry("2026-03-09", "70.83", "debit", ref="RET1", return_reason="AC04",
               creditor_reference=loan.reference.value)],
        start="2026-03-03",
        end="2026-03-09",
    )  # fmt: skip
    report = run_import(uow, camt053([back])).statements[0]
    assert report.states == {"returned": 1}
    assert outstanding(uow, loan.id) == owed + 7083
    assert bank(uow) == back.closing_minor
    assert verify(UnitOfWork(uow.engine, readonly=True), SYSTEM).ok
