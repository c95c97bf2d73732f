"""Accounts and the default chart of accounts of a rental guarantee fund.

Sign convention used everywhere: a leg's amount is positive for a debit and negative for a
credit, and an account's balance is the plain sum of its legs. Asset and expense accounts
therefore carry positive balances, liability, equity and income accounts negative ones;
``Account.natural_balance`` turns the sign the way an accountant reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ledger.domain.errors import ValidationError
from ledger.domain.money import Money, currency, from_minor

CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")
MAX_NAME = 200


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def normal_sign(self) -> int:
        """+1 where a debit increases the account (assets, expenses), -1 otherwise."""
        return 1 if self in (AccountType.ASSET, AccountType.EXPENSE) else -1


class AccountRole(StrEnum):
    """What an account is for, so services find it whatever code the fund gave it."""

    BANK = "bank"
    LOANS_RECEIVABLE = "loans_receivable"
    LOAN = "loan"
    BENEFICIARY_CREDIT = "beneficiary_credit"
    UNIDENTIFIED_RECEIPTS = "unidentified_receipts"
    FUND_CAPITAL = "fund_capital"
    DONATIONS = "donations"
    RECOVERIES = "recoveries"
    LOAN_LOSSES = "loan_losses"
    BANK_CHARGES = "bank_charges"
    OTHER = "other"


def check_code(code: object, field: str = "code") -> str:
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        raise ValidationError(
            f"account code {code!r} is not valid: use 1 to 40 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field=field,
        )
    return code


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """What it takes to open an account."""

    code: str
    name: str
    type: AccountType
    currency: str
    role: AccountRole = AccountRole.OTHER
    parent_code: str | None = None
    is_control: bool = False
    no_overdraft: bool = False

    def __post_init__(self) -> None:
        check_code(self.code)
        if self.parent_code is not None:
            check_code(self.parent_code, "parent_code")
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValidationError("account name must not be empty", field="name")
        if len(self.name) > MAX_NAME:
            raise ValidationError(
                f"account name is {len(self.name)} characters long; at most {MAX_NAME} allowed",
                field="name",
            )
        try:
            object.__setattr__(self, "type", AccountType(self.type))
        except ValueError:
            allowed = ", ".join(t.value for t in AccountType)
            raise ValidationError(
                f"account type {self.type!r} is unknown; use one of {allowed}", field="type"
            ) from None
        try:
            object.__setattr__(self, "role", AccountRole(self.role))
        except ValueError:
            allowed = ", ".join(r.value for r in AccountRole)
            raise ValidationError(
                f"account role {self.role!r} is unknown; use one of {allowed}", field="role"
            ) from None
        currency(self.currency)
        if self.is_control and self.parent_code is not None:
            raise ValidationError("a control account cannot have a parent", field="parent_code")


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    code: str
    name: str
    type: AccountType
    currency: str
    role: AccountRole
    parent_id: int | None
    is_control: bool
    no_overdraft: bool
    closed_at: datetime | None
    balance_minor: int

    @property
    def balance(self) -> Money:
        """Signed balance (debit positive)."""
        return from_minor(self.balance_minor, self.currency)

    @property
    def natural_balance(self) -> Money:
        """Balance on the account's normal side: what a person expects to read."""
        return from_minor(self.type.normal_sign * self.balance_minor, self.currency)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def overdrawn_by(self, balance_minor: int) -> int:
        """How far ``balance_minor`` lies below zero on the normal side (0 if it does not)."""
        natural = self.type.normal_sign * balance_minor
        return -natural if natural < 0 else 0


def default_chart(currency_code: str) -> list[AccountSpec]:
    """The chart a new guarantee fund starts with; a fund may load its own instead."""
    t, r = AccountType, AccountRole
    c = currency_code
    return [
        AccountSpec("1000", "Bank: current account", t.ASSET, c, r.BANK, no_overdraft=True),
        AccountSpec("1200", "Loans receivable", t.ASSET, c, r.LOANS_RECEIVABLE, is_control=True),
        AccountSpec("2100", "Beneficiary credit balances", t.LIABILITY, c, r.BENEFICIARY_CREDIT),
        AccountSpec("2200", "Unidentified receipts", t.LIABILITY, c, r.UNIDENTIFIED_RECEIPTS),
        AccountSpec("3000", "Fund capital", t.EQUITY, c, r.FUND_CAPITAL),
        AccountSpec("4000", "Donations", t.INCOME, c, r.DONATIONS),
        AccountSpec("4100", "Recoveries on written-off loans", t.INCOME, c, r.RECOVERIES),
        AccountSpec("6000", "Loan losses", t.EXPENSE, c, r.LOAN_LOSSES),
        AccountSpec("6100", "Bank charges", t.EXPENSE, c, r.BANK_CHARGES),
    ]
