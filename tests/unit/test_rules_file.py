"""A fund's lending rules from its TOML file: every key checked, every mistake named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.eligibility import DEFAULT_LEGAL_MAX_MONTHS, EligibilityRules
from ledger.domain.errors import ValidationError
from ledger.domain.policy import LoanPolicy
from ledger.domain.references import ReferenceKind
from ledger.domain.reminders import ReminderRules, Tone
from ledger.fund.rules_file import KEYS, load_policy, parse_policy

FULL = """
version = "fund-2027-01"
fund_cap = "2500.00"
cash_reserve = "750.50"
min_installment = "25"
max_months = 18
min_lease_months = 9
max_income_share_percent = "12.5"
require_valid_permit = false
reference_kind = "rf"

[legal_max_months]
"BE-BRU" = 3
"CH-GE" = 3
"""


def test_every_key_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(FULL, encoding="utf-8")
    policy = load_policy(path, "EUR")
    assert policy.rules == EligibilityRules(
        version="fund-2027-01",
        legal_max_months={**DEFAULT_LEGAL_MAX_MONTHS, "BE-BRU": 3, "CH-GE": 3},
        fund_cap_minor=250_000,
        max_months=18,
        min_lease_months=9,
        max_income_share_percent=Decimal("12.5"),
        min_installment_minor=2_500,
        cash_reserve_minor=75_050,
        require_valid_permit=False,
    )
    assert policy.reference_kind is ReferenceKind.RF
    assert policy.rules.fingerprint != EligibilityRules().fingerprint


def test_no_file_gives_the_defaults() -> None:
    assert load_policy(None, "EUR") == LoanPolicy()


def test_what_the_file_leaves_out_keeps_its_default() -> None:
    policy = parse_policy({"version": "only-the-name"}, "CHF")
    assert policy.rules == EligibilityRules(version="only-the-name")
    assert policy.reference_kind is None and policy.qrr_prefix == ""


def test_amounts_follow_the_currency_s_digits() -> None:
    assert parse_policy({"version": "v", "fund_cap": "300000"}, "JPY").rules.fund_cap_minor == (
        300_000
    )
    with pytest.raises(ValidationError, match="more than 0 decimals for JPY"):
        parse_policy({"version": "v", "fund_cap": "1.5"}, "JPY")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({}, "version is required"),
        ({"version": "   "}, "version is required"),
        ({"version": "v" * 65}, "version is required"),
        ({"version": "v", "fund_kap": "1.00"}, "fund_kap unknown; the keys are"),
        ({"version": "v", "fund_cap": 3000.0}, 'written as a string (e.g. "3000.0")'),
        ({"version": "v", "fund_cap": "3000.001"}, "more than 2 decimals for EUR"),
        ({"version": "v", "fund_cap": "-1"}, "cannot be negative"),
        ({"version": "v", "cash_reserve": "lots"}, "cash_reserve is not a number"),
        ({"version": "v", "cash_reserve": "NaN"}, "cash_reserve is not a number"),
        ({"version": "v", "min_installment": True}, "number written as a string"),
        ({"version": "v", "max_months": 0}, "max_months must be a whole number from 1 to 120"),
        ({"version": "v", "max_months": "24"}, "max_months must be a whole number"),
        ({"version": "v", "min_lease_months": 121}, "min_lease_months must be"),
        ({"version": "v", "max_income_share_percent": "0"}, "more than 0 and at most 100"),
        ({"version": "v", "max_income_share_percent": "101"}, "more than 0 and at most 100"),
        ({"version": "v", "require_valid_permit": "yes"}, "true or false"),
        ({"version": "v", "legal_max_months": {}}, "must be a table"),
        ({"version": "v", "legal_max_months": {"CH": 0}}, "legal_max_months.CH must be 1 to 12"),
        ({"version": "v", "reference_kind": "iban"}, "must be one of ogm, rf, qrr"),
        ({"version": "v", "qrr_prefix": "12a"}, "at most 10 digits"),
    ],
)
def test_a_mistake_is_named(data: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_policy(data, "EUR", source="rules.toml")
    assert words in err.value.detail
    assert err.value.detail.startswith("rules.toml: ")
    assert err.value.field == "rules_file"


def test_every_key_is_documented() -> None:
    import ledger.fund.rules_file as module

    assert module.__doc__ is not None
    for key in KEYS:
        assert f"{key} = " in module.__doc__ or f"[{key}]" in module.__doc__, key


def test_an_unreadable_or_broken_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read the rules file"):
        load_policy(tmp_path / "missing.toml", "EUR")
    broken = tmp_path / "broken.toml"
    broken.write_text('version = "v"\nfund_cap = \n', encoding="utf-8")
    with pytest.raises(ValidationError, match="is not valid TOML"):
        load_policy(broken, "EUR")


REMINDERS = """
version = "v"

[reminders]
before_due_days = 3
late_days = 7
formal_notice_days = 21
tone = "neutral"
"""


def test_the_reminders_table_sets_the_days_and_the_tone(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(REMINDERS, encoding="utf-8")
    reminders = load_policy(path, "EUR").reminders
    assert reminders == ReminderRules(
        before_due_days=3, late_days=7, formal_notice_days=21, tone=Tone.NEUTRAL
    )
    assert isinstance(reminders.tone, Tone)


def test_without_the_table_no_reminder_is_sent_and_an_empty_one_keeps_the_defaults() -> None:
    assert parse_policy({"version": "v"}, "EUR").reminders is None
    assert parse_policy({"version": "v", "reminders": {}}, "EUR").reminders == ReminderRules()
    assert ReminderRules() == ReminderRules(5, 10, 30, Tone.FRIENDLY)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        (3, "reminders must be a table"),
        ({"late_dayz": 3}, "reminders.late_dayz unknown; the keys are before_due_days"),
        ({"before_due_days": -1}, "reminders.before_due_days must be a whole number from 0 to 28"),
        ({"before_due_days": 29}, "reminders.before_due_days must be a whole number from 0 to 28"),
        ({"late_days": 0}, "reminders.late_days must be a whole number from 1 to 364"),
        ({"late_days": "10"}, "reminders.late_days must be a whole number"),
        ({"late_days": 10.0}, "reminders.late_days must be a whole number"),
        ({"late_days": True}, "reminders.late_days must be a whole number"),
        ({"formal_notice_days": 366}, "reminders.formal_notice_days must be a whole number"),
        (
            {"late_days": 30, "formal_notice_days": 30},
            "reminders.formal_notice_days (30) must be more than late_days (30)",
        ),
        ({"tone": "angry"}, "reminders.tone must be one of friendly, neutral, not 'angry'"),
    ],
)
def test_a_mistake_in_the_reminders_is_named(table: object, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_policy({"version": "v", "reminders": table}, "EUR", source="rules.toml")
    assert words in err.value.detail
    assert err.value.detail.startswith("rules.toml: ")
    assert err.value.field == "rules_file"


def test_the_reference_kind_follows_the_funds_accounts() -> None:
    assert LoanPolicy().kind_for("EUR") is ReferenceKind.OGM
    assert LoanPolicy().kind_for("CHF") is ReferenceKind.RF
    assert LoanPolicy(qr_iban=True).kind_for("CHF") is ReferenceKind.QRR  # docs/loans.md
    assert LoanPolicy(qr_iban=True).kind_for("EUR") is ReferenceKind.OGM
    chosen = parse_policy({"version": "v", "reference_kind": "rf"}, "CHF", qr_iban=True)
    assert chosen.kind_for("CHF") is ReferenceKind.RF  # the fund's choice stands
    assert load_policy(None, "CHF", qr_iban=True).kind_for("CHF") is ReferenceKind.QRR
    with pytest.raises(ValidationError, match="FUNDLEDGER_FUND_QR_IBAN"):
        parse_policy({"version": "v", "reference_kind": "qrr"}, "CHF")
