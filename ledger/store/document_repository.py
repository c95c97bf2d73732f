"""Document metadata and beneficiaries' access links. Never commits.

The files themselves are in the content-addressed store (``ledger.documents.store``); a row
here says what a file is. Rows are only ever added, voided (documents) or revoked (links): the
database refuses anything else (migration 0003).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from ledger.domain.documents import (
    CONTRACT_KINDS,
    AccessLink,
    DocumentKind,
    NewDocument,
    StoredDocument,
)
from ledger.domain.errors import NotFound
from ledger.domain.statuses import SignatureMethod
from ledger.store.tables import access_links, documents


class DocumentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- documents -------------------------------------------------------------------------
    def add(self, doc: NewDocument) -> StoredDocument:
        values = {name: getattr(doc, name) for name in NewDocument.__slots__}
        values["kind"] = doc.kind.value
        new_id = self.conn.execute(
            insert(documents).values(**values).returning(documents.c.id)
        ).scalar_one()
        return self.get(int(new_id))

    def get(self, document_id: int) -> StoredDocument:
        row = self.conn.execute(select(documents).where(documents.c.id == document_id)).first()
        if row is None:
            raise NotFound(f"document {document_id} does not exist", "document_id")
        return _document(row)

    def of_loan(self, loan_id: str) -> list[StoredDocument]:
        rows = self.conn.execute(
            select(documents).where(documents.c.loan_id == loan_id).order_by(documents.c.id)
        )
        return [_document(r) for r in rows]

    def latest_contract_version(self, loan_id: str) -> int:
        """The highest contract version ever generated for the loan (0 if none), voided or not."""
        rows = self.conn.execute(
            select(documents.c.contract_version).where(
                documents.c.loan_id == loan_id, documents.c.kind == DocumentKind.CONTRACT.value
            )
        )
        return max((int(v) for v in rows.scalars()), default=0)

    def current(self, loan_id: str) -> list[StoredDocument]:
        """The rows of the contract version in force (not voided), oldest first; [] if none."""
        rows = self.conn.execute(
            select(documents)
            .where(
                documents.c.loan_id == loan_id,
                documents.c.kind.in_([k.value for k in CONTRACT_KINDS]),
                documents.c.voided_at.is_(None),
            )
            .order_by(documents.c.id)
        )
        docs = [_document(r) for r in rows]
        if not docs:
            return []
        version = max(d.contract_version or 0 for d in docs)
        return [d for d in docs if d.contract_version == version]

    def signed_contract(self, loan_id: str) -> StoredDocument | None:
        """The contract signed by both, of the version in force, if there is one."""
        return next(
            (d for d in self.current(loan_id) if d.kind is DocumentKind.SIGNED_CONTRACT), None
        )

    def void(self, document_id: int, *, at: datetime, actor: str, reason: str) -> None:
        self.conn.execute(
            update(documents)
            .where(documents.c.id == document_id, documents.c.voided_at.is_(None))
            .values(voided_at=at, voided_by=actor, void_reason=reason[:500])
        )

    def void_current(self, loan_id: str, *, at: datetime, actor: str, reason: str) -> int | None:
        """Void every row of the contract version in force; its version, or None if none."""
        docs = self.current(loan_id)
        for doc in docs:
            self.void(doc.id, at=at, actor=actor, reason=reason)
        return docs[0].contract_version if docs else None

    # -- access links ----------------------------------------------------------------------
    def add_link(
        self, loan_id: str, token_hash: str, *, at: datetime, actor: str, expires_at: datetime
    ) -> AccessLink:
        new_id = self.conn.execute(
            insert(access_links)
            .values(
                loan_id=loan_id,
                token_hash=token_hash,
                created_at=at,
                created_by=actor,
                expires_at=expires_at,
            )
            .returning(access_links.c.id)
        ).scalar_one()
        return self.link(int(new_id))

    def link(self, link_id: int) -> AccessLink:
        row = self.conn.execute(select(access_links).where(access_links.c.id == link_id)).first()
        if row is None:
            raise NotFound(f"access link {link_id} does not exist", "link_id")
        return _link(row)

    def link_by_hash(self, token_hash: str) -> AccessLink | None:
        row = self.conn.execute(
            select(access_links).where(access_links.c.token_hash == token_hash)
        ).first()
        return _link(row) if row else None

    def links_of(self, loan_id: str) -> list[AccessLink]:
        rows = self.conn.execute(
            select(access_links)
            .where(access_links.c.loan_id == loan_id)
            .order_by(access_links.c.id)
        )
        return [_link(r) for r in rows]

    def revoke_link(self, link_id: int, *, at: datetime, actor: str) -> None:
        self.conn.execute(
            update(access_links)
            .where(access_links.c.id == link_id, access_links.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=actor)
        )


def _document(row: Row[Any]) -> StoredDocument:
    m = row._mapping
    return StoredDocument(
        id=int(m["id"]),
        loan_id=m["loan_id"],
        kind=DocumentKind(m["kind"]),
        contract_version=m["contract_version"],
        schedule_version=int(m["schedule_version"]),
        principal_minor=int(m["principal_minor"]),
        language=m["language"],
        sha256=m["sha256"],
        size=int(m["size"]),
        source_id=m["source_id"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        beneficiary_method=(
            SignatureMethod(m["beneficiary_method"]) if m["beneficiary_method"] else None
        ),
        signed_by_beneficiary_at=m["signed_by_beneficiary_at"],
        signed_by_fund_at=m["signed_by_fund_at"],
        signer=m["signer"],
        signer_cert_sha256=m["signer_cert_sha256"],
        voided_at=m["voided_at"],
        voided_by=m["voided_by"],
        void_reason=m["void_reason"],
    )


def _link(row: Row[Any]) -> AccessLink:
    return AccessLink(
        id=int(row.id),
        loan_id=row.loan_id,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )
