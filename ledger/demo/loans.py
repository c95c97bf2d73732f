"""Demo loans in every state, with fictitious people, built only through the loan use cases.

Nothing here is real: names, amounts and addresses are invented. The loans are created once;
running the demo again leaves them as they are.

Each loan's story is told in its order, at the time it happened: the application a few days
before the lease's month, its approval, the contract made and signed two days before the payout,
then the payout (the services stamp each step with the unit of work's clock, set back here).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ledger.demo.documents import demo_signature
from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.loans import DepositForm, Lease, Loan, LoanTerms
from ledger.domain.money import Money, money
from ledger.domain.roles import Actor, Role
from ledger.services import contracts, loans
from ledger.services.contracts import DocumentSettings
from ledger.store.uow import UnitOfWork

CASEWORKER = Actor("caseworker", Role.CASEWORKER)
CASEWORKER2 = Actor("caseworker2", Role.CASEWORKER)
ADMIN = Actor("admin", Role.ADMIN)
TREASURER = Actor("treasurer", Role.TREASURER)
TREASURER2 = Actor("treasurer2", Role.TREASURER)


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    language: str
    income: str
    savings: str
    permit_end: date | None


PEOPLE = [
    Person("Amina Haile", "ti", "1450.00", "120.00", None),
    Person("Olena Kovalenko / Олена Коваленко", "uk", "1380.00", "60.00", None),
    Person("Fatima Zahra El Amrani / فاطمة الزهراء", "ar", "1520.00", "200.00", None),
    Person("Grace Okafor", "en", "1290.00", "0.00", None),
    Person("Mariana Popescu", "ro", "1610.00", "300.00", None),
    Person("Thi Lan Nguyen", "vi", "1330.00", "80.00", None),
    Person("Joy Mensah", "en", "1250.00", "40.00", None),
    Person("Sofia Ilieva / София Илиева", "bg", "1400.00", "150.00", None),
    Person("Blessing Eze", "fr", "1350.00", "90.00", None),
    Person("Rahel Tesfaye", "am", "1420.00", "2500.00", None),
    Person("Nadia Benali", "fr", "1480.00", "70.00", None),
]


def _month(today: date, back: int, day: int) -> date:
    index = today.year * 12 + today.month - 1 - back
    first = date(index // 12, index % 12 + 1, 1)
    nxt = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
    return min(first.replace(day=1) + timedelta(days=day - 1), nxt - timedelta(days=1))


@contextmanager
def _at(uow: UnitOfWork, day: date, hour: int) -> Iterator[None]:
    """The services in this block run as if it were ``hour`` o'clock on ``day`` in the fund's
    zone (never later than now): what they record is stamped then."""
    real = uow.clock
    moment = min(datetime.combine(day, time(hour), tzinfo=uow.zone).astimezone(UTC), real())
    uow.clock = lambda: moment
    try:
        yield
    finally:
        uow.clock = real


def sign_contract_on_screen(uow: UnitOfWork, docs: DocumentSettings, loan: Loan) -> Loan:
    """Contract version 1, signed on screen by the beneficiary, then by the fund."""
    version = contracts.generate_contract(uow, CASEWORKER, docs, loan.id).document.contract_version
    person = loans.read_beneficiary(uow, CASEWORKER, loan.beneficiary_id).personal
    if version is None or person is None:
        raise RuntimeError(f"demo loan {loan.id}: no contract version or no personal data")
    contracts.record_on_screen_signature(
        uow,
        CASEWORKER,
        docs,
        loan.id,
        version,
        full_name=person.full_name,
        signature_png=demo_signature(loan.number),
        read_and_approved="lu et approuvé",  # the fund's contracts bind in French
    )
    # Four eyes: who recorded the beneficiary's signature may not sign for the fund.
    contracts.sign_as_fund(uow, CASEWORKER2, docs, loan.id, version)
    return loans.get_loan(uow, CASEWORKER, loan.id).loan


def build_demo_loans(uow: UnitOfWork, currency: str, docs: DocumentSettings) -> int:
    """Ten loans, one or more in each state; returns how many were created (0 if present)."""
    if loans.list_loans(uow, ADMIN, limit=1)[1]:
        return 0
    today = uow.today()
    policy = loans.LoanPolicy()

    def eur(text: str) -> Money:
        return money(text, currency)

    def application(
        n: int,
        rent: str,
        count: int,
        back: int,
        *,
        alternatives: str = "refused",
        months_of_rent: int = 2,
    ) -> Loan:
        p = PEOPLE[n]
        person = loans.register_beneficiary(
            uow,
            CASEWORKER,
            currency,
            PersonalData(
                p.name,
                p.language,
                monthly_net_income=eur(p.income),
                own_savings=eur(p.savings),
                residence_status="residence permit",
                permit_end_date=p.permit_end,
                household_size=1 + n % 3,
            ),
        )
        start = _month(today, back, 1)
        terms = LoanTerms(
            deposit=eur(str(int(rent.split(".")[0]) * months_of_rent) + ".00"),
            monthly_rent=eur(rent),
            jurisdiction="BE-BRU",
            deposit_form=DepositForm.BLOCKED_ACCOUNT,
            lease_start=start,
            lease_end=date(start.year + 3, start.month, 1) - timedelta(days=1),
            first_due_date=_month(today, back - 1, 28) if back >= 1 else start + timedelta(27),
            installments=count,
            public_alternatives=PublicAlternatives(alternatives),
        )
        lease = Lease(f"Demo landlord {n + 1} SRL", f"Rue Fictive {10 + n}, 1000 Bruxelles")
        with _at(uow, _month(today, back, 3) - timedelta(days=12), 10):
            return loans.open_application(uow, CASEWORKER, person.id, terms, lease, policy)

    def through(loan: Loan, upto: str, back: int, key: str) -> Loan:
        payout = _month(today, back, 3)  # signed two days before: never paid out before
        with _at(uow, payout - timedelta(days=10), 11):
            loan = loans.submit(uow, CASEWORKER, loan.id, policy)
        if upto == "submitted":
            return loan
        with _at(uow, payout - timedelta(days=6), 15):
            decision = loans.get_loan(uow, ADMIN, loan.id).decision
            if decision is not None and not decision.accepted:
                loans.override_eligibility(
                    uow, ADMIN, loan.id, "Public schemes were asked; answer pending for weeks"
                )
            loan = loans.approve(uow, CASEWORKER2, loan.id, policy)
        if upto == "approved":
            return loan
        with _at(uow, payout - timedelta(days=2), 10):
            loan = sign_contract_on_screen(uow, docs, loan)
        if upto == "contract_signed":
            return loan
        with _at(uow, payout, 14):
            return loans.disburse(
                uow, TREASURER, loan.id, on=payout, idempotency_key=f"demo-{key}-payout"
            ).loan

    def pay(loan: Loan, amount: str, back: int, day: int, key: str) -> None:
        loans.record_payment(
            uow,
            TREASURER,
            loan.id,
            eur(amount),
            on=_month(today, back, day),
            idempotency_key=f"demo-{key}",
        )

    # 1. Active and on time: paid every month since payout.
    a = through(application(0, "725.00", 20, 5), "active", 5, "a")
    installment = loans.get_loan(uow, TREASURER, a.id).installments[0].amount
    for back in range(4, 0, -1):
        pay(a, f"{installment // 100}.{installment % 100:02d}", back, 27, f"a-{back}")
    # 2. Active, in arrears: paid once, then nothing.
    b = through(application(1, "690.00", 18, 5), "active", 5, "b")
    pay(b, "40.00", 4, 28, "b-1")
    # 3. Closed: repaid early in two payments.
    c = through(application(2, "540.00", 12, 6), "active", 6, "c")
    pay(c, "300.00", 5, 20, "c-1")
    pay(c, "780.00", 4, 20, "c-2")
    # 4. Overpaid: paid more than owed, credit not yet refunded.
    d = through(application(3, "480.00", 12, 6), "active", 6, "d")
    pay(d, "1000.00", 4, 15, "d-1")
    # 5. Written off after the person left the country; a small recovery came in later.
    e = through(application(4, "610.00", 24, 6), "active", 6, "e")
    pay(e, "50.83", 5, 28, "e-1")
    proposal = loans.propose_write_off(
        uow, CASEWORKER, e.id, "Beneficiary left Belgium; no contact since three months"
    )
    loans.approve_write_off(
        uow, TREASURER2, proposal.id, on=_month(today, 2, 10), idempotency_key="demo-e-writeoff"
    )
    pay(e, "25.00", 1, 12, "e-recovery")
    # 6. Approved, waiting for the contract; 7. contract signed, waiting for payout.
    through(application(5, "650.00", 20, 0), "approved", 0, "f")
    through(application(6, "700.00", 20, 0), "contract_signed", 0, "g")
    # 8. Submitted, eligibility needs review (public schemes not tried yet).
    through(application(7, "560.00", 16, 0, alternatives="not_tried"), "submitted", 0, "h")
    # 9. Rejected: own savings cover the deposit.
    i = application(9, "600.00", 18, 0)
    i = loans.submit(uow, CASEWORKER, i.id, policy)
    loans.reject(uow, CASEWORKER2, i.id, "Own savings cover the deposit")
    # 10. Withdrawn by the person, and a draft still being filled in.
    j = application(8, "590.00", 18, 0)
    loans.withdraw(uow, CASEWORKER, j.id, "Found a flat with a landlord who takes no deposit")
    application(10, "620.00", 18, 0)
    return 11
