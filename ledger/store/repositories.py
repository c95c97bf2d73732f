"""Repositories: turn rows into domain values and back. They never commit."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, islice
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    func,
    insert,
    select,
    update,
)

from ledger.domain.accounts import Account, AccountRole, AccountSpec, AccountType
from ledger.domain.errors import (
    ClosedAccount,
    ClosedPeriod,
    Conflict,
    NotFound,
    Overdraft,
    ValidationError,
)
from ledger.domain.journal import Entry, EntryDraft, EntryKind, Leg, month_of, seal
from ledger.domain.money import from_minor
from ledger.store.driver import Driver, Sql
from ledger.store.tables import (
    accounts,
    audit_log,
    auth_tokens,
    chain_head,
    idempotency_keys,
    journal_entries,
    journal_legs,
    period_events,
    users,
)


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


# The posting path's statements run straight on the driver (see ledger.store.driver): written
# out once here, with FOR UPDATE on PostgreSQL to lock rows; SQLite has no row locks (a writer
# holds the whole database from BEGIN IMMEDIATE).
_LOCK_HEAD = Sql.both(
    "SELECT last_entry_id, last_hash FROM chain_head WHERE id = 1", pg_suffix=" FOR UPDATE"
)
_MOVE_HEAD = Sql.both(
    "UPDATE chain_head SET last_entry_id = :new_entry_id, last_hash = :new_hash WHERE id = 1"
)
#: The columns of an Account, in the order ``_account_of`` takes them; created_at is not one.
_ACCOUNT_COLUMNS = (
    "id",
    "code",
    "name",
    "type",
    "currency",
    "role",
    "parent_id",
    "is_control",
    "no_overdraft",
    "closed_at",
    "balance_minor",
)
# Each named account, and the control account above it: one row per (named, locked) pair.
# Built from constants only (no value is ever formatted in: codes go as parameters).
_LOCK_ACCOUNTS = (
    "SELECT "  # noqa: S608
    + ", ".join(f"a.{c}" for c in _ACCOUNT_COLUMNS)
    + " FROM accounts AS a JOIN accounts AS named ON a.id = named.id OR a.id = named.parent_id"
    " WHERE named.code {codes} ORDER BY a.id"
)
_ADD_TO_BALANCE = Sql.both(
    "UPDATE accounts SET balance_minor = balance_minor + :delta WHERE id = :aid"
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
_KEYS = "SELECT key, command, request, entry_id FROM idempotency_keys WHERE key"
_KEY = Sql.both(f"{_KEYS} = :key")
_INSERT_KEYS = Sql.both(
    "INSERT INTO idempotency_keys (key, command, request, entry_id, actor, created_at) "
    "VALUES (:key, :command, :request, :entry_id, :actor, :created_at)"
)
_INSERT_AUDIT = Sql.both(
    "INSERT INTO audit_log (at, actor, action, target, details) "
    "VALUES (:at, :actor, :action, :target, :details)"
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
#: From this many entries in one batch, PostgreSQL gets the rows by COPY: it costs a round trip
#: more than an INSERT, and saves a few microseconds per row on both sides.
COPY_FROM = 100
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
KEY_COLUMNS = [
    ("key", "varchar"),
    ("command", "varchar"),
    ("request", "text"),
    ("entry_id", "int8"),
    ("actor", "varchar"),
    ("created_at", "timestamptz"),
]
_PG_ADD_TO_BALANCES = """
UPDATE accounts SET balance_minor = accounts.balance_minor + d.delta
FROM unnest(%(aid)b::integer[], %(delta)b::bigint[]) AS d (aid, delta)
WHERE accounts.id = d.aid
"""
_PG_KEYS = """
SELECT key, command, request, entry_id FROM idempotency_keys WHERE key = ANY(%(keys)b::varchar[])
"""
_PG_INSERT_KEYS = """
INSERT INTO idempotency_keys (key, command, request, entry_id, actor, created_at)
SELECT * FROM unnest(
    %(key)b::varchar[], %(command)b::varchar[], %(request)b::text[], %(entry_id)b::bigint[],
    %(actor)b::varchar[], %(created_at)b::timestamptz[]
)
"""
_latest_per_month = (
    select(func.max(period_events.c.id)).group_by(period_events.c.month).scalar_subquery()
)
_CLOSED_MONTHS = select(period_events.c.month).where(
    period_events.c.id.in_(_latest_per_month), period_events.c.action == "close"
)
#: Keys looked up per query: well below every engine's limit on bound parameters.
_KEYS_PER_QUERY = 1000


def _account(row: Row[Any]) -> Account:
    """An Account from a row read through SQLAlchemy (timestamps already read by their type)."""
    return _account_of(tuple(row._mapping[c] for c in _ACCOUNT_COLUMNS), closed_at=row.closed_at)


def _account_of(values: Sequence[Any], *, closed_at: datetime | None) -> Account:
    """An Account from the values of ``_ACCOUNT_COLUMNS``; ``closed_at`` as read by its type."""
    (aid, code, name, type_, currency, role, parent_id, control, no_overdraft, _, balance) = values
    return Account(
        id=aid,
        code=code,
        name=name,
        type=AccountType(type_),
        currency=currency,
        role=AccountRole(role),
        parent_id=parent_id,
        is_control=bool(control),
        no_overdraft=bool(no_overdraft),
        closed_at=closed_at,
        balance_minor=int(balance),
    )


class AccountRepository:
    def __init__(self, conn: Connection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver

    def add(self, spec: AccountSpec, *, now: datetime) -> Account:
        if self.find(spec.code) is not None:
            raise Conflict(f"account {spec.code} already exists; choose another code", field="code")
        parent_id = None
        if spec.parent_code is not None:
            parent = self.get(spec.parent_code, field="parent_code")
            if not parent.is_control:
                raise ValidationError(
                    f"account {parent.code} is not a control account and cannot have sub-accounts",
                    field="parent_code",
                )
            if parent.currency != spec.currency or parent.type != spec.type:
                raise ValidationError(
                    f"a sub-account of {parent.code} must be {parent.type} in {parent.currency}",
                    field="parent_code",
                )
            if parent.is_closed:
                raise ClosedAccount(f"control account {parent.code} is closed", field="parent_code")
            parent_id = parent.id
        self.conn.execute(
            insert(accounts).values(
                code=spec.code,
                name=spec.name.strip(),
                type=spec.type.value,
                currency=spec.currency,
                role=spec.role.value,
                parent_id=parent_id,
                is_control=spec.is_control,
                no_overdraft=spec.no_overdraft,
                closed_at=None,
                balance_minor=0,
                created_at=now,
            )
        )
        return self.get(spec.code)

    def find(self, code: str) -> Account | None:
        row = self.conn.execute(select(accounts).where(accounts.c.code == code)).first()
        return _account(row) if row else None

    def get(self, code: str, *, field: str = "account") -> Account:
        account = self.find(code)
        if account is None:
            raise NotFound(
                f"account {code} does not exist; list accounts to find its code", field=field
            )
        return account

    def by_role(self, role: AccountRole, currency: str) -> Account:
        rows = self.conn.execute(
            select(accounts)
            .where(accounts.c.role == role.value, accounts.c.currency == currency)
            .where(accounts.c.closed_at.is_(None))
            .order_by(accounts.c.id)
        ).all()
        if not rows:
            raise NotFound(f"the chart has no open {role.value} account in {currency}")
        return _account(rows[0])

    def all(self) -> list[Account]:
        return [_account(r) for r in self.conn.execute(select(accounts).order_by(accounts.c.code))]

    def children_of(self, account_id: int) -> list[Account]:
        rows = self.conn.execute(
            select(accounts).where(accounts.c.parent_id == account_id).order_by(accounts.c.code)
        )
        return [_account(r) for r in rows]

    def lock(self, codes: Iterable[str]) -> dict[str, Account]:
        """The accounts named, with their control accounts, locked in ascending id order.

        A fixed lock order means two postings touching the same accounts queue behind each
        other instead of deadlocking; the cached balances read here cannot be lost by a
        concurrent update.
        """
        wanted = sorted(set(codes))
        driver = self.driver
        condition, params = driver.in_list("codes", wanted)
        sql = _LOCK_ACCOUNTS.format(codes=condition) + (" FOR UPDATE OF a" if driver.pg else "")
        rows = driver.execute(sql, params).fetchall()
        # A row may come twice (an account named and the control account of another).
        locked = {r[1]: _account_of(r, closed_at=driver.read_stamp(r[9])) for r in rows}
        missing = [c for c in wanted if c not in locked]
        if missing:
            raise NotFound(
                f"account {', '.join(missing)} does not exist; list accounts to find its code",
                field="legs",
            )
        return locked

    def close(self, code: str, *, now: datetime) -> Account:
        account = self.lock([code])[code]
        if account.is_closed:
            raise ClosedAccount(f"account {code} is already closed", field="account")
        if account.balance_minor != 0:
            raise Conflict(
                f"account {code} still holds {account.natural_balance}; bring it to zero first",
                field="account",
            )
        if any(not child.is_closed for child in self.children_of(account.id)):
            raise Conflict(
                f"account {code} has open sub-accounts; close them first", field="account"
            )
        self.conn.execute(update(accounts).where(accounts.c.id == account.id).values(closed_at=now))
        return self.get(code)

    def add_to_balances(self, deltas: Mapping[int, int]) -> None:
        """Move cached balances by ``deltas`` (account id -> minor units), in id order."""
        params = [{"aid": aid, "delta": d} for aid, d in sorted(deltas.items()) if d]
        if params:
            self.driver.executemany(_ADD_TO_BALANCE, params)


@dataclass(frozen=True, slots=True)
class JournalFilter:
    date_from: date | None = None
    date_to: date | None = None
    kind: EntryKind | None = None
    account_code: str | None = None
    loan_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    booking_date: date
    kind: str
    description: str
    amount_minor: int
    running_minor: int


class JournalRepository:
    def __init__(self, conn: Connection, accounts_repo: AccountRepository) -> None:
        self.conn = conn
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
        running = {a.id: a.balance_minor for a in locked.values()}
        for draft in drafts:
            month = month_of(draft.booking_date)
            if month in closed_months:
                raise ClosedPeriod(
                    f"{month} is closed: book on a date in an open month, or ask an admin to "
                    "reopen it",
                    field="booking_date",
                )
            for leg in draft.legs:
                account = locked[leg.account_code]
                _check_leg(account, leg)
                running[account.id] += leg.minor
                if account.parent_id is not None:
                    running[account.parent_id] += leg.minor
            for leg in draft.legs:
                account = locked[leg.account_code]
                short = account.overdrawn_by(running[account.id])
                if account.no_overdraft and short:
                    raise Overdraft(
                        f"account {account.code} may not be overdrawn; this entry would take it "
                        f"{from_minor(short, account.currency)} below zero",
                        field="legs",
                    )

        deltas = {aid: running[aid] - by_id[aid].balance_minor for aid in running}
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

    def page(self, flt: JournalFilter, *, limit: int, offset: int) -> tuple[list[Entry], int]:
        conditions: list[ColumnElement[bool]] = []
        if flt.date_from is not None:
            conditions.append(journal_entries.c.booking_date >= flt.date_from)
        if flt.date_to is not None:
            conditions.append(journal_entries.c.booking_date <= flt.date_to)
        if flt.kind is not None:
            conditions.append(journal_entries.c.kind == flt.kind.value)
        if flt.loan_id is not None:
            conditions.append(journal_entries.c.loan_id == flt.loan_id)
        if flt.account_code is not None:
            # A control account's entries are its sub-accounts', as in its statement.
            account = self.accounts.get(flt.account_code)
            ids = [account.id] + [c.id for c in self.accounts.children_of(account.id)]
            conditions.append(
                journal_entries.c.id.in_(
                    select(journal_legs.c.entry_id).where(journal_legs.c.account_id.in_(ids))
                )
            )
        where = and_(True, *conditions)
        total = self.conn.execute(
            select(func.count()).select_from(journal_entries).where(where)
        ).scalar_one()
        rows = self.conn.execute(
            self._select_entries()
            .where(where)
            .order_by(journal_entries.c.booking_date, journal_entries.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
        return self._entries(rows), int(total)

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

    def statement(
        self,
        account: Account,
        *,
        date_from: date | None,
        date_to: date | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[StatementLine], int]:
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
            StatementLine(
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


def _check_leg(account: Account, leg: Leg) -> None:
    if account.is_closed:
        raise ClosedAccount(f"account {account.code} is closed and takes no postings", field="legs")
    if account.is_control:
        raise ValidationError(
            f"account {account.code} is a control account; post to one of its sub-accounts",
            field="legs",
        )
    if account.currency != leg.currency:
        raise ValidationError(
            f"account {account.code} is kept in {account.currency}, not {leg.currency}",
            field="legs",
        )


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


@dataclass(frozen=True, slots=True)
class PeriodEvent:
    id: int
    month: str
    action: str
    actor: str
    at: datetime
    reason: str | None
    balances: dict[str, Any] | None


class PeriodRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def closed_months(self) -> frozenset[str]:
        return frozenset(r.month for r in self.conn.execute(_CLOSED_MONTHS))

    def add(
        self,
        *,
        month: str,
        action: str,
        actor: str,
        at: datetime,
        reason: str | None = None,
        balances: dict[str, Any] | None = None,
    ) -> None:
        self.conn.execute(
            insert(period_events).values(
                month=month,
                action=action,
                actor=actor,
                at=at,
                reason=reason,
                balances=json.dumps(balances, sort_keys=True) if balances is not None else None,
            )
        )

    def events(self, month: str | None = None) -> list[PeriodEvent]:
        stmt = select(period_events).order_by(period_events.c.id)
        if month is not None:
            stmt = stmt.where(period_events.c.month == month)
        return [
            PeriodEvent(
                id=r.id,
                month=r.month,
                action=r.action,
                actor=r.actor,
                at=r.at,
                reason=r.reason,
                balances=json.loads(r.balances) if r.balances else None,
            )
            for r in self.conn.execute(stmt)
        ]


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str
    active: bool
    password_hash: str


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, *, username: str, password_hash: str, role: str, now: datetime) -> User:
        if self.find(username) is not None:
            raise Conflict(f"user {username} already exists", field="username")
        self.conn.execute(
            insert(users).values(
                username=username,
                password_hash=password_hash,
                role=role,
                active=True,
                created_at=now,
            )
        )
        user = self.find(username)
        if user is None:
            raise RuntimeError(f"user {username} was written but cannot be read back")
        return user

    def find(self, username: str) -> User | None:
        row = self.conn.execute(select(users).where(users.c.username == username)).first()
        return _user(row) if row else None

    def all(self) -> list[User]:
        return [_user(r) for r in self.conn.execute(select(users).order_by(users.c.username))]

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self.conn.execute(
            update(users).where(users.c.id == user_id).values(password_hash=password_hash)
        )

    def set_active(self, user_id: int, active: bool) -> None:
        self.conn.execute(update(users).where(users.c.id == user_id).values(active=active))

    def add_token(self, *, token_hash: str, user_id: int, now: datetime, expires: datetime) -> None:
        self.conn.execute(
            insert(auth_tokens).values(
                token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires
            )
        )

    def by_token(self, token_hash: str, now: datetime) -> User | None:
        row = self.conn.execute(
            select(users)
            .join(auth_tokens, auth_tokens.c.user_id == users.c.id)
            .where(
                auth_tokens.c.token_hash == token_hash,
                auth_tokens.c.expires_at > now,
                auth_tokens.c.revoked_at.is_(None),
                users.c.active.is_(True),
            )
        ).first()
        return _user(row) if row else None

    def revoke_token(self, token_hash: str, now: datetime) -> None:
        self.conn.execute(
            update(auth_tokens)
            .where(auth_tokens.c.token_hash == token_hash, auth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def revoke_all(self, user_id: int, now: datetime) -> None:
        self.conn.execute(
            update(auth_tokens)
            .where(auth_tokens.c.user_id == user_id, auth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        active=bool(row.active),
        password_hash=row.password_hash,
    )


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any] | None


class AuditRepository:
    def __init__(self, conn: Connection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver

    def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        row = {
            "at": self.driver.stamp(at),
            "actor": actor,
            "action": action,
            "target": target,
            "details": json.dumps(details, sort_keys=True, default=str) if details else None,
        }
        self.driver.execute(_INSERT_AUDIT, row)

    def page(
        self, *, actor: str | None, action: str | None, limit: int, offset: int
    ) -> tuple[list[AuditRecord], int]:
        conds: list[ColumnElement[bool]] = []
        if actor is not None:
            conds.append(audit_log.c.actor == actor)
        if action is not None:
            conds.append(audit_log.c.action == action)
        where = and_(True, *conds)
        total = self.conn.execute(select(func.count()).select_from(audit_log).where(where))
        rows = self.conn.execute(
            select(audit_log)
            .where(where)
            .order_by(audit_log.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [
            AuditRecord(
                id=r.id,
                at=r.at,
                actor=r.actor,
                action=r.action,
                target=r.target,
                details=json.loads(r.details) if r.details else None,
            )
            for r in rows
        ], int(total.scalar_one())


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    command: str
    request: dict[str, Any]
    entry_id: int


class IdempotencyRepository:
    def __init__(self, conn: Connection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver

    def get(self, key: str) -> IdempotencyRecord | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        """The records of those keys that were used before, by key."""
        driver = self.driver
        rows: list[Any] = []
        if len(keys) == 1:  # the common case, an API call: a plain = is cheaper than IN
            rows = driver.execute(_KEY, {"key": keys[0]}).fetchall()
        elif keys and driver.pg:  # one array, not a placeholder per key
            rows = driver.execute(_PG_KEYS, {"keys": list(keys)}).fetchall()
        else:
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                condition, params = driver.in_list("key", keys[start : start + _KEYS_PER_QUERY])
                rows += driver.execute(f"{_KEYS} {condition}", params).fetchall()
        return {
            key: IdempotencyRecord(key, command, json.loads(request), int(entry_id))
            for key, command, request, entry_id in rows
        }

    def add_many(self, records: Iterable[IdempotencyRecord], *, actor: str, now: datetime) -> None:
        """Record keys. ``records`` may be lazy: on PostgreSQL a batch of COPY_FROM or more
        goes by COPY, each record made as its row streams."""
        driver = self.driver
        records = iter(records)
        first = list(islice(records, COPY_FROM if driver.pg else None))
        if not first:
            return
        if driver.pg and len(first) == COPY_FROM:
            created_at = driver.stamp(now)
            driver.copy(
                "idempotency_keys",
                KEY_COLUMNS,
                (
                    (
                        r.key,
                        r.command,
                        json.dumps(r.request, sort_keys=True),
                        r.entry_id,
                        actor,
                        created_at,
                    )
                    for r in chain(first, records)
                ),
            )
        elif driver.pg:  # one statement, as the journal's rows
            driver.execute(
                _PG_INSERT_KEYS,
                {
                    "key": [r.key for r in first],
                    "command": [r.command for r in first],
                    "request": [json.dumps(r.request, sort_keys=True) for r in first],
                    "entry_id": [r.entry_id for r in first],
                    "actor": [actor] * len(first),
                    "created_at": [driver.stamp(now)] * len(first),
                },
            )
        else:
            created_at = driver.stamp(now)
            driver.executemany(
                _INSERT_KEYS,
                [
                    {
                        "key": r.key,
                        "command": r.command,
                        "request": json.dumps(r.request, sort_keys=True),
                        "entry_id": r.entry_id,
                        "actor": actor,
                        "created_at": created_at,
                    }
                    for r in first
                ],
            )

    def all(self) -> Iterator[tuple[str, int]]:
        for r in self.conn.execute(select(idempotency_keys.c.key, idempotency_keys.c.entry_id)):
            yield r.key, int(r.entry_id)
