"""Request and response bodies for contracts, documents and beneficiaries' links."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledger.documents.signing import SignatureCheck
from ledger.domain.documents import AccessLink, StoredDocument
from ledger.services.contracts import ContractStatus, DocumentCheck

_DATA_URL = "data:image/png;base64,"


class DocumentOut(BaseModel):
    """What a document is, who made and signed it and when: no personal data."""

    id: int
    loan_id: str
    kind: str = Field(
        description="contract, beneficiary_scan (signed on paper), beneficiary_signed (signed "
        "on screen), signed_contract (signed by both) or schedule"
    )
    contract_version: int | None
    schedule_version: int
    language: str = Field(
        description="the language printed; a contract's is its binding text's (the fund's legal "
        "language), followed by '+' and its translation's when it has one: fr, fr+uk"
    )
    sha256: str = Field(description="SHA-256 of the file, lowercase hex")
    size: int
    source_id: int | None = Field(description="the document this one was made from")
    created_at: datetime
    created_by: str
    beneficiary_method: str | None = Field(description="paper or on_screen")
    signed_by_beneficiary_at: datetime | None
    signed_by_fund_at: datetime | None
    signer: str | None = Field(description="the fund's signing certificate")
    signer_cert_sha256: str | None
    voided_at: datetime | None
    voided_by: str | None
    void_reason: str | None

    @classmethod
    def of(cls, doc: StoredDocument) -> DocumentOut:
        return cls(
            id=doc.id,
            loan_id=doc.loan_id,
            kind=doc.kind.value,
            contract_version=doc.contract_version,
            schedule_version=doc.schedule_version,
            language=doc.language,
            sha256=doc.sha256,
            size=doc.size,
            source_id=doc.source_id,
            created_at=doc.created_at,
            created_by=doc.created_by,
            beneficiary_method=doc.beneficiary_method,
            signed_by_beneficiary_at=doc.signed_by_beneficiary_at,
            signed_by_fund_at=doc.signed_by_fund_at,
            signer=doc.signer,
            signer_cert_sha256=doc.signer_cert_sha256,
            voided_at=doc.voided_at,
            voided_by=doc.voided_by,
            void_reason=doc.void_reason,
        )


class GeneratedOut(DocumentOut):
    missing_translations: list[str] = Field(
        description="message ids printed in English because the language's catalog lacks them"
    )
    untranslated: str | None = Field(
        default=None,
        description="the beneficiary's language when it has no catalog yet: the contract is "
        "then in the fund's legal language only, and says so",
    )


class ContractStatusOut(BaseModel):
    loan_id: str
    state: str = Field(description="none, generated, signed_by_beneficiary or signed")
    version: int | None = Field(description="the version in force, if any")
    contract: DocumentOut | None
    signed_by_beneficiary: DocumentOut | None
    signed: DocumentOut | None

    @classmethod
    def of(cls, status: ContractStatus) -> ContractStatusOut:
        def out(doc: StoredDocument | None) -> DocumentOut | None:
            return DocumentOut.of(doc) if doc is not None else None

        return cls(
            loan_id=status.loan_id,
            state=status.state,
            version=status.version,
            contract=out(status.contract),
            signed_by_beneficiary=out(status.beneficiary),
            signed=out(status.signed),
        )


class OnScreenSignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description="typed by the beneficiary; must be the name registered for them",
        ),
    ]
    read_and_approved: str = Field(
        default="",
        max_length=100,
        description='the words the beneficiary types before signing, as on paper: "read and '
        'approved" in one of the contract\'s languages or in English ("lu et approuvé", '
        '"gelezen en goedgekeurd", "gelesen und genehmigt", "read and approved"; capitals, '
        "accents and punctuation do not matter); refused otherwise",
    )
    signature_png: Annotated[
        str,
        Field(
            min_length=1,
            max_length=700_000,
            description="the drawn signature as a PNG, base64 or a data:image/png;base64 URL "
            "(what a canvas's toDataURL() gives)",
            repr=False,
        ),
    ]

    @field_validator("signature_png")
    @classmethod
    def _base64(cls, value: str) -> str:
        text = value.removeprefix(_DATA_URL)
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not base64: send the PNG as base64 or a data URL") from None
        return text

    def png(self) -> bytes:
        return base64.b64decode(self.signature_png)


class SignatureOut(BaseModel):
    signatures: int
    intact: bool = Field(description="the signed bytes are unchanged")
    valid: bool = Field(description="the signature matches them")
    trusted: bool = Field(description="made with the certificate recorded when the fund signed")
    signer: str | None
    signer_cert_sha256: str | None
    signed_at: datetime | None
    modified_after_signing: bool

    @classmethod
    def of(cls, check: SignatureCheck) -> SignatureOut:
        return cls(
            signatures=check.signatures,
            intact=check.intact,
            valid=check.valid,
            trusted=check.trusted,
            signer=check.signer,
            signer_cert_sha256=check.signer_fingerprint,
            signed_at=check.signed_at,
            modified_after_signing=check.modified_after_signing,
        )


class ValidationOut(BaseModel):
    document: DocumentOut
    ok: bool
    hash_ok: bool = Field(description="the stored file is there and has the recorded SHA-256")
    signature: SignatureOut | None = Field(description="for a contract signed by the fund")
    contains_source: bool | None = Field(
        description="what was signed (the beneficiary's document) is the start of this file"
    )
    problems: list[str]

    @classmethod
    def of(cls, check: DocumentCheck) -> ValidationOut:
        return cls(
            document=DocumentOut.of(check.document),
            ok=check.ok,
            hash_ok=check.hash_ok,
            signature=SignatureOut.of(check.signature) if check.signature else None,
            contains_source=check.contains_source,
            problems=list(check.problems),
        )


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: Annotated[int | None, Field(ge=1, le=366, description="default: the setting")] = None


class LinkOut(BaseModel):
    id: int
    loan_id: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None

    @classmethod
    def of(cls, link: AccessLink) -> LinkOut:
        return cls(
            id=link.id,
            loan_id=link.loan_id,
            created_at=link.created_at,
            created_by=link.created_by,
            expires_at=link.expires_at,
            revoked_at=link.revoked_at,
            revoked_by=link.revoked_by,
        )


class NewLinkOut(LinkOut):
    token: str = Field(description="shown this once; only its SHA-256 is kept")
    url: str = Field(description="the page to give the beneficiary")
