"""PostgreSQL: the journal's references checked once per statement, not once per row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 17:15:00

PostgreSQL checks a foreign key with one query per inserted row (a row trigger of its own that
looks the referenced row up and locks it). A posting of 1,000 entries inserts 2,000 legs and
1,000 idempotency keys, so three foreign keys made 5,000 such queries, about a third of the
database's time for the batch (measured in bench/postings.py). Those three references are now
checked by the journal's statement-level guards, one set-based query per statement, and what
the foreign keys also promised (that the row referred to stays) is kept by triggers:

* a leg's account (``journal_legs.account_id``): ``journal_legs_guard`` refuses a leg whose
  account does not exist, in the same pass that checks currency, closed and control accounts;
  accounts can no longer be deleted or truncated, nor their id changed (``accounts_keep``):
  an account is closed, never removed, as in every ledger;
* a leg's entry (``journal_legs.entry_id``, a deferred key, since legs are written before the
  entry that seals them): the commit-time check of 0007, which already looks at every leg of
  the entries a statement touched, refuses legs whose entry does not exist at COMMIT;
* an idempotency key's entry (``idempotency_keys.entry_id``): ``idempotency_keys_guard``
  after each INSERT or UPDATE statement on the keys. Entries are never deleted (0001).

Every refusal carries SQLSTATE 23503 (foreign_key_violation), as the foreign keys' did, and a
``fundledger:`` message naming the row. SQLite keeps the three foreign keys (its checks run in
process and cost little) and gets the same guard against deleting an account or changing its
id. ``ledger.store.tables.GUARDED_REFERENCES`` names the three keys for schema comparisons.
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def sql(name: str) -> str:
    """A journal guard function as one revision wrote it, from ``migrations/sql/`` (shared by the
    migration that creates that version and the one whose downgrade restores it; never edited)."""
    return (Path(__file__).resolve().parents[1] / "sql" / f"{name}.sql").read_text(encoding="utf-8")


LEGS_GUARD = sql("fundledger_legs_guard@0008")

COMMIT_CHECK = sql("fundledger_entry_balanced@0008")

KEYS_GUARD = """
CREATE FUNCTION fundledger_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    -- Each key's entry looked up by its key (a scalar subquery: never a scan of all entries).
    SELECT n.key, n.entry_id INTO bad FROM new_keys n
    WHERE (SELECT e.id FROM journal_entries e WHERE e.id = n.entry_id) IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'fundledger: idempotency key % names entry %, which does not exist',
            bad.key, bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""

ACCOUNTS_KEEP = """
CREATE FUNCTION fundledger_accounts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'fundledger: the id of account % cannot change', OLD.code
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RAISE EXCEPTION 'fundledger: % on accounts refused: close it instead', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$
"""

UPGRADE_PG = [
    "ALTER TABLE journal_legs DROP CONSTRAINT fk_journal_legs_account_id_accounts",
    "ALTER TABLE journal_legs DROP CONSTRAINT fk_journal_legs_entry_id_journal_entries",
    "ALTER TABLE idempotency_keys DROP CONSTRAINT fk_idempotency_keys_entry_id_journal_entries",
    LEGS_GUARD,
    COMMIT_CHECK,
    KEYS_GUARD,
    """
    CREATE TRIGGER idempotency_keys_guard AFTER INSERT ON idempotency_keys
    REFERENCING NEW TABLE AS new_keys
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_keys_guard()
    """,
    """
    CREATE TRIGGER idempotency_keys_guard_update AFTER UPDATE ON idempotency_keys
    REFERENCING NEW TABLE AS new_keys
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_keys_guard()
    """,
    ACCOUNTS_KEEP,
    """
    CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION fundledger_accounts_keep()
    """,
    """
    CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION fundledger_accounts_keep()
    """,
    """
    CREATE TRIGGER accounts_keep_id BEFORE UPDATE OF id ON accounts
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id)
    EXECUTE FUNCTION fundledger_accounts_keep()
    """,
]

UPGRADE_SQLITE = [
    """
    CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts BEGIN
        SELECT RAISE(ABORT, 'fundledger: DELETE on accounts refused: close it instead');
    END
    """,
    """
    CREATE TRIGGER accounts_keep_id BEFORE UPDATE OF id ON accounts
    WHEN NEW.id IS NOT OLD.id BEGIN
        SELECT RAISE(ABORT, 'fundledger: the id of an account cannot change');
    END
    """,
]


DOWNGRADE_PG = [
    "DROP TRIGGER accounts_keep_id ON accounts",
    "DROP TRIGGER accounts_no_truncate ON accounts",
    "DROP TRIGGER accounts_no_delete ON accounts",
    "DROP FUNCTION fundledger_accounts_keep()",
    "DROP TRIGGER idempotency_keys_guard_update ON idempotency_keys",
    "DROP TRIGGER idempotency_keys_guard ON idempotency_keys",
    "DROP FUNCTION fundledger_keys_guard()",
    """
    ALTER TABLE idempotency_keys ADD CONSTRAINT fk_idempotency_keys_entry_id_journal_entries
    FOREIGN KEY (entry_id) REFERENCES journal_entries (id)
    """,
    """
    ALTER TABLE journal_legs ADD CONSTRAINT fk_journal_legs_entry_id_journal_entries
    FOREIGN KEY (entry_id) REFERENCES journal_entries (id) DEFERRABLE INITIALLY DEFERRED
    """,
    """
    ALTER TABLE journal_legs ADD CONSTRAINT fk_journal_legs_account_id_accounts
    FOREIGN KEY (account_id) REFERENCES accounts (id)
    """,
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE_PG:
            op.execute(statement)
    else:
        for statement in UPGRADE_SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        restore_0007 = [sql("fundledger_legs_guard@0007"), sql("fundledger_entry_balanced@0007")]
        for statement in DOWNGRADE_PG[:7] + restore_0007 + DOWNGRADE_PG[7:]:
            op.execute(statement)
    else:
        op.execute("DROP TRIGGER accounts_keep_id")
        op.execute("DROP TRIGGER accounts_no_delete")
