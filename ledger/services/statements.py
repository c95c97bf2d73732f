"""Importing bank statements and matching their lines to the ledger.

A file is parsed (``ledger/bank``), every statement in it checked, and everything it brings is
booked in one transaction, or nothing is. Each line is booked once, whatever statements bring
it again: lines are keyed per bank account on the bank's reference, or on a fingerprint.

How a new line is matched (``docs/bank.md``):

- a credit with a payment reference (structured field, or found in the free text) that names a
  loan being repaid is booked as that loan's repayment (``record_payment``);
- any other credit is booked to unidentified receipts (Dr bank, Cr 2200), with a suggested
  loan when the payer's (hashed) IBAN paid a loan before: the ledger's bank account always
  moves with the statement;
- a debit is linked to the disbursement or refund it pays (end-to-end id, else amount and date):
  those are booked already; a debit found nowhere stays unmatched for the treasurer;
- a bank charge (by the bank's transaction code) is booked to bank charges;
- a returned payment reverses the payment it returns.

The treasurer re-matches by hand; every change is a reversing entry and a new one, never an
edit, and ``statement_matches`` keeps the history. Payers' names and IBANs are not kept.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.bank.camt import parse_camt
from ledger.bank.coda import parse_coda
from ledger.bank.csv_statement import CsvMapping, parse_csv
from ledger.bank.files import DEFAULT_MAX_BYTES, Source, StatementFormat, detect_format, read_all
from ledger.domain.accounts import AccountRole
from ledger.domain.errors import Conflict, NotFound, ValidationError
from ledger.domain.journal import (
    MANUAL_KINDS,
    EntryDraft,
    EntryKind,
    Leg,
    month_of,
    reversal_of,
)
from ledger.domain.loans import LoanStatus
from ledger.domain.money import from_minor, money, to_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.statements import (
    Direction,
    LineState,
    Statement,
    StatementEntry,
    StatementRefused,
    amount_text,
    check_continuity,
    check_statement,
    entry_id_of,
    iban_digest,
    is_charge,
    line_keys,
    normalise_iban,
    payment_reference,
)
from ledger.services.journal import post_in
from ledger.services.loans import PaymentIn, record_payments_in, reverse_payment_in
from ledger.store.statement_repository import (
    BankAccount,
    LinkCandidate,
    MatchRecord,
    StoredLine,
    StoredStatement,
)
from ledger.store.uow import UnitOfWork

if TYPE_CHECKING:
    from ledger.config import Settings

#: Loans whose repayments a statement books; others' money (a closed loan's included, as
#: record_payment refuses it) goes to unidentified receipts with a note naming the loan.
PAYABLE = frozenset({LoanStatus.ACTIVE, LoanStatus.OVERPAID, LoanStatus.WRITTEN_OFF})
#: Entries a debit on the statement can explain: money the fund sent.
LINKABLE_KINDS = ("disbursement", "refund")
#: Money in the treasurer may have booked by hand before the statement came: a line then
#: explains that entry instead of booking the money a second time.
LOAN_RECEIPT_KINDS = ("repayment", "recovery", "deposit_release")
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


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ValidationError(
            f"the hash key must be at least {MIN_KEY_BYTES} bytes: set FUNDLEDGER_HASH_KEY or "
            "run `fundledger init` to generate one",
            "hash_key",
        )


# -- import ----------------------------------------------------------------------------------


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
        raise StatementRefused(
            "this file is neither camt.053 nor CODA; a CSV export needs a saved column mapping "
            "(--mapping NAME)",
            field="mapping",
        )
    return f"csv:{mapping.name}", parse_csv(
        data, mapping, currency=currency, account_iban=options.iban, max_bytes=options.max_bytes
    )


def import_statements(
    uow: UnitOfWork, actor: Actor, source: Source, options: ImportOptions
) -> ImportResult:
    """Import every statement of a file in one transaction: all of it, or nothing."""
    actor.require(Permission.PAYMENTS_RECORD)
    _check_key(options.hash_key)
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


def _parse_csv(uow: UnitOfWork, data: bytes, options: ImportOptions) -> tuple[str, list[Statement]]:
    if not options.mapping:
        raise StatementRefused(
            "this file is neither camt.053 nor CODA; a CSV export needs a saved column mapping "
            "(--mapping NAME)",
            field="mapping",
        )
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
            f"{bank.account_code} in {bank.currency}"
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
            f"{from_minor(st.closing_minor, st.currency).amount}); ask the bank which is right"
        )
    if not fresh:
        return report  # nothing new: the statement changes nothing and is not recorded
    previous = uow.statements.last_statement(bank.id)
    if previous is not None:
        check_continuity(st, previous.statement_key, previous.closing_minor, known_sum)
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
    plans = _Matcher(uow, actor, bank, options.hash_key).book(statement_id, fresh)
    states = Counter(p.state.value for p in plans)
    return replace(report, id=statement_id, states=dict(states))


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


# -- matching --------------------------------------------------------------------------------


@dataclass
class _Plan:
    position: int
    entry: StatementEntry
    key: str
    ref: str
    state: LineState = LineState.UNMATCHED
    reference: str | None = None
    digest: str | None = None
    loan_id: str | None = None
    suggested: str | None = None
    note: str | None = None
    entry_id: int | None = None
    draft: EntryDraft | None = None
    payment: PaymentIn | None = None


class _Matcher:
    """Classifies a statement's new lines, books them in bulk, and stores them."""

    def __init__(self, uow: UnitOfWork, actor: Actor, bank: BankAccount, hash_key: bytes) -> None:
        self.uow, self.actor, self.bank, self.key = uow, actor, bank, hash_key
        self.loans: dict[str, Any] = {}
        self.suspense = uow.accounts.by_role(AccountRole.UNIDENTIFIED_RECEIPTS, bank.currency).code
        self.charges = uow.accounts.by_role(AccountRole.BANK_CHARGES, bank.currency).code

    def book(self, statement_id: int, fresh: list[tuple[int, StatementEntry, str]]) -> list[_Plan]:
        plans = [
            _Plan(
                i,
                e,
                k,
                line_ref(self.bank.id, k),
                digest=iban_digest(self.key, e.counterparty_iban),
            )
            for i, e, k in fresh
        ]
        returns = [p for p in plans if p.entry.is_return and p.entry.direction is Direction.DEBIT]
        normal = [
            p for p in plans if not (p.entry.is_return and p.entry.direction is Direction.DEBIT)
        ]
        for p in normal:
            self._classify(p)
        self._link_booked(normal)
        self._link_debits(
            [
                p
                for p in normal
                if p.state is LineState.UNMATCHED and p.entry.direction is Direction.DEBIT
            ]
        )
        self._suggest(normal)
        self._post(normal)
        self._store(statement_id, normal, action="import")
        for p in returns:
            self._return(p)
            self._store(statement_id, [p], action="import")
        return plans

    # -- deciding ----------------------------------------------------------------------
    def _loan_by_reference(self, value: str) -> Any:
        if value not in self.loans:
            self.loans[value] = self.uow.loans.by_reference(value)
        return self.loans[value]

    def _classify(self, p: _Plan) -> None:
        e = p.entry
        if e.amount_minor == 0:
            p.state = LineState.IGNORED
            return
        if is_charge(e):
            p.state = LineState.CHARGE
            p.draft = _charge_draft(self.charges, self.bank, e, p.ref, f"{p.ref}:0")
            return
        if e.direction is Direction.DEBIT:
            p.state = LineState.UNMATCHED
            return
        found = payment_reference(e)
        p.reference = found.value if found else None
        loan = self._loan_by_reference(found.value) if found else None
        if loan is not None and loan.status in PAYABLE and loan.currency == e.currency:
            p.state, p.loan_id = LineState.LOAN, loan.id
            p.payment = PaymentIn(loan.id, e.amount, e.booking_date, f"{p.ref}:0", p.ref)
            return
        if found is not None:
            p.note = (
                f"reference {found.display} names no loan"
                if loan is None
                else f"reference {found.display} names loan {loan.id}, which is "
                f"{loan.status.value.replace('_', ' ')}"
            )
            if loan is not None:
                p.suggested = loan.id
        p.state = LineState.UNIDENTIFIED
        p.draft = _unidentified_draft(self.suspense, self.bank, e, p.ref, f"{p.ref}:0")

    def _link_booked(self, plans: list[_Plan]) -> None:
        """Money in (a repayment, a donation) or a bank charge the treasurer booked by hand
        before the statement came: the line explains that entry when exactly one fits (same
        amount, booked at most a few days apart, the same loan when the line names one),
        instead of booking the money twice. Several fits: booked as usual, with a note."""
        waiting = [
            p
            for p in plans
            if p.state in (LineState.LOAN, LineState.UNIDENTIFIED, LineState.CHARGE)
        ]
        if not waiting:
            return
        days = [p.entry.booking_date for p in waiting]
        lo = min(days) - timedelta(days=LINK_DAYS_BEFORE)
        hi = max(days) + timedelta(days=LINK_DAYS_BEFORE)
        account = self.bank.account_id
        credits = self.uow.statements.link_candidates(
            account, LOAN_RECEIPT_KINDS + OTHER_RECEIPT_KINDS, lo, hi, money_in=True
        )
        charges = self.uow.statements.link_candidates(account, ("bank_charge",), lo, hi)
        if not credits and not charges:
            return
        taken: set[int] = set()
        for p in waiting:
            day, amount = p.entry.booking_date, p.entry.amount_minor
            pool = charges if p.state is LineState.CHARGE else credits
            fits = [
                c
                for c in pool
                if c.entry_id not in taken
                and c.amount_minor == amount
                and abs((c.booking_date - day).days) <= LINK_DAYS_BEFORE
                and (p.state is not LineState.LOAN or c.loan_id == p.loan_id)
            ]
            if len(fits) == 1:
                c = fits[0]
                p.state, p.entry_id, p.draft, p.payment = LineState.LINKED, c.entry_id, None, None
                p.loan_id = c.loan_id
                p.note = f"{c.kind.replace('_', ' ')} booked by hand (entry {c.entry_id})"
                taken.add(c.entry_id)
            elif len(fits) > 1:
                p.note = (
                    f"{len(fits)} entries booked by hand fit this line (entries "
                    f"{', '.join(str(c.entry_id) for c in fits[:5])}); it was booked on its "
                    "own: if it is one of them, re-match it by hand"
                )

    def _link_debits(self, plans: list[_Plan]) -> None:
        """A debit is a payout or refund booked before: by end-to-end id, else by amount and
        date when exactly one entry fits."""
        if not plans:
            return
        days = [p.entry.booking_date for p in plans]
        pool = self.uow.statements.link_candidates(
            self.bank.account_id,
            LINKABLE_KINDS,
            min(days) - timedelta(days=366),
            max(days) + timedelta(days=LINK_DAYS_AFTER),
        )
        by_id = {c.entry_id: c for c in pool}
        taken: set[int] = set()
        for p in plans:
            wanted = entry_id_of(p.entry.end_to_end_id)
            c = by_id.get(wanted) if wanted is not None else None
            if c is not None and c.amount_minor == p.entry.amount_minor:
                self._link(p, c, taken)
        for p in plans:
            if p.state is not LineState.UNMATCHED:
                continue
            day = p.entry.booking_date
            fits = [
                c
                for c in pool
                if c.entry_id not in taken
                and c.amount_minor == p.entry.amount_minor
                and day - timedelta(days=LINK_DAYS_BEFORE)
                <= c.booking_date
                <= day + timedelta(days=LINK_DAYS_AFTER)
            ]
            if len(fits) == 1:
                self._link(p, fits[0], taken)
            elif fits:
                p.note = (
                    f"{len(fits)} payments of this amount fit (entries "
                    f"{', '.join(str(c.entry_id) for c in fits[:5])}); link the right one by hand"
                )
                p.suggested = fits[0].loan_id

    @staticmethod
    def _link(p: _Plan, c: LinkCandidate, taken: set[int]) -> None:
        p.state, p.entry_id, p.loan_id = LineState.LINKED, c.entry_id, None
        p.note = f"{c.kind} of loan {c.loan_id}" if c.loan_id else c.kind
        taken.add(c.entry_id)

    def _suggest(self, plans: list[_Plan]) -> None:
        """A payer's (hashed) IBAN that paid a loan before (or earlier in this statement)
        suggests it for an unidentified receipt; the amount decides between several."""
        waiting = [p for p in plans if p.state is LineState.UNIDENTIFIED and p.suggested is None]
        digests = [p.digest for p in waiting if p.digest]
        if not digests:
            return
        paid = self.uow.statements.loans_paid_from(digests)
        for p in plans:
            if p.state is LineState.LOAN and p.digest and p.loan_id:
                known = paid.setdefault(p.digest, [])
                if p.loan_id not in known:
                    known.insert(0, p.loan_id)
        for p in waiting:
            candidates = paid.get(p.digest or "", [])
            if not candidates:
                continue
            for loan_id in candidates:
                _, schedule = self.uow.loans.schedule(loan_id)
                if any(i.minor == p.entry.amount_minor for i in schedule.installments):
                    p.suggested = loan_id
                    break
            else:
                p.suggested = candidates[0]

    # -- booking -----------------------------------------------------------------------
    def _post(self, plans: list[_Plan]) -> None:
        """Payments first, then other money in, then money out: the bank account never
        dips below what the statement shows."""
        payments = [p for p in plans if p.payment is not None]
        results = record_payments_in(
            self.uow, self.actor, [p.payment for p in payments if p.payment]
        )
        for p, result in zip(payments, results, strict=True):
            p.entry_id = result.entry.id
        drafts = sorted(
            (p for p in plans if p.draft is not None),
            key=lambda p: p.entry.direction is Direction.DEBIT,
        )
        if not drafts:
            return
        posted = post_in(
            self.uow,
            self.actor,
            [p.draft for p in drafts if p.draft is not None],
            command="statement_line",
        )
        for p, done in zip(drafts, posted, strict=True):
            p.entry_id = done.entry.id

    def _store(self, statement_id: int, plans: list[_Plan], *, action: str) -> None:
        now = self.uow.now()
        self.uow.statements.add_lines(
            [
                {
                    "ref": p.ref,
                    "bank_account_id": self.bank.id,
                    "statement_id": statement_id,
                    "line_key": p.key,
                    "position": p.position,
                    "booking_date": p.entry.booking_date,
                    "value_date": p.entry.value_date,
                    "amount_minor": p.entry.signed_minor,
                    "currency": p.entry.currency,
                    "reversal": p.entry.reversal,
                    "end_to_end_id": p.entry.end_to_end_id,
                    "payment_reference": p.reference,
                    "bank_code": p.entry.bank_code,
                    "return_reason": p.entry.return_reason,
                    "counterparty_digest": p.digest,
                    "remittance": p.entry.remittance if p.state in KEEP_TEXT else None,
                    "state": p.state.value,
                    "entry_id": p.entry_id,
                    "loan_id": p.loan_id,
                    "suggested_loan_id": p.suggested,
                    "note": p.note[:300] if p.note else None,
                    "updated_at": now,
                }
                for p in plans
            ]
        )
        self.uow.statements.add_matches_of_lines(
            statement_id, [p.ref for p in plans], at=now, actor=self.actor.name, action=action
        )

    def _return(self, p: _Plan) -> None:
        """A payment sent back: reverse what booked it; if none is found, the debit waits."""
        e = p.entry
        candidates = self.uow.statements.returned_candidates(
            self.bank.id, e.amount_minor, e.booking_date
        )
        found = payment_reference(e)
        p.reference = found.value if found else None
        original = next(
            (c for c in candidates if e.end_to_end_id and c.end_to_end_id == e.end_to_end_id),
            None,
        ) or next(
            (c for c in candidates if p.reference and c.payment_reference == p.reference), None
        )
        if original is None and len(candidates) == 1:
            original = candidates[0]
        reason = f"returned by the bank ({e.return_reason or 'reversal'})"
        if original is None or original.entry_id is None:
            p.state = LineState.UNMATCHED
            p.note = f"{reason}; the payment it returns was not found"
            return
        key = f"{p.ref}:0"
        on = max(e.booking_date, self.uow.journal.get(original.entry_id).booking_date)
        booked = self.uow.journal.get(original.entry_id)
        if original.state == LineState.LOAN or booked.kind.value in LOAN_RECEIPT_KINDS:
            result = reverse_payment_in(
                self.uow, self.actor, original.entry_id, on=on, reason=reason, idempotency_key=key
            )
            p.entry_id, p.loan_id = result.entry.id, original.loan_id
        else:
            what = "Unidentified receipt" if original.state == LineState.UNIDENTIFIED else "Receipt"
            draft = reversal_of(
                booked,
                booking_date=on,
                idempotency_key=key,
                description=f"{what} returned by the bank ({original.ref})",
            )
            p.entry_id = post_in(self.uow, self.actor, [draft], command="statement_line")[
                0
            ].entry.id
        p.state = LineState.RETURNED
        p.note = f"{reason}: returns statement line {original.id}"


def _bank_legs(bank_code: str, other: str, entry_minor: int, currency: str) -> tuple[Leg, Leg]:
    """Dr bank / Cr other for money in (positive), Dr other / Cr bank for money out."""
    amount = from_minor(abs(entry_minor), currency)
    if entry_minor > 0:
        return Leg.debit(bank_code, amount), Leg.credit(other, amount)
    return Leg.debit(other, amount), Leg.credit(bank_code, amount)


def _charge_draft(
    charges: str, bank: BankAccount, e: StatementEntry, ref: str, key: str
) -> EntryDraft:
    return EntryDraft(
        e.booking_date,
        f"Bank charge ({ref})"
        if e.direction is Direction.DEBIT
        else f"Bank charge refunded ({ref})",
        EntryKind.BANK_CHARGE,
        _bank_legs(bank.account_code, charges, e.signed_minor, e.currency),
        statement_line_id=ref,
        idempotency_key=key,
    )


def _unidentified_draft(
    suspense: str, bank: BankAccount, e: StatementEntry, ref: str, key: str
) -> EntryDraft:
    return EntryDraft(
        e.booking_date,
        f"Unidentified receipt ({ref})",
        EntryKind.UNIDENTIFIED_RECEIPT,
        _bank_legs(bank.account_code, suspense, e.signed_minor, e.currency),
        statement_line_id=ref,
        idempotency_key=key,
    )


# -- matching by hand ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineView:
    line: StoredLine
    history: tuple[MatchRecord, ...]


def _open_day(uow: UnitOfWork, line: StoredLine) -> date:
    """The line's own day, unless its month is closed: then today."""
    if month_of(line.booking_date) in uow.periods.closed_months():
        return uow.today()
    return line.booking_date


def _undo(
    uow: UnitOfWork, actor: Actor, line: StoredLine, on: date, key: str, why: str
) -> int | None:
    """Reverse what books the line now; returns the reversing entry (None if nothing to)."""
    if line.entry_id is None or line.state in (LineState.LINKED, LineState.UNMATCHED):
        return None
    if line.state == LineState.RETURNED:
        raise Conflict(
            f"statement line {line.id} is a returned payment, already reversed; book the money "
            "again by hand if it was returned by mistake",
            "line_id",
        )
    original = uow.journal.get(line.entry_id)
    day = max(on, original.booking_date)
    if line.state == LineState.LOAN:
        return reverse_payment_in(
            uow, actor, line.entry_id, on=day, reason=why, idempotency_key=key
        ).entry.id
    draft = reversal_of(
        original,
        booking_date=day,
        idempotency_key=key,
        description=f"Statement line {line.id} re-matched",  # the reason: in the match record
    )
    return post_in(uow, actor, [draft], command="statement_rematch")[0].entry.id


@dataclass(frozen=True, slots=True)
class _Decision:
    state: LineState
    action: str
    loan_id: str | None = None
    entry_id: int | None = None  # an entry booked before (a link)
    book: Callable[[], int] | None = None  # posts the new entry, returns its id


Decide = Callable[[UnitOfWork, StoredLine, BankAccount, date, str], _Decision]


def _rematch(
    uow: UnitOfWork, actor: Actor, line_id: int, reason: str | None, decide: Decide
) -> LineView:
    """Change a line's match: what booked it is reversed and the new booking is a new entry.
    Money in is booked anew before the old booking is reversed, money out after, so the bank
    account never dips below zero on the way."""
    actor.require(Permission.PAYMENTS_RECORD)
    why = (reason or "").strip() or "re-matched by hand"
    if len(why) > 500:
        raise ValidationError("the reason is longer than 500 characters", "reason")
    with uow:
        uow.journal.lock_head()
        line = uow.statements.line(line_id, lock=True)
        n = uow.statements.match_count(line.id)
        on = _open_day(uow, line)
        bank = next(b for b in uow.statements.bank_accounts() if b.id == line.bank_account_id)
        decision = decide(uow, line, bank, on, f"{line.ref}:{n}b")
        entry_id = decision.entry_id
        if decision.book is not None and line.amount_minor > 0:
            entry_id = decision.book()
        reversal = _undo(uow, actor, line, on, f"{line.ref}:{n}a", why)
        if decision.book is not None and line.amount_minor < 0:
            entry_id = decision.book()
        state = decision.state
        uow.statements.set_match(
            line.id,
            state=state.value,
            entry_id=entry_id,
            loan_id=decision.loan_id,
            note=why[:300],
            keep_remittance=state in KEEP_TEXT,
            now=uow.now(),
        )
        uow.statements.add_matches(
            [
                {
                    "line_id": line.id,
                    "at": uow.now(),
                    "actor": actor.name,
                    "action": decision.action,
                    "state": state.value,
                    "entry_id": entry_id,
                    "reversal_entry_id": reversal,
                    "loan_id": decision.loan_id,
                    "reason": why,
                }
            ]
        )
        uow.audit_event(
            actor,
            action=f"statement_line_{decision.action}",
            target=f"statement_line:{line.id}",
            details={"state": state.value, "entry": entry_id, "reversal": reversal},
        )
        uow.commit()
        return LineView(uow.statements.line(line.id), tuple(uow.statements.matches(line.id)))


def match_line_to_loan(
    uow: UnitOfWork, actor: Actor, line_id: int, loan_id: str, *, reason: str | None = None
) -> LineView:
    """Book a credit line as a repayment of ``loan_id`` (e.g. out of unidentified receipts):
    what booked it before is reversed, the repayment is a new entry."""

    def decide(
        uow: UnitOfWork, line: StoredLine, _bank: BankAccount, on: date, key: str
    ) -> _Decision:
        if line.amount_minor <= 0:
            raise ValidationError("only money received can repay a loan", "line_id")
        if line.state == LineState.LOAN and line.loan_id == loan_id:
            raise Conflict(f"statement line {line.id} already repays loan {loan_id}", "loan_id")
        loan = uow.loans.get(loan_id)
        if loan.status not in PAYABLE:
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}; it takes no repayment", "loan_id"
            )
        amount = from_minor(line.amount_minor, line.currency)

        def book() -> int:
            payment = PaymentIn(loan_id, amount, on, key, line.ref)
            return record_payments_in(uow, actor, [payment])[0].entry.id

        return _Decision(LineState.LOAN, "match", loan_id=loan_id, book=book)

    return _rematch(uow, actor, line_id, reason, decide)


def book_line(
    uow: UnitOfWork,
    actor: Actor,
    line_id: int,
    account_code: str,
    kind: EntryKind,
    *,
    reason: str | None = None,
) -> LineView:
    """Book a line to another account (a donation, capital, a transfer, a charge...)."""
    if kind not in MANUAL_KINDS:
        allowed = ", ".join(sorted(k.value for k in MANUAL_KINDS))
        raise ValidationError(f"kind {kind} cannot be booked by hand; use one of {allowed}", "kind")

    def decide(
        uow: UnitOfWork, line: StoredLine, bank: BankAccount, on: date, key: str
    ) -> _Decision:
        account = uow.accounts.get(account_code, field="account")
        if account.role is AccountRole.LOAN or account.id == bank.account_id:
            raise ValidationError(
                f"account {account_code} cannot take a statement line; loans are matched with "
                "their loan id",
                "account",
            )
        legs = _bank_legs(bank.account_code, account.code, line.amount_minor, line.currency)
        draft = EntryDraft(
            on,
            f"Statement line {line.id} booked to {account.code}",
            kind,
            legs,
            statement_line_id=line.ref,
            idempotency_key=key,
        )

        def book() -> int:
            return post_in(uow, actor, [draft], command="statement_rematch")[0].entry.id

        return _Decision(LineState.MANUAL, "book", book=book)

    return _rematch(uow, actor, line_id, reason, decide)


def link_line(
    uow: UnitOfWork, actor: Actor, line_id: int, entry_id: int, *, reason: str | None = None
) -> LineView:
    """Explain a line by an entry booked before (a payout, a refund, a donation booked by
    hand): it must move the same amount on the same bank account, and explain no other line."""

    def decide(
        uow: UnitOfWork, line: StoredLine, bank: BankAccount, _on: date, _key: str
    ) -> _Decision:
        entry = uow.journal.get(entry_id)
        bank_minor = sum(leg.minor for leg in entry.legs if leg.account_code == bank.account_code)
        if bank_minor != line.amount_minor:
            raise ValidationError(
                f"entry {entry_id} moves {from_minor(bank_minor, line.currency).amount} on "
                f"{bank.account_code}; the line is "
                f"{from_minor(line.amount_minor, line.currency).amount}",
                "entry_id",
            )
        other = uow.statements.line_of_entry(entry_id)
        if other is not None and other.id != line.id:
            raise Conflict(
                f"entry {entry_id} already explains statement line {other.id}", "entry_id"
            )
        if entry.reversed_by_id is not None:
            raise Conflict(f"entry {entry_id} is reversed", "entry_id")
        return _Decision(LineState.LINKED, "link", loan_id=None, entry_id=entry_id)

    return _rematch(uow, actor, line_id, reason, decide)


def unmatch_line(
    uow: UnitOfWork, actor: Actor, line_id: int, *, reason: str | None = None
) -> LineView:
    """Undo a line's match: money in goes back to unidentified receipts, money out waits."""

    def decide(
        uow: UnitOfWork, line: StoredLine, bank: BankAccount, on: date, key: str
    ) -> _Decision:
        if line.state in (LineState.UNIDENTIFIED, LineState.UNMATCHED, LineState.IGNORED):
            raise Conflict(f"statement line {line.id} is not matched", "line_id")
        if line.amount_minor < 0:
            return _Decision(LineState.UNMATCHED, "unmatch")
        e = StatementEntry(line.booking_date, line.amount_minor, line.currency, Direction.CREDIT)
        suspense = uow.accounts.by_role(AccountRole.UNIDENTIFIED_RECEIPTS, line.currency).code
        draft = _unidentified_draft(suspense, bank, e, line.ref, key)
        draft = EntryDraft(
            on,
            draft.description,
            draft.kind,
            draft.legs,
            statement_line_id=line.ref,
            idempotency_key=key,
        )

        def book() -> int:
            return post_in(uow, actor, [draft], command="statement_rematch")[0].entry.id

        return _Decision(LineState.UNIDENTIFIED, "unmatch", book=book)

    return _rematch(uow, actor, line_id, reason, decide)


# -- reading ---------------------------------------------------------------------------------


def list_statements(
    uow: UnitOfWork, actor: Actor, *, iban: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[StoredStatement], int]:
    actor.require(Permission.LEDGER_READ)
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1 to 500 and offset not negative", "limit")
    with uow:
        bank_id = None
        if iban:
            bank = uow.statements.bank_account(normalise_iban(iban))
            if bank is None:
                return [], 0
            bank_id = bank.id
        return uow.statements.statements(bank_account_id=bank_id, limit=limit, offset=offset)


def get_statement(
    uow: UnitOfWork, actor: Actor, statement_id: int
) -> tuple[StoredStatement, list[StoredLine]]:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.statements.statement(statement_id), uow.statements.lines_of(statement_id)


def get_line(uow: UnitOfWork, actor: Actor, line_id: int) -> LineView:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return LineView(uow.statements.line(line_id), tuple(uow.statements.matches(line_id)))


def list_lines(
    uow: UnitOfWork,
    actor: Actor,
    *,
    states: Sequence[LineState] = (),
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[StoredLine], int]:
    """Lines waiting for the treasurer (e.g. unidentified, unmatched), oldest first."""
    actor.require(Permission.LEDGER_READ)
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1 to 500 and offset not negative", "limit")
    with uow:
        return uow.statements.lines(states=[s.value for s in states], limit=limit, offset=offset)


def bank_accounts(uow: UnitOfWork, actor: Actor) -> list[BankAccount]:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.statements.bank_accounts()


def save_mapping(uow: UnitOfWork, actor: Actor, mapping: CsvMapping) -> CsvMapping:
    actor.require(Permission.PAYMENTS_RECORD)
    with uow:
        uow.statements.save_mapping(
            mapping.name, mapping.to_dict(), actor=actor.name, now=uow.now()
        )
        uow.audit_event(
            actor,
            action="csv_mapping_saved",
            target=f"mapping:{mapping.name}",
        )
        uow.commit()
    return mapping


def list_mappings(uow: UnitOfWork, actor: Actor) -> list[CsvMapping]:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return [CsvMapping.from_dict(m) for m in uow.statements.mappings().values()]
