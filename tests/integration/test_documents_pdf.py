"""Rendered contracts and schedules: read back from the PDF (text, fonts, QR codes, PDF/A)."""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import zxingcpp
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from ledger.documents.i18n import Translator
from ledger.documents.render import (
    PX_TO_PT,
    Rendered,
    _pdf,
    render_contract,
    render_schedule,
    render_schedule_html,
)
from ledger.domain.loans import DepositForm
from ledger.domain.money import money
from ledger.domain.references import rf_reference
from tests.support.documents import contract, fund_chf, fund_eur, schedule

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


#: Each contract's binding language (the fund's legal language) and the borrower's language: one
#: text in French, Dutch and German; English (no legal language) after a French binding text.
CONTRACT_LANGUAGES = {"fr": "fr", "nl": "nl", "de": "de", "en": "fr"}


@pytest.fixture(scope="module")
def contracts() -> dict[str, Rendered]:
    return {
        lang: render_contract(contract(lang, legal=legal))
        for lang, legal in CONTRACT_LANGUAGES.items()
    }


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
        "Opgemaakt te Brussel op 10 januari 2026",
    ),
    "en": (
        "Interest-free loan agreement for a rental deposit",
        "The fund lends the borrower 1.700,00 €",
        "from 5 February 2026 to 5 January 2028",
        "Monthly rent 850,00 €",
        "Done at Brussels on 10 January 2026",
    ),
    "de": (
        "Vertrag über ein zinsloses Darlehen für eine Mietkaution",
        "Der Fonds leiht der darlehensnehmenden Person 1.700,00 €",
        "vom 5. Februar 2026 bis zum 5. Januar 2028",
        "Monatliche Miete 850,00 €",
        "Ausgefertigt in Brüssel am 10. Januar 2026",
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_contract_text_in_each_language(contracts: dict[str, Rendered], language: str) -> None:
    rendered = contracts[language]
    binding = CONTRACT_LANGUAGES[language]
    assert (rendered.language, rendered.missing, rendered.fell_back) == (binding, (), False)
    text = text_of(rendered.pdf)
    for expected in CONTRACT_TEXTS[language] + CONTRACT_TEXTS[binding]:
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
    rendered = render_contract(contract("de-CH", chf=True, legal="de"))
    assert (rendered.language, rendered.translation, rendered.missing) == ("de", None, ())
    text = text_of(rendered.pdf)
    assert (
        f"Der Fonds leiht der darlehensnehmenden Person {amount('de-CH', '1700', 'CHF', 'CH')}"
        in norm(text)
    )
    assert "Schweiz – Obligationenrecht, Art. 257e" in text
    assert "CH44 3199 9123 0008 8901 2" in text  # the QR-IBAN, not the ordinary IBAN
    assert "00 00000 00000 00000 00000 00011" in text
    assert "Ausgefertigt in Lausanne am 10. Januar 2026" in text


def annex_page(rendered: Rendered, title: str) -> str:
    (found,) = [page for page in pages_of(rendered.pdf) if page.startswith(title)]
    return norm(found)


ANNEX_1 = {
    "fr": "Annexe 1 – Plan de remboursement",
    "nl": "Bijlage 1 – Aflossingsplan",
    "de": "Anhang 1 – Tilgungsplan",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_contract_annex_lists_every_installment(
    contracts: dict[str, Rendered], language: str
) -> None:
    binding = CONTRACT_LANGUAGES[language]
    annex = annex_page(contracts[language], ANNEX_1[binding])
    assert annex.count(amount(binding, "70.83")) == 23
    assert amount(binding, "70.91") in annex
    assert amount(binding, "1700.00") in annex


# -- two languages: the binding text first, the borrower's language after it ------------------


def test_a_translation_follows_the_binding_text_and_says_which_prevails() -> None:
    rendered = render_contract(contract("nl", legal="fr"))
    assert (rendered.language, rendered.translation, rendered.languages) == ("fr", "nl", "fr+nl")
    assert not rendered.fell_back and rendered.missing == ()
    text = text_of(rendered.pdf)
    french = text.index("Contrat de prêt sans intérêt pour une garantie locative")
    heading = text.index("Vertaling ter informatie – de tekst in het Frans geldt")
    dutch = text.index("Overeenkomst van renteloze lening voor een huurwaarborg")
    assert french < heading < dutch  # binding text, then the translation
    # Said at the top in the reader's language, and in the agreement itself in both.
    assert text.index("Deze overeenkomst is opgesteld in het Frans: die tekst staat eerst") < (
        text.index("Article 1 – Montant et objet du prêt")
    )
    assert "La traduction en néerlandais qui le suit est donnée pour information" in text
    assert "geldt de tekst in het Frans" in text
    # The town in each language; signatures once, labelled in both.
    assert "Fait à Bruxelles le 10 janvier 2026" in text
    assert "Opgemaakt te Brussel op 10 januari 2026" in text
    assert text.count("Amina Haddad, dossier BK7Q2M9XR4TZP") == 2  # the parties, in each text
    assert {b.name for b in rendered.signature_boxes} == {"beneficiary", "fund"}
    assert "Pour le fonds Voor het fonds" in text


def test_the_borrowers_language_when_it_is_the_legal_one_gives_one_text(
    contracts: dict[str, Rendered],
) -> None:
    rendered = contracts["nl"]
    assert (rendered.translation, rendered.languages) == (None, "nl")
    text = text_of(rendered.pdf)
    assert "Vertaling ter informatie" not in text
    assert "Deze overeenkomst is opgesteld in het Nederlands." in text
    assert text.count("Overeenkomst van renteloze lening voor een huurwaarborg") == 1


def test_a_language_without_a_catalog_gets_the_binding_text_and_is_told_so() -> None:
    rendered = render_contract(contract("am", name="ሰላም ተስፋይ", legal="nl"))
    assert (rendered.language, rendered.translation, rendered.requested_language) == (
        "nl",
        None,
        "am",
    )
    assert rendered.fell_back and rendered.missing == ()
    text = text_of(rendered.pdf)
    assert "Overeenkomst van renteloze lening voor een huurwaarborg" in text
    assert "Er bestaat nog geen vertaling van deze overeenkomst in het Amhaars" in text
    assert "No translation of this agreement into Amharic exists yet: it exists only in Dutch" in (
        text
    )
    assert "alleen in het Nederlands opgesteld: er bestaat nog geen vertaling" in text
    assert "Interest-free loan agreement" not in text  # never English silently
    assert "ሰላም ተስፋይ" in text


# -- law and court, the privacy notice, the notices of the assignment --------------------------


def test_belgian_law_and_the_courts_of_the_funds_judicial_district() -> None:
    text = text_of(render_contract(contract("nl", legal="fr")).pdf)
    assert "Le présent contrat est régi par le droit belge." in text
    assert "tribunaux de l'arrondissement judiciaire de Bruxelles, sauf si la loi permet" in text
    assert "rechtbanken van het gerechtelijk arrondissement Brussel, tenzij de wet" in text
    elsewhere = replace(fund_eur(), court="Nivelles", court_names=(("nl", "Nijvel"),))
    text = text_of(render_contract(contract("nl", legal="fr", fund=elsewhere)).pdf)
    assert "arrondissement judiciaire de Nivelles" in text
    assert "gerechtelijk arrondissement Nijvel" in text


def test_swiss_law_and_the_courts_of_the_funds_seat() -> None:
    text = text_of(render_contract(contract("fr", chf=True, legal="de")).pdf)
    assert "Dieser Vertrag unterliegt schweizerischem Recht." in text
    assert "vor die Gerichte am Sitz des Fonds in Lausanne gebracht" in text
    assert "Le présent contrat est régi par le droit suisse." in text
    assert "tribunaux du siège du fonds, à Lausanne" in text


def test_the_privacy_notice_names_the_controller_basis_retention_rights_and_authority() -> None:
    text = text_of(render_contract(contract("fr", legal="fr")).pdf)
    notice = text[text.index("Annexe 2 – Protection des données personnelles") :]
    for expected in (
        "Fonds de garanties locatives, Rue de l'Exemple 1, 1000 Bruxelles, est responsable de vos"
        " données (responsable du traitement). Contact : +32 2 000 00 00, fonds@example.org.",
        "article 6.1.b du RGPD",
        "article 9 du RGPD",
        "conservés 10 ans",
        "(accès)",
        "(rectification)",
        "(effacement)",
        "(limitation)",
        "(opposition)",
        "(portabilité)",
        "Autorité de protection des données, rue de la Presse 35, 1000 Bruxelles",
    ):
        assert expected in notice, expected
    swiss = text_of(render_contract(contract("de", chf=True, legal="de")).pdf)
    assert "Bundesgesetz über den Datenschutz (DSG)" in swiss
    assert "Datenschutz- und Öffentlichkeitsbeauftragten (EDÖB)" in swiss
    assert "DSGVO" not in swiss


def test_notices_of_the_assignment_for_the_landlord_and_the_bank() -> None:
    rendered = render_contract(contract("en", legal="fr", deposit_account="BE68539007547034"))
    pages = pages_of(rendered.pdf)
    landlord = annex_page(rendered, "Annexe 3 – Notification de cession au bailleur")
    bank = annex_page(rendered, "Annexe 4 – Notification de cession à la banque")
    assert pages[-1].startswith("Annexe 4")
    for notice in (landlord, bank):
        for expected in (
            "C-L000001, version 1, établi le 10 janvier 2026",
            "Amina Haddad",
            "Rue Fictive 10, 1000 Bruxelles",
            "du 1 janvier 2026 au 31 décembre 2029",
            "1 700,00 € – compte bloqué au nom de l'emprunteur",
            "BE68 5390 0754 7034",  # the account the deposit was paid to
            "+++000/0000/00101+++",
            "L'article 4 du contrat dit",
        ):
            assert expected in notice, expected
        # Minimal personal data: neither the file's id nor anything but the lease's facts.
        assert "BK7Q2M9XR4TZP" not in notice
        assert "Interest-free" not in notice  # addressed to them: the binding language only
    assert "Immo Exemple SRL" in landlord and "votre locataire" in landlord
    assert "titulaire de la garantie locative" in bank


def test_no_bank_notice_when_no_bank_holds_the_deposit() -> None:
    rendered = render_contract(contract("fr", deposit_form=DepositForm.PERSONAL_SURETY))
    text = text_of(rendered.pdf)
    assert "Annexe 3 – Notification de cession au bailleur" in text
    assert "Annexe 4" not in text
    assert "au moyen de la notification de l'annexe 3" in text


# -- print sizes -----------------------------------------------------------------------------


def font_sizes(pdf: bytes) -> Counter[float]:
    """How many characters of each font size (points) the pages print. WeasyPrint draws in CSS
    pixels on a page scaled by 0.75 (a pixel is 3/4 of a point): the size pdfium reads is in
    pixels."""
    document = pdfium.PdfDocument(pdf)
    sizes: Counter[float] = Counter()
    try:
        for page in document:
            text = page.get_textpage()
            for i in range(text.count_chars()):
                if text.get_text_range(i, 1).strip():
                    size = pdfium_c.FPDFText_GetFontSize(text, i) * PX_TO_PT
                    sizes[round(size, 2)] += 1
    finally:
        document.close()
    return sizes


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_body_text_is_at_least_10_5_pt_and_nothing_is_under_9_pt(language: str) -> None:
    sizes = font_sizes(render_contract(contract(language, legal="fr")).pdf)
    (body, _), *_ = sizes.most_common(1)
    assert body >= 10.5, sizes
    # The page label's hidden 1 pt copy (it only feeds the page numbers) is not printed text.
    assert min(size for size in sizes if size > 1) >= 9, sizes


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


@pytest.mark.parametrize(
    ("legal", "says"), [("fr", "Ce plan est en français"), ("de", "Dieser Plan ist auf Deutsch")]
)
def test_a_schedule_in_a_language_without_a_catalog_is_in_the_legal_language_and_says_so(
    legal: str, says: str
) -> None:
    data = schedule("am", name="ሰላም ተስፋይ")
    data = replace(data, fund=replace(data.fund, legal_language=legal))
    rendered = render_schedule(data)
    assert (rendered.language, rendered.requested_language, rendered.fell_back) == (
        legal,
        "am",
        True,
    )
    assert rendered.missing == ()  # every message in the legal language: never English
    text = text_of(rendered.pdf)
    assert says in text and ("amharique" in text or "Amharisch" in text)
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
    rendered = render_contract(
        contract("nl", name=name, landlord=landlord, address=address, legal="nl")
    )
    document = pdfium.PdfDocument(rendered.pdf)
    try:
        assert len(document) <= 10
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
    squeezed = re.sub(r"\s", "", text)
    # The landlord in the agreement and in the notice addressed to them.
    assert squeezed.count("Tresbienvenue") == 60
    assert squeezed.count("Grandchamp") == 120
    assert "X" * 400 + "1000Bruxelles" in squeezed
    # parties, signature block, and in each notice (to the landlord, the bank) the tenant's row
    # and the sentence that names them
    assert squeezed.count("Mariam" + "Abdelrahman" * 17) == 6


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


# -- line breaking around the values inserted in a sentence -------------------------------------


def test_a_value_at_the_end_of_a_line_does_not_break_the_line_early() -> None:
    """WeasyPrint broke a line at its first word when an inserted value (a phone number, an
    e-mail address) did not fit at the end of it ("L'emprunteur" alone on a line, at the
    contract's 174 mm): every line of the paragraph but its last is full, at any width from
    160 to 185 mm in half millimetres (where the value falls at a line's end somewhere)."""
    t = Translator("fr", "BE")
    sentence = t("contract.art5.contact", phone="+32 2 000 00 00", email="fonds@example.org")
    short: dict[float, list[str]] = {}
    for half_mm in range(320, 371):
        width = half_mm / 2
        html = (
            '<html lang="fr"><head><style>@page { size: A4; margin: 10mm; }'
            f"body {{ width: {width}mm; font-size: 10.5pt; }}</style></head>"
            f"<body><p>{sentence}</p></body></html>"
        )
        pdf, _ = _pdf(html)
        lines = PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()
        lines = [" ".join(line.split()) for line in lines if line.strip()]
        lines = [line for line in lines if not re.fullmatch(r"\d+ / \d+", line)]  # page number
        if any(len(line.split()) < 4 for line in lines[:-1]):
            short[width] = lines
    assert short == {}
