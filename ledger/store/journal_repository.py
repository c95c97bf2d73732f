"""The journal in the database: entries and legs written in the chain's order, read back by
filters. The rules an entry must follow are the domain's (``domain.posting_rules``); this
module writes what they allow. It never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    func,
    or_,
    select,
)

from ledger.domain.accounts import Account
from ledger.domain.errors import (
    NotFound,
)
from ledger.domain.journal import AccountStatementLine, Entry, EntryDraft, JournalFilter, Leg, seal
from ledger.domain.money import from_minor, to_minor
from ledger.domain.paging import IdPage, Window
from ledger.domain.posting_rules import balance_changes, days_to_check
from ledger.domain.statuses import EntryKind
from ledger.store.account_repository import AccountRepository
from ledger.store.driver import COPY_FROM, Sql
from ledger.store.paging import page_counts, page_rows
from ledger.store.tables import (
    accounts,
    chain_head,
    journal_entries,
    journal_legs,
)

# The posting path's statements run straight on the driver (see ledger.store.driver): written
# out once here, with FOR UPDATE on PostgreSQL to lock rows; SQLite has no row locks (a writer
# holds the whole database from BEGIN IMMEDIATE).
_LOCK_HEAD = Sql.both(
    "SELECT last_entry_id, last_hash FROM chain_head WHERE id = 1", pg_suffix=" FOR UPDATE"
)
_MOVE_HEAD = Sql.both(
    "UPDATE chain_head SET last_entry_id = :new_entry_id, last_hash = :new_hash WHERE id = 1"
)
_INSERT_LEGS = Sql.both(
    "INSERT INTO journal_legs (entry_id, account_id, amount_minor, currency) "
    "VALUES (:entry_id, :account_id, :amount_minor, :currency)"
)
_INSERT_ENTRIES = Sql.both(
    """INSERT INTO journal_entries (id, booking_date, description, kind, author, created_at,
    loan_id, statement_line_id, reverses_id, idempotency_key, prev_hash, hash)
    VALUES (:id, :booking_date, :description, :kind, :author, :created_at, :loan_id,
    :statement_line_id, :reverses_id, :idempotency_key, :prev_hash, :hash)"""
)
# PostgreSQL takes a batch's rows of each table as one statement, one array per column
# (``INSERT ... SELECT FROM unnest``): one round trip, one run of the statement-level guards
# and one plan, where ``executemany`` sends a statement per row. Each statement also carries
# the update it goes with, in a data-modifying CTE: the cached balances with the legs, the
# chain head with the entries. Legs and entries stay two statements: the legs' guard must run
# before the entries that seal them exist (it refuses a leg for an entry already posted).
_PG_INSERT_LEGS = """
WITH moved AS (
    UPDATE accounts SET balance_minor = accounts.balance_minor + d.delta
    FROM unnest(%(aid)b::integer[], %(delta)b::bigint[]) AS d (aid, delta)
    WHERE accounts.id = d.aid
)
INSERT INTO journal_legs (entry_id, account_id, amount_minor, currency)
SELECT * FROM unnest(
    %(entry_id)b::bigint[], %(account_id)b::integer[], %(amount_minor)b::bigint[],
    %(currency)b::varchar[]
)
"""
_PG_INSERT_ENTRIES = """
WITH head AS (
    UPDATE chain_head SET last_entry_id = %(new_entry_id)s, last_hash = %(new_hash)s
    WHERE id = 1
)
INSERT INTO journal_entries (
    id, booking_date, description, kind, author, created_at, loan_id, statement_line_id,
    reverses_id, idempotency_key, prev_hash, hash
)
SELECT * FROM unnest(
    %(id)b::bigint[], %(booking_date)b::date[], %(description)b::varchar[], %(kind)b::varchar[],
    %(author)b::varchar[], %(created_at)b::timestamptz[], %(loan_id)b::varchar[],
    %(statement_line_id)b::varchar[], %(reverses_id)b::bigint[], %(idempotency_key)b::varchar[],
    %(prev_hash)b::varchar[], %(hash)b::varchar[]
)
"""
LEG_COLUMNS = [
    ("entry_id", "int8"),
    ("account_id", "int4"),
    ("amount_minor", "int8"),
    ("currency", "varchar"),
]
ENTRY_COLUMNS = [
    ("id", "int8"),
    ("booking_date", "date"),
    ("description", "varchar"),
    ("kind", "varchar"),
    ("author", "varchar"),
    ("created_at", "timestamptz"),
    ("loan_id", "varchar"),
    ("statement_line_id", "varchar"),
    ("reverses_id", "int8"),
    ("idempotency_key", "varchar"),
    ("prev_hash", "varchar"),
    ("hash", "varchar"),
]
_PG_ADD_TO_BALANCES = """
UPDATE accounts SET balance_minor = accounts.balance_minor + d.delta
FROM unnest(%(aid)b::integer[], %(delta)b::bigint[]) AS d (aid, delta)
WHERE accounts.id = d.aid
"""


class JournalRepository:
    def __init__(
        self, conn: Connection, accounts_repo: AccountRepository, touched: set[str] | None = None
    ) -> None:
        self.conn = conn
        # Loans an entry was posted for: their arrears projection is refreshed at commit.
        self.touched = touched if touched is not None else set()
        self.accounts = accounts_repo
        self.driver = accounts_repo.driver
        self._head: tuple[int, str] | None = None

    # -- writing ---------------------------------------------------------------------------
    def lock_head(self) -> tuple[int, str]:
        """Lock the end of the hash chain: postings form one queue, in the chain's order."""
        last_id, last_hash = self.driver.execute(_LOCK_HEAD).fetchone()
        self._head = (int(last_id), last_hash)
        return self._head

    def append(
        self,
        drafts: Sequence[EntryDraft],
        *,
        author: str,
        now: datetime,
        closed_months: frozenset[str],
    ) -> list[Entry]:
        """Post entries: check them against the accounts, seal them into the chain, write them."""
        if self._head is None:
            raise RuntimeError("lock_head() must be called before append()")
        if not drafts:
            return []
        locked = self.accounts.lock(leg.account_code for d in drafts for leg in d.legs)
        by_id = {a.id: a for a in locked.values()}
        later = {
            aid: self._movements_after(by_id[aid], day)
            for aid, day in days_to_check(drafts, locked).items()
        }
        deltas = balance_changes(drafts, locked, closed_months, later)
        first_id, prev_hash = self._head
        first_id += 1
        sealed: list[Entry] = []

        def sealing() -> Iterator[Entry]:
            """Seal the drafts into the chain, in order, each as its row is wanted."""
            last_hash = prev_hash
            for entry_id, draft in enumerate(drafts, start=first_id):
                entry = seal(draft, id=entry_id, author=author, created_at=now, prev_hash=last_hash)
                last_hash = entry.hash
                sealed.append(entry)
                yield entry

        if self.driver.pg and len(drafts) >= COPY_FROM:
            self._copy_pg(drafts, first_id, sealing(), sealed, locked, deltas)
        else:
            for _ in sealing():
                pass
            if self.driver.pg:
                self._write_pg(sealed, locked, deltas)
            else:
                self._write(sealed, locked, deltas)
        self._head = (sealed[-1].id, sealed[-1].hash)
        self.touched.update(e.loan_id for e in sealed if e.loan_id is not None)
        return sealed

    def _write(
        self, sealed: Sequence[Entry], locked: Mapping[str, Account], deltas: Mapping[int, int]
    ) -> None:
        """SQLite: each table's rows in one ``executemany`` (a loop inside the driver)."""
        driver = self.driver
        driver.executemany(
            _INSERT_LEGS,
            [
                {
                    "entry_id": e.id,
                    "account_id": locked[leg.account_code].id,
                    "amount_minor": leg.minor,
                    "currency": leg.currency,
                }
                for e in sealed
                for leg in e.legs
            ],
        )
        driver.executemany(
            _INSERT_ENTRIES,
            [
                {
                    "id": e.id,
                    "booking_date": driver.day(e.booking_date),
                    "description": e.description,
                    "kind": e.kind.value,
                    "author": e.author,
                    "created_at": driver.stamp(e.created_at),
                    "loan_id": e.loan_id,
                    "statement_line_id": e.statement_line_id,
                    "reverses_id": e.reverses_id,
                    "idempotency_key": e.idempotency_key,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
                for e in sealed
            ],
        )
        last = sealed[-1]
        driver.execute(_MOVE_HEAD, {"new_entry_id": last.id, "new_hash": last.hash})
        self.accounts.add_to_balances(deltas)

    def _write_pg(
        self, sealed: Sequence[Entry], locked: Mapping[str, Account], deltas: Mapping[int, int]
    ) -> None:
        """PostgreSQL, a batch below COPY_FROM entries: two statements, whatever its size."""
        moved = sorted((aid, d) for aid, d in deltas.items() if d)
        legs = [(e.id, leg) for e in sealed for leg in e.legs]
        self.driver.execute(
            _PG_INSERT_LEGS,
            {
                "aid": [aid for aid, _ in moved],
                "delta": [d for _, d in moved],
                "entry_id": [entry_id for entry_id, _ in legs],
                "account_id": [locked[leg.account_code].id for _, leg in legs],
                "amount_minor": [leg.minor for _, leg in legs],
                "currency": [leg.currency for _, leg in legs],
            },
        )
        last = sealed[-1]
        self.driver.execute(
            _PG_INSERT_ENTRIES,
            {
                "new_entry_id": last.id,
                "new_hash": last.hash,
                "id": [e.id for e in sealed],
                "booking_date": [e.booking_date for e in sealed],
                "description": [e.description for e in sealed],
                "kind": [e.kind.value for e in sealed],
                "author": [e.author for e in sealed],
                "created_at": [self.driver.stamp(e.created_at) for e in sealed],
                "loan_id": [e.loan_id for e in sealed],
                "statement_line_id": [e.statement_line_id for e in sealed],
                "reverses_id": [e.reverses_id for e in sealed],
                "idempotency_key": [e.idempotency_key for e in sealed],
                "prev_hash": [e.prev_hash for e in sealed],
                "hash": [e.hash for e in sealed],
            },
        )

    def _copy_pg(
        self,
        drafts: Sequence[EntryDraft],
        first_id: int,
        sealing: Iterator[Entry],
        sealed: list[Entry],
        locked: Mapping[str, Account],
        deltas: Mapping[int, int],
    ) -> None:
        """PostgreSQL, a large batch: legs and entries by COPY, in that order (the legs' guard
        refuses a leg for an entry already posted); the balances and the chain head by one
        statement each.

        The entries are sealed while their COPY streams (``sealing`` fills ``sealed``): the
        driver sends the rows in chunks as they come, and the server inserts one chunk while
        the next is being sealed.
        """
        driver = self.driver
        ids = {code: account.id for code, account in locked.items()}
        driver.copy(
            "journal_legs",
            LEG_COLUMNS,
            (
                (entry_id, ids[leg.account_code], leg.minor, leg.currency)
                for entry_id, d in enumerate(drafts, start=first_id)
                for leg in d.legs
            ),
        )
        moved = sorted((aid, d) for aid, d in deltas.items() if d)
        driver.execute(
            _PG_ADD_TO_BALANCES, {"aid": [a for a, _ in moved], "delta": [d for _, d in moved]}
        )
        driver.copy(
            "journal_entries",
            ENTRY_COLUMNS,
            (
                (
                    e.id,
                    e.booking_date,
                    e.description,
                    e.kind.value,
                    e.author,
                    driver.stamp(e.created_at),
                    e.loan_id,
                    e.statement_line_id,
                    e.reverses_id,
                    e.idempotency_key,
                    e.prev_hash,
                    e.hash,
                )
                for e in sealing
            ),
        )
        last = sealed[-1]
        driver.execute(_MOVE_HEAD, {"new_entry_id": last.id, "new_hash": last.hash})

    # -- reading ---------------------------------------------------------------------------
    def _legs_for(self, entry_ids: Sequence[int]) -> dict[int, list[Leg]]:
        out: dict[int, list[Leg]] = defaultdict(list)
        if not entry_ids:
            return out
        rows = self.conn.execute(
            select(
                journal_legs.c.entry_id,
                accounts.c.code,
                journal_legs.c.amount_minor,
                journal_legs.c.currency,
            )
            .join(accounts, accounts.c.id == journal_legs.c.account_id)
            .where(journal_legs.c.entry_id.in_(list(entry_ids)))
            .order_by(journal_legs.c.entry_id, journal_legs.c.id)
        )
        for r in rows:
            out[r.entry_id].append(Leg(r.code, from_minor(int(r.amount_minor), r.currency)))
        return out

    def _entries(self, rows: Sequence[Row[Any]]) -> list[Entry]:
        legs = self._legs_for([r.id for r in rows])
        return [_entry(r, legs[r.id]) for r in rows]

    def _select_entries(self) -> Any:
        reversal = journal_entries.alias("reversal")
        return select(
            journal_entries,
            select(reversal.c.id)
            .where(reversal.c.reverses_id == journal_entries.c.id)
            .scalar_subquery()
            .label("reversed_by_id"),
        )

    def get(self, entry_id: int) -> Entry:
        row = self.conn.execute(
            self._select_entries().where(journal_entries.c.id == entry_id)
        ).first()
        if row is None:
            raise NotFound(f"journal entry {entry_id} does not exist", field="entry_id")
        return self._entries([row])[0]

    def get_many(self, entry_ids: Sequence[int]) -> dict[int, Entry]:
        """The entries with those ids, by id (ids that do not exist are left out)."""
        if not entry_ids:
            return {}
        rows = self.conn.execute(
            self._select_entries().where(journal_entries.c.id.in_(sorted(set(entry_ids))))
        ).all()
        return {e.id: e for e in self._entries(rows)}

    def find_by_key(self, key: str) -> Entry | None:
        row = self.conn.execute(
            self._select_entries().where(journal_entries.c.idempotency_key == key)
        ).first()
        return self._entries([row])[0] if row else None

    def page(
        self, flt: JournalFilter, *, limit: int, offset: int, latest_first: bool = False
    ) -> tuple[list[Entry], int]:
        """Entries by booking date, or the latest recorded first (by id: the chain's order)."""
        where = self._where(flt)
        total = self.conn.execute(
            select(func.count()).select_from(journal_entries).where(where)
        ).scalar_one()
        rows = self.conn.execute(
            self._select_entries()
            .where(where)
            .order_by(
                *(
                    (journal_entries.c.id.desc(),)
                    if latest_first
                    else (journal_entries.c.booking_date, journal_entries.c.id)
                )
            )
            .limit(limit)
            .offset(offset)
        ).all()
        return self._entries(rows), int(total)

    def page_by_id(self, flt: JournalFilter, window: Window, *, limit: int) -> IdPage[Entry]:
        """The latest recorded first (by id: the chain's order), a page from the last entry
        seen: the primary key, or the index of the filter's columns and the id (migration
        0015), serves a page at any depth. Unfiltered, the counts are the chain head's: the
        ids run 1, 2, 3, ... to the head (entries are never deleted; ``verify`` checks it)."""
        where = self._where(flt)
        rows = page_rows(
            self.conn, self._select_entries(), journal_entries.c.id, where, window, limit
        )
        entries = self._entries(rows)
        first_id = entries[0].id if entries else None
        if flt == JournalFilter():
            total, _ = self.head()
            if first_id is not None:
                newer = total - first_id
            elif window.before is not None:
                newer = total - min(window.before - 1, total)
            else:
                newer = total
        else:
            total, newer = page_counts(
                self.conn, journal_entries.c.id, where, journal_entries, window, first_id
            )
        return IdPage(entries, total, newer, first_id, entries[-1].id if entries else None)

    def _where(self, flt: JournalFilter) -> ColumnElement[bool]:
        conditions: list[ColumnElement[bool]] = []
        if flt.date_from is not None:
            conditions.append(journal_entries.c.booking_date >= flt.date_from)
        if flt.date_to is not None:
            conditions.append(journal_entries.c.booking_date <= flt.date_to)
        if flt.kind is not None:
            conditions.append(journal_entries.c.kind == flt.kind.value)
        if flt.loan_id is not None:
            conditions.append(journal_entries.c.loan_id == flt.loan_id)
        if flt.author is not None:
            conditions.append(journal_entries.c.author == flt.author)
        legs = self._leg_conditions(flt)
        if legs:
            # One leg must meet them all: the amount looked for is on the account asked for.
            conditions.append(
                journal_entries.c.id.in_(select(journal_legs.c.entry_id).where(*legs))
            )
        return and_(True, *conditions)

    def _leg_conditions(self, flt: JournalFilter) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if flt.account_code is not None:
            # A control account's entries are its sub-accounts', as in its statement.
            account = self.accounts.get(flt.account_code)
            ids = [account.id] + [c.id for c in self.accounts.children_of(account.id)]
            conds.append(journal_legs.c.account_id.in_(ids))
        currency = flt.amount_currency
        if currency is not None:
            low = 1 if flt.amount_min is None else to_minor(flt.amount_min)
            high = None if flt.amount_max is None else to_minor(flt.amount_max)
            amount = journal_legs.c.amount_minor
            debit = amount >= low if high is None else amount.between(low, high)
            credit = amount <= -low if high is None else amount.between(-high, -low)
            conds += [journal_legs.c.currency == currency, or_(debit, credit)]
        return conds

    def iter_all(self, batch: int = 2000) -> Iterator[Entry]:
        """Every entry in chain order, in batches so a large journal fits in memory."""
        after = 0
        while True:
            rows = self.conn.execute(
                self._select_entries()
                .where(journal_entries.c.id > after)
                .order_by(journal_entries.c.id)
                .limit(batch)
            ).all()
            if not rows:
                return
            yield from self._entries(rows)
            after = rows[-1].id

    def leg_rows(self) -> Iterator[tuple[int, int, str]]:
        """(account id, amount, currency) for every leg: what verify sums independently."""
        for r in self.conn.execute(
            select(journal_legs.c.account_id, journal_legs.c.amount_minor, journal_legs.c.currency)
        ):
            yield int(r.account_id), int(r.amount_minor), r.currency

    def head(self) -> tuple[int, str]:
        row = self.conn.execute(select(chain_head).where(chain_head.c.id == 1)).one()
        return int(row.last_entry_id), row.last_hash

    def _movements_after(self, account: Account, day: date) -> dict[date, int]:
        """What is posted on ``account`` after ``day``, by booking date: nothing for a posting
        dated today (nothing is booked in the future), so the usual posting pays one indexed
        look-up for it."""
        stmt = (
            select(journal_entries.c.booking_date, func.sum(journal_legs.c.amount_minor))
            .join(journal_legs, journal_legs.c.entry_id == journal_entries.c.id)
            .where(journal_entries.c.booking_date > day, journal_legs.c.account_id == account.id)
            .group_by(journal_entries.c.booking_date)
        )
        return {d: int(minor) for d, minor in self.conn.execute(stmt)}

    def balance_as_of(self, account: Account, as_of: date | None) -> int:
        ids = [account.id] + [c.id for c in self.accounts.children_of(account.id)]
        stmt = (
            select(func.coalesce(func.sum(journal_legs.c.amount_minor), 0))
            .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
            .where(journal_legs.c.account_id.in_(ids))
        )
        if as_of is not None:
            stmt = stmt.where(journal_entries.c.booking_date <= as_of)
        return int(self.conn.execute(stmt).scalar_one())

    def balances_as_of(self, as_of: date | None) -> dict[int, int]:
        """Sum of legs per account up to a date (every account with a leg)."""
        stmt = (
            select(journal_legs.c.account_id, func.sum(journal_legs.c.amount_minor))
            .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
            .group_by(journal_legs.c.account_id)
        )
        if as_of is not None:
            stmt = stmt.where(journal_entries.c.booking_date <= as_of)
        return {int(aid): int(total) for aid, total in self.conn.execute(stmt)}

    def sums_booked(
        self, *, after: date | None = None, until: date | None = None
    ) -> dict[int, int]:
        """Sum of legs per account of the entries booked after ``after`` and up to ``until``
        (every account with such a leg). Read from the entries' index on booking dates, then
        their legs by entry: quick for a few entries of a large journal, slower than
        ``balances_as_of``'s one pass over every leg for many."""
        booked = select(journal_entries.c.id)
        if after is not None:
            booked = booked.where(journal_entries.c.booking_date > after)
        if until is not None:
            booked = booked.where(journal_entries.c.booking_date <= until)
        stmt = (
            select(journal_legs.c.account_id, func.sum(journal_legs.c.amount_minor))
            .where(journal_legs.c.entry_id.in_(booked))
            .group_by(journal_legs.c.account_id)
        )
        return {int(aid): int(total) for aid, total in self.conn.execute(stmt)}

    def booking_span(self) -> tuple[date, date] | None:
        """The first and the last booking date of the journal (None while it is empty): the
        two ends of the index on booking dates (one query each: SQLite reads an index's end
        for a lone min() or max(), and scans it for both)."""
        day = journal_entries.c.booking_date
        first = self.conn.execute(select(func.min(day))).scalar_one()
        last = self.conn.execute(select(func.max(day))).scalar_one()
        return None if first is None else (first, last)

    def statement(
        self,
        account: Account,
        *,
        date_from: date | None,
        date_to: date | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[AccountStatementLine], int]:
        """Opening balance, the legs in the period with their running balance, and their count."""
        ids = [account.id] + [c.id for c in self.accounts.children_of(account.id)]
        opening = 0
        if date_from is not None:
            opening = self.balance_as_of(account, date.fromordinal(date_from.toordinal() - 1))
        conds: list[ColumnElement[bool]] = [journal_legs.c.account_id.in_(ids)]
        if date_from is not None:
            conds.append(journal_entries.c.booking_date >= date_from)
        if date_to is not None:
            conds.append(journal_entries.c.booking_date <= date_to)
        order = (journal_entries.c.booking_date, journal_entries.c.id, journal_legs.c.id)
        inner = (
            select(
                journal_entries.c.id.label("entry_id"),
                journal_entries.c.booking_date,
                journal_entries.c.kind,
                journal_entries.c.description,
                journal_legs.c.amount_minor,
                func.sum(journal_legs.c.amount_minor).over(order_by=order).label("running"),
                func.row_number().over(order_by=order).label("n"),
            )
            .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
            .where(*conds)
            .subquery()
        )
        total = self.conn.execute(select(func.count()).select_from(inner)).scalar_one()
        rows = self.conn.execute(
            select(inner).order_by(inner.c.n).limit(limit).offset(offset)
        ).all()
        lines = [
            AccountStatementLine(
                entry_id=r.entry_id,
                booking_date=r.booking_date,
                kind=r.kind,
                description=r.description,
                amount_minor=int(r.amount_minor),
                running_minor=opening + int(r.running),
            )
            for r in rows
        ]
        return opening, lines, int(total)


def _entry(row: Row[Any], legs: list[Leg]) -> Entry:
    return Entry(
        id=int(row.id),
        booking_date=row.booking_date,
        description=row.description,
        kind=EntryKind(row.kind),
        legs=tuple(legs),
        author=row.author,
        created_at=row.created_at,
        prev_hash=row.prev_hash,
        hash=row.hash,
        loan_id=row.loan_id,
        statement_line_id=row.statement_line_id,
        reverses_id=row.reverses_id,
        idempotency_key=row.idempotency_key,
        reversed_by_id=row.reversed_by_id,
    )
