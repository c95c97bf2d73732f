"""Payment QR codes a banking app can scan: EPC069-12 (SEPA, EUR) and the Swiss QR-bill (CHF).

EPC069-12 ("SEPA credit transfer QR", version 002, UTF-8, error correction M): lines
BCD / 002 / 1 / SCT / BIC (optional in the EEA) / beneficiary name / IBAN / EUR amount /
purpose / structured reference / unstructured text / beneficiary-to-originator information;
the structured reference and the unstructured text exclude each other.

The Belgian structured communication (OGM/VCS) has no field of its own in EPC069-12. As Belgian
banks do when they print or read such codes, its 12 digits (no ``+++`` or slashes) go into the
*structured* reference field, which banking apps then fill in as a structured communication; an
ISO 11649 ``RF`` reference goes there too. See docs/documents.md.

Swiss QR-bill (SIX implementation guidelines, version 0200): built with ``qrbill``, paid to the
QR-IBAN with a QR reference (QRR), or to an ordinary IBAN with an RF creditor reference (SCOR).
"""

from __future__ import annotations

import io
from decimal import Decimal

import segno
from qrbill import QRBill

from ledger.documents.model import FundInfo
from ledger.domain.errors import ValidationError
from ledger.domain.money import Money
from ledger.domain.references import PaymentReference, ReferenceKind

EPC_MAX_BYTES = 331
EPC_MIN = Decimal("0.01")
EPC_MAX = Decimal("999999999.99")
QR_BILL_LANGUAGES = ("de", "fr", "it", "en")


def _amount_text(amount: Money) -> str:
    return format(amount.amount.quantize(Decimal("0.01")), "f")


def epc_payload(
    fund: FundInfo, amount: Money | None, reference: PaymentReference, info: str = ""
) -> str:
    """The text of an EPC069-12 QR code paying ``amount`` (None: the payer types it in)."""
    if amount is not None and amount.currency.code != "EUR":
        raise ValidationError("an EPC QR code pays euros only", field="currency")
    if reference.kind is ReferenceKind.QRR:
        raise ValidationError("a Swiss QR reference cannot be paid by SEPA QR", "reference")
    amount_field = ""
    if amount is not None:
        if not EPC_MIN <= amount.amount <= EPC_MAX:
            raise ValidationError(
                f"an EPC QR code carries 0.01 to {EPC_MAX} EUR, not {amount.amount}", "amount"
            )
        amount_field = f"EUR{_amount_text(amount)}"
    lines = [
        "BCD",
        "002",
        "1",  # UTF-8
        "SCT",
        fund.bic or "",
        fund.creditor_name[:70],
        fund.iban,
        amount_field,
        "",  # purpose code
        reference.value,  # structured: OGM digits or RF reference
        "",  # unstructured remittance: excluded by the structured reference
        info[:70],
    ]
    while not lines[-1]:
        lines.pop()
    payload = "\n".join(lines)
    if len(payload.encode("utf-8")) > EPC_MAX_BYTES:
        raise ValidationError("the EPC QR payload is longer than 331 bytes", field="fund_name")
    return payload


def epc_svg(payload: str) -> str:
    """The QR code as an SVG document (error correction M, no boost, as the EPC requires)."""
    qr = segno.make(payload, error="m", boost_error=False, micro=False, encoding="utf-8")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, nl=False)
    return out.getvalue().decode("utf-8")


class _QRBill(QRBill):  # type: ignore[misc]
    # The fonts the SIX style guide allows; Liberation Sans ships in contracts/fonts.
    font_family = "Liberation Sans,Arial,Helvetica"


def _qr_bill(
    fund: FundInfo, amount: Money | None, reference: PaymentReference, info: str, language: str
) -> QRBill:
    currency = str(amount.currency.code) if amount is not None else "CHF"
    ref: str | None = None
    account = fund.iban
    if reference.kind is ReferenceKind.QRR:
        account, ref = fund.account_for(reference), reference.value
    elif reference.kind is ReferenceKind.RF:
        ref = reference.value
    else:  # an OGM has no place in a QR-bill: it travels as the unstructured message
        info = f"{reference.display} {info}".strip()
    street = ", ".join(fund.address_lines)
    return _QRBill(
        account=account,
        creditor={
            "name": fund.creditor_name[:70],
            "street": street[:70],
            "pcode": fund.postcode[:16],
            "city": fund.city[:35],
            "country": fund.country,
        },
        amount=_amount_text(amount) if amount is not None else None,
        currency=currency,
        reference_number=ref,
        additional_information=info[:140],
        language=language if language in QR_BILL_LANGUAGES else "en",
    )


def swiss_payload(
    fund: FundInfo, amount: Money | None, reference: PaymentReference, info: str = ""
) -> str:
    """The text of the Swiss QR code (SPC / 0200 / ...), lines separated by CR LF."""
    return str(_qr_bill(fund, amount, reference, info, "en").qr_data())


def swiss_qr_bill_svg(
    fund: FundInfo,
    amount: Money | None,
    reference: PaymentReference,
    info: str = "",
    language: str = "en",
) -> str:
    """The QR-bill's receipt and payment part (210 x 105 mm) as an SVG document."""
    bill = _qr_bill(fund, amount, reference, info, language)
    out = io.StringIO()
    bill.as_svg(out)
    return out.getvalue()
