"""The hot path's fast code gives exactly what the plain definitions give, for any input.

``canonical_content`` (what entry hashes are computed over), ``draft_request`` (what stored
idempotency records are compared with) and the money conversions every leg goes through are
written for speed. The plain definitions they replaced are kept here, verbatim, as references:
for generated input, valid or not, both must return the same value (to the Decimal exponent and
the byte) or raise the same error with the same message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from moneyed import Currency, CurrencyDoesNotExist, Money, get_currency

from ledger.domain.accounts import check_code
from ledger.domain.errors import ValidationError
from ledger.domain.journal import EntryDraft, Leg, canonical_content, month_of
from ledger.domain.money import (
    MAX_MINOR,
    amount_text,
    currency,
    from_minor,
    minor_digits,
    to_minor,
)
from ledger.domain.statuses import EntryKind
from ledger.services.journal import draft_request
from tests.support.entries import drafts

# -- the references -----------------------------------------------------------------------------


def ref_canonical_content(
    *,
    id: int,
    booking_date: date,
    description: str,
    kind: str,
    legs: Iterable[tuple[str, int, str]],
    author: str,
    created_at: datetime,
    loan_id: str | None,
    statement_line_id: str | None,
    reverses_id: int | None,
    idempotency_key: str | None,
) -> bytes:
    doc = {
        "id": id,
        "booking_date": booking_date.isoformat(),
        "description": description,
        "kind": str(kind),
        "legs": sorted([code, minor, cur] for code, minor, cur in legs),
        "author": author,
        "created_at": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "loan_id": loan_id,
        "statement_line_id": statement_line_id,
        "reverses_id": reverses_id,
        "idempotency_key": idempotency_key,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def ref_draft_request(draft: EntryDraft) -> dict[str, Any]:
    return {
        "booking_date": draft.booking_date.isoformat(),
        "description": draft.description,
        "kind": draft.kind.value,
        "legs": [
            [leg.account_code, str(ref_from_minor(leg.minor, leg.currency).amount), leg.currency]
            for leg in draft.legs
        ],
        "loan_id": draft.loan_id,
        "statement_line_id": draft.statement_line_id,
        "reverses_id": draft.reverses_id,
    }


def ref_currency(code: object) -> Currency:
    if not isinstance(code, str):
        raise ValidationError(
            f"currency {code!r} is not an ISO 4217 code: use three capital letters, e.g. EUR",
            field="currency",
        )
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


def ref_minor_digits(code: str) -> int:
    sub_unit = ref_currency(code).sub_unit
    digits = len(str(sub_unit)) - 1
    if 10**digits != sub_unit:
        raise ValidationError(f"currency {code!r} has a non-decimal minor unit", field="currency")
    return digits


def ref_refuse_float(value: object) -> None:
    if isinstance(value, float):
        raise TypeError(
            "money must not be a float (binary floats cannot hold decimal amounts exactly); "
            "pass a Decimal, a decimal string such as '12.34' or integer minor units"
        )


def ref_parse_amount(value: object, code: str, *, field: str = "amount") -> Decimal:
    ref_refuse_float(value)
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
    digits = ref_minor_digits(code)
    if abs(amount).scaleb(digits) > MAX_MINOR:
        raise ValidationError(f"{field} {value} is too large to be booked", field=field)
    if amount != amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN):
        raise ValidationError(
            f"{field} {value} has more decimals than {code} allows ({digits})", field=field
        )
    return amount


def ref_to_minor(value: Money) -> int:
    if not isinstance(value, Money):
        ref_refuse_float(value)
        raise TypeError(f"expected Money, got {type(value).__name__}")
    code = value.currency.code
    amount = value.amount
    if not isinstance(amount, Decimal) or not amount.is_finite():
        amount = ref_parse_amount(amount, code)
    scaled = amount.scaleb(ref_minor_digits(code))
    if scaled != scaled.to_integral_value() or abs(scaled) > MAX_MINOR:
        ref_parse_amount(amount, code)
    return int(scaled)


def ref_from_minor(minor: int, code: str) -> Money:
    ref_refuse_float(minor)
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"minor units must be an int, got {type(minor).__name__}")
    return Money(Decimal(minor).scaleb(-ref_minor_digits(code)), ref_currency(code))


def ref_leg(account_code: object, amount: object) -> tuple[object, object, int, str]:
    """What ``Leg(account_code, amount)`` held, or raised."""
    check_code(account_code, "account")
    if not isinstance(amount, Money):
        if isinstance(amount, float):
            raise TypeError("a leg amount must be Money, never a float")
        raise TypeError(f"a leg amount must be Money, not {type(amount).__name__}")
    minor = ref_to_minor(amount)
    if minor == 0:
        raise ValidationError(f"leg on account {account_code} is zero; leave it out", field="legs")
    return account_code, amount, minor, str(amount.currency.code)


def ref_month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


# -- comparing outcomes -------------------------------------------------------------------------


def shown(value: object) -> object:
    """A value with what ``==`` would overlook made visible: Decimal exponents, exact types."""
    if isinstance(value, Money):
        return ("Money", type(value), shown(value.amount), value.currency.code)
    if isinstance(value, Decimal):
        return ("Decimal", type(value), str(value), value.as_tuple())
    if isinstance(value, Leg):
        return shown((value.account_code, value.amount, value.minor, value.currency))
    if isinstance(value, list | tuple):
        return (type(value), [shown(v) for v in value])
    if isinstance(value, dict):
        return (type(value), list(value), [shown(v) for v in value.values()])
    return (type(value), value)


def outcome(fn: Callable[..., object], *args: Any, **kwargs: Any) -> object:
    try:
        result = fn(*args, **kwargs)
    except Exception as error:  # the very error is what is compared
        return ("raised", type(error), str(error), getattr(error, "field", None))
    return ("returned", shown(result))


def same(fast: Callable[..., object], ref: Callable[..., object], *args: Any, **kw: Any) -> None:
    assert outcome(fast, *args, **kw) == outcome(ref, *args, **kw)


# -- inputs -------------------------------------------------------------------------------------

CODES = ["EUR", "CHF", "JPY", "BHD", "USD", "KWD", "XAU", "XXX", "ABC", "eur", "EU", "EURO", ""]
codes = st.sampled_from(CODES) | st.text(max_size=4)
any_codes: st.SearchStrategy[Any] = codes | st.none() | st.integers() | st.floats()
ints = st.integers(-(10**30), 10**30) | st.integers(-(2**63), 2**63)
decimals = (
    st.decimals(allow_nan=True, allow_infinity=True)
    | st.decimals(places=3)
    | ints.map(Decimal).flatmap(lambda d: st.integers(-40, 5).map(d.scaleb))
)
odd_numbers: st.SearchStrategy[Any] = (
    st.floats() | st.booleans() | st.none() | st.text(max_size=6) | st.just(Decimal("-0.00"))
)
moneys = st.builds(Money, decimals, st.sampled_from(["EUR", "CHF", "JPY", "BHD", "KWD", "XAU"]))
account_codes: st.SearchStrategy[Any] = (
    st.sampled_from(["1000", "4000", "1200.L-1", "a_b-c.d", "x" * 40, "x" * 41, "1000\n", "-1"])
    | st.text(max_size=6)
    | st.integers()
    | st.none()
)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-9, minutes=-30))]
)
instants = st.datetimes(timezones=zones) | st.datetimes(
    min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones
)
# What JSON escapes or might be tempted to: quotes, backslashes, control characters, U+2028...
tricky = st.text(st.sampled_from('"\\/\x00\x1f\x7f\b\f\n\r\t\u2028\u00e9\U0001f600 a'))
strings = tricky | st.text() | st.text(st.characters(codec="utf-8", exclude_categories=[]))
any_strings = strings | st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF))
optional: st.SearchStrategy[Any] = st.none() | any_strings | st.integers() | st.booleans()
minors_: st.SearchStrategy[Any] = ints | st.booleans() | st.floats(allow_nan=False)
raw_legs = st.lists(st.tuples(any_strings, minors_, st.sampled_from(["EUR", "CHF", "JPY"])))


# -- the properties -----------------------------------------------------------------------------


@given(ints | odd_numbers, any_codes)
@example(0, "EUR")
@example(-5, "BHD")
@example(10**40, "EUR")
def test_from_minor(minor: Any, code: Any) -> None:
    same(from_minor, ref_from_minor, minor, code)


@given(ints | odd_numbers, any_codes)
@example(0, "JPY")
@example(-5, "BHD")
@example(-(2**63), "EUR")
def test_amount_text(minor: Any, code: Any) -> None:
    same(amount_text, lambda m, c: str(ref_from_minor(m, c).amount), minor, code)


@given(moneys | odd_numbers | decimals)
def test_to_minor(value: Any) -> None:
    same(to_minor, ref_to_minor, value)


@given(any_codes)
def test_currency_and_minor_digits(code: Any) -> None:
    same(currency, ref_currency, code)
    same(minor_digits, ref_minor_digits, code)


@given(account_codes, moneys | odd_numbers)
def test_leg(account_code: Any, amount: Any) -> None:
    same(Leg, ref_leg, account_code, amount)
    if isinstance(amount, Money):
        same(Leg.debit, ref_leg, account_code, amount)
        same(Leg.credit, lambda c, a: ref_leg(c, -a), account_code, amount)


@given(st.dates() | st.datetimes())
def test_month_of(day: date) -> None:
    same(month_of, ref_month_of, day)


@given(drafts())
def test_draft_request(draft: EntryDraft) -> None:
    same(draft_request, ref_draft_request, draft)


@given(
    id=st.integers() | st.booleans() | st.floats(allow_nan=False) | st.none(),
    booking_date=st.dates(),
    description=any_strings | st.none(),
    kind=st.sampled_from(list(EntryKind)) | any_strings,
    legs=raw_legs,
    author=any_strings,
    created_at=instants,
    loan_id=optional,
    statement_line_id=optional,
    reverses_id=optional,
    idempotency_key=optional,
)
@example(
    id=1,
    booking_date=date(1, 1, 1),
    description="\ud800",  # a lone surrogate cannot be encoded: both raise the same way
    kind="x",
    legs=[],
    author="",
    created_at=datetime(1, 1, 1, tzinfo=UTC),
    loan_id=None,
    statement_line_id=None,
    reverses_id=None,
    idempotency_key=None,
)
def test_canonical_content(**fields: Any) -> None:
    same(canonical_content, ref_canonical_content, **fields)


@given(
    id=st.integers(),
    booking_date=st.dates(),
    description=any_strings,
    kind=st.sampled_from(list(EntryKind)) | any_strings,
    legs=st.lists(st.tuples(any_strings, st.integers(), any_strings)),
    author=any_strings,
    created_at=instants,
    loan_id=st.none() | any_strings,
    statement_line_id=st.none() | any_strings,
    reverses_id=st.none() | st.integers(),
    idempotency_key=st.none() | any_strings,
)
def test_canonical_content_of_plain_values(**fields: Any) -> None:
    """Strings, ints and None only: what the fast path writes itself."""
    same(canonical_content, ref_canonical_content, **fields)


@given(drafts(), st.integers(1, 10**12), strings, instants)
def test_canonical_content_of_drafts(draft: EntryDraft, id: int, author: str, at: datetime) -> None:
    fields: dict[str, Any] = {
        "id": id,
        "booking_date": draft.booking_date,
        "description": draft.description,
        "kind": draft.kind,
        "author": author,
        "created_at": at,
        "loan_id": draft.loan_id,
        "statement_line_id": draft.statement_line_id,
        "reverses_id": draft.reverses_id,
        "idempotency_key": draft.idempotency_key,
    }
    rows = [(leg.account_code, leg.minor, leg.currency) for leg in draft.legs]
    same(canonical_content, ref_canonical_content, legs=rows, **fields)
    # the generator ``seal`` passes is consumed the same way
    same(
        lambda: canonical_content(legs=iter(rows), **fields),
        lambda: ref_canonical_content(legs=iter(rows), **fields),
    )
