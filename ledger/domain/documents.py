"""Documents kept for a loan (contracts, scans, schedules) and the personal links that show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ledger.domain.statuses import SignatureMethod


class DocumentKind(StrEnum):
    CONTRACT = "contract"  # a contract version as generated, unsigned
    BENEFICIARY_SCAN = "beneficiary_scan"  # signed by the beneficiary on paper, scanned
    BENEFICIARY_SIGNED = "beneficiary_signed"  # signed by the beneficiary on screen
    SIGNED_CONTRACT = "signed_contract"  # signed by both: the fund's signature on top
    SCHEDULE = "schedule"  # a repayment schedule as sent to the beneficiary


CONTRACT_KINDS = (
    DocumentKind.CONTRACT,
    DocumentKind.BENEFICIARY_SCAN,
    DocumentKind.BENEFICIARY_SIGNED,
    DocumentKind.SIGNED_CONTRACT,
)


BENEFICIARY_KINDS = (DocumentKind.BENEFICIARY_SCAN, DocumentKind.BENEFICIARY_SIGNED)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: int
    loan_id: str
    kind: DocumentKind
    contract_version: int | None
    schedule_version: int
    principal_minor: int
    language: str
    sha256: str
    size: int
    source_id: int | None
    created_at: datetime
    created_by: str
    beneficiary_method: SignatureMethod | None
    signed_by_beneficiary_at: datetime | None
    signed_by_fund_at: datetime | None
    signer: str | None  # the fund's certificate subject
    signer_cert_sha256: str | None
    voided_at: datetime | None
    voided_by: str | None
    void_reason: str | None

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


@dataclass(frozen=True, slots=True)
class NewDocument:
    loan_id: str
    kind: DocumentKind
    contract_version: int | None
    schedule_version: int
    principal_minor: int
    language: str
    sha256: str
    size: int
    created_at: datetime
    created_by: str
    source_id: int | None = None
    beneficiary_method: SignatureMethod | None = None
    signed_by_beneficiary_at: datetime | None = None
    signed_by_fund_at: datetime | None = None
    signer: str | None = None
    signer_cert_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class AccessLink:
    id: int
    loan_id: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at
