"""Payment files (SEPA pain.001) and what they need; an idempotency key on deposit releases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 15:00:00

* ``payment_files``: each SEPA credit transfer file the treasurer made (message id, account,
  totals, SHA-256 of the bytes), created, then marked sent or cancelled;
* ``payment_file_items``: the disbursement and refund entries a file pays, with the
  end-to-end id the bank brings back on the statement. The names and IBANs of the people paid
  are not copied here: the file is made again from the lease and the beneficiary when needed;
* ``leases.landlord_iban`` (where a deposit is paid) and ``beneficiaries.iban`` (where a
  refund is paid; personal data, erased with the rest);
* ``deposit_releases.idempotency_key``: a release with nothing returned posts no entry, so its
  key is kept on the release itself; a retry then answers with the first release.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _guards() -> list[str]:
    """What a file pays never changes once the file is made: its items are append-only."""
    if op.get_bind().dialect.name == "postgresql":
        return [
            "CREATE TRIGGER payment_file_items_append_only BEFORE UPDATE OR DELETE ON "
            "payment_file_items FOR EACH ROW EXECUTE FUNCTION fundledger_refuse_change()",
            "CREATE TRIGGER payment_file_items_no_truncate BEFORE TRUNCATE ON payment_file_items "
            "FOR EACH STATEMENT EXECUTE FUNCTION fundledger_refuse_change()",
        ]
    return [
        f"CREATE TRIGGER payment_file_items_no_{verb.lower()} BEFORE {verb} ON "
        "payment_file_items BEGIN SELECT RAISE(ABORT, 'fundledger: "
        f"{verb} on payment_file_items refused: append-only table'); END"
        for verb in ("UPDATE", "DELETE")
    ]


def upgrade() -> None:
    op.create_table(
        "payment_files",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("sent_by", sa.String(length=64), nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "status IN ('created','sent','cancelled')", name=op.f("ck_payment_files_status")
        ),
        sa.CheckConstraint(
            "transfers > 0 AND total_minor > 0", name=op.f("ck_payment_files_totals")
        ),
        sa.CheckConstraint(
            "status <> 'sent' OR sent_at IS NOT NULL", name=op.f("ck_payment_files_sent_when")
        ),
        sa.CheckConstraint(
            "status <> 'cancelled' OR cancel_reason IS NOT NULL",
            name=op.f("ck_payment_files_cancel_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_accounts.id"],
            name=op.f("fk_payment_files_bank_account_id_bank_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_files")),
        sa.UniqueConstraint("message_id", name=op.f("uq_payment_files_message_id")),
    )
    op.create_table(
        "payment_file_items",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("loan_id", sa.String(length=16), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payment_file_items_amount")),
        sa.CheckConstraint(
            "kind IN ('disbursement','refund')", name=op.f("ck_payment_file_items_kind")
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["payment_files.id"],
            name=op.f("fk_payment_file_items_file_id_payment_files"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_payment_file_items_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_file_items")),
        sa.UniqueConstraint("file_id", "entry_id", name="uq_payment_file_items_file_entry"),
    )
    op.create_index(
        op.f("ix_payment_file_items_entry_id"), "payment_file_items", ["entry_id"], unique=False
    )
    op.create_index(
        op.f("ix_payment_file_items_file_id"), "payment_file_items", ["file_id"], unique=False
    )
    for statement in _guards():
        op.execute(statement)
    # Plain ADD COLUMN on both engines: SQLite would otherwise rebuild the tables and lose
    # their triggers.
    op.add_column("leases", sa.Column("landlord_iban", sa.String(length=34), nullable=True))
    op.add_column("beneficiaries", sa.Column("iban", sa.String(length=34), nullable=True))
    op.add_column(
        "deposit_releases", sa.Column("idempotency_key", sa.String(length=64), nullable=True)
    )
    op.create_index(
        op.f("ix_deposit_releases_idempotency_key"),
        "deposit_releases",
        ["idempotency_key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deposit_releases_idempotency_key"), table_name="deposit_releases")
    with op.batch_alter_table("deposit_releases") as batch:
        batch.drop_column("idempotency_key")
    with op.batch_alter_table("beneficiaries") as batch:
        batch.drop_column("iban")
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("landlord_iban")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER payment_file_items_no_truncate ON payment_file_items")
        op.execute("DROP TRIGGER payment_file_items_append_only ON payment_file_items")
    op.drop_index(op.f("ix_payment_file_items_file_id"), table_name="payment_file_items")
    op.drop_index(op.f("ix_payment_file_items_entry_id"), table_name="payment_file_items")
    op.drop_table("payment_file_items")
    op.drop_table("payment_files")
