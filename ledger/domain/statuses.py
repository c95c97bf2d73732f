"""The states and kinds the ledger names: a loan's state (docs/loans.md), an entry's kind, a
statement line's state, a month's events, payments and payouts. Apart from the rest of the
domain, so that what only names one (the command line's options, the tables' CHECK constraints)
loads nothing else."""

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


class PeriodAction(StrEnum):
    """What was done to a month: closed, or reopened (with a reason)."""

    CLOSE = "close"
    REOPEN = "reopen"


class CloseRequestStatus(StrEnum):
    """A request to close a month: waiting for a second person's sign-off, signed off (the
    month closed), withdrawn by who asked, or refused by another."""

    REQUESTED = "requested"
    SIGNED_OFF = "signed_off"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"


class PaymentKind(StrEnum):
    """Money received for a loan (loan_payments.kind): the entry kinds that bring it."""

    REPAYMENT = "repayment"
    DEPOSIT_RELEASE = "deposit_release"
    RECOVERY = "recovery"  # after a write-off


class PayoutKind(StrEnum):
    """Money the fund pays out for a loan in a payment file."""

    DISBURSEMENT = "disbursement"  # the deposit, to the landlord or the deposit's bank
    REFUND = "refund"  # a beneficiary's credit (an overpayment), back to them


class SignatureMethod(StrEnum):
    """How the beneficiary signed their contract."""

    PAPER = "paper"  # signed on paper, the scan uploaded
    ON_SCREEN = "on_screen"  # signed on the screen


class ReminderKind(StrEnum):
    """A payment reminder (docs/reminders.md): before an installment falls due, once late, and
    the formal notice when it stays unpaid."""

    BEFORE_DUE = "before_due"
    LATE = "late"
    FORMAL_NOTICE = "formal_notice"


class ReminderChannel(StrEnum):
    """How a reminder reaches the person: an e-mail with their link, or a letter staff print."""

    EMAIL = "email"
    LETTER = "letter"


class ReminderStatus(StrEnum):
    """What became of a reminder: on its way (a run claimed it), sent, not sent (the SMTP
    server refused it: tried again next run), skipped (the person opted out or has no e-mail
    address), or a letter printed by staff."""

    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    PRINTED = "printed"


def sql_in_list(values: type[StrEnum]) -> str:
    """``('a','b')``: the values a CHECK constraint allows, in the enum's order."""
    return "(" + ",".join(f"'{v.value}'" for v in values) + ")"
