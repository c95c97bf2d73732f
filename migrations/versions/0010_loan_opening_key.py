"""The key of the form that opened each loan application: a form sent twice opens one loan.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:30:00

The web application's new-application form carries a key made when the form is shown; the
loan it opens keeps it (unique), and the same form sent again gets that loan back instead of a
second draft. NULL for every existing loan and for loans opened without a key (API, CLI).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("loans") as batch:
        batch.add_column(sa.Column("opening_key", sa.String(64), nullable=True))
        batch.create_index("ix_loans_opening_key", ["opening_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("loans") as batch:
        batch.drop_index("ix_loans_opening_key")
        batch.drop_column("opening_key")
