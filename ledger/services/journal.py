"""Posting, reversing and reading the journal."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger.domain.accounts import Account, AccountRole, AccountSpec
from ledger.domain.errors import (
    AlreadyReversed,
    Conflict,
    IdempotencyConflict,
    ValidationError,
)
from ledger.domain.idempotency import IdempotencyRecord, check_same_request
from ledger.domain.journal import (
    GENESIS_HASH,
    MANUAL_KINDS,
    AccountStatementLine,
    Entry,
    EntryDraft,
    JournalFilter,
    month_of,
    recomputed_hash,
    reversal_of,
)
from ledger.domain.money import Money, amount_text, from_minor
from ledger.domain.paging import IdPage, Window
from ledger.domain.roles import Actor, Permission
from ledger.store.uow import UnitOfWork

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class Posted:
    entry: Entry
    replayed: bool  # True when an idempotent retry returned the original result


def draft_request(draft: EntryDraft) -> dict[str, Any]:
    """What an idempotency key stands for: the request's content, field by field."""
    return {
        "booking_date": draft.booking_date.isoformat(),
        "description": draft.description,
        "kind": draft.kind.value,
        # Written from minor units, so that 250 and 250.00 are the same request.
        "legs": [
            [leg.account_code, amount_text(leg.minor, leg.currency), leg.currency]
            for leg in draft.legs
        ],
        "loan_id": draft.loan_id,
        "statement_line_id": draft.statement_line_id,
        "reverses_id": draft.reverses_id,
    }


def replay(uow: UnitOfWork, key: str, command: str, request: dict[str, Any]) -> Entry | None:
    """The original result for a retried request, or None for a new key.

    Must run after ``uow.journal.lock_head()``: postings queue there, so two requests with the
    same key cannot both miss each other.
    """
    record = uow.idempotency.get(key)
    if record is None:
        return None
    _check_same_request(record, command, request)
    return uow.journal.get(record.entry_id)


def _check_same_request(record: IdempotencyRecord, command: str, request: dict[str, Any]) -> None:
    """Refuse a key reused for another request, naming the first field that differs."""
    key = record.key
    if record.command != command:
        raise IdempotencyConflict(
            f"Idempotency-Key {key} was already used for a {record.command} request; "
            "use a new key for a new request",
            field="command",
        )
    check_same_request(record.request, request, first_use=f"Idempotency-Key {key} was first used")


def _check_dates(uow: UnitOfWork, drafts: Sequence[EntryDraft]) -> None:
    today = uow.today()
    for draft in drafts:
        if draft.booking_date > today:
            raise ValidationError(
                f"booking date {draft.booking_date} is in the future; book it on the day it "
                "happens",
                field="booking_date",
            )


def post(
    uow: UnitOfWork, actor: Actor, drafts: Sequence[EntryDraft], *, command: str = "post_entry"
) -> list[Posted]:
    """Post entries in one transaction (one commit), each once per idempotency key.

    Entries whose key was seen before return their original result; the rest are checked
    (accounts, currencies, closed months, overdrafts, reversals) and written together, or not
    at all.
    """
    actor.require(Permission.LEDGER_POST)
    with uow:
        posted = book_entries(uow, actor, drafts, command=command)
        uow.commit()
    return posted


def book_entries(
    uow: UnitOfWork,
    actor: Actor,
    drafts: Sequence[EntryDraft],
    *,
    command: str,
    requests: Sequence[dict[str, Any]] | None = None,
) -> list[Posted]:
    """Post inside an open unit of work; the caller checks permissions and commits.

    ``requests`` gives, per draft, what its idempotency key stands for when that is not the
    draft itself (a loan payment's key stands for loan, amount and date, not for the legs
    derived from them).
    """
    _check_dates(uow, drafts)
    keys = [d.idempotency_key for d in drafts if d.idempotency_key]
    once: set[str] = set()
    for key in keys:
        if key in once:
            raise ValidationError(
                f"two entries in one request share the idempotency key {key}",
                field="idempotency_key",
            )
        once.add(key)

    def request_of(i: int) -> dict[str, Any]:
        return requests[i] if requests is not None else draft_request(drafts[i])

    uow.journal.lock_head()
    # One query for every key of the batch; then only the retried entries are read back.
    seen = uow.idempotency.get_many(keys)
    replayed: dict[int, int] = {}  # position in drafts -> id of the entry first posted
    fresh: list[tuple[int, EntryDraft]] = []
    for i, draft in enumerate(drafts):
        record = seen.get(draft.idempotency_key) if draft.idempotency_key else None
        if record is None:
            fresh.append((i, draft))
        else:
            _check_same_request(record, command, request_of(i))
            replayed[i] = record.entry_id
    originals = uow.journal.get_many(list(replayed.values()))
    new = [d for _, d in fresh]
    _check_reversals(uow, new)
    now = uow.now()
    entries = uow.journal.append(
        new, author=actor.name, now=now, closed_months=_closed_months_for(uow, new)
    )
    # The new keys' requests are made as their rows are written (a large batch streams them).
    uow.idempotency.add_many(
        (
            IdempotencyRecord(e.idempotency_key, command, request_of(i), e.id)
            for (i, _), e in zip(fresh, entries, strict=True)
            if e.idempotency_key
        ),
        actor=actor.name,
        now=now,
    )
    if entries:
        uow.audit.record(
            at=now,
            actor=actor.name,
            action=command,
            target=f"entry:{entries[0].id}" if len(entries) == 1 else "entries",
            details={
                "entries": [e.id for e in entries],
                "kinds": sorted({e.kind for e in entries}),
            },
        )
    posted = iter(entries)
    return [
        Posted(originals[replayed[i]], True) if i in replayed else Posted(next(posted), False)
        for i in range(len(drafts))
    ]


def _closed_months_for(uow: UnitOfWork, drafts: Sequence[EntryDraft]) -> frozenset[str]:
    """The closed months, read only when a draft is dated before the current month.

    Only a month that has ended can be closed (``close_month`` refuses the others), so entries
    dated this month, as nearly all are, need no look-up. The database refuses an entry in a
    closed month in any case.
    """
    this_month = month_of(uow.today())
    if all(month_of(d.booking_date) >= this_month for d in drafts):
        return frozenset()
    return uow.periods.closed_months()


def _check_reversals(uow: UnitOfWork, drafts: Sequence[EntryDraft]) -> None:
    seen: set[int] = set()
    for draft in drafts:
        if draft.reverses_id is None:
            continue
        original = uow.journal.get(draft.reverses_id)
        if original.reversed_by_id is not None or draft.reverses_id in seen:
            raise AlreadyReversed(
                f"entry {original.id} is already reversed by entry {original.reversed_by_id}; "
                "an entry can be reversed once",
                field="entry_id",
            )
        if draft.booking_date < original.booking_date:
            raise ValidationError(
                f"a reversal cannot be dated before its entry ({original.booking_date})",
                field="booking_date",
            )
        seen.add(draft.reverses_id)


def post_manual_entry(uow: UnitOfWork, actor: Actor, draft: EntryDraft) -> Posted:
    """A treasurer's own entry (capital, donation, bank charge, transfer, adjustment).

    Loan sub-accounts are left to the loan use cases, which keep them equal to the schedules.
    """
    if draft.kind not in MANUAL_KINDS:
        allowed = ", ".join(sorted(k.value for k in MANUAL_KINDS))
        raise ValidationError(
            f"kind {draft.kind.value} cannot be posted by hand; use one of {allowed}", field="kind"
        )
    if draft.loan_id is not None:
        raise ValidationError(
            "manual entries do not carry a loan; use the loan endpoints", "loan_id"
        )
    with uow:
        for leg in draft.legs:
            account = uow.accounts.find(leg.account_code)
            if account is not None and account.role is AccountRole.LOAN:
                raise ValidationError(
                    f"account {leg.account_code} belongs to a loan; loan movements go through "
                    "the loan endpoints",
                    field="legs",
                )
    return post(uow, actor, [draft])[0]


def reverse_entry(
    uow: UnitOfWork,
    actor: Actor,
    entry_id: int,
    *,
    booking_date: date | None = None,
    description: str | None = None,
    idempotency_key: str | None = None,
) -> Posted:
    """Undo an entry with its mirror image, dated today unless told otherwise."""
    actor.require(Permission.LEDGER_POST)
    with uow:
        original = uow.journal.get(entry_id)
    if original.loan_id is not None:
        # The loan use cases keep each loan's sub-account equal to its schedule; a bare mirror
        # image would break that (and `verify` would say so).
        raise Conflict(
            f"entry {entry_id} belongs to loan {original.loan_id}; reverse a payment with "
            "POST /api/loan-payments/{entry_id}/reversal, or undo the payout of the loan",
            field="entry_id",
        )
    draft = reversal_of(
        original,
        booking_date=booking_date or uow.today(),
        description=description,
        idempotency_key=idempotency_key,
    )
    return post(uow, actor, [draft], command="reverse_entry")[0]


# -- reading ---------------------------------------------------------------------------------


def get_entry(uow: UnitOfWork, actor: Actor, entry_id: int) -> Entry:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.journal.get(entry_id)


@dataclass(frozen=True, slots=True)
class EntryDetail:
    """An entry as an auditor checks it: the accounts of its legs, its hash recomputed from
    its content, and the hash of the entry before it (the genesis hash for the first)."""

    entry: Entry
    accounts: dict[str, Account]
    hash_matches: bool
    previous_hash: str | None  # None: the entry before it is missing
    last_id: int  # the last entry of the chain

    @property
    def chain_matches(self) -> bool:
        return self.previous_hash == self.entry.prev_hash


def entry_detail(uow: UnitOfWork, actor: Actor, entry_id: int) -> EntryDetail:
    actor.require(Permission.LEDGER_READ)
    with uow:
        entry = uow.journal.get(entry_id)
        accounts = {code: uow.accounts.get(code) for code in {g.account_code for g in entry.legs}}
        if entry.id == 1:
            previous: str | None = GENESIS_HASH
        else:
            before = uow.journal.get_many([entry.id - 1]).get(entry.id - 1)
            previous = None if before is None else before.hash
        last_id, _ = uow.journal.head()
    return EntryDetail(entry, accounts, recomputed_hash(entry) == entry.hash, previous, last_id)


def list_entries(
    uow: UnitOfWork,
    actor: Actor,
    flt: JournalFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    latest_first: bool = False,
) -> tuple[list[Entry], int]:
    """A page of entries by booking date, or the latest recorded first (by entry number)."""
    actor.require(Permission.LEDGER_READ)
    _check_page(limit, offset)
    with uow:
        return uow.journal.page(flt, limit=limit, offset=offset, latest_first=latest_first)


def journal_page(
    uow: UnitOfWork, actor: Actor, flt: JournalFilter, window: Window, *, limit: int = 25
) -> IdPage[Entry]:
    """A page of entries, the latest recorded first (by entry number), from the last entry
    seen: as quick deep in the journal as at its start (``ledger.domain.paging``)."""
    actor.require(Permission.LEDGER_READ)
    _check_page(limit, window.offset)
    with uow:
        return uow.journal.page_by_id(flt, window, limit=limit)


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationError("offset must not be negative", field="offset")


def list_accounts(uow: UnitOfWork, actor: Actor) -> list[Account]:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.accounts.all()


def get_account(uow: UnitOfWork, actor: Actor, code: str) -> Account:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.accounts.get(code)


def open_account(uow: UnitOfWork, actor: Actor, spec: AccountSpec) -> Account:
    actor.require(Permission.ACCOUNTS_MANAGE)
    with uow:
        account = uow.accounts.add(spec, now=uow.now())
        uow.audit_event(
            actor,
            action="open_account",
            target=f"account:{spec.code}",
            details={"type": spec.type.value, "currency": spec.currency, "role": spec.role.value},
        )
        uow.commit()
    return account


def install_chart(uow: UnitOfWork, actor: Actor, specs: Sequence[AccountSpec]) -> list[Account]:
    """Open the accounts of a chart that do not exist yet (control accounts first)."""
    actor.require(Permission.ACCOUNTS_MANAGE)
    opened = []
    with uow:
        for spec in sorted(specs, key=lambda s: (s.parent_code is not None, s.code)):
            if uow.accounts.find(spec.code) is None:
                opened.append(uow.accounts.add(spec, now=uow.now()))
        if opened:
            uow.audit_event(
                actor,
                action="install_chart",
                details={"accounts": [a.code for a in opened]},
            )
        uow.commit()
    return opened


def close_account(uow: UnitOfWork, actor: Actor, code: str) -> Account:
    actor.require(Permission.ACCOUNTS_MANAGE)
    with uow:
        uow.journal.lock_head()
        account = uow.accounts.close(code, now=uow.now())
        uow.audit_event(actor, action="close_account", target=f"account:{code}")
        uow.commit()
    return account


def balance(uow: UnitOfWork, actor: Actor, code: str, as_of: date | None = None) -> Money:
    """Signed balance (debit positive) of an account, today or as of the end of a past day."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        account = uow.accounts.get(code)
        minor = (
            account.balance_minor if as_of is None else uow.journal.balance_as_of(account, as_of)
        )
        return from_minor(minor, account.currency)


@dataclass(frozen=True, slots=True)
class Statement:
    account: Account
    opening_minor: int
    lines: list[AccountStatementLine]
    total: int


def statement(
    uow: UnitOfWork,
    actor: Actor,
    code: str,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Statement:
    actor.require(Permission.LEDGER_READ)
    _check_page(limit, offset)
    if date_from and date_to and date_from > date_to:
        raise ValidationError("from must not be after to", field="from")
    with uow:
        account = uow.accounts.get(code)
        opening, lines, total = uow.journal.statement(
            account, date_from=date_from, date_to=date_to, limit=limit, offset=offset
        )
    return Statement(account, opening, lines, total)


@dataclass(frozen=True, slots=True)
class TrialBalanceLine:
    account: Account
    balance_minor: int


@dataclass(frozen=True, slots=True)
class TrialBalance:
    as_of: date | None
    lines: list[TrialBalanceLine]
    totals: dict[str, int]  # per currency: zero when the books balance

    @property
    def balanced(self) -> bool:
        return all(v == 0 for v in self.totals.values())


def trial_balance(uow: UnitOfWork, actor: Actor, as_of: date | None = None) -> TrialBalance:
    """Every postable account's balance as of a date; totals per currency sum to zero."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        return quick_trial_balance(uow, as_of)


def compute_trial_balance(uow: UnitOfWork, as_of: date | None) -> TrialBalance:
    """The trial balance from every leg booked up to ``as_of``: what a month's close records,
    and what the quick one must always equal."""
    return _trial_balance_of(uow.accounts.all(), uow.journal.balances_as_of(as_of), as_of)


def quick_trial_balance(uow: UnitOfWork, as_of: date | None) -> TrialBalance:
    """``compute_trial_balance``'s answer, read the quick way (``balances_on``)."""
    accounts = uow.accounts.all()
    return _trial_balance_of(accounts, balances_on(uow, accounts, as_of), as_of)


def balances_on(
    uow: UnitOfWork, accounts: Sequence[Account], as_of: date | None
) -> Mapping[int, int]:
    """Each postable account's balance at the end of ``as_of`` (None: now), by account id (a
    control account's is its sub-accounts'), reading as few legs as it can.

    Nothing is booked after today (``post`` refuses it): today and later, and any day from the
    last booking date on, are the cached balances (what ``post`` keeps and ``verify`` proves
    equal to the sum of each account's legs). A day in the last eighth of the journal's span of
    booking dates is the cached balances less the legs booked after it; a day in its first
    eighth, the legs booked up to it; a day between, one pass over every leg (as the month's
    close adds them up): reading a leg through its entry's booking date costs several times
    what a pass over all of them costs a leg (``sums_booked``).

    The cached balances and the legs after the day must be read at one moment (else a posting
    between the two would count half): on a unit of work whose queries each see their own
    moment, the legs are added up."""
    cached = {a.id: a.balance_minor for a in accounts if not a.is_control}
    if as_of is None or as_of >= uow.today():
        return cached
    span = uow.journal.booking_span()
    if span is None or as_of < span[0]:
        return {}
    first, last = span
    if as_of >= last and uow.one_snapshot:
        return cached
    eighth = (last - first).days / 8
    if (last - as_of).days <= eighth and uow.one_snapshot:
        later = uow.journal.sums_booked(after=as_of)
        return {aid: minor - later.get(aid, 0) for aid, minor in cached.items()}
    if (as_of - first).days < eighth:
        return uow.journal.sums_booked(until=as_of)
    return uow.journal.balances_as_of(as_of)


def _trial_balance_of(
    accounts: Sequence[Account], sums: Mapping[int, int], as_of: date | None
) -> TrialBalance:
    totals: dict[str, int] = defaultdict(int)
    lines = []
    for account in accounts:
        if account.is_control:
            continue
        amount = sums.get(account.id, 0)
        totals[account.currency] += amount
        if amount or not account.is_closed:
            lines.append(TrialBalanceLine(account, amount))
    return TrialBalance(as_of, lines, dict(totals))


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """A line of the trial balance as a page shows it: an account, or a control account with
    its sub-accounts' balances added up (``sub_accounts`` of them: a fund has one per loan)."""

    account: Account
    balance_minor: int
    sub_accounts: int = 0


@dataclass(frozen=True, slots=True)
class TrialBalanceSummary:
    as_of: date | None
    lines: list[SummaryLine]
    totals: dict[str, int]

    @property
    def balanced(self) -> bool:
        return all(v == 0 for v in self.totals.values())


def trial_balance_summary(
    uow: UnitOfWork, actor: Actor, as_of: date | None = None
) -> TrialBalanceSummary:
    """The trial balance with each control account's sub-accounts added up on its line, in
    the order of the account codes; the totals are the trial balance's."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        accounts = uow.accounts.all()
        tb = _trial_balance_of(accounts, balances_on(uow, accounts, as_of), as_of)
        parents = {a.id: a for a in accounts if a.is_control}
    own: list[SummaryLine] = []
    rolled: dict[int, list[int]] = defaultdict(list)
    for line in tb.lines:
        parent_id = line.account.parent_id
        if parent_id is not None and parent_id in parents:
            rolled[parent_id].append(line.balance_minor)
        else:
            own.append(SummaryLine(line.account, line.balance_minor))
    for parent_id, amounts in rolled.items():
        own.append(SummaryLine(parents[parent_id], sum(amounts), len(amounts)))
    own.sort(key=lambda li: (li.account.currency, li.account.code))
    return TrialBalanceSummary(tb.as_of, own, tb.totals)
