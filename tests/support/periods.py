"""A month closed in the tests the way people close it: in two steps, by two people."""

from __future__ import annotations

from ledger.domain.eligibility import EligibilityRules
from ledger.domain.periods import PeriodEvent
from ledger.domain.roles import Actor, Role
from ledger.services import periods
from ledger.store.uow import UnitOfWork

#: The second person who signs off the closes the tests ask for.
SIGNER = Actor("second.signer", Role.TREASURER)


def close_month(
    uow: UnitOfWork,
    actor: Actor,
    month: str,
    reason: str | None = None,
    *,
    rules: EligibilityRules | None = None,
    signer: Actor = SIGNER,
) -> PeriodEvent:
    """``actor`` asks to close ``month`` (every refusal of asking is theirs: the role, a month
    not ended, closed already, not reconciled, the reason) and ``signer`` signs it off. The
    system operator closes in one step, as the command line does."""
    if actor.system:
        return periods.close_month(uow, actor, month, reason, rules=rules)
    periods.request_close(uow, actor, month, reason, rules=rules)
    return periods.sign_off_close(uow, signer, month, rules=rules)
