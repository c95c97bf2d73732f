"""Reading the audit log; the reads of personal data as an auditor looks at them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from ledger.domain.audit import PERSONAL_READS, AuditRecord, PersonalRead
from ledger.domain.errors import ValidationError
from ledger.domain.paging import NEWEST, IdPage, Window
from ledger.domain.roles import Actor, Permission
from ledger.services.csv_text import csv_text, safe_cell
from ledger.services.journal import _check_page
from ledger.store.uow import UnitOfWork

MAX_USER = 64  # users.username
READ_COLUMNS = ("id", "at_utc", "user", "action", "beneficiary_ids", "loan_id", "via", "target")


def list_audit(
    uow: UnitOfWork,
    actor: Actor,
    *,
    by: str | None = None,
    action: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditRecord], int]:
    """Audit records, newest first, optionally only those of one user or one action."""
    actor.require(Permission.AUDIT_READ)
    _check_page(limit, offset)
    with uow:
        return uow.audit.page(actor=by, action=action, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class ReadsFilter:
    """Which reads of personal data: by one user, from one day to another (inclusive, days of
    the fund's time zone)."""

    by: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def __post_init__(self) -> None:
        if self.by is not None and not 1 <= len(self.by) <= MAX_USER:
            raise ValidationError(f"a user name has 1 to {MAX_USER} characters", field="by")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError(
                f"the first day ({self.date_from}) is after the last ({self.date_to}); "
                "give the first day, then the last",
                field="date_from",
            )

    def instants(self, zone: tzinfo) -> tuple[datetime | None, datetime | None]:
        """[since, before): the first day's midnight and the midnight after the last day, in
        the fund's zone."""
        since = None if self.date_from is None else _midnight(self.date_from, zone)
        before = None if self.date_to is None else _midnight(self.date_to + timedelta(1), zone)
        return since, before


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def personal_reads(
    uow: UnitOfWork,
    actor: Actor,
    flt: ReadsFilter,
    window: Window = NEWEST,
    *,
    limit: int = 50,
) -> IdPage[PersonalRead]:
    """Who read whose personal data when, newest first, a page from the last read seen: the
    people by their ids."""
    actor.require(Permission.AUDIT_READ)
    _check_page(limit, window.offset)
    with uow:
        since, before = flt.instants(uow.zone)
        found = uow.audit.page_by_id(
            actor=flt.by,
            actions=PERSONAL_READS,
            since=since,
            before=before,
            window=window,
            limit=limit,
        )
        reads = _as_reads(uow, found.items)
        return IdPage(reads, found.total, found.newer, found.first_id, found.last_id)


def personal_reads_csv(uow: UnitOfWork, actor: Actor, flt: ReadsFilter) -> Iterator[str]:
    """The same reads as CSV, every one of them (newest first), streamed in chunks; the
    permission is checked before the first chunk."""
    actor.require(Permission.AUDIT_READ)
    return _reads_chunks(uow, flt)


def _reads_chunks(uow: UnitOfWork, flt: ReadsFilter) -> Iterator[str]:
    yield csv_text([READ_COLUMNS])
    with uow:
        since, before = flt.instants(uow.zone)
        batch: list[AuditRecord] = []
        found = uow.audit.iter_matching(
            actor=flt.by, actions=PERSONAL_READS, since=since, before=before
        )
        for record in found:
            batch.append(record)
            if len(batch) >= 1000:
                yield _read_rows(_as_reads(uow, batch))
                batch = []
        if batch:
            yield _read_rows(_as_reads(uow, batch))


def _read_rows(reads: Sequence[PersonalRead]) -> str:
    return csv_text(
        (
            str(r.id),
            r.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            safe_cell(r.actor),
            safe_cell(r.action),
            safe_cell(" ".join(r.beneficiary_ids)),
            safe_cell(r.loan_id),
            safe_cell(r.via),
            safe_cell(r.target),
        )
        for r in reads
    )


def _as_reads(uow: UnitOfWork, records: Sequence[AuditRecord]) -> list[PersonalRead]:
    loans = [r.target[5:] for r in records if r.target and r.target.startswith("loan:")]
    owner = uow.audit.beneficiaries_of_loans(loans)
    reads = []
    for r in records:
        target, details = r.target or "", r.details or {}
        loan_id = target[5:] if target.startswith("loan:") else None
        if target.startswith("person:"):
            people: tuple[str, ...] = (target[7:],)
        elif loan_id is not None:
            people = (owner[loan_id],) if loan_id in owner else ()
        else:  # a search: the people its page showed
            people = tuple(str(p) for p in _list(details.get("shown")))
        via = details.get("via") or details.get("for") or details.get("kind")
        if via is None and target == "people:search":
            via = "search"
        reads.append(
            PersonalRead(r.id, r.at, r.actor, r.action, r.target, people, loan_id, _text(via))
        )
    return reads


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
