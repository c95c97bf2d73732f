"""`fundledger user ...`: staff accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.common import (
    fail,
    get_settings,
    open_engine,
    operator,
    read_password,
    unit_of_work,
)
from ledger.domain.errors import LedgerError
from ledger.domain.roles import Role

user_app = typer.Typer(help="Manage staff accounts.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name, lowercase")],
    role: Annotated[Role, typer.Option(help="admin, caseworker, treasurer or auditor")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create a staff user (asks for the password unless --password-stdin)."""
    from ledger.services.users import create_user

    engine = open_engine(get_settings())
    try:
        user = create_user(
            unit_of_work(engine), operator(), username, read_password(password_stdin), role.value
        )
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"user {user.username} created with role {user.role}")


@user_app.command("list")
def user_list() -> None:
    """List staff users and their roles."""
    from ledger.services.users import list_users

    engine = open_engine(get_settings())
    for u in list_users(unit_of_work(engine, readonly=True), operator()):
        typer.echo(f"{u.username:<24} {u.role:<11} {'active' if u.active else 'deactivated'}")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a user's password (their open sessions are logged out)."""
    from ledger.services.users import set_password

    engine = open_engine(get_settings())
    try:
        set_password(unit_of_work(engine), operator(), username, read_password(password_stdin))
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"password of {username} changed")


@user_app.command("deactivate")
def user_deactivate(username: Annotated[str, typer.Argument()]) -> None:
    """Stop a user from logging in (history stays)."""
    from ledger.services.users import deactivate_user

    engine = open_engine(get_settings())
    try:
        deactivate_user(unit_of_work(engine), operator(), username)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"user {username} deactivated")


@user_app.command("role")
def user_role(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="admin, caseworker, treasurer or auditor")],
) -> None:
    """Give a user another role (their sessions end)."""
    from ledger.services.users import change_role

    engine = open_engine(get_settings())
    try:
        change_role(unit_of_work(engine), operator(), username, role)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"user {username} is now {role}")


@user_app.command("reactivate")
def user_reactivate(username: Annotated[str, typer.Argument()]) -> None:
    """Let a deactivated user log in again (with their old password; reset it if needed)."""
    from ledger.services.users import reactivate_user

    engine = open_engine(get_settings())
    try:
        reactivate_user(unit_of_work(engine), operator(), username)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"user {username} reactivated")
