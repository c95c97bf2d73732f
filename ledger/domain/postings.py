"""The entries each loan event books: pure functions from the loan's accounts and amounts to
an ``EntryDraft`` (legs, kind, description), with no database.

The services find the accounts (by role, in the loan's currency) and work out the amounts from
the loan's position; these functions say which account is debited and which credited, in which
order (an entry's hash covers its legs in order), and with which words: the journal is hashed
and kept for ever, so descriptions stay generic (the reasons are kept beside, in the loan's
events, the write-offs and the audit log). Reversals are ``ledger.domain.journal.reversal_of``.

Accounts, by their role (``ledger.domain.accounts.AccountRole``): ``loan`` the loan's own
sub-account (under loans receivable), ``bank``, ``credit`` the beneficiary-credit account
(what was paid beyond the loan, owed back), ``recoveries`` (money on written-off loans),
``losses`` (loan losses).
"""

from __future__ import annotations

from datetime import date

from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import Money
from ledger.domain.statuses import EntryKind


def disbursement(
    loan_id: str, on: date, *, loan: str, bank: str, amount: Money, idempotency_key: str
) -> EntryDraft:
    """The deposit paid out: Dr the loan, Cr bank."""
    return EntryDraft(
        booking_date=on,
        description=f"Rental deposit paid out for loan {loan_id}",
        kind=EntryKind.DISBURSEMENT,
        legs=(Leg.debit(loan, amount), Leg.credit(bank, amount)),
        loan_id=loan_id,
        idempotency_key=idempotency_key,
    )


def repayment(
    loan_id: str,
    on: date,
    *,
    bank: str,
    loan: str,
    credit: str,
    to_loan: Money,
    to_credit: Money,
    release: bool = False,
    statement_line_id: str | None = None,
    idempotency_key: str | None = None,
) -> EntryDraft:
    """Money received for a loan being repaid (``release``: the deposit came back from the
    landlord): Dr bank all of it, Cr the loan what it repays (``to_loan``), Cr credit what
    was paid beyond (``to_credit``); a zero part has no leg."""
    legs: tuple[Leg, ...] = (Leg.debit(bank, to_loan + to_credit),)
    if to_loan.amount:
        legs += (Leg.credit(loan, to_loan),)
    if to_credit.amount:
        legs += (Leg.credit(credit, to_credit),)
    return EntryDraft(
        on,
        f"Deposit released for loan {loan_id}" if release else f"Repayment of loan {loan_id}",
        EntryKind.DEPOSIT_RELEASE if release else EntryKind.REPAYMENT,
        legs,
        loan_id=loan_id,
        statement_line_id=statement_line_id,
        idempotency_key=idempotency_key,
    )


def recovery(
    loan_id: str,
    on: date,
    *,
    bank: str,
    recoveries: str,
    amount: Money,
    credit: str | None = None,
    to_credit: Money | None = None,
    statement_line_id: str | None = None,
    idempotency_key: str | None = None,
) -> EntryDraft:
    """Money received on a written-off loan: Dr bank all of it, Cr recoveries what is
    recovered (``amount``, at most the loss not yet recovered), Cr credit the rest
    (``to_credit``: owed back to the beneficiary); a zero part has no leg."""
    legs: tuple[Leg, ...] = ()
    if amount.amount:
        legs += (Leg.credit(recoveries, amount),)
    total = amount
    if to_credit is not None and to_credit.amount:
        if credit is None:
            raise ValueError("money owed back to the beneficiary needs the credit account")
        legs += (Leg.credit(credit, to_credit),)
        total = amount + to_credit
    return EntryDraft(
        on,
        f"Recovery on written-off loan {loan_id}",
        EntryKind.RECOVERY,
        (Leg.debit(bank, total), *legs),
        loan_id=loan_id,
        statement_line_id=statement_line_id,
        idempotency_key=idempotency_key,
    )


def refund(
    loan_id: str, on: date, *, credit: str, bank: str, amount: Money, idempotency_key: str
) -> EntryDraft:
    """A credit balance paid back to the beneficiary: Dr credit, Cr bank."""
    return EntryDraft(
        on,
        f"Credit balance of loan {loan_id} refunded",
        EntryKind.REFUND,
        (Leg.debit(credit, amount), Leg.credit(bank, amount)),
        loan_id=loan_id,
        idempotency_key=idempotency_key,
    )


def write_off(
    loan_id: str,
    on: date,
    *,
    write_off_id: int,
    losses: str,
    loan: str,
    credit: str,
    outstanding: Money,
    debt: Money,
    idempotency_key: str,
) -> EntryDraft:
    """A write-off approved: Dr losses all of it, Cr the loan what it holds (``outstanding``),
    Cr credit a refunded debt (a refund whose payment bounced, ``debt``) if there is one."""
    legs: tuple[Leg, ...] = (Leg.debit(losses, outstanding + debt), Leg.credit(loan, outstanding))
    if debt.amount:
        legs += (Leg.credit(credit, debt),)
    return EntryDraft(
        on,
        f"Loan {loan_id} written off (write-off #{write_off_id})",
        EntryKind.WRITE_OFF,
        legs,
        loan_id=loan_id,
        idempotency_key=idempotency_key,
    )


def write_off_reduced(
    loan_id: str, on: date, *, losses: str, loan: str, amount: Money
) -> EntryDraft:
    """Money dated before a write-off repaid part of what it wrote off: the write-off shrinks
    by as much, on its own date: Dr the loan, Cr losses."""
    return EntryDraft(
        on,
        f"Loan {loan_id}: write-off reduced by money received before it",
        EntryKind.WRITE_OFF,
        (Leg.debit(loan, amount), Leg.credit(losses, amount)),
        loan_id=loan_id,
    )


def recovery_owed_back(
    loan_id: str, on: date, *, recoveries: str, credit: str, amount: Money
) -> EntryDraft:
    """Recoveries beyond a write-off made smaller since: owed back to the beneficiary:
    Dr recoveries, Cr credit."""
    return EntryDraft(
        on,
        f"Loan {loan_id}: recoveries beyond the write-off owed back",
        EntryKind.RECOVERY,
        (Leg.debit(recoveries, amount), Leg.credit(credit, amount)),
        loan_id=loan_id,
    )


def recovery_not_owed_back(
    loan_id: str, on: date, *, recoveries: str, credit: str, amount: Money
) -> EntryDraft:
    """A recovery reversed whose money had been counted as owed back (the write-off shrank
    since): no longer owed: Dr credit, Cr recoveries."""
    return EntryDraft(
        on,
        f"Loan {loan_id}: reversed recovery no longer owed back",
        EntryKind.RECOVERY,
        (Leg.debit(credit, amount), Leg.credit(recoveries, amount)),
        loan_id=loan_id,
    )


def reallocation(
    loan_id: str, on: date, *, loan: str, credit: str, amount: Money, from_credit: bool
) -> EntryDraft:
    """The ledger made equal to the schedule again (after a backdated or reversed payment).
    ``from_credit``: the loan holds more than the schedule says is owed, and the credit what
    should have repaid it: Dr credit, Cr the loan. Else the credit holds what the loan is
    owed again: Dr the loan, Cr credit."""
    legs = (
        (Leg.debit(credit, amount), Leg.credit(loan, amount))
        if from_credit
        else (Leg.debit(loan, amount), Leg.credit(credit, amount))
    )
    return EntryDraft(
        on, f"Loan {loan_id}: payments reallocated", EntryKind.REALLOCATION, legs, loan_id=loan_id
    )
