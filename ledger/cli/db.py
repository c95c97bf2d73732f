"""`fundledger init` and `fundledger db ...`: the database schema and the chart of accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import (
    current_revision,
    fail,
    get_settings,
    open_engine,
    operator,
    safe_url,
    unit_of_work,
)
from ledger.domain.errors import LedgerError

#: The migration that adds the arrears projection: a database migrated from before it has its
#: loans' projection filled by `init` (the migration cannot run this version's code).
ARREARS_REVISION = "0011"

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def init(
    chart: Annotated[
        Path | None, typer.Option(help="TOML chart of accounts (default: the built-in chart)")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Fund currency, e.g. EUR or CHF")] = None,
) -> None:
    """Create or migrate the database to the current schema and install the chart of accounts."""
    from ledger.domain.accounts import default_chart
    from ledger.fund.chart_file import load_chart
    from ledger.fund.hash_key import ensure_hash_key
    from ledger.services.journal import install_chart
    from ledger.services.loans import rebuild_arrears
    from ledger.store import migrate

    settings = get_settings()
    engine = open_engine(settings, check=False)
    before = current_revision(engine, settings)
    try:
        migrate.upgrade(engine)
        chart_path = chart or settings.chart_file
        specs = (
            load_chart(chart_path)
            if chart_path is not None
            else default_chart(currency or settings.currency)
        )
        opened = install_chart(unit_of_work(engine), operator(), specs)
        rebuilt = (
            rebuild_arrears(unit_of_work(engine), operator())
            if before is not None and before < ARREARS_REVISION
            else None
        )
    except LedgerError as exc:
        fail(exc.detail)
    after = migrate.current_revision(engine)
    key_file = ensure_hash_key(settings)
    typer.echo(f"database {safe_url(settings.database_url)}")
    typer.echo(f"schema: {before or 'empty'} -> {after}")
    typer.echo(
        f"chart: {len(opened)} account(s) opened"
        + (f" ({', '.join(a.code for a in opened)})" if opened else ", all present already")
    )
    if rebuilt is not None:
        typer.echo(f"arrears projection of the loans paid out filled: {rebuilt} step(s)")
    if key_file is not None:
        typer.echo(f"hash key for payers' IBANs written to {key_file} (see docs/bank.md)")


@db_app.command("status")
def db_status() -> None:
    """Show the schema revision of the database and the one this version needs."""
    from ledger.store import migrate

    settings = get_settings()
    engine = open_engine(settings, check=False)
    current, head = current_revision(engine, settings), migrate.head_revision()
    typer.echo(f"database: {current or 'empty'}; this version needs: {head}")
    if current != head:
        typer.echo("run `fundledger init` to migrate (back up the database first)")
        raise typer.Exit(1)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this can drop data")] = False,
) -> None:
    """Downgrade the schema (for rolling back an upgrade; back up first)."""
    from ledger.store import migrate

    if not yes:
        fail("downgrading can drop tables and data; repeat with --yes if you mean it")
    engine = open_engine(get_settings(), check=False)
    migrate.downgrade(engine, revision)
    typer.echo(f"schema now at {migrate.current_revision(engine) or 'empty'}")
