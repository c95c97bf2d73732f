"""The arrears projection (``loan_arrears``): each loan's arrears as steps in time
(``ledger.domain.arrears``), kept, read and rebuilt. Never commits.

What a loan's steps depend on is read here the way the full replay reads it
(``LoanRepository.portfolio``): loans in a state after their payout, the payout's booking date,
an approved write-off's booking date, every schedule version (in force from the fund's day it
was made), repayments and deposit releases by value date, refunds by booking date, and the
booking date of the reversal of any of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from ledger.domain.arrears import (
    ArrearsStep,
    LoanHistory,
    LoanSteps,
    ScheduleVersion,
    TimedPayment,
    bucket_bounds,
    steps_of,
)
from ledger.domain.repayment import AgingBucket, DueAmount, PaymentEvent
from ledger.domain.statuses import EntryKind, LoanStatus, PaymentKind, WriteOffStatus
from ledger.store.tables import (
    installments,
    journal_entries,
    journal_legs,
    loan_arrears,
    loan_payments,
    loans,
    schedule_versions,
    write_offs,
)

#: The states of a loan paid out (and not undone): the ones the portfolio counts.
PAID_OUT = (LoanStatus.ACTIVE, LoanStatus.CLOSED, LoanStatus.OVERPAID, LoanStatus.WRITTEN_OFF)
#: Loans read or written per round of queries (bounded IN lists on both engines).
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ArrearsRow:
    """A loan in arrears as of a day, as the projection holds it."""

    loan_id: str
    number: int
    caseworker: str
    outstanding_minor: int
    late_since: date


class ArrearsRepository:
    def __init__(self, conn: Connection, zone: tzinfo) -> None:
        self.conn = conn
        self.zone = zone

    # -- what the steps are made of ----------------------------------------------------------
    def loan_ids(self) -> list[str]:
        """Every loan that may have steps: paid out, in a state after its payout."""
        rows = self.conn.execute(
            select(loans.c.id)
            .where(
                loans.c.disbursement_entry_id.is_not(None),
                loans.c.status.in_([s.value for s in PAID_OUT]),
            )
            .order_by(loans.c.id)
        )
        return [r.id for r in rows]

    def histories(self, loan_ids: Sequence[str]) -> list[LoanHistory]:
        """What each of these loans' arrears depend on (loans not paid out are left out)."""
        found: list[LoanHistory] = []
        for start in range(0, len(loan_ids), CHUNK):
            found += self._histories(list(loan_ids[start : start + CHUNK]))
        return found

    def _histories(self, ids: list[str]) -> list[LoanHistory]:
        disb = aliased(journal_entries)
        heads = self.conn.execute(
            select(loans.c.id, loans.c.currency, loans.c.created_by, disb.c.booking_date)
            .join(disb, disb.c.id == loans.c.disbursement_entry_id)
            .where(loans.c.id.in_(ids), loans.c.status.in_([s.value for s in PAID_OUT]))
            .order_by(loans.c.id)
        ).all()
        if not heads:
            return []
        ids = [h.id for h in heads]
        wo_entry = aliased(journal_entries)
        written_off = dict(
            self.conn.execute(
                select(write_offs.c.loan_id, func.min(wo_entry.c.booking_date))
                .join(wo_entry, wo_entry.c.id == write_offs.c.entry_id)
                .where(
                    write_offs.c.loan_id.in_(ids),
                    write_offs.c.status == WriteOffStatus.APPROVED.value,
                )
                .group_by(write_offs.c.loan_id)
            ).all()
        )
        versions: dict[str, dict[int, tuple[date, list[DueAmount]]]] = defaultdict(dict)
        for r in self.conn.execute(
            select(
                schedule_versions.c.loan_id,
                schedule_versions.c.version,
                schedule_versions.c.created_at,
                installments.c.number,
                installments.c.due_date,
                installments.c.amount_minor,
            )
            .outerjoin(installments, installments.c.schedule_id == schedule_versions.c.id)
            .where(schedule_versions.c.loan_id.in_(ids))
            .order_by(
                schedule_versions.c.loan_id, schedule_versions.c.version, installments.c.number
            )
        ):
            made = versions[r.loan_id].setdefault(
                int(r.version), (r.created_at.astimezone(self.zone).date(), [])
            )
            if r.number is not None:
                made[1].append(DueAmount(int(r.number), r.due_date, int(r.amount_minor)))
        pays: dict[str, list[TimedPayment]] = defaultdict(list)
        rev = aliased(journal_entries)
        for p in self.conn.execute(
            select(
                loan_payments.c.loan_id,
                loan_payments.c.entry_id,
                loan_payments.c.received_on,
                loan_payments.c.amount_minor,
                rev.c.booking_date.label("reversed_on"),
            )
            .outerjoin(rev, rev.c.reverses_id == loan_payments.c.entry_id)
            .where(
                loan_payments.c.loan_id.in_(ids),
                loan_payments.c.kind.in_(
                    [PaymentKind.REPAYMENT.value, PaymentKind.DEPOSIT_RELEASE.value]
                ),
            )
        ):
            event = PaymentEvent(int(p.entry_id), p.received_on, int(p.amount_minor))
            pays[p.loan_id].append(TimedPayment(event, p.reversed_on))
        refund = aliased(journal_entries)
        rev = aliased(journal_entries)
        for f in self.conn.execute(
            select(
                refund.c.loan_id,
                refund.c.id,
                refund.c.booking_date,
                func.sum(
                    case((journal_legs.c.amount_minor > 0, journal_legs.c.amount_minor), else_=0)
                ).label("amount"),
                func.min(rev.c.booking_date).label("reversed_on"),
            )
            .join(journal_legs, journal_legs.c.entry_id == refund.c.id)
            .outerjoin(rev, rev.c.reverses_id == refund.c.id)
            .where(refund.c.loan_id.in_(ids), refund.c.kind == EntryKind.REFUND.value)
            .group_by(refund.c.id, refund.c.loan_id, refund.c.booking_date)
        ):
            event = PaymentEvent(int(f.id), f.booking_date, -int(f.amount))
            pays[f.loan_id].append(TimedPayment(event, f.reversed_on))
        return [
            LoanHistory(
                loan_id=h.id,
                currency=h.currency,
                caseworker=h.created_by,
                paid_out_on=h.booking_date,
                written_off_on=written_off.get(h.id),
                schedules=tuple(
                    ScheduleVersion(v, day, tuple(insts))
                    for v, (day, insts) in sorted(versions[h.id].items())
                ),
                payments=tuple(sorted(pays[h.id], key=lambda p: (p.event.on, p.event.key))),
            )
            for h in heads
        ]

    # -- the stored steps --------------------------------------------------------------------
    def stored(self, loan_ids: Sequence[str] | None = None) -> dict[str, LoanSteps]:
        """The stored steps of these loans (of every loan: None), by loan."""
        if loan_ids is None:
            return _group(self.conn.execute(select(loan_arrears)))
        out: dict[str, LoanSteps] = {}
        for start in range(0, len(loan_ids), CHUNK):
            chunk = list(loan_ids[start : start + CHUNK])
            out.update(
                _group(
                    self.conn.execute(select(loan_arrears).where(loan_arrears.c.loan_id.in_(chunk)))
                )
            )
        return out

    def refresh(self, loan_ids: Iterable[str]) -> int:
        """Bring these loans' steps up to date (each unit of work does it for the loans it
        touched, before it commits); returns how many rows were written or removed."""
        ids = sorted(set(loan_ids))
        changed = 0
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            new = {h.loan_id: steps_of(h) for h in self.histories(chunk)}
            changed += self._write_changes(chunk, self.stored(chunk), new)
        return changed

    def _write_changes(
        self, ids: Sequence[str], old: Mapping[str, LoanSteps], new: Mapping[str, LoanSteps]
    ) -> int:
        """Per loan, from the first step that differs: the old rows removed, the new written
        (a payment booked today usually ends one step and adds another)."""
        deletes: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for loan_id in ids:
            before = old[loan_id].steps if loan_id in old else ()
            after = new[loan_id].steps if loan_id in new else ()
            same = 0
            while same < min(len(before), len(after)) and before[same] == after[same]:
                same += 1
            if same < len(before):
                deletes.append({"l": loan_id, "d": before[same].valid_from})
            if same < len(after):
                inserts += [_row(new[loan_id], s) for s in after[same:]]
        if deletes:
            self.conn.execute(
                delete(loan_arrears).where(
                    loan_arrears.c.loan_id == bindparam("l"),
                    loan_arrears.c.valid_from >= bindparam("d"),
                ),
                deletes,
            )
        if inserts:
            self.conn.execute(insert(loan_arrears), inserts)
        return len(deletes) + len(inserts)

    def rebuild(self) -> int:
        """Every loan's steps made again from the full computation; returns the rows written."""
        self.conn.execute(delete(loan_arrears))
        written = 0
        ids = self.loan_ids()
        for start in range(0, len(ids), CHUNK):
            rows = [
                _row(s, step)
                for s in map(steps_of, self.histories(ids[start : start + CHUNK]))
                for step in s.steps
            ]
            if rows:
                self.conn.execute(insert(loan_arrears), rows)
            written += len(rows)
        return written

    def computed(self) -> Iterator[LoanSteps]:
        """Every loan's steps as the full computation makes them, chunk by chunk."""
        ids = self.loan_ids()
        for start in range(0, len(ids), CHUNK):
            yield from map(steps_of, self.histories(ids[start : start + CHUNK]))

    # -- reading -----------------------------------------------------------------------------
    def _valid_on(self, currency: str, day: date) -> list[Any]:
        """The steps valid on ``day``: started by then, ending after it. Either bound can be
        read from its own index (``ix_loan_arrears_ending`` or ``_starting``): the steps ending
        after a recent day are few (the open ones and the last weeks'), those started by an
        old day too. PostgreSQL's planner chooses by its statistics; SQLite's, without range
        statistics, would always take the same one, so on SQLite the other bound is written
        so that no index serves it (a function of the column): the index is the one whose
        side of the day holds fewer steps, judged by where the day falls between the first
        and the last step's start (two index lookups)."""
        start: ColumnElement[date] = loan_arrears.c.valid_from
        end: ColumnElement[date] = loan_arrears.c.valid_to
        if self.conn.dialect.name == "sqlite":
            mine = loan_arrears.c.currency == currency
            # Two subqueries: SQLite reads a lone min() or max() from the index's either end.
            first, last = self.conn.execute(
                select(
                    select(func.min(start)).where(mine).scalar_subquery(),
                    select(func.max(start)).where(mine).scalar_subquery(),
                )
            ).one()
            if first is not None and last is not None and day >= first + (last - first) / 2:
                start = func.coalesce(start, start)
            else:
                end = func.coalesce(end, end)
        return [loan_arrears.c.currency == currency, start <= day, end > day]

    def late_since_on(self, loan_ids: Sequence[str], day: date) -> dict[str, date | None]:
        """Each of these loans' ``late_since`` on ``day``, for those owing something that day
        (the step valid on it: read by the primary key, loan by loan)."""
        if not loan_ids:
            return {}
        rows = self.conn.execute(
            select(loan_arrears.c.loan_id, loan_arrears.c.late_since).where(
                loan_arrears.c.loan_id.in_(list(loan_ids)),
                loan_arrears.c.valid_from <= day,
                loan_arrears.c.valid_to > day,
            )
        )
        return {r.loan_id: r.late_since for r in rows}

    def _bucketed(self, currency: str, as_of: date) -> Any:
        """The steps valid on ``as_of`` with their bucket that day, their outstanding and
        their caseworker (a subquery)."""
        bounds = bucket_bounds(as_of)
        late = loan_arrears.c.late_since
        whens = [
            (or_(late.is_(None), late >= bounds.limits[0][1]), literal(bounds.limits[0][0].value))
        ]
        whens += [(late >= day, literal(name.value)) for name, day in bounds.limits[1:]]
        return (
            select(
                case(*whens, else_=literal(AgingBucket.OVER_360.value)).label("bucket"),
                loan_arrears.c.outstanding_minor,
                loan_arrears.c.caseworker,
            )
            .where(*self._valid_on(currency, as_of))
            .subquery()
        )

    def aging(self, currency: str, as_of: date) -> dict[str, tuple[int, int]]:
        """bucket -> (loans, outstanding) of the loans owing something in ``currency`` on
        ``as_of``: one aggregate over the steps valid that day."""
        valid = self._bucketed(currency, as_of)
        rows = self.conn.execute(
            select(valid.c.bucket, func.count(), func.sum(valid.c.outstanding_minor)).group_by(
                valid.c.bucket
            )
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    def aging_by_caseworker(
        self, currency: str, as_of: date
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(bucket, caseworker) -> (loans, outstanding) of the loans owing something in
        ``currency`` on ``as_of``: the aging, each caseworker's late loans and the arrears
        list's total for any filter, from one aggregate over the steps valid that day."""
        valid = self._bucketed(currency, as_of)
        rows = self.conn.execute(
            select(
                valid.c.bucket,
                valid.c.caseworker,
                func.count(),
                func.sum(valid.c.outstanding_minor),
            ).group_by(valid.c.bucket, valid.c.caseworker)
        )
        return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}

    def in_arrears(
        self,
        currency: str,
        as_of: date,
        *,
        late_from: date | None,
        late_before: date,
        caseworker: str | None,
        limit: int | None,
        offset: int,
        known_total: int | None = None,
    ) -> tuple[list[ArrearsRow], int]:
        """Loans late on ``as_of`` (``late_since`` before ``late_before``, and on or after
        ``late_from``), the longest late first, then by loan id; and how many there are in all
        (counted, unless the caller knows it: ``known_total``). The page is read from the
        projection's index alone (the caseworker is copied into it); its few loans' numbers
        are looked up after."""
        late = loan_arrears.c.late_since
        where = [*self._valid_on(currency, as_of), late < late_before]
        if late_from is not None:
            where.append(late >= late_from)
        if caseworker is not None:
            where.append(loan_arrears.c.caseworker == caseworker)
        if known_total is None:
            total = int(self.conn.execute(select(func.count()).where(*where)).scalar_one())
        else:
            total = known_total
            if offset >= total:
                return [], total  # past the end: nothing to read
        stmt = (
            select(
                loan_arrears.c.loan_id,
                loan_arrears.c.caseworker,
                loan_arrears.c.outstanding_minor,
                late,
            )
            .where(*where)
            .order_by(late, loan_arrears.c.loan_id)
            .offset(offset)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        page = self.conn.execute(stmt).all()
        numbers: dict[str, int] = {}
        ids = [r.loan_id for r in page]
        for start in range(0, len(ids), CHUNK):
            numbers.update(
                (r.id, int(r.number))
                for r in self.conn.execute(
                    select(loans.c.id, loans.c.number).where(
                        loans.c.id.in_(ids[start : start + CHUNK])
                    )
                )
            )
        rows = [
            ArrearsRow(
                r.loan_id, numbers[r.loan_id], r.caseworker, int(r.outstanding_minor), r.late_since
            )
            for r in page
        ]
        return rows, total

    def currencies(self) -> list[str]:
        """The currencies the projection holds steps in, in order: each one the smallest after
        the one before, read from the indexes' first column (one lookup per currency, however
        many steps)."""
        found: list[str] = []
        while True:
            smallest = select(func.min(loan_arrears.c.currency))
            if found:
                smallest = smallest.where(loan_arrears.c.currency > found[-1])
            currency = self.conn.execute(smallest).scalar_one_or_none()
            if currency is None:
                return found
            found.append(currency)

    def caseworkers(self, currency: str, as_of: date) -> list[tuple[str, int]]:
        """(caseworker, loans late on ``as_of``) for each caseworker with such a loan."""
        rows = self.conn.execute(
            select(loan_arrears.c.caseworker, func.count())
            .where(*self._valid_on(currency, as_of), loan_arrears.c.late_since < as_of)
            .group_by(loan_arrears.c.caseworker)
            .order_by(loan_arrears.c.caseworker)
        )
        return [(r[0], int(r[1])) for r in rows]


def _row(loan: LoanSteps, step: ArrearsStep) -> dict[str, Any]:
    return {
        "loan_id": loan.loan_id,
        "valid_from": step.valid_from,
        "valid_to": step.valid_to,
        "currency": loan.currency,
        "caseworker": loan.caseworker,
        "outstanding_minor": step.outstanding_minor,
        "late_since": step.late_since,
    }


def _group(rows: Iterable[Any]) -> dict[str, LoanSteps]:
    by_loan: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_loan[r.loan_id].append(r)
    return {
        loan_id: LoanSteps(
            loan_id,
            found[0].currency,
            found[0].caseworker,
            tuple(
                ArrearsStep(r.valid_from, r.valid_to, int(r.outstanding_minor), r.late_since)
                for r in sorted(found, key=lambda r: r.valid_from)
            ),
        )
        for loan_id, found in by_loan.items()
    }
