"""Month close and reopen."""

from __future__ import annotations

import calendar
from datetime import date

from ledger.domain.errors import Conflict, ValidationError
from ledger.domain.journal import parse_month
from ledger.domain.roles import Actor, Permission
from ledger.services.journal import compute_trial_balance
from ledger.store.repositories import PeriodEvent
from ledger.store.uow import UnitOfWork

MAX_REASON = 1000


def month_end(month: str) -> date:
    year, mon = int(month[:4]), int(month[5:])
    return date(year, mon, calendar.monthrange(year, mon)[1])


def close_month(uow: UnitOfWork, actor: Actor, month: str) -> PeriodEvent:
    """Close a month that has ended: no posting may be dated in it afterwards.

    The close records who closed it, when, and the balances it asserted (each account's
    balance at month end), so that a later difference can be traced.
    """
    actor.require(Permission.PERIOD_CLOSE)
    month = parse_month(month)
    end = month_end(month)
    if end >= uow.now().date():
        raise ValidationError(
            f"{month} has not ended yet; it can be closed from "
            f"{date.fromordinal(end.toordinal() + 1)}",
            field="month",
        )
    with uow:
        uow.journal.lock_head()  # no posting slips in between the balances and the close
        if month in uow.periods.closed_months():
            raise Conflict(f"{month} is already closed", field="month")
        tb = compute_trial_balance(uow, end)
        asserted = {
            "accounts": {line.account.code: line.balance_minor for line in tb.lines},
            "totals": tb.totals,
        }
        uow.periods.add(
            month=month, action="close", actor=actor.name, at=uow.now(), balances=asserted
        )
        uow.audit.record(at=uow.now(), actor=actor.name, action="close_month", target=month)
        uow.commit()
    with uow:
        return uow.periods.events(month)[-1]


def reopen_month(uow: UnitOfWork, actor: Actor, month: str, reason: str) -> PeriodEvent:
    """Reopen a closed month: admins only, with a written reason that stays in the record."""
    actor.require(Permission.PERIOD_REOPEN)
    month = parse_month(month)
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("say why the month is reopened", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationError(f"reason is longer than {MAX_REASON} characters", field="reason")
    with uow:
        uow.journal.lock_head()
        if month not in uow.periods.closed_months():
            raise Conflict(f"{month} is not closed", field="month")
        uow.periods.add(
            month=month, action="reopen", actor=actor.name, at=uow.now(), reason=reason.strip()
        )
        uow.audit.record(
            at=uow.now(),
            actor=actor.name,
            action="reopen_month",
            target=month,
            details={"reason": reason.strip()},
        )
        uow.commit()
    with uow:
        return uow.periods.events(month)[-1]


def list_periods(uow: UnitOfWork, actor: Actor) -> tuple[frozenset[str], list[PeriodEvent]]:
    """Months closed now, and the history of every close and reopen."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.periods.closed_months(), uow.periods.events()
