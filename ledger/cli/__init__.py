"""The `fundledger` command line (``[project.scripts]``: ``fundledger = "ledger.cli:main"``).

``app`` (Typer) is assembled in ``ledger.cli.app`` from one module per command group;
``ledger.cli.common`` holds what they share. Importing this package loads no heavy library:
WeasyPrint, pyHanko, FastAPI, uvicorn, SQLAlchemy and the API are imported by the commands
that use them (tests/integration/test_cli_startup.py).
"""

from __future__ import annotations

from ledger.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
