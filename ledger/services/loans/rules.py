"""The fund's lending rules as they stand, and the sets of rules that decided applications."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from ledger.domain.money import Money, from_minor
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Actor, Permission
from ledger.store.loan_repository import RulesUse
from ledger.store.uow import UnitOfWork

RuleValue = Money | int | Decimal | bool | str | dict[str, int]


@dataclass(frozen=True, slots=True)
class RuleSetting:
    """One setting of the rules: its name in ``EligibilityRules`` (without ``_minor``) and its
    value (amounts in the fund's currency)."""

    name: str
    value: RuleValue


def rules_in_force(actor: Actor, policy: LoanPolicy, currency: str) -> list[RuleSetting]:
    """Every setting of the lending rules in force, in the rules' order (the version first)."""
    actor.require(Permission.AUDIT_READ)
    rules = policy.rules
    settings = []
    for f in fields(rules):
        value = getattr(rules, f.name)
        if f.name.endswith("_minor"):
            settings.append(RuleSetting(f.name.removesuffix("_minor"), from_minor(value, currency)))
        elif isinstance(value, dict):
            settings.append(RuleSetting(f.name, dict(sorted(value.items()))))
        else:
            settings.append(RuleSetting(f.name, value))
    settings.append(RuleSetting("fingerprint", rules.fingerprint))
    return settings


def rules_history(uow: UnitOfWork, actor: Actor) -> list[RulesUse]:
    """Each set of rules (version and fingerprint) that decided applications, with the first
    and last day it did and how many decisions it made, oldest first."""
    actor.require(Permission.AUDIT_READ)
    with uow:
        return uow.loans.rules_history()
