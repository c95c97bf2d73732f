"""The demo fund's bank: one camt.053 statement per month, imported like a real one.

The statements say what the bank would have said about the demo's money: every payout, refund,
repayment, donation and fee the demo booked (the import links each line to its entry), plus, in
the last complete month, two lines the treasurer has to deal with by hand: a transfer without a
reference (booked to unidentified receipts, with a suggested loan) and a card payment nothing in
the ledger explains (unmatched, so that month does not reconcile until it is booked).

Built only from the ledger and the public use cases; importing the same statements again adds
nothing, so running the demo twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from ledger.bank.writers import camt053
from ledger.domain.journal import Entry, month_end
from ledger.domain.roles import Actor, Role
from ledger.domain.statements import Direction, Statement, StatementEntry, end_to_end_id
from ledger.services import journal
from ledger.services.statements import ImportOptions, import_statements
from ledger.store.uow import UnitOfWork

TREASURER = Actor("treasurer", Role.TREASURER)
BANK_ACCOUNT = "1000"
#: Where the demo's beneficiaries pay from and the fund pays to (the IBAN registry's examples
#: and made-up ones with valid check digits: no real account).
PAYER_IBAN = "BE68539007547034"
LANDLORD_IBAN = "BE62510007547061"
CHARGE_CODE = "ACMT/MDOP/CHRG"


@dataclass(frozen=True, slots=True)
class DemoStatements:
    months: list[str]
    new_lines: int


def _bank_entries(uow: UnitOfWork, start: date, end: date) -> list[tuple[Entry, int]]:
    """The ledger's movements on the bank account in [start, end] that the bank would show:
    an entry and its reversal (a booking mistake) cancel and are left out, and so are entries
    a statement made (those come from the bank already)."""
    out: list[tuple[Entry, int]] = []
    offset = 0
    while True:
        page = journal.statement(
            uow, TREASURER, BANK_ACCOUNT, date_from=start, date_to=end, limit=500, offset=offset
        )
        with uow:
            for line in page.lines:
                out.append((uow.journal.get(line.entry_id), line.amount_minor))
        offset += len(page.lines)
        if offset >= page.total or not page.lines:
            break
    ids = {e.id for e, _ in out}
    reversed_ids = {e.reverses_id for e, _ in out if e.reverses_id is not None}
    return [
        (e, amount)
        for e, amount in out
        if e.statement_line_id is None and e.reverses_id not in ids and e.id not in reversed_ids
    ]


def _line(uow: UnitOfWork, entry: Entry, amount: int, currency: str, n: int) -> StatementEntry:
    base = StatementEntry(
        booking_date=entry.booking_date,
        amount_minor=abs(amount),
        currency=currency,
        direction=Direction.CREDIT if amount > 0 else Direction.DEBIT,
        bank_reference=f"DEMO{entry.booking_date:%Y%m%d}{n:04d}",
        value_date=entry.booking_date,
        bank_code="PMNT/RCDT/ESCT",
    )
    kind = entry.kind.value
    if kind in ("disbursement", "refund"):
        return replace(
            base,
            end_to_end_id=end_to_end_id(entry.id),
            counterparty_iban=LANDLORD_IBAN if kind == "disbursement" else PAYER_IBAN,
            bank_code="PMNT/ICDT/ESCT",
        )
    if kind == "bank_charge":
        return replace(base, remittance="Account fees", bank_code=CHARGE_CODE)
    if entry.loan_id is not None:
        with uow:
            reference = uow.loans.get(entry.loan_id).reference.value
        return replace(base, creditor_reference=reference, counterparty_iban=PAYER_IBAN)
    return replace(base, remittance=entry.description[:140])


def build_demo_statements(
    uow: UnitOfWork,
    currency: str,
    iban: str,
    hash_key: bytes,
    months: list[date],
) -> DemoStatements:
    """Import one statement per month (``months``: first days, oldest first); the last one
    carries the two lines left for the treasurer."""
    statements: list[Statement] = []
    closing = 0
    for i, first in enumerate(months):
        end = month_end(f"{first:%Y-%m}")
        lines = [
            _line(uow, e, amount, currency, n)
            for n, (e, amount) in enumerate(_bank_entries(uow, first, end))
        ]
        if i == len(months) - 1:
            lines += _to_fix(first, currency)
        opening = closing
        closing = opening + sum(x.signed_minor for x in lines)
        statements.append(
            Statement(
                account_iban=iban,
                currency=currency,
                statement_id=f"DEMO-{first:%Y-%m}",
                entries=tuple(lines),
                source_format="camt.053.001.08",
                sequence=i + 1,
                opening_minor=opening,
                opening_date=first,
                closing_minor=closing,
                closing_date=end,
            )
        )
    result = import_statements(
        uow,
        TREASURER,
        camt053(statements, version=8),
        ImportOptions(hash_key=hash_key, account_code=BANK_ACCOUNT),
    )
    return DemoStatements([f"{m:%Y-%m}" for m in months], result.new_entries)


def _to_fix(first: date, currency: str) -> list[StatementEntry]:
    """A repayment without its reference (paid from the payer's usual account: the import
    suggests the loan) and a card payment nothing explains."""
    return [
        StatementEntry(
            booking_date=first.replace(day=22),
            amount_minor=4500,
            currency=currency,
            direction=Direction.CREDIT,
            bank_reference=f"DEMO{first:%Y%m}22X001",
            counterparty_iban=PAYER_IBAN,
            remittance="loyer garantie",
            bank_code="PMNT/RCDT/ESCT",
        ),
        StatementEntry(
            booking_date=first.replace(day=24),
            amount_minor=1240,
            currency=currency,
            direction=Direction.DEBIT,
            bank_reference=f"DEMO{first:%Y%m}24X002",
            remittance="CARD 4871 OFFICE SUPPLIES BRUXELLES",
            bank_code="PMNT/CCRD/POSD",
        ),
    ]
