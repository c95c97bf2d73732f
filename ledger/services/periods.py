"""Month close and reopen.

A month closes in two steps on the staff's pages (four eyes): one person asks to close it
(``request_close``), another signs the close off (``sign_off_close``), never the same person;
who asked may withdraw the request and anyone else may refuse it with a reason
(``cancel_close_request``). The API has the same two steps (``POST
/api/periods/{month}/close-requests``, then ``POST /api/periods/{month}/close`` by another
person). ``close_month`` closes in one step, and only for the system operator at the command
line, who holds the database itself and whom no second signature could stop; the close
records that nobody else signed it.
"""

from __future__ import annotations

from datetime import date

from ledger.domain.eligibility import EligibilityRules
from ledger.domain.errors import Conflict, NotReconciled, PermissionDenied, ValidationError
from ledger.domain.journal import month_end, parse_month
from ledger.domain.periods import CloseRequest, MonthState, PeriodEvent
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import CloseRequestStatus, PeriodAction
from ledger.services.journal import compute_trial_balance
from ledger.services.reconciliation import reconcile_books, refusals, summary
from ledger.store.uow import UnitOfWork

MAX_REASON = 1000

__all__ = [
    "MAX_REASON",
    "cancel_close_request",
    "close_month",
    "list_periods",
    "month_end",
    "month_state",
    "pending_closes",
    "reopen_month",
    "request_close",
    "sign_off_close",
]


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
    """Close a month that has ended in one step: no posting may be dated in it afterwards.
    Only the system operator (the command line) may: a person signed in asks
    (``request_close``) and another signs off (``sign_off_close``).

    Only a month that reconciles closes: every bank account's statement explained by the
    ledger (items in transit aside) and the loans' sub-ledger equal to its control account
    (``ledger.services.reconciliation``). An admin may close one that does not, with a written
    reason. The close records who signed it off, when, the balances it asserted (each
    account's balance at month end) and the reconciliation as it stood, so that a later
    difference can be traced.
    """
    actor.require(Permission.PERIOD_CLOSE)
    if not actor.system:
        raise PermissionDenied(
            "a month closes in two steps: ask to close it, then another person signs the "
            "close off (POST /api/periods/{month}/close-requests, then POST "
            "/api/periods/{month}/close; on the pages: Months, then the month)",
            field="month",
            key="err.close.two_steps",
        )
    month = parse_month(month)
    why = _reason(reason)
    _check_ended(uow, month)
    with uow:
        uow.journal.lock_head()  # no posting slips in between the balances and the close
        _check_open(uow, month)
        event_id = _close(uow, actor, month, why, rules=rules)
        pending = uow.periods.pending_request(month)
        if pending is not None:  # the operator's close settles a request left waiting
            uow.periods.decide_request(
                pending.id,
                status=CloseRequestStatus.SIGNED_OFF,
                by=actor.name,
                at=uow.now(),
                close_event_id=event_id,
            )
        uow.commit()
    with uow:
        return uow.periods.events(month)[-1]


def _check_ended(uow: UnitOfWork, month: str) -> None:
    end = month_end(month)
    if end >= uow.today():
        first = date.fromordinal(end.toordinal() + 1)
        raise ValidationError(
            f"{month} has not ended yet; it can be closed from {first}",
            field="month",
            key="err.close.not_ended",
            params={"month": month, "first": first},
        )


def _check_open(uow: UnitOfWork, month: str) -> None:
    if month in uow.periods.closed_months():
        raise Conflict(
            f"{month} is already closed",
            field="month",
            key="err.close.closed_already",
            params={"month": month},
        )


def _close(
    uow: UnitOfWork,
    actor: Actor,
    month: str,
    why: str | None,
    *,
    rules: EligibilityRules | None,
    requested_by: str | None = None,
) -> int:
    """Record the close inside the caller's unit of work (the chain head locked): refused
    unless the month reconciles or may close anyway; returns the close event's id."""
    recs = reconcile_books(uow, month, rules=rules)
    reconciled = all(r.reconciled for r in recs)
    if not reconciled:
        if requested_by is None:
            _may_close_anyway(actor, month, why, refusals(recs))
        elif why is None:
            raise NotReconciled(
                f"{month} does not reconcile any more: {' '.join(refusals(recs))} Refuse this "
                "request and clear the differences, or have an admin ask again with a reason.",
                field="month",
                key="err.close.no_longer_reconciled",
                params={"month": month},
            )
    tb = compute_trial_balance(uow, month_end(month))
    asserted = {
        "accounts": {line.account.code: line.balance_minor for line in tb.lines},
        "totals": tb.totals,
        "reconciliation": {
            **summary(recs),
            "signed_off_by": actor.name,
            "override": not reconciled,
            **({"requested_by": requested_by} if requested_by is not None else {}),
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
        details={
            "reconciled": reconciled,
            **({"reason": why} if why else {}),
            **({"requested_by": requested_by} if requested_by is not None else {}),
        },
    )
    return uow.periods.last_event_id(month)


def request_close(
    uow: UnitOfWork,
    actor: Actor,
    month: str,
    reason: str | None = None,
    *,
    rules: EligibilityRules | None = None,
) -> CloseRequest:
    """The first of the two steps: ask to close a month that has ended. Refused, as a close
    is, unless the month reconciles, or an admin gives the written reason to close it anyway;
    another person then signs it off (``sign_off_close``)."""
    actor.require(Permission.PERIOD_CLOSE)
    month = parse_month(month)
    why = _reason(reason)
    _check_ended(uow, month)
    with uow:
        uow.journal.lock_head()  # requests and closes of a month queue here
        _check_open(uow, month)
        pending = uow.periods.pending_request(month)
        if pending is not None:
            raise Conflict(
                f"{pending.requested_by} already asked to close {month}; it waits for "
                "another person's sign-off",
                field="month",
                key="err.close.pending",
                params={"month": month, "who": pending.requested_by},
            )
        recs = reconcile_books(uow, month, rules=rules)
        reconciled = all(r.reconciled for r in recs)
        if not reconciled:
            _may_close_anyway(actor, month, why, refusals(recs))
        request_id = uow.periods.add_request(
            month=month, requested_by=actor.name, at=uow.now(), reason=why
        )
        uow.audit_event(
            actor,
            action="close_month_request",
            target=month,
            details={
                "request": request_id,
                "reconciled": reconciled,
                **({"reason": why} if why else {}),
            },
        )
        uow.commit()
    with uow:
        found = uow.periods.pending_request(month)
        assert found is not None  # just written
        return found


def _pending(uow: UnitOfWork, month: str) -> CloseRequest:
    pending = uow.periods.pending_request(month)
    if pending is None:
        raise Conflict(
            f"nobody has asked to close {month}; ask first, then another person signs it off",
            field="month",
            key="err.close.none_pending",
            params={"month": month},
        )
    return pending


def sign_off_close(
    uow: UnitOfWork, actor: Actor, month: str, *, rules: EligibilityRules | None = None
) -> PeriodEvent:
    """The second step: another person than who asked signs the close off, and the month
    closes (the reconciliation checked again: the books may have moved since the request)."""
    actor.require(Permission.PERIOD_CLOSE)
    month = parse_month(month)
    with uow:
        uow.journal.lock_head()
        _check_open(uow, month)
        pending = _pending(uow, month)
        if pending.requested_by == actor.name:
            raise Conflict(
                f"you asked to close {month}; another person must sign the close off",
                field="month",
                key="err.close.own_request",
                params={"month": month},
            )
        event_id = _close(
            uow, actor, month, pending.reason, rules=rules, requested_by=pending.requested_by
        )
        uow.periods.decide_request(
            pending.id,
            status=CloseRequestStatus.SIGNED_OFF,
            by=actor.name,
            at=uow.now(),
            close_event_id=event_id,
        )
        uow.commit()
    with uow:
        return uow.periods.events(month)[-1]


def cancel_close_request(
    uow: UnitOfWork, actor: Actor, month: str, reason: str | None = None
) -> CloseRequest:
    """Who asked withdraws the request; anyone else who may close refuses it, saying why."""
    actor.require(Permission.PERIOD_CLOSE)
    month = parse_month(month)
    why = _reason(reason)
    with uow:
        uow.journal.lock_head()
        pending = _pending(uow, month)
        own = pending.requested_by == actor.name
        if not own and why is None:
            raise ValidationError(
                "say why you refuse to sign this close off",
                field="reason",
                key="err.close.refusal_reason",
            )
        status = CloseRequestStatus.WITHDRAWN if own else CloseRequestStatus.REFUSED
        uow.periods.decide_request(
            pending.id, status=status, by=actor.name, at=uow.now(), reason=why
        )
        uow.audit_event(
            actor,
            action=f"close_month_request_{status.value}",
            target=month,
            details={"request": pending.id, **({"reason": why} if why else {})},
        )
        uow.commit()
    with uow:
        return next(r for r in uow.periods.requests(month) if r.id == pending.id)


def month_state(uow: UnitOfWork, actor: Actor, month: str) -> MonthState:
    """Where a month stands: closed or not, a close waiting for sign-off, its history."""
    actor.require(Permission.LEDGER_READ)
    month = parse_month(month)
    with uow:
        events = uow.periods.events(month)
        closed = events[-1] if events and events[-1].action is PeriodAction.CLOSE else None
        return MonthState(
            month=month,
            ended=month_end(month) < uow.today(),
            closed=closed,
            pending=uow.periods.pending_request(month),
            events=tuple(events),
            requests=tuple(uow.periods.requests(month)),
        )


def pending_closes(uow: UnitOfWork, actor: Actor) -> dict[str, CloseRequest]:
    """Every month whose close waits for a second person's sign-off."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.periods.pending_months()


def _may_close_anyway(actor: Actor, month: str, reason: str | None, problems: list[str]) -> None:
    """A month that does not reconcile: an admin closes it with a written reason; anyone else
    is refused, with every difference and what to do about it."""
    what = " ".join(problems)
    if not actor.can(Permission.PERIOD_CLOSE_UNRECONCILED):
        raise NotReconciled(
            f"{month} does not reconcile, so it cannot be closed. {what} An admin may close it "
            "anyway, with a written reason.",
            field="month",
            key="err.close.not_reconciled",
            params={"month": month},
        )
    if reason is None:
        raise NotReconciled(
            f"{month} does not reconcile. {what} To close it anyway, give a written reason "
            "(`--reason` on the command line, `reason` in the API); it is kept with the close.",
            field="reason",
            key="err.close.reason_needed",
            params={"month": month},
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
