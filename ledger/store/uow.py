"""The unit of work: one database transaction per use case, and the only place that commits.

Used as ``with uow: ...; uow.commit()``. Leaving the block without ``commit()`` (an error, or a
read-only use case) rolls everything back, so a refused request never leaves half its writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, tzinfo
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError

from ledger.domain.errors import Conflict
from ledger.domain.roles import Actor
from ledger.store.account_repository import AccountRepository
from ledger.store.arrears_repository import ArrearsRepository
from ledger.store.audit_repository import AuditRepository
from ledger.store.beneficiary_repository import BeneficiaryRepository
from ledger.store.document_repository import DocumentRepository
from ledger.store.driver import Driver
from ledger.store.idempotency_repository import IdempotencyRepository
from ledger.store.journal_repository import JournalRepository
from ledger.store.loan_repository import LoanRepository
from ledger.store.payment_file_repository import PaymentFileRepository
from ledger.store.period_repository import PeriodRepository
from ledger.store.reconciliation_repository import ReconciliationRepository
from ledger.store.reminder_repository import ReminderRepository
from ledger.store.statement_repository import StatementRepository
from ledger.store.user_repository import UserRepository
from ledger.store.work_repository import WorkRepository

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class GuardRefused(Conflict):
    """The database itself refused a write (a trigger or constraint); nothing was written."""

    code = "refused-by-database"
    title = "Refused by a database guard"


class UnitOfWork:
    accounts: AccountRepository
    journal: JournalRepository
    periods: PeriodRepository
    users: UserRepository
    audit: AuditRepository
    idempotency: IdempotencyRepository
    loans: LoanRepository
    arrears: ArrearsRepository
    beneficiaries: BeneficiaryRepository
    statements: StatementRepository
    documents: DocumentRepository
    payment_files: PaymentFileRepository
    reconciliation: ReconciliationRepository
    reminders: ReminderRepository
    work: WorkRepository
    driver: Driver

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utc_now,
        readonly: bool = False,
        zone: tzinfo = UTC,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.readonly = readonly
        self.zone = zone
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None

    def __enter__(self) -> UnitOfWork:
        if self._conn is not None:
            raise RuntimeError("this unit of work is already in use")
        conn = self.engine.connect()
        if self.readonly and conn.dialect.name == "postgresql":
            # One snapshot for the whole unit of work, as SQLite's read transaction has: a
            # reconciliation or a report reads many tables, and must see the books as they
            # were at one moment, not a posting that committed between two of its queries.
            conn = conn.execution_options(
                fundledger_readonly=True,
                isolation_level="REPEATABLE READ",
                postgresql_readonly=True,
            )
        elif self.readonly:
            conn = conn.execution_options(fundledger_readonly=True)
        self._conn = conn
        self._tx = conn.begin()
        self.driver = driver = Driver(conn)
        self.accounts = AccountRepository(conn, driver)
        # Loans whose arrears this unit of work may change: the repositories that write what
        # arrears depend on add to it, and commit() refreshes their projection first.
        self.touched_loans: set[str] = set()
        self.journal = JournalRepository(conn, self.accounts, self.touched_loans)
        self.periods = PeriodRepository(conn)
        self.users = UserRepository(conn)
        self.audit = AuditRepository(conn, driver)
        self.idempotency = IdempotencyRepository(conn, driver)
        self.loans = LoanRepository(conn, zone=self.zone, touched=self.touched_loans)
        self.arrears = ArrearsRepository(conn, self.zone)
        self.beneficiaries = BeneficiaryRepository(conn)
        self.statements = StatementRepository(conn)
        self.documents = DocumentRepository(conn)
        self.payment_files = PaymentFileRepository(conn)
        self.reconciliation = ReconciliationRepository(conn)
        self.reminders = ReminderRepository(conn)
        self.work = WorkRepository(conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.driver.close()
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._tx = None
        if isinstance(exc, DBAPIError) and "fundledger:" in str(exc.orig):
            raise GuardRefused(_guard_message(exc)) from exc

    def now(self) -> datetime:
        return self.clock()

    def audit_event(
        self,
        actor: Actor | str,
        action: str,
        *,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record in the audit log, in this unit of work, that ``actor`` did or read ``action``
        on ``target`` now (``details``: what else to keep; never personal data)."""
        self.audit.record(
            at=self.now(),
            actor=actor if isinstance(actor, str) else actor.name,
            action=action,
            target=target,
            details=details,
        )

    @property
    def one_snapshot(self) -> bool:
        """Whether every query of this unit of work sees the books at one moment: a read-only
        one (PostgreSQL's REPEATABLE READ, SQLite's read transaction) or any on SQLite (a
        writer holds the database from BEGIN IMMEDIATE). A writer on PostgreSQL (READ
        COMMITTED) sees each query's own moment."""
        return self.readonly or self.connection.dialect.name == "sqlite"

    def today(self) -> date:
        """Today in the fund's time zone: the latest booking date, the day a month ends."""
        return self.clock().astimezone(self.zone).date()

    def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("commit() outside `with uow:`")
        if self.readonly:
            raise RuntimeError("a read-only unit of work cannot commit")
        try:
            if self.touched_loans:
                # In the same transaction as what changed them: no service can forget it.
                self.arrears.refresh(self.touched_loans)
                self.touched_loans.clear()
            self._tx.commit()
        except DBAPIError as exc:
            if "fundledger:" in str(exc.orig):
                raise GuardRefused(_guard_message(exc)) from exc
            raise

    @property
    def connection(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn


def _guard_message(exc: DBAPIError) -> str:
    text = str(exc.orig).splitlines()[0]
    return text[text.index("fundledger:") :]
