"""Request and response bodies of the payment file endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from ledger.api.schemas import CurrencyCode, IsoDate, RequestModel
from ledger.domain.payment_files import StoredItem, StoredPaymentFile
from ledger.services.money_json import MoneyOut
from ledger.services.payment_files import PaymentFileView, PendingPayout

MAX_ENTRIES = 10_000


class PaymentFileIn(RequestModel):
    currency: CurrencyCode | None = Field(default=None, description="default: the fund's")
    execution_date: IsoDate = Field(description="the day the bank should pay (today or later)")
    entry_ids: (
        Annotated[
            list[Annotated[int, Field(ge=1, le=2**63 - 1)]],
            Field(min_length=1, max_length=MAX_ENTRIES),
        ]
        | None
    ) = Field(default=None, description="the payouts to pay; null: every pending one")


class CancelIn(RequestModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class LandlordAccountIn(RequestModel):
    iban: Annotated[str, Field(min_length=1, max_length=42)]
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="the account holder; default: the landlord's name kept"
    )


class PendingOut(BaseModel):
    entry_id: int
    booking_date: date
    kind: str
    loan_id: str | None
    amount: MoneyOut
    end_to_end_id: str
    missing: str | None = Field(description="what keeps it out of a file; null: ready")

    @classmethod
    def of(cls, p: PendingPayout) -> PendingOut:
        return cls(
            entry_id=p.entry_id,
            booking_date=p.booking_date,
            kind=p.kind,
            loan_id=p.loan_id,
            amount=MoneyOut.of(p.amount_minor, p.currency),
            end_to_end_id=p.end_to_end_id,
            missing=p.missing,
        )


class PaymentFileOut(BaseModel):
    """A file's metadata: no names, no IBANs (those are in its XML only)."""

    id: int
    message_id: str
    currency: str
    execution_date: date
    transfers: int
    total: MoneyOut
    executed: int = Field(description="transfers a bank statement shows as executed")
    sha256: str
    status: str
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    sent_by: str | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancel_reason: str | None

    @classmethod
    def of(cls, f: StoredPaymentFile) -> PaymentFileOut:
        return cls(
            id=f.id,
            message_id=f.message_id,
            currency=f.currency,
            execution_date=f.execution_date,
            transfers=f.transfers,
            total=MoneyOut.of(f.total_minor, f.currency),
            executed=f.executed,
            sha256=f.sha256,
            status=f.status,
            created_at=f.created_at,
            created_by=f.created_by,
            sent_at=f.sent_at,
            sent_by=f.sent_by,
            cancelled_at=f.cancelled_at,
            cancelled_by=f.cancelled_by,
            cancel_reason=f.cancel_reason,
        )


class ItemOut(BaseModel):
    entry_id: int
    end_to_end_id: str
    kind: str
    loan_id: str | None
    amount: MoneyOut
    statement_line_id: int | None = Field(description="the bank's debit, once imported")

    @classmethod
    def of(cls, i: StoredItem, currency: str) -> ItemOut:
        return cls(
            entry_id=i.entry_id,
            end_to_end_id=i.end_to_end_id,
            kind=i.kind,
            loan_id=i.loan_id,
            amount=MoneyOut.of(i.amount_minor, currency),
            statement_line_id=i.statement_line_id,
        )


class PaymentFileDetailOut(PaymentFileOut):
    items: list[ItemOut]

    @classmethod
    def of_view(cls, view: PaymentFileView) -> PaymentFileDetailOut:
        return cls(
            **PaymentFileOut.of(view.file).model_dump(),
            items=[ItemOut.of(i, view.file.currency) for i in view.items],
        )
