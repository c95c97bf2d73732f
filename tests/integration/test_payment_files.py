"""Payment files (pain.001) through the services, on SQLite and PostgreSQL: made from the
payouts and refunds booked, sent, and matched when the bank's statement comes back."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select, update

from ledger.bank.pain001 import NAMESPACE, Debtor
from ledger.bank.writers import camt053
from ledger.domain.errors import (
    Conflict,
    IdempotencyConflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from ledger.domain.loans import Loan
from ledger.domain.money import money
from ledger.domain.statements import end_to_end_id
from ledger.services import loans
from ledger.services import payment_files as pf
from ledger.services.statements import get_statement
from ledger.store.tables import audit_log, beneficiaries, payment_file_items
from ledger.store.uow import GuardRefused, UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.statements import (
    CASEWORKER_A,
    FUND_IBAN,
    entry,
    paid_out_loan,
    run_import,
    statement,
)

LANDLORD_A = "DE89 3704 0044 0532 0130 00"
LANDLORD_B = "FR1420041010050500013M02606"
PERSON_IBAN = "BE62510007547061"
FUND = Debtor("Fonds de garanties locatives", FUND_IBAN, "GEBABEBB")
NEXT_DAY = date(2026, 3, 16)  # the test clock says 2026-03-15
NS = {"p": NAMESPACE}


def give_person_an_iban(uow: UnitOfWork, loan: Loan, iban: str) -> None:
    person = loans.read_beneficiary(uow, CASEWORKER_A, loan.beneficiary_id)
    assert person.personal is not None
    loans.update_beneficiary(
        uow, CASEWORKER_A, loan.beneficiary_id, replace(person.personal, iban=iban)
    )


def make_file(uow: UnitOfWork, key: str, entry_ids: list[int] | None = None) -> pf.MadeFile:
    """A file paying ``entry_ids`` (all pending payouts when None), executed the next day."""
    return pf.create_payment_file(
        uow,
        TREASURER,
        currency="EUR",
        execution_date=NEXT_DAY,
        debtor=FUND,
        idempotency_key=key,
        entry_ids=entry_ids,
    )


@pytest.fixture
def payouts(chart: UnitOfWork) -> tuple[UnitOfWork, Loan, Loan, int]:
    """Two loans paid out in February (1,700.00 and 1,000.00), the second overpaid by 50.00
    and its credit refunded: three entries for the bank to pay. Landlords' and the second
    person's IBANs recorded."""
    book(chart, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    a = paid_out_loan(chart, key="a")
    b = paid_out_loan(chart, deposit="1000.00", installments=10, key="b")
    loans.record_payment(
        chart, TREASURER, b.id, money("1050.00", "EUR"), on=date(2026, 3, 2), idempotency_key="p"
    )
    refund = loans.refund_credit(chart, TREASURER, b.id, on=date(2026, 3, 3), idempotency_key="r")
    pf.set_landlord_account(chart, CASEWORKER_A, a.id, iban=LANDLORD_A, name="Immo Élan SRL")
    pf.set_landlord_account(chart, CASEWORKER_A, b.id, iban=LANDLORD_B, name="Bailleur SA")
    give_person_an_iban(chart, b, PERSON_IBAN)
    return chart, a, b, refund.entry.id


def test_a_file_pays_two_payouts_and_a_refund_and_the_statement_links_them(
    payouts: tuple[UnitOfWork, Loan, Loan, int],
) -> None:
    uow, a, b, refund_id = payouts
    ids = [a.disbursement_entry_id or 0, b.disbursement_entry_id or 0, refund_id]
    pending = pf.pending_payouts(uow, TREASURER, "EUR")
    assert [(p.entry_id, p.kind, p.amount_minor, p.missing) for p in pending] == [
        (ids[0], "disbursement", 170_000, None),
        (ids[1], "disbursement", 100_000, None),
        (ids[2], "refund", 5_000, None),
    ]

    made = make_file(uow, "k1")
    f = made.file
    assert (f.status, f.transfers, f.total_minor, f.executed) == ("created", 3, 275_000, 0)
    doc = etree.fromstring(made.xml)
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS) == f.message_id
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "2750.00"
    txs = doc.findall(".//p:CdtTrfTxInf", NS)
    assert [
        (
            t.findtext("p:PmtId/p:EndToEndId", namespaces=NS),
            t.findtext("p:Amt/p:InstdAmt", namespaces=NS),
            t.findtext("p:Cdtr/p:Nm", namespaces=NS),
            t.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS),
        )
        for t in txs
    ] == [
        (end_to_end_id(ids[0]), "1700.00", "Immo Elan SRL", "DE89370400440532013000"),
        (end_to_end_id(ids[1]), "1000.00", "Bailleur SA", LANDLORD_B),
        (end_to_end_id(ids[2]), "50.00", "Test Person", PERSON_IBAN),
    ]
    assert a.id in (txs[0].findtext("p:RmtInf/p:Ustrd", namespaces=NS) or "")
    assert not pf.pending_payouts(uow, TREASURER, "EUR")  # all in the file now

    # Downloaded again: the same bytes.
    assert pf.payment_file_xml(uow, TREASURER, f.id, FUND) == made.xml
    assert pf.mark_sent(uow, TREASURER, f.id).status == "sent"

    # The bank executes the transfers; its statement brings the end-to-end ids back.
    march = statement(
        "2026-03",
        1_000_000,
        [
            entry("2026-03-16", "1700.00", "debit", ref="D1", end_to_end_id=end_to_end_id(ids[0])),
            entry("2026-03-16", "1000.00", "debit", ref="D2", end_to_end_id=end_to_end_id(ids[1])),
            entry("2026-03-16", "50.00", "debit", ref="D3", end_to_end_id=end_to_end_id(ids[2])),
        ],
        start="2026-03-01",
        end="2026-03-16",
    )
    report = run_import(uow, camt053([march])).statements[0]
    assert report.states == {"linked": 3}
    lines = get_statement(uow, TREASURER, report.id or 0)[1]
    assert sorted(ln.entry_id or 0 for ln in lines) == sorted(ids)
    view = pf.get_payment_file(uow, AUDITOR, f.id)
    assert view.file.executed == 3
    assert all(i.statement_line_id is not None for i in view.items)


def test_an_entry_is_in_one_live_file_and_cancelling_frees_it(
    payouts: tuple[UnitOfWork, Loan, Loan, int],
) -> None:
    uow, a, _, refund_id = payouts
    first = make_file(uow, "k1", [a.disbursement_entry_id or 0]).file
    with pytest.raises(Conflict, match=rf"already in payment file {first.id}; cancel"):
        make_file(uow, "k2", [a.disbursement_entry_id or 0, refund_id])
    # A retry with the same key gives the same file; other content is a conflict.
    again = make_file(uow, "k1", [a.disbursement_entry_id or 0])
    assert again.replayed and again.file.id == first.id
    with pytest.raises(IdempotencyConflict) as conflict:
        pf.create_payment_file(
            uow,
            TREASURER,
            currency="EUR",
            execution_date=date(2026, 3, 20),
            debtor=FUND,
            idempotency_key="k1",
        )
    assert conflict.value.field == "execution_date"

    with pytest.raises(ValidationError, match="say why"):
        pf.cancel(uow, TREASURER, first.id, " ")
    assert pf.cancel(uow, TREASURER, first.id, "wrong date").status == "cancelled"
    with pytest.raises(Conflict, match="was cancelled; make a new file"):
        pf.payment_file_xml(uow, TREASURER, first.id, FUND)
    second = make_file(uow, "k3").file
    assert second.transfers == 3
    pf.mark_sent(uow, TREASURER, second.id)
    with pytest.raises(Conflict, match="cannot be cancelled here: ask the bank"):
        pf.cancel(uow, TREASURER, second.id, "too late")
    files, total = pf.list_payment_files(uow, AUDITOR)
    assert total == 2 and [x.status for x in files] == ["sent", "cancelled"]
    assert pf.list_payment_files(uow, AUDITOR, status="sent")[1] == 1


def test_a_missing_iban_is_refused_naming_the_loan(chart: UnitOfWork) -> None:
    book(chart, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    loan = paid_out_loan(chart, key="a")
    pending = pf.pending_payouts(chart, TREASURER, "EUR")
    assert pending[0].missing is not None and "landlord's IBAN is missing" in pending[0].missing
    with pytest.raises(ValidationError) as refused:
        pf.create_payment_file(
            chart,
            TREASURER,
            currency="EUR",
            execution_date=NEXT_DAY,
            debtor=FUND,
            idempotency_key="k",
        )
    assert f"loan {loan.id}: the landlord's IBAN is missing" in refused.value.detail
    assert f"fundledger loan landlord-account {loan.id}" in refused.value.detail
    with chart:
        assert chart.payment_files.page(status=None, limit=10, offset=0)[1] == 0
    # A bad IBAN is refused when it is recorded, a good one normalised.
    with pytest.raises(ValidationError, match="not a valid IBAN"):
        pf.set_landlord_account(chart, CASEWORKER_A, loan.id, iban="DE00 1234")
    with pytest.raises(PermissionDenied):
        pf.set_landlord_account(chart, TREASURER, loan.id, iban=LANDLORD_A)
    pf.set_landlord_account(chart, CASEWORKER_A, loan.id, iban=LANDLORD_A.lower())
    with chart:
        lease = chart.loans.lease(loan.id)
    assert lease.landlord_iban == "DE89370400440532013000"
    # The landlord's name is still missing: the bank needs it.
    with pytest.raises(ValidationError, match=rf"loan {loan.id}: the landlord's name is missing"):
        pf.create_payment_file(
            chart,
            TREASURER,
            currency="EUR",
            execution_date=NEXT_DAY,
            debtor=FUND,
            idempotency_key="k",
        )


def test_a_changed_iban_refuses_the_download(
    payouts: tuple[UnitOfWork, Loan, Loan, int], clock: Clock
) -> None:
    uow, a, _, _ = payouts
    made = make_file(uow, "k")
    pf.set_landlord_account(uow, CASEWORKER_A, a.id, iban="NL91ABNA0417164300")
    with pytest.raises(Conflict, match="would differ from the file made on 2026-03-15"):
        pf.payment_file_xml(uow, TREASURER, made.file.id, FUND)
    pf.set_landlord_account(uow, CASEWORKER_A, a.id, iban=LANDLORD_A)
    assert pf.payment_file_xml(uow, TREASURER, made.file.id, FUND) == made.xml


def test_roles_and_what_is_audited(payouts: tuple[UnitOfWork, Loan, Loan, int]) -> None:
    uow, *_ = payouts
    for refused in (
        lambda: pf.pending_payouts(uow, AUDITOR, "EUR"),
        lambda: pf.create_payment_file(
            uow, AUDITOR, currency="EUR", execution_date=NEXT_DAY, debtor=FUND, idempotency_key="x"
        ),
        lambda: pf.list_payment_files(uow, CASEWORKER_A),
    ):
        with pytest.raises(PermissionDenied):
            refused()
    made = make_file(uow, "k")
    with pytest.raises(PermissionDenied):
        pf.payment_file_xml(uow, AUDITOR, made.file.id, FUND)
    with pytest.raises(PermissionDenied):
        pf.mark_sent(uow, AUDITOR, made.file.id)
    assert pf.get_payment_file(uow, AUDITOR, made.file.id).file.id == made.file.id
    pf.payment_file_xml(uow, TREASURER, made.file.id, FUND)
    with uow:
        rows = uow.connection.execute(
            select(audit_log.c.action, audit_log.c.details).where(
                audit_log.c.action.like("payment_file%")
            )
        ).all()
    assert [r.action for r in rows] == ["payment_file_create", "payment_file_download"]
    assert all(PERSON_IBAN not in (r.details or "") for r in rows)


def test_bad_requests(payouts: tuple[UnitOfWork, Loan, Loan, int]) -> None:
    uow, *_ = payouts
    base: dict[str, Any] = {"currency": "EUR", "execution_date": NEXT_DAY, "debtor": FUND}
    with pytest.raises(ValidationError, match="between today"):
        pf.create_payment_file(
            uow, TREASURER, **{**base, "execution_date": date(2026, 3, 14)}, idempotency_key="a"
        )
    with pytest.raises(ValidationError, match="idempotency key"):
        pf.create_payment_file(uow, TREASURER, **base, idempotency_key=" ")
    with pytest.raises(Conflict, match="entry 1 is a capital"):
        pf.create_payment_file(uow, TREASURER, **base, idempotency_key="b", entry_ids=[1])
    with pytest.raises(ValidationError):
        pf.create_payment_file(uow, TREASURER, **{**base, "currency": "EURO"}, idempotency_key="c")
    made = pf.create_payment_file(uow, TREASURER, **base, idempotency_key="d")
    pf.mark_sent(uow, TREASURER, made.file.id)
    with pytest.raises(Conflict, match=rf"payment file {made.file.id} is sent already"):
        pf.mark_sent(uow, TREASURER, made.file.id)
    with pytest.raises(NotFound, match="payment file 99 does not exist"):
        pf.mark_sent(uow, TREASURER, 99)


def test_payment_file_items_are_append_only(payouts: tuple[UnitOfWork, Loan, Loan, int]) -> None:
    uow, *_ = payouts
    make_file(uow, "k")
    for stmt in (
        update(payment_file_items).values(amount_minor=1),
        payment_file_items.delete(),
    ):
        with pytest.raises(GuardRefused), uow:
            uow.connection.execute(stmt)
    with uow:
        assert len(uow.connection.execute(select(payment_file_items)).all()) == 3


def test_the_beneficiary_iban_is_personal_data(
    payouts: tuple[UnitOfWork, Loan, Loan, int],
) -> None:
    uow, _, b, _ = payouts
    assert loans.read_beneficiary(uow, TREASURER, b.beneficiary_id).personal is None
    person = loans.read_beneficiary(uow, CASEWORKER_A, b.beneficiary_id)
    assert person.personal is not None and person.personal.iban == PERSON_IBAN
    with pytest.raises(ValidationError, match="not a valid IBAN"):
        give_person_an_iban(uow, b, "BE00 0000")


def test_erasure_takes_the_ibans_and_a_file_cannot_be_made_again(
    payouts: tuple[UnitOfWork, Loan, Loan, int],
) -> None:
    uow, _, b, _ = payouts
    made = make_file(uow, "k")
    assert loans.get_loan(uow, TREASURER, b.id).loan.status.value == "closed"
    loans.erase_beneficiary(uow, CASEWORKER_A, b.beneficiary_id)
    with uow:
        assert uow.loans.lease(b.id).landlord_iban is None
        assert uow.beneficiaries.get(b.beneficiary_id).personal is None
        row = uow.connection.execute(
            select(beneficiaries.c.iban).where(beneficiaries.c.id == b.beneficiary_id)
        ).one()
    assert row.iban is None
    with pytest.raises(Conflict, match=rf"cannot be made again: .*loan {b.id}: the beneficiary"):
        pf.payment_file_xml(uow, TREASURER, made.file.id, FUND)


def test_a_payout_in_a_payment_file_cannot_be_undone(
    payouts: tuple[UnitOfWork, Loan, Loan, int],
) -> None:
    """Undoing a payout the bank is asked to pay would leave the bank paying a loan the ledger
    no longer has: refused while the file is live, allowed once it is cancelled."""
    uow, a, _, _ = payouts
    made = make_file(uow, "k1", [a.disbursement_entry_id or 0]).file

    def undo(key: str) -> object:
        return loans.undo_disbursement(
            uow, TREASURER, a.id, on=date(2026, 3, 15), reason="wrong landlord", idempotency_key=key
        )

    with pytest.raises(Conflict, match=rf"payment file {made.id} \(created\); cancel that file"):
        undo("u1")
    pf.cancel(uow, TREASURER, made.id, "wrong landlord account")
    assert loans.get_loan(uow, TREASURER, a.id).loan.status.value == "active"
    undo("u2")
    assert loans.get_loan(uow, TREASURER, a.id).loan.status.value == "contract_signed"


def test_a_payout_in_a_sent_file_cannot_be_undone(
    payouts: tuple[UnitOfWork, Loan, Loan, int],
) -> None:
    uow, a, _, _ = payouts
    made = make_file(uow, "k1", [a.disbursement_entry_id or 0]).file
    pf.mark_sent(uow, TREASURER, made.id)
    with pytest.raises(Conflict, match="the bank was asked to pay it"):
        loans.undo_disbursement(
            uow,
            TREASURER,
            a.id,
            on=date(2026, 3, 15),
            reason="wrong landlord",
            idempotency_key="u1",
        )
