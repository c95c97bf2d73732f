"""The chart of accounts: list, open, close, balances and statements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ledger.api.deps import CurrentActor, Limit, Offset, ReadUoW, WriteUoW
from ledger.api.schemas import (
    AccountIn,
    AccountOut,
    BalanceOut,
    IsoDate,
    StatementLineOut,
    StatementOut,
)
from ledger.domain.accounts import Account, AccountSpec
from ledger.domain.money import to_minor
from ledger.domain.roles import Actor
from ledger.services import journal
from ledger.services.money_json import MoneyOut
from ledger.store.uow import UnitOfWork

router = APIRouter(prefix="/accounts", tags=["accounts"])

AccountCode = Annotated[str, Path(min_length=1, max_length=40, examples=["1000"])]


def _parent_code(uow: UnitOfWork, actor: Actor, account: Account) -> str | None:
    if account.parent_id is None:
        return None
    return next(a.code for a in journal.list_accounts(uow, actor) if a.id == account.parent_id)


@router.get("", summary="The chart of accounts with balances (roles: admin, treasurer, auditor)")
def list_accounts(actor: CurrentActor, uow: ReadUoW) -> list[AccountOut]:
    accounts = journal.list_accounts(uow, actor)
    codes = {a.id: a.code for a in accounts}
    return [
        AccountOut.of(a, codes[a.parent_id] if a.parent_id is not None else None) for a in accounts
    ]


@router.post("", status_code=201, summary="Open an account (roles: admin, treasurer)")
def open_account(body: AccountIn, actor: CurrentActor, uow: WriteUoW) -> AccountOut:
    spec = AccountSpec(
        code=body.code,
        name=body.name,
        type=body.type,
        currency=body.currency,
        role=body.role,
        parent_code=body.parent_code,
        is_control=body.is_control,
        no_overdraft=body.no_overdraft,
    )
    return AccountOut.of(journal.open_account(uow, actor, spec), body.parent_code)


@router.get("/{code}", summary="One account (roles: admin, treasurer, auditor)")
def get_account(code: AccountCode, actor: CurrentActor, uow: ReadUoW) -> AccountOut:
    account = journal.get_account(uow, actor, code)
    return AccountOut.of(account, _parent_code(uow, actor, account))


@router.post("/{code}/close", summary="Close an account at zero (roles: admin, treasurer)")
def close_account(code: AccountCode, actor: CurrentActor, uow: WriteUoW) -> AccountOut:
    account = journal.close_account(uow, actor, code)
    return AccountOut.of(account, _parent_code(uow, actor, account))


@router.get(
    "/{code}/balance",
    summary="An account's balance, now or at the end of a past day "
    "(roles: admin, treasurer, auditor)",
)
def get_balance(
    code: AccountCode,
    actor: CurrentActor,
    uow: ReadUoW,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD; default: now")] = None,
) -> BalanceOut:
    account = journal.get_account(uow, actor, code)
    signed = journal.balance(uow, actor, code, as_of)
    minor = to_minor(signed)
    return BalanceOut(
        account=account.code,
        as_of=as_of,
        balance=MoneyOut.of(minor, account.currency),
        natural_balance=MoneyOut.of(account.type.normal_sign * minor, account.currency),
    )


@router.get(
    "/{code}/statement",
    summary="An account's lines with their running balance (roles: admin, treasurer, auditor)",
)
def get_statement(
    code: AccountCode,
    actor: CurrentActor,
    uow: ReadUoW,
    date_from: Annotated[IsoDate | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description="YYYY-MM-DD")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> StatementOut:
    st = journal.statement(
        uow, actor, code, date_from=date_from, date_to=date_to, limit=limit, offset=offset
    )
    cur = st.account.currency
    return StatementOut(
        account=st.account.code,
        date_from=date_from,
        date_to=date_to,
        opening_balance=MoneyOut.of(st.opening_minor, cur),
        lines=[StatementLineOut.of(line, cur) for line in st.lines],
        total=st.total,
        limit=limit,
        offset=offset,
    )
