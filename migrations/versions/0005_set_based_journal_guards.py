"""PostgreSQL: journal guards checked once per statement over its new rows, not once per row.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

The guards of 0001 ran a PL/pgSQL function for every leg and every entry; posting 1,000
entries at once ran about 9,000 small queries inside the database. The same checks are now made
by statement-level triggers over transition tables (one set-based query per check and
statement), and the commit-time balance check runs once per entry instead of once per leg. What
is refused, and when, is unchanged:

* ``journal_legs_guard`` (after each INSERT statement on legs): no leg for an entry that is
  already posted; a leg's currency is its account's; no leg on a closed or control account;
* ``journal_entries_seal`` (after each INSERT statement on entries): each new entry has two or
  more legs that balance per currency, and is not dated in a closed month;
* ``journal_entries_balanced`` (deferred constraint trigger, at COMMIT, per new entry): the
  entry's legs balance per currency, whatever order rows were written in. A leg written without
  its entry is refused at commit by the deferred foreign key.

SQLite keeps the row triggers of 0001 (it has no transition tables).
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def sql(name: str) -> str:
    """A journal guard function as one revision wrote it, from ``migrations/sql/`` (shared by the
    migration that creates that version and the one whose downgrade restores it; never edited)."""
    return (Path(__file__).resolve().parents[1] / "sql" / f"{name}.sql").read_text(encoding="utf-8")


UPGRADE = [
    "DROP TRIGGER journal_legs_guard ON journal_legs",
    "DROP TRIGGER journal_entries_seal ON journal_entries",
    "DROP TRIGGER journal_legs_balanced ON journal_legs",
    sql("fundledger_legs_guard@0005"),
    """
    CREATE TRIGGER journal_legs_guard AFTER INSERT ON journal_legs
    REFERENCING NEW TABLE AS new_legs
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_legs_guard()
    """,
    sql("fundledger_entries_seal@0005"),
    """
    CREATE TRIGGER journal_entries_seal AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_entries_seal()
    """,
    sql("fundledger_entry_balanced@0005"),
    """
    CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fundledger_entry_balanced()
    """,
]

DOWNGRADE = [
    "DROP TRIGGER journal_entries_balanced ON journal_entries",
    "DROP TRIGGER journal_entries_seal ON journal_entries",
    "DROP TRIGGER journal_legs_guard ON journal_legs",
    "DROP FUNCTION fundledger_entry_balanced()",
    "DROP FUNCTION fundledger_entries_seal()",
    "DROP FUNCTION fundledger_legs_guard()",
    # The row triggers of 0001; their functions were kept.
    """
    CREATE TRIGGER journal_legs_guard BEFORE INSERT ON journal_legs
    FOR EACH ROW EXECUTE FUNCTION fundledger_leg_guard()
    """,
    """
    CREATE TRIGGER journal_entries_seal BEFORE INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION fundledger_entry_seal()
    """,
    """
    CREATE CONSTRAINT TRIGGER journal_legs_balanced AFTER INSERT ON journal_legs
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fundledger_check_balanced()
    """,
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
