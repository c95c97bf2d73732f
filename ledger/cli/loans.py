"""`fundledger loan ...`: loans, one loan's schedule and arrears, and the portfolio (thin like
the API); and where a loan's deposit is paid (``landlord-account``). Registered in
``ledger/cli/app.py``.

Nothing personal is printed: the beneficiary appears by opaque id, never with the landlord, the
address or the inputs and reasons of an eligibility decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.common import fail, get_settings, open_engine, operator, parse_date, unit_of_work
from ledger.domain.errors import LedgerError
from ledger.domain.repayment import bucket
from ledger.domain.statuses import LoanStatus

if TYPE_CHECKING:
    from ledger.domain.loans import Loan
    from ledger.domain.standing import LoanStanding

loan_app = typer.Typer(
    help="Loans: list them, show one with its schedule and arrears, the portfolio.",
    no_args_is_help=True,
)

PAGE = 500


def _money(minor: int, currency: str) -> str:
    from ledger.domain.money import from_minor

    return str(from_minor(minor, currency).amount)


@loan_app.command("list")
def loan_list(
    status: Annotated[LoanStatus | None, typer.Option(help="Only loans in this state")] = None,
) -> None:
    """Every loan (or those in one state) with its amount and payment reference."""
    from ledger.services import loans

    engine = open_engine(get_settings())
    found: list[Loan] = []
    total = 1
    while len(found) < total:
        page, total = loans.list_loans(
            unit_of_work(engine, readonly=True),
            operator(),
            status=status,
            limit=PAGE,
            offset=len(found),
        )
        if not page:
            break
        found += page
    typer.echo(
        f"{'loan':<10} {'status':<16} {'deposit':>12} {'cur':<4} {'reference':<26} beneficiary"
    )
    for loan in found:
        deposit = loan.terms.deposit
        typer.echo(
            f"{loan.id:<10} {loan.status.value:<16} {deposit.amount:>12} {loan.currency:<4} "
            f"{loan.reference.display:<26} {loan.beneficiary_id}"
        )
    typer.echo(f"{len(found)} loan(s)")


@loan_app.command("show")
def loan_show(
    loan_id: Annotated[str, typer.Argument(help="e.g. L000001")],
    as_of: Annotated[str | None, typer.Option(help="Date YYYY-MM-DD (default: today)")] = None,
) -> None:
    """One loan as of a day: schedule with what is paid and what remains, arrears, payments."""
    from ledger.services import loans

    day = parse_date(as_of, "--as-of") if as_of else None
    engine = open_engine(get_settings())
    try:
        # A writable unit of work: the service audits its read of the lease.
        view = loans.get_loan(unit_of_work(engine), operator(), loan_id, day)
    except LedgerError as exc:
        fail(exc.detail)
    loan, cur = view.loan, view.loan.currency
    t = loan.terms
    typer.echo(f"loan {loan.id}: {loan.status.value}, beneficiary {loan.beneficiary_id}")
    typer.echo(
        f"deposit {t.deposit.amount} {cur} ({t.deposit_form.value}, {t.jurisdiction}), "
        f"monthly rent {t.monthly_rent.amount}"
    )
    typer.echo(f"payment reference {loan.reference.display}")
    typer.echo(f"as of {view.as_of}, schedule version {view.schedule_version}")
    typer.echo(f"{'no':>4} {'due':<10} {'amount':>12} {'paid':>12} {'remaining':>12}")
    for i in view.installments:
        typer.echo(
            f"{i.number:>4} {i.due_date!s:<10} {_money(i.amount, cur):>12} "
            f"{_money(i.paid, cur):>12} {_money(i.remaining, cur):>12}"
        )
    for line in standing_lines(view.standing, cur):
        typer.echo(line)
    if view.payments:
        typer.echo("payments:")
    for entry, on, minor, kind, reversed_ in view.payments:
        typer.echo(
            f"  {on} {_money(minor, cur):>12} {kind:<16} entry {entry}"
            + (" (reversed)" if reversed_ else "")
        )
    if view.decision is not None:
        d = view.decision
        open_rules = [f"{r['rule']} {r['outcome']}" for r in d.results if r["outcome"] != "pass"]
        typer.echo(
            f"eligibility: {d.outcome}"
            + (f" ({', '.join(open_rules)})" if open_rules else "")
            + (f", overridden by {d.override_by}" if d.override_by else "")
        )
    if view.pending_write_off is not None:
        w = view.pending_write_off
        typer.echo(f"write-off {w.id} proposed by {w.proposed_by}, waiting for approval")


#: How the command line names each figure of a loan's standing (ledger/domain/standing.py):
#: the same figures, in the same order, as the beneficiary's page and schedule show.
FIGURE_WORDS = {
    "loan": "amount of the loan",
    "first": "first installment",
    "paid": "paid",
    "outstanding": "still to pay",
    "overdue": "of which late",
    "next": "next payment",
    "credit": "owed back to the person",
    "written_off": "written off",
    "recovered": "received since the write-off",
}
_WHEN_WORDS = {"first": "due", "next": "due", "overdue": "since", "written_off": "on"}
_STANDING_WORDS = {
    "not_paid_out": "not paid out yet: nothing is asked",
    "not_granted": "not granted: nothing is owed",
    "repaying": "being repaid",
    "repaid": "repaid: nothing left to pay",
    "overpaid": "repaid, and paid beyond: the fund owes the person",
    "written_off": "written off: nothing is asked",
    "recovered": "written off, money received since: nothing is asked",
}


def standing_lines(standing: LoanStanding, currency: str) -> list[str]:
    """What ``loan show`` says of a loan's standing: the standing, its figures, the payment
    asked (if any), what is owed and the arrears, all read from the one standing."""
    s = standing
    said = [f"standing: {s.standing.value} ({_STANDING_WORDS[s.standing.value]})"]
    for figure, minor, when in s.figures():
        text = f"  {FIGURE_WORDS[figure.value]} {_money(minor, currency)}"
        if when is not None and figure.value in _WHEN_WORDS:
            text += f" {_WHEN_WORDS[figure.value]} {when}"
        said.append(text)
    if s.asks_payment:
        said.append(f"payment asked: {_money(s.next_amount, currency)} by {s.next_due_date}")
    else:
        said.append("payment asked: none")
    said.append(
        f"outstanding {_money(s.outstanding, currency)} {currency}, "
        f"credit {_money(s.credit, currency)}"
    )
    if s.late_since is not None:
        said.append(
            f"arrears: {_money(s.overdue, currency)} overdue since {s.late_since}, "
            f"{s.days_past_due} days past due ({bucket(s.days_past_due).value})"
        )
    elif s.standing.value == "repaying":
        said.append("arrears: none (current)")
    else:
        said.append(f"arrears: none ({s.standing.value.replace('_', ' ')})")
    return said


@loan_app.command("portfolio")
def loan_portfolio(
    as_of: Annotated[str | None, typer.Option(help="Date YYYY-MM-DD (default: today)")] = None,
    currency: Annotated[str | None, typer.Option(help="default: the fund's currency")] = None,
) -> None:
    """Arrears aging of the loans being repaid, and PAR30, as of a day."""
    from ledger.services import loans

    settings = get_settings()
    engine = open_engine(settings)
    uow = unit_of_work(engine, readonly=True)
    day = parse_date(as_of, "--as-of") if as_of else uow.today()
    cur = currency or settings.currency
    try:
        p = loans.portfolio(uow, operator(), day, cur)
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(
        f"portfolio as of {p.as_of} in {cur}: {p.loans} loan(s), "
        f"{_money(p.outstanding, cur)} outstanding"
    )
    typer.echo(f"{'days late':<10} {'loans':>6} {'outstanding':>14}")
    for name, (count, minor) in p.buckets.items():
        typer.echo(f"{name:<10} {count:>6} {_money(minor, cur):>14}")
    typer.echo(f"PAR30 {_money(p.par30, cur)} {cur} ({p.par30_ratio}%)")


@loan_app.command("arrears")
def loan_arrears(
    as_of: Annotated[str | None, typer.Option(help="Date YYYY-MM-DD (default: today)")] = None,
    currency: Annotated[str | None, typer.Option(help="default: the fund's currency")] = None,
    bucket: Annotated[
        str | None, typer.Option(help="Only this bucket of days late: 1-30, 31-60, ... >360")
    ] = None,
    caseworker: Annotated[
        str | None, typer.Option(help="Only the loans this user name opened")
    ] = None,
    csv: Annotated[
        bool, typer.Option("--csv", help="Every loan as CSV on standard output")
    ] = False,
) -> None:
    """The loans in arrears as of a day, the longest late first (loan ids, no personal data)."""
    from ledger.services import loans

    settings = get_settings()
    engine = open_engine(settings)
    uow = unit_of_work(engine, readonly=True)
    day = parse_date(as_of, "--as-of") if as_of else uow.today()
    cur = currency or settings.currency
    try:
        if csv:
            for chunk in loans.arrears_csv(
                uow, operator(), day, cur, bucket=bucket, caseworker=caseworker
            ):
                typer.echo(chunk, nl=False)
            return
        offset, total = 0, None
        typer.echo(
            f"{'loan':<10} {'number':>7} {'days late':>9} {'bucket':<8} {'overdue':>12} "
            f"{'outstanding':>12} caseworker"
        )
        while total is None or offset < total:
            page = loans.arrears_list(
                uow,
                operator(),
                day,
                cur,
                bucket=bucket,
                caseworker=caseworker,
                limit=PAGE,
                offset=offset,
            )
            for line in page.lines:
                typer.echo(
                    f"{line.loan_id:<10} {line.loan_number:>7} {line.days_past_due:>9} "
                    f"{line.bucket.value:<8} {_money(line.overdue_minor, cur):>12} "
                    f"{_money(line.outstanding_minor, cur):>12} {line.caseworker}"
                )
            total, offset = page.total, offset + PAGE
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"{total} loan(s) in arrears as of {day} in {cur}")


@loan_app.command("arrears-rebuild")
def loan_arrears_rebuild() -> None:
    """Make every loan's arrears projection again from the full computation (after
    `fundledger verify` found it stale; `fundledger init` does it after the migration)."""
    from ledger.services import loans

    engine = open_engine(get_settings())
    try:
        rows = loans.rebuild_arrears(unit_of_work(engine), operator())
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"arrears projection rebuilt: {rows} step(s)")


@loan_app.command("landlord-account")
def loan_landlord_account(
    loan_id: Annotated[str, typer.Argument(help="e.g. L000001")],
    iban: Annotated[str, typer.Option(help="The landlord's IBAN, where the deposit is paid")],
    name: Annotated[
        str | None, typer.Option(help="The account holder (default: the landlord's name kept)")
    ] = None,
) -> None:
    """Record where a loan's deposit is paid (needed by its payment file)."""
    from ledger.services import payment_files

    engine = open_engine(get_settings())
    try:
        payment_files.set_landlord_account(
            unit_of_work(engine), operator(), loan_id, iban=iban, name=name
        )
    except LedgerError as exc:
        fail(exc.detail)
    typer.echo(f"loan {loan_id}: landlord's account recorded")
