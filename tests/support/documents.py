"""Sample funds, contracts, schedules and loan views for the document tests (fictitious people)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ledger.documents.model import (
    ContractData,
    ContractInstallment,
    FundInfo,
    ScheduleData,
    ScheduleLine,
    legal_basis,
)
from ledger.domain.loans import DISBURSED, DepositForm, Loan, LoanTerms
from ledger.domain.money import Money, money, split_evenly, to_minor
from ledger.domain.references import PaymentReference, ogm_reference, qrr_reference, rf_reference
from ledger.domain.schedule import due_dates
from ledger.domain.standing import arrears_of
from ledger.domain.statuses import LoanStatus
from ledger.services.loans import InstallmentView, LoanView

ISSUED = date(2026, 1, 10)
FIRST_DUE = date(2026, 2, 5)
AS_OF = date(2026, 6, 10)
BENEFICIARY_ID = "BK7Q2M9XR4TZP"


def fund_eur(**changes: object) -> FundInfo:
    values: dict[str, object] = {
        "name": "Fonds de garanties locatives",
        "address_lines": ("Rue de l'Exemple 1",),
        "iban": "BE71 0961 2345 6769",
        "creditor_name": "Fonds de garanties locatives ASBL",
        "phone": "+32 2 000 00 00",
        "email": "fonds@example.org",
        "city": "Bruxelles",
        "postcode": "1000",
        "bic": "GKCCBEBB",
        "city_names": (("nl", "Brussel"), ("de", "Brüssel"), ("en", "Brussels")),
    }
    values.update(changes)
    return FundInfo(**values)  # type: ignore[arg-type]


def fund_chf(**changes: object) -> FundInfo:
    values: dict[str, object] = {
        "name": "Fonds de garantie de loyer",
        "address_lines": ("Rue de Bourg 1",),
        "iban": "CH93 0076 2011 6238 5295 7",
        "qr_iban": "CH44 3199 9123 0008 8901 2",
        "creditor_name": "Association Fonds de garantie",
        "phone": "+41 21 000 00 00",
        "email": "fonds@example.ch",
        "city": "Lausanne",
        "postcode": "1003",
        "city_names": (("de", "Lausanne"),),
    }
    values.update(changes)
    return FundInfo(**values)  # type: ignore[arg-type]


def installments(total: Money, count: int = 24) -> tuple[ContractInstallment, ...]:
    parts = split_evenly(total, count)
    dates = due_dates(FIRST_DUE, count)
    return tuple(
        ContractInstallment(n, d, a) for n, (d, a) in enumerate(zip(dates, parts, strict=True), 1)
    )


def contract(
    language: str = "fr",
    *,
    name: str = "Amina Haddad",
    landlord: str = "Immo Exemple SRL",
    address: str = "Rue Fictive 10, 1000 Bruxelles",
    chf: bool = False,
    reference: PaymentReference | None = None,
    version: int = 1,
    legal: str = "fr",
    deposit_form: DepositForm = DepositForm.BLOCKED_ACCOUNT,
    deposit_account: str | None = None,
    fund: FundInfo | None = None,
) -> ContractData:
    """A contract for ``language`` from a fund whose contracts bind in ``legal``."""
    code = "CHF" if chf else "EUR"
    deposit = money("1700.00", code)
    jurisdiction = "CH" if chf else "BE-BRU"
    return ContractData(
        contract_id="C-L000001",
        version=version,
        loan_id="L000001",
        beneficiary_name=name,
        beneficiary_id=BENEFICIARY_ID,
        language=language,
        landlord_name=landlord,
        property_address=address,
        deposit=deposit,
        monthly_rent=money("850.00", code),
        jurisdiction=jurisdiction,
        legal_basis=legal_basis(jurisdiction, language),
        deposit_form=deposit_form,
        lease_start=date(2026, 1, 1),
        lease_end=date(2029, 12, 31),
        installments=installments(deposit),
        reference=reference or (qrr_reference(1) if chf else ogm_reference(1)),
        fund=fund or replace(fund_chf() if chf else fund_eur(), legal_language=legal),
        issued_on=ISSUED,
        deposit_account=deposit_account,
    )


def schedule(
    language: str = "fr",
    *,
    chf: bool = False,
    paid: int = 3,
    as_of: date = AS_OF,
    reference: PaymentReference | None = None,
    name: str = "Amina Haddad",
) -> ScheduleData:
    """24 x 70.83 (+ 70.91 last) of 1,700.00; the first ``paid`` installments paid."""
    code = "CHF" if chf else "EUR"
    total = money("1700.00", code)
    zero = money("0", code)
    lines = []
    for i in installments(total):
        paid_now = i.amount if i.number <= paid else zero
        lines.append(ScheduleLine(i.number, i.due_date, i.amount, paid_now, i.amount - paid_now))
    late = [x.remaining for x in lines if x.due_date <= as_of]
    upcoming = next(x for x in lines if x.due_date > as_of)
    overdue = sum(late, zero)
    paid_total = sum((x.paid for x in lines), zero)
    return ScheduleData(
        loan_id="L000001",
        beneficiary_name=name,
        beneficiary_id=BENEFICIARY_ID,
        language=language,
        loan_amount=total,
        lines=tuple(lines),
        paid=paid_total,
        outstanding=total - paid_total,
        overdue=overdue,
        credit=zero,
        next_due_date=upcoming.due_date,
        next_amount_due=overdue + upcoming.remaining,
        reference=reference or (qrr_reference(1) if chf else ogm_reference(1)),
        fund=fund_chf() if chf else fund_eur(),
        as_of=as_of,
        status=LoanStatus.ACTIVE,
    )


def loan(status: LoanStatus = LoanStatus.ACTIVE, *, code: str = "EUR", count: int = 3) -> Loan:
    terms = LoanTerms(
        deposit=money("1000.00", code),
        monthly_rent=money("500.00", code),
        jurisdiction="BE-BRU",
        deposit_form=DepositForm.BLOCKED_ACCOUNT,
        lease_start=date(2026, 1, 1),
        lease_end=date(2028, 12, 31),
        first_due_date=FIRST_DUE,
        installments=count,
    )
    return Loan(
        id="L000042",
        number=42,
        beneficiary_id=BENEFICIARY_ID,
        status=status,
        terms=terms,
        reference=ogm_reference(42) if code == "EUR" else rf_reference(42),
        account_id=7,
        created_by="carl.caseworker",
        submitted_by="carl.caseworker",
        approved_by="tina.treasurer",
        disbursement_entry_id=None,
        written_off=False,
        version=1,
    )


def view(
    status: LoanStatus = LoanStatus.ACTIVE,
    *,
    paid: tuple[int, ...] = (0, 0, 0),
    as_of: date = date(2026, 3, 20),
    credit: int = 0,
    code: str = "EUR",
) -> LoanView:
    """A view of 1,000.00 in 3 installments (333.33, 333.33, 333.34) due 5 Feb, Mar, Apr 2026."""
    the_loan = loan(status, code=code)
    amounts = [to_minor(a) for a in split_evenly(the_loan.terms.deposit, 3)]
    dates = due_dates(FIRST_DUE, 3)
    views = tuple(
        InstallmentView(n, d, a, p)
        for n, (d, a, p) in enumerate(zip(dates, amounts, paid, strict=True), 1)
    )
    owed = sum(amounts) - sum(paid)
    disbursed = status in DISBURSED
    return LoanView(
        loan=the_loan,
        as_of=as_of,
        schedule_version=1,
        installments=views,
        outstanding=owed if status in (LoanStatus.ACTIVE, LoanStatus.OVERPAID) else 0,
        credit=credit,
        arrears=arrears_of(views if disbursed else (), as_of),
        payments=(),
        events=(),
        decision=None,
        pending_write_off=None,
        lease=None,
    )
