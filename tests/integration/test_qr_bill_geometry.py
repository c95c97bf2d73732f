"""The Swiss QR-bill's payment part with receipt where the implementation guidelines put it,
read back from the PDF's geometry (pypdfium2): 210 x 105 mm at the foot of the A4 page, the
receipt 62 mm wide, the Swiss QR code 46 x 46 mm with its 7 x 7 mm Swiss cross, the headings'
and values' font sizes, and nothing outside the page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from ledger.documents.model import FundInfo
from ledger.documents.payment_qr import QR_BILL_MM
from ledger.documents.render import render_schedule
from ledger.domain.money import money
from ledger.domain.references import rf_reference
from tests.support.documents import fund_chf, schedule

MM = 72 / 25.4  # PDF points per millimetre
A4 = (210.0, 297.0)
TOLERANCE = 1.0  # mm (the test's allowance; the guidelines print to the millimetre)


@dataclass(frozen=True, slots=True)
class Drawn:
    """A page object, in millimetres from the page's top left corner."""

    kind: str  # "text", "path", "image", "form"
    left: float
    top: float
    right: float
    bottom: float
    text: str = ""
    size_pt: float = 0.0  # a text's font size
    font: str = ""

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


KINDS = {
    pdfium_c.FPDF_PAGEOBJ_TEXT: "text",
    pdfium_c.FPDF_PAGEOBJ_PATH: "path",
    pdfium_c.FPDF_PAGEOBJ_IMAGE: "image",
    pdfium_c.FPDF_PAGEOBJ_FORM: "form",
}


def last_page(pdf: bytes) -> tuple[tuple[float, float], list[Drawn]]:
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[len(document) - 1]
        height = page.get_height()
        size = (page.get_width() / MM, height / MM)
        textpage = page.get_textpage()
        drawn = []
        for obj in page.get_objects(max_depth=8):
            kind = KINDS.get(obj.type, "other")
            if kind == "form":
                continue  # its content is listed itself
            left, bottom, right, top = obj.get_bounds()
            text, size_pt, font = "", 0.0, ""
            if kind == "text":
                text = textpage.get_text_bounded(left, bottom, right, top)
                size_pt = obj.get_font_size() * abs(obj.get_matrix().get()[3])
                font = obj.get_font().get_base_name()
            drawn.append(
                Drawn(
                    kind,
                    left / MM,
                    (height - top) / MM,
                    right / MM,
                    (height - bottom) / MM,
                    text.strip(),
                    round(size_pt, 1),
                    font,
                )
            )
        return size, drawn
    finally:
        document.close()


@pytest.fixture(scope="module")
def bill() -> tuple[tuple[float, float], list[Drawn]]:
    return last_page(render_schedule(schedule("de", chf=True)).pdf)


def near(value: float, expected: float, tolerance: float = TOLERANCE) -> bool:
    return abs(value - expected) <= tolerance


def texts(drawn: list[Drawn], words: str) -> Iterator[Drawn]:
    return (d for d in drawn if d.kind == "text" and d.text == words)


def test_the_page_is_a4(bill: tuple[tuple[float, float], list[Drawn]]) -> None:
    size, _ = bill
    assert near(size[0], A4[0], 0.1) and near(size[1], A4[1], 0.1)


def test_the_payment_part_starts_192_mm_from_the_top(
    bill: tuple[tuple[float, float], list[Drawn]],
) -> None:
    _, drawn = bill
    top = A4[1] - 105.0
    assert QR_BILL_MM["top_on_a4"] == top
    # the horizontal separation line: the width of the page, 192 mm from its top
    (line,) = (d for d in drawn if d.kind == "path" and d.width > 200 and d.height < 1)
    assert near(line.left, 0) and near(line.right, 210)
    assert near(line.top, top), f"the separation line is {line.top:.1f} mm from the top"
    # the vertical one, between the receipt (62 mm) and the payment part (148 mm), to the foot
    (vertical,) = (d for d in drawn if d.kind == "path" and d.height > 100 and d.width < 1)
    assert near(vertical.left, 62) and near(vertical.top, top) and near(vertical.bottom, 297)
    # "Separate before paying in" above the line, everything else of the bill below it
    (separate,) = texts(drawn, "Vor der Einzahlung abzutrennen")
    assert top - 6 < separate.bottom <= top
    below = [d for d in drawn if d.top >= top - 0.5]
    assert {"Empfangsschein", "Zahlteil", "Annahmestelle"} <= {d.text for d in below}


def test_nothing_is_cut(bill: tuple[tuple[float, float], list[Drawn]]) -> None:
    _, drawn = bill
    for d in drawn:
        assert d.left >= -0.1 and d.right <= A4[0] + 0.1, d
        assert d.top >= -0.1 and d.bottom <= A4[1] + 0.1, d
    # the receipt's content stays in the receipt, the payment part's in the payment part,
    # inside their 5 mm margins
    part_top = A4[1] - 105.0
    for d in drawn:
        if d.kind != "text" or d.top < part_top:
            continue
        assert d.top >= part_top + 5 - TOLERANCE and d.bottom <= A4[1] - 5 + TOLERANCE, d
        if d.left < 62:
            assert d.left >= 5 - TOLERANCE and d.right <= 62 - 5 + TOLERANCE, d
        else:
            assert d.left >= 62 + 5 - TOLERANCE and d.right <= 210 - 5 + TOLERANCE, d


def test_the_swiss_qr_code_is_46_mm_with_a_7_mm_cross(
    bill: tuple[tuple[float, float], list[Drawn]],
) -> None:
    _, drawn = bill
    squares = [d for d in drawn if d.kind in ("path", "image") and near(d.width, d.height, 0.2)]
    (qr,) = (d for d in squares if near(d.width, 46, 0.3))
    top = A4[1] - 105.0
    # 5 mm margin, the title section (7 mm) and 5 mm of quiet space above; 5 mm into the part
    assert near(qr.left, 62 + 5, 0.5) and near(qr.top, top + 17, 0.5), qr
    (cross,) = (d for d in squares if near(d.width, 7, 0.2))
    assert near((cross.left + cross.right) / 2, (qr.left + qr.right) / 2, 0.2)
    assert near((cross.top + cross.bottom) / 2, (qr.top + qr.bottom) / 2, 0.2)
    # nothing else within the quiet space around the code (5 mm)
    for d in drawn:
        if d.kind == "text":
            clear = (
                d.right <= qr.left - 5 + 0.5
                or d.left >= qr.right + 5 - 0.5
                or d.bottom <= qr.top - 5 + 0.5
                or d.top >= qr.bottom + 5 - 0.5
            )
            assert clear, d


def test_titles_headings_and_values_in_the_guidelines_sizes(
    bill: tuple[tuple[float, float], list[Drawn]],
) -> None:
    _, drawn = bill
    top = A4[1] - 105.0
    part = [d for d in drawn if d.kind == "text" and d.top >= top]
    for d in part:
        assert "Liberation-Sans" in d.font, d  # one of the four fonts the guidelines allow
    sizes = {(d.text, d.left < 62): d.size_pt for d in part}
    assert sizes[("Empfangsschein", True)] == 11 and sizes[("Zahlteil", False)] == 11
    assert sizes[("Konto / Zahlbar an", True)] == 6  # receipt: headings 6 pt, values 8 pt
    assert sizes[("CH44 3199 9123 0008 8901 2", True)] == 8
    assert sizes[("Annahmestelle", True)] == 6
    assert sizes[("Konto / Zahlbar an", False)] == 8  # payment part: headings 8, values 10
    assert sizes[("CH44 3199 9123 0008 8901 2", False)] == 10
    assert sizes[("212.49", False)] == 10
    (title,) = texts(part, "Zahlteil")
    assert near(title.left, 67) and near(title.top, top + 5, 1.5)
    (heading,) = (d for d in part if d.text == "Konto / Zahlbar an" and d.left > 62)
    assert near(heading.left, 62 + 5 + 46 + 5), heading  # the information section, 118 mm


LONG_CREDITOR = fund_chf(
    qr_iban=None,
    creditor_name="Association romande du fonds de garantie de loyer pour personnes",
    address_lines=("Avenue de la Gare 123bis, case postale 4567",),
)


@pytest.mark.parametrize("fund", [fund_chf(), LONG_CREDITOR], ids=["short", "long-creditor"])
def test_without_an_amount_the_payer_gets_boxes_to_write_it_in(fund: FundInfo) -> None:
    data = schedule("fr", chf=True)
    zero = money("0", "CHF")
    reference = rf_reference(1) if fund.qr_iban is None else data.reference
    data = replace(data, next_due_date=None, next_amount_due=zero, fund=fund, reference=reference)
    _, drawn = last_page(render_schedule(data).pdf)
    top = A4[1] - 105.0
    boxes = {
        (round(d.width), round(d.height))
        for d in drawn
        if d.kind == "path" and d.top > top + 1 and d.width > 20
    }
    # the amount (30 x 10 mm on the receipt, 40 x 15 mm on the payment part) and the payer's
    # name and address (52 x 20 mm, 65 x 25 mm)
    assert {(30, 10), (40, 15), (52, 20), (65, 25)} <= boxes, boxes
    # each box inside its part and clear of every text
    part_texts = [d for d in drawn if d.kind == "text" and d.top > top]
    for box in (d for d in drawn if d.kind == "path" and d.top > top + 1 and d.width > 20):
        inside = (5, 57) if box.left < 62 else (67, 205)
        assert inside[0] - 0.5 <= box.left and box.right <= inside[1] + 0.5, box
        assert box.bottom <= A4[1] - 5 + 0.5, box
        for other in (d for d in drawn if d.kind == "path" and d.top > top + 1 and d.width > 20):
            assert other is box or not (
                other.left < box.right
                and box.left < other.right
                and other.top < box.bottom
                and box.top < other.bottom
            ), (box, other)
        for d in part_texts:
            apart = (
                d.right <= box.left
                or d.left >= box.right
                or d.bottom <= box.top
                or d.top >= box.bottom
            )
            assert apart, (box, d)
    assert not any(d.text == "212.49" for d in drawn)
    assert {"Récépissé", "Section paiement", "Montant"} <= {d.text for d in drawn}
