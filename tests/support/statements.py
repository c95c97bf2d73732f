"""Helpers for the statement tests: loans paid out through the loan services, statements
written as values, and imports with a fixed hash key."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from ledger.bank.files import Source
from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.loans import DepositForm, Lease, Loan, LoanTerms
from ledger.domain.money import money
from ledger.domain.references import ReferenceKind
from ledger.domain.roles import Actor, Role
from ledger.domain.statements import Direction, Statement, StatementEntry
from ledger.services import loans
from ledger.services.loans import approvals
from ledger.services.statements import ImportOptions, ImportResult, import_statements
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER

FUND_IBAN = "BE71096123456769"
CHF_IBAN = "CH9300762011623852957"
PAYER_IBAN = "BE68539007547034"
OTHER_PAYER_IBAN = "FR1420041010050500013M02606"
HASH_KEY = b"test-hash-key-0123456789abcdef"
CASEWORKER_A = Actor("cara.case", Role.CASEWORKER)
CASEWORKER_B = Actor("cleo.case", Role.CASEWORKER)


def entry(
    day: str,
    amount: str,
    direction: str = "credit",
    *,
    ref: str | None = None,
    currency: str = "EUR",
    **fields: Any,
) -> StatementEntry:
    """A statement entry from text: ``entry("2026-03-02", "70.83", ref="R1", remittance=...)``."""
    minor = int(money(amount, currency).amount.scaleb(2 if currency != "JPY" else 0))
    return StatementEntry(
        booking_date=date.fromisoformat(day),
        amount_minor=minor,
        currency=currency,
        direction=Direction(direction),
        bank_reference=ref,
        **fields,
    )


def statement(
    sid: str,
    opening: int,
    entries: Sequence[StatementEntry],
    *,
    iban: str = FUND_IBAN,
    currency: str = "EUR",
    start: str = "2026-03-01",
    end: str = "2026-03-14",
    sequence: int | None = None,
    closing: int | None = None,
) -> Statement:
    """A statement whose closing balance adds up unless ``closing`` says otherwise."""
    total = sum(e.signed_minor for e in entries)
    return Statement(
        account_iban=iban,
        currency=currency,
        statement_id=sid,
        entries=tuple(entries),
        source_format="test",
        sequence=sequence,
        opening_minor=opening,
        opening_date=date.fromisoformat(start),
        closing_minor=opening + total if closing is None else closing,
        closing_date=date.fromisoformat(end),
    )


def options(**changes: Any) -> ImportOptions:
    base: dict[str, Any] = {"hash_key": HASH_KEY, "fund_ibans": frozenset({FUND_IBAN})}
    base.update(changes)
    return ImportOptions(**base)


def run_import(
    uow: UnitOfWork, data: Source, actor: Actor = TREASURER, **changes: Any
) -> ImportResult:
    return import_statements(uow, actor, data, options(**changes))


def paid_out_loan(
    uow: UnitOfWork,
    *,
    deposit: str = "1700.00",
    installments: int = 24,
    currency: str = "EUR",
    on: date = date(2026, 2, 2),
    kind: ReferenceKind | None = None,
    key: str = "loan",
    disburse: bool = True,
) -> Loan:
    """A loan through application, approval, contract and payout (the bank needs the money);
    without ``disburse``, left with its contract signed."""
    policy = loans.LoanPolicy(reference_kind=kind)
    person = loans.register_beneficiary(
        uow,
        CASEWORKER_A,
        currency,
        PersonalData(
            "Test Person",
            monthly_net_income=money("3000.00", currency),
            own_savings=money("0.00", currency),
            residence_status="residence permit",
            household_size=1,
        ),
    )
    rent = money(str(int(deposit.split(".")[0]) // 2) + ".00", currency)
    terms = LoanTerms(
        deposit=money(deposit, currency),
        monthly_rent=rent,
        jurisdiction="BE-BRU",
        deposit_form=DepositForm.BLOCKED_ACCOUNT,
        lease_start=date(2026, 2, 1),
        lease_end=date(2029, 1, 31),
        first_due_date=date(2026, 3, 1),
        installments=installments,
        public_alternatives=PublicAlternatives.REFUSED,
    )
    loan = loans.open_application(uow, CASEWORKER_A, person.id, terms, Lease(None, None), policy)
    loan = loans.submit(uow, CASEWORKER_A, loan.id, policy)
    decision = loans.get_loan(uow, Actor("ada.admin", Role.ADMIN), loan.id).decision
    if decision is not None and not decision.accepted:
        loans.override_eligibility(uow, Actor("ada.admin", Role.ADMIN), loan.id, "test fund")
    loans.approve(uow, CASEWORKER_B, loan.id, policy)
    with _contract_paperwork_skipped():
        signed = loans.sign_contract(uow, CASEWORKER_B, loan.id)
        if not disburse:
            return signed
        return loans.disburse(uow, TREASURER, loan.id, on=on, idempotency_key=f"{key}-payout").loan


@contextmanager
def _contract_paperwork_skipped() -> Iterator[None]:
    """Signing the contract document is the contract tests' subject; here a loan only needs
    to be paid out, so the check that a signed contract is on file is skipped."""
    check = approvals._require_signed_contract  # fails here, loudly, if it moves
    approvals._require_signed_contract = lambda uow, loan: None
    try:
        yield
    finally:
        approvals._require_signed_contract = check


def day(text: str) -> date:
    return date.fromisoformat(text)


def days_after(start: date, n: int) -> date:
    return start + timedelta(days=n)


def opening_of(st: Statement) -> int:
    """The opening balance of a statement ``statement`` made (it always sets one)."""
    assert st.opening_minor is not None
    return st.opening_minor


def closing_of(st: Statement) -> int:
    """The closing balance of a statement ``statement`` made (it always sets one)."""
    assert st.closing_minor is not None
    return st.closing_minor
