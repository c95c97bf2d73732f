"""Splitting money never loses or invents a minor unit, whatever the amount and currency."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st
from moneyed import Money

from ledger.domain.money import allocate, from_minor, minor_digits, money, split_evenly, to_minor

CURRENCIES = st.sampled_from(["EUR", "JPY", "CHF", "BHD"])
TOTALS = st.one_of(st.integers(1, 10_000), st.integers(1, 10**15))
RATIOS = st.lists(st.integers(0, 1_000), min_size=1, max_size=40).filter(lambda r: sum(r) > 0)


def minors(parts: Sequence[Money]) -> list[int]:
    return [to_minor(p) for p in parts]


@given(CURRENCIES, st.integers(-(10**15), 10**15))
def test_minor_units_round_trip(code: str, minor: int) -> None:
    amount = from_minor(minor, code)
    assert to_minor(amount) == minor
    assert money(str(amount.amount), code) == amount
    assert amount.amount.as_tuple().exponent == -minor_digits(code)


@given(CURRENCIES, TOTALS, st.integers(1, 60))
@example("EUR", 100_000, 3)
@example("EUR", 9, 6)
@example("JPY", 1, 1)
def test_split_evenly_exact(code: str, total: int, parts: int) -> None:
    if parts > total:
        return  # refused, see the unit tests
    sizes = minors(split_evenly(from_minor(total, code), parts))
    assert len(sizes) == parts
    assert sum(sizes) == total
    assert all(s > 0 for s in sizes)
    equal, last = sizes[0], sizes[-1]
    assert sizes[:-1] == [equal] * (parts - 1)
    # The equal part is the exact share rounded half-even, or rounded down where that would
    # have left the last part at zero or below.
    half_even = int((Decimal(total) / parts).to_integral_value(rounding=ROUND_HALF_EVEN))
    assert equal == half_even or (equal == total // parts and total - half_even * (parts - 1) <= 0)
    # The last part absorbs the rounding: off by less than one minor unit per part.
    assert abs(last - Fraction(total, parts)) < parts


@given(CURRENCIES, TOTALS, st.integers(1, 60))
@example("EUR", 100_000, 3)
@example("EUR", 100, 3)
def test_split_evenly_whole_units(code: str, total: int, parts: int) -> None:
    if parts > total:
        return
    unit = 10 ** minor_digits(code)
    sizes = minors(split_evenly(from_minor(total, code), parts, whole_units=True))
    assert sum(sizes) == total
    assert 1 <= len(sizes) <= parts
    assert all(s > 0 for s in sizes)
    equal = sizes[0]
    assert equal % unit == 0 or len(sizes) == 1
    assert sizes[:-1] == [equal] * (len(sizes) - 1)
    assert sizes[-1] <= equal
    if len(sizes) > 1:
        # Rounded up to the next whole unit, never further.
        assert equal == -(-total // (parts * unit)) * unit
    if len(sizes) < parts:
        # Fewer parts only when all of them would not have been needed.
        assert equal * len(sizes) >= total


@given(CURRENCIES, TOTALS, RATIOS)
def test_allocate_exact_and_fair(code: str, total: int, ratios: list[int]) -> None:
    parts = minors(allocate(from_minor(total, code), ratios))
    assert len(parts) == len(ratios)
    assert sum(parts) == total
    weight = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        share = Fraction(total * ratio, weight)
        assert part >= 0
        # Every part is its exact share rounded down or up: never more than a unit away.
        assert share - 1 < part < share + 1
        if ratio == 0:
            assert part == 0


@given(CURRENCIES, TOTALS, st.integers(1, 40))
def test_allocate_equal_ratios_differ_by_at_most_one(code: str, total: int, n: int) -> None:
    parts = minors(allocate(from_minor(total, code), [1] * n))
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)  # leftovers go to the earliest parts


@given(CURRENCIES, TOTALS, RATIOS)
def test_allocate_negative_is_the_mirror(code: str, total: int, ratios: list[int]) -> None:
    positive = minors(allocate(from_minor(total, code), ratios))
    negative = minors(allocate(from_minor(-total, code), ratios))
    assert negative == [-p for p in positive]
