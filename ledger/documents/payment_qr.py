"""Payment QR codes a banking app can scan: EPC069-12 (SEPA, EUR) and the Swiss QR-bill (CHF).

EPC069-12 ("SEPA credit transfer QR", version 002, UTF-8, error correction M): lines
BCD / 002 / 1 / SCT / BIC (optional in the EEA) / beneficiary name / IBAN / EUR amount /
purpose / structured reference / unstructured text / beneficiary-to-originator information;
the structured reference and the unstructured text exclude each other.

The Belgian structured communication (OGM/VCS) has no field of its own in EPC069-12. As Belgian
banks do when they print or read such codes, its 12 digits (no ``+++`` or slashes) go into the
*structured* reference field, which banking apps then fill in as a structured communication; an
ISO 11649 ``RF`` reference goes there too. See docs/documents.md.

Swiss QR-bill (Swiss Payment Standards, implementation guidelines for the QR-bill, version 2.3;
data version 0200): the QR code's text is built and checked with ``qrbill``; it is paid to the
QR-IBAN with a QR reference (QRR), or to an ordinary IBAN with an RF creditor reference (SCOR),
never a QR-IBAN with anything but a QR reference (``FundInfo.account_for``). The receipt and
payment part are laid out by the schedule's template (``schedule.html``, ``print.css``) from
``SwissBill``: the figures of the guidelines are in ``QR_BILL_MM``, the QR code and its Swiss
cross are drawn here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import segno
from qrbill import QRBill
from qrbill.bill import LABELS
from stdnum import iso11649

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


def _qr_bill(
    fund: FundInfo, amount: Money | None, reference: PaymentReference, info: str
) -> tuple[QRBill, str]:
    """The bill (its QR code's text) and the message printed under "Additional information"."""
    currency = str(amount.currency.code) if amount is not None else "CHF"
    account = fund.account_for(reference)  # refuses a QR-IBAN without a QR reference, and back
    ref: str | None = None
    if reference.kind in (ReferenceKind.QRR, ReferenceKind.RF):
        ref = reference.value
    else:  # an OGM has no place in a QR-bill: it travels as the unstructured message
        info = f"{reference.display} {info}".strip()
    street = ", ".join(fund.address_lines)
    bill = QRBill(
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
        language="en",
    )
    return bill, info[:140]


def swiss_payload(
    fund: FundInfo, amount: Money | None, reference: PaymentReference, info: str = ""
) -> str:
    """The text of the Swiss QR code (SPC / 0200 / ...), lines separated by CR LF."""
    return str(_qr_bill(fund, amount, reference, info)[0].qr_data())


#: The payment part with receipt (implementation guidelines for the QR-bill, 3.4 to 3.7), in
#: millimetres from its top left corner; it is 210 x 105 mm at the foot of an A4 page.
QR_BILL_MM = {
    "width": 210.0,
    "height": 105.0,
    "top_on_a4": 297.0 - 105.0,  # 192: the horizontal separation line
    "receipt_width": 62.0,
    "payment_width": 148.0,
    "margin": 5.0,  # inside each part
    "qr_left": 62.0 + 5.0,  # the Swiss QR code: left column of the payment part, under the title
    "qr_top": 5.0 + 7.0 + 5.0,  # margin, title section (7 mm), quiet space (5 mm)
    "qr_size": 46.0,
    "cross_size": 7.0,
}
#: Font sizes (pt), Liberation Sans (one of the four fonts allowed), black, never italic.
QR_BILL_PT = {"title": 11, "payment_heading": 8, "payment_value": 10, "receipt_heading": 6}
QR_BILL_PT["receipt_value"] = 8


@dataclass(frozen=True, slots=True)
class SwissBill:
    """What the receipt and the payment part print, in one of the QR-bill's languages."""

    language: str  # de, fr, it or en
    labels: dict[str, str]  # the guidelines' headings (Annex D), English keys
    account: str  # IBAN or QR-IBAN, in groups of four
    creditor: tuple[str, ...]  # name, street, postcode and town
    reference: str  # QRR in groups of five from the right, SCOR in groups of four; or ""
    information: str  # the unstructured message
    currency: str
    amount: str | None  # "1 234.50"; None: a box for the payer to write it in
    qr_svg: str  # the Swiss QR code, 46 x 46 mm, with the Swiss cross

    def label(self, english: str) -> str:
        return self.labels[english]


def _bill_language(language: str) -> str:
    code = language.split("-")[0].lower()
    return code if code in QR_BILL_LANGUAGES else "en"


def _amount_display(amount: Money) -> str:
    """Thousands separated by a space, two decimals, a full stop (guidelines 3.5.3)."""
    return format(amount.amount.quantize(Decimal("0.01")), ",.2f").replace(",", " ")


def _reference_display(reference: PaymentReference) -> str:
    if reference.kind is ReferenceKind.QRR:
        return reference.display  # 2 digits, then groups of five
    if reference.kind is ReferenceKind.RF:
        return str(iso11649.format(reference.value))
    return ""


def swiss_qr_svg(payload: str) -> str:
    """The Swiss QR code: error correction M, 46 x 46 mm without quiet zone, the Swiss cross
    (7 x 7 mm: a white square, a black square and its white cross) over its centre."""
    qr = segno.make(payload, error="m", boost_error=False, micro=False, encoding="utf-8")
    modules = qr.symbol_size(border=0)[0]
    runs = []
    for y, row in enumerate(qr.matrix):
        x = 0
        while x < modules:
            if row[x] & 1:
                start = x
                while x < modules and row[x] & 1:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    mm = QR_BILL_MM["qr_size"]
    unit = modules / mm  # modules per millimetre
    cross = QR_BILL_MM["cross_size"] * unit
    corner = (modules - cross) / 2
    inset = 0.5 * unit  # the black square inside the white one
    black = cross - 2 * inset
    arm, span = black * 6 / 32, black * 20 / 32  # the Swiss flag's proportions
    centre = modules / 2

    def num(value: float) -> str:
        return f"{value:.4f}".rstrip("0").rstrip(".")

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{mm}mm" height="{mm}mm" '
        f'viewBox="0 0 {modules} {modules}" shape-rendering="crispEdges">'
        f'<path fill="#000" d="{"".join(runs)}"/>'
        f'<rect x="{num(corner)}" y="{num(corner)}" width="{num(cross)}" height="{num(cross)}" '
        'fill="#fff"/>'
        f'<rect x="{num(corner + inset)}" y="{num(corner + inset)}" width="{num(black)}" '
        f'height="{num(black)}" fill="#000"/>'
        f'<rect x="{num(centre - arm / 2)}" y="{num(centre - span / 2)}" width="{num(arm)}" '
        f'height="{num(span)}" fill="#fff"/>'
        f'<rect x="{num(centre - span / 2)}" y="{num(centre - arm / 2)}" width="{num(span)}" '
        f'height="{num(arm)}" fill="#fff"/>'
        "</svg>"
    )


def swiss_qr_bill(
    fund: FundInfo,
    amount: Money | None,
    reference: PaymentReference,
    info: str = "",
    language: str = "en",
) -> SwissBill:
    """The receipt and payment part of a QR-bill paying ``amount`` (None: the payer writes it)."""
    bill, information = _qr_bill(fund, amount, reference, info)
    lang = _bill_language(language)
    labels = {english: (LABELS[english].get(lang, english)) for english in LABELS}
    town = f"{fund.postcode} {fund.city}".strip()
    if fund.country not in ("CH", "LI"):
        town = f"{fund.country}-{town}"
    creditor = tuple(
        line for line in (fund.creditor_name[:70], ", ".join(fund.address_lines)[:70], town) if line
    )
    return SwissBill(
        language=lang,
        labels=labels,
        account=" ".join(bill.account[i : i + 4] for i in range(0, len(bill.account), 4)),
        creditor=creditor,
        reference=_reference_display(reference),
        information=information,
        currency=bill.currency,
        amount=_amount_display(amount) if amount is not None else None,
        qr_svg=swiss_qr_svg(str(bill.qr_data())),
    )


def blank_field_svg(width: float, height: float) -> str:
    """A field for the payer to write in (the amount, their name and address): corner marks
    only, 0.75 pt black, ``width`` x ``height`` mm (guidelines 3.5.3)."""
    arm_x, arm_y, line = 3.0, 2.0, 0.26  # mm
    h = line / 2
    marks = (
        f"M{h} {arm_y}V{h}H{arm_x}",
        f"M{width - arm_x} {h}H{width - h}V{arm_y}",
        f"M{h} {height - arm_y}V{height - h}H{arm_x}",
        f"M{width - arm_x} {height - h}H{width - h}V{height - arm_y}",
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {width} {height}"><path fill="none" stroke="#000" '
        f'stroke-width="{line}" d="{" ".join(marks)}"/></svg>'
    )
