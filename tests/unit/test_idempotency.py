"""One check for a reused idempotency key: the first field that differs, named in words."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.errors import IdempotencyConflict
from ledger.domain.idempotency import check_same_request
from ledger.domain.money import money

FIRST = {"amount": money("50.00", "EUR"), "on": date(2026, 3, 5), "loan_id": "L000001"}


def test_the_same_request_passes_whatever_the_order_of_its_fields() -> None:
    check_same_request(FIRST, dict(reversed(FIRST.items())), first_use="key k was first used")


def test_the_first_differing_field_is_named_with_both_values_as_text() -> None:
    again = {**FIRST, "on": date(2026, 3, 6), "loan_id": "L000002"}
    with pytest.raises(IdempotencyConflict) as caught:
        check_same_request(FIRST, again, first_use="Idempotency-Key k was first used")
    assert caught.value.field == "loan_id"  # fields in sorted order: loan_id before on
    assert caught.value.detail == (
        "Idempotency-Key k was first used with loan_id = 'L000001', now 'L000002'; send the "
        "same request again, or use a new key for a new request"
    )


def test_only_the_named_fields_count_and_a_missing_field_is_a_difference() -> None:
    again = {"amount": money("50.00", "EUR"), "on": date(2026, 3, 6)}
    check_same_request(FIRST, again, first_use="k", names=["amount"])
    with pytest.raises(IdempotencyConflict, match=r"on = '2026-03-05', now '2026-03-06'"):
        check_same_request(FIRST, again, first_use="k", names=["amount", "on"])
    with pytest.raises(IdempotencyConflict, match=r"for a new file$") as caught:
        check_same_request(FIRST, again, first_use="k", new="file", names=["loan_id"])
    assert "loan_id = 'L000001', now None" in caught.value.detail
