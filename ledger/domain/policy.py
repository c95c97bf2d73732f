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
    #: None: OGM for EUR; for CHF a QR reference when the fund has a QR-IBAN, else RF; RF for
    #: other currencies.
    reference_kind: ReferenceKind | None = None
    qrr_prefix: str = ""
    #: The payment reminders' days and tone (``[reminders]``); None: the fund sends none.
    reminders: ReminderRules | None = None
    qr_iban: bool = False  # the fund's profile has a QR-IBAN (FUNDLEDGER_FUND_QR_IBAN)

    def kind_for(self, currency: str) -> ReferenceKind:
        """The kind of reference a new loan in ``currency`` gets (it keeps it for life)."""
        if self.reference_kind is not None:
            return self.reference_kind
        if currency == "EUR":
            return ReferenceKind.OGM
        if currency == "CHF" and self.qr_iban:
            return ReferenceKind.QRR
        return ReferenceKind.RF
