"""Contracts from generation to both signatures, on SQLite and PostgreSQL, with the real
rendering; voiding by a new schedule; the payout gate; the database's guards on documents."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from ledger.domain.documents import DocumentKind
from ledger.domain.errors import Conflict, NotFound, ValidationError
from ledger.domain.statuses import LoanStatus
from ledger.services import contracts, loans
from ledger.services.contracts import DocumentSettings
from ledger.store.tables import audit_log
from ledger.store.uow import GuardRefused, UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.contracts import (
    CASEWORKER,
    CASEWORKER2,
    approved_loan,
    document_rows,
    drawn_signature,
    stored_files,
)
from tests.support.pdf import minimal_pdf

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def sign_on_screen(uow: UnitOfWork, docs: DocumentSettings, loan_id: str, version: int) -> None:
    contracts.record_on_screen_signature(
        uow,
        CASEWORKER,
        docs,
        loan_id,
        version,
        full_name="Olena Kovalenko",
        signature_png=drawn_signature(),
        read_and_approved="lu et approuvé",
    )


def test_on_screen_signature_then_the_fund_then_payout(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    uow = funded
    loan = approved_loan(uow)
    generated = contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    contract = generated.document
    assert contract.kind is DocumentKind.CONTRACT and contract.contract_version == 1
    assert contract.language == "fr"
    unsigned = docs.store.get(contract.sha256)
    assert "1\u202f400,00" in pdf_text(unsigned)  # French digit grouping

    with pytest.raises(Conflict, match=r"paid out (only )?once"):
        loans.disburse(uow, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="p-1")
    with pytest.raises(Conflict, match="has not signed"):
        contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)

    sign_on_screen(uow, docs, loan.id, 1)
    status = contracts.contract_status(uow, AUDITOR, loan.id)
    assert status.state == "signed_by_beneficiary"
    stamped = docs.store.get(status.beneficiary.sha256)  # type: ignore[union-attr]
    assert stamped.startswith(unsigned)  # an incremental update: the contract is untouched
    assert "Olena Kovalenko" in pdf_text(stamped)
    with pytest.raises(Conflict, match=r"paid out (only )?once"):
        loans.disburse(uow, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="p-1")

    signed = contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)
    assert signed.kind is DocumentKind.SIGNED_CONTRACT
    assert signed.signer == "Fonds de garanties locatives asbl"
    assert signed.beneficiary_method == "on_screen"
    assert loans.get_loan(uow, AUDITOR, loan.id).loan.status is LoanStatus.CONTRACT_SIGNED

    check = contracts.validate_document(uow, TREASURER, docs, signed.id)
    assert check.ok, check.problems
    assert check.signature is not None and check.signature.trusted
    assert check.contains_source

    result = loans.disburse(uow, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="p-1")
    assert result.loan.status is LoanStatus.ACTIVE


def test_a_payout_dated_before_the_contracts_signature_is_refused(
    funded: UnitOfWork, docs: DocumentSettings, clock: Clock
) -> None:
    # The fund works in Brussels: 23:30 UTC on 20 March is already 21 March there.
    uow = UnitOfWork(funded.engine, clock=clock, zone=ZoneInfo("Europe/Brussels"))
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    sign_on_screen(uow, docs, loan.id, 1)
    clock.now = datetime(2026, 3, 20, 23, 30, tzinfo=UTC)
    contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)
    with uow:
        entries = uow.journal.head()[0]
    for day in (date(2026, 3, 15), date(2026, 3, 20)):  # before it was signed by both
        with pytest.raises(ValidationError) as refused:
            loans.disburse(uow, TREASURER, loan.id, on=day, idempotency_key=f"early-{day}")
        assert (refused.value.field, refused.value.key) == ("on", "err.payout.before_signature")
        assert refused.value.params == {"date": day, "signed": date(2026, 3, 21)}
        assert "signed on 2026-03-21: date the payout on or after that day" in refused.value.detail
    with uow:
        assert uow.journal.head()[0] == entries  # nothing booked
    assert loans.get_loan(uow, AUDITOR, loan.id).loan.status is LoanStatus.CONTRACT_SIGNED
    paid = loans.disburse(uow, TREASURER, loan.id, on=date(2026, 3, 21), idempotency_key="p-ok")
    assert paid.loan.status is LoanStatus.ACTIVE


def test_paper_scan_signed_by_the_fund(funded: UnitOfWork, docs: DocumentSettings) -> None:
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    scan = minimal_pdf()  # stands in for the scanner's output: a new file, not the contract
    recorded = contracts.record_scan(uow, CASEWORKER, docs, loan.id, 1, scan)
    assert recorded.beneficiary_method == "paper"
    assert contracts.validate_document(uow, AUDITOR, docs, recorded.id).ok
    signed = contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)
    assert contracts.validate_document(uow, AUDITOR, docs, signed.id).ok
    assert loans.get_loan(uow, AUDITOR, loan.id).loan.status is LoanStatus.CONTRACT_SIGNED
    with pytest.raises(Conflict, match="signed by both and in force"):
        contracts.generate_contract(uow, CASEWORKER, docs, loan.id)


def test_a_new_schedule_voids_the_contract(
    funded: UnitOfWork, docs: DocumentSettings, clock: Clock
) -> None:
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    sign_on_screen(uow, docs, loan.id, 1)
    contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)

    loans.add_holiday(uow, CASEWORKER, loan.id, "2026-06", "Moving costs this month")

    view = loans.get_loan(uow, AUDITOR, loan.id)
    assert view.loan.status is LoanStatus.APPROVED
    assert view.events[-1].action == "void_contract"
    assert all(d.voided for d in contracts.list_documents(uow, AUDITOR, loan.id))
    assert contracts.contract_status(uow, AUDITOR, loan.id).state == "none"
    with pytest.raises(Conflict, match=r"paid out (only )?once"):
        loans.disburse(uow, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="p-2")
    with pytest.raises(Conflict, match="voided"):
        sign_on_screen(uow, docs, loan.id, 1)

    second = contracts.generate_contract(uow, CASEWORKER, docs, loan.id).document
    assert second.contract_version == 2
    sign_on_screen(uow, docs, loan.id, 2)
    contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 2)
    loans.disburse(uow, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="p-2")
    with pytest.raises(NotFound):
        contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 3)


def test_rescheduling_an_active_loan_voids_its_contract(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    sign_on_screen(uow, docs, loan.id, 1)
    contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)
    loans.disburse(uow, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="p-3")
    loans.reschedule(
        uow, CASEWORKER, loan.id, first_due=date(2026, 6, 1), installments=20, reason="Job lost"
    )
    assert contracts.contract_status(uow, AUDITOR, loan.id).state == "none"
    assert loans.get_loan(uow, AUDITOR, loan.id).loan.status is LoanStatus.ACTIVE
    amendment = contracts.generate_contract(uow, CASEWORKER, docs, loan.id).document
    assert amendment.contract_version == 2


def test_no_signing_once_approval_is_undone(funded: UnitOfWork, docs: DocumentSettings) -> None:
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    loans.undo_approval(uow, CASEWORKER2, loan.id, "Income proof missing")
    with pytest.raises(Conflict, match="once the loan is approved"):
        sign_on_screen(uow, docs, loan.id, 1)


def test_a_bad_upload_stores_nothing(funded: UnitOfWork, docs: DocumentSettings) -> None:
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    files, count = stored_files(docs.store.root), document_rows(uow)
    for data, status in (
        (b"", 422),
        (b"GIF89a not a pdf", 422),
        (b"%PDF-1.7\nthis is no PDF at all", 422),
        (b"%PDF-1.7\n" + b"0" * 300_000, 413),
    ):
        with pytest.raises(Exception) as refused:
            contracts.record_scan(uow, CASEWORKER, docs, loan.id, 1, data)
        assert getattr(refused.value, "status", None) == status
    with pytest.raises(ValidationError, match="not a PNG"):
        contracts.record_on_screen_signature(
            uow,
            CASEWORKER,
            docs,
            loan.id,
            1,
            full_name="X",
            signature_png=b"%PDF-1.4",
            read_and_approved="lu et approuvé",
        )
    assert stored_files(docs.store.root) == files
    assert document_rows(uow) == count


def test_roles(funded: UnitOfWork, docs: DocumentSettings) -> None:
    uow = funded
    loan = approved_loan(uow)
    doc = contracts.generate_contract(uow, CASEWORKER, docs, loan.id).document
    for forbidden in (
        lambda: contracts.generate_contract(uow, TREASURER, docs, loan.id),
        lambda: contracts.document_content(uow, TREASURER, docs, doc.id),
        lambda: contracts.document_content(uow, AUDITOR, docs, doc.id),
        lambda: contracts.sign_as_fund(uow, TREASURER, docs, loan.id, 1),
    ):
        with pytest.raises(Exception) as refused:
            forbidden()
        assert getattr(refused.value, "status", None) == 403
    assert contracts.list_documents(uow, TREASURER, loan.id)[0].sha256 == doc.sha256
    _, data = contracts.document_content(uow, CASEWORKER, docs, doc.id)
    assert data.startswith(b"%PDF-")
    with uow:
        actions = list(uow.connection.execute(select(audit_log.c.action)).scalars())
    assert "read_document" in actions


def test_a_damaged_file_is_reported(funded: UnitOfWork, docs: DocumentSettings) -> None:
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    sign_on_screen(uow, docs, loan.id, 1)
    signed = contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)
    path = docs.store.path_for(signed.sha256)
    path.chmod(0o640)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    check = contracts.validate_document(uow, AUDITOR, docs, signed.id)
    assert not check.ok and not check.hash_ok
    assert "no longer matches" in check.problems[0]


def test_a_damaged_source_is_named_as_the_source(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    sign_on_screen(uow, docs, loan.id, 1)
    signed = contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)
    source = contracts.get_document(uow, AUDITOR, signed.source_id)  # type: ignore[arg-type]
    path = docs.store.path_for(source.sha256)
    path.chmod(0o640)
    path.write_bytes(path.read_bytes() + b" ")

    own = contracts.validate_document(uow, AUDITOR, docs, source.id)
    assert not own.ok and not own.hash_ok
    assert own.problems[0].startswith(f"the stored file {source.sha256[:12]}... no longer")

    check = contracts.validate_document(uow, AUDITOR, docs, signed.id)
    assert check.hash_ok and check.signature is not None and check.signature.ok
    assert not check.ok and check.contains_source is False
    # Its own file is sound: the problem names the source document and the source's file.
    assert check.problems == (
        f"document {source.id} ({source.kind.value}), which this one was made from, cannot be "
        f"compared with it: document {source.id}'s file {source.sha256[:12]}... is missing or "
        "damaged (restore it from the backup)",
    )


def test_documents_are_kept_by_the_database(funded: UnitOfWork, docs: DocumentSettings) -> None:
    uow = funded
    loan = approved_loan(uow)
    doc = contracts.generate_contract(uow, CASEWORKER, docs, loan.id).document
    for sql in (
        f"UPDATE documents SET sha256 = '{'a' * 64}'",
        "DELETE FROM documents",
        "UPDATE documents SET voided_at = NULL",
    ):
        with pytest.raises(GuardRefused), uow:
            uow.connection.execute(text(sql))
            uow.commit()
    with uow:
        uow.documents.void(doc.id, at=uow.now(), actor="x", reason="test")
        uow.commit()
    with pytest.raises(GuardRefused), uow:
        uow.connection.execute(text("UPDATE documents SET void_reason = 'changed'"))
        uow.commit()
