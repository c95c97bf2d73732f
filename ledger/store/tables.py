"""The schema as SQLAlchemy Core tables.

Alembic migrations in ``migrations/versions`` create and change the real schema; this module
must describe the same thing (a test compares them on both engines). Database guards that go
beyond constraints (triggers) live in the migrations, next to their downgrade.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

from ledger.domain.accounts import AccountType
from ledger.domain.documents import DocumentKind
from ledger.domain.eligibility import Outcome
from ledger.domain.roles import Role
from ledger.domain.statuses import (
    CloseRequestStatus,
    LineState,
    LoanStatus,
    PaymentFileStatus,
    PaymentKind,
    PayoutKind,
    PeriodAction,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    SignatureMethod,
    WriteOffStatus,
    sql_in_list,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back time-zone aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass a time-zone aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"unexpected timestamp {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Foreign keys that PostgreSQL checks in the journal's statement-level guards instead of with
#: a query per row (migration 0008); SQLite keeps them as declared here.
GUARDED_REFERENCES = frozenset(
    {
        "fk_journal_legs_account_id_accounts",
        "fk_journal_legs_entry_id_journal_entries",
        "fk_idempotency_keys_entry_id_journal_entries",
    }
)


def include_in_comparison(
    _obj: object,
    name: str | None,
    type_: str,
    _reflected: bool,
    _compare_to: object,
    dialect: str,
) -> bool:
    """For schema comparisons (Alembic's ``include_object``): on PostgreSQL the guarded
    references are checked by triggers, not declared."""
    return not (
        dialect == "postgresql" and type_ == "foreign_key_constraint" and name in GUARDED_REFERENCES
    )


ACCOUNT_TYPES = sql_in_list(AccountType)
USER_ROLES = sql_in_list(Role)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("type", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("role", String(32), nullable=False),
    Column("parent_id", Integer, ForeignKey("accounts.id"), nullable=True, index=True),
    Column("is_control", Boolean, nullable=False),
    Column("no_overdraft", Boolean, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("balance_minor", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(f"type IN {ACCOUNT_TYPES}", name="type"),
    CheckConstraint("length(currency) = 3", name="currency"),
    CheckConstraint("NOT (is_control AND parent_id IS NOT NULL)", name="control_has_no_parent"),
    CheckConstraint(
        "NOT no_overdraft OR (type IN ('asset','expense') AND balance_minor >= 0)"
        " OR (type IN ('liability','equity','income') AND balance_minor <= 0)",
        name="no_overdraft",
    ),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("booking_date", Date, nullable=False, index=True),
    Column("description", String(500), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("author", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("loan_id", String(64), nullable=True, index=True),
    Column("statement_line_id", String(64), nullable=True, index=True),
    Column("reverses_id", BigInteger, ForeignKey("journal_entries.id"), nullable=True, unique=True),
    Column("idempotency_key", String(64), nullable=True, unique=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    CheckConstraint("id > 0", name="id_positive"),
    CheckConstraint("reverses_id IS NULL OR reverses_id < id", name="reverses_earlier"),
    CheckConstraint("length(hash) = 64 AND length(prev_hash) = 64", name="hash_length"),
    # The auditor's journal is read newest entry first, a page from the last entry seen: a
    # filter on who booked and the kind, or the kind, reads its page and count from one of
    # these (migration 0015).
    Index("ix_journal_entries_author_kind_id", "author", "kind", "id"),
    Index("ix_journal_entries_kind_id", "kind", "id"),
)

journal_legs = Table(
    "journal_legs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "entry_id",
        BigInteger,
        # Legs are written before the entry that seals them (see the migration's triggers).
        ForeignKey("journal_entries.id", deferrable=True, initially="DEFERRED"),
        nullable=False,
        index=True,
    ),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    CheckConstraint("amount_minor <> 0", name="nonzero"),
    CheckConstraint("length(currency) = 3", name="currency"),
    Index("ix_journal_legs_account_id_entry_id", "account_id", "entry_id"),
    # The journal filtered by an amount on an account: that account's legs between the amounts
    # (migration 0015).
    Index("ix_journal_legs_account_amount", "account_id", "currency", "amount_minor", "entry_id"),
)

chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_entry_id", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

period_events = Table(
    "period_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("month", String(7), nullable=False, index=True),
    Column("action", String(8), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=True),
    Column("balances", Text, nullable=True),
    CheckConstraint(f"action IN {sql_in_list(PeriodAction)}", name="action"),
    CheckConstraint("action = 'close' OR reason IS NOT NULL", name="reopen_has_reason"),
)

#: A month's close in two steps (migration 0012): one person asks, another signs it off (the
#: sign-off records the close in ``period_events``); the database refuses a sign-off by the
#: person who asked.
close_requests = Table(
    "close_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("month", String(7), nullable=False, index=True),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=True),
    Column("status", String(12), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("close_event_id", BigInteger, ForeignKey("period_events.id"), nullable=True),
    CheckConstraint(f"status IN {sql_in_list(CloseRequestStatus)}", name="status"),
    CheckConstraint(
        "status = 'requested' OR (decided_by IS NOT NULL AND decided_at IS NOT NULL)",
        name="decided",
    ),
    CheckConstraint(
        "status <> 'signed_off' OR (decided_by <> requested_by AND close_event_id IS NOT NULL)",
        name="four_eyes",
    ),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("language", String(16), nullable=True),  # the web application's; NULL: the fund's
    CheckConstraint(f"role IN {USER_ROLES}", name="role"),
)

auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(128), nullable=True),
    Column("details", Text, nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("command", String(32), nullable=False),
    Column("request", Text, nullable=False),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# PostgreSQL's commit-time balance check, queued once per INSERT statement on the journal: a
# row per statement, deleted by the check itself at COMMIT (migration 0007). Always empty
# between transactions; unused on SQLite, whose guards are row triggers.
journal_commit_checks = Table(
    "journal_commit_checks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("first_entry_id", BigInteger, nullable=False),
    Column("last_entry_id", BigInteger, nullable=False),
)


# -- loans (migration 0002) ------------------------------------------------------------------

LOAN_STATUSES = sql_in_list(LoanStatus)

#: Personal data of beneficiaries: apart from the ledger, erasable, read only by caseworkers and
#: admins (every read audited). The ledger and loans know only the opaque id.
beneficiaries = Table(
    "beneficiaries",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("full_name", String(200), nullable=True),
    Column("preferred_language", String(16), nullable=True),
    Column("email", String(254), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("residence_status", String(64), nullable=True),
    Column("permit_end_date", Date, nullable=True),
    Column("monthly_net_income_minor", BigInteger, nullable=True),
    Column("household_size", Integer, nullable=True),
    Column("own_savings_minor", BigInteger, nullable=True),
    Column("erased_at", UTCDateTime, nullable=True),
    Column("erased_by", String(64), nullable=True),
    CheckConstraint(
        "monthly_net_income_minor IS NULL OR monthly_net_income_minor >= 0", name="income"
    ),
    CheckConstraint("own_savings_minor IS NULL OR own_savings_minor >= 0", name="savings"),
    CheckConstraint("household_size IS NULL OR household_size BETWEEN 1 AND 30", name="household"),
    # Where a refund of the beneficiary's credit is paid (migration 0006); erased with the rest.
    Column("iban", String(34), nullable=True),
    # The person asked for no payment reminders by e-mail (migration 0014).
    Column("reminders_opt_out", Boolean, nullable=False, server_default=false()),
)

loans = Table(
    "loans",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("number", Integer, nullable=False, unique=True),
    Column(
        "beneficiary_id", String(16), ForeignKey("beneficiaries.id"), nullable=False, index=True
    ),
    Column("status", String(16), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("monthly_rent_minor", BigInteger, nullable=False),
    Column("jurisdiction", String(16), nullable=False),
    Column("deposit_form", String(32), nullable=False),
    Column("lease_start", Date, nullable=False),
    Column("lease_end", Date, nullable=True),
    Column("installments", Integer, nullable=True),
    Column("monthly_amount_minor", BigInteger, nullable=True),
    Column("first_due_date", Date, nullable=False),
    Column("due_day", Integer, nullable=True),
    Column("whole_units", Boolean, nullable=False),
    Column("public_alternatives", String(16), nullable=False),
    Column("reference_kind", String(8), nullable=False),
    Column("reference", String(32), nullable=False, unique=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=True, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("submitted_by", String(64), nullable=True),
    Column("approved_by", String(64), nullable=True),
    Column("disbursement_entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=True),
    Column("written_off", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    # The key of the web form that opened the application (migration 0010): sent twice, one loan.
    Column("opening_key", String(64), nullable=True),
    Index("ix_loans_opening_key", "opening_key", unique=True),
    CheckConstraint(f"status IN {LOAN_STATUSES}", name="status"),
    CheckConstraint("principal_minor > 0", name="principal_positive"),
    CheckConstraint("monthly_rent_minor > 0", name="rent_positive"),
    CheckConstraint("lease_end IS NULL OR lease_end > lease_start", name="lease_dates"),
    CheckConstraint(
        "(installments IS NULL) <> (monthly_amount_minor IS NULL)", name="one_duration"
    ),
    CheckConstraint("due_day IS NULL OR due_day BETWEEN 1 AND 31", name="due_day"),
)

#: The lease's landlord and address reveal where the person lives: personal data too.
leases = Table(
    "leases",
    metadata,
    Column("loan_id", String(16), ForeignKey("loans.id"), primary_key=True),
    Column("landlord_name", String(200), nullable=True),
    Column("property_address", String(500), nullable=True),
    # Where the deposit is paid (migration 0006).
    Column("landlord_iban", String(34), nullable=True),
)

loan_events = Table(
    "loan_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=True),
)

schedule_versions = Table(
    "schedule_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("reason", String(500), nullable=False),
    UniqueConstraint("loan_id", "version", name="uq_schedule_versions_loan_version"),
)

installments = Table(
    "installments",
    metadata,
    Column("schedule_id", BigInteger, ForeignKey("schedule_versions.id"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("due_date", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
)

#: Money received for a loan (repayments, deposit releases, recoveries): each row points at
#: its journal entry; a reversed entry drops out of the allocation.
loan_payments = Table(
    "loan_payments",
    metadata,
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), primary_key=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=False, index=True),
    Column("received_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint(f"kind IN {sql_in_list(PaymentKind)}", name="kind"),
)

eligibility_decisions = Table(
    "eligibility_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("rules_version", String(64), nullable=False),
    Column("rules_fingerprint", String(16), nullable=False),
    Column("facts", Text, nullable=False),
    Column("results", Text, nullable=False),
    Column("override_by", String(64), nullable=True),
    Column("override_at", UTCDateTime, nullable=True),
    Column("override_reason", Text, nullable=True),
    CheckConstraint(f"outcome IN {sql_in_list(Outcome)}", name="outcome"),
)

deposit_releases = Table(
    "deposit_releases",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=False, index=True),
    Column("released_on", Date, nullable=False),
    Column("returned_minor", BigInteger, nullable=False),
    Column("kept_minor", BigInteger, nullable=False),
    Column("kept_reason", String(500), nullable=True),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=True),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    CheckConstraint("returned_minor >= 0 AND kept_minor >= 0", name="amounts"),
    CheckConstraint("returned_minor + kept_minor > 0", name="something"),
    # A release that posts nothing (all kept) still answers a retry (migration 0006).
    Column("idempotency_key", String(64), nullable=True),
    Index("ix_deposit_releases_idempotency_key", "idempotency_key", unique=True),
)

write_offs = Table(
    "write_offs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=False, index=True),
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at", UTCDateTime, nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("status", String(12), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=True),
    CheckConstraint(f"status IN {sql_in_list(WriteOffStatus)}", name="status"),
)


# -- the arrears projection (migration 0011) --------------------------------------------------

#: Each loan's arrears as of any day, as steps in time (``ledger.domain.arrears``): kept by the
#: unit of work at every commit that touched the loan, checked by ``verify``, rebuilt by
#: ``fundledger loan arrears-rebuild``. Only the days a loan owes something have a step.
#: The two covering indexes serve "the steps valid on D" from either end: the steps ending
#: after D (few for a recent D) or those starting by D (few for an old one).
loan_arrears = Table(
    "loan_arrears",
    metadata,
    Column("loan_id", String(16), ForeignKey("loans.id"), primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("valid_to", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("outstanding_minor", BigInteger, nullable=False),
    Column("late_since", Date, nullable=True),
    # The loan's caseworker (``loans.created_by``, never changed), copied: the list filters
    # by it from the index alone, without a join to every loan.
    Column("caseworker", String(64), nullable=False),
    CheckConstraint("outstanding_minor > 0", name="outstanding_positive"),
    CheckConstraint("valid_from < valid_to", name="interval"),
    Index(
        "ix_loan_arrears_ending",
        "currency",
        "valid_to",
        "valid_from",
        "late_since",
        "outstanding_minor",
        "loan_id",
        "caseworker",
    ),
    Index(
        "ix_loan_arrears_starting",
        "currency",
        "valid_from",
        "valid_to",
        "late_since",
        "outstanding_minor",
        "loan_id",
        "caseworker",
    ),
)

# -- documents (migration 0003) --------------------------------------------------------------

DOCUMENT_KINDS = sql_in_list(DocumentKind)

#: Contracts, signed scans, signed contracts and schedules: each a file in the content-addressed
#: store (``sha256``) with who made or signed it and when. A row never changes, except that it
#: can be voided once (a new amount or schedule voids a contract version); none is deleted.
documents = Table(
    "documents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("contract_version", Integer, nullable=True),
    Column("schedule_version", Integer, nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("language", String(16), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("source_id", BigInteger, ForeignKey("documents.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("beneficiary_method", String(16), nullable=True),
    Column("signed_by_beneficiary_at", UTCDateTime, nullable=True),
    Column("signed_by_fund_at", UTCDateTime, nullable=True),
    Column("signer", String(200), nullable=True),
    Column("signer_cert_sha256", String(64), nullable=True),
    Column("voided_at", UTCDateTime, nullable=True),
    Column("voided_by", String(64), nullable=True),
    Column("void_reason", String(500), nullable=True),
    CheckConstraint(f"kind IN {DOCUMENT_KINDS}", name="kind"),
    CheckConstraint(
        "kind = 'schedule' OR (contract_version IS NOT NULL AND contract_version >= 1)",
        name="contract_version",
    ),
    CheckConstraint("length(sha256) = 64", name="sha256"),
    CheckConstraint("size > 0", name="size"),
    CheckConstraint(
        f"beneficiary_method IS NULL OR beneficiary_method IN {sql_in_list(SignatureMethod)}",
        name="beneficiary_method",
    ),
    CheckConstraint(
        "kind NOT IN ('beneficiary_scan','beneficiary_signed') OR (source_id IS NOT NULL"
        " AND beneficiary_method IS NOT NULL AND signed_by_beneficiary_at IS NOT NULL)",
        name="beneficiary_signed",
    ),
    CheckConstraint(
        "kind <> 'signed_contract' OR (source_id IS NOT NULL AND beneficiary_method IS NOT NULL"
        " AND signed_by_beneficiary_at IS NOT NULL AND signed_by_fund_at IS NOT NULL"
        " AND signer IS NOT NULL AND signer_cert_sha256 IS NOT NULL)",
        name="fund_signed",
    ),
    CheckConstraint(
        "(voided_at IS NULL AND voided_by IS NULL AND void_reason IS NULL)"
        " OR (voided_at IS NOT NULL AND voided_by IS NOT NULL AND void_reason IS NOT NULL)",
        name="void",
    ),
)

#: A beneficiary's personal link to their own schedule: only the SHA-256 of the token is kept.
#: A link can be revoked once; none is deleted.
access_links = Table(
    "access_links",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", String(64), nullable=True),
    CheckConstraint("length(token_hash) = 64", name="token_hash"),
    CheckConstraint("expires_at > created_at", name="expiry"),
    CheckConstraint(
        "(revoked_at IS NULL AND revoked_by IS NULL)"
        " OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL)",
        name="revoked",
    ),
)


# -- bank statements (migration 0004) ------------------------------------------------------

LINE_STATES = sql_in_list(LineState)

#: The fund's accounts at the bank, each mirrored by one ledger account (e.g. 1000 Bank).
bank_accounts = Table(
    "bank_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("iban", String(34), nullable=False, unique=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, unique=True),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    CheckConstraint("length(currency) = 3", name="currency"),
)

#: Statements as imported: append-only; each adds up (the CHECK is the arithmetic).
bank_statements = Table(
    "bank_statements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("bank_account_id", Integer, ForeignKey("bank_accounts.id"), nullable=False),
    Column("statement_key", String(64), nullable=False),
    Column("source_format", String(40), nullable=False),
    Column("sequence", BigInteger, nullable=True),
    Column("opening_minor", BigInteger, nullable=False),
    Column("opening_date", Date, nullable=True),
    Column("closing_minor", BigInteger, nullable=False),
    Column("closing_date", Date, nullable=True),
    Column("credits_minor", BigInteger, nullable=False),
    Column("debits_minor", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("new_entries", Integer, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("imported_by", String(64), nullable=False),
    UniqueConstraint("bank_account_id", "statement_key", name="uq_bank_statements_account_key"),
    CheckConstraint("opening_minor + credits_minor - debits_minor = closing_minor", name="adds_up"),
    CheckConstraint("credits_minor >= 0 AND debits_minor >= 0", name="totals"),
    CheckConstraint("new_entries BETWEEN 0 AND entries", name="new_entries"),
)

#: One movement on the bank account, booked once whatever statements bring it again. What the
#: bank said never changes (a trigger refuses it); how it is matched does, and every change is
#: kept in ``statement_matches``. The payer's name and IBAN are not kept: only a keyed hash
#: of the IBAN, and the free text only until the line is matched.
statement_lines = Table(
    "statement_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # What journal entries carry as their statement_line_id: derived from the account and key.
    Column("ref", String(32), nullable=False, unique=True),
    Column("bank_account_id", Integer, ForeignKey("bank_accounts.id"), nullable=False),
    Column(
        "statement_id", BigInteger, ForeignKey("bank_statements.id"), nullable=False, index=True
    ),
    Column("line_key", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("booking_date", Date, nullable=False),
    Column("value_date", Date, nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reversal", Boolean, nullable=False),
    Column("end_to_end_id", String(64), nullable=True),
    Column("payment_reference", String(40), nullable=True),
    Column("bank_code", String(35), nullable=True),
    Column("return_reason", String(35), nullable=True),
    Column("counterparty_digest", String(64), nullable=True, index=True),
    Column("remittance", String(500), nullable=True),
    Column("state", String(16), nullable=False, index=True),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=True, index=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=True, index=True),
    Column("suggested_loan_id", String(16), ForeignKey("loans.id"), nullable=True),
    Column("note", String(300), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("bank_account_id", "line_key", name="uq_statement_lines_account_key"),
    CheckConstraint(f"state IN {LINE_STATES}", name="state"),
    CheckConstraint(
        "state IN ('unmatched','ignored') OR entry_id IS NOT NULL", name="booked_has_entry"
    ),
    CheckConstraint("state <> 'loan' OR loan_id IS NOT NULL", name="loan_has_loan"),
    CheckConstraint("amount_minor <> 0 OR state = 'ignored'", name="zero_ignored"),
)

#: The lines waiting for the treasurer, in the matching queue's order (migration 0013): a page
#: and the count read this small index, not every line of the month.
WAITING_LINES = (LineState.UNIDENTIFIED.value, LineState.UNMATCHED.value)
Index(
    "ix_statement_lines_waiting",
    statement_lines.c.booking_date,
    statement_lines.c.id,
    postgresql_where=statement_lines.c.state.in_(WAITING_LINES),
    sqlite_where=statement_lines.c.state.in_(WAITING_LINES),
)

#: Every matching decision on a line, automatic or by hand: append-only.
statement_matches = Table(
    "statement_matches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("line_id", BigInteger, ForeignKey("statement_lines.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=True),
    Column("reversal_entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=True),
    Column("loan_id", String(16), nullable=True),
    Column("reason", String(500), nullable=True),
    # The key of the web form that made this match (migration 0013): sent again, no new match.
    Column("form_key", String(64), nullable=True),
    CheckConstraint(f"state IN {LINE_STATES}", name="state"),
    Index("ix_statement_matches_form_key", "form_key", unique=True),
)

#: How to read each bank's CSV export (JSON of ``ledger.bank.csv_statement.CsvMapping``).
csv_mappings = Table(
    "csv_mappings",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("mapping", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
)


# -- payment files (migration 0006) ----------------------------------------------------------

PAYMENT_FILE_STATUSES = sql_in_list(PaymentFileStatus)

#: SEPA credit transfer files (pain.001) made for the bank: created, then sent or cancelled.
payment_files = Table(
    "payment_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", String(35), nullable=False, unique=True),
    Column("bank_account_id", Integer, ForeignKey("bank_accounts.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("execution_date", Date, nullable=False),
    Column("transfers", Integer, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("sent_by", String(64), nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("cancelled_by", String(64), nullable=True),
    Column("cancel_reason", String(500), nullable=True),
    CheckConstraint(f"status IN {PAYMENT_FILE_STATUSES}", name="status"),
    CheckConstraint("transfers > 0 AND total_minor > 0", name="totals"),
    CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_when"),
    CheckConstraint("status <> 'cancelled' OR cancel_reason IS NOT NULL", name="cancel_reason"),
)

#: The disbursements and refunds a file pays (append-only). No names or IBANs: those stay with
#: the lease and the beneficiary.
payment_file_items = Table(
    "payment_file_items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("file_id", BigInteger, ForeignKey("payment_files.id"), nullable=False, index=True),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("end_to_end_id", String(35), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("loan_id", String(16), nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    UniqueConstraint("file_id", "entry_id", name="uq_payment_file_items_file_entry"),
    CheckConstraint("amount_minor > 0", name="amount"),
    CheckConstraint(f"kind IN {sql_in_list(PayoutKind)}", name="kind"),
)


# -- payment reminders (migration 0014) ------------------------------------------------------

#: Each payment reminder of a loan (docs/reminders.md), once per loan, kind, the day that names
#: it (the installment's due date, or the late episode's first day) and channel: the daily run
#: sends each once however often it runs. No personal data (no address, name or amount).
reminders = Table(
    "reminders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("loan_id", String(16), ForeignKey("loans.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("channel", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("day", Date, nullable=False),  # the fund's day it was last sent, tried or printed
    Column("days_late", Integer, nullable=False),
    Column("language", String(16), nullable=True),  # the language it was written in
    Column("attempts", Integer, nullable=False),  # e-mails tried, letters printed
    Column("reason", String(32), nullable=True),  # why skipped: opted_out, no_email, erased
    Column("error", String(500), nullable=True),  # the SMTP server's answer, addresses blanked
    Column("message_id", String(255), nullable=True),
    Column("link_id", BigInteger, ForeignKey("access_links.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "loan_id", "kind", "due_date", "channel", name="uq_reminders_loan_kind_due_channel"
    ),
    CheckConstraint(f"kind IN {sql_in_list(ReminderKind)}", name="kind"),
    CheckConstraint(f"channel IN {sql_in_list(ReminderChannel)}", name="channel"),
    CheckConstraint(f"status IN {sql_in_list(ReminderStatus)}", name="status"),
    CheckConstraint("attempts >= 0 AND days_late >= 0", name="counts"),
    CheckConstraint("status <> 'skipped' OR reason IS NOT NULL", name="skipped_why"),
    CheckConstraint("status <> 'failed' OR error IS NOT NULL", name="failed_why"),
    CheckConstraint("(channel = 'letter') = (status = 'printed')", name="letter"),
)
