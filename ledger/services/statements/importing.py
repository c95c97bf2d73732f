"""Importing bank statement files: parsed, checked, and every new line booked in one
transaction or nothing (docs/bank.md)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.bank.camt import parse_camt
from ledger.bank.coda import parse_coda
from ledger.bank.csv_statement import CsvMapping, parse_csv
from ledger.bank.files import Source, StatementFormat, detect_format, read_all
from ledger.domain.accounts import AccountRole
from ledger.domain.errors import Conflict, NotFound, StatementRefused, ValidationError
from ledger.domain.money import from_minor, money, to_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.statements import (
    BankAccount,
    SequenceGap,
    Statement,
    amount_text,
    check_continuity,
    check_statement,
    line_keys,
    normalise_iban,
    sequence_gaps,
)
from ledger.services.statements.common import (
    ImportOptions,
    ImportResult,
    StatementReport,
    check_key,
)
from ledger.services.statements.matching import Matcher
from ledger.store.uow import UnitOfWork

if TYPE_CHECKING:
    pass

#: Loans whose repayments a statement books; others' money (a closed loan's included, as
#: record_payment refuses it) goes to unidentified receipts with a note naming the loan.


def parse_file(
    data: bytes,
    options: ImportOptions,
    mapping: CsvMapping | None = None,
    currency: str | None = None,
) -> tuple[str, list[Statement]]:
    """(format, statements) of a file; CSV needs its mapping and the account's currency."""
    fmt = options.format or detect_format(data[:4096])
    if fmt is StatementFormat.CAMT:
        statements = parse_camt(data, max_bytes=options.max_bytes)
        return statements[0].source_format, statements
    if fmt is StatementFormat.CODA:
        return "coda", parse_coda(data, max_bytes=options.max_bytes)
    if mapping is None or currency is None:
        raise _not_camt_nor_coda()
    return f"csv:{mapping.name}", parse_csv(
        data, mapping, currency=currency, account_iban=options.iban, max_bytes=options.max_bytes
    )


def import_statements(
    uow: UnitOfWork, actor: Actor, source: Source, options: ImportOptions
) -> ImportResult:
    """Import every statement of a file in one transaction: all of it, or nothing."""
    actor.require(Permission.PAYMENTS_RECORD)
    check_key(options.hash_key)
    data = read_all(source, options.max_bytes)
    sha = hashlib.sha256(data).hexdigest()
    fmt = options.format or detect_format(data[:4096])
    if fmt is not StatementFormat.CSV:
        source_format, statements = parse_file(data, options)
    with uow:
        uow.journal.lock_head()  # imports queue: a line is checked and booked by one of them
        if fmt is StatementFormat.CSV:
            source_format, statements = _parse_csv(uow, data, options)
        reports = [_import_one(uow, actor, st, sha, options) for st in statements]
        if all(r.id is None for r in reports):
            return ImportResult(sha, source_format, tuple(reports))  # nothing new: no change
        uow.audit_event(
            actor,
            action="statement_import",
            target=f"file:{sha[:16]}",
            details={
                "format": source_format,
                "statements": [r.statement_key for r in reports],
                "new_entries": sum(r.new_entries for r in reports),
            },
        )
        uow.commit()
    return ImportResult(sha, source_format, tuple(reports))


def _not_camt_nor_coda() -> StatementRefused:
    return StatementRefused(
        "this file is neither camt.053 nor CODA; a CSV export needs a saved column mapping "
        "(--mapping NAME)",
        field="mapping",
        key="err.statement.format",
    )


def _parse_csv(uow: UnitOfWork, data: bytes, options: ImportOptions) -> tuple[str, list[Statement]]:
    if not options.mapping:
        raise _not_camt_nor_coda()
    stored = uow.statements.mapping(options.mapping)
    if stored is None:
        raise NotFound(f"there is no CSV mapping named {options.mapping}", "mapping")
    mapping = CsvMapping.from_dict(stored)
    iban = normalise_iban(options.iban or mapping.account_iban or "")
    if not iban:
        raise StatementRefused(
            "a CSV export does not say which account it belongs to: give the account's IBAN "
            "(--iban)",
            field="iban",
            key="err.statement.csv_iban",
        )
    currency = _currency_for(uow, iban, options)
    return parse_file(data, options, mapping, currency)


def _currency_for(uow: UnitOfWork, iban: str, options: ImportOptions) -> str:
    known = uow.statements.bank_account(iban) if iban else None
    if known is not None:
        return known.currency
    if options.account_code:
        return uow.accounts.get(options.account_code, field="account").currency
    banks = {a.currency for a in uow.accounts.all() if a.role is AccountRole.BANK}
    if iban in options.fund_ibans and len(banks) == 1:
        return banks.pop()
    raise StatementRefused(
        f"account {iban} has no statement yet: say which ledger account "
        "it is (--account CODE, e.g. 1000)",
        field="account",
        key="err.statement.account_unlinked",
        params={"iban": iban},
    )


def _bank_account(
    uow: UnitOfWork, actor: Actor, st: Statement, options: ImportOptions
) -> BankAccount:
    """The bank account a statement belongs to; linked to its ledger account the first time."""
    found = uow.statements.bank_account(st.account_iban)
    if found is not None:
        if options.account_code and options.account_code != found.account_code:
            raise Conflict(
                f"account {st.account_iban} is linked to ledger account {found.account_code}, "
                f"not {options.account_code}",
                "account",
            )
        return found
    if options.account_code:
        account = uow.accounts.get(options.account_code, field="account")
    elif st.account_iban in options.fund_ibans:
        account = uow.accounts.by_role(AccountRole.BANK, st.currency)
    else:
        raise StatementRefused(
            f"{st.label}: the account {st.account_iban} is not linked to a ledger account yet; "
            "import again saying which one it is (--account CODE, e.g. 1000)",
            field="account",
            key="err.statement.account_unlinked",
            params={"iban": st.account_iban},
        )
    actor.require(Permission.ACCOUNTS_MANAGE)
    if account.type.value != "asset" or account.is_control or account.role is AccountRole.LOAN:
        raise ValidationError(
            f"ledger account {account.code} is not a bank account (an asset account)", "account"
        )
    if uow.statements.bank_account_of(account.id) is not None:
        raise Conflict(
            f"ledger account {account.code} already mirrors another bank account", "account"
        )
    linked = uow.statements.add_bank_account(
        st.account_iban, account.id, account.currency, actor=actor.name, now=uow.now()
    )
    uow.audit_event(
        actor,
        action="bank_account_linked",
        target=f"account:{account.code}",
        details={"iban": st.account_iban},
    )
    return linked


def _import_one(
    uow: UnitOfWork, actor: Actor, st: Statement, sha: str, options: ImportOptions
) -> StatementReport:
    bank = _bank_account(uow, actor, st, options)
    if st.currency != bank.currency:
        raise StatementRefused(
            f"{st.label} is in {st.currency}, but the account is kept in ledger account "
            f"{bank.account_code} in {bank.currency}",
            "account",
            key="err.statement.currency",
            params={
                "statement": st.statement_id,
                "currency": st.currency,
                "account": bank.account_code,
                "account_currency": bank.currency,
            },
        )
    keys = line_keys(options.hash_key, st.entries)
    known = uow.statements.known_lines(bank.id, keys)
    known_sum = sum(known.values())
    st = _with_balances(uow, st, bank, known_sum, options)
    check_statement(st)
    fresh = [
        (i, e, k) for i, (e, k) in enumerate(zip(st.entries, keys, strict=True)) if k not in known
    ]
    if st.opening_minor is None or st.closing_minor is None:
        raise StatementRefused(
            f"{st.label} has no opening or closing balance and none could be derived from the "
            "account's earlier statements: ask the bank for a statement with both balances"
        )
    report = StatementReport(
        statement_key=st.statement_id,
        iban=st.account_iban,
        currency=st.currency,
        id=None,
        entries=len(st.entries),
        new_entries=len(fresh),
        opening_minor=st.opening_minor,
        closing_minor=st.closing_minor,
    )
    before = uow.statements.statement_by_key(bank.id, st.statement_id)
    if before is not None and (fresh or before.closing_minor != st.closing_minor):
        raise StatementRefused(
            f"{st.label} was imported on {before.imported_at:%Y-%m-%d} with other content "
            f"(closing balance then {from_minor(before.closing_minor, st.currency).amount}, now "
            f"{from_minor(st.closing_minor, st.currency).amount}); ask the bank which is right",
            "file",
            key="err.statement.other_content",
            params={
                "statement": st.statement_id,
                "day": before.imported_at.date(),
                "then": from_minor(before.closing_minor, st.currency),
                "now": from_minor(st.closing_minor, st.currency),
            },
        )
    if not fresh:
        return report  # nothing new: the statement changes nothing and is not recorded
    previous = uow.statements.last_statement(bank.id)
    if previous is not None:
        gap = _gap_filled(uow, bank, st)
        if gap is None:
            check_continuity(st, previous.statement_key, previous.closing_minor, known_sum)
        else:
            _check_fills(st, gap, known_sum)
    statement_id = uow.statements.add_statement(
        {
            "bank_account_id": bank.id,
            "statement_key": st.statement_id,
            "source_format": st.source_format,
            "sequence": st.sequence,
            "opening_minor": st.opening_minor,
            "opening_date": st.opening_date,
            "closing_minor": st.closing_minor,
            "closing_date": st.closing_date,
            "credits_minor": st.credits_minor,
            "debits_minor": st.debits_minor,
            "entries": len(st.entries),
            "new_entries": len(fresh),
            "file_sha256": sha,
            "imported_at": uow.now(),
            "imported_by": actor.name,
        }
    )
    plans = Matcher(uow, actor, bank, options.hash_key).book(statement_id, fresh)
    states = Counter(p.state.value for p in plans)
    missing = tuple(g.text() for g in sequence_gaps(uow.statements.series(bank.id)))
    return replace(report, id=statement_id, states=dict(states), missing=missing)


def _gap_filled(uow: UnitOfWork, bank: BankAccount, st: Statement) -> SequenceGap | None:
    """The gap in the account's statement numbers that ``st`` arrives late to fill, if any:
    its number is missing, and it ends no later than the statement after the gap."""
    if st.sequence is None:
        return None
    for gap in sequence_gaps(uow.statements.series(bank.id)):
        ends = gap.before.closing_date
        if gap.holds(st.sequence) and (
            st.closing_date is None or ends is None or st.closing_date <= ends
        ):
            return gap
    return None


def _check_fills(st: Statement, gap: SequenceGap, known_sum: int) -> None:
    """A late statement continues the one before the gap, and the last missing one leads to
    the statement after it."""
    check_continuity(st, gap.after.statement_key, gap.after.closing_minor, known_sum)
    if st.sequence == gap.last and st.closing_minor != gap.before.opening_minor:
        cur = st.currency
        closing = st.closing_minor or 0
        raise StatementRefused(
            f"{st.label} (no. {st.sequence}) fills the gap before {gap.before.statement_key}, "
            f"but closes with {amount_text(closing, cur)} while {gap.before.statement_key} "
            f"opens with {amount_text(gap.before.opening_minor, cur)} (difference "
            f"{amount_text(closing - gap.before.opening_minor, cur)}); ask the bank which "
            "statement is right",
            "file",
        )


def _with_balances(
    uow: UnitOfWork, st: Statement, bank: BankAccount, known_sum: int, options: ImportOptions
) -> Statement:
    """A CSV export's balances: given by the treasurer, or from the previous statement."""
    if st.has_balances:
        return st
    total = sum(e.signed_minor for e in st.entries)
    if options.opening is not None:
        opening = _minor_in(options.opening, st.currency, "opening")
    else:
        previous = uow.statements.last_statement(bank.id)
        if previous is None:
            raise StatementRefused(
                f"{st.label}: a CSV export has no balances and this is the account's first "
                "statement: give its opening balance (--opening)",
                field="opening",
                key="err.statement.csv_opening",
            )
        opening = previous.closing_minor - known_sum
    computed = opening + total
    if options.closing is not None:
        closing = _minor_in(options.closing, st.currency, "closing")
        if closing != computed:
            cur = st.currency
            raise StatementRefused(
                f"{st.label} does not add up: opening balance {amount_text(opening, cur)} + "
                f"movements {amount_text(total, cur)} = {amount_text(computed, cur)}, but the "
                f"closing balance given is {amount_text(closing, cur)} (difference "
                f"{amount_text(closing - computed, cur)}); rows are missing from the export",
                field="closing",
            )
    return st.with_balances(opening, computed)


def _minor_in(amount: Decimal, currency: str, name: str) -> int:
    try:
        return to_minor(money(amount, currency))
    except ValidationError as exc:
        raise ValidationError(f"the {name} balance: {exc.detail}", name) from None
