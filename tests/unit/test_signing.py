"""The fund's PAdES signature: made with a self-signed key, checked by pyHanko's validator, and
every kind of change after signing detected."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from ledger.documents.signing import (
    FundKey,
    SigningKeyUnavailable,
    create_fund_key,
    load_fund_key,
    sign_pdf,
    validate,
)
from tests.support.pdf import minimal_pdf

PASSWORD = "unit-test-password"


@pytest.fixture(scope="module")
def key() -> FundKey:
    return load_fund_key(create_fund_key("Fonds Exemple asbl", PASSWORD), PASSWORD)


@pytest.fixture(scope="module")
def other_key() -> FundKey:
    return load_fund_key(create_fund_key("Fonds Exemple asbl", PASSWORD), PASSWORD)


@pytest.fixture(scope="module")
def signed(key: FundKey) -> bytes:
    return sign_pdf(minimal_pdf(), key, reason="Loan contract C-L000001, version 1")


def test_pades_signature_validates_with_pyhanko(key: FundKey, signed: bytes) -> None:
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    status = validate_pdf_signature(
        sig, ValidationContext(trust_roots=[key.certificate], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted and status.bottom_line
    # B-B: the signing certificate is bound into the signed attributes
    attrs = {a["type"].native for a in sig.signer_info["signed_attrs"]}
    assert "signing_certificate_v2" in attrs


def test_validate_reports_signer_and_time(key: FundKey, signed: bytes) -> None:
    check = validate(signed, key.certificate)
    assert check.ok, check.problems
    assert check.signer == "Fonds Exemple asbl"
    assert check.signer_fingerprint == key.fingerprint
    assert check.signed_at is not None
    assert abs((datetime.now(UTC) - check.signed_at).total_seconds()) < 600
    assert not check.modified_after_signing


def test_signing_keeps_the_original_as_prefix(key: FundKey) -> None:
    original = minimal_pdf()
    assert sign_pdf(original, key, reason="x").startswith(original)


def test_a_flipped_byte_is_detected(key: FundKey, signed: bytes) -> None:
    at = signed.index(b"(Contrat)") + 2
    tampered = signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1 :]
    check = validate(tampered, key.certificate)
    assert not check.ok and not check.intact
    # What is wrong is the content, not who signed it: the fund's certificate is the one used.
    assert check.problems == (
        "the content was changed after signing: the signature no longer covers it",
    )


def test_an_incremental_update_after_signing_is_detected(key: FundKey, signed: bytes) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    page[generic.NameObject("/Contents")] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td (Pret de 9999) Tj ET")
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    check = validate(out.getvalue(), key.certificate)
    assert check.intact and check.valid  # what was signed is still there...
    assert check.modified_after_signing and not check.ok  # ...but the file says more now


def test_appended_bytes_are_detected(key: FundKey, signed: bytes) -> None:
    check = validate(signed + b"% appended\n", key.certificate)
    assert check.modified_after_signing and not check.ok


def test_another_certificate_is_not_trusted(other_key: FundKey, signed: bytes) -> None:
    check = validate(signed, other_key.certificate)
    assert check.intact and check.valid and not check.trusted and not check.ok
    assert check.problems == ("the signer's certificate is not the fund's",)


def test_unsigned_and_unreadable_files(key: FundKey) -> None:
    assert validate(minimal_pdf(), key.certificate).signatures == 0
    assert not validate(minimal_pdf(), key.certificate).ok
    broken = validate(b"%PDF-1.7\nnothing", key.certificate)
    assert not broken.ok and "cannot be read" in broken.problems[0]


def test_key_file_password() -> None:
    data = create_fund_key("Fonds", PASSWORD)
    with pytest.raises(SigningKeyUnavailable, match="wrong password"):
        load_fund_key(data, "not the password")
    with pytest.raises(ValueError, match="password"):
        create_fund_key("Fonds", "")
