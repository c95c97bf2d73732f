"""Signed loans paid out by one payment file (services.payment_files.pay_out_in_file): each
payout booked and the file made in one transaction, replayed by its key, refused whole."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.bank.pain001 import Debtor
from ledger.domain.errors import PermissionDenied, ValidationError
from ledger.domain.loans import Loan
from ledger.domain.roles import Actor
from ledger.domain.statuses import LoanStatus, PaymentFileStatus
from ledger.services import payment_files as pf
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, TREASURER
from tests.support.ledgertext import book
from tests.support.loans import CASEWORKER, loan_in, person, status_of
from tests.support.queries import counts
from tests.support.statements import FUND_IBAN

FUND = Debtor("Fonds de garanties locatives", FUND_IBAN, "GEBABEBB")
NEXT_DAY = date(2026, 3, 16)  # the test clock says 2026-03-15
LANDLORD = "DE89 3704 0044 0532 0130 00"


@pytest.fixture
def signed(chart: UnitOfWork) -> tuple[UnitOfWork, Loan, Loan]:
    """Capital in the bank and two loans with their contracts signed; the first one's
    landlord's account recorded, the second's not."""
    book(chart, TREASURER, "2026-01-05 capital 10000.00 EUR Dr 1000 Cr 3000 ; capital")
    a = loan_in(chart, LoanStatus.CONTRACT_SIGNED, person(chart))
    b = loan_in(chart, LoanStatus.CONTRACT_SIGNED, person(chart, full_name="Jonas Peeters"))
    pf.set_landlord_account(chart, CASEWORKER, a.id, iban=LANDLORD, name="Immo SRL")
    return chart, a, b


def pay(uow: UnitOfWork, key: str, *loan_ids: str, actor: Actor = TREASURER) -> pf.MadeFile:
    return pf.pay_out_in_file(
        uow,
        actor,
        currency="EUR",
        execution_date=NEXT_DAY,
        debtor=FUND,
        idempotency_key=key,
        loan_ids=loan_ids,
    )


def test_the_choice_says_what_each_loan_lacks(signed: tuple[UnitOfWork, Loan, Loan]) -> None:
    uow, a, b = signed
    choice = pf.payout_choice(uow, TREASURER, "EUR")
    assert choice.loans is not None
    by_id = {w.loan_id: w for w in choice.loans}
    assert set(by_id) == {a.id, b.id} and choice.booked == []
    assert by_id[a.id].missing is None and by_id[a.id].amount_minor == 170_000
    assert b.id in (by_id[b.id].missing or "")
    # An admin makes files of payouts booked, but does not pay loans out.
    assert pf.payout_choice(uow, ADMIN, "EUR").loans is None
    with pytest.raises(PermissionDenied):
        pf.payout_choice(uow, AUDITOR, "EUR")


def test_paid_out_and_filed_in_one_step(signed: tuple[UnitOfWork, Loan, Loan]) -> None:
    uow, a, _ = signed
    made = pay(uow, "form-1", a.id)
    assert not made.replayed
    assert (made.file.transfers, made.file.total_minor, made.file.status) == (
        1,
        170_000,
        PaymentFileStatus.CREATED,
    )
    assert status_of(uow, a.id) is LoanStatus.ACTIVE
    view = pf.get_payment_file(uow, AUDITOR, made.file.id)
    [item] = view.items
    assert item.loan_id == a.id and item.statement_line_id is None
    assert b"FL-E" in made.xml and b"DE89370400440532013000" in made.xml
    # The form sent again: the same file, nothing booked twice.
    before = counts(uow)
    again = pay(uow, "form-1", a.id)
    assert again.replayed and again.file.id == made.file.id and again.xml == made.xml
    assert counts(uow) == before
    assert pf.payout_choice(uow, TREASURER, "EUR").booked == []


def test_refused_whole_when_one_loan_cannot_be_paid(
    signed: tuple[UnitOfWork, Loan, Loan],
) -> None:
    uow, a, b = signed
    before = counts(uow)
    with pytest.raises(ValidationError) as err:
        pay(uow, "form-2", a.id, b.id)
    assert b.id in err.value.detail
    assert counts(uow) == before
    assert status_of(uow, a.id) is LoanStatus.CONTRACT_SIGNED
    with pytest.raises(PermissionDenied):
        pay(uow, "form-3", a.id, actor=ADMIN)
    with pytest.raises(ValidationError) as empty:
        pay(uow, "form-4")
    assert empty.value.key == "err.payout_file.empty"
    assert counts(uow) == before
