"""Builders the benchmarks share: a settable clock, a ledger line booked from text, and a loan
paid out through the loan services.

bench/ does not import the test suite (tests/unit/test_test_layout.py checks it); these are
copies of the test builders of the same names (tests/support/clock.py, ledgertext.py,
statements.py), kept to what the benchmarks use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.journal import Entry, EntryDraft, Leg
from ledger.domain.loans import DepositForm, Lease, Loan, LoanTerms
from ledger.domain.money import money
from ledger.domain.references import ReferenceKind
from ledger.domain.roles import Actor, Role
from ledger.services import loans
from ledger.services.journal import post
from ledger.services.loans import approvals
from ledger.store.uow import UnitOfWork

TREASURER = Actor("tina.treasurer", Role.TREASURER)
ADMIN = Actor("ada.admin", Role.ADMIN)
CASEWORKER_A = Actor("cara.case", Role.CASEWORKER)
CASEWORKER_B = Actor("cleo.case", Role.CASEWORKER)
FUND_IBAN = "BE71096123456769"
HASH_KEY = b"test-hash-key-0123456789abcdef"


class Clock:
    """A clock that stays where it is set; starts at noon UTC on 2026-03-15."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


LINE = re.compile(
    r"^(?P<day>\d{4}-\d{2}-\d{2})\s+(?P<kind>\w+)\s+(?P<amount>[\d.]+)(?:\s+(?P<cur>[A-Z]{3}))?"
    r"\s+Dr\s+(?P<debit>\S+)\s+Cr\s+(?P<credit>\S+)\s*(?:;\s*(?P<text>.*))?$"
)


def entry(line: str, *, key: str | None = None) -> EntryDraft:
    """``2026-03-02 donation 250.00 EUR Dr 1000 Cr 4000 ; gift``: one two-leg entry."""
    m = LINE.match(line.strip())
    if m is None:
        raise ValueError(f"cannot read ledger line {line!r}")
    amount = money(m["amount"], m["cur"] or "EUR")
    return EntryDraft(
        booking_date=date.fromisoformat(m["day"]),
        description=m["text"] or line.strip(),
        kind=m["kind"],  # type: ignore[arg-type]  # EntryDraft makes the EntryKind of the text
        legs=(Leg.debit(m["debit"], amount), Leg.credit(m["credit"], amount)),
        idempotency_key=key,
    )


def book(uow: UnitOfWork, actor: Actor, text: str | Sequence[EntryDraft]) -> list[Entry]:
    """Post every line in one transaction and return the entries as stored."""
    drafts = (
        [entry(line) for line in text.strip().splitlines() if line.strip()]
        if isinstance(text, str)
        else text
    )
    return [p.entry for p in post(uow, actor, drafts)]


def paid_out_loan(
    uow: UnitOfWork,
    *,
    deposit: str = "1700.00",
    installments: int = 24,
    currency: str = "EUR",
    on: date = date(2026, 2, 2),
    kind: ReferenceKind | None = None,
    key: str = "loan",
) -> Loan:
    """A loan through application, approval, contract and payout (the bank needs the money)."""
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
    decision = loans.get_loan(uow, ADMIN, loan.id).decision
    if decision is not None and not decision.accepted:
        loans.override_eligibility(uow, ADMIN, loan.id, "bench fund")
    loans.approve(uow, CASEWORKER_B, loan.id, policy)
    with _contract_paperwork_skipped():
        loans.sign_contract(uow, CASEWORKER_B, loan.id)
        return loans.disburse(uow, TREASURER, loan.id, on=on, idempotency_key=f"{key}-payout").loan


@contextmanager
def _contract_paperwork_skipped() -> Iterator[None]:
    """The payout checks that a signed contract document is on file; a benchmark of statements
    needs loans paid out, not contract documents, so that check is skipped."""
    check = approvals._require_signed_contract  # fails here, loudly, if it moves
    approvals._require_signed_contract = lambda uow, loan: None
    try:
        yield
    finally:
        approvals._require_signed_contract = check
