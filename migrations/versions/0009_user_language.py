"""Each staff member's language for the web application.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 15:45:00

The staff web application speaks fr, nl, de or en, chosen per user. NULL (every existing user)
means the fund's default language, the first of ``FUNDLEDGER_FUND_LANGUAGES``. No existing row
changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
