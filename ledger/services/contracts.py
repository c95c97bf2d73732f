"""Loan contracts from generation to both signatures, and the documents kept for each loan.

A contract version goes through three documents, each stored immutably with its SHA-256:

1. ``contract``: version N, rendered for an approved loan (or for a loan being repaid whose
   contract was voided by a new schedule);
2. ``beneficiary_scan`` (signed on paper, scanned and uploaded by staff) or
   ``beneficiary_signed`` (signed on screen: the typed name, which must be the registered
   one, and the drawn signature, once the beneficiary said "read and approved", stamped into
   the contract with the time as an incremental update); recording it again replaces the
   previous one;
3. ``signed_contract``: the fund's PAdES signature over (2). An approved loan becomes
   ``contract_signed``; only then can it be paid out (``loans.disburse`` checks it too).

Changing the loan's amount or schedule voids every document of the version in force (see
``loans._void_contract``): version N+1 must be generated and signed. Generating a new version
while the current one is not yet signed by both supersedes (voids) it.

Who may do what: caseworkers and admins generate contracts and record the beneficiary's
signature (``LOANS_APPLY``), sign for the fund (``LOANS_APPROVE``; never the one who recorded
the beneficiary's signature of that version: four eyes) and download the files, which hold
personal data (``PERSONAL_READ``, each download audited). Treasurers and auditors see the
metadata (which version, signed by whom and when, the SHA-256) and can validate a signed file,
but not read it: they need to know the contract is signed, not what it says about the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr

from ledger.config import Settings
from ledger.documents import beneficiary, signing, stamps
from ledger.documents.model import FundInfo, contract_data, schedule_data
from ledger.documents.render import render_contract, render_schedule
from ledger.documents.signing import FundKey, SignatureCheck
from ledger.documents.store import DocumentStore, DocumentUnavailable
from ledger.domain.beneficiaries import NameMismatch, same_name
from ledger.domain.documents import (
    BENEFICIARY_KINDS,
    CONTRACT_KINDS,
    DocumentKind,
    NewDocument,
    StoredDocument,
)
from ledger.domain.errors import Conflict, NotFound, PermissionDenied
from ledger.domain.loans import Loan
from ledger.domain.money import to_minor
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import LoanStatus, SignatureMethod
from ledger.services import loans
from ledger.store.uow import UnitOfWork

#: A loan gets a (new) contract version when approved, or while being repaid after its contract
#: was voided by a new schedule (the new version is then an amendment).
GENERATE_FROM = frozenset({LoanStatus.APPROVED, LoanStatus.ACTIVE, LoanStatus.OVERPAID})


@dataclass(frozen=True, slots=True)
class DocumentSettings:
    """What the document use cases need from the settings."""

    store: DocumentStore
    fund: FundInfo
    key_file: Path | None
    key_password: SecretStr | None  # never in repr, logs or messages
    max_upload_bytes: int
    max_signature_image_bytes: int
    access_link_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentSettings:
        return cls(
            store=DocumentStore(settings.documents_path()),
            fund=FundInfo.from_settings(settings),
            key_file=settings.signing_key_file,
            key_password=settings.signing_key_password,
            max_upload_bytes=settings.max_upload_bytes,
            max_signature_image_bytes=settings.max_signature_image_bytes,
            access_link_days=settings.access_link_days,
        )

    def fund_key(self) -> FundKey:
        if self.key_file is None:
            return signing.read_fund_key(None, None)
        try:
            stamp = self.key_file.stat().st_mtime_ns
        except OSError:
            stamp = 0
        password = self.key_password
        secret = password.get_secret_value() if password is not None else None
        return _cached_key(self.key_file, stamp, secret)


@lru_cache(maxsize=4)
def _cached_key(path: Path, _mtime: int, password: str | None) -> FundKey:
    return signing.read_fund_key(path, password)


@dataclass(frozen=True, slots=True)
class ContractStatus:
    """Where the contract of a loan stands: the version in force and its documents."""

    loan_id: str
    version: int | None  # None: no contract in force (never generated, or voided)
    contract: StoredDocument | None
    beneficiary: StoredDocument | None  # signed by the beneficiary (scan or on screen)
    signed: StoredDocument | None  # signed by both

    @property
    def state(self) -> str:
        if self.signed is not None:
            return "signed"
        if self.beneficiary is not None:
            return "signed_by_beneficiary"
        return "generated" if self.contract is not None else "none"


@dataclass(frozen=True, slots=True)
class GeneratedContract:
    document: StoredDocument  # its language: the binding one, "+" its translation's ("fr+uk")
    missing_translations: tuple[str, ...]  # message ids that fell back to English
    untranslated: str | None = None  # the borrower's language, when it has no catalog yet


@dataclass(frozen=True, slots=True)
class DocumentCheck:
    document: StoredDocument
    hash_ok: bool  # the stored file is there and still has the recorded SHA-256
    signature: SignatureCheck | None  # for a contract signed by the fund
    contains_source: bool | None  # what was signed is, byte for byte, the start of this file
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return (
            self.hash_ok
            and (self.signature is None or self.signature.ok)
            and self.contains_source is not False
        )


# -- reading ---------------------------------------------------------------------------------


def _status(uow: UnitOfWork, loan_id: str) -> ContractStatus:
    docs = uow.documents.current(loan_id)
    contract = next((d for d in docs if d.kind is DocumentKind.CONTRACT), None)
    ben = [d for d in docs if d.kind in BENEFICIARY_KINDS]
    signed = next((d for d in docs if d.kind is DocumentKind.SIGNED_CONTRACT), None)
    return ContractStatus(
        loan_id,
        contract.contract_version if contract else None,
        contract,
        ben[-1] if ben else None,
        signed,
    )


def contract_status(uow: UnitOfWork, actor: Actor, loan_id: str) -> ContractStatus:
    actor.require(Permission.LOANS_READ)
    with uow:
        uow.loans.get(loan_id)
        return _status(uow, loan_id)


@dataclass(frozen=True, slots=True)
class ContractOverview:
    """A loan's contract as a page shows it, read in one snapshot (no personal data)."""

    loan: Loan
    status: ContractStatus
    history: tuple[StoredDocument, ...]  # every contract document, voided ones too, oldest first
    paid_out_on: date | None  # the payout's booking date, while it stands


def contract_overview(uow: UnitOfWork, actor: Actor, loan_id: str) -> ContractOverview:
    """The loan, its contract version in force, the contract's documents (metadata) and when
    the deposit was paid out."""
    actor.require(Permission.LOANS_READ)
    with uow:
        loan = uow.loans.get(loan_id)
        history = tuple(d for d in uow.documents.of_loan(loan_id) if d.kind in CONTRACT_KINDS)
        payout = loan.disbursement_entry_id
        paid_on = uow.journal.get(payout).booking_date if payout is not None else None
        return ContractOverview(loan, _status(uow, loan_id), history, paid_on)


def list_documents(uow: UnitOfWork, actor: Actor, loan_id: str) -> list[StoredDocument]:
    """Every document of a loan, voided ones included (metadata only: no personal data)."""
    actor.require(Permission.LOANS_READ)
    with uow:
        uow.loans.get(loan_id)
        return uow.documents.of_loan(loan_id)


def get_document(uow: UnitOfWork, actor: Actor, document_id: int) -> StoredDocument:
    actor.require(Permission.LOANS_READ)
    with uow:
        return uow.documents.get(document_id)


def document_content(
    uow: UnitOfWork, actor: Actor, docs: DocumentSettings, document_id: int
) -> tuple[StoredDocument, bytes]:
    """The file itself: it holds personal data, so only for roles that may see it; audited."""
    actor.require(Permission.PERSONAL_READ)
    with uow:
        doc = uow.documents.get(document_id)
        data = docs.store.get(doc.sha256)
        uow.audit_event(
            actor,
            action="read_document",
            target=f"loan:{doc.loan_id}",
            details={"document": doc.id, "kind": doc.kind.value},
        )
        uow.commit()
    return doc, data


def validate_document(
    uow: UnitOfWork, actor: Actor, docs: DocumentSettings, document_id: int
) -> DocumentCheck:
    """Check a stored file against its SHA-256 and, when the fund signed it, its signature:
    intact, made with the certificate recorded at signing, nothing added afterwards, and the
    document it signed (the beneficiary's) still byte for byte at its start."""
    actor.require(Permission.LOANS_READ)
    with uow:
        doc = uow.documents.get(document_id)
        source = uow.documents.get(doc.source_id) if doc.source_id is not None else None
    problems: list[str] = []
    try:
        data = docs.store.get(doc.sha256)
    except DocumentUnavailable as exc:
        return DocumentCheck(doc, False, None, None, (exc.detail,))
    signature = None
    contains = None
    if doc.kind is DocumentKind.SIGNED_CONTRACT:
        embedded = signing.embedded_signer_certificate(data)
        trusted = []
        if embedded is not None and signing.fingerprint_of(embedded) == doc.signer_cert_sha256:
            trusted.append(embedded)
        signature = signing.validate(data, trusted)
        problems += signature.problems
    # A scan is a new file (the paper went through a scanner); everything else we made by
    # appending to its source, which must therefore still be its start.
    if source is not None and doc.kind is not DocumentKind.BENEFICIARY_SCAN:
        made_from = f"document {source.id} ({source.kind.value}), which this one was made from,"
        try:
            contains = data.startswith(docs.store.get(source.sha256))
        except DocumentUnavailable:
            # The source's own file is at fault: name it, as the source's, not as this one's.
            contains = False
            problems.append(
                f"{made_from} cannot be compared with it: document {source.id}'s file "
                f"{source.sha256[:12]}... is missing or damaged (restore it from the backup)"
            )
        else:
            if not contains:
                problems.append(f"{made_from} is no longer the start of this file")
    return DocumentCheck(doc, True, signature, contains, tuple(problems))


# -- the contract's life ----------------------------------------------------------------------


def _in_force(uow: UnitOfWork, loan: Loan, version: int) -> tuple[StoredDocument, ContractStatus]:
    """The contract row of ``version``, which must be the version in force for the loan as it
    is now (same schedule version, same amount)."""
    if loan.status not in GENERATE_FROM | {LoanStatus.CONTRACT_SIGNED}:
        raise Conflict(
            f"loan {loan.id} is {loan.status.value.replace('_', ' ')}: a contract is signed "
            "once the loan is approved",
            "status",
            key="err.contract.sign_not_approved",
            params={"loan": loan.id, "status": loan.status},
        )
    status = _status(uow, loan.id)
    if status.contract is None or status.version != version:
        latest = uow.documents.latest_contract_version(loan.id)
        if not 1 <= version <= latest:
            raise NotFound(f"loan {loan.id} has no contract version {version}", "version")
        now = f"version {status.version} is" if status.version else "no version is"
        raise Conflict(
            f"contract version {version} of loan {loan.id} was voided; {now} in force",
            "version",
            key="err.contract.voided",
            params={"version": version},
        )
    schedule_version, _ = uow.loans.schedule(loan.id)
    if (
        status.contract.schedule_version != schedule_version
        or status.contract.principal_minor != to_minor(loan.terms.deposit)
    ):
        raise Conflict(
            f"loan {loan.id} changed after contract version {version} was made; generate a "
            "new version",
            "version",
            key="err.contract.outdated",
            params={"version": version},
        )
    return status.contract, status


def generate_contract(
    uow: UnitOfWork, actor: Actor, docs: DocumentSettings, loan_id: str
) -> GeneratedContract:
    """Render the next contract version of a loan and store it (unsigned)."""
    actor.require(Permission.LOANS_APPLY)
    actor.require(Permission.PERSONAL_READ)
    view = loans.get_loan(uow, actor, loan_id)
    loan = view.loan
    with uow:
        status = _status(uow, loan_id)
        version = uow.documents.latest_contract_version(loan_id) + 1
    if status.signed is not None:
        raise Conflict(
            f"contract version {status.version} of loan {loan_id} is signed by both and in "
            "force; it is voided when the loan's amount or schedule changes",
            "version",
            key="err.contract.in_force",
            params={"version": status.version},
        )
    if loan.status not in GENERATE_FROM:
        raise Conflict(
            f"loan {loan_id} is {loan.status.value.replace('_', ' ')}: a contract is made once "
            "the loan is approved",
            "status",
            key="err.contract.make_not_approved",
            params={"loan": loan_id, "status": loan.status},
        )
    person = loans.read_beneficiary(uow, actor, loan.beneficiary_id)
    if person.personal is None or view.lease is None:
        raise Conflict(
            f"the personal data of {loan.beneficiary_id} was erased",
            "beneficiary_id",
            key="err.person.erased",
        )
    rendered = render_contract(contract_data(view, person.personal, view.lease, docs.fund, version))
    with uow:
        current = uow.loans.get(loan_id, lock=True)
        schedule_version, _ = uow.loans.schedule(loan_id)
        if (
            current.version != loan.version
            or schedule_version != view.schedule_version
            or uow.documents.latest_contract_version(loan_id) != version - 1
        ):
            raise Conflict(
                f"loan {loan_id} changed while its contract was being made; try again",
                "loan_id",
                key="err.contract.changed_meanwhile",
            )
        superseded = uow.documents.void_current(
            loan_id, at=uow.now(), actor=actor.name, reason=f"superseded by version {version}"
        )
        sha = docs.store.put(rendered.pdf)
        doc = uow.documents.add(
            NewDocument(
                loan_id=loan_id,
                kind=DocumentKind.CONTRACT,
                contract_version=version,
                schedule_version=view.schedule_version,
                principal_minor=to_minor(loan.terms.deposit),
                language=rendered.languages,
                sha256=sha,
                size=len(rendered.pdf),
                created_at=uow.now(),
                created_by=actor.name,
            )
        )
        uow.audit_event(
            actor,
            action="contract_generated",
            target=f"loan:{loan_id}",
            details={
                "document": doc.id,
                "version": version,
                "sha256": sha,
                "language": rendered.languages,
                "untranslated": rendered.requested_language if rendered.fell_back else None,
                "missing_translations": len(rendered.missing),
                "superseded": superseded,
            },
        )
        uow.commit()
    return GeneratedContract(
        doc, rendered.missing, rendered.requested_language if rendered.fell_back else None
    )


def _record_beneficiary(
    uow: UnitOfWork,
    actor: Actor,
    docs: DocumentSettings,
    loan_id: str,
    version: int,
    *,
    kind: DocumentKind,
    method: SignatureMethod,
    pdf: bytes,
    expected_source: int,
    signed_at: datetime,
    audit: dict[str, object] | None = None,
) -> StoredDocument:
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        contract, status = _in_force(uow, loan, version)
        if contract.id != expected_source:
            raise Conflict(f"contract version {version} changed meanwhile; try again", "version")
        if status.signed is not None:
            raise Conflict(
                f"contract version {version} is already signed by the fund; it can no longer "
                "change",
                "version",
                key="err.contract.fund_signed",
                params={"version": version},
            )
        if status.beneficiary is not None:
            uow.documents.void(
                status.beneficiary.id,
                at=uow.now(),
                actor=actor.name,
                reason="replaced by a new signature of the beneficiary",
            )
        sha = docs.store.put(pdf)
        doc = uow.documents.add(
            NewDocument(
                loan_id=loan_id,
                kind=kind,
                contract_version=version,
                schedule_version=contract.schedule_version,
                principal_minor=contract.principal_minor,
                language=contract.language,
                sha256=sha,
                size=len(pdf),
                created_at=uow.now(),
                created_by=actor.name,
                source_id=contract.id,
                beneficiary_method=method,
                signed_by_beneficiary_at=signed_at,
            )
        )
        uow.audit_event(
            actor,
            action="contract_signed_by_beneficiary",
            target=f"loan:{loan_id}",
            details={
                "document": doc.id,
                "version": version,
                "method": method,
                "sha256": sha,
                **(audit or {}),
            },
        )
        uow.commit()
    return doc


def _contract_of(uow: UnitOfWork, loan_id: str, version: int) -> StoredDocument:
    with uow:
        loan = uow.loans.get(loan_id)
        contract, _ = _in_force(uow, loan, version)
    return contract


def record_scan(
    uow: UnitOfWork, actor: Actor, docs: DocumentSettings, loan_id: str, version: int, data: bytes
) -> StoredDocument:
    """The contract signed on paper by the beneficiary, scanned to PDF and uploaded."""
    actor.require(Permission.LOANS_APPLY)
    beneficiary.check_scan(data, docs.max_upload_bytes)
    contract = _contract_of(uow, loan_id, version)
    return _record_beneficiary(
        uow,
        actor,
        docs,
        loan_id,
        version,
        kind=DocumentKind.BENEFICIARY_SCAN,
        method=SignatureMethod.PAPER,
        pdf=data,
        expected_source=contract.id,
        signed_at=uow.now(),
    )


def record_on_screen_signature(
    uow: UnitOfWork,
    actor: Actor,
    docs: DocumentSettings,
    loan_id: str,
    version: int,
    *,
    full_name: str,
    signature_png: bytes,
    read_and_approved: str,
) -> StoredDocument:
    """The beneficiary signs on screen (with staff beside them): the words "read and approved"
    and their name, both typed by them, the drawn signature and the time (in the fund's zone)
    are stamped into the contract's signature block.

    As on paper, where the signature is preceded by the words "read and approved", the
    beneficiary types them, in one of the contract's languages or in English ("lu et
    approuvé", "gelezen en goedgekeurd"...: ``beneficiary.check_approval``; kept in the audit
    record, with the language), and the name they type must be the name registered for them
    (``domain.beneficiaries.same_name``): reading it is a personal-data read, audited."""
    actor.require(Permission.LOANS_APPLY)
    actor.require(Permission.PERSONAL_READ)
    name = beneficiary.check_typed_name(full_name)
    png = beneficiary.check_signature_image(signature_png, docs.max_signature_image_bytes)
    contract = _contract_of(uow, loan_id, version)
    language, words = beneficiary.check_approval(
        read_and_approved, beneficiary.approval_words(contract.language)
    )
    with uow:
        beneficiary_id = uow.loans.get(loan_id).beneficiary_id
    person = loans.read_beneficiary(uow, actor, beneficiary_id)
    if person.personal is None:
        raise Conflict(
            f"the personal data of {beneficiary_id} was erased",
            "beneficiary_id",
            key="err.person.erased",
        )
    if not same_name(name, person.personal.full_name):
        # The message names neither: it is logged and shown, and holds no personal data.
        raise NameMismatch(
            "the typed name is not the name registered for the beneficiary: type the full "
            "name as it is written on the contract (capitals, accents, hyphens and the order "
            "of the names do not matter; a missing or extra name does)",
            "full_name",
        )
    signed_at = uow.now()
    stamped = stamps.stamp_signature(
        docs.store.get(contract.sha256),
        name=name,
        png=png,
        signed_at=signed_at.astimezone(uow.zone),
        approval=" ".join(read_and_approved.split()),
    )
    return _record_beneficiary(
        uow,
        actor,
        docs,
        loan_id,
        version,
        kind=DocumentKind.BENEFICIARY_SIGNED,
        method=SignatureMethod.ON_SCREEN,
        pdf=stamped,
        expected_source=contract.id,
        signed_at=signed_at,
        audit={"read_and_approved": words, "approval_language": language, "name_checked": True},
    )


def sign_as_fund(
    uow: UnitOfWork, actor: Actor, docs: DocumentSettings, loan_id: str, version: int
) -> StoredDocument:
    """The fund signs what the beneficiary signed; an approved loan becomes contract signed.

    Four eyes: the staff member who recorded the beneficiary's signature of this version may
    not also sign it for the fund (``PermissionDenied``)."""
    actor.require(Permission.LOANS_APPROVE)
    key = docs.fund_key()
    with uow:
        loan = uow.loans.get(loan_id)
        _, status = _in_force(uow, loan, version)
    if status.signed is not None:
        raise Conflict(
            f"contract version {version} is already signed by the fund",
            "version",
            key="err.contract.fund_signed",
            params={"version": version},
        )
    signed_by_beneficiary = status.beneficiary
    if signed_by_beneficiary is None:
        raise Conflict(
            f"the beneficiary has not signed contract version {version} yet: upload the "
            "signed scan or record their signature on screen first",
            "version",
            key="err.contract.beneficiary_unsigned",
            params={"version": version},
        )
    if signed_by_beneficiary.created_by == actor.name:
        # Four eyes: whoever recorded the beneficiary's signature (took the scan, or stood
        # beside them on screen) does not also commit the fund to what was signed.
        raise PermissionDenied(
            f"you recorded the beneficiary's signature of contract version {version}; another "
            "staff member (a caseworker or an admin) must sign it for the fund",
            key="err.contract.own_witness",
            params={"version": version},
        )
    marked = stamps.stamp_fund(
        docs.store.get(signed_by_beneficiary.sha256),
        fund=key.subject,
        signed_at=uow.now().astimezone(uow.zone),
        fingerprint=key.fingerprint,
    )
    pdf = signing.sign_pdf(
        marked,
        key,
        reason=f"Loan contract C-{loan_id}, version {version}",
        location=docs.fund.city,
    )
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        _, now_status = _in_force(uow, loan, version)
        if now_status.signed is not None or now_status.beneficiary != signed_by_beneficiary:
            raise Conflict(f"contract version {version} changed meanwhile; try again", "version")
        sha = docs.store.put(pdf)
        doc = uow.documents.add(
            NewDocument(
                loan_id=loan_id,
                kind=DocumentKind.SIGNED_CONTRACT,
                contract_version=version,
                schedule_version=signed_by_beneficiary.schedule_version,
                principal_minor=signed_by_beneficiary.principal_minor,
                language=signed_by_beneficiary.language,
                sha256=sha,
                size=len(pdf),
                created_at=uow.now(),
                created_by=actor.name,
                source_id=signed_by_beneficiary.id,
                beneficiary_method=signed_by_beneficiary.beneficiary_method,
                signed_by_beneficiary_at=signed_by_beneficiary.signed_by_beneficiary_at,
                signed_by_fund_at=uow.now(),
                signer=key.subject,
                signer_cert_sha256=key.fingerprint,
            )
        )
        uow.audit_event(
            actor,
            action="contract_signed_by_fund",
            target=f"loan:{loan_id}",
            details={"document": doc.id, "version": version, "sha256": sha},
        )
        if loan.status is LoanStatus.APPROVED:
            loans.record_contract_signed(uow, actor, loan)
        uow.commit()
    return doc


def generate_schedule(
    uow: UnitOfWork, actor: Actor, docs: DocumentSettings, loan_id: str
) -> StoredDocument:
    """The beneficiary's repayment schedule as of today, rendered and kept (e.g. to be sent)."""
    actor.require(Permission.LOANS_SERVICE)
    actor.require(Permission.PERSONAL_READ)
    view = loans.get_loan(uow, actor, loan_id)
    person = loans.read_beneficiary(uow, actor, view.loan.beneficiary_id)
    if person.personal is None:
        raise Conflict(
            f"the personal data of {person.id} was erased",
            "beneficiary_id",
            key="err.person.erased",
        )
    rendered = render_schedule(schedule_data(view, person.personal, docs.fund))
    with uow:
        uow.loans.get(loan_id)
        sha = docs.store.put(rendered.pdf)
        doc = uow.documents.add(
            NewDocument(
                loan_id=loan_id,
                kind=DocumentKind.SCHEDULE,
                contract_version=None,
                schedule_version=view.schedule_version,
                principal_minor=to_minor(view.loan.terms.deposit),
                language=rendered.language,
                sha256=sha,
                size=len(rendered.pdf),
                created_at=uow.now(),
                created_by=actor.name,
            )
        )
        uow.audit_event(
            actor,
            action="schedule_generated",
            target=f"loan:{loan_id}",
            details={"document": doc.id, "sha256": sha, "language": rendered.language},
        )
        uow.commit()
    return doc
