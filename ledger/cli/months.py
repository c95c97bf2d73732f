"""`fundledger month ...`: reconcile, close and reopen months."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.common import fail, get_settings, open_engine, operator, policy, unit_of_work
from ledger.domain.errors import LedgerError

if TYPE_CHECKING:
    from ledger.domain.reconciliation import MonthReconciliation

month_app = typer.Typer(help="Reconcile, close and reopen months.", no_args_is_help=True)


@month_app.command("reconcile")
def month_reconcile(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print every figure as JSON (as the API)")
    ] = False,
) -> None:
    """Bank beside ledger, sub-ledger, unidentified receipts, aging, position and movements
    of a month; exit 1 when it does not reconcile."""
    from ledger.services.reconciliation import reconcile

    settings = get_settings()
    engine = open_engine(settings)
    rules = policy(settings).rules
    try:
        recs = reconcile(unit_of_work(engine, readonly=True), operator(), month, rules=rules)
    except LedgerError as exc:
        fail(exc.detail)
    if as_json:
        from ledger.services.reconciliation_json import ReconciliationOut

        typer.echo(ReconciliationOut.of(month, recs).model_dump_json(indent=2))
    else:
        for line in _reconciliation_lines(month, recs):
            typer.echo(line)
    if not all(r.reconciled for r in recs):
        raise typer.Exit(1)


def _reconciliation_lines(month: str, recs: list[MonthReconciliation]) -> list[str]:
    """The reconciliation as a person reads it: the figures, then what to do."""
    from ledger.domain.money import from_minor

    ok = all(r.reconciled for r in recs)
    closed = " (closed)" if any(r.closed for r in recs) else ""
    out = [f"{month}: {'reconciled' if ok else 'NOT reconciled'}{closed}"]
    if not recs:
        out.append("  the chart has no bank account: nothing to reconcile")
    for r in recs:
        cur = r.currency

        def m(minor: int, cur: str = cur) -> str:
            return f"{from_minor(minor, cur).amount:,}"

        def row(label: str, minor: int | None, note: str = "") -> str:
            value = m(minor) if minor is not None else "none"
            return f"    {label:<26}{value:>14}{note}"

        out.append(f"{cur}: {'reconciled' if r.reconciled else 'NOT reconciled'}")
        for b in r.banks:
            out += [
                f"  bank account {b.account_code} {b.iban or '(no IBAN linked)'}: "
                + ("reconciled" if b.reconciled else "NOT reconciled"),
                row(f"ledger at {r.as_of}", b.ledger_minor),
                row(
                    "bank",
                    b.bank_minor,
                    f"  (statement of {b.statement_date})"
                    if b.statement_date
                    else f"  (no statement up to {r.as_of})",
                ),
                row("difference", b.difference),
                row(f"in transit ({len(b.in_transit)})", sum(t.amount_minor for t in b.in_transit)),
                row(
                    f"unmatched lines ({len(b.unmatched)})",
                    sum(u.amount_minor for u in b.unmatched),
                ),
                row("unexplained", b.unexplained),
            ]
            out += [
                f"      in transit: entry {t.entry_id} {t.booking_date} {t.kind} "
                f"{m(t.amount_minor)}"
                for t in b.in_transit[:20]
            ]
            if len(b.in_transit) > 20:
                out.append(f"      ... and {len(b.in_transit) - 20} more in transit")
            out += [
                f"      unmatched: line {u.line_id} {u.booking_date} {m(u.amount_minor)}"
                for u in b.unmatched
            ]
        s, p, a = r.sub_ledger, r.position, r.aging
        by_age = ", ".join(
            f"{age} days: {n} ({m(total)})" for age, (n, total) in r.unidentified_by_age.items()
        )
        movements = "; ".join(f"{mv.kind} {mv.count} ({m(mv.total_minor)})" for mv in r.movements)
        out += [
            f"  loans receivable: control {m(s.control_minor)}, loans' accounts "
            f"{m(s.loans_minor)}, difference {m(s.difference)}",
            f"  unidentified receipts: {by_age}",
            f"  aging: {a.loans} loans, outstanding {m(a.outstanding_minor)}, PAR30 "
            f"{m(a.par30_minor)} ({a.par30_ratio} %)",
            f"  position: capital {m(p.capital_minor)}, cash {m(p.cash_minor)}, loans "
            f"{m(p.loans_outstanding_minor)}, approved not paid out "
            f"{m(p.approved_not_disbursed_minor)}, reserve {m(p.reserve_minor)}, liabilities "
            f"{m(p.liabilities_minor)}, available to lend {m(p.available_to_lend_minor)}",
            f"  movements: {movements or 'none'}",
        ]
        out += [f"  to do: {note}" for note in r.notes]
    out.append(
        f"{month} reconciles: it can be closed"
        if ok
        else f"{month} does not reconcile: clear the differences above before closing it"
    )
    return out


@month_app.command("close")
def month_close(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    reason: Annotated[
        str | None,
        typer.Option(help="Why a month that does not reconcile is closed anyway (kept)"),
    ] = None,
) -> None:
    """Close a month that reconciles, in one step: no posting may be dated in it afterwards.

    The command line acts as the system operator, who holds the database: people signed in
    close a month in two steps, one asking and another signing off (the pages, or the API's
    close-requests then close)."""
    from ledger.services.periods import close_month

    settings = get_settings()
    engine = open_engine(settings)
    rules = policy(settings).rules
    try:
        event = close_month(unit_of_work(engine), operator(), month, reason, rules=rules)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"{event.month} closed by {event.actor} at {event.at:%Y-%m-%d %H:%M} UTC")
    if (event.balances or {}).get("reconciliation", {}).get("override"):
        typer.echo(f"closed although it does not reconcile: {event.reason}")


@month_app.command("reopen")
def month_reopen(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    reason: Annotated[str, typer.Option(help="Why it is reopened (kept in the record)")],
) -> None:
    """Reopen a closed month, with a reason that stays in the record."""
    from ledger.services.periods import reopen_month

    engine = open_engine(get_settings())
    try:
        event = reopen_month(unit_of_work(engine), operator(), month, reason)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"{event.month} reopened by {event.actor}: {event.reason}")


@month_app.command("list")
def month_list() -> None:
    """Closed months and the history of closes and reopens."""
    from ledger.services.periods import list_periods

    engine = open_engine(get_settings())
    closed, events = list_periods(unit_of_work(engine, readonly=True), operator())
    typer.echo(f"closed: {', '.join(sorted(closed)) or 'none'}")
    for e in events:
        typer.echo(
            f"  {e.at:%Y-%m-%d %H:%M} {e.action:<6} {e.month} by {e.actor}"
            + (f": {e.reason}" if e.reason else "")
        )
