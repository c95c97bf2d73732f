"""Signing on screen: the beneficiary says "read and approved" and types their registered name;
the contract page's overview. On SQLite and PostgreSQL, with the real rendering."""

from __future__ import annotations

import io
import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from ledger.domain.beneficiaries import NameMismatch
from ledger.domain.documents import DocumentKind
from ledger.domain.errors import PermissionDenied, ValidationError
from ledger.domain.statuses import LoanStatus
from ledger.services import contracts, loans
from ledger.services.contracts import DocumentSettings
from ledger.store.tables import audit_log
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.contracts import (
    CASEWORKER,
    CASEWORKER2,
    approved_loan,
    document_rows,
    drawn_signature,
    stored_files,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def audit(uow: UnitOfWork, action: str) -> list[tuple[str, str | None]]:
    with uow:
        found = uow.connection.execute(
            select(audit_log.c.actor, audit_log.c.details)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.id)
        )
        return [(r.actor, r.details) for r in found]


def sign(
    uow: UnitOfWork,
    docs: DocumentSettings,
    loan_id: str,
    name: str,
    *,
    approved: str = "lu et approuvé",
    version: int = 1,
) -> None:
    contracts.record_on_screen_signature(
        uow,
        CASEWORKER,
        docs,
        loan_id,
        version,
        full_name=name,
        signature_png=drawn_signature(),
        read_and_approved=approved,
    )


def test_the_typed_name_must_be_the_registered_one(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    uow = funded
    loan = approved_loan(uow, name="Hélène Dupont-Moreau")
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    count, files = document_rows(uow), stored_files(docs.store.root)
    for wrong in ("Hélène Dupont", "Helene Martin", "Olena Kovalenko"):
        with pytest.raises(NameMismatch) as refused:
            sign(uow, docs, loan.id, wrong)
        assert refused.value.field == "full_name"
        assert "not the name registered" in refused.value.detail
        assert "Dupont" not in refused.value.detail  # no personal data in the message
    assert (document_rows(uow), stored_files(docs.store.root)) == (count, files)  # nothing kept

    sign(uow, docs, loan.id, "moreau helene dupont")  # as a phone's keyboard may type it
    status = contracts.contract_status(uow, AUDITOR, loan.id)
    assert status.state == "signed_by_beneficiary"
    assert status.beneficiary is not None
    assert status.beneficiary.kind is DocumentKind.BENEFICIARY_SIGNED


def test_read_and_approved_must_be_typed_in_a_language_of_the_contract(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    uow = funded
    loan = approved_loan(uow)  # French, the fund's legal language: one text
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    count, files = document_rows(uow), stored_files(docs.store.root)
    for words in ("", "yes", "approuvé", "gelezen en goedgekeurd"):  # not a language it is in
        with pytest.raises(ValidationError) as refused:
            sign(uow, docs, loan.id, "Olena Kovalenko", approved=words)
        assert refused.value.field == "read_and_approved"
        assert '"lu et approuvé" or "read and approved"' in refused.value.detail
    assert (document_rows(uow), stored_files(docs.store.root)) == (count, files)
    assert audit(uow, "contract_signed_by_beneficiary") == []

    reads = len(audit(uow, "read_personal_data"))
    sign(uow, docs, loan.id, "Олена Коваленко", approved="Lu et approuve.")  # other script
    recorded = audit(uow, "contract_signed_by_beneficiary")
    assert [actor for actor, _ in recorded] == [CASEWORKER.name]
    details = json.loads(recorded[0][1] or "{}")
    assert details["method"] == "on_screen"
    assert (details["read_and_approved"], details["approval_language"]) == ("lu et approuvé", "fr")
    assert details["name_checked"] is True
    # Reading the registered name to compare it is a personal-data read, audited.
    assert len(audit(uow, "read_personal_data")) == reads + 1


def test_the_signature_records_the_words_the_name_and_the_funds_time(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    # The fund works in Brussels: at 12:00 UTC on 15 March it is 13:00 there.
    uow = UnitOfWork(funded.engine, clock=funded.clock, zone=ZoneInfo("Europe/Brussels"))
    loan = approved_loan(uow, language="nl")  # French binding text, Dutch translation
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    sign(uow, docs, loan.id, "Olena Kovalenko", approved="Gelezen en goedgekeurd")
    status = contracts.contract_status(uow, AUDITOR, loan.id)
    assert status.beneficiary is not None and status.contract is not None
    assert status.contract.language == "fr+nl"
    stamped = docs.store.get(status.beneficiary.sha256)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(stamped)).pages)
    assert "Gelezen en goedgekeurd" in text and "Olena Kovalenko" in text
    local = uow.now().astimezone(uow.zone)
    assert f"{local:%Y-%m-%d %H:%M} CET (UTC+01:00)" in text
    assert "UTC " not in text.replace("(UTC+", "")  # no bare UTC time


def test_only_staff_who_see_personal_data_record_a_signature(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    for actor in (TREASURER, AUDITOR):
        with pytest.raises(PermissionDenied):
            contracts.record_on_screen_signature(
                uow,
                actor,
                docs,
                loan.id,
                1,
                full_name="Olena Kovalenko",
                signature_png=drawn_signature(),
                read_and_approved="lu et approuvé",
            )


def test_the_overview_reads_the_loan_and_every_contract_document(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    uow = funded
    loan = approved_loan(uow)
    empty = contracts.contract_overview(uow, TREASURER, loan.id)
    assert (empty.loan.id, empty.loan.status, empty.status.state) == (
        loan.id,
        LoanStatus.APPROVED,
        "none",
    )
    assert (empty.history, empty.paid_out_on) == ((), None)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)  # supersedes version 1
    sign(uow, docs, loan.id, "Olena Kovalenko", version=2)
    contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 2)
    seen = contracts.contract_overview(uow, AUDITOR, loan.id)
    assert seen.loan.status is LoanStatus.CONTRACT_SIGNED
    assert (seen.status.state, seen.status.version) == ("signed", 2)
    assert [(d.contract_version, d.kind, d.voided) for d in seen.history] == [
        (1, DocumentKind.CONTRACT, True),
        (2, DocumentKind.CONTRACT, False),
        (2, DocumentKind.BENEFICIARY_SIGNED, False),
        (2, DocumentKind.SIGNED_CONTRACT, False),
    ]
    assert seen.paid_out_on is None
    loans.disburse(uow, TREASURER, loan.id, on=date(2026, 3, 15), idempotency_key="p-1")
    paid = contracts.contract_overview(uow, AUDITOR, loan.id)
    assert (paid.loan.status, paid.paid_out_on) == (LoanStatus.ACTIVE, date(2026, 3, 15))
