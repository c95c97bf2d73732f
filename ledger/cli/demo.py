"""`fundledger demo`: build (or top up) the demo fund, and optionally serve it.

The only production module that imports ``ledger.demo``, inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import fail, get_settings, safe_url, unit_of_work
from ledger.cli.serve import serve
from ledger.domain.errors import LedgerError

DEMO_URL = "sqlite:///demo/fundledger-demo.db"


def demo(
    ctx: typer.Context,
    database: Annotated[str, typer.Option(help="Database URL for the demo fund")] = DEMO_URL,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the API once the demo is built")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on with --serve")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on with --serve")] = 8000,
) -> None:
    """Build (or top up) a demo fund with believable data, and optionally serve it."""
    from ledger import bootstrap
    from ledger.demo import DEMO_USERS, build_demo, demo_password
    from ledger.demo.documents import demo_settings
    from ledger.fund.hash_key import ensure_hash_key, load_hash_key
    from ledger.services.contracts import DocumentSettings
    from ledger.store import migrate

    if database.startswith("sqlite:///") and not database.startswith("sqlite:////"):
        Path(database.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        settings = demo_settings(
            get_settings().model_copy(update={"database_url": database, "demo": True})
        )
    except LedgerError as exc:
        fail(exc.detail)
    engine = bootstrap.open_engine(settings, check=False)  # an empty or old one: upgraded now
    migrate.upgrade(engine)
    try:
        ensure_hash_key(settings)
        summary = build_demo(
            unit_of_work(engine),
            settings.currency,
            DocumentSettings.from_settings(settings),
            iban=settings.fund_iban,
            hash_key=load_hash_key(settings),
        )
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(
        f"demo fund in {safe_url(database)}: {summary.entries_posted} new entries, "
        f"{summary.loans_created} new loans, "
        f"{len(summary.users_created)} new users, {summary.statement_lines} new bank "
        "statement lines, months closed: "
        f"{', '.join(summary.months_closed) or 'none new'}"
    )
    typer.echo("demo logins (demo only, never use these passwords for real):")
    for name, role in DEMO_USERS.items():
        typer.echo(f"  {name:<11} {role.value:<11} password: {demo_password(name)}")
    if serve_after:
        ctx.obj = settings
        serve(ctx, host=host, port=port)
