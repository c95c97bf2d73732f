"""Reading a fund's lending rules from a TOML file (``FUNDLEDGER_RULES_FILE``).

Every key but ``version`` is optional; what the file leaves out keeps the default of
``ledger.domain.eligibility.EligibilityRules``. Amounts are written as strings in the fund's
currency, never as TOML floats (a float cannot hold 0.10 exactly).

```toml
version = "fund-2027-01"        # required: stored with every eligibility decision
fund_cap = "3000.00"            # the largest loan
cash_reserve = "1000.00"        # kept back for refunds and charges; not lent
min_installment = "20.00"
max_months = 24                 # longest repayment
min_lease_months = 12
max_income_share_percent = "15" # installment at most this share of the monthly net income
require_valid_permit = true
reference_kind = "ogm"          # ogm, rf or qrr; default: ogm for EUR, qrr for CHF with a
                                # QR-IBAN (FUNDLEDGER_FUND_QR_IBAN), rf for the others
qrr_prefix = ""                 # digits put before the loan number in a QR reference

[legal_max_months]              # deposit at most this many months of rent; added to the
"BE-BRU" = 2                    # defaults (BE-BRU 2, BE-WAL 2, BE-VLG 3, CH 3), replacing
"CH" = 3                        # those named again

[reminders]                     # payment reminders (docs/reminders.md); none without this table
before_due_days = 5             # a friendly word this many days before a due date (0-28; 0: none)
late_days = 10                  # a reminder once this many days late (1 to 364)
formal_notice_days = 30         # the formal notice once this many days late (more than late_days)
tone = "friendly"               # friendly or neutral: how the e-mails and letters sound
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

from ledger.domain.eligibility import DEFAULT_LEGAL_MAX_MONTHS, EligibilityRules
from ledger.domain.errors import ValidationError
from ledger.domain.money import minor_digits
from ledger.domain.policy import LoanPolicy
from ledger.domain.references import ReferenceKind
from ledger.domain.reminders import ReminderRules

FIELD = "rules_file"
AMOUNTS = {
    "fund_cap": "fund_cap_minor",
    "cash_reserve": "cash_reserve_minor",
    "min_installment": "min_installment_minor",
}
COUNTS = {"max_months": (1, 120), "min_lease_months": (0, 120)}
KEYS = {
    "version",
    *AMOUNTS,
    *COUNTS,
    "max_income_share_percent",
    "require_valid_permit",
    "legal_max_months",
    "reference_kind",
    "qrr_prefix",
    "reminders",
}
REMINDER_KEYS = ("before_due_days", "late_days", "formal_notice_days", "tone")


def load_policy(path: Path | None, currency: str, *, qr_iban: bool = False) -> LoanPolicy:
    """The fund's lending policy: the file's, or the defaults when no file is named.
    ``qr_iban``: the fund's profile has a QR-IBAN (CHF loans then get QR references)."""
    if path is None:
        return LoanPolicy(qr_iban=qr_iban)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read the rules file {path}: {exc}", FIELD) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"the rules file {path} is not valid TOML: {exc}", FIELD) from None
    return parse_policy(data, currency, source=str(path), qr_iban=qr_iban)


def parse_policy(
    data: dict[str, Any], currency: str, *, source: str = "rules", qr_iban: bool = False
) -> LoanPolicy:
    def bad(key: str, what: str) -> ValidationError:
        return ValidationError(f"{source}: {key} {what}", FIELD)

    unknown = set(data) - KEYS
    if unknown:
        raise bad(", ".join(sorted(unknown)), f"unknown; the keys are {', '.join(sorted(KEYS))}")
    version = data.get("version")
    if not isinstance(version, str) or not 1 <= len(version.strip()) <= 64:
        raise bad(
            "version",
            "is required: a name of up to 64 characters for this set of rules, stored with "
            'every eligibility decision (e.g. version = "fund-2027-01")',
        )
    rules: dict[str, Any] = {"version": version.strip()}
    rules.update(_numbers(data, currency, bad))
    rules.update(_conditions(data, bad))
    kind = None
    if "reference_kind" in data:
        try:
            kind = ReferenceKind(data["reference_kind"])
        except ValueError:
            choices = ", ".join(k.value for k in ReferenceKind)
            raise bad("reference_kind", f"must be one of {choices}") from None
    prefix = data.get("qrr_prefix", "")
    if not isinstance(prefix, str) or not (prefix == "" or prefix.isdigit()) or len(prefix) > 10:
        raise bad("qrr_prefix", "must be a string of at most 10 digits")
    if kind is ReferenceKind.QRR and not qr_iban:
        raise bad(
            "reference_kind",
            '"qrr" needs the fund\'s QR-IBAN (a QR reference is paid to a QR-IBAN only): set '
            'FUNDLEDGER_FUND_QR_IBAN, or choose "rf"',
        )
    return LoanPolicy(
        rules=EligibilityRules(**rules),
        reference_kind=kind,
        qrr_prefix=prefix,
        reminders=_reminders(data, bad, source),
        qr_iban=qr_iban,
    )


def _reminders(
    data: dict[str, Any], bad: Callable[[str, str], ValidationError], source: str
) -> ReminderRules | None:
    """The ``[reminders]`` table, checked; None when the file has none (no reminders)."""
    if "reminders" not in data:
        return None
    table = data["reminders"]
    if not isinstance(table, dict):
        raise bad("reminders", "must be a table: [reminders] with late_days = 10 and so on")
    unknown = set(table) - set(REMINDER_KEYS)
    if unknown:
        keys = ", ".join(f"reminders.{k}" for k in sorted(unknown))
        raise bad(keys, f"unknown; the keys are {', '.join(REMINDER_KEYS)}")
    try:
        return ReminderRules(**table)
    except ValidationError as exc:  # names the key and why: "reminders.late_days must be..."
        raise ValidationError(f"{source}: {exc.detail}", FIELD) from None


def _numbers(
    data: dict[str, Any], currency: str, bad: Callable[[str, str], ValidationError]
) -> dict[str, Any]:
    """The amounts and counts the file sets, checked."""
    rules: dict[str, Any] = {}
    for key, attribute in AMOUNTS.items():
        if key in data:
            rules[attribute] = _minor(data[key], currency, partial(bad, key))
    for key, (low, high) in COUNTS.items():
        if key in data:
            value = data[key]
            if type(value) is not int or not low <= value <= high:
                raise bad(key, f"must be a whole number from {low} to {high}, not {value!r}")
            rules[key] = value
    return rules


def _conditions(data: dict[str, Any], bad: Callable[[str, str], ValidationError]) -> dict[str, Any]:
    """The income share, the permit rule and the legal maximums the file sets, checked."""
    rules: dict[str, Any] = {}
    if "max_income_share_percent" in data:
        share = _decimal(
            data["max_income_share_percent"], lambda w: bad("max_income_share_percent", w)
        )
        if not Decimal(0) < share <= Decimal(100):
            raise bad("max_income_share_percent", "must be more than 0 and at most 100")
        rules["max_income_share_percent"] = share
    if "require_valid_permit" in data:
        if not isinstance(data["require_valid_permit"], bool):
            raise bad("require_valid_permit", "must be true or false")
        rules["require_valid_permit"] = data["require_valid_permit"]
    if "legal_max_months" in data:
        table = data["legal_max_months"]
        if not isinstance(table, dict) or not table:
            raise bad("legal_max_months", 'must be a table such as [legal_max_months] "CH" = 3')
        merged = dict(DEFAULT_LEGAL_MAX_MONTHS)
        for place, months in table.items():
            if type(months) is not int or not 1 <= months <= 12:
                raise bad(f"legal_max_months.{place}", f"must be 1 to 12 months, not {months!r}")
            merged[place] = months
        rules["legal_max_months"] = merged
    return rules


Refusal = Callable[[str], ValidationError]


def _decimal(value: Any, bad: Refusal) -> Decimal:
    if isinstance(value, float):
        raise bad(f'must be written as a string (e.g. "{value}"), not as a TOML float')
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise bad(f"must be a number written as a string, not {value!r}")
    try:
        number = Decimal(value) if isinstance(value, int) else Decimal(value.strip())
    except InvalidOperation:
        raise bad(f"is not a number: {value!r}") from None
    if not number.is_finite():
        raise bad(f"is not a number: {value!r}")
    return number


def _minor(value: Any, currency: str, bad: Refusal) -> int:
    amount = _decimal(value, bad)
    digits = minor_digits(currency)
    minor = amount.scaleb(digits)
    if minor != minor.to_integral_value():
        raise bad(f"has more than {digits} decimals for {currency}: {value!r}")
    if minor < 0:
        raise bad(f"cannot be negative: {value!r}")
    return int(minor)
