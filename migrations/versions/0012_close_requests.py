"""A month's close in two steps: one person asks, another signs it off.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 19:00:00

``close_requests``: who asked to close a month, when, and (for a month that does not
reconcile) why it should close anyway; then who decided and how: signed off (pointing to the
close it recorded in ``period_events``), withdrawn by who asked, or refused by another with a
reason. A CHECK refuses a sign-off by the person who asked (four eyes), whatever the
application does. No existing row changes: a month closed before this revision keeps its
one-step close.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "close_requests",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("close_event_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('requested','signed_off','withdrawn','refused')",
            name=op.f("ck_close_requests_status"),
        ),
        sa.CheckConstraint(
            "status = 'requested' OR (decided_by IS NOT NULL AND decided_at IS NOT NULL)",
            name=op.f("ck_close_requests_decided"),
        ),
        sa.CheckConstraint(
            "status <> 'signed_off' OR (decided_by <> requested_by AND close_event_id IS NOT NULL)",
            name=op.f("ck_close_requests_four_eyes"),
        ),
        sa.ForeignKeyConstraint(
            ["close_event_id"],
            ["period_events.id"],
            name=op.f("fk_close_requests_close_event_id_period_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_close_requests")),
    )
    op.create_index(op.f("ix_close_requests_month"), "close_requests", ["month"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_close_requests_month"), table_name="close_requests")
    op.drop_table("close_requests")
