"""The states the code names are the ones the database's CHECK constraints allow."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

import pytest

from ledger.domain.statuses import LoanStatus, PaymentFileStatus, WriteOffStatus, sql_in_list

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def migration_strings(name: str) -> str:
    """Every string of a migration, adjacent literals joined as Python joins them."""
    tree = ast.parse((VERSIONS / name).read_text())
    return "\n".join(
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


@pytest.mark.parametrize(
    ("states", "migration"),
    [
        (LoanStatus, "0002_loans.py"),
        (WriteOffStatus, "0002_loans.py"),
        (PaymentFileStatus, "0006_payment_files.py"),
    ],
)
def test_each_enum_is_what_its_table_allows(states: type[StrEnum], migration: str) -> None:
    assert f"status IN {sql_in_list(states)}" in migration_strings(migration)


def test_the_list_is_quoted_in_the_enum_order() -> None:
    assert sql_in_list(WriteOffStatus) == "('proposed','approved','rejected')"
