"""Loans, their schedules and payments (the people they are lent to: beneficiary_repository).
Never commits."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, TypedDict, Unpack

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    case,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import aliased

from ledger.domain.eligibility import Decision, PublicAlternatives
from ledger.domain.errors import Conflict, NotFound
from ledger.domain.loans import (
    DepositForm,
    Lease,
    Loan,
    LoanEvent,
    LoanTerms,
    StoredDecision,
    WriteOff,
)
from ledger.domain.money import from_minor, to_minor
from ledger.domain.references import PaymentReference, ReferenceKind
from ledger.domain.repayment import DueAmount, PaymentEvent
from ledger.domain.schedule import Installment, Schedule
from ledger.domain.statuses import EntryKind, LoanStatus, PaymentKind, WriteOffStatus
from ledger.store.tables import (
    accounts,
    deposit_releases,
    eligibility_decisions,
    installments,
    journal_entries,
    journal_legs,
    leases,
    loan_events,
    loan_payments,
    loans,
    schedule_versions,
    write_offs,
)

_PG_INSERT_PAYMENTS = """
INSERT INTO loan_payments (entry_id, loan_id, received_on, amount_minor, kind)
SELECT * FROM unnest(
    %(e)b::bigint[], %(loan)b::varchar[], %(on)b::date[], %(minor)b::bigint[], %(kind)b::varchar[]
)
"""


class LoanChanges(TypedDict, total=False):
    """What a change of a loan's state may set besides its status (``LoanRepository.save``)."""

    account_id: int | None
    submitted_by: str | None
    approved_by: str | None
    disbursement_entry_id: int | None
    written_off: bool


@dataclass(frozen=True, slots=True)
class RulesUse:
    """A set of lending rules as the eligibility decisions recorded it, and when it was used."""

    version: str
    fingerprint: str
    first: datetime
    last: datetime
    decisions: int


class LoanRepository:
    def __init__(
        self, conn: Connection, *, zone: tzinfo = UTC, touched: set[str] | None = None
    ) -> None:
        self.conn = conn
        self.zone = zone
        # Loans whose arrears may have changed: the unit of work refreshes their projection
        # (``loan_arrears``) before it commits.
        self.touched = touched if touched is not None else set()

    # -- loans -----------------------------------------------------------------------------
    def next_number(self) -> int:
        current = self.conn.execute(select(func.max(loans.c.number))).scalar_one()
        return int(current or 0) + 1

    def add_loan(
        self, loan: Loan, lease: Lease, *, now: datetime, opening_key: str | None = None
    ) -> None:
        t = loan.terms
        self.conn.execute(
            insert(loans).values(
                id=loan.id,
                number=loan.number,
                beneficiary_id=loan.beneficiary_id,
                status=loan.status.value,
                currency=t.currency,
                principal_minor=to_minor(t.deposit),
                monthly_rent_minor=to_minor(t.monthly_rent),
                jurisdiction=t.jurisdiction,
                deposit_form=t.deposit_form.value,
                lease_start=t.lease_start,
                lease_end=t.lease_end,
                installments=t.installments,
                monthly_amount_minor=to_minor(t.monthly_amount) if t.monthly_amount else None,
                first_due_date=t.first_due_date,
                due_day=t.due_day,
                whole_units=t.whole_units,
                public_alternatives=t.public_alternatives.value,
                reference_kind=loan.reference.kind.value,
                reference=loan.reference.value,
                account_id=None,
                created_at=now,
                created_by=loan.created_by,
                written_off=False,
                version=1,
                opening_key=opening_key,
            )
        )
        self.conn.execute(
            insert(leases).values(
                loan_id=loan.id,
                landlord_name=lease.landlord_name,
                property_address=lease.property_address,
                landlord_iban=lease.landlord_iban,
            )
        )

    def get(self, loan_id: str, *, lock: bool = False) -> Loan:
        stmt = select(loans).where(loans.c.id == loan_id)
        if lock and self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = self.conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"loan {loan_id} does not exist", "loan_id")
        return _loan(row)

    def by_opening_key(self, key: str) -> Loan | None:
        """The loan that the application form carrying ``key`` opened, if one did."""
        row = self.conn.execute(select(loans).where(loans.c.opening_key == key)).first()
        return _loan(row) if row else None

    def by_reference(self, reference: str) -> Loan | None:
        row = self.conn.execute(select(loans).where(loans.c.reference == reference)).first()
        return _loan(row) if row else None

    def page(
        self,
        *,
        status: LoanStatus | None,
        beneficiary_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Loan], int]:
        conds = []
        if status is not None:
            conds.append(loans.c.status == status.value)
        if beneficiary_id is not None:
            conds.append(loans.c.beneficiary_id == beneficiary_id)
        where = and_(True, *conds)
        total = self.conn.execute(select(func.count()).select_from(loans).where(where))
        rows = self.conn.execute(
            select(loans).where(where).order_by(loans.c.number).limit(limit).offset(offset)
        )
        return [_loan(r) for r in rows], int(total.scalar_one())

    def committed_minor(
        self, currency: str, statuses: Sequence[LoanStatus], *, exclude: str
    ) -> int:
        """Principal of loans in ``statuses`` (e.g. approved, not paid out yet), but one."""
        total = self.conn.execute(
            select(func.coalesce(func.sum(loans.c.principal_minor), 0)).where(
                loans.c.currency == currency,
                loans.c.status.in_([s.value for s in statuses]),
                loans.c.id != exclude,
            )
        ).scalar_one()
        return int(total)

    def of_beneficiary(self, bid: str) -> list[Loan]:
        rows = self.conn.execute(select(loans).where(loans.c.beneficiary_id == bid))
        return [_loan(r) for r in rows]

    def save(
        self, loan: Loan, *, status: LoanStatus | None = None, **changes: Unpack[LoanChanges]
    ) -> Loan:
        """Change a loan's state if nobody else changed it since it was read (optimistic
        lock): its status and the fields ``changes`` names, nothing else."""
        values: dict[str, object] = dict(changes)
        if status is not None:
            values["status"] = status.value
        return self._update(loan, values)

    def _update(self, loan: Loan, values: Mapping[str, object]) -> Loan:
        self.touched.add(loan.id)
        result = self.conn.execute(
            update(loans)
            .where(loans.c.id == loan.id, loans.c.version == loan.version)
            .values(version=loan.version + 1, **values)
        )
        if result.rowcount != 1:
            raise Conflict(
                f"loan {loan.id} was changed by someone else meanwhile; reload it and try again",
                "loan_id",
            )
        return self.get(loan.id)

    def update_terms(self, loan: Loan, terms: LoanTerms) -> Loan:
        return self._update(
            loan,
            dict(
                principal_minor=to_minor(terms.deposit),
                monthly_rent_minor=to_minor(terms.monthly_rent),
                jurisdiction=terms.jurisdiction,
                deposit_form=terms.deposit_form.value,
                lease_start=terms.lease_start,
                lease_end=terms.lease_end,
                installments=terms.installments,
                monthly_amount_minor=to_minor(terms.monthly_amount)
                if terms.monthly_amount
                else None,
                first_due_date=terms.first_due_date,
                due_day=terms.due_day,
                whole_units=terms.whole_units,
                public_alternatives=terms.public_alternatives.value,
            ),
        )

    def lease(self, loan_id: str) -> Lease:
        row = self.conn.execute(select(leases).where(leases.c.loan_id == loan_id)).first()
        if row is None:
            return Lease(None, None)
        return Lease(row.landlord_name, row.property_address, row.landlord_iban)

    def update_lease(self, loan_id: str, lease: Lease) -> None:
        self.conn.execute(
            update(leases)
            .where(leases.c.loan_id == loan_id)
            .values(
                landlord_name=lease.landlord_name,
                property_address=lease.property_address,
                landlord_iban=lease.landlord_iban,
            )
        )

    # -- events ----------------------------------------------------------------------------
    def add_event(
        self,
        loan_id: str,
        *,
        at: datetime,
        actor: str,
        action: str,
        from_status: LoanStatus,
        to_status: LoanStatus,
        reason: str | None = None,
        entry_id: int | None = None,
    ) -> None:
        self.conn.execute(
            insert(loan_events).values(
                loan_id=loan_id,
                at=at,
                actor=actor,
                action=action,
                from_status=from_status.value,
                to_status=to_status.value,
                reason=reason,
                entry_id=entry_id,
            )
        )

    def events(self, loan_id: str) -> list[LoanEvent]:
        rows = self.conn.execute(
            select(loan_events).where(loan_events.c.loan_id == loan_id).order_by(loan_events.c.id)
        )
        return [
            LoanEvent(r.at, r.actor, r.action, r.from_status, r.to_status, r.reason, r.entry_id)
            for r in rows
        ]

    # -- schedules -------------------------------------------------------------------------
    def add_schedule(
        self, loan_id: str, schedule: Schedule, *, reason: str, actor: str, now: datetime
    ) -> int:
        current = self.conn.execute(
            select(func.max(schedule_versions.c.version)).where(
                schedule_versions.c.loan_id == loan_id
            )
        ).scalar_one()
        version = int(current or 0) + 1
        self.touched.add(loan_id)
        sid = self.conn.execute(
            insert(schedule_versions)
            .values(
                loan_id=loan_id, version=version, created_at=now, created_by=actor, reason=reason
            )
            .returning(schedule_versions.c.id)
        ).scalar_one()
        self.conn.execute(
            insert(installments),
            [
                {
                    "schedule_id": sid,
                    "number": i.number,
                    "due_date": i.due_date,
                    "amount_minor": i.minor,
                }
                for i in schedule.installments
            ],
        )
        return version

    def schedule(self, loan_id: str, version: int | None = None) -> tuple[int, Schedule]:
        """The loan's current schedule (or a given version) with its version number."""
        sv = schedule_versions
        stmt = select(sv.c.id, sv.c.version).where(sv.c.loan_id == loan_id)
        stmt = (
            stmt.where(sv.c.version == version)
            if version
            else stmt.order_by(sv.c.version.desc()).limit(1)
        )
        head = self.conn.execute(stmt).first()
        if head is None:
            raise NotFound(f"loan {loan_id} has no schedule", "loan_id")
        currency = self.conn.execute(
            select(loans.c.currency).where(loans.c.id == loan_id)
        ).scalar_one()
        rows = self.conn.execute(
            select(installments)
            .where(installments.c.schedule_id == head.id)
            .order_by(installments.c.number)
        )
        return head.version, Schedule(
            tuple(
                Installment(r.number, r.due_date, from_minor(int(r.amount_minor), currency))
                for r in rows
            )
        )

    def _end_of(self, day: date) -> datetime:
        """The fund's midnight after ``day``: a schedule made before it is in force on
        ``day`` (made at 23:30 UTC on 31 March, it is in force from 1 April in Brussels)."""
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=self.zone)

    def schedule_version_on(self, loan_id: str, day: date) -> int:
        """The schedule version in force at the end of ``day`` in the fund's time zone (the
        first one before it)."""
        sv = schedule_versions
        cutoff = self._end_of(day)
        version = self.conn.execute(
            select(
                func.coalesce(
                    func.max(case((sv.c.created_at < cutoff, sv.c.version))),
                    func.min(sv.c.version),
                )
            ).where(sv.c.loan_id == loan_id)
        ).scalar_one()
        if version is None:
            raise NotFound(f"loan {loan_id} has no schedule", "loan_id")
        return int(version)

    def schedule_history(self, loan_id: str) -> list[tuple[int, datetime, str, str]]:
        sv = schedule_versions
        rows = self.conn.execute(
            select(sv.c.version, sv.c.created_at, sv.c.created_by, sv.c.reason)
            .where(sv.c.loan_id == loan_id)
            .order_by(sv.c.version)
        )
        return [(r.version, r.created_at, r.created_by, r.reason) for r in rows]

    # -- payments --------------------------------------------------------------------------
    def add_payment(
        self, *, entry_id: int, loan_id: str, on: date, minor: int, kind: PaymentKind
    ) -> None:
        self.touched.add(loan_id)
        self.conn.execute(
            insert(loan_payments).values(
                entry_id=entry_id, loan_id=loan_id, received_on=on, amount_minor=minor, kind=kind
            )
        )

    def add_payments(self, rows: Sequence[tuple[int, str, date, int, str]]) -> None:
        """Many payments at once: (entry id, loan id, received on, minor units, kind).

        On PostgreSQL one ``INSERT ... SELECT FROM unnest`` of one array per column, as the
        journal's own rows (a statement of 27,000 repayments would otherwise be 27 statements
        of 1,000 rows, each rendered and parsed in full)."""
        self.touched.update(r[1] for r in rows)
        if rows and self.conn.dialect.name == "postgresql":
            entry_ids, loan_ids, days, amounts, kinds = (list(c) for c in zip(*rows, strict=True))
            self.conn.exec_driver_sql(
                _PG_INSERT_PAYMENTS,
                {"e": entry_ids, "loan": loan_ids, "on": days, "minor": amounts, "kind": kinds},
            )
        elif rows:
            self.conn.execute(
                insert(loan_payments),
                [
                    {
                        "entry_id": e,
                        "loan_id": loan,
                        "received_on": on,
                        "amount_minor": minor,
                        "kind": kind,
                    }
                    for e, loan, on, minor, kind in rows
                ],
            )

    def payments(
        self,
        loan_id: str,
        *,
        kinds: Sequence[str] = (
            PaymentKind.REPAYMENT,
            PaymentKind.DEPOSIT_RELEASE,
            EntryKind.REFUND,
        ),
        include_reversed: bool = False,
        as_of: date | None = None,
    ) -> list[tuple[PaymentEvent, str, bool]]:
        """(payment, kind, reversed) for a loan, in date order; a refund of credit is an event
        of kind "refund" with a negative amount. ``as_of``: as the loan stood that day, the
        payments made by then and reversed only if reversed by then."""
        rev = aliased(journal_entries)
        reversal = [rev.c.reverses_id == loan_payments.c.entry_id]
        where = [
            loan_payments.c.loan_id == loan_id,
            loan_payments.c.kind.in_([str(k) for k in kinds]),
        ]
        if as_of is not None:
            reversal.append(rev.c.booking_date <= as_of)
            where.append(loan_payments.c.received_on <= as_of)
        reversed_ = exists().where(*reversal)
        stmt = (
            select(loan_payments, reversed_.label("is_reversed"))
            .where(*where)
            .order_by(loan_payments.c.received_on, loan_payments.c.entry_id)
        )
        if not include_reversed:
            stmt = stmt.where(~reversed_)
        found = [
            (
                PaymentEvent(int(r.entry_id), r.received_on, int(r.amount_minor)),
                r.kind,
                bool(r.is_reversed),
            )
            for r in self.conn.execute(stmt)
        ]
        if EntryKind.REFUND in kinds:
            found += [
                (
                    PaymentEvent(int(r.entry_id), r.on, -int(r.amount)),
                    EntryKind.REFUND.value,
                    bool(r.is_reversed),
                )
                for r in self._refunds(journal_entries.c.loan_id == loan_id, as_of=as_of)
                if include_reversed or not r.is_reversed
            ]
        return sorted(found, key=lambda f: (f[0].on, f[0].key))

    def _refunds(self, *where: Any, as_of: date | None = None) -> list[Row[Any]]:
        """Credit paid back to beneficiaries (loan_id, entry_id, on, amount, is_reversed): the
        refund entries' debit legs, reversed only by a reversal booked by ``as_of``."""
        rev = aliased(journal_entries)
        reversal = [rev.c.reverses_id == journal_entries.c.id]
        if as_of is not None:
            reversal.append(rev.c.booking_date <= as_of)
            where += (journal_entries.c.booking_date <= as_of,)
        stmt = (
            select(
                journal_entries.c.loan_id,
                journal_entries.c.id.label("entry_id"),
                journal_entries.c.booking_date.label("on"),
                func.sum(
                    case((journal_legs.c.amount_minor > 0, journal_legs.c.amount_minor), else_=0)
                ).label("amount"),
                exists().where(*reversal).label("is_reversed"),
            )
            .join(journal_legs, journal_legs.c.entry_id == journal_entries.c.id)
            .where(journal_entries.c.kind == EntryKind.REFUND.value, *where)
            .group_by(
                journal_entries.c.id, journal_entries.c.loan_id, journal_entries.c.booking_date
            )
        )
        return list(self.conn.execute(stmt))

    def payout_date(self, loan: Loan) -> date | None:
        """The booking date of the loan's payout (None while it is not paid out)."""
        if loan.disbursement_entry_id is None:
            return None
        return self.conn.execute(  # type: ignore[no-any-return]
            select(journal_entries.c.booking_date).where(
                journal_entries.c.id == loan.disbursement_entry_id
            )
        ).scalar_one()

    def payment_loan(self, entry_id: int) -> str | None:
        return self.conn.execute(
            select(loan_payments.c.loan_id).where(loan_payments.c.entry_id == entry_id)
        ).scalar_one_or_none()

    def credit_minor(self, loan_id: str, credit_account_id: int) -> int:
        """What the fund owes the beneficiary of this loan (positive), from the ledger."""
        return -self.loan_legs_minor(loan_id, credit_account_id)

    def loan_legs_minor(self, loan_id: str, account_id: int) -> int:
        """The sum of this loan's entries' legs on a shared account (debits positive): its
        part of the beneficiary credit, of the loan losses, of the recoveries."""
        total = self.conn.execute(
            select(func.coalesce(func.sum(journal_legs.c.amount_minor), 0))
            .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
            .where(journal_entries.c.loan_id == loan_id, journal_legs.c.account_id == account_id)
        ).scalar_one()
        return int(total)

    # -- eligibility -----------------------------------------------------------------------
    def add_decision(
        self,
        loan_id: str,
        decision: Decision,
        facts: Mapping[str, Any],
        *,
        actor: str,
        now: datetime,
    ) -> int:
        return int(
            self.conn.execute(
                insert(eligibility_decisions)
                .values(
                    loan_id=loan_id,
                    at=now,
                    actor=actor,
                    outcome=decision.outcome.value,
                    rules_version=decision.rules_version,
                    rules_fingerprint=decision.rules_fingerprint,
                    facts=json.dumps(facts, sort_keys=True, default=str),
                    results=json.dumps(
                        [
                            {"rule": r.rule, "outcome": r.outcome.value, "reason": r.reason}
                            for r in decision.results
                        ]
                    ),
                )
                .returning(eligibility_decisions.c.id)
            ).scalar_one()
        )

    def latest_decision(self, loan_id: str) -> StoredDecision | None:
        row = self.conn.execute(
            select(eligibility_decisions)
            .where(eligibility_decisions.c.loan_id == loan_id)
            .order_by(eligibility_decisions.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return StoredDecision(
            row.id,
            row.at,
            row.actor,
            row.outcome,
            row.rules_version,
            row.rules_fingerprint,
            json.loads(row.facts),
            json.loads(row.results),
            row.override_by,
            row.override_reason,
        )

    def override_decision(
        self, decision_id: int, *, actor: str, reason: str, now: datetime
    ) -> None:
        self.conn.execute(
            update(eligibility_decisions)
            .where(eligibility_decisions.c.id == decision_id)
            .values(override_by=actor, override_at=now, override_reason=reason)
        )

    def rules_history(self) -> list[RulesUse]:
        """Each set of lending rules that decided an application (its version and
        fingerprint), with the first and last time it did and how many decisions it made;
        oldest first."""
        d = eligibility_decisions
        rows = self.conn.execute(
            select(
                d.c.rules_version,
                d.c.rules_fingerprint,
                func.min(d.c.at).label("first"),
                func.max(d.c.at).label("last"),
                func.count().label("decisions"),
            )
            .group_by(d.c.rules_version, d.c.rules_fingerprint)
            .order_by(func.min(d.c.at), d.c.rules_version)
        )
        return [
            RulesUse(r.rules_version, r.rules_fingerprint, r.first, r.last, int(r.decisions))
            for r in rows
        ]

    # -- deposit release and write-off ----------------------------------------------------
    def add_release(
        self,
        loan_id: str,
        *,
        on: date,
        returned: int,
        kept: int,
        reason: str | None,
        entry_id: int | None,
        actor: str,
        now: datetime,
        idempotency_key: str,
    ) -> None:
        self.conn.execute(
            insert(deposit_releases).values(
                loan_id=loan_id,
                released_on=on,
                returned_minor=returned,
                kept_minor=kept,
                kept_reason=reason,
                entry_id=entry_id,
                recorded_by=actor,
                recorded_at=now,
                idempotency_key=idempotency_key,
            )
        )

    def release_by_key(self, key: str) -> dict[str, Any] | None:
        """The deposit release recorded with this idempotency key, if any."""
        row = self.conn.execute(
            select(deposit_releases).where(deposit_releases.c.idempotency_key == key)
        ).first()
        return dict(row._mapping) if row is not None else None

    def releases(self, loan_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(deposit_releases)
            .where(deposit_releases.c.loan_id == loan_id)
            .order_by(deposit_releases.c.id)
        )
        return [dict(r._mapping) for r in rows]

    def add_write_off(self, loan_id: str, *, actor: str, reason: str, now: datetime) -> int:
        return int(
            self.conn.execute(
                insert(write_offs)
                .values(
                    loan_id=loan_id,
                    proposed_by=actor,
                    proposed_at=now,
                    reason=reason,
                    status=WriteOffStatus.PROPOSED,
                )
                .returning(write_offs.c.id)
            ).scalar_one()
        )

    def write_off(self, wid: int) -> WriteOff:
        row = self.conn.execute(select(write_offs).where(write_offs.c.id == wid)).first()
        if row is None:
            raise NotFound(f"write-off proposal {wid} does not exist", "write_off_id")
        return WriteOff(
            row.id,
            row.loan_id,
            row.proposed_by,
            row.reason,
            WriteOffStatus(row.status),
            row.decided_by,
            row.entry_id,
        )

    def pending_write_off(self, loan_id: str) -> WriteOff | None:
        wid = self.conn.execute(
            select(write_offs.c.id).where(
                write_offs.c.loan_id == loan_id, write_offs.c.status == WriteOffStatus.PROPOSED
            )
        ).scalar_one_or_none()
        return self.write_off(wid) if wid is not None else None

    def written_off_on(self, loan_id: str) -> date | None:
        """The booking date of the loan's approved write-off (None if it has none): the day it
        was written off, as the arrears projection ends it."""
        entry = aliased(journal_entries)
        return self.conn.execute(
            select(func.min(entry.c.booking_date))
            .select_from(write_offs)
            .join(entry, entry.c.id == write_offs.c.entry_id)
            .where(
                write_offs.c.loan_id == loan_id,
                write_offs.c.status == WriteOffStatus.APPROVED.value,
            )
        ).scalar_one_or_none()

    def decide_write_off(
        self,
        wid: int,
        *,
        status: WriteOffStatus,
        actor: str,
        now: datetime,
        entry_id: int | None,
    ) -> None:
        self.conn.execute(
            update(write_offs)
            .where(write_offs.c.id == wid)
            .values(status=status, decided_by=actor, decided_at=now, entry_id=entry_id)
        )

    # -- portfolio -------------------------------------------------------------------------
    def portfolio(
        self,
        statuses: Sequence[LoanStatus],
        *,
        as_of: date,
        loan_ids: Sequence[str] | None = None,
    ) -> Iterator[tuple[str, str, list[DueAmount], list[PaymentEvent]]]:
        """(loan id, currency, installments, valid payments) of every loan in ``statuses`` (of
        ``loan_ids`` only, if given) that was paid out and not written off on ``as_of``, each as
        it stood that day: the schedule version in force, and the payments (and refunds)
        booked by then and not reversed by then. Four queries, whatever the number of loans.

        The full replay: the arrears projection (``loan_arrears``) is checked against it."""
        wanted = [s.value for s in statuses]
        disb = aliased(journal_entries)
        wo_entry = aliased(journal_entries)
        written_off_by_then = exists().where(
            write_offs.c.loan_id == loans.c.id,
            write_offs.c.status == WriteOffStatus.APPROVED,
            wo_entry.c.id == write_offs.c.entry_id,
            wo_entry.c.booking_date <= as_of,
        )
        # Of a few loans (a page of the arrears list), the loans are found by their ids: the
        # state is then written so that no index serves it, else SQLite (no statistics) reads
        # every loan in those states from the state's index.
        status: ColumnElement[str] = (
            loans.c.status if loan_ids is None else func.coalesce(loans.c.status, loans.c.status)
        )
        eligible = (
            select(loans.c.id, loans.c.currency)
            .join(disb, disb.c.id == loans.c.disbursement_entry_id)
            .where(
                status.in_(wanted),
                disb.c.booking_date <= as_of,
                ~written_off_by_then,
                *([loans.c.id.in_(loan_ids)] if loan_ids is not None else []),
            )
            .cte("eligible")
        )
        loan_rows = self.conn.execute(select(eligible).order_by(eligible.c.id)).all()
        cutoff = self._end_of(as_of)
        version = (
            select(
                schedule_versions.c.loan_id,
                func.coalesce(
                    func.max(
                        case((schedule_versions.c.created_at < cutoff, schedule_versions.c.version))
                    ),
                    func.min(schedule_versions.c.version),
                ).label("v"),
            )
            .join(eligible, eligible.c.id == schedule_versions.c.loan_id)
            .where(*([schedule_versions.c.loan_id.in_(loan_ids)] if loan_ids is not None else []))
            .group_by(schedule_versions.c.loan_id)
            .subquery()
        )
        inst_rows = self.conn.execute(
            select(
                schedule_versions.c.loan_id,
                installments.c.number,
                installments.c.due_date,
                installments.c.amount_minor,
            )
            .join(
                version,
                and_(
                    version.c.loan_id == schedule_versions.c.loan_id,
                    version.c.v == schedule_versions.c.version,
                ),
            )
            .join(installments, installments.c.schedule_id == schedule_versions.c.id)
            .order_by(schedule_versions.c.loan_id, installments.c.number)
        )
        by_loan: dict[str, list[DueAmount]] = defaultdict(list)
        for loan_id, number, due_date, amount in inst_rows:
            by_loan[loan_id].append(DueAmount(number, due_date, int(amount)))
        rev = aliased(journal_entries)
        pay_rows = self.conn.execute(
            select(
                loan_payments.c.loan_id,
                loan_payments.c.entry_id,
                loan_payments.c.received_on,
                loan_payments.c.amount_minor,
            )
            .join(eligible, eligible.c.id == loan_payments.c.loan_id)
            .where(
                *([loan_payments.c.loan_id.in_(loan_ids)] if loan_ids is not None else []),
                loan_payments.c.kind.in_(
                    [PaymentKind.REPAYMENT.value, PaymentKind.DEPOSIT_RELEASE.value]
                ),
                loan_payments.c.received_on <= as_of,
                ~exists().where(
                    rev.c.reverses_id == loan_payments.c.entry_id, rev.c.booking_date <= as_of
                ),
            )
        )
        pays: dict[str, list[PaymentEvent]] = defaultdict(list)
        for r in pay_rows:
            pays[r.loan_id].append(
                PaymentEvent(int(r.entry_id), r.received_on, int(r.amount_minor))
            )
        for ref in self._refunds(journal_entries.c.loan_id.in_(select(eligible.c.id)), as_of=as_of):
            if not ref.is_reversed:
                pays[ref.loan_id].append(PaymentEvent(int(ref.entry_id), ref.on, -int(ref.amount)))
        for lr in loan_rows:
            yield lr.id, lr.currency, by_loan.get(lr.id, []), pays.get(lr.id, [])

    def disbursed_accounts(self) -> dict[str, tuple[int, bool, LoanStatus]]:
        """loan id -> (sub-account id, written off, status) for every loan with an account."""
        rows = self.conn.execute(
            select(loans.c.id, loans.c.account_id, loans.c.written_off, loans.c.status).where(
                loans.c.account_id.is_not(None)
            )
        )
        return {r.id: (int(r.account_id), bool(r.written_off), LoanStatus(r.status)) for r in rows}

    def loan_account_balance(self, account_id: int | None) -> int:
        if account_id is None:
            return 0
        return int(
            self.conn.execute(
                select(accounts.c.balance_minor).where(accounts.c.id == account_id)
            ).scalar_one()
        )


def _money(minor: int | None, currency: str) -> Any:
    return from_minor(int(minor), currency) if minor is not None else None


def _loan(row: Row[Any]) -> Loan:
    cur = row.currency
    terms = LoanTerms(
        deposit=from_minor(int(row.principal_minor), cur),
        monthly_rent=from_minor(int(row.monthly_rent_minor), cur),
        jurisdiction=row.jurisdiction,
        deposit_form=DepositForm(row.deposit_form),
        lease_start=row.lease_start,
        lease_end=row.lease_end,
        first_due_date=row.first_due_date,
        installments=row.installments,
        monthly_amount=_money(row.monthly_amount_minor, cur),
        due_day=row.due_day,
        whole_units=bool(row.whole_units),
        public_alternatives=PublicAlternatives(row.public_alternatives),
    )
    return Loan(
        id=row.id,
        number=int(row.number),
        beneficiary_id=row.beneficiary_id,
        status=LoanStatus(row.status),
        terms=terms,
        reference=PaymentReference(ReferenceKind(row.reference_kind), row.reference),
        account_id=row.account_id,
        created_by=row.created_by,
        submitted_by=row.submitted_by,
        approved_by=row.approved_by,
        disbursement_entry_id=row.disbursement_entry_id,
        written_off=bool(row.written_off),
        version=int(row.version),
    )
