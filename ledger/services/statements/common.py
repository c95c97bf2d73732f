"""What the statement use cases share: the kinds of entries lines explain, the import's
options and results, the lines' references."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.bank.files import DEFAULT_MAX_BYTES, StatementFormat
from ledger.domain.errors import ValidationError
from ledger.domain.statuses import LineState, LoanStatus, PaymentKind, PayoutKind

if TYPE_CHECKING:
    from ledger.config import Settings

#: Loans whose repayments a statement books; others' money (a closed loan's included, as
#: record_payment refuses it) goes to unidentified receipts with a note naming the loan.


PAYABLE = frozenset({LoanStatus.ACTIVE, LoanStatus.OVERPAID, LoanStatus.WRITTEN_OFF})
#: Entries a debit on the statement can explain: money the fund sent.
LINKABLE_KINDS = tuple(PayoutKind)
#: Money in the treasurer may have booked by hand before the statement came: a line then
#: explains that entry instead of booking the money a second time.
LOAN_RECEIPT_KINDS = tuple(PaymentKind)
OTHER_RECEIPT_KINDS = ("capital", "donation", "transfer", "adjustment")
#: How far a payment's booking may lie from the bank's debit: a few days early, or late.
LINK_DAYS_BEFORE, LINK_DAYS_AFTER = 10, 3
MIN_KEY_BYTES = 16


#: States whose free text is still needed by a person to match the line; others drop it.
KEEP_TEXT = frozenset({LineState.UNIDENTIFIED, LineState.UNMATCHED})


def fund_ibans(settings: Settings) -> frozenset[str]:
    """The fund's own IBANs: their statements go to the bank account of their currency (the API
    and the CLI import with them)."""
    return frozenset(i for i in (settings.fund_iban, settings.fund_qr_iban) if i)


@dataclass(frozen=True, slots=True)
class ImportOptions:
    hash_key: bytes  # FUNDLEDGER_HASH_KEY: keys the IBAN hashes and line fingerprints
    format: StatementFormat | None = None  # None: recognised from the file
    mapping: str | None = None  # CSV: the saved column mapping
    account_code: str | None = None  # ledger account of an IBAN imported for the first time
    iban: str | None = None  # CSV: the account the export belongs to
    opening: Decimal | None = None  # CSV: balances (signed); default: the previous closing
    closing: Decimal | None = None
    fund_ibans: frozenset[str] = frozenset()  # linked to the bank account of their currency
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True, slots=True)
class StatementReport:
    statement_key: str
    iban: str
    currency: str
    id: int | None  # None: the statement brought nothing new and was not recorded
    entries: int
    new_entries: int
    opening_minor: int
    closing_minor: int
    states: dict[str, int] = field(default_factory=dict)
    #: The account's statement numbers still missing after this import, in words.
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportResult:
    file_sha256: str
    source_format: str
    statements: tuple[StatementReport, ...]

    @property
    def new_entries(self) -> int:
        return sum(s.new_entries for s in self.statements)


def line_ref(bank_account_id: int, key: str) -> str:
    """The id a journal entry carries for the line it books (``statement_line_id``)."""
    digest = hashlib.sha256(f"{bank_account_id}\x1f{key}".encode()).hexdigest()
    return "SL-" + digest[:29]


def check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ValidationError(
            f"the hash key must be at least {MIN_KEY_BYTES} bytes: set FUNDLEDGER_HASH_KEY or "
            "run `fundledger init` to generate one",
            "hash_key",
        )
