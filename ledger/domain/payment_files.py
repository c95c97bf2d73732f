"""Payment files (pain.001) that pay loans out: the file, its items, a payout waiting for one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ledger.domain.statuses import PaymentFileStatus, PayoutKind


@dataclass(frozen=True, slots=True)
class Payout:
    """A disbursement or refund entry that took money out of the bank account."""

    entry_id: int
    booking_date: date
    kind: PayoutKind
    loan_id: str | None
    amount_minor: int


@dataclass(frozen=True, slots=True)
class StoredPaymentFile:
    id: int
    message_id: str
    bank_account_id: int
    currency: str
    execution_date: date
    transfers: int
    total_minor: int
    sha256: str
    status: PaymentFileStatus
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    sent_by: str | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancel_reason: str | None
    executed: int  # items whose entry a statement line explains: the bank paid them


@dataclass(frozen=True, slots=True)
class StoredItem:
    entry_id: int
    end_to_end_id: str
    kind: PayoutKind
    loan_id: str | None
    amount_minor: int
    statement_line_id: int | None  # the bank's debit that explains the entry, once imported
