"""What waits for someone: the approvers' queue and the caseworkers' work list (the home page).
Read-only queries across loans, their events, schedules, payments, write-offs and personal
links, one query per kind of item whatever the number of loans. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, and_, exists, func, select, true
from sqlalchemy.orm import aliased

from ledger.domain.statuses import LoanStatus, WriteOffStatus
from ledger.store.tables import (
    access_links,
    installments,
    loan_arrears,
    loan_events,
    loans,
    schedule_versions,
    write_offs,
)


@dataclass(frozen=True, slots=True)
class LoanSince:
    """A loan in a state, and since when (the last time it entered that state)."""

    loan_id: str
    beneficiary_id: str
    status: LoanStatus
    since: datetime | None
    by: str | None  # who moved it there


@dataclass(frozen=True, slots=True)
class LoanOn:
    """A loan and a day that matters for it (a lease's end, a due date)."""

    loan_id: str
    beneficiary_id: str
    on: date


@dataclass(frozen=True, slots=True)
class LoanAt:
    """A loan and an instant that matters for it (a personal link's expiry)."""

    loan_id: str
    beneficiary_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PendingWriteOff:
    id: int
    loan_id: str
    beneficiary_id: str
    proposed_by: str
    proposed_at: datetime
    reason: str
    account_id: int | None


class WorkRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _mine(created_by: str | None) -> ColumnElement[bool]:
        return true() if created_by is None else loans.c.created_by == created_by

    def in_status(
        self, statuses: Sequence[LoanStatus], *, created_by: str | None = None
    ) -> list[LoanSince]:
        """Loans in ``statuses`` (of one creator, or all), oldest waiting first, with when and
        by whom they last entered their state."""
        ev = loan_events
        last = (
            select(ev.c.loan_id, func.max(ev.c.id).label("event_id"))
            .join(loans, and_(loans.c.id == ev.c.loan_id, loans.c.status == ev.c.to_status))
            .group_by(ev.c.loan_id)
            .subquery()
        )
        moved = aliased(loan_events)
        rows = self.conn.execute(
            select(loans.c.id, loans.c.beneficiary_id, loans.c.status, moved.c.at, moved.c.actor)
            .outerjoin(last, last.c.loan_id == loans.c.id)
            .outerjoin(moved, moved.c.id == last.c.event_id)
            .where(loans.c.status.in_([s.value for s in statuses]), self._mine(created_by))
            .order_by(moved.c.at, loans.c.number)
        )
        return [
            LoanSince(r.id, r.beneficiary_id, LoanStatus(r.status), r.at, r.actor) for r in rows
        ]

    def leases_ending(
        self,
        first: date,
        last: date,
        statuses: Sequence[LoanStatus],
        *,
        created_by: str | None = None,
    ) -> list[LoanOn]:
        """Loans in ``statuses`` whose lease ends from ``first`` to ``last``, soonest first."""
        rows = self.conn.execute(
            select(loans.c.id, loans.c.beneficiary_id, loans.c.lease_end)
            .where(
                loans.c.status.in_([s.value for s in statuses]),
                loans.c.lease_end >= first,
                loans.c.lease_end <= last,
                self._mine(created_by),
            )
            .order_by(loans.c.lease_end, loans.c.number)
        )
        return [LoanOn(r.id, r.beneficiary_id, r.lease_end) for r in rows]

    def lending_currencies(self) -> list[str]:
        """The currencies of the loans being repaid."""
        rows = self.conn.execute(
            select(loans.c.currency).where(loans.c.status == LoanStatus.ACTIVE.value).distinct()
        )
        return sorted(r.currency for r in rows)

    def late_first_installments(
        self, day: date, *, created_by: str | None, limit: int
    ) -> tuple[list[LoanOn], int]:
        """Loans whose first installment is late on ``day`` (the oldest unpaid installment of
        the arrears projection's step valid that day is the current schedule's first: its due
        date is the step's ``late_since``, before ``day``), the longest late first, at most
        ``limit``; and how many there are in all."""
        la = loan_arrears
        sv = schedule_versions
        newer = aliased(schedule_versions)
        where = [
            la.c.valid_from <= day,
            la.c.valid_to > day,
            la.c.late_since < day,
            # the schedule in force: no version after it
            ~exists().where(newer.c.loan_id == sv.c.loan_id, newer.c.version > sv.c.version),
        ]
        if created_by is not None:
            where.append(la.c.caseworker == created_by)
        rows = self.conn.execute(
            select(
                la.c.loan_id,
                loans.c.beneficiary_id,
                la.c.late_since,
                func.count().over().label("total"),
            )
            .select_from(la)
            .join(loans, loans.c.id == la.c.loan_id)
            .join(sv, sv.c.loan_id == la.c.loan_id)
            .join(
                installments,
                and_(
                    installments.c.schedule_id == sv.c.id,
                    installments.c.number == 1,
                    installments.c.due_date == la.c.late_since,
                ),
            )
            .where(*where)
            .order_by(la.c.late_since, loans.c.number)
            .limit(limit)
        ).all()
        found = [LoanOn(r.loan_id, r.beneficiary_id, r.late_since) for r in rows]
        return found, int(rows[0].total) if rows else 0

    def links_expiring(
        self,
        after: datetime,
        until: datetime,
        statuses: Sequence[LoanStatus],
        *,
        created_by: str | None = None,
    ) -> list[LoanAt]:
        """Loans in ``statuses`` whose personal links (not withdrawn) all end from ``after``
        to ``until``: the last of them, soonest first."""
        ends = func.max(access_links.c.expires_at)
        rows = self.conn.execute(
            select(loans.c.id, loans.c.beneficiary_id, ends.label("ends"))
            .join(access_links, access_links.c.loan_id == loans.c.id)
            .where(
                access_links.c.revoked_at.is_(None),
                loans.c.status.in_([s.value for s in statuses]),
                self._mine(created_by),
            )
            .group_by(loans.c.id, loans.c.beneficiary_id, loans.c.number)
            .having(and_(ends > after, ends <= until))
            .order_by(ends, loans.c.number)
        )
        return [LoanAt(r.id, r.beneficiary_id, r.ends) for r in rows]

    def pending_write_offs(self) -> list[PendingWriteOff]:
        """Write-offs proposed and not decided yet, oldest first."""
        rows = self.conn.execute(
            select(write_offs, loans.c.beneficiary_id, loans.c.account_id)
            .join(loans, loans.c.id == write_offs.c.loan_id)
            .where(write_offs.c.status == WriteOffStatus.PROPOSED.value)
            .order_by(write_offs.c.proposed_at, write_offs.c.id)
        )
        return [
            PendingWriteOff(
                int(r.id),
                r.loan_id,
                r.beneficiary_id,
                r.proposed_by,
                r.proposed_at,
                r.reason,
                r.account_id,
            )
            for r in rows
        ]

    def status_counts(self) -> dict[LoanStatus, int]:
        """How many loans are in each state (states without a loan: 0)."""
        counts = dict.fromkeys(LoanStatus, 0)
        rows = self.conn.execute(select(loans.c.status, func.count()).group_by(loans.c.status))
        for status, count in rows:
            counts[LoanStatus(status)] = int(count)
        return counts
