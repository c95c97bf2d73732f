"""Documents: contracts, signed scans, signed contracts and schedules; beneficiaries' links.

The files live in a content-addressed store; these rows say what each file is, whose loan it
belongs to, and who signed it when. The database keeps them as evidence:

* a document row never changes, except that it can be voided once (voided_at, voided_by and
  void_reason set together, from nothing); it is never deleted;
* an access link never changes, except that it can be revoked once; it is never deleted.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)

#: table -> (the columns that may change once, from NULL; every other column)
ONCE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "documents": (
        ("voided_at", "voided_by", "void_reason"),
        (
            "id",
            "loan_id",
            "kind",
            "contract_version",
            "schedule_version",
            "principal_minor",
            "language",
            "sha256",
            "size",
            "source_id",
            "created_at",
            "created_by",
            "beneficiary_method",
            "signed_by_beneficiary_at",
            "signed_by_fund_at",
            "signer",
            "signer_cert_sha256",
        ),
    ),
    "access_links": (
        ("revoked_at", "revoked_by"),
        ("id", "loan_id", "token_hash", "created_at", "created_by", "expires_at"),
    ),
}
#: what the one permitted change is, for the guards' messages
WHAT = {
    "documents": "a document can only be voided",
    "access_links": "a link can only be revoked",
}


def _sqlite_guards() -> list[str]:
    statements = []
    for table, (once, fixed) in ONCE.items():
        marker = once[0]
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in fixed)
        statements += [
            f"""
            CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            BEGIN
                SELECT RAISE(ABORT, 'fundledger: DELETE on {table} refused: rows are kept');
            END
            """,
            f"""
            CREATE TRIGGER {table}_once BEFORE UPDATE ON {table}
            WHEN OLD.{marker} IS NOT NULL OR NEW.{marker} IS NULL OR {changed}
            BEGIN
                SELECT RAISE(ABORT, 'fundledger: UPDATE on {table} refused: {WHAT[table]} once');
            END
            """,
        ]
    return statements


def _postgres_guards() -> list[str]:
    statements = [
        """
        CREATE FUNCTION fundledger_keep_rows() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'fundledger: % on % refused: rows are kept', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """
    ]
    for table, (once, fixed) in ONCE.items():
        marker = once[0]
        new = ", ".join(f"NEW.{c}" for c in fixed)
        old = ", ".join(f"OLD.{c}" for c in fixed)
        statements += [
            f"""
            CREATE FUNCTION fundledger_{table}_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.{marker} IS NOT NULL OR NEW.{marker} IS NULL
                        OR ROW({new}) IS DISTINCT FROM ROW({old}) THEN
                    RAISE EXCEPTION 'fundledger: UPDATE on {table} refused: {WHAT[table]} once'
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END $$
            """,
            f"""
            CREATE TRIGGER {table}_once BEFORE UPDATE ON {table}
            FOR EACH ROW EXECUTE FUNCTION fundledger_{table}_once()
            """,
            f"""
            CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION fundledger_keep_rows()
            """,
            f"""
            CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION fundledger_keep_rows()
            """,
        ]
    return statements


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("contract_version", sa.Integer(), nullable=True),
        sa.Column("schedule_version", sa.Integer(), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("beneficiary_method", sa.String(length=16), nullable=True),
        sa.Column("signed_by_beneficiary_at", TS, nullable=True),
        sa.Column("signed_by_fund_at", TS, nullable=True),
        sa.Column("signer", sa.String(length=200), nullable=True),
        sa.Column("signer_cert_sha256", sa.String(length=64), nullable=True),
        sa.Column("voided_at", TS, nullable=True),
        sa.Column("voided_by", sa.String(length=64), nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "kind IN ('contract','beneficiary_scan','beneficiary_signed','signed_contract',"
            "'schedule')",
            name=op.f("ck_documents_kind"),
        ),
        sa.CheckConstraint(
            "kind = 'schedule' OR (contract_version IS NOT NULL AND contract_version >= 1)",
            name=op.f("ck_documents_contract_version"),
        ),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_documents_sha256")),
        sa.CheckConstraint("size > 0", name=op.f("ck_documents_size")),
        sa.CheckConstraint(
            "beneficiary_method IS NULL OR beneficiary_method IN ('paper','on_screen')",
            name=op.f("ck_documents_beneficiary_method"),
        ),
        sa.CheckConstraint(
            "kind NOT IN ('beneficiary_scan','beneficiary_signed') OR (source_id IS NOT NULL"
            " AND beneficiary_method IS NOT NULL AND signed_by_beneficiary_at IS NOT NULL)",
            name=op.f("ck_documents_beneficiary_signed"),
        ),
        sa.CheckConstraint(
            "kind <> 'signed_contract' OR (source_id IS NOT NULL AND beneficiary_method IS NOT "
            "NULL AND signed_by_beneficiary_at IS NOT NULL AND signed_by_fund_at IS NOT NULL"
            " AND signer IS NOT NULL AND signer_cert_sha256 IS NOT NULL)",
            name=op.f("ck_documents_fund_signed"),
        ),
        sa.CheckConstraint(
            "(voided_at IS NULL AND voided_by IS NULL AND void_reason IS NULL)"
            " OR (voided_at IS NOT NULL AND voided_by IS NOT NULL AND void_reason IS NOT NULL)",
            name=op.f("ck_documents_void"),
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_documents_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["source_id"], ["documents.id"], name=op.f("fk_documents_source_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_loan_id"), ["loan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_sha256"), ["sha256"], unique=False)

    op.create_table(
        "access_links",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("length(token_hash) = 64", name=op.f("ck_access_links_token_hash")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_access_links_expiry")),
        sa.CheckConstraint(
            "(revoked_at IS NULL AND revoked_by IS NULL)"
            " OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL)",
            name=op.f("ck_access_links_revoked"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_access_links_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_links_token_hash")),
    )
    with op.batch_alter_table("access_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_links_loan_id"), ["loan_id"], unique=False)

    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _postgres_guards() if postgres else _sqlite_guards():
        op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its triggers; PostgreSQL's functions go separately.
    with op.batch_alter_table("access_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_links_loan_id"))
    op.drop_table("access_links")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_sha256"))
        batch_op.drop_index(batch_op.f("ix_documents_loan_id"))
    op.drop_table("documents")
    if op.get_bind().dialect.name == "postgresql":
        for function in ("keep_rows", *(f"{table}_once" for table in ONCE)):
            op.execute(f"DROP FUNCTION IF EXISTS fundledger_{function}()")
