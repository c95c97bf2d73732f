"""Staff accounts in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    func,
    insert,
    or_,
    select,
    update,
)

from ledger.domain.errors import (
    Conflict,
)
from ledger.domain.users import User
from ledger.store.tables import (
    audit_log,
    auth_tokens,
    users,
)


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, *, username: str, password_hash: str, role: str, now: datetime) -> User:
        if self.find(username) is not None:
            raise Conflict(f"user {username} already exists", field="username")
        self.conn.execute(
            insert(users).values(
                username=username,
                password_hash=password_hash,
                role=role,
                active=True,
                created_at=now,
            )
        )
        user = self.find(username)
        if user is None:
            raise RuntimeError(f"user {username} was written but cannot be read back")
        return user

    def find(self, username: str) -> User | None:
        row = self.conn.execute(select(users).where(users.c.username == username)).first()
        return _user(row) if row else None

    def all(self) -> list[User]:
        return [_user(r) for r in self.conn.execute(select(users).order_by(users.c.username))]

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self.conn.execute(
            update(users).where(users.c.id == user_id).values(password_hash=password_hash)
        )

    def set_role(self, user_id: int, role: str) -> None:
        self.conn.execute(update(users).where(users.c.id == user_id).values(role=role))

    def set_language(self, user_id: int, language: str | None) -> None:
        self.conn.execute(update(users).where(users.c.id == user_id).values(language=language))

    def failed_logins_since(self, username: str, since: datetime) -> int:
        """Failed sign-ins for ``username`` since ``since`` and since its last success (the
        audit log records both, never the password)."""
        last_ok = (
            select(func.max(audit_log.c.at))
            .where(audit_log.c.actor == username, audit_log.c.action == "login")
            .scalar_subquery()
        )
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(audit_log)
                .where(
                    audit_log.c.actor == username,
                    audit_log.c.action == "login_failed",
                    audit_log.c.at >= since,
                    or_(last_ok.is_(None), audit_log.c.at > last_ok),
                )
            ).scalar_one()
        )

    def token_expiry(self, token_hash: str) -> tuple[datetime, datetime] | None:
        """(created_at, expires_at) of a live token, None if unknown or revoked."""
        row = self.conn.execute(
            select(auth_tokens.c.created_at, auth_tokens.c.expires_at).where(
                auth_tokens.c.token_hash == token_hash, auth_tokens.c.revoked_at.is_(None)
            )
        ).first()
        return (row.created_at, row.expires_at) if row else None

    def extend_token(self, token_hash: str, expires: datetime) -> None:
        self.conn.execute(
            update(auth_tokens)
            .where(auth_tokens.c.token_hash == token_hash, auth_tokens.c.revoked_at.is_(None))
            .values(expires_at=expires)
        )

    def set_active(self, user_id: int, active: bool) -> None:
        self.conn.execute(update(users).where(users.c.id == user_id).values(active=active))

    def add_token(self, *, token_hash: str, user_id: int, now: datetime, expires: datetime) -> None:
        self.conn.execute(
            insert(auth_tokens).values(
                token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires
            )
        )

    def by_token(self, token_hash: str, now: datetime) -> User | None:
        row = self.conn.execute(
            select(users)
            .join(auth_tokens, auth_tokens.c.user_id == users.c.id)
            .where(
                auth_tokens.c.token_hash == token_hash,
                auth_tokens.c.expires_at > now,
                auth_tokens.c.revoked_at.is_(None),
                users.c.active.is_(True),
            )
        ).first()
        return _user(row) if row else None

    def revoke_token(self, token_hash: str, now: datetime) -> None:
        self.conn.execute(
            update(auth_tokens)
            .where(auth_tokens.c.token_hash == token_hash, auth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def revoke_all(self, user_id: int, now: datetime) -> None:
        self.conn.execute(
            update(auth_tokens)
            .where(auth_tokens.c.user_id == user_id, auth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        active=bool(row.active),
        password_hash=row.password_hash,
        language=row.language,
    )
