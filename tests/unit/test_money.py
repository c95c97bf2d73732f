"""Exact money: floats refused, currencies' minor units, exact splitting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from moneyed import Money

from ledger.domain.errors import ValidationError
from ledger.domain.money import (
    allocate,
    currency,
    from_minor,
    minor_digits,
    money,
    parse_amount,
    quantize,
    split_evenly,
    to_minor,
)


def eur(amount: str) -> Money:
    return money(amount, "EUR")


def amounts(parts: list[Money]) -> list[str]:
    return [str(p.amount) for p in parts]


# -- floats never become money ----------------------------------------------------------------


@pytest.mark.parametrize("value", [0.1, 1.0, 0.0, float("nan"), float("inf")])
def test_money_refuses_float(value: float) -> None:
    with pytest.raises(TypeError, match="float"):
        money(value, "EUR")


def test_parse_amount_refuses_float() -> None:
    with pytest.raises(TypeError, match="float"):
        parse_amount(12.34, "EUR")


def test_to_minor_refuses_float() -> None:
    with pytest.raises(TypeError, match="float"):
        to_minor(12.34)  # type: ignore[arg-type]


def test_from_minor_refuses_float() -> None:
    with pytest.raises(TypeError, match="float"):
        from_minor(1234.0, "EUR")  # type: ignore[arg-type]


def test_allocate_refuses_float_ratio() -> None:
    with pytest.raises(TypeError, match="float"):
        allocate(eur("10.00"), [0.5, 0.5])  # type: ignore[list-item]


def test_quantize_refuses_float() -> None:
    with pytest.raises(TypeError, match="float"):
        quantize(0.125, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, True, False, [1], b"1.00", object()])
def test_parse_amount_refuses_other_types(value: object) -> None:
    with pytest.raises(TypeError):
        parse_amount(value, "EUR")


@pytest.mark.parametrize("value", ["12", 12, True])
def test_to_minor_needs_money(value: object) -> None:
    with pytest.raises(TypeError, match="Money"):
        to_minor(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, "12", Decimal("12")])
def test_from_minor_needs_int(value: object) -> None:
    with pytest.raises(TypeError, match="int"):
        from_minor(value, "EUR")  # type: ignore[arg-type]


# -- currencies -------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "digits"), [("EUR", 2), ("CHF", 2), ("JPY", 0), ("BHD", 3)])
def test_minor_digits(code: str, digits: int) -> None:
    assert minor_digits(code) == digits


@pytest.mark.parametrize("code", ["ZZZ", "QQQ"])
def test_unknown_currency_refused(code: str) -> None:
    with pytest.raises(ValidationError, match="unknown") as err:
        money("1.00", code)
    assert err.value.field == "currency"


@pytest.mark.parametrize("code", ["eur", "EURO", "EU", "", "E1R", 978, None])
def test_malformed_currency_refused(code: object) -> None:
    with pytest.raises(ValidationError, match="ISO 4217") as err:
        currency(code)
    assert err.value.field == "currency"


def test_currency_known() -> None:
    assert currency("CHF").code == "CHF"


# -- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code", "minor"),
    [
        ("12.34", "EUR", 1234),
        (" 12.34 ", "EUR", 1234),
        ("12", "EUR", 1200),
        (12, "EUR", 1200),
        (Decimal("0.01"), "EUR", 1),
        ("-7.5", "CHF", -750),
        ("1000", "JPY", 1000),
        ("1.005", "BHD", 1005),
        ("1.000", "EUR", 100),  # trailing zeros are not extra precision
        ("1E+2", "EUR", 10000),
    ],
)
def test_money_exact(value: object, code: str, minor: int) -> None:
    amount = money(value, code)
    assert amount.currency.code == code
    assert to_minor(amount) == minor
    assert from_minor(minor, code) == amount


@pytest.mark.parametrize(
    ("value", "code"),
    [("1.005", "EUR"), ("0.001", "CHF"), ("1.5", "JPY"), ("0.0001", "BHD"), ("1E-3", "EUR")],
)
def test_too_many_decimals_refused(value: str, code: str) -> None:
    with pytest.raises(ValidationError, match=f"more decimals than {code} allows") as err:
        money(value, code)
    assert err.value.field == "amount"


def test_to_minor_refuses_money_finer_than_minor_unit() -> None:
    with pytest.raises(ValidationError, match="more decimals"):
        to_minor(Money(Decimal("1.005"), "EUR"))


@pytest.mark.parametrize("value", ["abc", "", " ", "1,50", "12.3.4", "NaN", "Infinity", "-inf"])
def test_not_a_number_refused(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_amount(value, "EUR", field="principal")
    assert err.value.field == "principal"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1e30", "EUR"),
        ("1E+40", "EUR"),
        ("9" * 40, "EUR"),
        ("-92233720368547758.08", "EUR"),
        ("9223372036854775808", "JPY"),
        ("9223372036854775.808", "BHD"),
    ],
)
def test_amount_beyond_64_bit_minor_units_refused(value: str, code: str) -> None:
    # The store keeps minor units in BIGINT: a larger amount must be refused, not crash later.
    with pytest.raises(ValidationError, match="too large") as err:
        parse_amount(value, code)
    assert err.value.field == "amount"


def test_largest_storable_amount_accepted() -> None:
    assert to_minor(money("92233720368547758.07", "EUR")) == 2**63 - 1
    assert to_minor(money("-92233720368547758.07", "EUR")) == -(2**63 - 1)
    assert to_minor(money("9223372036854775807", "JPY")) == 2**63 - 1


def test_quantize_rounds_half_to_even() -> None:
    assert quantize(Decimal("0.125"), "EUR") == Decimal("0.12")
    assert quantize(Decimal("0.135"), "EUR") == Decimal("0.14")
    assert quantize(Decimal("2.5"), "JPY") == Decimal("2")
    assert quantize(Decimal("3.5"), "JPY") == Decimal("4")


def test_from_minor_uses_currency_exponent() -> None:
    assert from_minor(1005, "BHD").amount == Decimal("1.005")
    assert from_minor(1005, "JPY").amount == Decimal("1005")
    assert from_minor(-1, "EUR").amount == Decimal("-0.01")


# -- allocate ---------------------------------------------------------------------------------


def test_allocate_thirds_exact() -> None:
    parts = allocate(eur("1000.00"), [1, 1, 1])
    assert amounts(parts) == ["333.34", "333.33", "333.33"]
    assert sum(to_minor(p) for p in parts) == 100000


def test_allocate_by_ratio() -> None:
    assert amounts(allocate(eur("100.00"), [1, 2])) == ["33.33", "66.67"]
    assert amounts(allocate(eur("0.05"), [3, 0, 1])) == ["0.04", "0.00", "0.01"]


def test_allocate_leftover_goes_to_largest_remainder_first() -> None:
    # 0.10 * 1/6 = 1.67 cents, 0.10 * 5/6 = 8.33 cents: the leftover cent goes to the first.
    assert amounts(allocate(eur("0.10"), [1, 5])) == ["0.02", "0.08"]


def test_allocate_negative_total_is_symmetric() -> None:
    assert amounts(allocate(eur("-1.00"), [1, 1, 1])) == ["-0.34", "-0.33", "-0.33"]


def test_allocate_jpy_and_bhd() -> None:
    assert amounts(allocate(money("1000", "JPY"), [1, 1, 1])) == ["334", "333", "333"]
    assert amounts(allocate(money("1.000", "BHD"), [1, 1, 1])) == ["0.334", "0.333", "0.333"]


@pytest.mark.parametrize("ratios", [[], [0, 0], [1, -1], [True, 1], ["1", 1]])
def test_allocate_refuses_bad_ratios(ratios: list[object]) -> None:
    with pytest.raises(ValidationError) as err:
        allocate(eur("1.00"), ratios)  # type: ignore[arg-type]
    assert err.value.field == "ratios"


# -- split_evenly -----------------------------------------------------------------------------


def test_split_evenly_last_takes_the_difference() -> None:
    assert amounts(split_evenly(eur("1000.00"), 3)) == ["333.33", "333.33", "333.34"]
    assert amounts(split_evenly(eur("100.00"), 6)) == ["16.67"] * 5 + ["16.65"]
    assert amounts(split_evenly(money("1000", "JPY"), 3)) == ["333", "333", "334"]
    assert amounts(split_evenly(money("1.000", "BHD"), 3)) == ["0.333", "0.333", "0.334"]


def test_split_evenly_rounds_half_to_even() -> None:
    # 0.05 / 2 = 2.5 cents: half-even gives 2, the last part 3.
    assert amounts(split_evenly(eur("0.05"), 2)) == ["0.02", "0.03"]
    # 0.07 / 2 = 3.5 cents: half-even gives 4, the last part 3.
    assert amounts(split_evenly(eur("0.07"), 2)) == ["0.04", "0.03"]


def test_split_evenly_never_leaves_a_part_zero_or_negative() -> None:
    # 0.09 / 6 = 1.5 cents rounds to 2, and 5 * 2 > 9: the split falls back to rounding down.
    parts = split_evenly(eur("0.09"), 6)
    assert amounts(parts) == ["0.01"] * 5 + ["0.04"]
    assert amounts(split_evenly(eur("0.03"), 3)) == ["0.01", "0.01", "0.01"]


def test_split_evenly_whole_units_round_up_and_last_is_smaller() -> None:
    assert amounts(split_evenly(eur("1000.00"), 3, whole_units=True)) == [
        "334.00",
        "334.00",
        "332.00",
    ]
    assert amounts(split_evenly(eur("10.00"), 3, whole_units=True)) == ["4.00", "4.00", "2.00"]
    assert amounts(split_evenly(eur("10.50"), 3, whole_units=True)) == ["4.00", "4.00", "2.50"]
    assert amounts(split_evenly(money("1000", "JPY"), 3, whole_units=True)) == [
        "334",
        "334",
        "332",
    ]


def test_split_evenly_whole_units_uses_fewer_parts_rather_than_a_zero_one() -> None:
    # 1.00 in 3 whole-unit parts would be 1, 0, 0: one part of 1.00 instead.
    assert amounts(split_evenly(eur("1.00"), 3, whole_units=True)) == ["1.00"]
    # 10.00 in 6: 2.00 each would need only 5 parts; never a part of zero.
    parts = split_evenly(eur("10.00"), 6, whole_units=True)
    assert amounts(parts) == ["2.00"] * 5
    assert amounts(split_evenly(eur("0.50"), 2, whole_units=True)) == ["0.50"]


@pytest.mark.parametrize("parts", [0, -1, True, 2.0, "3"])
def test_split_evenly_refuses_bad_part_count(parts: object) -> None:
    with pytest.raises(ValidationError) as err:
        split_evenly(eur("10.00"), parts)  # type: ignore[arg-type]
    assert err.value.field == "parts"


@pytest.mark.parametrize("total", ["0.00", "-10.00"])
def test_split_evenly_refuses_non_positive_total(total: str) -> None:
    with pytest.raises(ValidationError, match="positive") as err:
        split_evenly(eur(total), 2)
    assert err.value.field == "amount"


def test_split_evenly_refuses_more_parts_than_minor_units() -> None:
    with pytest.raises(ValidationError, match="cannot be split") as err:
        split_evenly(eur("0.02"), 3)
    assert err.value.field == "parts"
