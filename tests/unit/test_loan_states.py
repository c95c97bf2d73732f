"""The life of a loan: which action may start from which state, and states derived from balances."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.errors import Conflict, ValidationError
from ledger.domain.loans import (
    DISBURSED,
    TRANSITIONS,
    DepositForm,
    LoanAction,
    LoanTerms,
    derived_status,
    loan_id_for,
    next_status,
)
from ledger.domain.money import money
from ledger.domain.statuses import LoanStatus

S, A = LoanStatus, LoanAction

#: The lifecycle as the issue describes it (Fineract's states); anything else is refused.
ALLOWED = {
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.APPROVE): S.APPROVED,
    (S.SUBMITTED, A.REJECT): S.REJECTED,
    (S.APPROVED, A.UNDO_APPROVAL): S.SUBMITTED,
    (S.CONTRACT_SIGNED, A.UNDO_APPROVAL): S.SUBMITTED,
    (S.APPROVED, A.SIGN_CONTRACT): S.CONTRACT_SIGNED,
    (S.CONTRACT_SIGNED, A.DISBURSE): S.ACTIVE,
    (S.ACTIVE, A.UNDO_DISBURSEMENT): S.CONTRACT_SIGNED,
    (S.ACTIVE, A.WRITE_OFF): S.WRITTEN_OFF,
    (S.DRAFT, A.WITHDRAW): S.WITHDRAWN,
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, A.WITHDRAW): S.WITHDRAWN,
    (S.CONTRACT_SIGNED, A.WITHDRAW): S.WITHDRAWN,
}
if hasattr(LoanAction, "VOID_CONTRACT"):  # a new schedule voids a signed contract (documents)
    ALLOWED[(S.CONTRACT_SIGNED, LoanAction.VOID_CONTRACT)] = S.APPROVED


@pytest.mark.parametrize("status", list(LoanStatus))
@pytest.mark.parametrize("action", list(LoanAction))
def test_transition_table(status: LoanStatus, action: LoanAction) -> None:
    expected = ALLOWED.get((status, action))
    if expected is not None:
        assert next_status(status, action) is expected
    else:
        with pytest.raises(Conflict) as err:
            next_status(status, action)
        assert err.value.field == "status"
        words = status.value.replace("_", " ")
        assert f"cannot {action.value.replace('_', ' ')} a loan that is {words}:" in str(err.value)


def test_refusals_say_why() -> None:
    with pytest.raises(Conflict) as err:
        next_status(S.DRAFT, A.APPROVE)
    assert str(err.value) == (
        "cannot approve a loan that is draft: only a submitted application can be approved"
    )
    with pytest.raises(Conflict, match="undo the disbursement first"):
        next_status(S.ACTIVE, A.WITHDRAW)
    with pytest.raises(Conflict, match="only an active loan with something still owed"):
        next_status(S.CLOSED, A.WRITE_OFF)


def test_final_states_lead_nowhere() -> None:
    for status in (S.REJECTED, S.WITHDRAWN, S.WRITTEN_OFF, S.CLOSED, S.OVERPAID):
        assert all(status not in sources for sources, _ in TRANSITIONS.values())


@pytest.mark.parametrize(
    ("written_off", "outstanding", "credit", "status"),
    [
        (False, 1, 0, S.ACTIVE),
        (False, 5_000, 0, S.ACTIVE),
        (False, 0, 0, S.CLOSED),
        (False, 0, 1, S.OVERPAID),
        (True, 0, 0, S.WRITTEN_OFF),
        (True, 5_000, 0, S.WRITTEN_OFF),
    ],
)
def test_status_derived_from_balances(
    written_off: bool, outstanding: int, credit: int, status: LoanStatus
) -> None:
    assert derived_status(written_off=written_off, outstanding=outstanding, credit=credit) is status
    assert status in DISBURSED


def test_loan_ids() -> None:
    assert loan_id_for(1) == "L000001"
    assert loan_id_for(1234567) == "L1234567"


# -- terms -----------------------------------------------------------------------------------


def terms(**changes: Any) -> LoanTerms:
    base: dict[str, Any] = {
        "deposit": money("1700.00", "EUR"),
        "monthly_rent": money("850.00", "EUR"),
        "jurisdiction": "BE-BRU",
        "deposit_form": DepositForm.BLOCKED_ACCOUNT,
        "lease_start": date(2026, 2, 1),
        "lease_end": date(2029, 1, 31),
        "first_due_date": date(2026, 3, 31),
        "installments": 24,
    }
    base.update(changes)
    return LoanTerms(**base)


def test_terms_accept_enum_values_as_text() -> None:
    t = terms(deposit_form="bank_guarantee", public_alternatives="refused")
    assert t.deposit_form is DepositForm.BANK_GUARANTEE
    assert t.public_alternatives is PublicAlternatives.REFUSED
    assert t.currency == "EUR"
    assert replace(t, installments=None, monthly_amount=money("100.00", "EUR")).installments is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"deposit": money("0.00", "EUR")}, "deposit"),
        ({"deposit": money("-1.00", "EUR")}, "deposit"),
        ({"monthly_rent": money("850.00", "CHF")}, "monthly_rent"),
        ({"monthly_rent": money("0.00", "EUR")}, "monthly_rent"),
        ({"jurisdiction": "B"}, "jurisdiction"),
        ({"jurisdiction": "X" * 17}, "jurisdiction"),
        ({"deposit_form": "cash"}, "deposit_form"),
        ({"public_alternatives": "maybe"}, "deposit_form"),
        ({"lease_end": date(2026, 2, 1)}, "lease_end"),
        ({"lease_end": date(2026, 1, 1)}, "lease_end"),
        ({"first_due_date": date(2026, 1, 31)}, "first_due_date"),
        ({"installments": None}, "installments"),
        ({"monthly_amount": money("100.00", "EUR")}, "installments"),
        (
            {"installments": None, "monthly_amount": money("100.00", "CHF")},
            "monthly_amount",
        ),
        ({"due_day": 0}, "due_day"),
        ({"due_day": 32}, "due_day"),
    ],
)
def test_bad_terms_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        terms(**changes)
    assert err.value.field == field


def test_first_due_may_fall_in_the_lease_start_month() -> None:
    assert terms(lease_start=date(2026, 3, 20), first_due_date=date(2026, 3, 5)).first_due_date
