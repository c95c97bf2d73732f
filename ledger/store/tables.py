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
)
from sqlalchemy.types import TypeDecorator

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

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"unexpected timestamp {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ACCOUNT_TYPES = "('asset','liability','equity','income','expense')"
USER_ROLES = "('admin','caseworker','treasurer','auditor')"

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
    Column("kind", String(32), nullable=False, index=True),
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
    CheckConstraint("action IN ('close','reopen')", name="action"),
    CheckConstraint("action = 'close' OR reason IS NOT NULL", name="reopen_has_reason"),
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
