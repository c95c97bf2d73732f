"""Users, passwords (Argon2), bearer tokens and the web application's sessions (a token kept in
an HttpOnly cookie, extended while it is used), sign-in throttling, each user's language."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ledger.domain.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    TooManyAttempts,
    ValidationError,
)
from ledger.domain.roles import Actor, Permission, Role
from ledger.domain.users import User
from ledger.store.uow import UnitOfWork

MIN_PASSWORD = 12
MAX_PASSWORD = 256
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
#: After this many failed sign-ins of one username within THROTTLE_WINDOW (and since its last
#: success), sign-in is refused for that username until the window has passed: a password is
#: not guessed at the speed of a script. Every attempt is in the audit log.
MAX_FAILED_LOGINS = 5
THROTTLE_WINDOW = timedelta(minutes=15)
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


#: The 10,000 most common passwords (the file's header says where they come from).
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
#: What may be put around a common password without making it less common: "Monkey2024!".
_PADDING = "0123456789" + string.punctuation + " "


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("# "))


def common_password(password: str) -> bool:
    """One of the 10,000 most common, in any case, or one with digits and punctuation around."""
    lowered = password.lower()
    core = lowered.strip(_PADDING)
    common = _common_passwords()
    return lowered in common or (len(core) >= 4 and core in common)


def _holds_username(password: str, username: str) -> bool:
    """The username, or a part of it (``marie`` of ``marie.dupont``), of 4 characters or more:
    shorter ones are everywhere (``cor`` in ``correct``)."""
    if not isinstance(username, str):
        return False
    parts = {username.lower(), *re.split(r"[._-]", username.lower())}
    return any(len(part) >= 4 and part in password.lower() for part in parts)


def _check_password(password: str, username: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(
            f"password must have at least {MIN_PASSWORD} characters", field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise ValidationError(f"password may have at most {MAX_PASSWORD} characters", "password")
    if _holds_username(password, username):
        raise ValidationError(
            "password must not contain the username (or a part of it); choose words that have "
            "nothing to do with the account",
            "password",
        )
    if common_password(password):
        raise ValidationError(
            "password is one of the most common passwords (or one with digits added), the "
            "first ones tried by anyone guessing; choose another, e.g. a few unrelated words",
            "password",
        )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(uow: UnitOfWork, actor: Actor, username: str, password: str, role: str) -> User:
    actor.require(Permission.USERS_MANAGE)
    if not isinstance(username, str) or not USERNAME.match(username):
        raise ValidationError(
            "username must be 2 to 64 lowercase letters, digits, '.', '_' or '-'", field="username"
        )
    try:
        parsed = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationError(
            f"role {role!r} is unknown; use one of {allowed}", "role", key="err.user.role"
        ) from None
    _check_password(password, username)
    with uow:
        user = uow.users.add(
            username=username, password_hash=_hasher.hash(password), role=parsed, now=uow.now()
        )
        uow.audit_event(
            actor,
            action="create_user",
            target=f"user:{username}",
            details={"role": parsed.value},
        )
        uow.commit()
    return user


def list_users(uow: UnitOfWork, actor: Actor) -> list[User]:
    actor.require(Permission.USERS_MANAGE)
    with uow:
        return uow.users.all()


def set_password(uow: UnitOfWork, actor: Actor, username: str, password: str) -> None:
    actor.require(Permission.USERS_MANAGE)
    _check_password(password, username)
    with uow:
        user = uow.users.find(username)
        if user is None:
            raise NotFound(f"user {username} does not exist", field="username")
        uow.users.set_password_hash(user.id, _hasher.hash(password))
        uow.users.revoke_all(user.id, uow.now())
        uow.audit_event(actor, action="set_password", target=f"user:{username}")
        uow.commit()


def deactivate_user(uow: UnitOfWork, actor: Actor, username: str) -> None:
    """Stop a user from signing in and end their sessions; their past work stays theirs. One
    cannot switch oneself off, nor the last admin who can still sign in (nobody could then
    manage the users from the application)."""
    actor.require(Permission.USERS_MANAGE)
    with uow:
        user = uow.users.find(username)
        if user is None:
            raise NotFound(f"user {username} does not exist", field="username")
        if username == actor.name:
            raise Conflict(
                "you cannot switch off your own account; ask another admin",
                "username",
                key="err.user.self",
            )
        admins = [u for u in uow.users.all() if u.active and u.role == Role.ADMIN]
        if user.active and [u.username for u in admins] == [username]:
            raise Conflict(
                f"{username} is the last admin who can sign in; make another admin first",
                "username",
                key="err.user.last_admin",
                params={"user": username},
            )
        uow.users.set_active(user.id, False)
        uow.users.revoke_all(user.id, uow.now())
        uow.audit_event(actor, action="deactivate_user", target=f"user:{username}")
        uow.commit()


def change_role(uow: UnitOfWork, actor: Actor, username: str, role: str) -> None:
    """Give a user another role; their sessions end (they sign in again with the new one).
    One cannot change one's own role, nor take the admin role from the last admin who can
    sign in."""
    actor.require(Permission.USERS_MANAGE)
    try:
        parsed = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationError(
            f"role {role!r} is unknown; use one of {allowed}", "role", key="err.user.role"
        ) from None
    with uow:
        user = uow.users.find(username)
        if user is None:
            raise NotFound(f"user {username} does not exist", field="username")
        if username == actor.name:
            raise Conflict(
                "you cannot change your own role; ask another admin",
                "role",
                key="err.user.own_role",
            )
        if user.role == parsed.value:
            return
        admins = [u for u in uow.users.all() if u.active and u.role == Role.ADMIN]
        if [u.username for u in admins] == [username]:
            raise Conflict(
                f"{username} is the last admin who can sign in; make another admin first",
                "role",
                key="err.user.last_admin",
                params={"user": username},
            )
        uow.users.set_role(user.id, parsed.value)
        uow.users.revoke_all(user.id, uow.now())
        uow.audit_event(
            actor,
            action="change_role",
            target=f"user:{username}",
            details={"from": user.role, "to": parsed.value},
        )
        uow.commit()


def reactivate_user(uow: UnitOfWork, actor: Actor, username: str) -> None:
    """Let a switched-off user sign in again, with their password as it was (an admin may
    reset it too); nothing they did is changed."""
    actor.require(Permission.USERS_MANAGE)
    with uow:
        user = uow.users.find(username)
        if user is None:
            raise NotFound(f"user {username} does not exist", field="username")
        if user.active:
            raise Conflict(f"{username} can already sign in", "username", key="err.user.active")
        uow.users.set_active(user.id, True)
        uow.audit_event(actor, action="reactivate_user", target=f"user:{username}")
        uow.commit()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime
    actor: Actor


def login(uow: UnitOfWork, username: str, password: str, *, ttl: timedelta) -> IssuedToken:
    """Check a password and issue a bearer token; every attempt is audited (never the password)."""
    failure = AuthenticationFailed("wrong username or password")
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        raise failure
    with uow:
        now = uow.now()
        if isinstance(username, str) and (
            uow.users.failed_logins_since(username[:64], now - THROTTLE_WINDOW) >= MAX_FAILED_LOGINS
        ):
            uow.audit.record(at=now, actor=username[:64], action="login_throttled", target="auth")
            uow.commit()
            minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
            throttled = TooManyAttempts(
                f"{MAX_FAILED_LOGINS} failed sign-ins in a row for this name: wait {minutes} "
                "minutes and try again, or ask an admin to reset the password",
                key="err.signin.throttled",
                params={"minutes": minutes},
            )
            throttled.retry_after = int(THROTTLE_WINDOW.total_seconds())
            raise throttled
        user = uow.users.find(username) if isinstance(username, str) else None
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
            ok = user is not None and user.active
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None:
            uow.audit.record(at=now, actor=str(username)[:64], action="login_failed", target="auth")
            uow.commit()
            raise failure
        token = secrets.token_urlsafe(32)
        expires = now + ttl
        uow.users.add_token(
            token_hash=_token_hash(token), user_id=user.id, now=now, expires=expires
        )
        if _hasher.check_needs_rehash(user.password_hash):
            uow.users.set_password_hash(user.id, _hasher.hash(password))
        uow.audit.record(at=now, actor=user.username, action="login", target="auth")
        uow.commit()
    return IssuedToken(token, expires, Actor(user.username, Role(user.role)))


def actor_for_token(uow: UnitOfWork, token: str) -> Actor:
    with uow:
        user = uow.users.by_token(_token_hash(token), uow.now())
    if user is None:
        raise AuthenticationFailed("the bearer token is unknown, expired or revoked; log in again")
    return Actor(user.username, Role(user.role))


def logout(uow: UnitOfWork, token: str) -> None:
    """Revoke a token; audited under its user's name (an unknown token changes nothing)."""
    with uow:
        now = uow.now()
        user = uow.users.by_token(_token_hash(token), now)
        if user is None:
            return
        uow.users.revoke_token(_token_hash(token), now)
        uow.audit.record(at=now, actor=user.username, action="logout", target="auth")
        uow.commit()


def session_actor(
    uow: UnitOfWork, token: str, *, idle: timedelta, longest: timedelta
) -> tuple[Actor, str | None]:
    """The person behind a web session's token, and their language; the session is extended to
    ``idle`` from now while it is used, never past ``longest`` after sign-in. Refused
    (AuthenticationFailed) once idle too long, signed out, or the user deactivated."""
    with uow:
        now = uow.now()
        token_hash = _token_hash(token)
        user = uow.users.by_token(token_hash, now)
        times = uow.users.token_expiry(token_hash)
        if user is None or times is None:
            raise AuthenticationFailed("your session has ended; sign in again")
        created, expires = times
        wanted = min(now + idle, created + longest)
        if wanted - expires > timedelta(seconds=60):  # not a write on every click
            uow.users.extend_token(token_hash, wanted)
            uow.commit()
    return Actor(user.username, Role(user.role)), user.language


def set_language(uow: UnitOfWork, actor: Actor, language: str, offered: tuple[str, ...]) -> None:
    """A user chooses the language of their own screens, among those the fund offers."""
    if language not in offered:
        raise ValidationError(
            f"choose one of the fund's languages: {', '.join(offered)}",
            field="language",
            key="err.user.language",
        )
    with uow:
        user = uow.users.find(actor.name)
        if user is None:
            raise NotFound(f"user {actor.name} does not exist", "username")
        uow.users.set_language(user.id, language)
        uow.audit_event(actor, action="set_language", target=f"user:{actor.name}")
        uow.commit()
