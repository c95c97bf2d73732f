"""End of lease: the deposit released by the landlord repays the loan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger.domain.errors import (
    Conflict,
    ValidationError,
)
from ledger.domain.idempotency import check_same_request
from ledger.domain.journal import Entry
from ledger.domain.loans import (
    DISBURSED,
    Loan,
)
from ledger.domain.money import Money, from_minor, to_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import PaymentKind
from ledger.services.loans.common import (
    _amount,
    _check_after_payout,
    _money_command,
    _reason,
    _request,
)
from ledger.services.loans.payments import _receive
from ledger.services.loans.position import _position, _settle
from ledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    loan: Loan
    entry: Entry | None
    replayed: bool
    still_owed: int


def record_deposit_release(
    uow: UnitOfWork,
    actor: Actor,
    loan_id: str,
    *,
    on: date,
    returned: Money,
    kept: Money,
    kept_reason: str | None,
    idempotency_key: str,
) -> ReleaseResult:
    """End of lease: what came back from the deposit repays the loan; any excess is owed to the
    beneficiary; what the landlord kept (and why) is recorded, and the shortfall stays due."""
    request = _request(
        loan_id=loan_id, on=on, returned=returned.amount, kept=kept.amount, kept_reason=kept_reason
    )
    with uow:
        original, loan = _money_command(
            uow,
            actor,
            Permission.PAYMENTS_RECORD,
            command="deposit_release",
            key=idempotency_key,
            request=request,
            loan_id=loan_id,
        )
        if original:
            return ReleaseResult(loan, original, True, _position(uow, loan)[0].ledger_loan)
        # A release that brought no money back posts no entry: its key is kept with it.
        first = uow.loans.release_by_key(idempotency_key)
        if first is not None:
            _check_same_release(
                idempotency_key,
                first,
                loan.currency,
                loan_id=loan_id,
                on=on,
                returned=returned,
                kept=kept,
                kept_reason=kept_reason,
            )
            return ReleaseResult(loan, None, True, _position(uow, loan)[0].ledger_loan)
        if loan.status not in DISBURSED:
            raise Conflict(
                f"loan {loan_id} was not paid out",
                "status",
                key="err.release.not_paid_out",
                params={"loan": loan_id},
            )
        _check_after_payout(loan, on, uow.loans.payout_date(loan))
        r = (
            to_minor(returned)
            if returned.currency.code == loan.currency
            else _amount(returned, loan)
        )
        k = to_minor(kept) if kept.currency.code == loan.currency else _amount(kept, loan, "kept")
        if r < 0 or k < 0 or r + k == 0:
            raise ValidationError(
                "amounts returned and kept must not be negative, nor both zero",
                "returned",
                key="err.release.amounts",
            )
        if k and not (kept_reason and kept_reason.strip()):
            raise ValidationError(
                "say why the landlord kept part of the deposit",
                "kept_reason",
                key="err.release.kept_reason",
            )
        # A deposit can come back in parts: all of them together cannot exceed it. A release
        # whose money was reversed (booked by mistake) no longer counts; on a written-off loan
        # its money was booked as a recovery.
        reversed_ = {
            p.key
            for p, _, rev in uow.loans.payments(
                loan.id,
                kinds=(PaymentKind.DEPOSIT_RELEASE, PaymentKind.RECOVERY),
                include_reversed=True,
            )
            if rev
        }
        earlier = sum(
            x["returned_minor"] + x["kept_minor"]
            for x in uow.loans.releases(loan.id)
            if x["entry_id"] not in reversed_
        )
        if earlier + r + k > to_minor(loan.terms.deposit):
            before = (
                f" with {from_minor(earlier, loan.currency)} released before" if earlier else ""
            )
            raise ValidationError(
                f"returned plus kept ({from_minor(r + k, loan.currency)}){before} is more than "
                f"the deposit of {loan.terms.deposit}",
                "returned",
                key="err.release.too_much_before" if earlier else "err.release.too_much",
                params={
                    "total": from_minor(r + k, loan.currency),
                    "before": from_minor(earlier, loan.currency),
                    "deposit": loan.terms.deposit,
                },
            )
        entry = None
        if r:
            entry = _receive(
                uow,
                actor,
                loan,
                minor=r,
                on=on,
                kind=PaymentKind.DEPOSIT_RELEASE,
                key=idempotency_key,
                command="deposit_release",
                request=request,
                statement_line_id=None,
            ).entry
        uow.loans.add_release(
            loan.id,
            on=on,
            returned=r,
            kept=k,
            reason=_reason(kept_reason, required=False),
            entry_id=entry.id if entry else None,
            actor=actor.name,
            now=uow.now(),
            idempotency_key=idempotency_key,
        )
        uow.audit_event(
            actor,
            action="deposit_release",
            target=f"loan:{loan_id}",
            details={"returned": r, "kept": k},
        )
        loan = _settle(uow, actor, uow.loans.get(loan_id), on)
        still = _position(uow, loan)[0].ledger_loan
        uow.commit()
    return ReleaseResult(loan, entry, False, still)


def _check_same_release(
    key: str,
    first: dict[str, Any],
    currency: str,
    *,
    loan_id: str,
    on: date,
    returned: Money,
    kept: Money,
    kept_reason: str | None,
) -> None:
    """A retry of a release that posted nothing: the same release, or a conflict naming the
    first field that differs (as ``replay`` does for the releases that post an entry)."""
    before: dict[str, Any] = {
        "loan_id": first["loan_id"],
        "on": first["released_on"],
        "returned": from_minor(first["returned_minor"], currency),
        "kept": from_minor(first["kept_minor"], currency),
        "kept_reason": first["kept_reason"],
    }
    now: dict[str, Any] = {
        "loan_id": loan_id,
        "on": on,
        "returned": returned,
        "kept": kept,
        "kept_reason": _reason(kept_reason, required=False),
    }
    check_same_request(
        before, now, first_use=f"Idempotency-Key {key} was first used", names=list(before)
    )
