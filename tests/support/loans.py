"""Loans for the integration tests: people, terms, and a loan brought to any state in one call."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ledger.domain.beneficiaries import Beneficiary, PersonalData
from ledger.domain.documents import DocumentKind, NewDocument
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.loans import DepositForm, Lease, Loan, LoanTerms
from ledger.domain.money import Money, money, to_minor
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Actor, Role
from ledger.domain.statuses import LoanStatus, SignatureMethod
from ledger.services import loans
from ledger.services.loans import Balances
from ledger.services.verify import verify
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, CASEWORKER, TREASURER

CASEWORKER2 = Actor("cora.caseworker", Role.CASEWORKER)
TREASURER2 = Actor("theo.treasurer", Role.TREASURER)
ADMIN2 = Actor("ada.admin", Role.ADMIN)
POLICY = LoanPolicy()
DISBURSED_ON = date(2026, 3, 15)  # the clock's first day

__all__ = ["ADMIN", "ADMIN2", "AUDITOR", "CASEWORKER", "CASEWORKER2", "TREASURER", "TREASURER2"]


def eur(text: str) -> Money:
    return money(text, "EUR")


#: The language the tests' beneficiaries are registered with (a test module about what a
#: language without a catalog gets sets it to one: ``NO_CATALOG``).
LANGUAGE = "ti"
#: A language none of the shipped catalogs has (documents, reminders).
NO_CATALOG = "am"


def person(uow: UnitOfWork, **changes: Any) -> Beneficiary:
    """A beneficiary who passes every default rule: income 1,400.00, savings 100.00."""
    data: dict[str, Any] = {
        "full_name": "Amina Kebede",
        "preferred_language": LANGUAGE,
        "email": "amina@example.org",
        "phone": "+32 470 12 34 56",
        "residence_status": "B permit",
        "permit_end_date": date(2028, 1, 1),
        "monthly_net_income": eur("1400.00"),
        "household_size": 2,
        "own_savings": eur("100.00"),
    }
    data.update(changes)
    return loans.register_beneficiary(uow, CASEWORKER, "EUR", PersonalData(**data))


def terms(**changes: Any) -> LoanTerms:
    """Two months of an 850.00 Brussels rent, 1,700.00 over 24 months from 31 March 2026."""
    base: dict[str, Any] = {
        "deposit": eur("1700.00"),
        "monthly_rent": eur("850.00"),
        "jurisdiction": "BE-BRU",
        "deposit_form": DepositForm.BLOCKED_ACCOUNT,
        "lease_start": date(2026, 3, 1),
        "lease_end": date(2029, 2, 28),
        "first_due_date": date(2026, 3, 31),
        "installments": 24,
        "public_alternatives": PublicAlternatives.REFUSED,
    }
    base.update(changes)
    return LoanTerms(**base)


LEASE = Lease("Immo Exemple SRL", "Rue de la Loi 1, 1000 Bruxelles")


def application(
    uow: UnitOfWork, who: Beneficiary | None = None, by: Actor = CASEWORKER, **changes: Any
) -> Loan:
    who = who or person(uow)
    return loans.open_application(uow, by, who.id, terms(**changes), LEASE, POLICY)


def sign(
    uow: UnitOfWork, loan_id: str, actor: Actor = CASEWORKER2, *, by: date | None = None
) -> Loan:
    """Record the contract version as signed by both, then move the loan to contract signed:
    now, or at the start of day ``by`` (in the fund's zone) if that is earlier, so that a
    payout on ``by`` comes after the signature (a payout is never dated before it).

    The documents themselves (PDF, signatures) are tested in test_contracts.py; here only the
    rows the loan services look at are written, straight through the repository.
    """
    with uow:
        version, _ = uow.loans.schedule(loan_id)
        loan = uow.loans.get(loan_id)
        contract_version = uow.documents.latest_contract_version(loan_id) + 1
        now = uow.now()
        if by is not None:
            now = min(now, datetime.combine(by, time(0), tzinfo=uow.zone).astimezone(UTC))
        common: dict[str, Any] = {
            "loan_id": loan_id,
            "contract_version": contract_version,
            "schedule_version": version,
            "principal_minor": to_minor(loan.terms.deposit),
            "language": "fr",
            "size": 1,
            "created_at": now,
            "created_by": actor.name,
        }
        contract = uow.documents.add(
            NewDocument(kind=DocumentKind.CONTRACT, sha256="a" * 64, **common)
        )
        scan = uow.documents.add(
            NewDocument(
                kind=DocumentKind.BENEFICIARY_SCAN,
                sha256="b" * 64,
                source_id=contract.id,
                beneficiary_method=SignatureMethod.PAPER,
                signed_by_beneficiary_at=now,
                **common,
            )
        )
        uow.documents.add(
            NewDocument(
                kind=DocumentKind.SIGNED_CONTRACT,
                sha256="c" * 64,
                source_id=scan.id,
                beneficiary_method=SignatureMethod.PAPER,
                signed_by_beneficiary_at=now,
                signed_by_fund_at=now,
                signer="Test fund",
                signer_cert_sha256="d" * 64,
                **common,
            )
        )
        uow.commit()
    return loans.sign_contract(uow, actor, loan_id)


def on_day(uow: UnitOfWork, day: date) -> UnitOfWork:
    """A unit of work like ``uow`` whose clock stands at noon (UTC) on ``day``, or ``uow``
    itself when that is its today."""
    if day == uow.today():
        return uow
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return UnitOfWork(uow.engine, clock=lambda: noon, zone=uow.zone)


def loan_in(
    uow: UnitOfWork,
    status: LoanStatus,
    who: Beneficiary | None = None,
    *,
    on: date = DISBURSED_ON,
    **changes: Any,
) -> Loan:
    """A loan brought to ``status`` (up to active) the ordinary way: caseworker CASEWORKER opens
    and submits, CASEWORKER2 approves and signs, TREASURER pays out on ``on``."""
    loan = application(uow, who, **changes)
    if status is LoanStatus.DRAFT:
        return loan
    # Decided no later than the payout day: the rules compare the lease and the first due
    # date with the day they run, and these loans are often paid out in the past.
    decided = on_day(uow, min(on, uow.today()))
    loan = loans.submit(decided, CASEWORKER, loan.id, POLICY)
    if status is LoanStatus.SUBMITTED:
        return loan
    loan = loans.approve(decided, CASEWORKER2, loan.id, LoanPolicy())
    if status is LoanStatus.APPROVED:
        return loan
    loan = sign(uow, loan.id, by=on)
    if status is LoanStatus.CONTRACT_SIGNED:
        return loan
    assert status is LoanStatus.ACTIVE
    return loans.disburse(uow, TREASURER, loan.id, on=on, idempotency_key=f"payout-{loan.id}").loan


def position(uow: UnitOfWork, loan_id: str) -> Balances:
    return loans.balances_of(uow, AUDITOR, loan_id)


def status_of(uow: UnitOfWork, loan_id: str) -> LoanStatus:
    return loans.get_loan(uow, AUDITOR, loan_id).loan.status


def paid(uow: UnitOfWork, loan_id: str, as_of: date | None = None) -> list[int]:
    """Minor units paid on each installment."""
    return [i.paid for i in loans.get_loan(uow, AUDITOR, loan_id, as_of).installments]


def assert_verified(uow: UnitOfWork) -> None:
    report = verify(uow, AUDITOR)
    assert report.ok, report.summary()


def day(text: str) -> date:
    return date.fromisoformat(text)


def days(n: int) -> timedelta:
    return timedelta(days=n)
