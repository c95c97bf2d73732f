"""What the monthly report and the accountant's exports read: set-based queries, no writes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, case, func, select

from ledger.domain.accounts import AccountRole
from ledger.store.tables import accounts, journal_entries, journal_legs

CASH = "cash"
LOANS = "loans"


@dataclass(frozen=True, slots=True)
class JournalLegRow:
    """One leg of the journal with its entry, as the journal export writes it."""

    entry_id: int
    booking_date: date
    kind: str
    description: str
    account_code: str
    account_name: str
    amount_minor: int  # signed: debit positive
    currency: str
    loan_id: str | None
    statement_line_id: str | None
    reverses_id: int | None
    hash: str


class ReportRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def first_booking_date(self) -> date | None:
        """The booking date of the fund's first journal entry; None before any."""
        first: date | None = self.conn.execute(
            select(func.min(journal_entries.c.booking_date))
        ).scalar_one()
        return first

    def month_end_balances(self, ends: Sequence[date]) -> dict[tuple[str, str], list[int]]:
        """Cash (bank accounts) and loans outstanding (the loans receivable control account's
        sub-accounts) per currency at each of ``ends`` (ascending), in three queries whatever the
        number of accounts or months.

        Each leg up to the last end is put in the first period whose end is on or after its
        booking date (period 0 holds everything up to the first end); the running sum of the
        periods is the balance at each end. Keys are (``"cash"`` or ``"loans"``, currency).
        """
        if not ends or list(ends) != sorted(ends):
            raise ValueError("month ends must be given in ascending order")
        # The accounts by their ids, in two queries whose sizes the planners can tell: the
        # bank and control accounts themselves (few, each with many legs), and the control
        # accounts' sub-accounts (many, each with a few). One query with the three conditions
        # OR-ed made PostgreSQL guess a few legs and look up each leg's entry one by one.
        own = {
            int(r.id): CASH if r.role == AccountRole.BANK.value else LOANS
            for r in self.conn.execute(
                select(accounts.c.id, accounts.c.role).where(
                    accounts.c.role.in_(
                        [AccountRole.BANK.value, AccountRole.LOANS_RECEIVABLE.value]
                    )
                )
            )
        }
        controls = [i for i, cat in own.items() if cat == LOANS]
        period = case(
            *((journal_entries.c.booking_date <= end, i) for i, end in enumerate(ends)),
            else_=len(ends),
        ).label("period")
        up_to_end = journal_entries.c.booking_date <= ends[-1]
        total = func.sum(journal_legs.c.amount_minor)
        sums: dict[tuple[str, str], list[int]] = {}

        def add(cat: str, cur: str, i: int, amount: int) -> None:
            sums.setdefault((cat, cur), [0] * len(ends))[i] += amount

        if own:
            for aid, cur, i, amount in self.conn.execute(
                select(journal_legs.c.account_id, journal_legs.c.currency, period, total)
                .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
                .where(journal_legs.c.account_id.in_(list(own)), up_to_end)
                .group_by(journal_legs.c.account_id, journal_legs.c.currency, period)
            ):
                add(own[int(aid)], cur, int(i), int(amount))
        if controls:
            category = case((accounts.c.role == AccountRole.BANK.value, CASH), else_=LOANS).label(
                "category"
            )
            for cat, cur, i, amount in self.conn.execute(
                select(category, journal_legs.c.currency, period, total)
                .select_from(journal_legs)
                .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
                .join(accounts, accounts.c.id == journal_legs.c.account_id)
                .where(
                    accounts.c.parent_id.in_(controls),
                    accounts.c.id.not_in(list(own)),
                    up_to_end,
                )
                .group_by(category, journal_legs.c.currency, period)
            ):
                add(cat, cur, int(i), int(amount))
        out: dict[tuple[str, str], list[int]] = {}
        for key, per_period in sums.items():
            running, balances = 0, []
            for amount in per_period:
                running += amount
                balances.append(running)
            out[key] = balances
        return out

    def journal_legs(self, start: date, end: date, batch: int = 5000) -> Iterator[JournalLegRow]:
        """Every leg of the entries booked from ``start`` to ``end``, in booking order, read in
        batches (keyset on booking date, entry and leg) so a year's journal streams."""
        columns = (
            journal_legs.c.id.label("leg_id"),
            journal_entries.c.id,
            journal_entries.c.booking_date,
            journal_entries.c.kind,
            journal_entries.c.description,
            accounts.c.code,
            accounts.c.name,
            journal_legs.c.amount_minor,
            journal_legs.c.currency,
            journal_entries.c.loan_id,
            journal_entries.c.statement_line_id,
            journal_entries.c.reverses_id,
            journal_entries.c.hash,
        )
        base = (
            select(*columns)
            .select_from(journal_legs)
            .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
            .join(accounts, accounts.c.id == journal_legs.c.account_id)
            .order_by(journal_entries.c.booking_date, journal_entries.c.id, journal_legs.c.id)
            .limit(batch)
        )
        lower: tuple[date, int, int] | None = None
        while True:
            stmt = base.where(
                journal_entries.c.booking_date >= start, journal_entries.c.booking_date <= end
            )
            if lower is not None:
                day, entry, leg = lower
                stmt = stmt.where(
                    (journal_entries.c.booking_date > day)
                    | ((journal_entries.c.booking_date == day) & (journal_entries.c.id > entry))
                    | (
                        (journal_entries.c.booking_date == day)
                        & (journal_entries.c.id == entry)
                        & (journal_legs.c.id > leg)
                    )
                )
            rows = self.conn.execute(stmt).all()
            for r in rows:
                yield JournalLegRow(
                    entry_id=int(r.id),
                    booking_date=r.booking_date,
                    kind=r.kind,
                    description=r.description,
                    account_code=r.code,
                    account_name=r.name,
                    amount_minor=int(r.amount_minor),
                    currency=r.currency,
                    loan_id=r.loan_id,
                    statement_line_id=r.statement_line_id,
                    reverses_id=None if r.reverses_id is None else int(r.reverses_id),
                    hash=r.hash,
                )
            if len(rows) < batch:
                return
            last = rows[-1]
            lower = (last.booking_date, int(last.id), int(last.leg_id))
