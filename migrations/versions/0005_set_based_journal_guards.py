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

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    "DROP TRIGGER journal_legs_guard ON journal_legs",
    "DROP TRIGGER journal_entries_seal ON journal_entries",
    "DROP TRIGGER journal_legs_balanced ON journal_legs",
    """
    CREATE FUNCTION fundledger_legs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
        SELECT n.entry_id INTO bad FROM new_legs n JOIN journal_entries e ON e.id = n.entry_id
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: entry % is already posted; no leg can be added to it',
                bad.entry_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        SELECT n.currency AS leg, a.currency AS account, a.closed_at, a.is_control, a.code
        INTO bad FROM new_legs n JOIN accounts a ON a.id = n.account_id
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
    """,
    """
    CREATE TRIGGER journal_legs_guard AFTER INSERT ON journal_legs
    REFERENCING NEW TABLE AS new_legs
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_legs_guard()
    """,
    """
    CREATE FUNCTION fundledger_entries_seal() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
        SELECT e.id INTO bad FROM new_entries e
        WHERE (SELECT count(*) FROM journal_legs l WHERE l.entry_id = e.id) < 2 LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: entry % needs at least two legs', bad.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        SELECT l.entry_id AS id INTO bad FROM journal_legs l JOIN new_entries e ON e.id = l.entry_id
        GROUP BY l.entry_id, l.currency HAVING sum(l.amount_minor) <> 0 LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: entry % does not balance', bad.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        SELECT e.id, e.booking_date INTO bad FROM new_entries e
        WHERE (
            SELECT p.action FROM period_events p
            WHERE p.month = to_char(e.booking_date, 'YYYY-MM')
            ORDER BY p.id DESC LIMIT 1
        ) = 'close' LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: the month of booking date % is closed', bad.booking_date
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER journal_entries_seal AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_entries_seal()
    """,
    """
    CREATE FUNCTION fundledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM journal_legs WHERE entry_id = NEW.id
            GROUP BY currency HAVING sum(amount_minor) <> 0
        ) THEN
            RAISE EXCEPTION 'fundledger: entry % does not balance at commit', NEW.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
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
