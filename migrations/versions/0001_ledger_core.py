"""Ledger core: accounts, append-only hash-chained journal, month closes, users, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Besides tables and CHECK constraints this migration installs the database's own guards, so that
a bug in the application (or a person with a SQL shell) cannot slip bad data in:

* journal entries, legs, month-close events and the audit log refuse UPDATE and DELETE
  (and TRUNCATE on PostgreSQL);
* legs are written first and *sealed* by their entry: inserting the entry checks that it has at
  least two legs that sum to zero per currency, and no leg can be added to a sealed entry;
  PostgreSQL checks the balance once more in a deferred constraint trigger at commit;
* a leg must be in its account's currency, and may not go to a closed or a control account;
* no entry may be dated in a closed month.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
APPEND_ONLY = ("journal_entries", "journal_legs", "period_events", "audit_log")

SQLITE_GUARDS = [
    *(
        f"""
        CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table}
        BEGIN
            SELECT RAISE(ABORT, 'fundledger: {op_name} on {table} refused: append-only table');
        END
        """
        for table in APPEND_ONLY
        for op_name in ("UPDATE", "DELETE")
    ),
    """
    CREATE TRIGGER journal_legs_guard BEFORE INSERT ON journal_legs
    BEGIN
        SELECT RAISE(ABORT, 'fundledger: entry is already posted; no leg can be added to it')
        WHERE EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id);
        SELECT RAISE(ABORT, 'fundledger: leg currency differs from its account currency')
        WHERE (SELECT currency FROM accounts WHERE id = NEW.account_id) <> NEW.currency;
        SELECT RAISE(ABORT, 'fundledger: account is closed')
        WHERE (SELECT closed_at FROM accounts WHERE id = NEW.account_id) IS NOT NULL;
        SELECT RAISE(ABORT, 'fundledger: control account takes no direct postings')
        WHERE (SELECT is_control FROM accounts WHERE id = NEW.account_id);
    END
    """,
    """
    CREATE TRIGGER journal_entries_seal BEFORE INSERT ON journal_entries
    BEGIN
        SELECT RAISE(ABORT, 'fundledger: an entry needs at least two legs')
        WHERE (SELECT count(*) FROM journal_legs WHERE entry_id = NEW.id) < 2;
        SELECT RAISE(ABORT, 'fundledger: entry does not balance')
        WHERE EXISTS (
            SELECT 1 FROM journal_legs WHERE entry_id = NEW.id
            GROUP BY currency HAVING sum(amount_minor) <> 0
        );
        SELECT RAISE(ABORT, 'fundledger: the month of this booking date is closed')
        WHERE (
            SELECT action FROM period_events
            WHERE month = strftime('%Y-%m', NEW.booking_date)
            ORDER BY id DESC LIMIT 1
        ) = 'close';
    END
    """,
]

POSTGRES_GUARDS = [
    """
    CREATE FUNCTION fundledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'fundledger: % on % refused: the table is append-only; '
            'post a reversing entry instead', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    *(
        f"""
        CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION fundledger_refuse_change()
        """
        for table in APPEND_ONLY
    ),
    *(
        f"""
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION fundledger_refuse_change()
        """
        for table in APPEND_ONLY
    ),
    """
    CREATE FUNCTION fundledger_leg_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE acct record;
    BEGIN
        IF EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id) THEN
            RAISE EXCEPTION 'fundledger: entry % is already posted; no leg can be added to it',
                NEW.entry_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        SELECT currency, closed_at, is_control INTO acct FROM accounts WHERE id = NEW.account_id;
        IF acct.currency <> NEW.currency THEN
            RAISE EXCEPTION 'fundledger: leg currency % differs from its account currency %',
                NEW.currency, acct.currency USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF acct.closed_at IS NOT NULL THEN
            RAISE EXCEPTION 'fundledger: account % is closed', NEW.account_id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF acct.is_control THEN
            RAISE EXCEPTION 'fundledger: control account % takes no direct postings',
                NEW.account_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER journal_legs_guard BEFORE INSERT ON journal_legs
    FOR EACH ROW EXECUTE FUNCTION fundledger_leg_guard()
    """,
    """
    CREATE FUNCTION fundledger_entry_seal() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (SELECT count(*) FROM journal_legs WHERE entry_id = NEW.id) < 2 THEN
            RAISE EXCEPTION 'fundledger: entry % needs at least two legs', NEW.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF EXISTS (
            SELECT 1 FROM journal_legs WHERE entry_id = NEW.id
            GROUP BY currency HAVING sum(amount_minor) <> 0
        ) THEN
            RAISE EXCEPTION 'fundledger: entry % does not balance', NEW.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF (
            SELECT action FROM period_events
            WHERE month = to_char(NEW.booking_date, 'YYYY-MM')
            ORDER BY id DESC LIMIT 1
        ) = 'close' THEN
            RAISE EXCEPTION 'fundledger: the month of booking date % is closed', NEW.booking_date
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER journal_entries_seal BEFORE INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION fundledger_entry_seal()
    """,
    # Checked once more when the transaction commits, whatever order rows were written in.
    """
    CREATE FUNCTION fundledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM journal_legs WHERE entry_id = NEW.entry_id
            GROUP BY currency HAVING sum(amount_minor) <> 0
        ) THEN
            RAISE EXCEPTION 'fundledger: entry % does not balance at commit', NEW.entry_id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER journal_legs_balanced AFTER INSERT ON journal_legs
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fundledger_check_balanced()
    """,
]


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.Integer, nullable=True),
        sa.Column("is_control", sa.Boolean, nullable=False),
        sa.Column("no_overdraft", sa.Boolean, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("code", name="uq_accounts_code"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["accounts.id"], name="fk_accounts_parent_id_accounts"
        ),
        sa.CheckConstraint(
            "type IN ('asset','liability','equity','income','expense')", name="ck_accounts_type"
        ),
        sa.CheckConstraint("length(currency) = 3", name="ck_accounts_currency"),
        sa.CheckConstraint(
            "NOT (is_control AND parent_id IS NOT NULL)", name="ck_accounts_control_has_no_parent"
        ),
        sa.CheckConstraint(
            "NOT no_overdraft OR (type IN ('asset','expense') AND balance_minor >= 0)"
            " OR (type IN ('liability','equity','income') AND balance_minor <= 0)",
            name="ck_accounts_no_overdraft",
        ),
    )
    op.create_index("ix_accounts_parent_id", "accounts", ["parent_id"])

    op.create_table(
        "journal_entries",
        sa.Column("id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("booking_date", sa.Date, nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("loan_id", sa.String(64), nullable=True),
        sa.Column("statement_line_id", sa.String(64), nullable=True),
        sa.Column("reverses_id", sa.BigInteger, nullable=True),
        sa.Column("idempotency_key", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journal_entries"),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["journal_entries.id"],
            name="fk_journal_entries_reverses_id_journal_entries",
        ),
        sa.UniqueConstraint("reverses_id", name="uq_journal_entries_reverses_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_journal_entries_idempotency_key"),
        sa.UniqueConstraint("hash", name="uq_journal_entries_hash"),
        sa.CheckConstraint("id > 0", name="ck_journal_entries_id_positive"),
        sa.CheckConstraint(
            "reverses_id IS NULL OR reverses_id < id", name="ck_journal_entries_reverses_earlier"
        ),
        sa.CheckConstraint(
            "length(hash) = 64 AND length(prev_hash) = 64", name="ck_journal_entries_hash_length"
        ),
    )
    for column in ("booking_date", "kind", "loan_id", "statement_line_id"):
        op.create_index(f"ix_journal_entries_{column}", "journal_entries", [column])

    op.create_table(
        "journal_legs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.BigInteger, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journal_legs"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name="fk_journal_legs_entry_id_journal_entries",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_journal_legs_account_id_accounts"
        ),
        sa.CheckConstraint("amount_minor <> 0", name="ck_journal_legs_nonzero"),
        sa.CheckConstraint("length(currency) = 3", name="ck_journal_legs_currency"),
    )
    op.create_index("ix_journal_legs_entry_id", "journal_legs", ["entry_id"])
    op.create_index(
        "ix_journal_legs_account_id_entry_id", "journal_legs", ["account_id", "entry_id"]
    )

    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("last_entry_id", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chain_head"),
        sa.CheckConstraint("id = 1", name="ck_chain_head_single_row"),
    )
    op.bulk_insert(
        sa.table("chain_head", sa.column("id"), sa.column("last_entry_id"), sa.column("last_hash")),
        [{"id": 1, "last_entry_id": 0, "last_hash": "0" * 64}],
    )

    op.create_table(
        "period_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("balances", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_period_events"),
        sa.CheckConstraint("action IN ('close','reopen')", name="ck_period_events_action"),
        sa.CheckConstraint(
            "action = 'close' OR reason IS NOT NULL", name="ck_period_events_reopen_has_reason"
        ),
    )
    op.create_index("ix_period_events_month", "period_events", ["month"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.CheckConstraint(
            "role IN ('admin','caseworker','treasurer','auditor')", name="ck_users_role"
        ),
    )

    op.create_table(
        "auth_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_auth_tokens"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_auth_tokens_user_id_users"),
    )
    op.create_index("ix_auth_tokens_user_id", "auth_tokens", ["user_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=True),
        sa.Column("details", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("entry_id", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name="fk_idempotency_keys_entry_id_journal_entries",
        ),
    )

    guards = POSTGRES_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS journal_legs_guard ON journal_legs")
        op.execute("DROP TRIGGER IF EXISTS journal_entries_seal ON journal_entries")
        op.execute("DROP TRIGGER IF EXISTS journal_legs_balanced ON journal_legs")
        for function in (
            "fundledger_refuse_change",
            "fundledger_leg_guard",
            "fundledger_entry_seal",
            "fundledger_check_balanced",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for table in APPEND_ONLY:
            for op_name in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op_name}")
        op.execute("DROP TRIGGER IF EXISTS journal_legs_guard")
        op.execute("DROP TRIGGER IF EXISTS journal_entries_seal")
    for table in (
        "idempotency_keys",
        "audit_log",
        "auth_tokens",
        "users",
        "period_events",
        "chain_head",
        "journal_legs",
        "journal_entries",
        "accounts",
    ):
        op.drop_table(table)
