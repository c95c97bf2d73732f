"""What the command groups share: the settings, the operator at the terminal, the database and
its unit of work, the fund's lending rules, errors and dates.

Nothing heavy is imported at module level (pydantic-settings, SQLAlchemy, Alembic, the
services): ``fundledger --help`` needs none of them. Each helper imports what it uses.
"""

from __future__ import annotations

import getpass
import sys
from datetime import date
from typing import TYPE_CHECKING, NoReturn

import typer

from ledger.domain.errors import LedgerError
from ledger.domain.roles import Actor, Role

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ledger.config import Settings
    from ledger.domain.policy import LoanPolicy
    from ledger.store.uow import UnitOfWork


def get_settings() -> Settings:
    """``ledger.config.get_settings()`` (cached there), imported on first use."""
    from ledger.config import get_settings as cached

    return cached()


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def operator() -> Actor:
    """The person at the terminal: has the database file or URL, so is trusted as the system."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(f"cli:{name}"[:64], Role.ADMIN, system=True)


def policy(settings: Settings) -> LoanPolicy:
    """The fund's lending rules (``FUNDLEDGER_RULES_FILE``); a bad file stops the command."""
    from ledger.fund.rules_file import load_policy

    try:
        return load_policy(
            settings.rules_file, settings.currency, qr_iban=settings.fund_qr_iban is not None
        )
    except LedgerError as exc:
        fail(exc.detail)


def open_engine(settings: Settings, *, check: bool = True) -> Engine:
    """The database engine; with ``check``, the schema must be the one this version needs."""
    from sqlalchemy.exc import OperationalError

    from ledger import bootstrap

    try:
        return bootstrap.open_engine(settings, check=check)
    except LedgerError as exc:
        fail(exc.detail)
    except OperationalError as exc:
        fail(f"cannot open the database {safe_url(settings.database_url)}: {exc.orig}")


def current_revision(engine: Engine, settings: Settings) -> str | None:
    """The database's schema revision (None: empty); an unreachable database stops the
    command."""
    from sqlalchemy.exc import OperationalError

    from ledger.store import migrate

    try:
        return migrate.current_revision(engine)
    except OperationalError as exc:
        fail(f"cannot open the database {safe_url(settings.database_url)}: {exc.orig}")


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def unit_of_work(engine: Engine, *, readonly: bool = False) -> UnitOfWork:
    from ledger.store.uow import UnitOfWork

    return UnitOfWork(engine, readonly=readonly, zone=get_settings().zone)


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date; write it as YYYY-MM-DD", 2)


def read_password(password_stdin: bool) -> str:
    """A new password: one line of standard input, or asked twice at the terminal."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        fail("the two passwords differ")
    return first
