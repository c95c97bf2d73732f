"""Eligibility rules: each default rule passes, fails or asks for review, with a readable reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.domain.eligibility import (
    DEFAULT_RULES,
    ApplicationFacts,
    EligibilityRules,
    Outcome,
    PublicAlternatives,
    RuleResult,
    decide,
    lease_months,
)
from ledger.domain.money import Money, money

# Amounts in reasons are written by py-moneyed in the process's locale, so the expected
# sentences are built with str(Money) too.
RULES = EligibilityRules()


def eur(text: str) -> Money:
    return money(text, "EUR")


def facts(**changes: Any) -> ApplicationFacts:
    """A Brussels application that passes every default rule; ``changes`` breaks one."""
    base = ApplicationFacts(
        deposit=eur("1700.00"),
        monthly_rent=eur("850.00"),
        jurisdiction="BE-BRU",
        lease_start=date(2026, 2, 1),
        lease_end=date(2029, 1, 31),
        installments=24,
        installment=eur("70.83"),
        monthly_net_income=eur("1400.00"),
        own_savings=eur("100.00"),
        permit_end=date(2028, 1, 1),
        has_permit_status=True,
        other_open_loans=0,
        past_write_offs=0,
        public_alternatives=PublicAlternatives.REFUSED,
        available_cash=eur("10000.00"),
        decision_date=date(2026, 1, 15),
    )
    return replace(base, **changes)


def result(f: ApplicationFacts, rule: str, rules: EligibilityRules = RULES) -> RuleResult:
    decision = decide(f, rules)
    [found] = [r for r in decision.results if r.rule == rule]
    return found


def test_the_base_application_passes_every_rule() -> None:
    decision = decide(facts(), RULES)
    assert decision.outcome is Outcome.PASS
    assert len(decision.results) == len(DEFAULT_RULES)
    assert all(r.outcome is Outcome.PASS for r in decision.results)
    assert all(r.reason for r in decision.results)
    assert decision.rules_version == RULES.version
    assert decision.rules_fingerprint == RULES.fingerprint


# -- legal maximum ---------------------------------------------------------------------------


def test_three_months_rent_in_brussels_fails() -> None:
    r = result(facts(deposit=eur("2550.00")), "legal_maximum")
    assert r.outcome is Outcome.FAIL
    assert r.reason == (
        f"the deposit {eur('2550.00')} is more than the legal maximum of 2 months' rent "
        f"({eur('1700.00')}) in BE-BRU"
    )


def test_three_months_rent_in_flanders_passes() -> None:
    r = result(facts(deposit=eur("2550.00"), jurisdiction="BE-VLG"), "legal_maximum")
    assert r.outcome is Outcome.PASS
    assert "3 months" in r.reason


@pytest.mark.parametrize(
    ("jurisdiction", "deposit", "outcome"),
    [
        ("BE-BRU", "1700.00", Outcome.PASS),  # exactly 2 months
        ("BE-BRU", "1700.01", Outcome.FAIL),
        ("BE-WAL", "1700.01", Outcome.FAIL),
        ("BE-VLG", "2550.00", Outcome.PASS),
        ("BE-VLG", "2550.01", Outcome.FAIL),
        ("CH", "2550.00", Outcome.PASS),
    ],
)
def test_legal_maximum_by_region(jurisdiction: str, deposit: str, outcome: Outcome) -> None:
    f = facts(deposit=eur(deposit), jurisdiction=jurisdiction)
    assert result(f, "legal_maximum").outcome is outcome


def test_unknown_jurisdiction_needs_review() -> None:
    r = result(facts(jurisdiction="FR-75"), "legal_maximum")
    assert r.outcome is Outcome.REVIEW
    assert "FR-75" in r.reason and "check the law" in r.reason


# -- fund cap, other loans, public alternatives, savings ------------------------------------


def test_fund_cap() -> None:
    f = facts(deposit=eur("3000.01"), monthly_rent=eur("1500.00"))
    r = result(f, "fund_cap")
    assert r.outcome is Outcome.FAIL
    assert r.reason == f"the fund lends at most {eur('3000.00')}"
    assert result(
        facts(deposit=eur("3000.00"), monthly_rent=eur("1500.00")), "fund_cap"
    ).outcome is (Outcome.PASS)
    richer = replace(RULES, fund_cap_minor=500_000)
    assert result(f, "fund_cap", richer).outcome is Outcome.PASS


def test_other_open_loan_fails() -> None:
    r = result(facts(other_open_loans=1), "no_other_loan")
    assert r.outcome is Outcome.FAIL
    assert "already has a loan" in r.reason


def test_past_write_off_needs_review() -> None:
    r = result(facts(past_write_offs=1), "no_other_loan")
    assert r.outcome is Outcome.REVIEW
    assert "written off" in r.reason


def test_open_loan_and_write_off_fails() -> None:
    assert result(facts(other_open_loans=1, past_write_offs=2), "no_other_loan").outcome is (
        Outcome.FAIL
    )


def test_public_alternatives_not_tried_needs_review() -> None:
    r = result(facts(public_alternatives=PublicAlternatives.NOT_TRIED), "public_alternatives")
    assert r.outcome is Outcome.REVIEW
    assert "CPAS" in r.reason
    f = facts(public_alternatives=PublicAlternatives.NOT_ACCESSIBLE)
    assert result(f, "public_alternatives").outcome is Outcome.PASS


@pytest.mark.parametrize(
    ("savings", "outcome"),
    [("1700.00", Outcome.FAIL), ("5000.00", Outcome.FAIL), ("1699.99", Outcome.PASS)],
)
def test_savings_that_cover_the_deposit_fail(savings: str, outcome: Outcome) -> None:
    r = result(facts(own_savings=eur(savings)), "own_savings")
    assert r.outcome is outcome
    if outcome is Outcome.FAIL:
        assert r.reason == f"own savings of {eur(savings)} cover the deposit"


def test_savings_not_recorded_need_review() -> None:
    assert result(facts(own_savings=None), "own_savings").outcome is Outcome.REVIEW


# -- affordability, permit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("installment", "outcome"),
    [("210.00", Outcome.PASS), ("210.01", Outcome.FAIL), ("70.83", Outcome.PASS)],
)
def test_installment_above_income_share_fails(installment: str, outcome: Outcome) -> None:
    # 15% of 1,400.00 is 210.00.
    r = result(facts(installment=eur(installment)), "affordability")
    assert r.outcome is outcome
    if outcome is Outcome.FAIL:
        assert "more than 15% of the monthly income" in r.reason


def test_income_share_is_configurable() -> None:
    f = facts(installment=eur("300.00"))
    generous = replace(RULES, max_income_share_percent=Decimal("25"))
    assert result(f, "affordability").outcome is Outcome.FAIL
    assert result(f, "affordability", generous).outcome is Outcome.PASS


@pytest.mark.parametrize("income", [None, "0.00"])
def test_income_not_recorded_needs_review(income: str | None) -> None:
    f = facts(monthly_net_income=eur(income) if income else None)
    assert result(f, "affordability").outcome is Outcome.REVIEW


def test_expired_permit_fails() -> None:
    r = result(facts(permit_end=date(2026, 1, 14)), "residence_permit")
    assert r.outcome is Outcome.FAIL
    assert r.reason == "the residence permit ended on 2026-01-14"
    # Valid through the decision day.
    assert result(facts(permit_end=date(2026, 1, 15)), "residence_permit").outcome is Outcome.PASS


def test_permit_without_end_passes_and_unknown_status_needs_review() -> None:
    assert result(facts(permit_end=None), "residence_permit").outcome is Outcome.PASS
    f = facts(has_permit_status=False, permit_end=None)
    assert result(f, "residence_permit").outcome is Outcome.REVIEW
    lax = replace(RULES, require_valid_permit=False)
    expired = facts(permit_end=date(2020, 1, 1))
    assert result(expired, "residence_permit", lax).outcome is Outcome.PASS


# -- lease and duration ----------------------------------------------------------------------


def test_lease_under_twelve_months_fails() -> None:
    f = facts(lease_end=date(2027, 1, 30), installments=11, installment=eur("154.55"))
    r = result(f, "lease_length")
    assert r.outcome is Outcome.FAIL
    assert r.reason == "the lease runs 11 months; at least 12 needed"
    twelve = facts(lease_end=date(2027, 1, 31), installments=12, installment=eur("141.67"))
    assert result(twelve, "lease_length").outcome is Outcome.PASS


def test_a_lease_over_before_the_decision_fails() -> None:
    r = result(facts(decision_date=date(2029, 2, 1)), "lease_length")
    assert (r.outcome, r.code) == (Outcome.FAIL, "ended")
    assert r.reason == (
        "the lease ended on 2029-01-31, before today (2029-02-01); record the current lease"
    )
    on_its_last_day = facts(decision_date=date(2029, 1, 31))
    assert result(on_its_last_day, "lease_length").outcome is Outcome.PASS


@pytest.mark.parametrize(
    ("first_due", "outcome"),
    [
        (date(2026, 1, 14), Outcome.FAIL),
        (date(2026, 1, 15), Outcome.FAIL),
        (date(2026, 1, 16), Outcome.PASS),
        (None, Outcome.PASS),
    ],
)
def test_a_first_due_date_not_after_the_decision_fails(
    first_due: date | None, outcome: Outcome
) -> None:
    r = result(facts(first_due=first_due), "first_due")
    assert r.outcome is outcome
    if outcome is Outcome.FAIL:
        assert r.reason == (
            f"the first installment would fall due on {first_due}, not after today "
            "(2026-01-15); choose a later first due date"
        )


def test_open_ended_lease_passes() -> None:
    assert result(facts(lease_end=None), "lease_length").outcome is Outcome.PASS


def test_duration_beyond_24_months_fails() -> None:
    r = result(facts(installments=25, installment=eur("68.00")), "duration")
    assert r.outcome is Outcome.FAIL
    assert r.reason == "25 installments are more than the fund's maximum of 24 months"
    r = result(facts(lease_end=None, installments=25, installment=eur("68.00")), "duration")
    assert r.outcome is Outcome.FAIL


def test_duration_beyond_the_lease_fails() -> None:
    f = facts(lease_end=date(2027, 7, 31), installments=20, installment=eur("85.00"))
    r = result(f, "duration")
    assert r.outcome is Outcome.FAIL
    assert r.reason == "20 installments are more than the lease's 18 months"
    ok = facts(lease_end=date(2027, 7, 31), installments=18, installment=eur("94.45"))
    assert result(ok, "duration").outcome is Outcome.PASS


def test_installment_under_minimum_fails() -> None:
    f = facts(installment=eur("19.99"))
    r = result(f, "minimum_installment")
    assert r.outcome is Outcome.FAIL
    assert r.reason == (
        f"the installment {eur('19.99')} is below the fund's minimum of {eur('20.00')}"
    )
    assert result(facts(installment=eur("20.00")), "minimum_installment").outcome is Outcome.PASS
    # Paying everything at once is never below the minimum.
    once = facts(installments=1, installment=eur("15.00"))
    assert result(once, "minimum_installment").outcome is Outcome.PASS


# -- the fund's cash -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cash", "outcome"),
    [("2700.00", Outcome.PASS), ("2699.99", Outcome.FAIL), ("500.00", Outcome.FAIL)],
)
def test_not_enough_cash_after_the_reserve_fails(cash: str, outcome: Outcome) -> None:
    # 1,700.00 to lend, 1,000.00 kept in reserve.
    r = result(facts(available_cash=eur(cash)), "fund_cash")
    assert r.outcome is outcome
    if cash == "500.00":
        assert r.reason == (
            f"the fund has {eur('0.00')} free to lend after its reserve of {eur('1000.00')}"
        )


# -- the overall decision --------------------------------------------------------------------


def test_any_fail_fails_and_review_without_fail_reviews() -> None:
    review = facts(public_alternatives=PublicAlternatives.NOT_TRIED)
    assert decide(review, RULES).outcome is Outcome.REVIEW
    both = replace(review, other_open_loans=1)
    decision = decide(both, RULES)
    assert decision.outcome is Outcome.FAIL
    assert {r.rule for r in decision.results if r.outcome is not Outcome.PASS} == {
        "public_alternatives",
        "no_other_loan",
    }


def test_fingerprint_names_the_settings() -> None:
    assert RULES.fingerprint == EligibilityRules().fingerprint
    assert replace(RULES, fund_cap_minor=1).fingerprint != RULES.fingerprint
    assert replace(RULES, legal_max_months={"BE-BRU": 3}).fingerprint != RULES.fingerprint
    # Not a float anywhere: 15 and 15.0 percent are the same setting, written exactly.
    assert replace(RULES, max_income_share_percent=Decimal("15")).fingerprint == RULES.fingerprint


def test_custom_rule_set() -> None:
    decision = decide(facts(other_open_loans=3), RULES, checks=DEFAULT_RULES[:2])
    assert decision.outcome is Outcome.PASS
    assert [r.rule for r in decision.results] == ["legal_maximum", "fund_cap"]


# -- lease months ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2026, 3, 1), date(2027, 2, 28), 12),
        (date(2026, 3, 1), date(2027, 2, 27), 11),
        (date(2026, 2, 1), date(2029, 1, 31), 36),
        (date(2026, 1, 15), date(2027, 1, 14), 12),
        (date(2026, 1, 15), date(2027, 1, 13), 11),
        (date(2026, 1, 31), date(2026, 2, 27), 1),
        (date(2026, 1, 31), date(2026, 2, 26), 0),
        (date(2028, 2, 29), date(2029, 2, 27), 12),
        (date(2026, 5, 10), date(2026, 5, 10), 0),
        (date(2026, 5, 10), date(2026, 4, 10), 0),
    ],
)
def test_lease_months(start: date, end: date, months: int) -> None:
    assert lease_months(start, end) == months
