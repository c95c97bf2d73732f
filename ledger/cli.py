"""The `fundledger` command line: thin, like the API. Run `fundledger --help`."""

from __future__ import annotations

import getpass
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from ledger.config import Settings, get_settings
from ledger.documents_cli import documents_app, keys_app
from ledger.domain.accounts import default_chart
from ledger.domain.errors import LedgerError
from ledger.domain.money import from_minor
from ledger.domain.reconciliation import MonthReconciliation
from ledger.domain.roles import Actor, Role
from ledger.loan_cli import loan_app
from ledger.payment_cli import payment_app
from ledger.report_cli import export_app, report_app
from ledger.statement_cli import statement_app
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.uow import UnitOfWork

if TYPE_CHECKING:
    from ledger.services.loans import LoanPolicy

app = typer.Typer(
    help="fundledger: the double-entry ledger of a rental guarantee loan fund.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Manage staff accounts.", no_args_is_help=True)
month_app = typer.Typer(help="Reconcile, close and reopen months.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(month_app, name="month")
app.add_typer(db_app, name="db")
app.add_typer(statement_app, name="statement")
app.add_typer(payment_app, name="payment-file")
app.add_typer(keys_app, name="keys")
app.add_typer(documents_app, name="documents")
app.add_typer(loan_app, name="loan")
app.add_typer(report_app, name="report")
app.add_typer(export_app, name="export")

DEMO_URL = "sqlite:///demo/fundledger-demo.db"


def _policy(settings: Settings) -> LoanPolicy:
    """The fund's lending rules (``FUNDLEDGER_RULES_FILE``); a bad file stops the command."""
    from ledger.fund.rules_file import load_policy

    try:
        return load_policy(settings.rules_file, settings.currency)
    except LedgerError as exc:
        _fail(exc.detail)


def _operator() -> Actor:
    """The person at the terminal: has the database file or URL, so is trusted as the system."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(f"cli:{name}"[:64], Role.ADMIN, system=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _engine(settings: Settings, *, check: bool = True) -> Engine:
    engine = make_engine(settings.database_url)
    if check:
        try:
            migrate.check_schema(engine)
        except LedgerError as exc:
            _fail(exc.detail)
        except OperationalError as exc:
            _fail(f"cannot open the database {_safe_url(settings.database_url)}: {exc.orig}")
    return engine


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def _uow(engine: Engine, *, readonly: bool = False) -> UnitOfWork:
    return UnitOfWork(engine, readonly=readonly, zone=get_settings().zone)


@app.callback()
def _main() -> None:
    """fundledger reads its settings from FUNDLEDGER_* environment variables (see README)."""


@app.command()
def init(
    chart: Annotated[
        Path | None, typer.Option(help="TOML chart of accounts (default: the built-in chart)")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Fund currency, e.g. EUR or CHF")] = None,
) -> None:
    """Create or migrate the database to the current schema and install the chart of accounts."""
    from ledger.fund.chart_file import load_chart
    from ledger.services.journal import install_chart

    settings = get_settings()
    engine = _engine(settings, check=False)
    before = _current(engine, settings)
    try:
        migrate.upgrade(engine)
        chart_path = chart or settings.chart_file
        specs = (
            load_chart(chart_path)
            if chart_path is not None
            else default_chart(currency or settings.currency)
        )
        opened = install_chart(_uow(engine), _operator(), specs)
    except LedgerError as exc:
        _fail(exc.detail)
    after = migrate.current_revision(engine)
    from ledger.fund.hash_key import ensure_hash_key

    key_file = ensure_hash_key(settings)
    typer.echo(f"database {_safe_url(settings.database_url)}")
    typer.echo(f"schema: {before or 'empty'} -> {after}")
    typer.echo(
        f"chart: {len(opened)} account(s) opened"
        + (f" ({', '.join(a.code for a in opened)})" if opened else ", all present already")
    )
    if key_file is not None:
        typer.echo(f"hash key for payers' IBANs written to {key_file} (see docs/bank.md)")


def _current(engine: Engine, settings: Settings) -> str | None:
    try:
        return migrate.current_revision(engine)
    except OperationalError as exc:
        _fail(f"cannot open the database {_safe_url(settings.database_url)}: {exc.orig}")


@db_app.command("status")
def db_status() -> None:
    """Show the schema revision of the database and the one this version needs."""
    settings = get_settings()
    engine = _engine(settings, check=False)
    current, head = _current(engine, settings), migrate.head_revision()
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
    if not yes:
        _fail("downgrading can drop tables and data; repeat with --yes if you mean it")
    engine = _engine(get_settings(), check=False)
    migrate.downgrade(engine, revision)
    typer.echo(f"schema now at {migrate.current_revision(engine) or 'empty'}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs)."""
    _serve(get_settings(), host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from ledger.api.app import create_app

    engine = _engine(settings)
    try:
        application = create_app(settings, engine=engine)
    except LedgerError as exc:
        _fail(exc.detail)
    typer.echo(f"fundledger serving {_safe_url(settings.database_url)} on http://{host}:{port}")
    typer.echo(f"API docs: http://{host}:{port}/docs")
    uvicorn.run(application, host=host, port=port, log_level=settings.log_level.lower())


@app.command()
def demo(
    database: Annotated[str, typer.Option(help="Database URL for the demo fund")] = DEMO_URL,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the API once the demo is built")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on with --serve")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on with --serve")] = 8000,
) -> None:
    """Build (or top up) a demo fund with believable data, and optionally serve it."""
    from ledger.demo import DEMO_USERS, build_demo, demo_password
    from ledger.demo_documents import demo_settings
    from ledger.fund.hash_key import ensure_hash_key, load_hash_key
    from ledger.services.contracts import DocumentSettings

    if database.startswith("sqlite:///") and not database.startswith("sqlite:////"):
        Path(database.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(get_settings().model_copy(update={"database_url": database}))
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    try:
        ensure_hash_key(settings)
        summary = build_demo(
            _uow(engine),
            settings.currency,
            DocumentSettings.from_settings(settings),
            iban=settings.fund_iban,
            hash_key=load_hash_key(settings),
        )
    except LedgerError as exc:
        _fail(exc.detail)
    typer.echo(
        f"demo fund in {_safe_url(database)}: {summary.entries_posted} new entries, "
        f"{summary.loans_created} new loans, "
        f"{len(summary.users_created)} new users, {summary.statement_lines} new bank "
        "statement lines, months closed: "
        f"{', '.join(summary.months_closed) or 'none new'}"
    )
    typer.echo("demo logins (demo only, never use these passwords for real):")
    for name, role in DEMO_USERS.items():
        typer.echo(f"  {name:<11} {role.value:<11} password: {demo_password(name)}")
    if serve_after:
        _serve(settings, host, port)


@app.command()
def verify() -> None:
    """Recompute everything from the legs and the hash chain; exit 1 naming what is wrong."""
    from ledger.services.verify import verify as run_verify

    engine = _engine(get_settings())
    report = run_verify(_uow(engine, readonly=True), _operator())
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def accounts() -> None:
    """The chart of accounts with balances (on each account's normal side)."""
    from ledger.services.journal import list_accounts

    engine = _engine(get_settings())
    for a in list_accounts(_uow(engine, readonly=True), _operator()):
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


@app.command("trial-balance")
def trial_balance_cmd(
    as_of: Annotated[str | None, typer.Option(help="Date YYYY-MM-DD (default: today)")] = None,
) -> None:
    """Debit and credit balance of every account; each currency must total zero."""
    from ledger.services.journal import trial_balance

    day = _date(as_of, "--as-of") if as_of else None
    engine = _engine(get_settings())
    tb = trial_balance(_uow(engine, readonly=True), _operator(), day)
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


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} {text!r} is not a date; write it as YYYY-MM-DD", 2)


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
    engine = _engine(settings)
    rules = _policy(settings).rules
    try:
        recs = reconcile(_uow(engine, readonly=True), _operator(), month, rules=rules)
    except LedgerError as exc:
        _fail(exc.detail)
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
                row(f"ledger at {r.month_end}", b.ledger_minor),
                row(
                    "bank",
                    b.bank_minor,
                    f"  (statement of {b.statement_date})"
                    if b.statement_date
                    else f"  (no statement up to {r.month_end})",
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
    """Close a month that reconciles: no posting may be dated in it afterwards."""
    from ledger.services.periods import close_month

    settings = get_settings()
    engine = _engine(settings)
    rules = _policy(settings).rules
    try:
        event = close_month(_uow(engine), _operator(), month, reason, rules=rules)
    except LedgerError as exc:
        _fail(exc.detail)
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

    engine = _engine(get_settings())
    try:
        event = reopen_month(_uow(engine), _operator(), month, reason)
    except LedgerError as exc:
        _fail(exc.detail)
    typer.echo(f"{event.month} reopened by {event.actor}: {event.reason}")


@month_app.command("list")
def month_list() -> None:
    """Closed months and the history of closes and reopens."""
    from ledger.services.periods import list_periods

    engine = _engine(get_settings())
    closed, events = list_periods(_uow(engine, readonly=True), _operator())
    typer.echo(f"closed: {', '.join(sorted(closed)) or 'none'}")
    for e in events:
        typer.echo(
            f"  {e.at:%Y-%m-%d %H:%M} {e.action:<6} {e.month} by {e.actor}"
            + (f": {e.reason}" if e.reason else "")
        )


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        _fail("the two passwords differ")
    return first


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

    engine = _engine(get_settings())
    try:
        user = create_user(
            _uow(engine), _operator(), username, _read_password(password_stdin), role.value
        )
    except LedgerError as exc:
        _fail(exc.detail)
    typer.echo(f"user {user.username} created with role {user.role}")


@user_app.command("list")
def user_list() -> None:
    """List staff users and their roles."""
    from ledger.services.users import list_users

    engine = _engine(get_settings())
    for u in list_users(_uow(engine, readonly=True), _operator()):
        typer.echo(f"{u.username:<24} {u.role:<11} {'active' if u.active else 'deactivated'}")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a user's password (their open sessions are logged out)."""
    from ledger.services.users import set_password

    engine = _engine(get_settings())
    try:
        set_password(_uow(engine), _operator(), username, _read_password(password_stdin))
    except LedgerError as exc:
        _fail(exc.detail)
    typer.echo(f"password of {username} changed")


@user_app.command("deactivate")
def user_deactivate(username: Annotated[str, typer.Argument()]) -> None:
    """Stop a user from logging in (history stays)."""
    from ledger.services.users import deactivate_user

    engine = _engine(get_settings())
    try:
        deactivate_user(_uow(engine), _operator(), username)
    except LedgerError as exc:
        _fail(exc.detail)
    typer.echo(f"user {username} deactivated")


def main() -> None:
    app()
