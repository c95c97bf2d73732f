"""A fund's lending policy: a value of its rules, read from its rules file."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.domain.eligibility import EligibilityRules
from ledger.domain.references import ReferenceKind
from ledger.domain.reminders import ReminderRules


@dataclass(frozen=True, slots=True)
class LoanPolicy:
    """A fund's lending settings."""

    rules: EligibilityRules = field(default_factory=EligibilityRules)
    reference_kind: ReferenceKind | None = None  # None: OGM for EUR, RF for other currencies
    qrr_prefix: str = ""
    #: The payment reminders' days and tone (``[reminders]``); None: the fund sends none.
    reminders: ReminderRules | None = None

    def kind_for(self, currency: str) -> ReferenceKind:
        if self.reference_kind is not None:
            return self.reference_kind
        return ReferenceKind.OGM if currency == "EUR" else ReferenceKind.RF
