"""The fund's signature does its work once: the key is parsed when loaded, not for every
signature, and the room for the signature is known, so nothing is signed twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

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


def ec_key_file() -> bytes:
    """A PKCS#12 file with an ECDSA P-256 key, as a trust service provider may issue."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fonds EC asbl")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(private, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        b"ec", private, cert, None, serialization.BestAvailableEncryption(PASSWORD.encode())
    )


def test_the_key_is_not_parsed_again_for_each_signature(
    key: FundKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the private key was parsed again to sign")

    monkeypatch.setattr(
        "pyhanko.sign.signers.pdf_cms.serialization.load_der_private_key", parse_again
    )
    signed = sign_pdf(minimal_pdf(), key, reason="test")
    check = validate(signed, key.certificate)
    assert check.ok, check.problems


def test_one_signature_per_signed_pdf(key: FundKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the reserved room, pyHanko signs a dummy first to size the signature."""
    calls: list[bool] = []
    sign_raw = type(key.signer).sign_raw

    def counted(self: Any, data: bytes, digest_algorithm: str) -> bytes:
        calls.append(True)
        result: bytes = sign_raw(self, data, digest_algorithm)
        return result

    monkeypatch.setattr(type(key.signer), "sign_raw", counted)
    signed = sign_pdf(minimal_pdf(), key, reason="test")
    assert len(calls) == 1
    assert validate(signed, key.certificate).ok


def test_the_reserved_room_fits_the_signature_with_pyhankos_margin(key: FundKey) -> None:
    assert key.bytes_reserved is not None and key.bytes_reserved % 2 == 0
    signed = sign_pdf(minimal_pdf(), key, reason="test")
    start = signed.rindex(b"/Contents <") + len(b"/Contents <")
    contents = signed[start : signed.index(b">", start)]
    assert len(contents) == key.bytes_reserved
    used = len(contents.rstrip(b"0"))
    assert used <= key.bytes_reserved * 2 // 3 + 8  # half again as much room as one signature


def test_an_ecdsa_key_signs_and_validates() -> None:
    ec_key = load_fund_key(ec_key_file(), PASSWORD)
    signed = sign_pdf(minimal_pdf(), ec_key, reason="test")
    check = validate(signed, ec_key.certificate)
    assert check.ok, check.problems
    assert check.signer == "Fonds EC asbl"


def test_a_wrong_password_is_refused_with_what_to_do() -> None:
    data = create_fund_key("Fonds Exemple asbl", PASSWORD)
    with pytest.raises(SigningKeyUnavailable, match="FUNDLEDGER_SIGNING_KEY_PASSWORD"):
        load_fund_key(data, "not the password")
    with pytest.raises(SigningKeyUnavailable, match="not a PKCS#12 file"):
        load_fund_key(b"not a key file", PASSWORD)
