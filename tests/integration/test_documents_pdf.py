"""Rendered contracts and schedules: read back from the PDF (text, fonts, QR codes, PDF/A)."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import replace

import pypdfium2 as pdfium
import pytest
import zxingcpp
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from ledger.documents.i18n import Translator
from ledger.documents.render import Rendered, render_contract, render_schedule, render_schedule_html
from ledger.domain.money import money
from ledger.domain.references import rf_reference
from tests.support.documents import contract, fund_chf, schedule

LANGUAGES = ("fr", "nl", "en", "de")


def text_of(pdf: bytes) -> str:
    """All the text, with every kind of space made one plain space."""
    reader = PdfReader(io.BytesIO(pdf))
    raw = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(raw.replace("\u202f", " ").replace("\xa0", " ").split())


def pages_of(pdf: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def norm(value: str) -> str:
    return " ".join(value.replace("\u202f", " ").replace("\xa0", " ").split())


def fonts_of(pdf: bytes) -> dict[str, bool]:
    """Font name -> whether its program is embedded, for every font on every page."""
    reader = PdfReader(io.BytesIO(pdf))
    found: dict[str, bool] = {}

    def visit(resources: object) -> None:
        res = resources.get_object() if resources is not None else {}  # type: ignore[attr-defined]
        for font in res.get("/Font", {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor", {})
            found[str(font["/BaseFont"])] = any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
            )
        for xobject in res.get("/XObject", {}).values():
            visit(xobject.get_object().get("/Resources"))

    for page in reader.pages:
        visit(page.get("/Resources"))
    return found


def qr_codes(pdf: bytes, page: int) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[page].render(scale=3).to_pil()
    finally:
        document.close()
    return [r.text for r in zxingcpp.read_barcodes(image)]


@pytest.fixture(scope="module")
def contracts() -> dict[str, Rendered]:
    return {lang: render_contract(contract(lang)) for lang in LANGUAGES}


@pytest.fixture(scope="module")
def schedules() -> dict[str, Rendered]:
    return {lang: render_schedule(schedule(lang)) for lang in LANGUAGES}


# -- wording, amounts, dates and reference in each language ----------------------------------

CONTRACT_TEXTS = {
    "fr": (
        "Contrat de prêt sans intérêt pour une garantie locative",
        "Le fonds prête à l'emprunteur 1 700,00 €",
        "du 5 février 2026 au 5 janvier 2028",
        "Loyer mensuel 850,00 €",
        "Code bruxellois du Logement, art. 248",
        "Fait à Bruxelles le 10 janvier 2026",
    ),
    "nl": (
        "Overeenkomst van renteloze lening voor een huurwaarborg",
        "Het fonds leent de lener € 1.700,00",
        "van 5 februari 2026 tot 5 januari 2028",
        "Maandelijkse huur € 850,00",
        "Brusselse Huisvestingscode, art. 248",
        "Opgemaakt te Bruxelles op 10 januari 2026",
    ),
    "en": (
        "Interest-free loan agreement for a rental deposit",
        "The fund lends the borrower 1.700,00 €",
        "from 5 February 2026 to 5 January 2028",
        "Monthly rent 850,00 €",
        "Done at Bruxelles on 10 January 2026",
    ),
    "de": (
        "Vertrag über ein zinsloses Darlehen für eine Mietkaution",
        "Der Fonds leiht der darlehensnehmenden Person 1.700,00 €",
        "vom 5. Februar 2026 bis zum 5. Januar 2028",
        "Monatliche Miete 850,00 €",
        "Ausgefertigt in Bruxelles am 10. Januar 2026",
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_contract_text_in_each_language(contracts: dict[str, Rendered], language: str) -> None:
    rendered = contracts[language]
    assert (rendered.language, rendered.missing) == (language, ())
    text = text_of(rendered.pdf)
    for expected in CONTRACT_TEXTS[language]:
        assert expected in text, expected
    assert "+++000/0000/00101+++" in text
    assert "BE71 0961 2345 6769" in text
    assert "Amina Haddad" in text
    assert "Immo Exemple SRL" in text and "Rue Fictive 10, 1000 Bruxelles" in text


def amount(language: str, value: str, currency: str = "EUR", country: str = "BE") -> str:
    """``value`` (``1234.50``) as the reader's locale prints it (tests/unit/test_documents_i18n.py
    proves that formatting), spaces normalised like the extracted text."""
    return norm(Translator(language, country).money(money(value, currency)))


def test_swiss_contract_in_german_pays_the_qr_iban_with_the_qr_reference() -> None:
    rendered = render_contract(contract("de-CH", chf=True))
    assert (rendered.language, rendered.missing) == ("de", ())
    text = text_of(rendered.pdf)
    assert (
        f"Der Fonds leiht der darlehensnehmenden Person {amount('de-CH', '1700', 'CHF', 'CH')}"
        in norm(text)
    )
    assert "Schweiz – Obligationenrecht, Art. 257e" in text
    assert "CH44 3199 9123 0008 8901 2" in text  # the QR-IBAN, not the ordinary IBAN
    assert "00 00000 00000 00000 00000 00011" in text
    assert "Ausgefertigt in Lausanne am 10. Januar 2026" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_contract_annex_lists_every_installment(
    contracts: dict[str, Rendered], language: str
) -> None:
    last_page = norm(pages_of(contracts[language].pdf)[-1])
    assert last_page.count(amount(language, "70.83")) == 23
    assert amount(language, "70.91") in last_page
    assert amount(language, "1700.00") in last_page


SCHEDULE_TEXTS = {
    "fr": ("Votre plan de remboursement", "Merci de payer 212,49 € au plus tard le 5 juillet 2026"),
    "nl": ("Uw aflossingsplan", "Gelieve € 212,49 te betalen uiterlijk op 5 juli 2026"),
    "en": ("Your repayment schedule", "Please pay 212,49 € by 5 July 2026"),
    "de": ("Ihr Tilgungsplan", "Bitte zahlen Sie 212,49 € bis spätestens 5. Juli 2026"),
}
OWED = {"fr": "1 487,51 €", "nl": "€ 1.487,51", "en": "1.487,51 €", "de": "1.487,51 €"}
LATE = {"fr": "141,66 €", "nl": "€ 141,66", "en": "141,66 €", "de": "141,66 €"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_schedule_text_in_each_language(schedules: dict[str, Rendered], language: str) -> None:
    rendered = schedules[language]
    assert (rendered.language, rendered.missing) == (language, ())
    text = text_of(rendered.pdf)
    for expected in SCHEDULE_TEXTS[language]:
        assert expected in text, expected
    assert OWED[language] in text
    assert LATE[language] in text
    assert "+++000/0000/00101+++" in text
    assert "BE71 0961 2345 6769" in text
    assert "+32 2 000 00 00" in text and "fonds@example.org" in text


def test_page_numbers_and_footer_on_every_page(contracts: dict[str, Rendered]) -> None:
    pages = pages_of(contracts["fr"].pdf)
    assert len(pages) >= 2
    for number, page in enumerate(pages, 1):
        assert f"Page {number} / {len(pages)}" in page
        assert "Contrat C-L000001 · version 1" in page


# -- fallback --------------------------------------------------------------------------------


def test_unknown_language_falls_back_to_english_and_is_reported() -> None:
    rendered = render_contract(contract("am", name="ሰላም ተስፋይ"))
    assert rendered.language == "en"
    assert rendered.requested_language == "am"
    assert rendered.fell_back
    assert "contract.title" in rendered.missing
    text = text_of(rendered.pdf)
    assert "Interest-free loan agreement for a rental deposit" in text
    assert "ሰላም ተስፋይ" in text


@pytest.mark.parametrize(
    ("legal", "says"), [("fr", "Ce plan est en français"), ("de", "Dieser Plan ist auf Deutsch")]
)
def test_a_schedule_in_a_language_without_a_catalog_is_in_the_legal_language_and_says_so(
    legal: str, says: str
) -> None:
    data = schedule("ti", name="ሰላም ተስፋይ")
    data = replace(data, fund=replace(data.fund, legal_language=legal))
    rendered = render_schedule(data)
    assert (rendered.language, rendered.requested_language, rendered.fell_back) == (
        legal,
        "ti",
        True,
    )
    assert rendered.missing == ()  # every message in the legal language: never English
    text = text_of(rendered.pdf)
    assert says in text and ("tigrigna" in text or "Tigrinya" in text)
    assert "Your repayment schedule" not in text
    page = render_schedule_html(data)
    assert f'<html lang="{legal}"' in page and 'class="notice untranslated"' in page
    # A language with its catalog says nothing of the kind.
    assert "Ce plan est en" not in text_of(render_schedule(schedule("fr")).pdf)


def test_a_known_language_does_not_report_a_fallback(contracts: dict[str, Rendered]) -> None:
    assert not contracts["fr"].fell_back
    assert contracts["fr"].requested_language == "fr"


# -- names in any script, fonts embedded -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "font"),
    [
        ("فاطمة الزهراء", "FundLedger-Arabic"),
        ("پریسا کریمی", "FundLedger-Arabic"),  # Persian letters (پ, ی)
        ("Анна Петровна Иванова", "FundLedger-Sans"),
        ("ሰላም ተስፋይ", "FundLedger-Ethiopic"),
        ("Nguyễn Thị Ánh", "FundLedger-Sans"),
        ("Ελένη Παπαδοπούλου", "FundLedger-Sans"),
        ("สมชาย ใจดี", "FundLedger-Thai"),
        ("王小明", "FundLedger-Chinese"),
    ],
)
def test_names_in_any_script_print_with_an_embedded_font(name: str, font: str) -> None:
    rendered = render_schedule(schedule("en", name=name))
    assert name in text_of(rendered.pdf)
    fonts = fonts_of(rendered.pdf)
    assert any(font in f for f in fonts), fonts
    assert all(fonts.values()), f"every font is embedded: {fonts}"
    assert all("FundLedger" in f for f in fonts), f"no system font slipped in: {fonts}"


def test_every_font_is_embedded(contracts: dict[str, Rendered]) -> None:
    fonts = fonts_of(contracts["de"].pdf)
    assert fonts and all(fonts.values())
    assert all("FundLedger" in f for f in fonts)  # no system font slipped in


# -- long landlord names and addresses -------------------------------------------------------


def test_very_long_landlord_and_address_wrap_inside_the_page() -> None:
    landlord = "Société Immobilière " + "Tresbienvenue" * 30 + " et " + "Grandchamp " * 60
    address = "Avenue " + "X" * 400 + " 1000 Bruxelles"
    name = "Mariam" + "Abdelrahman" * 17 + " ناصر"  # 200 characters, hardly a space
    rendered = render_contract(contract("nl", name=name, landlord=landlord, address=address))
    document = pdfium.PdfDocument(rendered.pdf)
    try:
        assert len(document) <= 5
        for page in document:
            width = page.get_width()
            textpage = page.get_textpage()
            for i in range(textpage.count_chars()):
                left, _, right, _ = textpage.get_charbox(i)
                assert left >= 0 and right <= width, "text runs off the page"
    finally:
        document.close()
    text = text_of(rendered.pdf)  # the row may break across pages: count the pieces
    assert "Fonds de garanties locatives" in text
    assert text.count("Tresbienvenue") == 30
    assert text.count("Grandchamp") == 60
    squeezed = re.sub(r"\s", "", text)
    assert "X" * 400 + "1000Bruxelles" in squeezed
    assert squeezed.count("Mariam" + "Abdelrahman" * 17) == 2  # parties, signature block


# -- same inputs, same bytes; PDF/A ----------------------------------------------------------


def test_same_inputs_give_the_same_bytes(contracts: dict[str, Rendered]) -> None:
    again = render_contract(contract("fr"))
    assert again.pdf == contracts["fr"].pdf
    assert again.sha256 == contracts["fr"].sha256 == hashlib.sha256(again.pdf).hexdigest()
    assert render_contract(contract("fr", version=2)).sha256 != again.sha256


def test_schedule_bytes_are_reproducible(schedules: dict[str, Rendered]) -> None:
    assert render_schedule(schedule("nl")).sha256 == schedules["nl"].sha256


def test_pdf_a_3b_markers(contracts: dict[str, Rendered]) -> None:
    reader = PdfReader(io.BytesIO(contracts["en"].pdf))
    xmp = reader.xmp_metadata
    assert xmp is not None
    raw = xmp.stream.get_data().decode()
    assert re.search(r'pdfaid:part(="|>)3', raw)
    assert re.search(r'pdfaid:conformance(="|>)B', raw)
    root = reader.trailer["/Root"]
    assert isinstance(root, DictionaryObject) and "/OutputIntents" in root
    info = reader.metadata
    assert info is not None and info.get("/CreationDate", "").startswith("D:20260110")


# -- payment QR codes ------------------------------------------------------------------------


def test_schedule_epc_qr_code_decodes_to_the_payment(schedules: dict[str, Rendered]) -> None:
    (payload,) = qr_codes(schedules["fr"].pdf, 0)
    lines = payload.split("\n")
    assert lines[:4] == ["BCD", "002", "1", "SCT"]
    assert lines[4] == "GKCCBEBB"
    assert lines[5] == "Fonds de garanties locatives ASBL"
    assert lines[6] == "BE71096123456769"
    assert lines[7] == "EUR212.49"  # 141.66 late + 70.83 due on 5 July
    assert lines[8] == ""
    assert lines[9] == "000000000101"
    assert lines[10] == ""
    assert lines[11] == "L000001"


def test_swiss_schedule_carries_a_qr_bill() -> None:
    rendered = render_schedule(schedule("de", chf=True))
    pages = len(PdfReader(io.BytesIO(rendered.pdf)).pages)
    (payload,) = qr_codes(rendered.pdf, pages - 1)
    lines = payload.split("\r\n")
    assert lines[:3] == ["SPC", "0200", "1"]
    assert lines[3] == "CH4431999123000889012"  # the QR-IBAN
    assert lines[18:20] == ["212.49", "CHF"]
    assert lines[27:29] == ["QRR", "000000000000000000000000011"]
    assert lines[-1] == "EPD"
    text = text_of(rendered.pdf)
    assert "Zahlteil" in text and "Empfangsschein" in text
    assert "CHF 212.49" in text
    assert all(fonts_of(rendered.pdf).values())


def test_swiss_fund_without_qr_iban_pays_with_an_rf_reference() -> None:
    data = replace(schedule("fr", chf=True), fund=fund_chf(qr_iban=None), reference=rf_reference(1))
    rendered = render_schedule(data)
    pages = len(PdfReader(io.BytesIO(rendered.pdf)).pages)
    (payload,) = qr_codes(rendered.pdf, pages - 1)
    lines = payload.split("\r\n")
    assert lines[3] == "CH9300762011623852957"
    assert lines[27:29] == ["SCOR", rf_reference(1).value]


def test_nothing_owed_means_no_qr_code_and_a_thank_you() -> None:
    done = schedule("en", paid=24)
    zero = money("0", "EUR")
    data = replace(done, next_due_date=None, next_amount_due=zero, overdue=zero)
    rendered = render_schedule(data)
    assert qr_codes(rendered.pdf, 0) == []
    assert "You have nothing left to pay on this loan." in text_of(rendered.pdf)


# -- signature boxes and the web page --------------------------------------------------------


def test_signature_boxes_lie_inside_a_page(contracts: dict[str, Rendered]) -> None:
    rendered = contracts["fr"]
    boxes = {b.name: b for b in rendered.signature_boxes}
    assert set(boxes) == {"beneficiary", "fund"}
    reader = PdfReader(io.BytesIO(rendered.pdf))
    for box in boxes.values():
        page = reader.pages[box.page]
        x1, y1, x2, y2 = box.box
        assert 0 < x1 < x2 <= float(page.mediabox.width)
        assert 0 < y1 < y2 <= float(page.mediabox.height)
    assert boxes["beneficiary"].box[2] < boxes["fund"].box[0]  # side by side


@pytest.fixture(scope="module")
def page() -> Iterator[str]:
    yield render_schedule_html(schedule("nl", name="<b>Ана</b>"))


def test_schedule_web_page(page: str) -> None:
    assert page.startswith("<!doctype html>")
    assert '<html lang="nl"' in page
    assert "&lt;b&gt;Ана&lt;/b&gt;" in page and "<b>Ана</b>" not in page
    assert "Uw aflossingsplan" in page
    assert "+++000/0000/00101+++" in page
    assert "€\xa01.487,51" in page
    assert 'src="data:image/svg+xml' in page  # the QR code travels inside the page
    assert not re.search(r"""(src|href)=["']?(https?:|//|/)""", page)  # nothing fetched elsewhere
    assert "<style>" in page and "@font-face" not in page
