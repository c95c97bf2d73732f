"""The states and kinds the ledger names: a loan's state (docs/loans.md), an entry's kind, a
statement line's state. Apart from the rest of the domain, so that what only names one (the
command line's options, the tables' CHECK constraints) loads nothing else."""

from __future__ import annotations

from enum import StrEnum


class LoanStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CONTRACT_SIGNED = "contract_signed"
    ACTIVE = "active"
    CLOSED = "closed"
    OVERPAID = "overpaid"
    WRITTEN_OFF = "written_off"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class EntryKind(StrEnum):
    CAPITAL = "capital"
    DONATION = "donation"
    BANK_CHARGE = "bank_charge"
    TRANSFER = "transfer"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"
    DISBURSEMENT = "disbursement"
    REPAYMENT = "repayment"
    REFUND = "refund"
    DEPOSIT_RELEASE = "deposit_release"
    WRITE_OFF = "write_off"
    RECOVERY = "recovery"
    UNIDENTIFIED_RECEIPT = "unidentified_receipt"
    REALLOCATION = "reallocation"  # moves money between a loan and its beneficiary credit


class LineState(StrEnum):
    """What became of a statement line (the import and the matching by hand set it)."""

    LOAN = "loan"  # booked as a loan's repayment (or recovery)
    UNIDENTIFIED = "unidentified"  # booked to unidentified receipts, waiting for a match
    LINKED = "linked"  # explained by an entry booked before (a payout, a refund...)
    CHARGE = "charge"  # booked to bank charges
    RETURNED = "returned"  # a returned payment: the payment it returns is reversed
    MANUAL = "manual"  # booked by the treasurer to an account
    UNMATCHED = "unmatched"  # nothing explains it yet (a debit)
    IGNORED = "ignored"  # a zero amount


class WriteOffStatus(StrEnum):
    """A proposed write-off, until a second person decides it (four eyes)."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class PaymentFileStatus(StrEnum):
    """A payment file: made (its payouts held), sent to the bank, or cancelled."""

    CREATED = "created"
    SENT = "sent"
    CANCELLED = "cancelled"


def sql_in_list(values: type[StrEnum]) -> str:
    """``('a','b')``: the values a CHECK constraint allows, in the enum's order."""
    return "(" + ",".join(f"'{v.value}'" for v in values) + ")"
