"""Payment QR payloads, field by field against EPC069-12 (v2.1) and the Swiss QR-bill (0200)."""

from __future__ import annotations

import re

import pytest
from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.ch import esr

from ledger.documents.payment_qr import (
    epc_payload,
    epc_svg,
    swiss_payload,
    swiss_qr_bill,
    swiss_qr_svg,
)
from ledger.domain.errors import ValidationError
from ledger.domain.money import money
from ledger.domain.references import ogm_reference, qrr_reference, rf_reference
from tests.support.documents import fund_chf, fund_eur

# EPC069-12: the elements in their order, one per line.
EPC_FIELDS = (
    "service_tag",
    "version",
    "charset",
    "identification",
    "bic",
    "name",
    "iban",
    "amount",
    "purpose",
    "structured_reference",
    "unstructured_text",
    "information",
)


def epc_fields(payload: str) -> dict[str, str]:
    lines = payload.split("\n")
    assert len(lines) <= len(EPC_FIELDS)
    return dict(zip(EPC_FIELDS, lines + [""] * (len(EPC_FIELDS) - len(lines)), strict=True))


def test_epc_payload_with_a_belgian_structured_communication() -> None:
    payload = epc_payload(fund_eur(), money("212.49", "EUR"), ogm_reference(1), "L000001")
    fields = epc_fields(payload)
    assert fields == {
        "service_tag": "BCD",
        "version": "002",
        "charset": "1",  # UTF-8
        "identification": "SCT",
        "bic": "GKCCBEBB",
        "name": "Fonds de garanties locatives ASBL",
        "iban": "BE71096123456769",
        "amount": "EUR212.49",
        "purpose": "",
        "structured_reference": "000000000101",  # the 12 digits, no +++ or slashes
        "unstructured_text": "",
        "information": "L000001",
    }
    assert ogm_vcs.is_valid(fields["structured_reference"])
    assert not payload.endswith("\n")


def test_epc_payload_with_an_rf_reference_and_no_amount_or_bic() -> None:
    payload = epc_payload(fund_eur(bic=None), None, rf_reference(7))
    fields = epc_fields(payload)
    assert fields["bic"] == ""  # optional in version 002 within the EEA
    assert fields["amount"] == ""  # the payer types it in
    assert iso11649.is_valid(fields["structured_reference"])
    assert payload.split("\n")[-1] == fields["structured_reference"]  # no trailing empty lines


def test_epc_name_is_cut_to_70_characters_and_the_payload_stays_within_331_bytes() -> None:
    fund = fund_eur(creditor_name="Fonds de garanties locatives pour les victimes " * 3)
    payload = epc_payload(fund, money("999999999.99", "EUR"), ogm_reference(1), "x" * 200)
    fields = epc_fields(payload)
    assert len(fields["name"]) == 70
    assert len(fields["information"]) == 70
    assert fields["amount"] == "EUR999999999.99"
    assert len(payload.encode("utf-8")) <= 331


@pytest.mark.parametrize(
    ("amount", "reference", "match"),
    [
        (money("10.00", "CHF"), ogm_reference(1), "euros"),
        (money("0.00", "EUR"), ogm_reference(1), "0.01"),
        (money("1000000000.00", "EUR"), ogm_reference(1), "0.01"),
        (money("10.00", "EUR"), qrr_reference(1), "QR reference"),
    ],
)
def test_epc_refuses_what_it_cannot_carry(amount: object, reference: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        epc_payload(fund_eur(), amount, reference)  # type: ignore[arg-type]


def test_epc_svg_is_a_qr_code_image() -> None:
    svg = epc_svg(epc_payload(fund_eur(), money("1.00", "EUR"), ogm_reference(1)))
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg


# Swiss Implementation Guidelines for the QR-bill, version 2.x: element order in the QR code.
SWISS_FIELDS = (
    "qr_type",
    "version",
    "coding",
    "account",
    "cr_address_type",
    "cr_name",
    "cr_street",
    "cr_house",
    "cr_postcode",
    "cr_town",
    "cr_country",
    *(f"ucr_{i}" for i in range(7)),
    "amount",
    "currency",
    *(f"ud_{i}" for i in range(7)),
    "reference_type",
    "reference",
    "message",
    "trailer",
)


def swiss_fields(payload: str) -> dict[str, str]:
    lines = payload.split("\r\n")
    return dict(zip(SWISS_FIELDS, lines, strict=True))


def test_swiss_payload_with_a_qr_reference_goes_to_the_qr_iban() -> None:
    fields = swiss_fields(swiss_payload(fund_chf(), money("212.49", "CHF"), qrr_reference(1), "L1"))
    assert fields["qr_type"] == "SPC"
    assert fields["version"] == "0200"
    assert fields["coding"] == "1"
    assert fields["account"] == "CH4431999123000889012"
    assert fields["cr_address_type"] == "S"  # structured address
    assert fields["cr_name"] == "Association Fonds de garantie"
    assert (fields["cr_postcode"], fields["cr_town"], fields["cr_country"]) == (
        "1003",
        "Lausanne",
        "CH",
    )
    assert (fields["amount"], fields["currency"]) == ("212.49", "CHF")
    assert fields["reference_type"] == "QRR"
    assert fields["reference"] == "000000000000000000000000011"
    assert len(fields["reference"]) == 27 and esr.is_valid(fields["reference"])
    assert fields["message"] == "L1"
    assert fields["trailer"] == "EPD"
    assert all(fields[f"ud_{i}"] == "" for i in range(7))  # no debtor: the payer fills it in


def test_swiss_payload_with_an_rf_reference_goes_to_the_ordinary_iban() -> None:
    fields = swiss_fields(swiss_payload(fund_chf(), money("70.80", "CHF"), rf_reference(1)))
    assert fields["account"] == "CH9300762011623852957"
    assert fields["reference_type"] == "SCOR"
    assert fields["reference"] == rf_reference(1).value


def test_swiss_payload_without_an_amount() -> None:
    fields = swiss_fields(swiss_payload(fund_chf(), None, qrr_reference(5)))
    assert (fields["amount"], fields["currency"]) == ("", "CHF")


def test_a_qr_reference_without_a_qr_iban_is_refused() -> None:
    with pytest.raises(ValidationError, match="QR-IBAN"):
        swiss_payload(fund_chf(qr_iban=None), money("1.00", "CHF"), qrr_reference(1))


def test_the_qr_bill_in_the_payers_language() -> None:
    bill = swiss_qr_bill(fund_chf(), money("1234.50", "CHF"), qrr_reference(1), "L1", "fr-CH")
    assert bill.language == "fr"
    assert bill.label("Payment part") == "Section paiement"
    assert bill.label("Receipt") == "Récépissé"
    assert bill.account == "CH44 3199 9123 0008 8901 2"
    assert bill.reference == "00 00000 00000 00000 00000 00011"
    assert bill.amount == "1 234.50" and bill.currency == "CHF"
    assert bill.creditor == ("Association Fonds de garantie", "Rue de Bourg 1", "1003 Lausanne")
    # a language the QR-bill has no headings in: English ones
    other = swiss_qr_bill(fund_chf(), None, rf_reference(1), "", "ti")
    assert other.language == "en" and other.label("Payment part") == "Payment part"
    assert other.amount is None and other.reference == "RF74 0000 0000 01"


def test_the_swiss_qr_code_is_46_mm_with_the_cross_in_its_middle() -> None:
    svg = swiss_qr_svg(swiss_payload(fund_chf(), money("1.00", "CHF"), qrr_reference(1)))
    assert 'width="46.0mm" height="46.0mm"' in svg
    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert view is not None and view.group(1) == view.group(2)
    modules = int(view.group(1))
    first = re.search(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', svg)
    assert first is not None
    x, y, size = (float(v) for v in first.groups())
    assert abs(size * 46 / modules - 7) < 1e-3  # 7 mm
    assert abs(x + size / 2 - modules / 2) < 1e-3 and abs(y + size / 2 - modules / 2) < 1e-3
