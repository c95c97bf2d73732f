"""Eligibility of a loan application: configurable, versioned rules with readable reasons.

Each rule looks at the facts of one application and says pass, fail or needs review, with a
sentence a caseworker can read out to the person. The decision keeps the facts, the rules'
version and every result, so it can be explained later even after the rules change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ledger.domain.errors import ValidationError
from ledger.domain.money import Money, from_minor, money, to_minor
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
    decision_date: date  # the fund's today (in its time zone) when the rules ran
    first_due: date | None = None  # the schedule's first due date (None: not recorded)


#: A figure a rule's reason quotes: an amount, a count, a percentage, a date or a code.
Value = Money | int | Decimal | date | str


@dataclass(frozen=True, slots=True)
class RuleResult:
    """A rule's outcome, its reason in English (stored with the decision), and the same reason
    as data for the screens to word in each language: ``code`` names which of the rule's
    cases it is, ``values`` the figures it quotes."""

    rule: str
    outcome: Outcome
    reason: str
    code: str = ""
    values: Mapping[str, Value] = field(default_factory=dict, compare=False)


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


def _money(minor: int, like: Money) -> Money:
    return from_minor(minor, str(like.currency.code))


def _fmt(minor: int, like: Money) -> str:
    return str(_money(minor, like))


def rule_legal_maximum(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    months = r.legal_max_months.get(f.jurisdiction)
    if months is None:
        return RuleResult(
            "legal_maximum",
            Outcome.REVIEW,
            f"no legal maximum is configured for {f.jurisdiction}; check the law",
            "unknown",
            {"jurisdiction": f.jurisdiction},
        )
    limit = to_minor(f.monthly_rent) * months
    if to_minor(f.deposit) > limit:
        return RuleResult(
            "legal_maximum",
            Outcome.FAIL,
            f"the deposit {f.deposit} is more than the legal maximum of {months} "
            f"months' rent ({_fmt(limit, f.deposit)}) in {f.jurisdiction}",
            "over",
            {
                "deposit": f.deposit,
                "months": months,
                "limit": _money(limit, f.deposit),
                "jurisdiction": f.jurisdiction,
            },
        )
    return RuleResult(
        "legal_maximum",
        Outcome.PASS,
        f"the deposit is within {months} months' rent",
        "within",
        {"months": months, "jurisdiction": f.jurisdiction},
    )


def rule_fund_cap(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    if to_minor(f.deposit) > r.fund_cap_minor:
        return RuleResult(
            "fund_cap",
            Outcome.FAIL,
            f"the fund lends at most {_fmt(r.fund_cap_minor, f.deposit)}",
            "over",
            {"cap": _money(r.fund_cap_minor, f.deposit)},
        )
    return RuleResult(
        "fund_cap",
        Outcome.PASS,
        "the amount is within the fund's cap",
        "within",
        {"cap": _money(r.fund_cap_minor, f.deposit)},
    )


def rule_no_other_loan(f: ApplicationFacts, _r: EligibilityRules) -> RuleResult:
    if f.other_open_loans:
        return RuleResult(
            "no_other_loan",
            Outcome.FAIL,
            "the person already has a loan that is not repaid",
            "open_loan",
        )
    if f.past_write_offs:
        return RuleResult(
            "no_other_loan",
            Outcome.REVIEW,
            "an earlier loan of this person was written off; a supervisor decides",
            "written_off",
        )
    return RuleResult("no_other_loan", Outcome.PASS, "no other loan is open", "none")


def rule_public_alternatives(f: ApplicationFacts, _r: EligibilityRules) -> RuleResult:
    if f.public_alternatives is PublicAlternatives.NOT_TRIED:
        return RuleResult(
            "public_alternatives",
            Outcome.REVIEW,
            "public guarantee schemes (CPAS, housing fund) were not tried yet",
            "not_tried",
        )
    return RuleResult(
        "public_alternatives",
        Outcome.PASS,
        "public schemes were tried or are not open to this person",
        "tried",
    )


def rule_savings(f: ApplicationFacts, _r: EligibilityRules) -> RuleResult:
    if f.own_savings is None:
        return RuleResult("own_savings", Outcome.REVIEW, "own savings were not recorded", "unknown")
    if to_minor(f.own_savings) >= to_minor(f.deposit):
        return RuleResult(
            "own_savings",
            Outcome.FAIL,
            f"own savings of {f.own_savings} cover the deposit",
            "cover",
            {"savings": f.own_savings},
        )
    return RuleResult("own_savings", Outcome.PASS, "own savings do not cover the deposit", "short")


def rule_affordability(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    share = r.max_income_share_percent
    if f.monthly_net_income is None or to_minor(f.monthly_net_income) <= 0:
        return RuleResult(
            "affordability", Outcome.REVIEW, "monthly net income was not recorded", "unknown"
        )
    limit = Decimal(to_minor(f.monthly_net_income)) * share / 100
    if to_minor(f.installment) > limit:
        return RuleResult(
            "affordability",
            Outcome.FAIL,
            f"the installment {f.installment} is more than {share}% of the monthly income",
            "over",
            {"installment": f.installment, "percent": share},
        )
    return RuleResult(
        "affordability",
        Outcome.PASS,
        f"the installment is within {share}% of income",
        "within",
        {"installment": f.installment, "percent": share},
    )


def rule_permit(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    if not r.require_valid_permit:
        return RuleResult(
            "residence_permit", Outcome.PASS, "the fund does not check permits", "not_checked"
        )
    if not f.has_permit_status:
        return RuleResult(
            "residence_permit", Outcome.REVIEW, "residence status was not recorded", "unknown"
        )
    if f.permit_end is not None and f.permit_end < f.decision_date:
        return RuleResult(
            "residence_permit",
            Outcome.FAIL,
            f"the residence permit ended on {f.permit_end}",
            "ended",
            {"end": f.permit_end},
        )
    return RuleResult("residence_permit", Outcome.PASS, "the residence permit is valid", "valid")


def rule_lease_length(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    if f.lease_end is None:
        return RuleResult("lease_length", Outcome.PASS, "the lease has no end date", "open")
    if f.lease_end < f.decision_date:
        # A deposit for a lease that is over protects no home: the fund would lend for nothing.
        return RuleResult(
            "lease_length",
            Outcome.FAIL,
            f"the lease ended on {f.lease_end}, before today ({f.decision_date}); "
            "record the current lease",
            "ended",
            {"end": f.lease_end, "today": f.decision_date},
        )
    months = lease_months(f.lease_start, f.lease_end)
    if months < r.min_lease_months:
        return RuleResult(
            "lease_length",
            Outcome.FAIL,
            f"the lease runs {months} months; at least {r.min_lease_months} needed",
            "short",
            {"months": months, "minimum": r.min_lease_months},
        )
    return RuleResult(
        "lease_length",
        Outcome.PASS,
        f"the lease runs {months} months",
        "long_enough",
        {"months": months},
    )


def rule_first_due(f: ApplicationFacts, _r: EligibilityRules) -> RuleResult:
    """The first installment falls due after the day the rules run: a schedule that starts in
    the past makes the loan late the day it is paid out."""
    if f.first_due is None or f.first_due > f.decision_date:
        return RuleResult(
            "first_due",
            Outcome.PASS,
            "the first installment falls due after today",
            "ahead",
            {} if f.first_due is None else {"first_due": f.first_due},
        )
    return RuleResult(
        "first_due",
        Outcome.FAIL,
        f"the first installment would fall due on {f.first_due}, not after today "
        f"({f.decision_date}); choose a later first due date",
        "past",
        {"first_due": f.first_due, "today": f.decision_date},
    )


def rule_duration(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    limit, by = r.max_months, "fund"
    why = f"the fund's maximum of {r.max_months} months"
    if f.lease_end is not None:
        lease = lease_months(f.lease_start, f.lease_end)
        if lease < limit:
            limit, by, why = lease, "lease", f"the lease's {lease} months"
    values: dict[str, Value] = {"installments": f.installments, "months": limit}
    if f.installments > limit:
        return RuleResult(
            "duration",
            Outcome.FAIL,
            f"{f.installments} installments are more than {why}",
            f"over_{by}",
            values,
        )
    return RuleResult(
        "duration",
        Outcome.PASS,
        f"{f.installments} installments are within {why}",
        f"within_{by}",
        values,
    )


def rule_minimum_installment(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    minimum = _money(r.min_installment_minor, f.installment)
    if f.installments > 1 and to_minor(f.installment) < r.min_installment_minor:
        return RuleResult(
            "minimum_installment",
            Outcome.FAIL,
            f"the installment {f.installment} is below the fund's minimum of "
            f"{_fmt(r.min_installment_minor, f.installment)}",
            "below",
            {"installment": f.installment, "minimum": minimum},
        )
    return RuleResult(
        "minimum_installment",
        Outcome.PASS,
        "the installment meets the minimum",
        "enough",
        {"installment": f.installment, "minimum": minimum},
    )


def rule_cash(f: ApplicationFacts, r: EligibilityRules) -> RuleResult:
    free = to_minor(f.available_cash) - r.cash_reserve_minor
    if to_minor(f.deposit) > free:
        return RuleResult(
            "fund_cash",
            Outcome.FAIL,
            f"the fund has {_fmt(max(free, 0), f.deposit)} free to lend after its "
            f"reserve of {_fmt(r.cash_reserve_minor, f.deposit)}",
            "short",
            {
                "free": _money(max(free, 0), f.deposit),
                "reserve": _money(r.cash_reserve_minor, f.deposit),
            },
        )
    return RuleResult("fund_cash", Outcome.PASS, "the fund has the cash", "enough")


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
    rule_first_due,
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


def facts_from_record(recorded: Mapping[str, Any], currency: str) -> ApplicationFacts | None:
    """The facts of a stored decision, read back from what was recorded with it (amounts as
    decimal strings in the loan's currency, dates as ISO text); None when they cannot be
    (erased, withheld, or recorded otherwise). With the same rules (the same fingerprint),
    ``decide`` on them gives the stored decision again, each reason with its figures."""

    def amount(name: str) -> Money:
        return money(str(recorded[name]), currency)

    def maybe_amount(name: str) -> Money | None:
        return None if recorded[name] is None else amount(name)

    def day(name: str) -> date:
        return date.fromisoformat(str(recorded[name]))

    def maybe_day(name: str) -> date | None:
        return None if recorded[name] is None else day(name)

    def count(name: str) -> int:
        value = recorded[name]
        if not isinstance(value, int):
            raise TypeError(name)
        return value

    try:
        return ApplicationFacts(
            deposit=amount("deposit"),
            monthly_rent=amount("monthly_rent"),
            jurisdiction=str(recorded["jurisdiction"]),
            lease_start=day("lease_start"),
            lease_end=maybe_day("lease_end"),
            installments=count("installments"),
            installment=amount("installment"),
            monthly_net_income=maybe_amount("monthly_net_income"),
            own_savings=maybe_amount("own_savings"),
            permit_end=maybe_day("permit_end"),
            has_permit_status=bool(recorded["has_permit_status"]),
            other_open_loans=count("other_open_loans"),
            past_write_offs=count("past_write_offs"),
            public_alternatives=PublicAlternatives(str(recorded["public_alternatives"])),
            available_cash=amount("available_cash"),
            decision_date=day("decision_date"),
            first_due=maybe_day("first_due") if "first_due" in recorded else None,
        )
    except (KeyError, ValueError, ArithmeticError, TypeError, ValidationError):
        return None
