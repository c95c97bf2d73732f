"""Loans for the loan page's tests: a funded fund with a loan paid out some months ago, and a
document of that loan kept in the fund's document store."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine

from ledger.config import Settings
from ledger.documents.store import DocumentStore
from ledger.domain.documents import DocumentKind, NewDocument, StoredDocument
from ledger.domain.loans import Loan
from ledger.domain.money import to_minor
from ledger.domain.statuses import LoanStatus
from ledger.store.uow import Clock, UnitOfWork, utc_now
from tests.support.actors import TREASURER
from tests.support.ledgertext import book
from tests.support.loans import CASEWORKER, loan_in, person

#: A PDF's first bytes: enough for a download to be told from an error page.
PDF_BYTES = b"%PDF-1.7\n% loan page test document\n%%EOF\n"


def funded_loan(engine: Engine, clock: Clock = utc_now, *, paid_out: date) -> Loan:
    """Capital in the bank, then a loan of 1,700.00 over 24 months, its lease starting the
    first of ``paid_out``'s month, first installment a month later, paid out on ``paid_out``."""
    uow = UnitOfWork(engine, clock=clock)
    start = paid_out.replace(day=1)
    book(uow, TREASURER, f"{start.isoformat()} capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    return loan_in(
        uow,
        LoanStatus.ACTIVE,
        person(uow),
        on=paid_out,
        lease_start=start,
        lease_end=start.replace(year=start.year + 3) - timedelta(days=1),
        first_due_date=start + timedelta(days=30),
    )


def another_person_loan(engine: Engine, clock: Clock = utc_now, *, paid_out: date) -> Loan:
    """A second loan, for someone else, in a fund that already has capital."""
    uow = UnitOfWork(engine, clock=clock)
    start = paid_out.replace(day=1)
    return loan_in(
        uow,
        LoanStatus.ACTIVE,
        person(uow, full_name="Jonas Peeters", email=None),
        on=paid_out,
        lease_start=start,
        lease_end=None,
        first_due_date=start + timedelta(days=30),
    )


def store_document(
    engine: Engine, settings: Settings, loan: Loan, clock: Clock = utc_now
) -> StoredDocument:
    """A schedule document of ``loan``: its bytes in the document store, its row in the
    database (the rendering itself is the documents' tests' business)."""
    digest = DocumentStore(settings.documents_path()).put(PDF_BYTES)
    uow = UnitOfWork(engine, clock=clock)
    with uow:
        version, _ = uow.loans.schedule(loan.id)
        doc = uow.documents.add(
            NewDocument(
                loan_id=loan.id,
                kind=DocumentKind.SCHEDULE,
                contract_version=None,
                schedule_version=version,
                principal_minor=to_minor(loan.terms.deposit),
                language="fr",
                sha256=digest,
                size=len(PDF_BYTES),
                created_at=uow.now(),
                created_by=CASEWORKER.name,
            )
        )
        uow.commit()
    return doc
