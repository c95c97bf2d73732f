"""Loans: beneficiaries (personal data, apart), loans, leases, schedules, payments, decisions.

The loan history tables are append-only like the journal: loan events, schedule versions and
their installments, and loan payments refuse UPDATE and DELETE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:54:46.579071
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY = ("loan_events", "schedule_versions", "installments", "loan_payments")


def _guards() -> list[str]:
    if op.get_bind().dialect.name == "postgresql":
        return [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION fundledger_refuse_change()"
            for table in APPEND_ONLY
        ] + [
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION fundledger_refuse_change()"
            for table in APPEND_ONLY
        ]
    return [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
        f"SELECT RAISE(ABORT, 'fundledger: {verb} on {table} refused: append-only table'); END"
        for table in APPEND_ONLY
        for verb in ("UPDATE", "DELETE")
    ]


def upgrade() -> None:
    op.create_table(
        "beneficiaries",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("preferred_language", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("residence_status", sa.String(length=64), nullable=True),
        sa.Column("permit_end_date", sa.Date(), nullable=True),
        sa.Column("monthly_net_income_minor", sa.BigInteger(), nullable=True),
        sa.Column("household_size", sa.Integer(), nullable=True),
        sa.Column("own_savings_minor", sa.BigInteger(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "household_size IS NULL OR household_size BETWEEN 1 AND 30",
            name=op.f("ck_beneficiaries_household"),
        ),
        sa.CheckConstraint(
            "monthly_net_income_minor IS NULL OR monthly_net_income_minor >= 0",
            name=op.f("ck_beneficiaries_income"),
        ),
        sa.CheckConstraint(
            "own_savings_minor IS NULL OR own_savings_minor >= 0",
            name=op.f("ck_beneficiaries_savings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beneficiaries")),
    )
    op.create_table(
        "loans",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("monthly_rent_minor", sa.BigInteger(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=16), nullable=False),
        sa.Column("deposit_form", sa.String(length=32), nullable=False),
        sa.Column("lease_start", sa.Date(), nullable=False),
        sa.Column("lease_end", sa.Date(), nullable=True),
        sa.Column("installments", sa.Integer(), nullable=True),
        sa.Column("monthly_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("first_due_date", sa.Date(), nullable=False),
        sa.Column("due_day", sa.Integer(), nullable=True),
        sa.Column("whole_units", sa.Boolean(), nullable=False),
        sa.Column("public_alternatives", sa.String(length=16), nullable=False),
        sa.Column("reference_kind", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("disbursement_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("written_off", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft','submitted','approved','contract_signed','active','closed',"
            "'overpaid','written_off','rejected','withdrawn')",
            name=op.f("ck_loans_status"),
        ),
        sa.CheckConstraint(
            "(installments IS NULL) <> (monthly_amount_minor IS NULL)",
            name=op.f("ck_loans_one_duration"),
        ),
        sa.CheckConstraint(
            "due_day IS NULL OR due_day BETWEEN 1 AND 31", name=op.f("ck_loans_due_day")
        ),
        sa.CheckConstraint(
            "lease_end IS NULL OR lease_end > lease_start", name=op.f("ck_loans_lease_dates")
        ),
        sa.CheckConstraint("monthly_rent_minor > 0", name=op.f("ck_loans_rent_positive")),
        sa.CheckConstraint("principal_minor > 0", name=op.f("ck_loans_principal_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_loans_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_loans_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["disbursement_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_loans_disbursement_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
        sa.UniqueConstraint("account_id", name=op.f("uq_loans_account_id")),
        sa.UniqueConstraint("number", name=op.f("uq_loans_number")),
        sa.UniqueConstraint("reference", name=op.f("uq_loans_reference")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loans_beneficiary_id"), ["beneficiary_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_loans_status"), ["status"], unique=False)

    op.create_table(
        "deposit_releases",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=False),
        sa.Column("returned_minor", sa.BigInteger(), nullable=False),
        sa.Column("kept_minor", sa.BigInteger(), nullable=False),
        sa.Column("kept_reason", sa.String(length=500), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "returned_minor + kept_minor > 0", name=op.f("ck_deposit_releases_something")
        ),
        sa.CheckConstraint(
            "returned_minor >= 0 AND kept_minor >= 0", name=op.f("ck_deposit_releases_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_deposit_releases_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_deposit_releases_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_releases")),
    )
    with op.batch_alter_table("deposit_releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deposit_releases_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "eligibility_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("rules_fingerprint", sa.String(length=16), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("override_by", sa.String(length=64), nullable=True),
        sa.Column("override_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('pass','review','fail')", name=op.f("ck_eligibility_decisions_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_eligibility_decisions_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_decisions")),
    )
    with op.batch_alter_table("eligibility_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eligibility_decisions_loan_id"), ["loan_id"], unique=False
        )

    op.create_table(
        "leases",
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("landlord_name", sa.String(length=200), nullable=True),
        sa.Column("property_address", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_leases_loan_id_loans")),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_leases")),
    )
    op.create_table(
        "loan_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_loan_events_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_events_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_events")),
    )
    with op.batch_alter_table("loan_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_events_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "loan_payments",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "kind IN ('repayment','deposit_release','recovery')", name=op.f("ck_loan_payments_kind")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_loan_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_loan_payments_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_payments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_loan_payments")),
    )
    with op.batch_alter_table("loan_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_payments_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "schedule_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_schedule_versions_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_versions")),
        sa.UniqueConstraint("loan_id", "version", name="uq_schedule_versions_loan_version"),
    )
    op.create_table(
        "write_offs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("loan_id", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('proposed','approved','rejected')", name=op.f("ck_write_offs_status")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_write_offs_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_write_offs_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_offs")),
    )
    with op.batch_alter_table("write_offs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_write_offs_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "installments",
        sa.Column("schedule_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_installments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedule_versions.id"],
            name=op.f("fk_installments_schedule_id_schedule_versions"),
        ),
        sa.PrimaryKeyConstraint("schedule_id", "number", name=op.f("pk_installments")),
    )
    for statement in _guards():
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("installments")
    with op.batch_alter_table("write_offs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_write_offs_loan_id"))

    op.drop_table("write_offs")
    op.drop_table("schedule_versions")
    with op.batch_alter_table("loan_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_payments_loan_id"))

    op.drop_table("loan_payments")
    with op.batch_alter_table("loan_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_events_loan_id"))

    op.drop_table("loan_events")
    op.drop_table("leases")
    with op.batch_alter_table("eligibility_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eligibility_decisions_loan_id"))

    op.drop_table("eligibility_decisions")
    with op.batch_alter_table("deposit_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deposit_releases_loan_id"))

    op.drop_table("deposit_releases")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loans_status"))
        batch_op.drop_index(batch_op.f("ix_loans_beneficiary_id"))

    op.drop_table("loans")
    op.drop_table("beneficiaries")
