"""Payment files (pain.001) and the entries they pay. Never commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.orm import aliased

from ledger.domain.errors import NotFound
from ledger.domain.payment_files import Payout, StoredItem, StoredPaymentFile
from ledger.domain.statuses import PaymentFileStatus, PayoutKind
from ledger.store.tables import (
    journal_entries,
    journal_legs,
    payment_file_items,
    payment_files,
    statement_lines,
)

#: A file in one of these states holds its entries: no other file may pay them.
LIVE = (PaymentFileStatus.CREATED, PaymentFileStatus.SENT)


def _executed() -> Any:
    """Per file: how many of its items' entries a statement line explains."""
    return (
        select(func.count())
        .select_from(payment_file_items)
        .where(
            payment_file_items.c.file_id == payment_files.c.id,
            select(statement_lines.c.id)
            .where(statement_lines.c.entry_id == payment_file_items.c.entry_id)
            .exists(),
        )
        .scalar_subquery()
        .label("executed")
    )


def _file(row: Row[Any]) -> StoredPaymentFile:
    return StoredPaymentFile(
        id=int(row.id),
        message_id=row.message_id,
        bank_account_id=int(row.bank_account_id),
        currency=row.currency,
        execution_date=row.execution_date,
        transfers=int(row.transfers),
        total_minor=int(row.total_minor),
        sha256=row.sha256,
        status=PaymentFileStatus(row.status),
        created_at=row.created_at,
        created_by=row.created_by,
        sent_at=row.sent_at,
        sent_by=row.sent_by,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
        cancel_reason=row.cancel_reason,
        executed=int(row.executed),
    )


class PaymentFileRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def pending(self, account_id: int, kinds: Sequence[str]) -> list[Payout]:
        """Entries of ``kinds`` that took money out of ledger account ``account_id``, not
        reversed, in no live file and explained by no statement line, oldest first."""
        rev = aliased(journal_entries)
        live_item = (
            select(payment_file_items.c.id)
            .join(payment_files, payment_files.c.id == payment_file_items.c.file_id)
            .where(
                payment_file_items.c.entry_id == journal_entries.c.id,
                payment_files.c.status.in_(LIVE),
            )
        )
        rows = self.conn.execute(
            select(
                journal_entries.c.id,
                journal_entries.c.booking_date,
                journal_entries.c.kind,
                journal_entries.c.loan_id,
                journal_legs.c.amount_minor,
            )
            .join(journal_legs, journal_legs.c.entry_id == journal_entries.c.id)
            .where(
                journal_legs.c.account_id == account_id,
                journal_legs.c.amount_minor < 0,
                journal_entries.c.kind.in_([str(k) for k in kinds]),
                ~select(rev.c.id).where(rev.c.reverses_id == journal_entries.c.id).exists(),
                ~select(statement_lines.c.id)
                .where(statement_lines.c.entry_id == journal_entries.c.id)
                .exists(),
                ~live_item.exists(),
            )
            .order_by(journal_entries.c.booking_date, journal_entries.c.id)
        )
        return [
            Payout(int(r.id), r.booking_date, PayoutKind(r.kind), r.loan_id, -int(r.amount_minor))
            for r in rows
        ]

    def live_file_of(self, entry_id: int) -> int | None:
        """The created or sent file that pays ``entry_id``, if any."""
        found = self.conn.execute(
            select(payment_files.c.id)
            .join(payment_file_items, payment_file_items.c.file_id == payment_files.c.id)
            .where(payment_file_items.c.entry_id == entry_id, payment_files.c.status.in_(LIVE))
        ).first()
        return int(found[0]) if found else None

    def add_file(self, values: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> int:
        file_id = self.conn.execute(
            insert(payment_files).values(**values).returning(payment_files.c.id)
        ).scalar_one()
        self.conn.execute(
            insert(payment_file_items), [{**item, "file_id": file_id} for item in items]
        )
        return int(file_id)

    def _select(self) -> Any:
        return select(payment_files, _executed())

    def get(self, file_id: int, *, lock: bool = False) -> StoredPaymentFile:
        if lock:  # a row lock on PostgreSQL; SQLite's single writer needs none
            self.conn.execute(
                select(payment_files.c.id).where(payment_files.c.id == file_id).with_for_update()
            )
        row = self.conn.execute(self._select().where(payment_files.c.id == file_id)).first()
        if row is None:
            raise NotFound(f"payment file {file_id} does not exist", "file_id")
        return _file(row)

    def by_message_id(self, message_id: str) -> StoredPaymentFile | None:
        row = self.conn.execute(
            self._select().where(payment_files.c.message_id == message_id)
        ).first()
        return _file(row) if row else None

    def page(
        self, *, status: str | None, limit: int, offset: int
    ) -> tuple[list[StoredPaymentFile], int]:
        """Files, newest first."""
        where = [payment_files.c.status == status] if status else []
        total = self.conn.execute(
            select(func.count()).select_from(payment_files).where(*where)
        ).scalar_one()
        rows = self.conn.execute(
            self._select()
            .where(*where)
            .order_by(payment_files.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_file(r) for r in rows], int(total)

    def items(self, file_id: int) -> list[StoredItem]:
        line = (
            select(func.min(statement_lines.c.id))
            .where(statement_lines.c.entry_id == payment_file_items.c.entry_id)
            .scalar_subquery()
        )
        rows = self.conn.execute(
            select(payment_file_items, line.label("line_id"))
            .where(payment_file_items.c.file_id == file_id)
            .order_by(payment_file_items.c.id)
        )
        return [
            StoredItem(
                int(r.entry_id),
                r.end_to_end_id,
                PayoutKind(r.kind),
                r.loan_id,
                int(r.amount_minor),
                int(r.line_id) if r.line_id is not None else None,
            )
            for r in rows
        ]

    def set_status(self, file_id: int, status: PaymentFileStatus, **values: Any) -> None:
        self.conn.execute(
            update(payment_files)
            .where(payment_files.c.id == file_id)
            .values(status=status, **values)
        )
