"""The `fundledger` command line (``[project.scripts]``: ``fundledger = "ledger.cli:main"``).

``app`` (Typer) is assembled in ``ledger.cli.app`` from one module per command group;
``ledger.cli.common`` holds what they share. Importing this package loads no heavy library:
WeasyPrint, pyHanko, FastAPI, uvicorn, SQLAlchemy and the API are imported by the commands
that use them (tests/integration/test_cli_startup.py).
"""

from __future__ import annotations

import sys

from ledger.cli.app import app
from ledger.config_errors import SettingsInvalid

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except SettingsInvalid as exc:  # a line a setting, not pydantic's traceback
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        raise SystemExit(2) from None
