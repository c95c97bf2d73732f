"""Right to left: a document in Arabic or Persian is laid out from the right, in the PDF and on
the page, while numbers, IBANs, references and phone numbers still read left to right.

The ar and fa catalogs are the translators' drafts (a language without one would get a stand-in in
its script: tests/support/pseudo_catalogs.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from ledger.documents.render import Rendered, render_contract, render_schedule, render_schedule_html
from tests.support.documents import contract, schedule
from tests.support.pseudo_catalogs import locale_with

MARGIN_PT = 18 / 25.4 * 72  # print.css: @page margin 18 mm left and right


@pytest.fixture(scope="module")
def rtl_locale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("locale")
    with locale_with(root, ["ar", "fa"]):
        yield root


@pytest.fixture(scope="module")
def documents(rtl_locale: Path) -> dict[str, Rendered]:
    return {
        "ar-contract": render_contract(contract("ar", name="فاطمة الزهراء")),
        "ar-schedule": render_schedule(schedule("ar", name="فاطمة الزهراء")),
        "fa-schedule": render_schedule(schedule("fa", name="پریسا کریمی")),
        "fr-schedule": render_schedule(schedule("fr")),
    }


def title_span(pdf: bytes) -> tuple[float, float, float]:
    """(left, right, page width) of the first page's title (its largest text)."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        text = page.get_textpage()
        chars = [i for i in range(text.count_chars()) if text.get_text_range(i, 1).strip()]
        size = {i: round(pdfium_c.FPDFText_GetFontSize(text.raw, i), 1) for i in chars}
        largest = max(size.values())
        boxes = [text.get_charbox(i) for i in chars if size[i] == largest]
        return min(b[0] for b in boxes), max(b[2] for b in boxes), page.get_width()
    finally:
        document.close()


def qr_left(pdf: bytes) -> float:
    """The left edge of the first page's QR code: its one large square drawing."""
    document = pdfium.PdfDocument(pdf)
    try:
        squares = []
        for obj in document[0].get_objects(max_depth=3):
            if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
                left, bottom, right, top = obj.get_bounds()
                if right - left > 60 and abs((right - left) - (top - bottom)) < 5:
                    squares.append(left)
        assert len(squares) == 1, squares
        return float(squares[0])
    finally:
        document.close()


def test_the_title_starts_at_the_right_margin_in_arabic_and_persian(
    documents: dict[str, Rendered],
) -> None:
    for name in ("ar-schedule", "fa-schedule"):
        left, right, width = title_span(documents[name].pdf)
        assert right == pytest.approx(width - MARGIN_PT, abs=2), name
        assert left > width / 3, f"{name}: a short title, set from the right"
    left, right, width = title_span(documents["fr-schedule"].pdf)
    assert left == pytest.approx(MARGIN_PT, abs=2)
    assert right < width * 2 / 3


def test_a_contract_for_an_arabic_reader_is_laid_out_as_its_binding_text(
    documents: dict[str, Rendered],
) -> None:
    """The contract binds in the fund's legal language (left to right), the Arabic translation
    after it: its first page and its signature blocks are laid out as the binding text's (the
    beneficiary signs first, on the left)."""
    left, _, _ = title_span(documents["ar-contract"].pdf)
    assert left == pytest.approx(MARGIN_PT, abs=2)
    boxes = {b.name: b.box for b in documents["ar-contract"].signature_boxes}
    assert boxes["beneficiary"][2] < boxes["fund"][0]


def test_the_qr_code_is_on_the_left_in_persian(documents: dict[str, Rendered]) -> None:
    width = 595.0  # A4 in points
    assert qr_left(documents["fa-schedule"].pdf) < width / 3
    assert qr_left(documents["fr-schedule"].pdf) > width / 2


def test_the_documents_are_in_their_language(documents: dict[str, Rendered]) -> None:
    contract = documents["ar-contract"]
    assert (contract.language, contract.translation, contract.missing) == ("fr", "ar", ())
    assert documents["ar-schedule"].language == "ar" and not documents["ar-schedule"].missing
    assert documents["fa-schedule"].language == "fa" and not documents["fa-schedule"].missing


def test_the_page_is_right_to_left_and_values_stay_left_to_right(rtl_locale: Path) -> None:
    page = render_schedule_html(schedule("ar", name="فاطمة الزهراء"))
    assert '<html lang="ar" dir="rtl">' in page
    # the phone number and the e-mail address keep their order; the Arabic name follows the page
    assert '<bdi class="k" dir="ltr">+32 2 000 00 00</bdi>' in page
    assert '<bdi class="k" dir="ltr">fonds@example.org</bdi>' in page
    assert '<bdi class="k">فاطمة الزهراء</bdi>' in page
    # a date with an Arabic month follows the page too
    assert re.search(r'<bdi class="k">\d+ [\u0600-\u06ff]+ \d{4}</bdi>', page)


def test_a_left_to_right_document_has_no_direction_marks(rtl_locale: Path) -> None:
    page = render_schedule_html(schedule("fr", name="فاطمة الزهراء"))
    assert '<html lang="fr" dir="ltr">' in page
    assert 'dir="ltr">' not in page.split("<body", 1)[1]  # values need none in a ltr page
