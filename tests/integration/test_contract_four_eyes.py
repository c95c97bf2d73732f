"""Four eyes on contracts: whoever recorded the beneficiary's signature of a version does not
also sign it for the fund (on SQLite and PostgreSQL, with the real rendering and signing)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger.domain.documents import DocumentKind
from ledger.domain.errors import PermissionDenied
from ledger.domain.statuses import LoanStatus
from ledger.services import contracts, loans
from ledger.services.contracts import DocumentSettings
from ledger.store.tables import audit_log
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR
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


def fund_signatures_audited(uow: UnitOfWork) -> int:
    with uow:
        query = (
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == "contract_signed_by_fund")
        )
        return int(uow.connection.execute(query).scalar_one())


def test_who_recorded_the_on_screen_signature_cannot_sign_for_the_fund(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    contracts.record_on_screen_signature(
        uow,
        CASEWORKER,
        docs,
        loan.id,
        1,
        full_name="Olena Kovalenko",
        signature_png=drawn_signature(),
        read_and_approved="lu et approuvé",
    )
    rows, files = document_rows(uow), stored_files(docs.store.root)

    with pytest.raises(PermissionDenied) as refused:
        contracts.sign_as_fund(uow, CASEWORKER, docs, loan.id, 1)
    assert refused.value.status == 403
    assert "you recorded the beneficiary's signature of contract version 1" in str(
        refused.value.detail
    )
    assert "another staff member" in str(refused.value.detail)
    # Nothing was signed, stored or audited, and the loan cannot be paid out yet.
    assert document_rows(uow) == rows
    assert stored_files(docs.store.root) == files
    assert fund_signatures_audited(uow) == 0
    status = contracts.contract_status(uow, AUDITOR, loan.id)
    assert status.state == "signed_by_beneficiary"
    assert loans.get_loan(uow, AUDITOR, loan.id).loan.status is LoanStatus.APPROVED

    signed = contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)
    assert signed.kind is DocumentKind.SIGNED_CONTRACT and signed.created_by == CASEWORKER2.name
    assert fund_signatures_audited(uow) == 1
    assert loans.get_loan(uow, AUDITOR, loan.id).loan.status is LoanStatus.CONTRACT_SIGNED


def test_the_rule_follows_whoever_recorded_the_signature_in_force(
    funded: UnitOfWork, docs: DocumentSettings
) -> None:
    """An admin who uploads the scan may not sign it; once a caseworker has recorded a better
    scan (which replaces the first), the admin may sign and that caseworker may not."""
    uow = funded
    loan = approved_loan(uow)
    contracts.generate_contract(uow, CASEWORKER, docs, loan.id)
    contracts.record_scan(uow, ADMIN, docs, loan.id, 1, minimal_pdf())
    with pytest.raises(PermissionDenied, match="another staff member"):
        contracts.sign_as_fund(uow, ADMIN, docs, loan.id, 1)

    contracts.record_scan(uow, CASEWORKER2, docs, loan.id, 1, minimal_pdf(b"BT ET"))
    with pytest.raises(PermissionDenied, match="another staff member"):
        contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, 1)
    signed = contracts.sign_as_fund(uow, ADMIN, docs, loan.id, 1)
    assert signed.created_by == ADMIN.name
    assert signed.beneficiary_method == "paper"
    assert contracts.contract_status(uow, AUDITOR, loan.id).state == "signed"
