"""`fundledger payment-file ...`: SEPA credit transfer files (pain.001) of the fund's payouts
and refunds (thin, like the API). Registered in ``ledger/cli/app.py``.

Only ``create --out`` and ``show --out`` write the file itself (it carries the creditors' names
and IBANs, which the bank needs); nothing else printed here names a person.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.common import fail, get_settings, open_engine, operator, parse_date, unit_of_work
from ledger.domain.errors import LedgerError

if TYPE_CHECKING:
    from ledger.domain.payment_files import StoredPaymentFile

payment_app = typer.Typer(
    help="SEPA payment files (pain.001) for payouts and refunds: make, send, cancel.",
    no_args_is_help=True,
)


def _money(minor: int, currency: str) -> str:
    from ledger.domain.money import from_minor

    return f"{from_minor(minor, currency).amount} {currency}"


def _line(f: StoredPaymentFile) -> str:
    return (
        f"{f.id:>5} {f.status:<9} {f.message_id} exec {f.execution_date} "
        f"{f.transfers} transfers {_money(f.total_minor, f.currency)}, "
        f"{f.executed}/{f.transfers} executed"
    )


def _write(out: Path, xml: bytes) -> None:
    """Write the file without replacing another: it holds names and IBANs."""
    try:
        with out.open("xb") as handle:
            handle.write(xml)
    except FileExistsError:
        fail(f"{out} exists already; choose another file name")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")


@payment_app.command("pending")
def pending(
    currency: Annotated[str | None, typer.Option(help="default: the fund's currency")] = None,
) -> None:
    """Payouts and refunds waiting for a payment file, and what each still lacks."""
    from ledger.services import payment_files

    settings = get_settings()
    engine = open_engine(settings)
    try:
        found = payment_files.pending_payouts(
            unit_of_work(engine, readonly=True), operator(), currency or settings.currency
        )
    except LedgerError as exc:
        fail(exc.detail)
    for p in found:
        typer.echo(
            f"entry {p.entry_id:>6} {p.booking_date} {p.kind:<12} loan {p.loan_id} "
            f"{_money(p.amount_minor, p.currency):>16}  "
            + (f"MISSING: {p.missing}" if p.missing else "ready")
        )
    typer.echo(f"{len(found)} payouts pending")


@payment_app.command("create")
def create(
    out: Annotated[Path, typer.Option("--out", help="Where to write the pain.001 file")],
    execution_date: Annotated[
        str, typer.Option("--execution-date", help="Day the bank pays, YYYY-MM-DD")
    ],
    currency: Annotated[str | None, typer.Option(help="default: the fund's currency")] = None,
    entry: Annotated[
        list[int] | None, typer.Option("--entry", help="Pay only this entry (repeat)")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Idempotency key; a retry with it returns the same file")
    ] = None,
) -> None:
    """Make a payment file of every pending payout (or of --entry ones) and write it to OUT."""
    from ledger.services import payment_files

    settings = get_settings()
    engine = open_engine(settings)
    day = parse_date(execution_date, "--execution-date")
    if out.exists():
        fail(f"{out} exists already; choose another file name", 2)
    try:
        made = payment_files.create_payment_file(
            unit_of_work(engine),
            operator(),
            currency=currency or settings.currency,
            execution_date=day,
            debtor=payment_files.fund_debtor(settings),
            idempotency_key=key or f"cli-{uuid.uuid4()}",
            entry_ids=entry or None,
        )
    except LedgerError as exc:
        fail(exc.detail)
    _write(out, made.xml)
    typer.echo(("already made: " if made.replayed else "") + _line(made.file))
    typer.echo(f"written to {out} (sha256 {made.file.sha256}); upload it to the bank, then run")
    typer.echo(f"  fundledger payment-file sent {made.file.id}")


@payment_app.command("list")
def list_files(
    status: Annotated[str | None, typer.Option(help="created, sent or cancelled")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Payment files, newest first, with how many transfers the bank executed."""
    from ledger.services import payment_files

    engine = open_engine(get_settings())
    try:
        found, total = payment_files.list_payment_files(
            unit_of_work(engine, readonly=True), operator(), status=status, limit=limit
        )
    except LedgerError as exc:
        fail(exc.detail)
    for f in found:
        typer.echo(_line(f))
    typer.echo(f"{len(found)} of {total} payment files")


@payment_app.command("show")
def show(
    file_id: Annotated[int, typer.Argument(min=1)],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the file again (same bytes) to OUT")
    ] = None,
) -> None:
    """One file and its transfers; with --out, the pain.001 file made again."""
    from ledger.services import payment_files

    settings = get_settings()
    engine = open_engine(settings)
    try:
        view = payment_files.get_payment_file(
            unit_of_work(engine, readonly=True), operator(), file_id
        )
        xml = (
            payment_files.payment_file_xml(
                unit_of_work(engine), operator(), file_id, payment_files.fund_debtor(settings)
            )
            if out is not None
            else None
        )
    except LedgerError as exc:
        fail(exc.detail)
    f = view.file
    typer.echo(_line(f))
    typer.echo(f"  made {f.created_at:%Y-%m-%d %H:%M} by {f.created_by}, sha256 {f.sha256}")
    if f.sent_at:
        typer.echo(f"  sent {f.sent_at:%Y-%m-%d %H:%M} by {f.sent_by}")
    if f.cancelled_at:
        typer.echo(f"  cancelled {f.cancelled_at:%Y-%m-%d %H:%M} by {f.cancelled_by}: ")
        typer.echo(f"    {f.cancel_reason}")
    for i in view.items:
        done = f"executed (statement line {i.statement_line_id})" if i.statement_line_id else ""
        typer.echo(
            f"  entry {i.entry_id:>6} {i.end_to_end_id:<14} {i.kind:<12} loan {i.loan_id} "
            f"{_money(i.amount_minor, f.currency):>16} {done}"
        )
    if out is not None and xml is not None:
        _write(out, xml)
        typer.echo(f"written to {out}")


@payment_app.command("sent")
def sent(file_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Record that the file was uploaded to the bank."""
    from ledger.services import payment_files

    engine = open_engine(get_settings())
    try:
        f = payment_files.mark_sent(unit_of_work(engine), operator(), file_id)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(_line(f))


@payment_app.command("cancel")
def cancel(
    file_id: Annotated[int, typer.Argument(min=1)],
    reason: Annotated[str, typer.Option(help="Why (kept with the file)")],
) -> None:
    """Cancel a file not sent: its payouts can go into another file."""
    from ledger.services import payment_files

    engine = open_engine(get_settings())
    try:
        f = payment_files.cancel(unit_of_work(engine), operator(), file_id, reason)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(_line(f))
