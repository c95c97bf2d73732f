"""The states the code names are the ones the database's CHECK constraints allow."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

import pytest
from sqlalchemy import CheckConstraint

from ledger.domain.accounts import AccountType
from ledger.domain.documents import DocumentKind
from ledger.domain.eligibility import Outcome
from ledger.domain.roles import Role
from ledger.domain.statuses import (
    CloseRequestStatus,
    LineState,
    LoanStatus,
    PaymentFileStatus,
    PaymentKind,
    PayoutKind,
    PeriodAction,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    SignatureMethod,
    WriteOffStatus,
    sql_in_list,
)
from ledger.store.tables import metadata

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def migration_strings(name: str) -> str:
    """Every string of a migration, adjacent literals joined as Python joins them, and each
    f-string with the module's own string constants put in (``f"state IN {STATES}"``)."""
    tree = ast.parse((VERSIONS / name).read_text())
    constants = {
        n.targets[0].id: n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        and isinstance(n.targets[0], ast.Name)
        and isinstance(n.value, ast.Constant)
        and isinstance(n.value.value, str)
    }
    texts = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            texts.append(n.value)
        elif isinstance(n, ast.JoinedStr):
            texts.append("".join(_part(v, constants) for v in n.values))
    return "\n".join(texts)


def _part(node: ast.expr, constants: dict[str, str]) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.FormattedValue) and isinstance(node.value, ast.Name):
        return constants.get(node.value.id, "{?}")
    return "{?}"


#: Each enum, the column whose CHECK constraint lists it, and the migration that made it.
ENUM_COLUMNS: list[tuple[type[StrEnum], str, str]] = [
    (AccountType, "type", "0001_ledger_core.py"),
    (PeriodAction, "action", "0001_ledger_core.py"),
    (Role, "role", "0001_ledger_core.py"),
    (LoanStatus, "status", "0002_loans.py"),
    (Outcome, "outcome", "0002_loans.py"),
    (PaymentKind, "kind", "0002_loans.py"),
    (WriteOffStatus, "status", "0002_loans.py"),
    (DocumentKind, "kind", "0003_documents.py"),
    (SignatureMethod, "beneficiary_method", "0003_documents.py"),
    (LineState, "state", "0004_statements.py"),
    (PaymentFileStatus, "status", "0006_payment_files.py"),
    (PayoutKind, "kind", "0006_payment_files.py"),
    (CloseRequestStatus, "status", "0012_close_requests.py"),
    (ReminderKind, "kind", "0014_payment_reminders.py"),
    (ReminderChannel, "channel", "0014_payment_reminders.py"),
    (ReminderStatus, "status", "0014_payment_reminders.py"),
]


@pytest.mark.parametrize(("states", "column", "migration"), ENUM_COLUMNS)
def test_each_enum_is_what_its_table_allows(
    states: type[StrEnum], column: str, migration: str
) -> None:
    """The migration that made the column allows exactly the enum's values, in its order."""
    strings = migration_strings(migration)
    allowed = sql_in_list(states)
    assert f"{column} IN {allowed}" in strings


def test_the_models_checks_use_the_enums() -> None:
    """tables.py (what `alembic check` compares) names the same lists."""
    checks = {
        str(c.sqltext)
        for table in metadata.tables.values()
        for c in table.constraints
        if isinstance(c, CheckConstraint)
    }
    for states, column, _ in ENUM_COLUMNS:
        assert any(f"{column} IN {sql_in_list(states)}" in c for c in checks), states


def test_the_list_is_quoted_in_the_enum_order() -> None:
    assert sql_in_list(WriteOffStatus) == "('proposed','approved','rejected')"
