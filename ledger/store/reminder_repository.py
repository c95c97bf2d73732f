"""Payment reminders as their loans record them (``reminders``), and the loans that may be due
one. Never commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, insert, select, tuple_, update

from ledger.domain.reminders import StoredReminder
from ledger.domain.statuses import LoanStatus, ReminderChannel, ReminderKind, ReminderStatus
from ledger.store.tables import loans, reminders

#: Keys looked up per query (bounded IN lists on both engines).
CHUNK = 500


class ReminderRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def active_loans(self) -> list[tuple[str, str]]:
        """(loan id, beneficiary id) of every loan paid out and still being repaid."""
        rows = self.conn.execute(
            select(loans.c.id, loans.c.beneficiary_id)
            .where(
                loans.c.status == LoanStatus.ACTIVE.value,
                loans.c.disbursement_entry_id.is_not(None),
            )
            .order_by(loans.c.id)
        )
        return [(r.id, r.beneficiary_id) for r in rows]

    def by_keys(
        self, keys: Iterable[tuple[str, ReminderKind, date]], channel: ReminderChannel
    ) -> dict[tuple[str, ReminderKind, date], StoredReminder]:
        """The reminders already recorded for these (loan, kind, due date) on ``channel``."""
        wanted = [(loan_id, kind.value, due) for loan_id, kind, due in keys]
        found: dict[tuple[str, ReminderKind, date], StoredReminder] = {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            loan_ids = sorted({k[0] for k in chunk})
            rows = self.conn.execute(
                select(reminders).where(
                    reminders.c.channel == channel.value,
                    reminders.c.loan_id.in_(loan_ids),
                    tuple_(reminders.c.loan_id, reminders.c.kind, reminders.c.due_date).in_(chunk),
                )
            )
            for row in rows:
                stored = _reminder(row)
                found[stored.key] = stored
        return found

    def get(self, reminder_id: int) -> StoredReminder:
        row = self.conn.execute(select(reminders).where(reminders.c.id == reminder_id)).one()
        return _reminder(row)

    def of_loan(self, loan_id: str) -> list[StoredReminder]:
        """The loan's reminders, the latest first."""
        rows = self.conn.execute(
            select(reminders)
            .where(reminders.c.loan_id == loan_id)
            .order_by(reminders.c.updated_at.desc(), reminders.c.id.desc())
        )
        return [_reminder(r) for r in rows]

    def add(self, values: Mapping[str, Any]) -> int:
        """A new reminder (every column but ``id``); returns its id."""
        result = self.conn.execute(insert(reminders).values(**values).returning(reminders.c.id))
        return int(result.scalar_one())

    def change(self, reminder_id: int, values: Mapping[str, Any]) -> None:
        self.conn.execute(update(reminders).where(reminders.c.id == reminder_id).values(**values))


def _reminder(row: Row[Any]) -> StoredReminder:
    return StoredReminder(
        id=int(row.id),
        loan_id=row.loan_id,
        kind=ReminderKind(row.kind),
        due_date=row.due_date,
        channel=ReminderChannel(row.channel),
        status=ReminderStatus(row.status),
        day=row.day,
        days_late=int(row.days_late),
        language=row.language,
        attempts=int(row.attempts),
        reason=row.reason,
        error=row.error,
        message_id=row.message_id,
        link_id=None if row.link_id is None else int(row.link_id),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
    )
