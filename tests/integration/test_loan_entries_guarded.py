"""A loan's entries are reversed only through the loan use cases, which keep the sub-ledger."""

from __future__ import annotations

import pytest

from ledger.domain.errors import Conflict
from ledger.domain.statuses import LoanStatus
from ledger.services.journal import reverse_entry
from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.loans import assert_verified, loan_in
from tests.support.queries import counts


def test_a_payout_cannot_be_reversed_as_a_bare_journal_entry(funded: UnitOfWork) -> None:
    loan = loan_in(funded, LoanStatus.ACTIVE)
    assert loan.disbursement_entry_id is not None
    before = counts(funded)
    with pytest.raises(Conflict, match=f"belongs to loan {loan.id}") as exc:
        reverse_entry(funded, TREASURER, loan.disbursement_entry_id, idempotency_key="undo-1")
    assert exc.value.field == "entry_id"
    assert counts(funded) == before
    assert_verified(funded)
