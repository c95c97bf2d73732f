"""The beneficiary's signature: what an upload or a drawn signature must be, and the stamp."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageFile
from pypdf import PdfReader

from ledger.documents.beneficiary import (
    TooLarge,
    approval_words,
    check_approval,
    check_scan,
    check_signature_image,
    check_typed_name,
)
from ledger.documents.stamps import stamp_fund, stamp_signature
from ledger.domain.errors import ValidationError
from tests.support.contracts import drawn_signature
from tests.support.pdf import minimal_pdf


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def test_scan_must_be_a_readable_pdf_within_the_limit() -> None:
    pdf = minimal_pdf()
    assert check_scan(pdf, 10_000) == 1
    with pytest.raises(TooLarge):
        check_scan(pdf, 100)
    for bad, message in (
        (b"", "empty"),
        (b"\xff\xd8\xff\xe0 a JPEG", "not a PDF"),
        (b"%PDF-1.7\n1 0 obj garbage", "cannot be read"),
        (pdf[: len(pdf) // 2], "cannot be read"),
    ):
        with pytest.raises(ValidationError, match=message):
            check_scan(bad, 10_000)


def test_signature_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as some libraries set it
    clean = check_signature_image(drawn_signature(), 50_000)
    with Image.open(io.BytesIO(clean)) as img:
        assert img.format == "PNG" and img.mode == "L"  # flattened, no transparency
    with pytest.raises(TooLarge):
        check_signature_image(drawn_signature(), 100)
    with pytest.raises(ValidationError, match="not a PNG"):
        check_signature_image(b"GIF89a", 50_000)
    with pytest.raises(ValidationError, match="blank"):
        check_signature_image(png(Image.new("RGBA", (300, 100), (0, 0, 0, 0))), 50_000)
    with pytest.raises(ValidationError, match="pixels"):
        check_signature_image(png(Image.new("L", (5, 5), 0)), 50_000)
    with pytest.raises(ValidationError, match="cannot be read"):
        check_signature_image(drawn_signature()[:60], 50_000)


def test_typed_name() -> None:
    assert check_typed_name("  Rahel   Tesfaye ") == "Rahel Tesfaye"
    assert check_typed_name("فاطمة الزهراء") == "فاطمة الزهراء"
    for bad in ("   ", "x" * 201, "Eve\u202eevil", "tab\x07"):
        with pytest.raises(ValidationError):
            check_typed_name(bad)


BRUSSELS = ZoneInfo("Europe/Brussels")


def test_stamp_without_a_signature_block_adds_a_page() -> None:
    contract = minimal_pdf()
    when = datetime(2026, 3, 15, 12, 0, tzinfo=UTC).astimezone(BRUSSELS)
    stamped = stamp_signature(
        contract,
        name="Олена Коваленко ራሄል",
        png=check_signature_image(drawn_signature(), 50_000),
        signed_at=when,
        approval="Lu et approuvé",
    )
    assert stamped.startswith(contract)
    pages = PdfReader(io.BytesIO(stamped)).pages
    assert len(pages) == 2
    text = pages[1].extract_text()
    assert "Олена Коваленко" in text and "Lu et approuvé" in text
    # The fund's time, its zone and the offset from UTC: never a bare UTC time.
    assert "2026-03-15 13:00 CET (UTC+01:00)" in text


def test_the_funds_mark_is_stamped_in_its_zone_summer_time_included() -> None:
    when = datetime(2026, 7, 1, 6, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Zurich"))
    marked = stamp_signature(
        minimal_pdf(),
        name="Amina Haile",
        png=check_signature_image(drawn_signature(), 50_000),
        signed_at=when,
        approval="gelesen und genehmigt",
    )
    text = PdfReader(io.BytesIO(marked)).pages[1].extract_text()
    assert "2026-07-01 08:30 CEST (UTC+02:00)" in text
    # A PDF without the fund's block is left as it is (a paper scan gets no mark).
    assert stamp_fund(marked, fund="Fonds", signed_at=when, fingerprint="ab" * 32) == marked
    with pytest.raises(ValueError, match="time zone"):
        stamp_fund(marked, fund="Fonds", signed_at=datetime(2026, 7, 1), fingerprint="ab" * 32)


def test_read_and_approved_in_the_contracts_languages_or_english() -> None:
    accepted = approval_words("fr+am")  # no catalog for am: French, then English
    assert accepted == (("fr", "lu et approuvé"), ("en", "read and approved"))
    assert check_approval("  LU ET APPROUVE. ", accepted) == ("fr", "lu et approuvé")
    assert check_approval("Read and approved", accepted) == ("en", "read and approved")
    assert approval_words("fr+uk")[:2] == (("fr", "lu et approuvé"), ("uk", "прочитано і схвалено"))
    assert approval_words("nl+de")[:2] == (
        ("nl", "gelezen en goedgekeurd"),
        ("de", "gelesen und genehmigt"),
    )
    for wrong in ("", "   ", "ok", "lu", "approuvé et lu", "gelezen en goedgekeurd", "x" * 200):
        with pytest.raises(ValidationError) as refused:
            check_approval(wrong, accepted)
        assert refused.value.field == "read_and_approved"
        assert '"lu et approuvé" or "read and approved"' in refused.value.detail
