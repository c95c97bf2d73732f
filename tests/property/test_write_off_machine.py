"""The loan machine (test_loan_lifecycle_machine.py) bent on write-offs (issue 16).

The same rules and invariants, but every write-off drawn is attempted: loans are written off
early and then take recoveries, deposit releases, payments backdated before the write-off,
bounces of payments from before and after it and refunds, in any order and on any open day.
After each step the model says where every receipt went, account by account (the loan, the
recovery income, what is owed back to the person), each written-off loan's part of the losses
and of the recoveries, the recoveries never above the loss, anything owed again proposed for a
second treasurer; the journal balances and ``verify`` passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import Engine

from tests.property.test_loan_lifecycle_machine import (
    SETTINGS,
    PostgresLoanMachine,
    SQLiteLoanMachine,
)


class SQLiteWriteOffMachine(SQLiteLoanMachine):
    write_off_odds: ClassVar[int] = 0


class PostgresWriteOffMachine(PostgresLoanMachine):
    write_off_odds: ClassVar[int] = 0


class TestWriteOffsOnSQLite(SQLiteWriteOffMachine.TestCase):  # type: ignore[misc,valid-type]
    settings = SETTINGS

    @pytest.fixture(autouse=True)
    def _database(self, sqlite_template: Path, tmp_path: Path) -> Iterator[None]:
        SQLiteWriteOffMachine.template = sqlite_template
        SQLiteWriteOffMachine.workdir = tmp_path
        yield


@pytest.mark.postgres
class TestWriteOffsOnPostgres(PostgresWriteOffMachine.TestCase):  # type: ignore[misc,valid-type]
    settings = SETTINGS

    @pytest.fixture(autouse=True)
    def _database(self, pg_session_engine: Engine) -> Iterator[None]:
        PostgresWriteOffMachine.shared_engine = pg_session_engine
        yield
