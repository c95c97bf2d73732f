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

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

LEGS_GUARD = """
CREATE OR REPLACE FUNCTION fundledger_legs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    SELECT e.id AS entry_id INTO bad
    FROM (SELECT DISTINCT entry_id FROM new_legs) n JOIN journal_entries e ON e.id = n.entry_id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'fundledger: entry % is already posted; no leg can be added to it',
            bad.entry_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT n.currency AS leg, a.currency AS account, a.closed_at, a.is_control, a.code
    INTO bad
    FROM (SELECT DISTINCT account_id, currency FROM new_legs) n
    JOIN accounts a ON a.id = n.account_id
    WHERE a.currency <> n.currency OR a.closed_at IS NOT NULL OR a.is_control LIMIT 1;
    IF FOUND THEN
        IF bad.leg <> bad.account THEN
            RAISE EXCEPTION 'fundledger: leg currency % differs from its account currency %',
                bad.leg, bad.account USING ERRCODE = 'integrity_constraint_violation';
        ELSIF bad.closed_at IS NOT NULL THEN
            RAISE EXCEPTION 'fundledger: account % is closed', bad.code
                USING ERRCODE = 'integrity_constraint_violation';
        ELSE
            RAISE EXCEPTION 'fundledger: control account % takes no direct postings',
                bad.code USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NULL;
END $$
"""

ENTRIES_SEAL = """
CREATE OR REPLACE FUNCTION fundledger_entries_seal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    -- Per new entry, its legs looked up by index: how many, and whether each currency sums
    -- to zero.
    SELECT e.id, coalesce(sum(c.legs), 0) AS legs INTO bad
    FROM new_entries e LEFT JOIN LATERAL (
        SELECT count(*) AS legs, sum(l.amount_minor) AS total
        FROM journal_legs l WHERE l.entry_id = e.id GROUP BY l.currency
    ) c ON true
    GROUP BY e.id
    HAVING coalesce(sum(c.legs), 0) < 2 OR coalesce(bool_or(c.total <> 0), false)
    ORDER BY coalesce(sum(c.legs), 0) < 2 DESC, e.id LIMIT 1;
    IF FOUND AND bad.legs < 2 THEN
        RAISE EXCEPTION 'fundledger: entry % needs at least two legs', bad.id
            USING ERRCODE = 'integrity_constraint_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'fundledger: entry % does not balance', bad.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- Per month booked in: whether its latest event closed it.
    SELECT m.booking_date INTO bad FROM (
        SELECT to_char(booking_date, 'YYYY-MM') AS month, min(booking_date) AS booking_date
        FROM new_entries GROUP BY 1
    ) m
    WHERE (
        SELECT p.action FROM period_events p WHERE p.month = m.month ORDER BY p.id DESC LIMIT 1
    ) = 'close'
    ORDER BY m.booking_date LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'fundledger: the month of booking date % is closed', bad.booking_date
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$
"""

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
    """
    CREATE FUNCTION fundledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad bigint;
    BEGIN
        SELECT l.entry_id INTO bad
        FROM journal_legs l
        WHERE l.entry_id BETWEEN NEW.first_entry_id AND NEW.last_entry_id
        GROUP BY l.entry_id, l.currency HAVING sum(l.amount_minor) <> 0
        ORDER BY l.entry_id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: entry % does not balance at commit', bad
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        DELETE FROM journal_commit_checks WHERE id = NEW.id;
        RETURN NULL;
    END $$
    """,
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


def _functions_of_0005() -> list[str]:
    """0005's three journal functions, word for word from its own file: down restores them."""
    path = Path(__file__).with_name("0005_set_based_journal_guards.py")
    spec = importlib.util.spec_from_file_location("fundledger_migration_0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wanted = ("fundledger_legs_guard()", "fundledger_entries_seal()", "fundledger_entry_balanced()")
    found = [s for s in module.UPGRADE if "CREATE FUNCTION" in s and any(w in s for w in wanted)]
    assert len(found) == len(wanted), "0005's functions not found"
    return [s.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1) for s in found]


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
        restore = DOWNGRADE_PG[:-1] + _functions_of_0005() + DOWNGRADE_PG[-1:]
        for statement in restore:
            op.execute(statement)
    op.drop_table("journal_commit_checks")
