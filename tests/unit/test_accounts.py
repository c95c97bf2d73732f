"""Accounts: what an account spec refuses, and the sign logic of overdrafts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.domain.accounts import (
    Account,
    AccountRole,
    AccountSpec,
    AccountType,
    check_code,
    default_chart,
)
from ledger.domain.errors import ValidationError


def spec(**overrides: Any) -> AccountSpec:
    fields: dict[str, Any] = {
        "code": "1000",
        "name": "Bank",
        "type": AccountType.ASSET,
        "currency": "EUR",
    }
    fields.update(overrides)
    return AccountSpec(**fields)


def account(type_: AccountType, balance_minor: int = 0, **overrides: Any) -> Account:
    fields: dict[str, Any] = {
        "id": 1,
        "code": "1000",
        "name": "Some account",
        "type": type_,
        "currency": "EUR",
        "role": AccountRole.OTHER,
        "parent_id": None,
        "is_control": False,
        "no_overdraft": False,
        "closed_at": None,
        "balance_minor": balance_minor,
    }
    fields.update(overrides)
    return Account(**fields)


def test_spec_accepts_text_for_enums() -> None:
    s = spec(type="liability", role="beneficiary_credit")
    assert s.type is AccountType.LIABILITY
    assert s.role is AccountRole.BENEFICIARY_CREDIT


def test_spec_defaults() -> None:
    s = spec()
    assert (s.role, s.parent_code, s.is_control, s.no_overdraft) == (
        AccountRole.OTHER,
        None,
        False,
        False,
    )


@pytest.mark.parametrize("code", ["1", "1200.001", "L-2026_7", "a" * 40])
def test_valid_codes(code: str) -> None:
    assert check_code(code) == code
    assert spec(code=code).code == code


@pytest.mark.parametrize("code", ["", " 1000", "1000 ", "-1", ".1", "a" * 41, "10/00", "é1", 1000])
def test_invalid_code_refused(code: object) -> None:
    with pytest.raises(ValidationError, match="code") as err:
        spec(code=code)
    assert err.value.field == "code"


def test_invalid_parent_code_refused() -> None:
    with pytest.raises(ValidationError) as err:
        spec(code="1200.1", parent_code="12 00")
    assert err.value.field == "parent_code"


@pytest.mark.parametrize("name", ["", "   ", None, 5])
def test_empty_name_refused(name: object) -> None:
    with pytest.raises(ValidationError, match="empty") as err:
        spec(name=name)
    assert err.value.field == "name"


def test_name_length_limit() -> None:
    assert spec(name="n" * 200).name == "n" * 200
    with pytest.raises(ValidationError, match="200") as err:
        spec(name="n" * 201)
    assert err.value.field == "name"


@pytest.mark.parametrize("type_", ["assets", "ASSET", "", None])
def test_unknown_type_refused(type_: object) -> None:
    with pytest.raises(ValidationError, match="type") as err:
        spec(type=type_)
    assert err.value.field == "type"
    assert "asset, liability, equity, income, expense" in err.value.detail


@pytest.mark.parametrize("role", ["banker", "", None])
def test_unknown_role_refused(role: object) -> None:
    with pytest.raises(ValidationError, match="role") as err:
        spec(role=role)
    assert err.value.field == "role"


@pytest.mark.parametrize("currency", ["eur", "ZZZ", "EURO", None])
def test_bad_currency_refused(currency: object) -> None:
    with pytest.raises(ValidationError) as err:
        spec(currency=currency)
    assert err.value.field == "currency"


def test_control_account_cannot_have_parent() -> None:
    with pytest.raises(ValidationError, match="control") as err:
        spec(code="1200.1", is_control=True, parent_code="1200")
    assert err.value.field == "parent_code"


def test_sub_account_spec_accepted() -> None:
    assert spec(code="1200.1", parent_code="1200").parent_code == "1200"


@pytest.mark.parametrize(
    ("type_", "sign"),
    [
        (AccountType.ASSET, 1),
        (AccountType.EXPENSE, 1),
        (AccountType.LIABILITY, -1),
        (AccountType.EQUITY, -1),
        (AccountType.INCOME, -1),
    ],
)
def test_normal_sign(type_: AccountType, sign: int) -> None:
    assert type_.normal_sign == sign


@pytest.mark.parametrize(
    ("type_", "balance", "overdrawn"),
    [
        (AccountType.ASSET, 500, 0),
        (AccountType.ASSET, 0, 0),
        (AccountType.ASSET, -1, 1),
        (AccountType.ASSET, -500, 500),
        (AccountType.EXPENSE, -30, 30),
        (AccountType.EXPENSE, 30, 0),
        (AccountType.LIABILITY, -500, 0),
        (AccountType.LIABILITY, 0, 0),
        (AccountType.LIABILITY, 1, 1),
        (AccountType.EQUITY, 700, 700),
        (AccountType.EQUITY, -700, 0),
        (AccountType.INCOME, 25, 25),
        (AccountType.INCOME, -25, 0),
    ],
)
def test_overdrawn_by_follows_the_normal_side(
    type_: AccountType, balance: int, overdrawn: int
) -> None:
    assert account(type_).overdrawn_by(balance) == overdrawn


def test_balances_read_both_ways() -> None:
    capital = account(AccountType.EQUITY, -150000, code="3000")
    assert str(capital.balance.amount) == "-1500.00"
    assert str(capital.natural_balance.amount) == "1500.00"
    bank = account(AccountType.ASSET, 150000)
    assert bank.balance == bank.natural_balance
    assert bank.balance.currency.code == "EUR"


def test_is_closed() -> None:
    assert not account(AccountType.ASSET).is_closed
    assert account(AccountType.ASSET, closed_at=datetime(2026, 1, 1, tzinfo=UTC)).is_closed


def test_default_chart() -> None:
    chart = default_chart("CHF")
    codes = [s.code for s in chart]
    assert len(codes) == len(set(codes))
    assert {s.currency for s in chart} == {"CHF"}
    by_code = {s.code: s for s in chart}
    assert by_code["1000"].role is AccountRole.BANK
    assert [s.code for s in chart if s.no_overdraft] == ["1000"]
    assert [s.code for s in chart if s.is_control] == ["1200"]
    assert by_code["1200"].role is AccountRole.LOANS_RECEIVABLE
    # Every role a service looks up by role is present exactly once.
    roles = [s.role for s in chart]
    for role in AccountRole:
        if role not in (AccountRole.LOAN, AccountRole.OTHER):
            assert roles.count(role) == 1, role


def test_default_chart_refuses_unknown_currency() -> None:
    with pytest.raises(ValidationError):
        default_chart("XYZ")
