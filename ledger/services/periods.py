"""Month close and reopen."""

from __future__ import annotations

from datetime import date

from ledger.domain.eligibility import EligibilityRules
from ledger.domain.errors import Conflict, NotReconciled, ValidationError
from ledger.domain.journal import month_end, parse_month
from ledger.domain.periods import PeriodEvent
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import PeriodAction
from ledger.services.journal import compute_trial_balance
from ledger.services.reconciliation import reconcile_books, refusals, summary
from ledger.store.uow import UnitOfWork

MAX_REASON = 1000

__all__ = ["MAX_REASON", "close_month", "list_periods", "month_end", "reopen_month"]


def _reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise ValidationError("the reason must be text", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationError(f"reason is longer than {MAX_REASON} characters", field="reason")
    return reason.strip() or None


def close_month(
    uow: UnitOfWork,
    actor: Actor,
    month: str,
    reason: str | None = None,
    *,
    rules: EligibilityRules | None = None,
) -> PeriodEvent:
    """Close a month that has ended: no posting may be dated in it afterwards.

    Only a month that reconciles closes: every bank account's statement explained by the
    ledger (items in transit aside) and the loans' sub-ledger equal to its control account
    (``ledger.services.reconciliation``). An admin may close one that does not, with a written
    reason. The close records who signed it off, when, the balances it asserted (each
    account's balance at month end) and the reconciliation as it stood, so that a later
    difference can be traced.
    """
    actor.require(Permission.PERIOD_CLOSE)
    month = parse_month(month)
    why = _reason(reason)
    end = month_end(month)
    if end >= uow.today():
        raise ValidationError(
            f"{month} has not ended yet; it can be closed from "
            f"{date.fromordinal(end.toordinal() + 1)}",
            field="month",
        )
    with uow:
        uow.journal.lock_head()  # no posting slips in between the balances and the close
        if month in uow.periods.closed_months():
            raise Conflict(f"{month} is already closed", field="month")
        recs = reconcile_books(uow, month, rules=rules)
        reconciled = all(r.reconciled for r in recs)
        if not reconciled:
            _may_close_anyway(actor, month, why, refusals(recs))
        tb = compute_trial_balance(uow, end)
        asserted = {
            "accounts": {line.account.code: line.balance_minor for line in tb.lines},
            "totals": tb.totals,
            "reconciliation": {
                **summary(recs),
                "signed_off_by": actor.name,
                "override": not reconciled,
            },
        }
        uow.periods.add(
            month=month,
            action=PeriodAction.CLOSE,
            actor=actor.name,
            at=uow.now(),
            reason=why,
            balances=asserted,
        )
        uow.audit_event(
            actor,
            action="close_month",
            target=month,
            details={"reconciled": reconciled, **({"reason": why} if why else {})},
        )
        uow.commit()
    with uow:
        return uow.periods.events(month)[-1]


def _may_close_anyway(actor: Actor, month: str, reason: str | None, problems: list[str]) -> None:
    """A month that does not reconcile: an admin closes it with a written reason; anyone else
    is refused, with every difference and what to do about it."""
    what = " ".join(problems)
    if not actor.can(Permission.PERIOD_CLOSE_UNRECONCILED):
        raise NotReconciled(
            f"{month} does not reconcile, so it cannot be closed. {what} An admin may close it "
            "anyway, with a written reason.",
            field="month",
        )
    if reason is None:
        raise NotReconciled(
            f"{month} does not reconcile. {what} To close it anyway, give a written reason "
            "(`--reason` on the command line, `reason` in the API); it is kept with the close.",
            field="reason",
        )


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
            month=month,
            action=PeriodAction.REOPEN,
            actor=actor.name,
            at=uow.now(),
            reason=reason.strip(),
        )
        uow.audit_event(
            actor,
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
