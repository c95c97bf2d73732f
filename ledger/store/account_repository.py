"""The chart of accounts in the database: accounts, their cached balances and their locks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    insert,
    select,
    update,
)

from ledger.domain.accounts import Account, AccountRole, AccountSpec, AccountType
from ledger.domain.errors import (
    ClosedAccount,
    Conflict,
    NotFound,
    ValidationError,
)
from ledger.store.driver import Driver, Sql
from ledger.store.tables import (
    accounts,
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
_ADD_TO_BALANCE = Sql.both(
    "UPDATE accounts SET balance_minor = balance_minor + :delta WHERE id = :aid"
)
# Each named account, and the control account above it: one row per (named, locked) pair.
# Built from constants only (no value is ever formatted in: codes go as parameters).
_LOCK_ACCOUNTS = (
    "SELECT "  # noqa: S608
    + ", ".join(f"a.{c}" for c in _ACCOUNT_COLUMNS)
    + " FROM accounts AS a JOIN accounts AS named ON a.id = named.id OR a.id = named.parent_id"
    " WHERE named.code {codes} ORDER BY a.id"
)


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

    def open_outside_loans(self, currency: str) -> list[Account]:
        """The open accounts of ``currency`` that are neither a loan's sub-account nor a
        control account (a fund has one sub-account per loan: thousands), by code."""
        rows = self.conn.execute(
            select(accounts)
            .where(
                accounts.c.currency == currency,
                accounts.c.role != AccountRole.LOAN.value,
                accounts.c.is_control.is_(False),
                accounts.c.closed_at.is_(None),
            )
            .order_by(accounts.c.code)
        )
        return [_account(r) for r in rows]

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
