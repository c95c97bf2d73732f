"""Entry validation and sealing, over generated entries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ledger.domain.errors import UnbalancedEntry, ValidationError
from ledger.domain.journal import MAX_LEGS, Entry, EntryDraft, Leg, seal
from ledger.domain.money import from_minor
from ledger.domain.statuses import EntryKind
from tests.support.entries import (
    CURRENCIES,
    amounts,
    balanced_legs,
    days,
    descriptions,
    drafts,
    moments,
    references,
    texts,
)


@given(balanced_legs())
def test_any_balanced_legs_accepted(legs: list[Leg]) -> None:
    assume(2 <= len(legs) <= MAX_LEGS)
    draft = EntryDraft(date(2026, 3, 1), "generated", EntryKind.TRANSFER, tuple(legs))
    assert draft.legs == tuple(legs)
    for code in draft.currencies:
        assert sum(leg.minor for leg in draft.legs if leg.currency == code) == 0


@given(balanced_legs(), st.data())
def test_changing_one_leg_unbalances(legs: list[Leg], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(legs) - 1), label="leg")
    delta = data.draw(amounts, label="delta")
    changed_minor = legs[i].minor + delta
    assume(changed_minor != 0)
    legs[i] = Leg(legs[i].account_code, from_minor(changed_minor, legs[i].currency))
    with pytest.raises(UnbalancedEntry, match=legs[i].currency):
        EntryDraft(date(2026, 3, 1), "generated", EntryKind.TRANSFER, tuple(legs))


@given(balanced_legs(), st.data())
def test_dropping_one_leg_unbalances(legs: list[Leg], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(legs) - 1), label="leg")
    rest = legs[:i] + legs[i + 1 :]
    with pytest.raises(ValidationError):  # unbalanced, or fewer than two legs
        EntryDraft(date(2026, 3, 1), "generated", EntryKind.TRANSFER, tuple(rest))


@given(balanced_legs(max_currencies=1), st.data())
def test_moving_a_leg_to_another_currency_unbalances(legs: list[Leg], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(legs) - 1), label="leg")
    other = data.draw(st.sampled_from([c for c in CURRENCIES if c != legs[i].currency]))
    legs[i] = Leg(legs[i].account_code, from_minor(legs[i].minor, other))
    with pytest.raises(UnbalancedEntry):
        EntryDraft(date(2026, 3, 1), "generated", EntryKind.TRANSFER, tuple(legs))


SEAL = {
    "id": 1,
    "author": "tina",
    "created_at": datetime(2026, 3, 15, tzinfo=UTC),
    "prev_hash": "0" * 64,
}


def sealed(draft: EntryDraft, **changes: Any) -> Entry:
    return seal(draft, **{**SEAL, **changes})


@given(drafts())
def test_seal_is_deterministic_and_ignores_leg_order(draft: EntryDraft) -> None:
    again = EntryDraft(
        booking_date=draft.booking_date,
        description=draft.description,
        kind=draft.kind,
        legs=tuple(reversed(draft.legs)),
        loan_id=draft.loan_id,
        statement_line_id=draft.statement_line_id,
        reverses_id=draft.reverses_id,
        idempotency_key=draft.idempotency_key,
    )
    assert sealed(draft).hash == sealed(again).hash


def leg_set(legs: tuple[Leg, ...]) -> list[tuple[str, int, str]]:
    return sorted((leg.account_code, leg.minor, leg.currency) for leg in legs)


DRAFT_FIELDS = [
    "booking_date",
    "description",
    "kind",
    "legs",
    "loan_id",
    "statement_line_id",
    "reverses_id",
    "idempotency_key",
]


@given(drafts(), st.sampled_from(DRAFT_FIELDS), st.data())
def test_hash_changes_with_any_content(draft: EntryDraft, name: str, data: st.DataObject) -> None:
    values: dict[str, Any] = {f: getattr(draft, f) for f in DRAFT_FIELDS}
    new: Any = data.draw(
        {
            "booking_date": days,
            "description": descriptions,
            "kind": st.sampled_from(list(EntryKind)),
            "legs": balanced_legs().map(tuple),
            "loan_id": references,
            "statement_line_id": references,
            "reverses_id": st.none() | st.integers(1, 10**9),
            "idempotency_key": references,
        }[name],
        label=name,
    )
    if name == "legs":
        assume(leg_set(new) != leg_set(draft.legs))
    else:
        assume(new != values[name])
    values[name] = new
    assert sealed(EntryDraft(**values)).hash != sealed(draft).hash


@given(
    drafts(),
    st.sampled_from(["id", "author", "created_at", "prev_hash"]),
    st.data(),
)
def test_hash_changes_with_position_author_and_time(
    draft: EntryDraft, name: str, data: st.DataObject
) -> None:
    new: Any = data.draw(
        {
            "id": st.integers(1, 10**12),
            "author": texts,
            "created_at": moments,
            "prev_hash": st.text("0123456789abcdef", min_size=64, max_size=64),
        }[name],
        label=name,
    )
    assume(new != SEAL[name])
    assert sealed(draft, **{name: new}).hash != sealed(draft).hash


@given(moments, st.integers(-12 * 60, 14 * 60))
def test_hash_depends_on_the_instant_not_the_time_zone(moment: datetime, offset: int) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=offset)))
    draft = EntryDraft(
        date(2026, 3, 1),
        "x",
        EntryKind.TRANSFER,
        (Leg("1", from_minor(1, "EUR")), Leg("2", from_minor(-1, "EUR"))),
    )
    assert sealed(draft, created_at=local).hash == sealed(draft, created_at=moment).hash
