"""`fundledger reminders ...`: the payment reminders (docs/reminders.md). ``send`` e-mails the
reminders due today, for cron: run it as often as you like, each reminder goes once, and one
that the mail server refused goes again next time; the exit code is 1 when an e-mail failed.
``letter`` makes the printable letter of a loan's reminder. Registered in ``ledger/cli/app.py``.

Nothing personal is printed: loans by id, no name, no address, no amount.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.common import fail, get_settings, open_engine, operator, parse_date, policy
from ledger.cli.common import unit_of_work as open_unit_of_work
from ledger.domain.errors import LedgerError
from ledger.domain.statuses import ReminderKind, ReminderStatus

if TYPE_CHECKING:
    from ledger.services.reminders import ReminderOutcome, ReminderRun

reminders_app = typer.Typer(
    help="Payment reminders: e-mail those due today (for cron), print a loan's letter.",
    no_args_is_help=True,
)

_SKIPPED = {
    "opted_out": "skipped: the person asked for no e-mails",
    "no_email": "skipped: no e-mail address recorded",
    "erased": "skipped: the person's data was erased",
}


def _line(o: ReminderOutcome, dry_run: bool) -> str:
    late = f"{o.days_late} days late" if o.days_late else "before the due date"
    what = f"{o.loan_id:<10} {o.kind.value:<14} {o.due_date.isoformat()}  {late:<20}"
    if o.reason is not None:
        said = _SKIPPED[o.reason.value]
        if o.kind is ReminderKind.FORMAL_NOTICE:
            said += f"; print the letter: fundledger reminders letter {o.loan_id}"
        return f"{what} {'would be ' if dry_run else ''}{said}"
    if o.status is None:
        return f"{what} would be sent ({o.language})"
    if o.status is ReminderStatus.FAILED:
        return f"{what} NOT SENT, tried again next run: {o.error}"
    tries = f", try {o.attempts}" if o.attempts > 1 else ""
    return f"{what} sent ({o.language}{tries})"


def _summary(run: ReminderRun) -> str:
    if run.dry_run:
        sending = run.count(None) - sum(1 for o in run.outcomes if o.reason is not None)
        skipping = len(run.outcomes) - sending
        return f"dry run: {sending} would be sent, {skipping} skipped; nothing was sent or recorded"
    return (
        f"{run.count(ReminderStatus.SENT)} sent, {run.failed} not sent, "
        f"{run.count(ReminderStatus.SKIPPED)} skipped, of {run.loans} active loan(s)"
    )


@reminders_app.command("send")
def send(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be sent; send and record nothing")
    ] = False,
    on: Annotated[
        str | None,
        typer.Option(
            help="The day YYYY-MM-DD (default: today in the fund's zone; a later day "
            "only with --dry-run)"
        ),
    ] = None,
) -> None:
    """E-mail the payment reminders due today; each goes once, whatever how often this runs."""
    from ledger.mail import SmtpMailer, SmtpSettings
    from ledger.services.reminders import ReminderSettings, send_reminders

    settings = get_settings()
    day = parse_date(on, "--on") if on else None
    reminder_settings = ReminderSettings.from_settings(settings, policy(settings))
    engine = open_engine(settings)
    try:
        if dry_run:
            run = send_reminders(
                open_unit_of_work(engine), operator(), reminder_settings, None,
                day=day, dry_run=True,
            )  # fmt: skip
        else:
            try:
                smtp = SmtpSettings.from_settings(settings)
            except ValueError as exc:
                fail(str(exc))
            with SmtpMailer(smtp) as mailer:
                run = send_reminders(
                    open_unit_of_work(engine), operator(), reminder_settings, mailer, day=day
                )
    except LedgerError as exc:
        fail(exc.detail)
    finally:
        engine.dispose()
    typer.echo(f"payment reminders of {run.day.isoformat()}{' (dry run)' if dry_run else ''}")
    for outcome in run.outcomes:
        typer.echo(_line(outcome, dry_run))
    typer.echo(_summary(run))
    if run.failed:
        raise typer.Exit(1)


@reminders_app.command("letter")
def letter(
    loan_id: Annotated[str, typer.Argument(help="e.g. L000001")],
    out: Annotated[
        Path | None, typer.Option(help="Where to write the PDF (default: a file named for it)")
    ] = None,
    kind: Annotated[
        ReminderKind | None,
        typer.Option(help="This reminder, if it fits the loan today (default: the one that fits)"),
    ] = None,
) -> None:
    """The printable reminder letter of a loan as of today, recorded on the loan."""
    from ledger.services.reminders import ReminderSettings, reminder_letter

    settings = get_settings()
    reminder_settings = ReminderSettings.from_settings(settings, policy(settings))
    engine = open_engine(settings)
    try:
        printed = reminder_letter(
            open_unit_of_work(engine), operator(), reminder_settings, loan_id, kind=kind
        )
    except LedgerError as exc:
        fail(exc.detail)
    finally:
        engine.dispose()
    target = out or Path(printed.file_name)
    target.write_bytes(printed.rendered.pdf)
    r = printed.reminder
    typer.echo(
        f"{r.kind.value} letter of loan {r.loan_id} ({r.language}, printed {r.attempts} time(s)) "
        f"written to {target}"
    )
