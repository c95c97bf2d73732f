"""Eligibility of a loan application: configurable, versioned rules with readable reasons.

Each rule looks at the facts of one application and says pass, fail or needs review, with a
sentence a caseworker can read out to the person. The decision keeps the facts, the rules'
version and every result, so it can be explained later even after the rules change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from ledger.domain.money import Money, from_minor, to_minor
from ledger.domain.schedule import add_months


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    REVIEW = "review"
    FAIL = "fail"


class PublicAlternatives(StrEnum):
    """Were the public schemes (CPAS/social welfare guarantee, housing fund loan) tried?"""

    REFUSED = "refused"  # tried and refused
    NOT_ACCESSIBLE = "not_accessible"  # not open to this person (recorded why)
    NOT_TRIED = "not_tried"


#: Legal maximum deposit in months of rent (DOMAIN.md; check dates, rules change).
DEFAULT_LEGAL_MAX_MONTHS: dict[str, int] = {
    "BE-BRU": 2,  # Brussels Housing Code art. 248, since 1 Nov 2024
    "BE-WAL": 2,  # Walloon decree of 15 March 2018
    "BE-VLG": 3,  # Flemish decree, since 1 Jan 2019
    "CH": 3,  # Code of obligations art. 257e
}


@dataclass(frozen=True, slots=True)
class EligibilityRules:
    """A fund's settings for the default rules; ``version`` names this set."""

    version: str = "default-2026-11"
    legal_max_months: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LEGAL_MAX_MONTHS))
    fund_cap_minor: int = 300_000  # 3,000.00 in the fund's currency
    max_months: int = 24
    min_lease_months: int = 12
    max_income_share_percent: Decimal = Decimal("15")
    min_installment_minor: int = 2_000  # 20.00
    cash_reserve_minor: int = 100_000  # kept back for refunds and charges
    require_valid_permit: bool = True

    @property
    def fingerprint(self) -> str:
        """A hash of the settings: two decisions with the same fingerprint used the same rules."""
        doc = asdict(self)
        doc["max_income_share_percent"] = str(self.max_income_share_percent)
        raw = json.dumps(doc, sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ApplicationFacts:
    deposit: Money
    monthly_rent: Money
    jurisdiction: str
    lease_start: date
    lease_end: date | None  # None: open-ended lease
    installments: int
    installment: Money  # the regular monthly amount
    monthly_net_income: Money | None
    own_savings: Money | None
    permit_end: date | None  # None: no end date (citizen or permanent permit)
    has_permit_status: bool  # a residence status was recorded
    other_open_loans: int
    past_write_offs: int
    public_alternatives: PublicAlternatives
    available_cash: Money  # cash in the bank less loans approved but not yet paid out
    decision_date: date


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    outcome: Outcome
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    results: tuple[RuleResult, ...]
    rules_version: str
    rules_fingerprint: str


def lease_months(start: date, end: date) -> int:
    """Whole months a lease covers, its end day included (1 March to 28 February is 12)."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    while months > 0 and add_months(start, months, start.day) - timedelta(days=1) > end:
        months -= 1
    return max(months, 0)


Rule = Callable[[ApplicationFacts, EligibilityRules], RuleResult]


def _fmt(minor: int, like: Money) -> str:
    return str(from_minor(minor, str(like.currency.code)))


def rule_legal_maximum(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    months = r.legal_max_months.get(f.jurisdiction)
    if months is None:
        return RuleResult(
            "legal_maximum",
            Outcome.REVIEW,
            f"no legal maximum is configured for {f.jurisdiction}; check the law",
        )
    limit = to_minor(f.monthly_rent) * months
    if to_minor(f.deposit) > limit:
        return RuleResult(
            "legal_maximum",
            Outcome.FAIL,
            f"the deposit {f.deposit} is more than the legal maximum of {months} "
            f"months' rent ({_fmt(limit, f.deposit)}) in {f.jurisdiction}",
        )
    return RuleResult("legal_maximum", Outcome.PASS, f"the deposit is within {months} months' rent")


def rule_fund_cap(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    if to_minor(f.deposit) > r.fund_cap_minor:
        return RuleResult(
            "fund_cap", Outcome.FAIL, f"the fund lends at most {_fmt(r.fund_cap_minor, f.deposit)}"
        )
    return RuleResult("fund_cap", Outcome.PASS, "the amount is within the fund's cap")


def rule_no_other_loan(f: ApplicationFacts, _r: EligibilityRules) -> RuleResult:
    if f.other_open_loans:
        return RuleResult(
            "no_other_loan", Outcome.FAIL, "the person already has a loan that is not repaid"
        )
    if f.past_write_offs:
        return RuleResult(
            "no_other_loan",
            Outcome.REVIEW,
            "an earlier loan of this person was written off; a supervisor decides",
        )
    return RuleResult("no_other_loan", Outcome.PASS, "no other loan is open")


def rule_public_alternatives(f: ApplicationFacts, _r: EligibilityRules) -> RuleResult:
    if f.public_alternatives is PublicAlternatives.NOT_TRIED:
        return RuleResult(
            "public_alternatives",
            Outcome.REVIEW,
            "public guarantee schemes (CPAS, housing fund) were not tried yet",
        )
    return RuleResult(
        "public_alternatives",
        Outcome.PASS,
        "public schemes were tried or are not open to this person",
    )


def rule_savings(f: ApplicationFacts, _r: EligibilityRules) -> RuleResult:
    if f.own_savings is None:
        return RuleResult("own_savings", Outcome.REVIEW, "own savings were not recorded")
    if to_minor(f.own_savings) >= to_minor(f.deposit):
        return RuleResult(
            "own_savings", Outcome.FAIL, f"own savings of {f.own_savings} cover the deposit"
        )
    return RuleResult("own_savings", Outcome.PASS, "own savings do not cover the deposit")


def rule_affordability(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    if f.monthly_net_income is None or to_minor(f.monthly_net_income) <= 0:
        return RuleResult("affordability", Outcome.REVIEW, "monthly net income was not recorded")
    limit = Decimal(to_minor(f.monthly_net_income)) * r.max_income_share_percent / 100
    if to_minor(f.installment) > limit:
        return RuleResult(
            "affordability",
            Outcome.FAIL,
            f"the installment {f.installment} is more than "
            f"{r.max_income_share_percent}% of the monthly income",
        )
    return RuleResult(
        "affordability",
        Outcome.PASS,
        f"the installment is within {r.max_income_share_percent}% of income",
    )


def rule_permit(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    if not r.require_valid_permit:
        return RuleResult("residence_permit", Outcome.PASS, "the fund does not check permits")
    if not f.has_permit_status:
        return RuleResult("residence_permit", Outcome.REVIEW, "residence status was not recorded")
    if f.permit_end is not None and f.permit_end < f.decision_date:
        return RuleResult(
            "residence_permit", Outcome.FAIL, f"the residence permit ended on {f.permit_end}"
        )
    return RuleResult("residence_permit", Outcome.PASS, "the residence permit is valid")


def rule_lease_length(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    if f.lease_end is None:
        return RuleResult("lease_length", Outcome.PASS, "the lease has no end date")
    months = lease_months(f.lease_start, f.lease_end)
    if months < r.min_lease_months:
        return RuleResult(
            "lease_length",
            Outcome.FAIL,
            f"the lease runs {months} months; at least {r.min_lease_months} needed",
        )
    return RuleResult("lease_length", Outcome.PASS, f"the lease runs {months} months")


def rule_duration(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    limit = r.max_months
    why = f"the fund's maximum of {r.max_months} months"
    if f.lease_end is not None:
        lease = lease_months(f.lease_start, f.lease_end)
        if lease < limit:
            limit, why = lease, f"the lease's {lease} months"
    if f.installments > limit:
        return RuleResult(
            "duration", Outcome.FAIL, f"{f.installments} installments are more than {why}"
        )
    return RuleResult("duration", Outcome.PASS, f"{f.installments} installments are within {why}")


def rule_minimum_installment(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    if f.installments > 1 and to_minor(f.installment) < r.min_installment_minor:
        return RuleResult(
            "minimum_installment",
            Outcome.FAIL,
            f"the installment {f.installment} is below the fund's minimum of "
            f"{_fmt(r.min_installment_minor, f.installment)}",
        )
    return RuleResult("minimum_installment", Outcome.PASS, "the installment meets the minimum")


def rule_cash(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    free = to_minor(f.available_cash) - r.cash_reserve_minor
    if to_minor(f.deposit) > free:
        return RuleResult(
            "fund_cash",
            Outcome.FAIL,
            f"the fund has {_fmt(max(free, 0), f.deposit)} free to lend after its "
            f"reserve of {_fmt(r.cash_reserve_minor, f.deposit)}",
        )
    return RuleResult("fund_cash", Outcome.PASS, "the fund has the cash")


#: Rules whose reasons quote the person's own figures (savings, income, the permit's end date):
#: shown only to roles that may see personal data (``Permission.PERSONAL_READ``).
PERSONAL_RULES = frozenset({"own_savings", "affordability", "residence_permit"})

DEFAULT_RULES: tuple[Rule, ...] = (
    rule_legal_maximum,
    rule_fund_cap,
    rule_no_other_loan,
    rule_public_alternatives,
    rule_savings,
    rule_affordability,
    rule_permit,
    rule_lease_length,
    rule_duration,
    rule_minimum_installment,
    rule_cash,
)


def decide(
    facts: ApplicationFacts, rules: EligibilityRules, checks: tuple[Rule, ...] = DEFAULT_RULES
) -> Decision:
    results = tuple(check(facts, rules) for check in checks)
    outcomes = {r.outcome for r in results}
    overall = (
        Outcome.FAIL
        if Outcome.FAIL in outcomes
        else Outcome.REVIEW
        if Outcome.REVIEW in outcomes
        else Outcome.PASS
    )
    return Decision(overall, results, rules.version, rules.fingerprint)
