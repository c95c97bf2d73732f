"""Payment reminders: each one recorded on its loan; a beneficiary's opt-out.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-12 19:00:00

``reminders``: each payment reminder of a loan (docs/reminders.md): its kind (before a due
date, late, the formal notice), the day that names it (the installment's due date, or the
first day of the late episode), how it goes (an e-mail, a letter staff print), what became of
it (on its way, sent, not sent: tried again, skipped, printed) and when. A reminder is kept
once per loan, kind, day and channel (UNIQUE): the daily run sends each once however often it
runs. No personal data: no address, no name, no amount; an SMTP error is kept with any address
in it blanked out.

``beneficiaries.reminders_opt_out``: the person asked for no reminders by e-mail (false for
everyone before this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)

#: The values the code names (ledger.domain.statuses; a migration keeps its own copy: it must
#: not change when the code does).
KINDS = "('before_due','late','formal_notice')"
CHANNELS = "('email','letter')"
STATUSES = "('sending','sent','failed','skipped','printed')"


def upgrade() -> None:
    # Plain ADD COLUMN on both engines: a batch on SQLite would rebuild the table, which the
    # loans' foreign keys to it refuse once there are loans.
    op.add_column(
        "beneficiaries",
        sa.Column("reminders_opt_out", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "reminders",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("days_late", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("link_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(f"kind IN {KINDS}", name=op.f("ck_reminders_kind")),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name=op.f("ck_reminders_channel")),
        sa.CheckConstraint(f"status IN {STATUSES}", name=op.f("ck_reminders_status")),
        sa.CheckConstraint("attempts >= 0 AND days_late >= 0", name=op.f("ck_reminders_counts")),
        sa.CheckConstraint(
            "status <> 'skipped' OR reason IS NOT NULL", name=op.f("ck_reminders_skipped_why")
        ),
        sa.CheckConstraint(
            "status <> 'failed' OR error IS NOT NULL", name=op.f("ck_reminders_failed_why")
        ),
        sa.CheckConstraint(
            "(channel = 'letter') = (status = 'printed')", name=op.f("ck_reminders_letter")
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_reminders_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["link_id"], ["access_links.id"], name=op.f("fk_reminders_link_id_access_links")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint(
            "loan_id", "kind", "due_date", "channel", name="uq_reminders_loan_kind_due_channel"
        ),
    )


def downgrade() -> None:
    op.drop_table("reminders")
    if op.get_bind().dialect.name == "sqlite":  # native since SQLite 3.35: no table rebuild
        op.execute("ALTER TABLE beneficiaries DROP COLUMN reminders_opt_out")
    else:
        op.drop_column("beneficiaries", "reminders_opt_out")
