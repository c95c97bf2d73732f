"""The loans in arrears as of any day (the treasurer's list and its CSV), and the arrears
projection checked and rebuilt.

The list is read from the projection (``loan_arrears``): the loans late on the day, the
longest late first, by bucket and by caseworker (the staff member who opened the loan,
``Loan.created_by``: the one who follows the person up). What is overdue on the day, which
depends on the installments due by then, is replayed for the loans of the page only. No
personal data: loan ids and numbers, the caseworker's user name, amounts and days.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from ledger.domain.aging import aging_of_buckets
from ledger.domain.arrears import LoanSteps, bucket_bounds, days_past_due
from ledger.domain.errors import ValidationError
from ledger.domain.money import from_minor
from ledger.domain.repayment import AgingBucket, arrears, bucket
from ledger.domain.roles import Actor, Permission
from ledger.services.csv_text import csv_text, safe_cell
from ledger.services.loans.portfolio import Portfolio
from ledger.store.arrears_repository import PAID_OUT, ArrearsRow
from ledger.store.uow import UnitOfWork

MAX_PAGE = 500
#: The buckets of loans in arrears ("current" loans are not late).
LATE_BUCKETS: tuple[AgingBucket, ...] = tuple(
    b for b in AgingBucket if b is not AgingBucket.CURRENT
)
CSV_COLUMNS = (
    "loan_id",
    "loan_number",
    "caseworker",
    "days_past_due",
    "bucket",
    "late_since",
    "overdue",
    "outstanding",
    "currency",
)
#: Loans replayed (for what is overdue) and written per chunk of the CSV.
CSV_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ArrearsLine:
    """A loan late on the list's day."""

    loan_id: str
    loan_number: int
    caseworker: str
    days_past_due: int
    bucket: AgingBucket
    late_since: date  # the oldest unpaid due date (or refund still owed)
    overdue_minor: int  # fell due on or before the day and is unpaid
    outstanding_minor: int  # all that is still owed


@dataclass(frozen=True, slots=True)
class ArrearsList:
    as_of: date
    currency: str
    bucket: AgingBucket | None
    caseworker: str | None
    lines: tuple[ArrearsLine, ...]
    total: int  # loans in arrears that match, on every page
    limit: int
    offset: int


def arrears_list(
    uow: UnitOfWork,
    actor: Actor,
    as_of: date,
    currency: str,
    *,
    bucket: AgingBucket | str | None = None,
    caseworker: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ArrearsList:
    """A page of the loans late on ``as_of`` in ``currency``, the longest late first (then by
    loan id), of one bucket and one caseworker if asked."""
    actor.require(Permission.LEDGER_READ)
    late_bucket = _late_bucket(bucket)
    _check_page(limit, offset)
    with uow:
        rows, total = _rows(uow, as_of, currency, late_bucket, caseworker, limit, offset)
        lines = _lines(uow, as_of, rows)
    return ArrearsList(as_of, currency, late_bucket, caseworker, tuple(lines), total, limit, offset)


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationError("offset must not be negative", field="offset")


@dataclass(frozen=True, slots=True)
class ArrearsOverview:
    """What the arrears page shows, read in one snapshot of the books."""

    portfolio: Portfolio  # the aging and PAR30 of every loan of the currency
    caseworkers: list[tuple[str, int]]  # (caseworker, loans late), by name
    page: ArrearsList


def arrears_overview(
    uow: UnitOfWork,
    actor: Actor,
    as_of: date,
    currency: str,
    *,
    bucket: AgingBucket | str | None = None,
    caseworker: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ArrearsOverview:
    """``portfolio``, ``caseworkers_in_arrears`` and a page of ``arrears_list`` together, in
    one unit of work: one aggregate over the steps valid on ``as_of`` by bucket and caseworker
    gives the aging, each caseworker's late loans and the list's total, then the page is read
    (two passes over the projection instead of four)."""
    actor.require(Permission.LEDGER_READ)
    actor.require(Permission.LOANS_READ)
    late_bucket = _late_bucket(bucket)
    _check_page(limit, offset)
    with uow:
        grouped = uow.arrears.aging_by_caseworker(currency, as_of)
        buckets: dict[str, tuple[int, int]] = {}
        late: dict[str, int] = {}
        total = 0
        for (name, who), (count, owed) in grouped.items():
            had, held = buckets.get(name, (0, 0))
            buckets[name] = (had + count, held + owed)
            if name == AgingBucket.CURRENT.value:
                continue
            late[who] = late.get(who, 0) + count
            if (late_bucket is None or name == late_bucket.value) and caseworker in (None, who):
                total += count
        rows, total = _rows(
            uow, as_of, currency, late_bucket, caseworker, limit, offset, known_total=total
        )
        lines = _lines(uow, as_of, rows)
    page = ArrearsList(as_of, currency, late_bucket, caseworker, tuple(lines), total, limit, offset)
    return ArrearsOverview(
        Portfolio(as_of, currency, aging_of_buckets(buckets)), sorted(late.items()), page
    )


def arrears_csv(
    uow: UnitOfWork,
    actor: Actor,
    as_of: date,
    currency: str,
    *,
    bucket: AgingBucket | str | None = None,
    caseworker: str | None = None,
) -> Iterator[str]:
    """Every loan of ``arrears_list`` (all pages) as CSV text, streamed in chunks; a text
    cell a spreadsheet would run as a formula starts with an apostrophe. The permission and
    the bucket are checked before the first chunk."""
    actor.require(Permission.LEDGER_READ)
    return _csv_chunks(uow, as_of, currency, _late_bucket(bucket), caseworker)


def _csv_chunks(
    uow: UnitOfWork,
    as_of: date,
    currency: str,
    late_bucket: AgingBucket | None,
    caseworker: str | None,
) -> Iterator[str]:
    yield csv_text([CSV_COLUMNS])
    with uow:
        rows, _ = _rows(uow, as_of, currency, late_bucket, caseworker, None, 0)
        for start in range(0, len(rows), CSV_CHUNK):
            lines = _lines(uow, as_of, rows[start : start + CSV_CHUNK])
            yield csv_text(
                [
                    (
                        safe_cell(line.loan_id),
                        str(line.loan_number),
                        safe_cell(line.caseworker),
                        str(line.days_past_due),
                        safe_cell(line.bucket.value),
                        line.late_since.isoformat(),
                        str(from_minor(line.overdue_minor, currency).amount),
                        str(from_minor(line.outstanding_minor, currency).amount),
                        currency,
                    )
                    for line in lines
                ]
            )


def _late_bucket(value: AgingBucket | str | None) -> AgingBucket | None:
    if value is None or value == "":
        return None
    try:
        chosen = AgingBucket(value)
    except ValueError:
        chosen = None
    if chosen is None or chosen is AgingBucket.CURRENT:
        names = ", ".join(b.value for b in LATE_BUCKETS)
        raise ValidationError(
            f"bucket {value!r} is not a bucket of loans in arrears; choose one of {names}",
            field="bucket",
        )
    return chosen


def _rows(
    uow: UnitOfWork,
    as_of: date,
    currency: str,
    late_bucket: AgingBucket | None,
    caseworker: str | None,
    limit: int | None,
    offset: int,
    *,
    known_total: int | None = None,
) -> tuple[list[ArrearsRow], int]:
    bounds = bucket_bounds(as_of)
    late_from, late_before = None, as_of  # late on as_of: late_since before it
    if late_bucket is not None:
        late_from, before = bounds.range_of(late_bucket)
        late_before = before if before is not None else as_of
    return uow.arrears.in_arrears(
        currency,
        as_of,
        late_from=late_from,
        late_before=late_before,
        caseworker=caseworker,
        limit=limit,
        offset=offset,
        known_total=known_total,
    )


def _lines(uow: UnitOfWork, as_of: date, rows: Sequence[ArrearsRow]) -> list[ArrearsLine]:
    """The rows with what is overdue on ``as_of``: the full replay of these loans only."""
    overdue = {
        loan_id: arrears(insts, pays, as_of).overdue
        for loan_id, _cur, insts, pays in uow.loans.portfolio(
            PAID_OUT, as_of=as_of, loan_ids=[r.loan_id for r in rows]
        )
    }
    lines = []
    for r in rows:
        dpd = days_past_due(r.late_since, as_of)
        lines.append(
            ArrearsLine(
                r.loan_id,
                r.number,
                r.caseworker,
                dpd,
                bucket(dpd),
                r.late_since,
                overdue.get(r.loan_id, 0),
                r.outstanding_minor,
            )
        )
    return lines


def caseworkers_in_arrears(
    uow: UnitOfWork, actor: Actor, as_of: date, currency: str
) -> list[tuple[str, int]]:
    """(caseworker, loans late on ``as_of``) for each caseworker who has one: the list's
    filter."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.arrears.caseworkers(currency, as_of)


def arrears_currencies(uow: UnitOfWork, actor: Actor) -> list[str]:
    """The currencies of the loans that have owed something on some day (the list's and the
    portfolio's choice of currency)."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.arrears.currencies()


# -- the projection checked and rebuilt -----------------------------------------------------


def projection_problems(uow: UnitOfWork) -> Iterator[str]:
    """Each loan whose stored steps differ from those the full computation makes now,
    inside an open unit of work (``verify``)."""
    stored = uow.arrears.stored()
    for computed in uow.arrears.computed():
        held = stored.pop(computed.loan_id, None)
        if _kept(held) != _kept(computed):
            yield _difference(computed.loan_id, held, computed)
    for loan_id, held in sorted(stored.items()):
        if held.steps:
            yield _difference(loan_id, held, None)


def _kept(loan: LoanSteps | None) -> tuple[object, ...]:
    """What a loan's stored rows say (nothing at all when it has no step)."""
    if loan is None or not loan.steps:
        return ()
    return (loan.currency, loan.caseworker, loan.steps)


def _difference(loan_id: str, held: LoanSteps | None, computed: LoanSteps | None) -> str:
    have = held.steps if held is not None else ()
    want = computed.steps if computed is not None else ()
    first = next(
        (i for i, (a, b) in enumerate(zip(have, want, strict=False)) if a != b),
        min(len(have), len(want)),
    )
    if first == len(have) == len(want):  # the same steps, of another currency or caseworker
        first = 0
    day = (have[first] if first < len(have) else want[first]).valid_from
    return (
        f"loan {loan_id}: its arrears projection differs from the full computation from "
        f"{day} ({len(have)} step(s) stored, {len(want)} computed); run "
        "`fundledger loan arrears-rebuild`"
    )


def rebuild_arrears(uow: UnitOfWork, actor: Actor) -> int:
    """Every loan's arrears projection made again from the full computation (after the
    migration that adds it, or when ``verify`` finds it stale); returns the rows written."""
    actor.require(Permission.ACCOUNTS_MANAGE)
    with uow:
        written = uow.arrears.rebuild()
        uow.audit_event(actor, "arrears_rebuilt", details={"rows": written})
        uow.commit()
    return written
