"""The treasurer's month end to end, on SQLite and PostgreSQL: loans opened and paid out through
a payment file, the bank's statements imported (matched, unmatched and returned payments), the
differences fixed by hand, the month reconciled and closed, the report made, and the ledger
verified at the end."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from ledger.bank.pain001 import Debtor
from ledger.bank.writers import camt053
from ledger.domain.errors import NotReconciled
from ledger.domain.money import money
from ledger.domain.statements import end_to_end_id
from ledger.domain.statuses import EntryKind
from ledger.services import loans, reports
from ledger.services import payment_files as pf
from ledger.services.reconciliation import reconcile
from ledger.services.reports import ReportSettings
from ledger.services.statements import book_line, list_lines, match_line_to_loan
from ledger.services.verify import verify
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.periods import SIGNER, close_month
from tests.support.queries import balances
from tests.support.reports import FUND
from tests.support.statements import (
    CASEWORKER_A,
    FUND_IBAN,
    PAYER_IBAN,
    entry,
    paid_out_loan,
    run_import,
    statement,
)

DEBTOR = Debtor("Fonds de garanties locatives", FUND_IBAN, "GEBABEBB")


def text_of(pdf: bytes) -> str:
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    return " ".join(" ".join(pages).replace("\u202f", " ").replace("\xa0", " ").split())


def states(uow: UnitOfWork) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in list_lines(uow, TREASURER, limit=500)[0]:
        out[line.state] = out.get(line.state, 0) + 1
    return out


def test_a_month_from_payouts_to_the_report(chart: UnitOfWork, clock: Clock) -> None:
    uow = chart
    # January: the founding grant, booked by hand; the bank's statement links to it.
    clock.now = datetime(2026, 2, 2, 9, tzinfo=UTC)
    book(uow, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; founding grant")
    jan = statement(
        "2026-01",
        0,
        [entry("2026-01-05", "10000.00", ref="J1", remittance="founding grant")],
        start="2026-01-01",
        end="2026-01-31",
    )
    assert run_import(uow, camt053([jan])).statements[0].states == {"linked": 1}

    # February: two loans paid out; the payouts go to the bank in one payment file.
    a = paid_out_loan(uow, key="a", on=date(2026, 2, 2))
    b = paid_out_loan(uow, deposit="1000.00", installments=10, key="b", on=date(2026, 2, 2))
    pf.set_landlord_account(uow, CASEWORKER_A, a.id, iban="DE89370400440532013000", name="Immo A")
    pf.set_landlord_account(uow, CASEWORKER_A, b.id, iban="BE62510007547061", name="Immo B")
    made = pf.create_payment_file(
        uow,
        TREASURER,
        currency="EUR",
        execution_date=date(2026, 2, 3),
        debtor=DEBTOR,
        idempotency_key="feb-payouts",
    )
    assert made.file.transfers == 2 and made.file.total_minor == 270_000
    pf.mark_sent(uow, TREASURER, made.file.id)
    feb = statement(
        "2026-02",
        jan.closing_minor or 0,
        [
            entry("2026-02-03", "1700.00", "debit", ref="F1",
                  end_to_end_id=end_to_end_id(a.disbursement_entry_id or 0)),
            entry("2026-02-03", "1000.00", "debit", ref="F2",
                  end_to_end_id=end_to_end_id(b.disbursement_entry_id or 0)),
        ],
        start="2026-02-01",
        end="2026-02-28",
    )  # fmt: skip
    assert run_import(uow, camt053([feb])).statements[0].states == {"linked": 2}
    assert pf.get_payment_file(uow, TREASURER, made.file.id).file.executed == 2

    clock.now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    [february] = reconcile(uow, TREASURER, "2026-02")
    assert february.reconciled, february.notes
    close_month(uow, TREASURER, "2026-02")  # the treasurer signs off a reconciled month

    # March: repayments (one with its reference, one in the free text), money nobody named,
    # the bank's fee, a card payment nothing explains, a repayment returned by the bank; a
    # third loan paid out on the 31st reaches the bank in April (in transit).
    clock.now = datetime(2026, 3, 31, 18, tzinfo=UTC)
    c = paid_out_loan(uow, deposit="800.00", installments=8, key="c", on=date(2026, 3, 31))
    ref_a, ref_b = a.reference, b.reference
    mar = statement(
        "2026-03",
        feb.closing_minor or 0,
        [
            entry("2026-03-02", "70.83", ref="M1", creditor_reference=ref_a.value,
                  counterparty_iban=PAYER_IBAN),
            entry("2026-03-03", "100.00", ref="M2", remittance=f"loyer {ref_b.display}"),
            entry("2026-03-05", "100.00", ref="M3", remittance="garantie mars"),
            entry("2026-03-06", "7.50", "debit", ref="M4", bank_code="ACMT/MDOP/CHRG"),
            entry("2026-03-09", "12.40", "debit", ref="M5", remittance="CARD 4871 OFFICE"),
            entry("2026-03-10", "100.00", "debit", ref="M6", return_reason="AC04",
                  creditor_reference=ref_b.value),
        ],
        start="2026-03-01",
        end="2026-03-31",
    )  # fmt: skip
    clock.now = datetime(2026, 4, 2, 9, tzinfo=UTC)
    report = run_import(uow, camt053([mar], version=8)).statements[0]
    assert report.states == {
        "loan": 2,
        "unidentified": 1,
        "charge": 1,
        "unmatched": 1,
        "returned": 1,
    }
    # The ledger's bank is the statement's, but for C's payout (in transit) and the card
    # payment nothing explains yet (unmatched).
    assert balances(uow)["1000"] == (mar.closing_minor or 0) - 80_000 + 1240

    [march] = reconcile(uow, TREASURER, "2026-03")
    [bank] = march.banks
    assert not march.reconciled
    assert [t.entry_id for t in bank.in_transit] == [c.disbursement_entry_id]
    assert [u.amount_minor for u in bank.unmatched] == [-1240]
    assert bank.unexplained == 0  # every difference explained, one still to clear
    assert [(r.amount_minor, r.age) for r in march.unidentified] == [(10_000, "0-30")]
    with pytest.raises(NotReconciled, match=r"12\.40"):
        close_month(uow, TREASURER, "2026-03")

    # Fixed by hand: the card payment was an office expense the fund pays as a bank charge,
    # and the unnamed 100.00 was B's rent, paid again after the return.
    lines = {x.amount_minor: x for x in list_lines(uow, TREASURER, limit=500)[0]}
    book_line(uow, TREASURER, lines[-1240].id, "6100", EntryKind.BANK_CHARGE, reason="card")
    unnamed = next(x for x in list_lines(uow, TREASURER, limit=500)[0] if x.state == "unidentified")
    before = loans.get_loan(uow, TREASURER, b.id).outstanding
    match_line_to_loan(uow, TREASURER, unnamed.id, b.id, reason="phoned: B's rent")
    assert loans.get_loan(uow, TREASURER, b.id).outstanding == before - 10_000

    [march] = reconcile(uow, TREASURER, "2026-03")
    assert march.reconciled, march.notes
    assert march.unidentified == ()
    assert march.sub_ledger.difference == 0
    assert march.position.loans_outstanding_minor == 170_000 + 100_000 + 80_000 - 7083 - 10_000
    event = close_month(uow, TREASURER, "2026-03")
    assert event.balances is not None
    assert (event.actor, event.balances["reconciliation"]["requested_by"]) == (
        SIGNER.name,
        TREASURER.name,
    )

    # The report of the closed month, read by the auditor.
    text = text_of(reports.monthly_report(uow, AUDITOR, "2026-03", ReportSettings(FUND)))
    assert "2026" in text and "Test Person" not in text
    assert "70.83" in text or "70,83" in text

    # The ledger proves itself, and nothing can be booked in the closed month.
    assert verify(UnitOfWork(uow.engine, readonly=True), AUDITOR).ok
    with pytest.raises(Exception, match="closed"):
        loans.record_payment(
            uow, TREASURER, a.id, money("1.00", "EUR"), on=date(2026, 3, 20), idempotency_key="x"
        )
