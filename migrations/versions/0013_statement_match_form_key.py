"""The key of the web form that made each match by hand: a form sent twice matches once; an
index of the lines waiting for the treasurer.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:00:00

The treasurer's matching queue carries a key made when each form is shown; the match record it
makes keeps it (unique), and the same form sent again (a double click, a browser's resend) gets
that match back instead of reversing and booking the line a second time. NULL for every match
made before, by an import, or without a key (API, CLI).

The matching queue pages through the lines in state unidentified or unmatched by day; a partial
index holds just those, in that order, so a page and the count read it and not every line of a
month of 50,000 (bench/statements.py --queue).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: The states of the lines that wait (ledger.domain.statuses.LineState; a migration keeps its
#: own copy: it must not change when the code does).
WAITING = "state IN ('unidentified', 'unmatched')"


def upgrade() -> None:
    with op.batch_alter_table("statement_matches") as batch:
        batch.add_column(sa.Column("form_key", sa.String(64), nullable=True))
        batch.create_index("ix_statement_matches_form_key", ["form_key"], unique=True)
    op.create_index(
        "ix_statement_lines_waiting",
        "statement_lines",
        ["booking_date", "id"],
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_statement_lines_waiting", table_name="statement_lines")
    with op.batch_alter_table("statement_matches") as batch:
        batch.drop_index("ix_statement_matches_form_key")
        batch.drop_column("form_key")
