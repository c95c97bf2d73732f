"""Bank statements: the fund's bank accounts, imported statements and their lines, the history
of every match, and saved CSV column mappings.

Guards, on both engines:
* statements and the match history are append-only;
* a statement line is never deleted, and what the bank said (account, key, dates, amount,
  references) never changes: only how the line is matched does, and ``statement_matches``
  keeps each change;
* a statement adds up (CHECK opening + credits - debits = closing); a line is unique per bank
  account and key (the bank's reference or a fingerprint), so it is booked once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
STATES = "('loan','unidentified','linked','charge','returned','manual','unmatched','ignored')"
APPEND_ONLY = ("bank_statements", "statement_matches")
#: What the bank said about a line: never updated.
FIXED_LINE_COLUMNS = (
    "id",
    "ref",
    "bank_account_id",
    "statement_id",
    "line_key",
    "position",
    "booking_date",
    "value_date",
    "amount_minor",
    "currency",
    "reversal",
    "end_to_end_id",
    "payment_reference",
    "bank_code",
    "return_reason",
    "counterparty_digest",
)


def _guards() -> list[str]:
    fixed = ", ".join(FIXED_LINE_COLUMNS)
    if op.get_bind().dialect.name == "postgresql":
        return [
            *(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION fundledger_refuse_change()"
                for table in APPEND_ONLY
            ),
            *(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION fundledger_refuse_change()"
                for table in (*APPEND_ONLY, "statement_lines")
            ),
            "CREATE TRIGGER statement_lines_no_delete BEFORE DELETE ON statement_lines "
            "FOR EACH ROW EXECUTE FUNCTION fundledger_refuse_change()",
            f"CREATE TRIGGER statement_lines_fixed BEFORE UPDATE OF {fixed} ON statement_lines "
            "FOR EACH ROW EXECUTE FUNCTION fundledger_refuse_change()",
        ]
    return [
        *(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'fundledger: {verb} on {table} refused: append-only table'); END"
            for table in APPEND_ONLY
            for verb in ("UPDATE", "DELETE")
        ),
        "CREATE TRIGGER statement_lines_no_delete BEFORE DELETE ON statement_lines BEGIN "
        "SELECT RAISE(ABORT, 'fundledger: DELETE on statement_lines refused: a statement line "
        "is kept for good'); END",
        f"CREATE TRIGGER statement_lines_fixed BEFORE UPDATE OF {fixed} ON statement_lines "
        "BEGIN SELECT RAISE(ABORT, 'fundledger: UPDATE of what the bank said on "
        "statement_lines refused; only the match changes'); END",
    ]


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_bank_accounts_currency")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bank_accounts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_accounts")),
        sa.UniqueConstraint("account_id", name=op.f("uq_bank_accounts_account_id")),
        sa.UniqueConstraint("iban", name=op.f("uq_bank_accounts_iban")),
    )
    op.create_table(
        "bank_statements",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("statement_key", sa.String(length=64), nullable=False),
        sa.Column("source_format", sa.String(length=40), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("opening_minor", sa.BigInteger(), nullable=False),
        sa.Column("opening_date", sa.Date(), nullable=True),
        sa.Column("closing_minor", sa.BigInteger(), nullable=False),
        sa.Column("closing_date", sa.Date(), nullable=True),
        sa.Column("credits_minor", sa.BigInteger(), nullable=False),
        sa.Column("debits_minor", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("new_entries", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "opening_minor + credits_minor - debits_minor = closing_minor",
            name=op.f("ck_bank_statements_adds_up"),
        ),
        sa.CheckConstraint(
            "credits_minor >= 0 AND debits_minor >= 0", name=op.f("ck_bank_statements_totals")
        ),
        sa.CheckConstraint(
            "new_entries BETWEEN 0 AND entries", name=op.f("ck_bank_statements_new_entries")
        ),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_accounts.id"],
            name=op.f("fk_bank_statements_bank_account_id_bank_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statements")),
        sa.UniqueConstraint(
            "bank_account_id", "statement_key", name="uq_bank_statements_account_key"
        ),
    )
    op.create_table(
        "statement_lines",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("line_key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=64), nullable=True),
        sa.Column("payment_reference", sa.String(length=40), nullable=True),
        sa.Column("bank_code", sa.String(length=35), nullable=True),
        sa.Column("return_reason", sa.String(length=35), nullable=True),
        sa.Column("counterparty_digest", sa.String(length=64), nullable=True),
        sa.Column("remittance", sa.String(length=500), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("loan_id", sa.String(length=16), nullable=True),
        sa.Column("suggested_loan_id", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(f"state IN {STATES}", name=op.f("ck_statement_lines_state")),
        sa.CheckConstraint(
            "state IN ('unmatched','ignored') OR entry_id IS NOT NULL",
            name=op.f("ck_statement_lines_booked_has_entry"),
        ),
        sa.CheckConstraint(
            "state <> 'loan' OR loan_id IS NOT NULL", name=op.f("ck_statement_lines_loan_has_loan")
        ),
        sa.CheckConstraint(
            "amount_minor <> 0 OR state = 'ignored'", name=op.f("ck_statement_lines_zero_ignored")
        ),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_accounts.id"],
            name=op.f("fk_statement_lines_bank_account_id_bank_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_statement_lines_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_statement_lines_loan_id_loans")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bank_statements.id"],
            name=op.f("fk_statement_lines_statement_id_bank_statements"),
        ),
        sa.ForeignKeyConstraint(
            ["suggested_loan_id"],
            ["loans.id"],
            name=op.f("fk_statement_lines_suggested_loan_id_loans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_lines")),
        sa.UniqueConstraint("bank_account_id", "line_key", name="uq_statement_lines_account_key"),
        sa.UniqueConstraint("ref", name=op.f("uq_statement_lines_ref")),
    )
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        for column in ("statement_id", "counterparty_digest", "state", "entry_id", "loan_id"):
            batch_op.create_index(
                batch_op.f(f"ix_statement_lines_{column}"), [column], unique=False
            )
    op.create_table(
        "statement_matches",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("reversal_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("loan_id", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(f"state IN {STATES}", name=op.f("ck_statement_matches_state")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_statement_matches_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["statement_lines.id"],
            name=op.f("fk_statement_matches_line_id_statement_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["reversal_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_statement_matches_reversal_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_matches")),
    )
    with op.batch_alter_table("statement_matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statement_matches_line_id"), ["line_id"], unique=False)
    op.create_table(
        "csv_mappings",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_csv_mappings")),
    )
    for statement in _guards():
        op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its triggers on both engines.
    op.drop_table("csv_mappings")
    with op.batch_alter_table("statement_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_matches_line_id"))
    op.drop_table("statement_matches")
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        for column in ("loan_id", "entry_id", "state", "counterparty_digest", "statement_id"):
            batch_op.drop_index(batch_op.f(f"ix_statement_lines_{column}"))
    op.drop_table("statement_lines")
    op.drop_table("bank_statements")
    op.drop_table("bank_accounts")
