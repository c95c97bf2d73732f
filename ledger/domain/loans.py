"""The life of a loan: its states and which actions move it from one to the next.

Before the money goes out, the state is what people decided (submitted, approved, signed...).
Once disbursed, the state follows the balances and is derived, never set by hand: a loan with
something still owed is active; fully repaid it is closed; repaid beyond what it owed it is
overpaid until the excess is refunded; written off it stays written off (later money is a
recovery). So a bounced payment that reopens arrears reopens the loan by itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from ledger.domain.beneficiaries import checked_iban
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.errors import Conflict, ValidationError
from ledger.domain.money import Money, to_minor
from ledger.domain.references import PaymentReference
from ledger.domain.statuses import LoanStatus, WriteOffStatus


class LoanAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    UNDO_APPROVAL = "undo_approval"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    SIGN_CONTRACT = "sign_contract"
    VOID_CONTRACT = "void_contract"
    DISBURSE = "disburse"
    UNDO_DISBURSEMENT = "undo_disbursement"
    WRITE_OFF = "write_off"


S, A = LoanStatus, LoanAction
DISBURSED = frozenset({S.ACTIVE, S.CLOSED, S.OVERPAID, S.WRITTEN_OFF})

#: action -> (states it may start from, the state it leads to; None = derived from balances)
TRANSITIONS: dict[LoanAction, tuple[frozenset[LoanStatus], LoanStatus]] = {
    A.SUBMIT: (frozenset({S.DRAFT}), S.SUBMITTED),
    A.APPROVE: (frozenset({S.SUBMITTED}), S.APPROVED),
    A.UNDO_APPROVAL: (frozenset({S.APPROVED, S.CONTRACT_SIGNED}), S.SUBMITTED),
    A.REJECT: (frozenset({S.SUBMITTED}), S.REJECTED),
    A.WITHDRAW: (frozenset({S.DRAFT, S.SUBMITTED, S.APPROVED, S.CONTRACT_SIGNED}), S.WITHDRAWN),
    A.SIGN_CONTRACT: (frozenset({S.APPROVED}), S.CONTRACT_SIGNED),
    A.VOID_CONTRACT: (frozenset({S.CONTRACT_SIGNED}), S.APPROVED),
    A.DISBURSE: (frozenset({S.CONTRACT_SIGNED}), S.ACTIVE),
    A.UNDO_DISBURSEMENT: (frozenset({S.ACTIVE}), S.CONTRACT_SIGNED),
    A.WRITE_OFF: (frozenset({S.ACTIVE}), S.WRITTEN_OFF),
}

_HINTS: dict[LoanAction, str] = {
    A.SUBMIT: "only a draft can be submitted",
    A.APPROVE: "only a submitted application can be approved",
    A.UNDO_APPROVAL: "only an approved loan that is not paid out can go back to submitted",
    A.REJECT: "only a submitted application can be rejected",
    A.WITHDRAW: "a loan that was paid out cannot be withdrawn; undo the disbursement first",
    A.SIGN_CONTRACT: "the contract is signed after approval",
    A.VOID_CONTRACT: "a new amount or schedule voids a signed contract before payout",
    A.DISBURSE: "a loan is paid out once approved and its contract signed",
    A.UNDO_DISBURSEMENT: "only an active loan can have its disbursement undone",
    A.WRITE_OFF: "only an active loan with something still owed can be written off",
}


def next_status(current: LoanStatus, action: LoanAction) -> LoanStatus:
    """The state after ``action``, or a Conflict saying why it is not possible now."""
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise Conflict(
            f"cannot {action.value.replace('_', ' ')} a loan that is "
            f"{current.value.replace('_', ' ')}: {_HINTS[action]}",
            field="status",
            key=f"err.status.{action.value}",
            params={"status": current},
        )
    return target


def derived_status(*, written_off: bool, outstanding: int, credit: int) -> LoanStatus:
    """The state of a disbursed loan, from its balances."""
    if written_off:
        return S.WRITTEN_OFF
    if outstanding > 0:
        return S.ACTIVE
    if credit > 0:
        return S.OVERPAID
    return S.CLOSED


class DepositForm(StrEnum):
    BLOCKED_ACCOUNT = "blocked_account"
    BANK_GUARANTEE = "bank_guarantee"
    CPAS_GUARANTEE = "cpas_guarantee"
    PROGRESSIVE_GUARANTEE = "progressive_guarantee"
    PERSONAL_SURETY = "personal_surety"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """What a caseworker enters for an application (money in the fund's currency)."""

    deposit: Money
    monthly_rent: Money
    jurisdiction: str
    deposit_form: DepositForm
    lease_start: date
    lease_end: date | None
    first_due_date: date
    installments: int | None = None
    monthly_amount: Money | None = None
    due_day: int | None = None
    whole_units: bool = False
    public_alternatives: PublicAlternatives = PublicAlternatives.NOT_TRIED

    def __post_init__(self) -> None:
        code = self.deposit.currency
        if to_minor(self.deposit) <= 0:
            raise ValidationError("the deposit must be a positive amount", field="deposit")
        if self.monthly_rent.currency != code:
            raise ValidationError("rent and deposit must be in the same currency", "monthly_rent")
        if to_minor(self.monthly_rent) <= 0:
            raise ValidationError("the monthly rent must be a positive amount", "monthly_rent")
        if not isinstance(self.jurisdiction, str) or not 2 <= len(self.jurisdiction) <= 16:
            raise ValidationError("jurisdiction must be a code such as BE-BRU", "jurisdiction")
        try:
            object.__setattr__(self, "deposit_form", DepositForm(self.deposit_form))
            object.__setattr__(
                self, "public_alternatives", PublicAlternatives(self.public_alternatives)
            )
        except ValueError as exc:
            raise ValidationError(str(exc), "deposit_form") from None
        if self.lease_end is not None and self.lease_end <= self.lease_start:
            raise ValidationError("the lease must end after it starts", field="lease_end")
        if self.first_due_date < self.lease_start.replace(day=1):
            raise ValidationError(
                "the first installment cannot fall due before the lease starts", "first_due_date"
            )
        if (self.installments is None) == (self.monthly_amount is None):
            raise ValidationError(
                "give either the number of installments or the monthly amount", "installments"
            )
        if self.monthly_amount is not None and self.monthly_amount.currency != code:
            raise ValidationError("monthly amount in another currency", "monthly_amount")
        if self.due_day is not None and not 1 <= self.due_day <= 31:
            raise ValidationError("due day must be between 1 and 31", "due_day")

    @property
    def currency(self) -> str:
        return str(self.deposit.currency.code)


@dataclass(frozen=True, slots=True)
class Loan:
    id: str
    number: int
    beneficiary_id: str
    status: LoanStatus
    terms: LoanTerms
    reference: PaymentReference
    account_id: int | None
    created_by: str
    submitted_by: str | None
    approved_by: str | None
    disbursement_entry_id: int | None
    written_off: bool
    version: int

    @property
    def currency(self) -> str:
        return self.terms.currency

    @property
    def account_code(self) -> str:
        return f"1200-{self.id}"


def loan_id_for(number: int) -> str:
    return f"L{number:06d}"


@dataclass(frozen=True, slots=True)
class Lease:
    landlord_name: str | None
    property_address: str | None
    landlord_iban: str | None = None  # where the deposit is paid (normalised)

    def __post_init__(self) -> None:
        object.__setattr__(self, "landlord_iban", checked_iban(self.landlord_iban, "landlord_iban"))


@dataclass(frozen=True, slots=True)
class LoanEvent:
    at: datetime
    actor: str
    action: str
    from_status: str
    to_status: str
    reason: str | None
    entry_id: int | None


def status_on(
    events: Sequence[LoanEvent], day: date, *, entry_days: Mapping[int, date], zone: tzinfo
) -> LoanStatus | None:
    """The loan's state at the end of ``day``: the one its last event by then left it in (None:
    the loan was not opened yet). An event that booked an entry (a payout, a write-off, the
    payment that closed it) counts on that entry's booking date (``entry_days``), as the
    ledger does; any other on the day it happened in the fund's time ``zone``."""
    state: LoanStatus | None = None
    for event in events:
        on = (
            entry_days[event.entry_id]
            if event.entry_id is not None and event.entry_id in entry_days
            else event.at.astimezone(zone).date()
        )
        if on <= day:
            state = LoanStatus(event.to_status)
    return state


@dataclass(frozen=True, slots=True)
class StoredDecision:
    id: int
    at: datetime
    actor: str
    outcome: str
    rules_version: str
    rules_fingerprint: str
    facts: dict[str, Any] | None  # None: withheld from a role that may not see personal data
    results: list[dict[str, str | None]]  # rule, outcome, reason (None: withheld, as facts)
    override_by: str | None
    override_reason: str | None

    @property
    def accepted(self) -> bool:
        """Pass, or a fail/review overridden by a supervisor."""
        return self.outcome == "pass" or self.override_by is not None


@dataclass(frozen=True, slots=True)
class WriteOff:
    id: int
    loan_id: str
    proposed_by: str
    reason: str
    status: WriteOffStatus
    decided_by: str | None
    entry_id: int | None


@dataclass(frozen=True, slots=True)
class WrittenOffReceipt:
    """Where money received for a written-off loan goes (minor units).

    ``to_loan``: dated before the write-off, it repays the loan as of its date, and the
    write-off shrinks by as much (it wrote off what this money had already paid).
    ``to_recovery``: recovery income, never more than the loss not yet recovered.
    ``to_credit``: the rest, owed back to the person (refundable).
    ``recovery_to_credit``: recoveries booked before that the smaller write-off no longer
    covers: owed back to the person too (moved from recovery income)."""

    to_loan: int
    to_recovery: int
    to_credit: int
    recovery_to_credit: int = 0


def receipt_on_written_off(
    minor: int, *, on: date, written_off_on: date, written_off: int, recovered: int
) -> WrittenOffReceipt:
    """Where ``minor`` received on ``on`` goes, on a loan written off on ``written_off_on``
    for ``written_off`` (the loss as booked now) of which ``recovered`` came back since.

    Money dated before the write-off is a repayment: the loan then owed the written-off
    amount (allocation settles everything owed before any credit), so it repays up to that
    and the rest was an overpayment. Money dated on or after it is a recovery up to the loss
    not yet recovered; beyond that the fund owes it back."""
    if minor < 0 or written_off < 0 or recovered < 0:
        raise ValueError("amounts received, written off and recovered are not negative")
    if on < written_off_on:
        to_loan = min(minor, written_off)
        return WrittenOffReceipt(
            to_loan=to_loan,
            to_recovery=0,
            to_credit=minor - to_loan,
            recovery_to_credit=max(recovered - (written_off - to_loan), 0),
        )
    to_recovery = min(minor, max(written_off - recovered, 0))
    return WrittenOffReceipt(0, to_recovery, minor - to_recovery)
