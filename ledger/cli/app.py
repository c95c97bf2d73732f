"""The root of the `fundledger` command line: thin, like the API. Run `fundledger --help`.

Each command group lives in a module of its own (``ledger/cli/*.py``) and shares the helpers of
``ledger.cli.common``; this module only assembles them, in the order ``--help`` lists them.
Commands import the services, the documents, the database and the API inside their functions,
so that ``fundledger --help`` starts fast (docs/performance.md, tests/integration/
test_cli_startup.py).
"""

from __future__ import annotations

import sys

import typer

from ledger.bootstrap import configure_logging
from ledger.cli import output
from ledger.cli.db import db_app, init
from ledger.cli.demo import demo
from ledger.cli.documents import documents_app, keys_app
from ledger.cli.journal import accounts, trial_balance_cmd, verify
from ledger.cli.loans import loan_app
from ledger.cli.months import month_app
from ledger.cli.payments import payment_app
from ledger.cli.reminders import reminders_app
from ledger.cli.reports import export_app, report_app
from ledger.cli.serve import serve
from ledger.cli.statements import statement_app
from ledger.cli.users import user_app

app = typer.Typer(
    help="fundledger: the double-entry ledger of a rental guarantee loan fund.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(init)
app.command()(serve)
app.command()(demo)
app.command()(verify)
app.command()(accounts)
app.command("trial-balance")(trial_balance_cmd)
app.add_typer(user_app, name="user")
app.add_typer(month_app, name="month")
app.add_typer(db_app, name="db")
app.add_typer(statement_app, name="statement")
app.add_typer(payment_app, name="payment-file")
app.add_typer(keys_app, name="keys")
app.add_typer(documents_app, name="documents")
app.add_typer(loan_app, name="loan")
app.add_typer(reminders_app, name="reminders")
app.add_typer(report_app, name="report")
app.add_typer(export_app, name="export")


@app.callback()
def _main() -> None:
    """fundledger reads its settings from FUNDLEDGER_* environment variables (see README)."""
    configure_logging()
    output.install(sys)  # a payer's text from a bank file cannot drive the terminal
