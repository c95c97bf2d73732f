"""Journal entries: what a draft refuses, and the hash chain an entry is sealed into."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from moneyed import Money

from ledger.domain.errors import UnbalancedEntry, ValidationError
from ledger.domain.journal import (
    GENESIS_HASH,
    MAX_DESCRIPTION,
    MAX_LEGS,
    Entry,
    EntryDraft,
    Leg,
    balances_by_account,
    canonical_content,
    chain_hash,
    check_reference,
    month_of,
    parse_month,
    reversal_of,
    seal,
)
from ledger.domain.money import money
from ledger.domain.statuses import EntryKind

DAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def eur(amount: str) -> Money:
    return money(amount, "EUR")


def chf(amount: str) -> Money:
    return money(amount, "CHF")


def donation(amount: str = "250.00", **overrides: Any) -> EntryDraft:
    fields: dict[str, Any] = {
        "booking_date": DAY,
        "description": "Donation from a parish",
        "kind": EntryKind.DONATION,
        "legs": (Leg.debit("1000", eur(amount)), Leg.credit("4000", eur(amount))),
    }
    fields.update(overrides)
    return EntryDraft(**fields)


# -- legs -------------------------------------------------------------------------------------


def test_debit_is_positive_and_credit_negative() -> None:
    assert Leg.debit("1000", eur("1.50")).minor == 150
    assert Leg.credit("4000", eur("1.50")).minor == -150
    assert Leg.credit("4000", eur("1.50")).currency == "EUR"


def test_zero_leg_refused() -> None:
    with pytest.raises(ValidationError, match="zero") as err:
        Leg("1000", eur("0.00"))
    assert err.value.field == "legs"


def test_leg_amount_must_be_money() -> None:
    with pytest.raises(TypeError, match="float"):
        Leg("1000", 12.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Money"):
        Leg("1000", Decimal("12.50"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Money"):
        Leg("1000", 1250)  # type: ignore[arg-type]


def test_leg_amount_finer_than_minor_unit_refused() -> None:
    with pytest.raises(ValidationError, match="more decimals"):
        Leg("1000", Money(Decimal("1.001"), "EUR"))


@pytest.mark.parametrize("code", ["", " 1000", "10 00", "-1000", "x" * 41, 1000, None])
def test_leg_account_code_checked(code: object) -> None:
    with pytest.raises(ValidationError) as err:
        Leg(code, eur("1.00"))  # type: ignore[arg-type]
    assert err.value.field == "account"


# -- drafts -----------------------------------------------------------------------------------


def test_balanced_draft_accepted() -> None:
    draft = donation()
    assert draft.kind is EntryKind.DONATION
    assert [leg.minor for leg in draft.legs] == [25000, -25000]
    assert draft.currencies == frozenset({"EUR"})


def test_draft_takes_kind_as_text_and_legs_as_list() -> None:
    draft = donation(
        kind="transfer", legs=[Leg.debit("1000", eur("1")), Leg.credit("3000", eur("1"))]
    )
    assert draft.kind is EntryKind.TRANSFER
    assert isinstance(draft.legs, tuple)


def test_unbalanced_draft_refused_with_difference() -> None:
    legs = (Leg.debit("1000", eur("100.00")), Leg.credit("4000", eur("99.99")))
    with pytest.raises(UnbalancedEntry, match=r"0\.01") as err:
        donation(legs=legs)
    assert err.value.field == "legs"


def test_multi_currency_balanced_per_currency_accepted() -> None:
    legs = (
        Leg.debit("1000", eur("100.00")),
        Leg.credit("4000", eur("100.00")),
        Leg.debit("1001", chf("95.00")),
        Leg.credit("4001", chf("60.00")),
        Leg.credit("4002", chf("35.00")),
    )
    draft = donation(kind=EntryKind.TRANSFER, legs=legs)
    assert draft.currencies == frozenset({"EUR", "CHF"})


def test_unbalanced_in_one_currency_refused_naming_it() -> None:
    legs = (
        Leg.debit("1000", eur("100.00")),
        Leg.credit("4000", eur("100.00")),
        Leg.debit("1001", chf("95.00")),
        Leg.credit("4001", chf("94.00")),
    )
    with pytest.raises(UnbalancedEntry, match="CHF") as err:
        donation(legs=legs)
    assert "EUR" not in err.value.detail


def test_currencies_do_not_offset_each_other() -> None:
    legs = (Leg.debit("1000", eur("100.00")), Leg.credit("1001", chf("100.00")))
    with pytest.raises(UnbalancedEntry) as err:
        donation(legs=legs)
    assert "EUR" in err.value.detail and "CHF" in err.value.detail


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_legs_refused(count: int) -> None:
    legs = (Leg.debit("1000", eur("1.00")),)[:count]
    with pytest.raises(ValidationError, match="two legs") as err:
        donation(legs=legs)
    assert err.value.field == "legs"


def balanced_legs(count: int) -> list[Leg]:
    """``count - 1`` debits of one cent and the credit that balances them."""
    debits = [Leg.debit(f"A{i}", eur("0.01")) for i in range(count - 1)]
    return [*debits, Leg.credit("4000", eur(str(Decimal(count - 1) / 100)))]


def test_too_many_legs_refused() -> None:
    assert len(donation(legs=balanced_legs(MAX_LEGS)).legs) == MAX_LEGS
    with pytest.raises(ValidationError, match=f"at most {MAX_LEGS}") as err:
        donation(legs=balanced_legs(MAX_LEGS + 1))
    assert err.value.field == "legs"


def test_legs_must_be_leg_values() -> None:
    with pytest.raises(TypeError, match="Leg"):
        donation(legs=(Leg.debit("1000", eur("1.00")), ("4000", eur("-1.00"))))


@pytest.mark.parametrize("kind", ["loan", "", "DONATION", None, 3])
def test_unknown_kind_refused(kind: object) -> None:
    with pytest.raises(ValidationError, match="kind") as err:
        donation(kind=kind)
    assert err.value.field == "kind"


@pytest.mark.parametrize("description", ["", "   ", "\n\t", None, 12])
def test_empty_description_refused(description: object) -> None:
    with pytest.raises(ValidationError, match="empty") as err:
        donation(description=description)
    assert err.value.field == "description"


def test_description_length_limit() -> None:
    assert len(donation(description="x" * MAX_DESCRIPTION).description) == MAX_DESCRIPTION
    with pytest.raises(ValidationError, match=f"at most {MAX_DESCRIPTION}") as err:
        donation(description="x" * (MAX_DESCRIPTION + 1))
    assert err.value.field == "description"


@pytest.mark.parametrize("when", [datetime(2026, 3, 1, tzinfo=UTC), "2026-03-01", None])
def test_booking_date_must_be_a_date(when: object) -> None:
    with pytest.raises(ValidationError, match="date") as err:
        donation(booking_date=when)
    assert err.value.field == "booking_date"


@pytest.mark.parametrize("field", ["idempotency_key", "loan_id", "statement_line_id"])
@pytest.mark.parametrize("value", ["", "has space", "x" * 65, "é", 12])
def test_references_checked(field: str, value: object) -> None:
    overrides: dict[str, Any] = {field: value}
    with pytest.raises(ValidationError) as err:
        donation(**overrides)
    assert err.value.field == field


def test_references_accepted() -> None:
    draft = donation(idempotency_key="k" * 64, loan_id="L-2026-001", statement_line_id="st:1/2")
    assert draft.idempotency_key == "k" * 64
    assert check_reference(None, "loan_id") is None


@pytest.mark.parametrize("value", [0, -1, True, "3", 1.0])
def test_reverses_id_must_be_positive_int(value: object) -> None:
    with pytest.raises(ValidationError) as err:
        donation(reverses_id=value)
    assert err.value.field == "reverses_id"


def test_draft_is_immutable() -> None:
    draft = donation()
    with pytest.raises(dataclasses.FrozenInstanceError):
        draft.description = "changed"  # type: ignore[misc]


def test_balances_by_account() -> None:
    legs = [
        Leg.debit("1000", eur("1.00")),
        Leg.debit("1000", eur("2.00")),
        Leg.credit("4000", eur("3.00")),
        Leg.debit("1000", chf("5.00")),
    ]
    assert balances_by_account(legs) == {
        ("1000", "EUR"): 300,
        ("4000", "EUR"): -300,
        ("1000", "CHF"): 500,
    }


# -- months -----------------------------------------------------------------------------------


def test_month_of() -> None:
    assert month_of(date(2026, 1, 31)) == "2026-01"
    assert month_of(date(987, 12, 1)) == "0987-12"


@pytest.mark.parametrize("text", ["2026-1", "2026-13", "2026-00", "1899-12", "26-01", 202601, None])
def test_parse_month_refuses(text: object) -> None:
    with pytest.raises(ValidationError) as err:
        parse_month(text)
    assert err.value.field == "month"


def test_parse_month_accepts() -> None:
    assert parse_month("2026-12") == "2026-12"


# -- sealing and the hash chain ---------------------------------------------------------------


def sealed(draft: EntryDraft | None = None, **overrides: Any) -> Entry:
    args: dict[str, Any] = {"id": 7, "author": "tina", "created_at": NOW, "prev_hash": "a" * 64}
    args.update(overrides)
    return seal(draft or donation(), **args)


def test_seal_is_deterministic() -> None:
    first, second = sealed(), sealed()
    assert first.hash == second.hash
    assert len(first.hash) == 64 and int(first.hash, 16) >= 0
    assert first.prev_hash == "a" * 64
    assert (first.id, first.author, first.created_at) == (7, "tina", NOW)
    assert first.legs == donation().legs


def test_seal_hash_matches_chain_hash_of_canonical_content() -> None:
    entry = sealed()
    content = canonical_content(
        id=7,
        booking_date=DAY,
        description="Donation from a parish",
        kind="donation",
        legs=[("1000", 25000, "EUR"), ("4000", -25000, "EUR")],
        author="tina",
        created_at=NOW,
        loan_id=None,
        statement_line_id=None,
        reverses_id=None,
        idempotency_key=None,
    )
    assert entry.hash == chain_hash("a" * 64, content)


def test_seal_ignores_leg_order() -> None:
    draft = donation()
    swapped = donation(legs=tuple(reversed(draft.legs)))
    assert sealed(draft).hash == sealed(swapped).hash


def test_seal_uses_utc_instant_not_local_representation() -> None:
    brussels = NOW.astimezone(timezone(timedelta(hours=1)))
    assert sealed(created_at=brussels).hash == sealed().hash


def test_seal_refuses_naive_time() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        sealed(created_at=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("draft_changes", "seal_changes"),
    [
        ({"booking_date": date(2026, 3, 2)}, {}),
        ({"description": "Donation from a parisH"}, {}),
        ({"kind": EntryKind.CAPITAL}, {}),
        ({"legs": (Leg.debit("1000", eur("250.01")), Leg.credit("4000", eur("250.01")))}, {}),
        ({"legs": (Leg.debit("1001", eur("250.00")), Leg.credit("4000", eur("250.00")))}, {}),
        ({"legs": (Leg.debit("1000", chf("250.00")), Leg.credit("4000", chf("250.00")))}, {}),
        ({"loan_id": "L1"}, {}),
        ({"statement_line_id": "S1"}, {}),
        ({"reverses_id": 3}, {}),
        ({"idempotency_key": "key-1"}, {}),
        ({}, {"id": 8}),
        ({}, {"author": "tino"}),
        ({}, {"created_at": NOW + timedelta(microseconds=1)}),
        ({}, {"prev_hash": "b" * 64}),
    ],
)
def test_hash_depends_on_every_field(
    draft_changes: dict[str, Any], seal_changes: dict[str, Any]
) -> None:
    assert sealed(donation(**draft_changes), **seal_changes).hash != sealed().hash


def test_chain_hash_links_to_previous() -> None:
    content = b'{"id":1}'
    assert chain_hash(GENESIS_HASH, content) == chain_hash(GENESIS_HASH, content)
    assert chain_hash(GENESIS_HASH, content) != chain_hash("1" * 64, content)
    assert chain_hash(GENESIS_HASH, content) != chain_hash(GENESIS_HASH, b'{"id":2}')


def test_entries_chain_one_after_another() -> None:
    first = seal(donation(), id=1, author="t", created_at=NOW, prev_hash=GENESIS_HASH)
    second = seal(donation(), id=2, author="t", created_at=NOW, prev_hash=first.hash)
    assert second.prev_hash == first.hash
    assert second.hash != first.hash


# -- reversals --------------------------------------------------------------------------------


def test_reversal_mirrors_legs_and_points_back() -> None:
    original = sealed(donation(loan_id="L1", statement_line_id="S9"))
    rev = reversal_of(original, booking_date=date(2026, 3, 20), idempotency_key="rev-7")
    assert rev.kind is EntryKind.REVERSAL
    assert rev.reverses_id == 7
    assert rev.booking_date == date(2026, 3, 20)
    assert [(leg.account_code, leg.minor) for leg in rev.legs] == [
        ("1000", -25000),
        ("4000", 25000),
    ]
    assert (rev.loan_id, rev.statement_line_id, rev.idempotency_key) == ("L1", "S9", "rev-7")
    assert rev.description == "Reversal of entry 7: Donation from a parish"


def test_reversal_description_kept_within_limit() -> None:
    original = sealed(donation(description="d" * MAX_DESCRIPTION))
    rev = reversal_of(original, booking_date=DAY)
    assert len(rev.description) == MAX_DESCRIPTION
    assert rev.description.startswith("Reversal of entry 7: ddd")


def test_reversal_with_own_description() -> None:
    rev = reversal_of(sealed(), booking_date=DAY, description="Booked twice by mistake")
    assert rev.description == "Booked twice by mistake"


def test_reversal_of_reversal_restores_the_original_legs() -> None:
    original = sealed()
    rev = seal(
        reversal_of(original, booking_date=DAY),
        id=8,
        author="t",
        created_at=NOW,
        prev_hash=original.hash,
    )
    again = reversal_of(rev, booking_date=DAY)
    assert again.legs == original.legs
    assert again.reverses_id == 8
