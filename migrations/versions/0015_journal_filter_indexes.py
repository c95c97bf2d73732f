"""Indexes for the auditor's journal filters: who booked an entry and its kind, its kind alone,
and the amounts on an account, the entries' in the order the journal is read (by number).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 22:00:00

The auditor's journal lists entries by their number, newest first, a page at a time from the
last entry seen (keyset paging). A filter on who booked them and their kind, or on their kind
alone, is served by an index on those columns followed by the entry's number: a page is the
next 25 of the index, the count a range of it (who alone: the count too; its page sorts that
person's entries). The index on the kind alone is replaced by the one on (kind, id), which
serves everything it served. A filter on an amount booked on an account reads the legs of that
account between the amounts from an index holding them, instead of every leg of the account.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_journal_entries_author_kind_id", "journal_entries", ["author", "kind", "id"]
    )
    op.create_index("ix_journal_entries_kind_id", "journal_entries", ["kind", "id"])
    op.drop_index("ix_journal_entries_kind", table_name="journal_entries")
    op.create_index(
        "ix_journal_legs_account_amount",
        "journal_legs",
        ["account_id", "currency", "amount_minor", "entry_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_journal_legs_account_amount", table_name="journal_legs")
    op.create_index("ix_journal_entries_kind", "journal_entries", ["kind"])
    op.drop_index("ix_journal_entries_kind_id", table_name="journal_entries")
    op.drop_index("ix_journal_entries_author_kind_id", table_name="journal_entries")
