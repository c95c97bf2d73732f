"""`fundledger serve`: the HTTP API under uvicorn.

The only place in the CLI that imports the API (FastAPI, uvicorn, ``ledger.api``), inside the
command itself: no other command pays for those imports.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.bootstrap import profile_refusals
from ledger.cli.common import fail, get_settings, open_engine, safe_url
from ledger.domain.errors import LedgerError


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from ledger.api.app import create_app
    from ledger.config import Settings

    # `fundledger demo --serve` calls this with the demo fund's settings in ctx.obj.
    settings = ctx.obj if isinstance(ctx.obj, Settings) else get_settings()
    refusals = profile_refusals(settings)
    if refusals:
        # A real fund would print the demo's IBAN and address on contracts and QR codes.
        fail(
            "this fund's profile is not set; contracts and QR codes would print the demo's:\n"
            + "".join(f"  - {problem}\n" for problem in refusals)
            + "(a demo fund: `fundledger demo --serve`, or FUNDLEDGER_DEMO=true)"
        )
    engine = open_engine(settings)
    try:
        application = create_app(settings, engine=engine)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"fundledger serving {safe_url(settings.database_url)} on http://{host}:{port}")
    typer.echo(f"API docs: http://{host}:{port}/docs")
    uvicorn.run(application, host=host, port=port, log_level=settings.log_level.lower())
