"""PostgreSQL: the journal's commit-time balance check once per statement, not once per entry.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 16:00:00

Migration 0005 checked at COMMIT, in a deferred constraint trigger, that each new entry's legs
balance per currency: one PL/pgSQL call and one query per entry, 1,000 of them for a batch of
1,000 entries. PostgreSQL has only row-level constraint triggers, so the same check now hangs
on a small table of its own:

* ``journal_entries_balanced`` (after each INSERT statement on entries) and
  ``journal_legs_balanced`` (after each INSERT statement on legs) write one row into
  ``journal_commit_checks``: the lowest and highest entry id the statement touched;
* ``journal_commit_checks_run`` (deferred constraint trigger on that row, at COMMIT) checks
  with one query that every entry in that range balances per currency, then deletes the row.
  PostgreSQL fires a queued trigger with the row as it was inserted even if the row was
  changed or deleted since, so removing the row early does not skip the check; updating it
  and truncating the table are refused (PostgreSQL itself refuses to truncate a table with
  checks still queued).

The check covers more than 0005's: legs written to an entry by another transaction (which the
legs' guard cannot see while the entry is not committed) are checked when that transaction
commits too, as 0001's per-leg check did.

``journal_legs_guard`` and ``journal_entries_seal`` refuse exactly what they refused before;
they now look up each entry and each month once per statement instead of once per row: the
seal counts and sums every new entry's legs in one grouped pass, and looks up the closing of
each month the statement books in, not of each entry.

SQLite keeps the row triggers of 0001 (it has no transition tables); the table exists there
too, unused, so that both engines have the same schema.
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def sql(name: str) -> str:
    """A journal guard function as one revision wrote it, from ``migrations/sql/`` (shared by the
    migration that creates that version and the one whose downgrade restores it; never edited)."""
    return (Path(__file__).resolve().parents[1] / "sql" / f"{name}.sql").read_text(encoding="utf-8")


LEGS_GUARD = sql("fundledger_legs_guard@0007")

ENTRIES_SEAL = sql("fundledger_entries_seal@0007")

UPGRADE_PG = [
    "DROP TRIGGER journal_entries_balanced ON journal_entries",
    "DROP FUNCTION fundledger_entry_balanced()",
    LEGS_GUARD,
    ENTRIES_SEAL,
    """
    CREATE FUNCTION fundledger_entries_to_check() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO journal_commit_checks (first_entry_id, last_entry_id)
        SELECT min(id), max(id) FROM new_entries HAVING count(*) > 0;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION fundledger_legs_to_check() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO journal_commit_checks (first_entry_id, last_entry_id)
        SELECT min(entry_id), max(entry_id) FROM new_legs HAVING count(*) > 0;
        RETURN NULL;
    END $$
    """,
    sql("fundledger_entry_balanced@0007"),
    """
    CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_entries_to_check()
    """,
    """
    CREATE TRIGGER journal_legs_balanced AFTER INSERT ON journal_legs
    REFERENCING NEW TABLE AS new_legs
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_legs_to_check()
    """,
    """
    CREATE CONSTRAINT TRIGGER journal_commit_checks_run AFTER INSERT ON journal_commit_checks
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fundledger_entry_balanced()
    """,
    # The row a check runs on is deleted by the check itself; nothing else changes it.
    """
    CREATE FUNCTION fundledger_refuse_check_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'fundledger: % on journal_commit_checks refused: a queued balance '
            'check runs at commit as it was queued', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    """
    CREATE TRIGGER journal_commit_checks_no_update BEFORE UPDATE ON journal_commit_checks
    FOR EACH ROW EXECUTE FUNCTION fundledger_refuse_check_change()
    """,
    """
    CREATE TRIGGER journal_commit_checks_no_truncate BEFORE TRUNCATE ON journal_commit_checks
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_refuse_check_change()
    """,
]


#: What the downgrade restores (0005's versions, as its file has them).
FUNCTIONS_OF_0005 = (
    "fundledger_legs_guard",
    "fundledger_entries_seal",
    "fundledger_entry_balanced",
)

DOWNGRADE_PG = [
    "DROP TRIGGER journal_commit_checks_run ON journal_commit_checks",
    "DROP TRIGGER journal_commit_checks_no_update ON journal_commit_checks",
    "DROP TRIGGER journal_commit_checks_no_truncate ON journal_commit_checks",
    "DROP TRIGGER journal_legs_balanced ON journal_legs",
    "DROP TRIGGER journal_entries_balanced ON journal_entries",
    "DROP FUNCTION fundledger_entry_balanced()",
    "DROP FUNCTION fundledger_legs_to_check()",
    "DROP FUNCTION fundledger_entries_to_check()",
    "DROP FUNCTION fundledger_refuse_check_change()",
    """
    CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fundledger_entry_balanced()
    """,
]


def upgrade() -> None:
    op.create_table(
        "journal_commit_checks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("first_entry_id", sa.BigInteger, nullable=False),
        sa.Column("last_entry_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journal_commit_checks"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE_PG:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        restore = (
            DOWNGRADE_PG[:-1]
            + [sql(f"{name}@0005") for name in FUNCTIONS_OF_0005]
            + DOWNGRADE_PG[-1:]
        )
        for statement in restore:
            op.execute(statement)
    op.drop_table("journal_commit_checks")
