"""Exact money: py-moneyed ``Money`` in the domain, integer minor units in storage.

A float never becomes money: every entry point here refuses one with ``TypeError``, because a
binary float cannot hold most decimal amounts exactly (0.1 + 0.2 != 0.3).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation
from typing import cast

from moneyed import Currency, CurrencyDoesNotExist, Money, get_currency

from ledger.domain.errors import ValidationError

__all__ = [
    "Money",
    "allocate",
    "amount_text",
    "currency",
    "from_minor",
    "minor_digits",
    "money",
    "parse_amount",
    "quantize",
    "split_evenly",
    "to_minor",
]


def currency(code: object) -> Currency:
    """The ISO 4217 currency for ``code``; an unknown code is a ``ValidationError``."""
    if type(code) is str:
        known = _KNOWN.get(code)
        if known is not None:
            return known[1]
    elif not isinstance(code, str):
        raise ValidationError(
            f"currency {code!r} is not an ISO 4217 code: use three capital letters, e.g. EUR",
            field="currency",
        )
    return _currency(code)


def minor_digits(code: str) -> int:
    """Digits after the decimal point: EUR and CHF 2, JPY 0, BHD 3."""
    if type(code) is str:
        known = _KNOWN.get(code)
        if known is not None:
            return known[0]
    return _know(code)[0]


# Every leg converts between Money and minor units, so the hot path looks a code up in this
# dict: (minor digits, Currency) of each code that passed every check. Refused codes are never
# stored, and the lookups above take exact ``str`` keys only, so any other input goes the long
# way and meets the same checks and messages as before.
_KNOWN: dict[str, tuple[int, Currency]] = {}


def _know(code: object) -> tuple[int, Currency]:
    cur = currency(code)
    known = (_minor_digits(cast(str, code)), cur)
    if type(code) is str:
        _KNOWN[code] = known
    return known


# Every amount looks its currency up several times; the ISO table does not change while we
# run, so each code is checked once. Refusals raise and are therefore never cached.
@functools.cache
def _currency(code: str) -> Currency:
    if len(code) != 3 or not code.isalpha() or not code.isupper():
        raise ValidationError(
            f"currency {code!r} is not an ISO 4217 code: use three capital letters, e.g. EUR",
            field="currency",
        )
    try:
        cur = get_currency(code)
    except CurrencyDoesNotExist:
        raise ValidationError(
            f"currency {code!r} is unknown: use an ISO 4217 code such as EUR or CHF",
            field="currency",
        ) from None
    if cur.sub_unit is None or cur.sub_unit < 1:
        raise ValidationError(
            f"currency {code!r} has no minor unit and cannot be booked", field="currency"
        )
    return cur


@functools.cache
def _minor_digits(code: str) -> int:
    sub_unit = _currency(code).sub_unit
    digits = len(str(sub_unit)) - 1
    if 10**digits != sub_unit:
        raise ValidationError(f"currency {code!r} has a non-decimal minor unit", field="currency")
    return digits


#: The store keeps minor units in signed 64-bit integers; a larger amount is refused up front.
MAX_MINOR = 2**63 - 1
_MAX_MINOR = Decimal(MAX_MINOR)  # exact; compared with a Decimal sooner than the int is


def _refuse_float(value: object) -> None:
    if isinstance(value, float):
        raise TypeError(
            "money must not be a float (binary floats cannot hold decimal amounts exactly); "
            "pass a Decimal, a decimal string such as '12.34' or integer minor units"
        )


def _exponent(code: str) -> Decimal:
    return Decimal(1).scaleb(-minor_digits(code))


def parse_amount(value: object, code: str, *, field: str = "amount") -> Decimal:
    """A Decimal with at most the currency's minor digits, from a Decimal, int or string."""
    _refuse_float(value)
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{field} must be a Decimal, an int or a decimal string, not {type(value)}")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValidationError(
            f"{field} {value!r} is not a decimal number: write it like 12.34", field=field
        ) from None
    if not amount.is_finite():
        raise ValidationError(f"{field} must be a finite number", field=field)
    digits = minor_digits(code)
    if abs(amount).scaleb(digits) > MAX_MINOR:
        raise ValidationError(f"{field} {value} is too large to be booked", field=field)
    if amount != amount.quantize(_exponent(code), rounding=ROUND_HALF_EVEN):
        raise ValidationError(
            f"{field} {value} has more decimals than {code} allows ({digits})", field=field
        )
    return amount


def money(amount: object, code: str) -> Money:
    """Build ``Money`` safely: refuses floats and amounts finer than the currency's minor unit."""
    return Money(parse_amount(amount, code), currency(code))


def quantize(amount: Decimal, code: str) -> Decimal:
    """Round to the currency's minor unit, half to even (banker's rounding)."""
    _refuse_float(amount)
    return amount.quantize(_exponent(code), rounding=ROUND_HALF_EVEN)


def to_minor(value: Money) -> int:
    """Integer minor units of ``value``; refuses an amount finer than the minor unit."""
    if not isinstance(value, Money):
        _refuse_float(value)
        raise TypeError(f"expected Money, got {type(value).__name__}")
    code = value.currency.code
    amount = value.amount
    if not isinstance(amount, Decimal) or not amount.is_finite():
        amount = parse_amount(amount, code)  # says what is wrong with it
    known = _KNOWN.get(code) if type(code) is str else None
    scaled = amount.scaleb(known[0] if known is not None else minor_digits(code))
    if scaled != scaled.to_integral_value() or abs(scaled) > _MAX_MINOR:
        parse_amount(amount, code)  # raises, naming the problem
    return int(scaled)


def from_minor(minor: int, code: str) -> Money:
    """``Money`` from integer minor units."""
    if type(minor) is not int:
        _refuse_float(minor)
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise TypeError(f"minor units must be an int, got {type(minor).__name__}")
    known = _KNOWN.get(code) if type(code) is str else None
    if known is None:
        known = _know(code)
    return Money(Decimal(minor).scaleb(-known[0]), known[1])


def amount_text(minor: int, code: str) -> str:
    """``str(from_minor(minor, code).amount)``, without making the Money: "250.00", "-0.05"."""
    known = _KNOWN.get(code) if type(code) is str else None
    if known is None or type(minor) is not int:
        return str(from_minor(minor, code).amount)  # checks, as from_minor does
    return str(Decimal(minor).scaleb(-known[0]))


def allocate(total: Money, ratios: Sequence[int]) -> list[Money]:
    """Split ``total`` by integer ``ratios`` so that the parts sum to it exactly.

    Each part is rounded down in minor units; the cents left over go one by one to the parts
    with the largest remainders (earliest first on ties). Negative totals split symmetrically.
    """
    if not ratios:
        raise ValidationError("allocate needs at least one ratio", field="ratios")
    for r in ratios:
        _refuse_float(r)
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise ValidationError("ratios must be non-negative integers", field="ratios")
    weight = sum(ratios)
    if weight == 0:
        raise ValidationError("ratios must not all be zero", field="ratios")
    code = total.currency.code
    minor = to_minor(total)
    sign = -1 if minor < 0 else 1
    magnitude = abs(minor)
    shares = [magnitude * r // weight for r in ratios]
    remainders = [magnitude * r % weight for r in ratios]
    left = magnitude - sum(shares)
    order = sorted(range(len(ratios)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return [from_minor(sign * s, code) for s in shares]


def split_evenly(total: Money, parts: int, *, whole_units: bool = False) -> list[Money]:
    """Split into ``parts`` installments: equal ones and a last one that takes the difference.

    Default: ``total / parts`` rounded half-even to the minor unit, the last part absorbing the
    rounding (1000.00 / 3 = 333.33, 333.33, 333.34). With ``whole_units`` the equal part is
    rounded *up* to a whole currency unit and the last part is smaller; the number of parts
    shrinks when needed so that no part is zero or negative.
    """
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ValidationError("the number of parts must be a positive integer", field="parts")
    code = total.currency.code
    minor = to_minor(total)
    if minor <= 0:
        raise ValidationError("only a positive amount can be split", field="amount")
    if parts > minor:
        raise ValidationError(
            f"{total} cannot be split into {parts} parts of at least one minor unit",
            field="parts",
        )
    unit = 10 ** minor_digits(code)
    if whole_units:
        equal = int((Decimal(minor) / parts / unit).to_integral_value(rounding=ROUND_UP)) * unit
        count = min(parts, -(-minor // equal))
        sizes = [equal] * (count - 1) + [minor - equal * (count - 1)]
    else:
        equal = int((Decimal(minor) / parts).to_integral_value(rounding=ROUND_HALF_EVEN))
        sizes = [equal] * (parts - 1) + [minor - equal * (parts - 1)]
        if sizes[-1] <= 0:
            # Half-even rounding up by a fraction of a cent on many parts can overshoot;
            # rounding down then keeps every part positive and the last one the largest.
            equal = minor // parts
            sizes = [equal] * (parts - 1) + [minor - equal * (parts - 1)]
    # Money is immutable: the equal installments can share one value.
    made: dict[int, Money] = {}
    return [made[s] if s in made else made.setdefault(s, from_minor(s, code)) for s in sizes]
