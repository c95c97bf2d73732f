"""The arrears projection: each loan's arrears as of any day, as steps in time.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 18:00:00

One row per step of a loan (``ledger.domain.arrears``): from ``valid_from`` to the day before
``valid_to`` (9999-12-31 while nothing ends it), what the loan still owes and since when part
of it is late, and the loan's caseworker (who opened it), by which the arrears list filters. The
table starts empty: ``fundledger init`` fills it for the loans already paid
out once the schema is migrated (``fundledger loan arrears-rebuild`` does it by hand), because
a migration that ran the application's own code would change meaning with that code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loan_arrears",
        sa.Column("loan_id", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("outstanding_minor", sa.BigInteger(), nullable=False),
        sa.Column("late_since", sa.Date(), nullable=True),
        sa.Column("caseworker", sa.String(64), nullable=False),
        sa.CheckConstraint("outstanding_minor > 0", name="ck_loan_arrears_outstanding_positive"),
        sa.CheckConstraint("valid_from < valid_to", name="ck_loan_arrears_interval"),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name="fk_loan_arrears_loan_id_loans"),
        sa.PrimaryKeyConstraint("loan_id", "valid_from", name="pk_loan_arrears"),
    )
    op.create_index(
        "ix_loan_arrears_ending",
        "loan_arrears",
        [
            "currency",
            "valid_to",
            "valid_from",
            "late_since",
            "outstanding_minor",
            "loan_id",
            "caseworker",
        ],
    )
    op.create_index(
        "ix_loan_arrears_starting",
        "loan_arrears",
        [
            "currency",
            "valid_from",
            "valid_to",
            "late_since",
            "outstanding_minor",
            "loan_id",
            "caseworker",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_loan_arrears_starting", table_name="loan_arrears")
    op.drop_index("ix_loan_arrears_ending", table_name="loan_arrears")
    op.drop_table("loan_arrears")
