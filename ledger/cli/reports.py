"""`fundledger report ...` and `fundledger export ...`: the monthly fund report (PDF) and the
accountant's CSV exports (thin, like the API). Registered in ``ledger/cli/app.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import (
    fail,
    get_settings,
    open_engine,
    operator,
    parse_date,
    policy,
    unit_of_work,
)
from ledger.domain.errors import LedgerError

report_app = typer.Typer(help="The monthly fund report (PDF).", no_args_is_help=True)
export_app = typer.Typer(
    help="CSV exports of the journal and the trial balance, for the accountant.",
    no_args_is_help=True,
)

Out = Annotated[Path, typer.Option("--out", help="File to write", dir_okay=False, writable=True)]


@report_app.command("monthly")
def monthly(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    out: Out,
    language: Annotated[
        str | None,
        typer.Option(help="Language of the report [default: FUNDLEDGER_REPORT_LANGUAGE, or en]"),
    ] = None,
) -> None:
    """The month's reconciliation, fund position, aging and 12-month history as a PDF."""
    from ledger.documents.model import FundInfo
    from ledger.services import reports
    from ledger.services.reports import ReportSettings

    settings = get_settings()
    engine = open_engine(settings)
    try:
        pdf = reports.monthly_report(
            unit_of_work(engine, readonly=True),
            operator(),
            month,
            ReportSettings(
                FundInfo.from_settings(settings),
                language or settings.report_language,
                policy(settings).rules,
                settings.zone,
            ),
        )
    except LedgerError as exc:
        fail(exc.detail)
    out.write_bytes(pdf)
    typer.echo(f"monthly report {month} written to {out} ({len(pdf)} bytes)")


@export_app.command("journal")
def journal(
    date_from: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD")],
    out: Out,
) -> None:
    """Every leg of the entries booked from --from to --to, one CSV row each."""
    from ledger.services import reports

    start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    engine = open_engine(get_settings())
    try:
        chunks = reports.journal_csv(unit_of_work(engine, readonly=True), operator(), start, end)
    except LedgerError as exc:
        fail(exc.detail)
    # Streamed to a side file, renamed once complete: a failure leaves no half export behind.
    part = out.with_name(out.name + ".part")
    with part.open("w", encoding="utf-8", newline="") as f:
        for chunk in chunks:
            f.write(chunk)
    part.replace(out)
    typer.echo(f"journal {start} to {end} written to {out}")


@export_app.command("trial-balance")
def trial_balance(
    as_of: Annotated[str, typer.Option("--as-of", help="Date YYYY-MM-DD")],
    out: Out,
) -> None:
    """Every account's balance at the end of --as-of on its debit or credit side, with totals."""
    from ledger.services import reports

    day = parse_date(as_of, "--as-of")
    engine = open_engine(get_settings())
    try:
        text = reports.trial_balance_csv(unit_of_work(engine, readonly=True), operator(), day)
    except LedgerError as exc:
        fail(exc.detail)
    out.write_text(text, encoding="utf-8", newline="")
    typer.echo(f"trial balance as of {day} written to {out}")
