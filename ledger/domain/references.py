"""Payment references that let a bank transfer find its loan by itself.

- Belgian structured communication (OGM/VCS), for EUR funds: ``+++DDD/DDDD/DDDCC+++``, the ten
  digits being the loan number and CC their remainder mod 97 (97 for 0).
- ISO 11649 creditor reference ``RF`` + 2 check digits + the loan number, for CHF funds with an
  ordinary IBAN (and any other fund).
- Swiss QR reference (QRR), 26 digits + a mod-10 recursive check digit, for CHF funds with a
  QR-IBAN. All 27 digits are kept (python-stdnum's ``compact`` would drop leading zeros).

Generation and validation go through python-stdnum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.ch import esr
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.iso7064 import mod_97_10

from ledger.domain.errors import ValidationError

MAX_LOAN_NUMBER = 9_999_999_999
#: A QR-IBAN is a Swiss or Liechtenstein IBAN whose institution id (IID, its digits 5 to 9)
#: lies in 30000-31999; it is paid only with a QR reference, and a QR reference only to it.
QR_IID = range(30000, 32000)


def is_qr_iban(iban: str) -> bool:
    """Whether ``iban`` (electronic form, no spaces) is a QR-IBAN."""
    iid = iban[4:9]
    return iban[:2] in ("CH", "LI") and iid.isdigit() and int(iid) in QR_IID


class ReferenceKind(StrEnum):
    OGM = "ogm"  # Belgian structured communication
    RF = "rf"  # ISO 11649 creditor reference
    QRR = "qrr"  # Swiss QR reference


@dataclass(frozen=True, slots=True)
class PaymentReference:
    kind: ReferenceKind
    value: str  # machine form: 12 digits, RF..., or 27 digits

    @property
    def display(self) -> str:
        """How the beneficiary writes it on the transfer."""
        if self.kind is ReferenceKind.OGM:
            return f"+++{ogm_vcs.format(self.value)}+++"
        if self.kind is ReferenceKind.RF:
            return str(iso11649.format(self.value))
        v = self.value
        return f"{v[:2]} {' '.join(v[i : i + 5] for i in range(2, 27, 5))}"


def _check_number(loan_number: int) -> None:
    if isinstance(loan_number, bool) or not isinstance(loan_number, int):
        raise TypeError("loan number must be an int")
    if not 1 <= loan_number <= MAX_LOAN_NUMBER:
        raise ValidationError(f"loan number must be between 1 and {MAX_LOAN_NUMBER}", "loan")


def ogm_reference(loan_number: int) -> PaymentReference:
    _check_number(loan_number)
    base = f"{loan_number:010d}"
    return PaymentReference(ReferenceKind.OGM, base + ogm_vcs.calc_check_digits(base))


def rf_reference(loan_number: int) -> PaymentReference:
    _check_number(loan_number)
    body = f"{loan_number:010d}"
    check = mod_97_10.calc_check_digits(body + "RF")
    return PaymentReference(ReferenceKind.RF, f"RF{check}{body}")


def qrr_reference(loan_number: int, customer_prefix: str = "") -> PaymentReference:
    """``customer_prefix``: digits some banks require at the start (up to 16)."""
    _check_number(loan_number)
    if not re.fullmatch(r"\d{0,16}", customer_prefix):
        raise ValidationError("QR reference prefix must be up to 16 digits", "qrr_prefix")
    base = customer_prefix + f"{loan_number:010d}".rjust(26 - len(customer_prefix), "0")
    return PaymentReference(ReferenceKind.QRR, base + esr.calc_check_digit(base))


def reference_for(kind: ReferenceKind, loan_number: int, qrr_prefix: str = "") -> PaymentReference:
    if kind is ReferenceKind.OGM:
        return ogm_reference(loan_number)
    if kind is ReferenceKind.RF:
        return rf_reference(loan_number)
    return qrr_reference(loan_number, qrr_prefix)


def parse_reference(text: str) -> PaymentReference:
    """Validate a reference typed by a person or found in a bank file; refuse a wrong one."""
    if not isinstance(text, str):
        raise ValidationError("a payment reference must be text", "reference")
    raw = text.strip().replace("*", "+")
    compact = re.sub(r"[\s+/.-]", "", raw).upper()
    try:
        if compact.startswith("RF"):
            return PaymentReference(ReferenceKind.RF, iso11649.validate(compact))
        if len(compact) == 12 and compact.isdigit():
            return PaymentReference(ReferenceKind.OGM, ogm_vcs.validate(compact))
        if len(compact) == 27 and compact.isdigit():
            esr.validate(compact)
            return PaymentReference(ReferenceKind.QRR, compact)
    except StdnumError as exc:
        raise ValidationError(
            f"payment reference {text!r} is not valid ({exc}); check it for a typing error",
            "reference",
        ) from None
    raise ValidationError(
        f"{text!r} is not a payment reference: expected +++123/4567/89012+++, RF.. or 27 digits",
        "reference",
    )


_FREE_TEXT = re.compile(
    r"(?:[+*]{3}\s*\d{3}\s*/\s*\d{4}\s*/\s*\d{5}\s*[+*]{3})"
    r"|(?:\bRF\d{2}(?:\s?[0-9A-Z]{1,4}){1,6}\b)"
    r"|(?:\b\d{12}\b)|(?:\b\d{27}\b)|(?:\b\d{2}(?:\s\d{5}){5}\b)",
    re.IGNORECASE,
)


def find_reference(text: str) -> PaymentReference | None:
    """The first valid reference in free text (a bank's unstructured remittance line)."""
    for match in _FREE_TEXT.finditer(text or ""):
        for candidate in _candidates(match.group(0)):
            try:
                return parse_reference(candidate)
            except ValidationError:
                continue
    return None


def _candidates(found: str) -> list[str]:
    """An RF match may run on into the words that follow it ("RF74 0000 0000 01 thanks"):
    try it whole, then without its last words, one at a time."""
    if found[:2].upper() != "RF":
        return [found]
    words = found.split()
    return [" ".join(words[:end]) for end in range(len(words), 0, -1)]
