"""`fundledger statement ...`: import bank statements and match their lines (thin, like the
API). Registered in ``ledger/cli/app.py``."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.bank.files import StatementFormat
from ledger.cli.common import fail, get_settings, open_engine, operator, unit_of_work
from ledger.domain.errors import LedgerError
from ledger.domain.statuses import EntryKind, LineState

if TYPE_CHECKING:
    from ledger.services.statements import LineView

statement_app = typer.Typer(
    help="Import bank statements (camt.053, CODA, CSV) and match their lines.",
    no_args_is_help=True,
)
mapping_app = typer.Typer(help="CSV column mappings, one per bank.", no_args_is_help=True)
statement_app.add_typer(mapping_app, name="mapping")


def _amount(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        fail(f"{option} {text!r} is not an amount; write it like 1234.56", 2)


@statement_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="The statement file", exists=True, dir_okay=False)],
    format: Annotated[
        StatementFormat | None, typer.Option("--format", help="default: recognised")
    ] = None,
    mapping: Annotated[str | None, typer.Option(help="CSV: the bank's column mapping")] = None,
    account: Annotated[
        str | None, typer.Option(help="Ledger account of an IBAN seen for the first time")
    ] = None,
    iban: Annotated[str | None, typer.Option(help="CSV: the IBAN the export belongs to")] = None,
    opening: Annotated[str | None, typer.Option(help="CSV: opening balance")] = None,
    closing: Annotated[str | None, typer.Option(help="CSV: closing balance, to check")] = None,
) -> None:
    """Import every statement in FILE: checked, booked and matched, all or nothing."""
    from ledger.domain.money import from_minor
    from ledger.fund.hash_key import load_hash_key
    from ledger.services import statements
    from ledger.services.statements import ImportOptions, fund_ibans

    settings = get_settings()
    engine = open_engine(settings)
    try:
        options = ImportOptions(
            hash_key=load_hash_key(settings),
            format=format,
            mapping=mapping,
            account_code=account,
            iban=iban,
            opening=_amount(opening, "--opening"),
            closing=_amount(closing, "--closing"),
            fund_ibans=fund_ibans(settings),
            max_bytes=settings.max_statement_bytes,
        )
        result = statements.import_statements(unit_of_work(engine), operator(), file, options)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"{file.name}: {result.source_format}, sha256 {result.file_sha256[:16]}")
    for s in result.statements:
        closing_text = from_minor(s.closing_minor, s.currency).amount
        if s.id is None:
            typer.echo(f"  {s.statement_key} ({s.iban}): already imported, nothing new")
            continue
        states = ", ".join(f"{n} {state}" for state, n in sorted(s.states.items()))
        typer.echo(
            f"  {s.statement_key} ({s.iban}): {s.new_entries} new of {s.entries} "
            f"({states}); closing {closing_text} {s.currency}"
        )
        for missing in s.missing:
            typer.echo(f"  warning: {missing}")


@statement_app.command("list")
def list_statements(
    iban: Annotated[str | None, typer.Option(help="Only this account")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Imported statements, latest first."""
    from ledger.domain.money import from_minor
    from ledger.services import statements

    engine = open_engine(get_settings())
    found, total = statements.list_statements(
        unit_of_work(engine, readonly=True), operator(), iban=iban, limit=limit
    )
    banks = statements.bank_accounts(unit_of_work(engine, readonly=True), operator())
    currency = {b.id: b.currency for b in banks}
    for s in found:
        closing = from_minor(s.closing_minor, currency[s.bank_account_id])
        typer.echo(
            f"{s.id:>6} {s.iban:<24} {s.statement_key:<24} {s.closing_date} "
            f"closing {closing.amount:>14} {closing.currency.code} "
            f"{s.new_entries}/{s.entries} lines"
        )
    typer.echo(f"{len(found)} of {total} statements")


def _show_line(view: LineView) -> None:
    from ledger.domain.money import from_minor

    line = view.line
    amount = from_minor(line.amount_minor, line.currency).amount
    typer.echo(
        f"line {line.id} {line.booking_date} {amount} {line.currency}: {line.state}"
        + (f", loan {line.loan_id}" if line.loan_id else "")
        + (f", entry {line.entry_id}" if line.entry_id else "")
    )


@statement_app.command("lines")
def lines(
    state: Annotated[
        list[LineState] | None,
        typer.Option(help="unidentified, unmatched, ... (repeat; default: both of those)"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
) -> None:
    """Lines waiting for a match, oldest first."""
    from ledger.domain.money import from_minor
    from ledger.services import statements

    engine = open_engine(get_settings())
    wanted = state or [LineState.UNIDENTIFIED, LineState.UNMATCHED]
    found, total = statements.list_lines(
        unit_of_work(engine, readonly=True), operator(), states=wanted, limit=limit
    )
    for line in found:
        amount = from_minor(line.amount_minor, line.currency).amount
        hint = f" suggested {line.suggested_loan_id}" if line.suggested_loan_id else ""
        typer.echo(
            f"{line.id:>7} {line.booking_date} {amount:>12} {line.currency} {line.state:<12}"
            f"{hint} {line.note or ''} {line.remittance or ''}".rstrip()
        )
    typer.echo(f"{len(found)} of {total} lines")


@statement_app.command("match")
def match(
    line_id: Annotated[int, typer.Argument(min=1)],
    loan: Annotated[str, typer.Option(help="The loan it repays, e.g. L000001")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history)")] = None,
) -> None:
    """Book a credit line as a loan's repayment (what booked it before is reversed)."""
    from ledger.services import statements

    engine = open_engine(get_settings())
    try:
        _show_line(
            statements.match_line_to_loan(
                unit_of_work(engine), operator(), line_id, loan, reason=reason
            )
        )
    except LedgerError as exc:
        fail(exc.detail)


@statement_app.command("book")
def book(
    line_id: Annotated[int, typer.Argument(min=1)],
    account: Annotated[str, typer.Option(help="Account code, e.g. 4000")],
    kind: Annotated[EntryKind, typer.Option(help="donation, capital, bank_charge, transfer...")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history)")] = None,
) -> None:
    """Book a line to an account (what booked it before is reversed)."""
    from ledger.services import statements

    engine = open_engine(get_settings())
    try:
        _show_line(
            statements.book_line(
                unit_of_work(engine), operator(), line_id, account, kind, reason=reason
            )
        )
    except LedgerError as exc:
        fail(exc.detail)


@statement_app.command("link")
def link(
    line_id: Annotated[int, typer.Argument(min=1)],
    entry: Annotated[int, typer.Option(help="The journal entry that explains it", min=1)],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history)")] = None,
) -> None:
    """Explain a line by an entry booked before (a payout, a refund)."""
    from ledger.services import statements

    engine = open_engine(get_settings())
    try:
        _show_line(
            statements.link_line(unit_of_work(engine), operator(), line_id, entry, reason=reason)
        )
    except LedgerError as exc:
        fail(exc.detail)


@statement_app.command("unmatch")
def unmatch(
    line_id: Annotated[int, typer.Argument(min=1)],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history)")] = None,
) -> None:
    """Undo a line's match: money in goes back to unidentified receipts."""
    from ledger.services import statements

    engine = open_engine(get_settings())
    try:
        _show_line(
            statements.unmatch_line(unit_of_work(engine), operator(), line_id, reason=reason)
        )
    except LedgerError as exc:
        fail(exc.detail)


@mapping_app.command("save")
def mapping_save(
    name: Annotated[str, typer.Argument(help="e.g. bnp-paribas-fortis")],
    file: Annotated[Path, typer.Argument(help="JSON file with the mapping", exists=True)],
) -> None:
    """Save (or replace) a bank's CSV column mapping from a JSON file."""
    from ledger.bank.csv_statement import CsvMapping
    from ledger.services import statements

    engine = open_engine(get_settings())
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            fail("the mapping file must hold a JSON object")
        saved = statements.save_mapping(
            unit_of_work(engine), operator(), CsvMapping.from_dict({**data, "name": name})
        )
    except json.JSONDecodeError as exc:
        fail(f"{file} is not JSON: {exc}")
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"mapping {saved.name} saved")


@mapping_app.command("list")
def mapping_list() -> None:
    """Saved CSV mappings."""
    from ledger.services import statements

    engine = open_engine(get_settings())
    for m in statements.list_mappings(unit_of_work(engine, readonly=True), operator()):
        typer.echo(f"{m.name}: {json.dumps(m.to_dict(), sort_keys=True)}")
