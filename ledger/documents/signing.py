"""The fund's digital signature on contracts: its key, PAdES signing and validation (pyHanko).

The fund signs with a PAdES baseline B-B signature (ETSI.CAdES.detached, SHA-256, the signing
certificate bound into the signed attributes) appended as an incremental update, so the bytes
that were signed before (the generated contract, the beneficiary's signature) stay a prefix of
the signed file. The key and its certificate come from a PKCS#12 file; ``create_fund_key``
makes a self-signed one for a new or demo fund.

``validate`` says whether the signature is intact (the signed bytes unchanged), cryptographically
valid, made with a trusted certificate, who signed and when, and whether anything was added to
the file after signing (an incremental update or trailing bytes).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import model as xmp_model
from pyhanko.pdf_utils.metadata.xmp_xml import MetadataStream
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from ledger.domain.errors import LedgerError

KEY_BITS = 3072
FIELD_NAME = "FundSignature"


class SigningKeyUnavailable(LedgerError):
    code = "signing-key-unavailable"
    status = 503
    title = "The fund's signing key is not available"


class _ParsedKeySigner(signers.SimpleSigner):
    """pyHanko's ``SimpleSigner`` with the private key parsed once.

    ``SimpleSigner.sign_raw`` parses its key from DER again for every signature, checks
    included: about 150 ms for an RSA-3072 key, twice per signed PDF when the signature's size
    is estimated by signing. This one keeps the key as loaded from the PKCS#12 file. Other
    mechanisms than RSA PKCS#1 v1.5 and ECDSA go through pyHanko's own code.
    """

    def __init__(self, private_key: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            name = mechanism.signature_algo
        except ValueError:
            name = mechanism["algorithm"].native
        key = self._private_key
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if name == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            signature: bytes = key.sign(data, padding.PKCS1v15(), hash_algo)
            return signature
        if name == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            signature = key.sign(data, ec.ECDSA(hash_algo))
            return signature
        raw: bytes = super().sign_raw(data, digest_algorithm)
        return raw


class OneProducerWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, keeping the Info dictionary's Producer and the XMP's
    ``pdf:Producer`` equal, as PDF/A requires.

    On each update pyHanko appends itself to the Info's Producer ("WeasyPrint 70.0; pyHanko
    0.38.0") but writes only itself into the XMP ("pyHanko 0.38.0"). After pyHanko has updated
    both, the XMP is given the Info's value, within the same update (so it is covered by a
    signature made with this writer)."""

    def _update_meta(self) -> None:
        super()._update_meta()  # type: ignore[no-untyped-call]
        info = self._info.get_object() if self._info is not None else None
        producer = info.get("/Producer") if info is not None else None
        stream = self.root.get("/Metadata")
        stream = stream.get_object() if stream is not None else None
        if producer is None or not isinstance(stream, MetadataStream):
            return
        fields = {name: value for root in stream.xmp for name, value in root}
        if fields.get(xmp_model.PDF_PRODUCER) == xmp_model.XmpValue(str(producer)):
            return
        fields[xmp_model.PDF_PRODUCER] = xmp_model.XmpValue(str(producer))
        # As MetadataStream.update_xmp_with_meta does (pyHanko has no public setter for it).
        stream._xmp = [xmp_model.XmpStructure(fields)]
        stream._reserialise()
        stream._encoded_data = None
        self.update_container(stream)


@dataclass(frozen=True, slots=True)
class FundKey:
    """The fund's signing key and certificate, ready for pyHanko."""

    signer: Any  # pyhanko.sign.signers.SimpleSigner
    certificate: asn1_x509.Certificate
    #: Room kept in the PDF for the CMS signature, as hex digits: measured once for this key,
    #: so signing does not sign a dummy first to size it (what pyHanko does without it). Sized
    #: for ``sign_pdf``'s B-B signature: a timestamp or embedded revocation data needs more.
    bytes_reserved: int | None = None

    @property
    def subject(self) -> str:
        return subject_of(self.certificate)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.certificate)

    @property
    def not_after(self) -> datetime:
        value: datetime = self.certificate.not_valid_after
        return value

    def certificate_pem(self) -> bytes:
        der = self.certificate.dump()
        cert = x509.load_der_x509_certificate(der)
        return cert.public_bytes(serialization.Encoding.PEM)


def subject_of(cert: asn1_x509.Certificate) -> str:
    """The common name (or the whole subject when it has none), at most 200 characters."""
    name = cert.subject.native.get("common_name") or cert.subject.human_friendly
    return str(name)[:200]


def fingerprint_of(cert: asn1_x509.Certificate) -> str:
    return hashlib.sha256(cert.dump()).hexdigest()


def create_fund_key(
    fund_name: str, password: str, *, now: datetime | None = None, years: int = 10
) -> bytes:
    """A new RSA key and a self-signed certificate for ``fund_name``, as encrypted PKCS#12."""
    if not password:
        raise ValueError("the key file needs a password")
    now = now or datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, fund_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, fund_name[:64]),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # non-repudiation: the fund commits to the contract
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        fund_name.encode()[:64],
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(password.encode()),
    )


def load_fund_key(data: bytes, password: str | None) -> FundKey:
    """The key and certificate of a PKCS#12 file, parsed once, with the signature's size."""
    try:
        private_key, certificate, others = pkcs12.load_key_and_certificates(
            data, password.encode() if password is not None else None
        )
    except (ValueError, TypeError):
        private_key = certificate = None
    if private_key is None or certificate is None:
        raise SigningKeyUnavailable(
            "the signing key file cannot be opened: wrong password (FUNDLEDGER_SIGNING_KEY_"
            "PASSWORD) or not a PKCS#12 file with a key and its certificate"
        )
    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    registry.register_multiple(translate_pyca_cryptography_cert_to_asn1(c) for c in others)
    signer = _ParsedKeySigner(
        private_key,
        signing_cert=translate_pyca_cryptography_cert_to_asn1(certificate),
        signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
        cert_registry=registry,
    )
    return FundKey(signer, signer.signing_cert, _bytes_reserved(signer))


def _bytes_reserved(signer: Any) -> int:
    """The room pyHanko itself would reserve for this signer's PAdES signature: a dummy CMS
    signature over an empty digest, as hex, plus half again (pyHanko's margin). The size
    depends on the key and certificates only, not on the document, so once per key is enough."""
    md = hashes.Hash(get_pyca_cryptography_hash("sha256")).finalize()
    attributes = PdfCMSSignedAttributes(signing_time=datetime.now(UTC))
    dummy = asyncio.run(
        signer.async_sign(
            md, "sha256", use_pades=True, dry_run=True, signed_attr_settings=attributes
        )
    )
    size = len(dummy.dump()) * 2
    return size + 2 * (size // 4)


def read_fund_key(path: Path | None, password: str | None) -> FundKey:
    if path is None:
        raise SigningKeyUnavailable(
            "the fund has no signing key: create one with `fundledger keys init --out FILE` "
            "and set FUNDLEDGER_SIGNING_KEY_FILE and FUNDLEDGER_SIGNING_KEY_PASSWORD"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyUnavailable(
            f"the signing key file {path} cannot be read ({exc.strerror})"
        ) from None
    return load_fund_key(data, password)


def sign_pdf(
    pdf: bytes,
    key: FundKey,
    *,
    reason: str,
    location: str | None = None,
    field_name: str = FIELD_NAME,
) -> bytes:
    """``pdf`` with the fund's PAdES B-B signature appended as an incremental update."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        name=key.subject,
    )
    try:
        writer = OneProducerWriter(io.BytesIO(pdf), strict=False)
        out = signers.PdfSigner(meta, signer=key.signer).sign_pdf(
            writer, bytes_reserved=key.bytes_reserved
        )
    except SigningError as exc:
        raise LedgerError(f"the PDF cannot be signed: {exc}", "file") from None
    signed: bytes = out.getvalue()
    return signed


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    signatures: int  # how many signatures the file has; the last one is checked
    intact: bool  # the bytes it covers are unchanged
    valid: bool  # the cryptographic signature over them is correct
    trusted: bool  # made with one of the trusted certificates
    signer: str | None
    signer_fingerprint: str | None  # SHA-256 of the signer's certificate
    signed_at: datetime | None  # the time the signer states (B-B has no trusted timestamp)
    modified_after_signing: bool  # bytes or revisions added after the signed range
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return (
            self.signatures > 0
            and self.intact
            and self.valid
            and self.trusted
            and not self.modified_after_signing
        )


def _unreadable(problem: str) -> SignatureCheck:
    return SignatureCheck(0, False, False, False, None, None, None, True, (problem,))


def embedded_signer_certificate(pdf: bytes) -> asn1_x509.Certificate | None:
    """The certificate of the file's last signature, or None (unreadable, unsigned)."""
    try:
        sigs = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        return sigs[-1].signer_cert if sigs else None
    except Exception:
        return None


def validate(
    pdf: bytes, trusted: asn1_x509.Certificate | Sequence[asn1_x509.Certificate]
) -> SignatureCheck:
    """Check the file's last signature against ``trusted`` certificates (no network use)."""
    roots = [trusted] if isinstance(trusted, asn1_x509.Certificate) else list(trusted)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception:
        return _unreadable("the file cannot be read as a PDF (damaged or not a PDF)")
    if not sigs:
        return SignatureCheck(
            0, False, False, False, None, None, None, False, ("the file has no signature",)
        )
    sig = sigs[-1]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = validate_pdf_signature(sig, context)
    except Exception:
        return _unreadable("the signature cannot be read (the file is damaged)")
    problems = []
    # One cause, said once: changed content also fails the cryptographic check and, so, the
    # trust check (pyHanko trusts no signature that does not verify), whoever signed it.
    if not status.intact:
        problems.append("the content was changed after signing: the signature no longer covers it")
    elif not status.valid:
        problems.append("the signature does not match the signed content (damaged or forged)")
    elif not status.trusted:
        problems.append("the signer's certificate is not the fund's")
    modified = (
        status.coverage != SignatureCoverageLevel.ENTIRE_FILE
        or status.modification_level
        not in (
            None,
            ModificationLevel.NONE,
        )
    )
    if modified:
        problems.append("something was added to the file after it was signed")
    cert = status.signing_cert
    return SignatureCheck(
        signatures=len(sigs),
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        signer=subject_of(cert) if cert is not None else None,
        signer_fingerprint=fingerprint_of(cert) if cert is not None else None,
        signed_at=status.signer_reported_dt,
        modified_after_signing=modified,
        problems=tuple(problems),
    )
