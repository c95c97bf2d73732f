"""Request and response bodies.

Money travels as decimal strings ("12.34"): a JSON number is refused, because a binary float
cannot hold most amounts exactly and a client library may already have rounded it. Amounts in
requests are positive; ``side`` says whether a leg is a debit or a credit.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ledger.domain.accounts import MAX_NAME, Account, AccountRole, AccountType
from ledger.domain.audit import AuditRecord
from ledger.domain.errors import LedgerError
from ledger.domain.journal import MAX_DESCRIPTION, MAX_LEGS, AccountStatementLine, Entry, Leg
from ledger.domain.money import currency, from_minor, money, parse_amount, quantize
from ledger.domain.periods import CloseRequest, MonthState, PeriodEvent
from ledger.domain.roles import Role
from ledger.domain.statuses import CloseRequestStatus, PeriodAction
from ledger.domain.users import User
from ledger.services.journal import TrialBalanceLine
from ledger.services.money_json import MoneyOut
from ledger.services.periods import MAX_REASON
from ledger.services.users import MAX_PASSWORD

MAX_CODE = 40
MAX_USERNAME = 64
MAX_WHOLE_DIGITS = 13  # keeps every sum of minor units far inside a 64-bit integer
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

T = TypeVar("T")


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


def _iso_date(value: object) -> object:
    # pydantic alone would also take Unix timestamps and datetimes for a date.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "write the date as YYYY-MM-DD, e.g. 2026-03-01")


def _refuse_number(value: object) -> object:
    if isinstance(value, int | float):  # bool is an int too
        raise PydanticCustomError(
            "amount_not_string",
            'send the amount as a decimal string such as "12.34", not a JSON number: '
            "a number can lose cents on its way",
        )
    return value


def _check_currency(code: str) -> str:
    try:
        currency(code)
    except LedgerError as exc:
        raise PydanticCustomError("currency", exc.detail) from None
    return code


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Code = Annotated[str, Field(min_length=1, max_length=MAX_CODE, examples=["1000"])]
CurrencyCode = Annotated[
    str,
    Field(min_length=3, max_length=3, description="ISO 4217 code", examples=["EUR"]),
    AfterValidator(_check_currency),
]
Amount = Annotated[
    str,
    BeforeValidator(_refuse_number),
    Field(
        max_length=32,
        description="positive decimal string with at most the currency's decimals",
        examples=["12.34"],
    ),
]
Description = Annotated[str, Field(min_length=1, max_length=MAX_DESCRIPTION)]


def checked_amount(
    value: str,
    code: str | None,
    *,
    negative: str = "amount must not be negative",
    zero: str | None = "amount must be more than zero",
) -> str:
    """An ``Amount`` checked for ``code`` and written with its decimals ("100" -> "100.00").

    For a field validator: ``code`` is the currency validated before it (None when that was
    wrong, which is reported on its own); ``zero=None`` lets zero through.
    """
    if not _AMOUNT.fullmatch(value):
        if value.lstrip().startswith("-"):
            raise PydanticCustomError("amount_negative", negative)
        raise PydanticCustomError(
            "amount_format", 'amount must be a decimal string such as "12.34"'
        )
    if len(value.split(".")[0].lstrip("0")) > MAX_WHOLE_DIGITS:
        raise PydanticCustomError(
            "amount_too_large",
            f"amount may have at most {MAX_WHOLE_DIGITS} digits before the decimal point",
        )
    if zero is not None and Decimal(value) == 0:
        raise PydanticCustomError("amount_zero", zero)
    if code is None:
        return value
    try:
        exact = parse_amount(value, code)
    except LedgerError as exc:
        raise PydanticCustomError("amount_precision", exc.detail) from None
    return format(quantize(exact, code), "f")


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- requests -------------------------------------------------------------------------------


class LoginIn(RequestModel):
    username: Annotated[str, Field(min_length=1, max_length=MAX_USERNAME)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD, repr=False)]


class LegIn(RequestModel):
    account: Code
    side: Side
    # Declared before the amount so that the amount's check can see it.
    currency: CurrencyCode
    amount: Amount

    @field_validator("amount")
    @classmethod
    def _check_amount(cls, value: str, info: ValidationInfo) -> str:
        return checked_amount(
            value,
            info.data.get("currency"),
            negative="amount must be positive: say debit or credit in side instead of a sign",
            zero="amount must be more than zero; leave out a leg of zero",
        )

    def to_leg(self) -> Leg:
        amount = money(self.amount, self.currency)
        return (
            Leg.debit(self.account, amount)
            if self.side is Side.DEBIT
            else Leg.credit(self.account, amount)
        )


ManualKind = Literal["capital", "donation", "bank_charge", "transfer", "adjustment"]


class EntryIn(RequestModel):
    booking_date: IsoDate
    description: Description
    kind: ManualKind
    legs: Annotated[list[LegIn], Field(min_length=2, max_length=MAX_LEGS)]


class ReversalIn(RequestModel):
    booking_date: IsoDate | None = Field(default=None, description="default: today")
    description: Description | None = Field(
        default=None, description='default: "Reversal of entry N: ..."'
    )


class AccountIn(RequestModel):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    type: AccountType
    currency: CurrencyCode
    role: AccountRole = AccountRole.OTHER
    parent_code: Code | None = None
    is_control: StrictBool = False
    no_overdraft: StrictBool = False


class ReopenIn(RequestModel):
    reason: Annotated[str, Field(min_length=1, max_length=MAX_REASON)]


class CloseIn(RequestModel):
    """Asking to close a month (the first of the two steps)."""

    reason: Annotated[
        str | None,
        Field(
            max_length=MAX_REASON,
            description="why a month that does not reconcile should close anyway (admins "
            "only); kept with the request and the close",
        ),
    ] = None


class CloseCancelIn(RequestModel):
    """Withdrawing one's own request to close a month, or refusing another's (say why)."""

    reason: Annotated[
        str | None,
        Field(
            max_length=MAX_REASON,
            description="why the request is refused (needed when it is another person's)",
        ),
    ] = None


class UserIn(RequestModel):
    username: Annotated[str, Field(min_length=1, max_length=MAX_USERNAME)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD, repr=False)]
    role: Role


# -- responses ------------------------------------------------------------------------------


def _side(minor: int) -> Side:
    return Side.DEBIT if minor > 0 else Side.CREDIT


class LegOut(BaseModel):
    account: str
    side: Side
    amount: str = Field(description="positive decimal string", examples=["12.34"])
    currency: str
    minor: int = Field(description="the amount in positive integer minor units")

    @classmethod
    def of(cls, leg: Leg) -> LegOut:
        return cls(
            account=leg.account_code,
            side=_side(leg.minor),
            amount=format(abs(from_minor(leg.minor, leg.currency).amount), "f"),
            currency=leg.currency,
            minor=abs(leg.minor),
        )


class EntryOut(BaseModel):
    id: int
    booking_date: date
    description: str
    kind: str
    legs: list[LegOut]
    author: str
    created_at: datetime
    loan_id: str | None
    statement_line_id: str | None
    idempotency_key: str | None
    reverses_id: int | None
    reversed_by_id: int | None
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: Entry) -> EntryOut:
        return cls(
            id=entry.id,
            booking_date=entry.booking_date,
            description=entry.description,
            kind=entry.kind.value,
            legs=[LegOut.of(leg) for leg in entry.legs],
            author=entry.author,
            created_at=entry.created_at,
            loan_id=entry.loan_id,
            statement_line_id=entry.statement_line_id,
            idempotency_key=entry.idempotency_key,
            reverses_id=entry.reverses_id,
            reversed_by_id=entry.reversed_by_id,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="how many items match, on every page")
    limit: int
    offset: int


class AccountOut(BaseModel):
    id: int
    code: str
    name: str
    type: AccountType
    currency: str
    role: AccountRole
    parent_code: str | None
    is_control: bool
    no_overdraft: bool
    closed_at: datetime | None
    balance: MoneyOut = Field(description="signed: debit positive, credit negative")
    natural_balance: MoneyOut = Field(description="on the account's normal side")

    @classmethod
    def of(cls, account: Account, parent_code: str | None) -> AccountOut:
        return cls(
            id=account.id,
            code=account.code,
            name=account.name,
            type=account.type,
            currency=account.currency,
            role=account.role,
            parent_code=parent_code,
            is_control=account.is_control,
            no_overdraft=account.no_overdraft,
            closed_at=account.closed_at,
            balance=MoneyOut.of(account.balance_minor, account.currency),
            natural_balance=MoneyOut.of(
                account.type.normal_sign * account.balance_minor, account.currency
            ),
        )


class BalanceOut(BaseModel):
    account: str
    as_of: date | None = Field(description="end of this day; null: now")
    balance: MoneyOut = Field(description="signed: debit positive, credit negative")
    natural_balance: MoneyOut


class StatementLineOut(BaseModel):
    entry_id: int
    booking_date: date
    kind: str
    description: str
    side: Side
    amount: MoneyOut = Field(description="positive; side gives the direction")
    running_balance: MoneyOut = Field(description="signed, after this line")

    @classmethod
    def of(cls, line: AccountStatementLine, code: str) -> StatementLineOut:
        return cls(
            entry_id=line.entry_id,
            booking_date=line.booking_date,
            kind=line.kind,
            description=line.description,
            side=_side(line.amount_minor),
            amount=MoneyOut.of(abs(line.amount_minor), code),
            running_balance=MoneyOut.of(line.running_minor, code),
        )


class StatementOut(BaseModel):
    account: str
    date_from: date | None = Field(serialization_alias="from")
    date_to: date | None = Field(serialization_alias="to")
    opening_balance: MoneyOut = Field(description="signed balance before the first line")
    lines: list[StatementLineOut]
    total: int = Field(description="lines in the period, on every page")
    limit: int
    offset: int


class TrialBalanceLineOut(BaseModel):
    account: str
    name: str
    type: AccountType
    balance: MoneyOut = Field(description="signed: debit positive, credit negative")
    side: Side | None = Field(description="null when the balance is zero")

    @classmethod
    def of(cls, line: TrialBalanceLine) -> TrialBalanceLineOut:
        minor, account = line.balance_minor, line.account
        return cls(
            account=account.code,
            name=account.name,
            type=account.type,
            balance=MoneyOut.of(minor, account.currency),
            side=_side(minor) if minor else None,
        )


class TrialBalanceOut(BaseModel):
    as_of: date | None
    lines: list[TrialBalanceLineOut]
    totals: list[MoneyOut] = Field(description="per currency; all zero when the books balance")
    balanced: bool


class PeriodEventOut(BaseModel):
    id: int
    month: str
    action: PeriodAction
    actor: str
    at: datetime
    reason: str | None
    balances: dict[str, Any] | None = Field(
        description="for a close: each account's balance and the totals it asserted, in minor units"
    )

    @classmethod
    def of(cls, event: PeriodEvent) -> PeriodEventOut:
        return cls.model_validate(event, from_attributes=True)


class CloseRequestOut(BaseModel):
    """A request to close a month, which another person than who asked signs off."""

    id: int
    month: str
    requested_by: str
    requested_at: datetime
    reason: str | None = Field(description="why a month that does not reconcile should close")
    status: CloseRequestStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None = Field(description="why it was withdrawn or refused")
    close_event_id: int | None = Field(description="the close its sign-off recorded")

    @classmethod
    def of(cls, request: CloseRequest) -> CloseRequestOut:
        return cls.model_validate(request, from_attributes=True)


class MonthStateOut(BaseModel):
    """Where a month stands: ended, closed, a close waiting for its sign-off, its history."""

    month: str
    ended: bool
    closed: PeriodEventOut | None = Field(description="the close in force, if closed")
    pending: CloseRequestOut | None = Field(description="a close waiting for its sign-off")
    events: list[PeriodEventOut] = Field(description="every close and reopen, oldest first")
    requests: list[CloseRequestOut] = Field(description="every request to close, oldest first")

    @classmethod
    def of(cls, state: MonthState) -> MonthStateOut:
        return cls(
            month=state.month,
            ended=state.ended,
            closed=PeriodEventOut.of(state.closed) if state.closed is not None else None,
            pending=CloseRequestOut.of(state.pending) if state.pending is not None else None,
            events=[PeriodEventOut.of(e) for e in state.events],
            requests=[CloseRequestOut.of(r) for r in state.requests],
        )


class PeriodsOut(BaseModel):
    closed: list[str] = Field(description="months closed now, YYYY-MM")
    events: list[PeriodEventOut] = Field(description="every close and reopen, oldest first")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any] | None

    @classmethod
    def of(cls, record: AuditRecord) -> AuditOut:
        return cls.model_validate(record, from_attributes=True)


class UserOut(BaseModel):
    username: str
    role: Role
    active: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(username=user.username, role=Role(user.role), active=user.active)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_at: datetime
    username: str
    role: Role


class HealthOut(BaseModel):
    status: Literal["ok"]
    schema_revision: str | None


class FieldError(BaseModel):
    field: str = Field(examples=["legs[1].amount"])
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, sent as application/problem+json."""

    type: str = Field(examples=["urn:fundledger:problem:closed-period"])
    title: str
    status: int
    detail: str
    code: str = Field(description="stable machine-readable code")
    field: str | None = Field(description="the input the problem is about, if any")
    instance: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="every invalid input, for validation errors"
    )
