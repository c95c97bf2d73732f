"""`fundledger verify`, `accounts` and `trial-balance`: the journal as it stands."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.common import get_settings, open_engine, operator, parse_date, unit_of_work


def verify() -> None:
    """Recompute everything from the legs and the hash chain; exit 1 naming what is wrong."""
    from ledger.services.verify import verify as run_verify

    engine = open_engine(get_settings())
    report = run_verify(unit_of_work(engine, readonly=True), operator())
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


def accounts() -> None:
    """The chart of accounts with balances (on each account's normal side)."""
    from ledger.services.journal import list_accounts

    engine = open_engine(get_settings())
    for a in list_accounts(unit_of_work(engine, readonly=True), operator()):
        flags = " ".join(
            f
            for f, on in (
                ("control", a.is_control),
                ("no-overdraft", a.no_overdraft),
                ("closed", a.is_closed),
            )
            if on
        )
        typer.echo(
            f"{a.code:<14} {a.name[:40]:<40} {a.type.value:<9} "
            f"{a.natural_balance.amount:>14} {a.currency} {flags}"
        )


def trial_balance_cmd(
    as_of: Annotated[str | None, typer.Option(help="Date YYYY-MM-DD (default: today)")] = None,
) -> None:
    """Debit and credit balance of every account; each currency must total zero."""
    from ledger.domain.money import from_minor
    from ledger.services.journal import trial_balance

    day = parse_date(as_of, "--as-of") if as_of else None
    engine = open_engine(get_settings())
    tb = trial_balance(unit_of_work(engine, readonly=True), operator(), day)
    typer.echo(f"{'account':<14} {'name':<40} {'debit':>14} {'credit':>14}")
    for line in tb.lines:
        amount = from_minor(abs(line.balance_minor), line.account.currency).amount
        debit, credit = (amount, "") if line.balance_minor > 0 else ("", amount)
        if line.balance_minor == 0:
            debit = credit = ""
        typer.echo(
            f"{line.account.code:<14} {line.account.name[:40]:<40} {debit!s:>14} {credit!s:>14}"
        )
    for cur, total in sorted(tb.totals.items()):
        typer.echo(
            f"total {cur}: {from_minor(total, cur).amount} "
            f"({'balanced' if total == 0 else 'NOT BALANCED'})"
        )
    if not tb.balanced:
        raise typer.Exit(1)
