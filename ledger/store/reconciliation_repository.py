"""What the monthly reconciliation reads from the ledger: set-based queries, no writes.

Each figure is one query whatever the number of loans or entries; the statement side (lines,
statements, items in transit) is in ``statement_repository``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import ColumnElement, Connection, Select, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from ledger.domain.accounts import AccountRole
from ledger.domain.loans import DISBURSED, derived_status
from ledger.domain.statuses import EntryKind, LoanStatus, WriteOffStatus
from ledger.store.tables import (
    accounts,
    bank_accounts,
    journal_entries,
    journal_legs,
    loan_events,
    loans,
    write_offs,
)

#: Loans promised but not paid out yet: approved, or with a signed contract.
_PROMISED = ("approved", "contract_signed")


@dataclass(frozen=True, slots=True)
class BankLedgerAccount:
    """A ledger account that mirrors an account at the bank: role ``bank``, or linked to an
    IBAN by a statement import (a savings account, say)."""

    account_id: int
    code: str
    currency: str
    closed: bool
    iban: str | None  # None: no statement imported for it yet
    bank_account_id: int | None


@dataclass(frozen=True, slots=True)
class LedgerSums:
    """Sums of legs up to a day: per account (all but the loans' sub-accounts), and the
    loans' sub-accounts together per currency."""

    by_account: dict[int, int]
    roles: dict[int, tuple[str, str, str]]  # account id -> (role, type, currency)
    loans: dict[str, int]  # currency -> sum of every loan's own account

    def by_role(self, role: AccountRole, currency: str) -> int:
        return sum(
            total
            for aid, total in self.by_account.items()
            if self.roles[aid][0] == role.value and self.roles[aid][2] == currency
        )

    def by_types(self, types: tuple[str, ...], currency: str) -> int:
        return sum(
            total
            for aid, total in self.by_account.items()
            if self.roles[aid][1] in types and self.roles[aid][2] == currency
        )


def _booked_after(day: date) -> Select[tuple[int]]:
    """The entries booked after ``day``, as a list to look legs up by: read from the booking
    date's index first (a recent day: few), whatever the engine knows of the tables (SQLite,
    without statistics, would otherwise read every leg and look up each one's entry)."""
    return select(journal_entries.c.id).where(journal_entries.c.booking_date > day)


class ReconciliationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def bank_ledger_accounts(self) -> list[BankLedgerAccount]:
        rows = self.conn.execute(
            select(
                accounts.c.id,
                accounts.c.code,
                accounts.c.currency,
                accounts.c.closed_at,
                bank_accounts.c.iban,
                bank_accounts.c.id.label("bank_account_id"),
            )
            .outerjoin(bank_accounts, bank_accounts.c.account_id == accounts.c.id)
            .where(or_(accounts.c.role == AccountRole.BANK.value, bank_accounts.c.id.is_not(None)))
            .order_by(accounts.c.code)
        )
        return [
            BankLedgerAccount(
                int(r.id), r.code, r.currency, r.closed_at is not None, r.iban, r.bank_account_id
            )
            for r in rows
        ]

    def sums_as_of(self, as_of: date) -> LedgerSums:
        """Every account's legs up to ``as_of``, in one pass over the journal: the loans'
        sub-accounts (one per loan, so many) are summed together per currency."""
        is_loan = accounts.c.role == AccountRole.LOAN.value
        group = case((is_loan, -1), else_=accounts.c.id).label("grp")
        rows = self.conn.execute(
            select(group, journal_legs.c.currency, func.sum(journal_legs.c.amount_minor))
            .select_from(journal_legs)
            .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
            .join(accounts, accounts.c.id == journal_legs.c.account_id)
            .where(journal_entries.c.booking_date <= as_of)
            .group_by(group, journal_legs.c.currency)
        )
        by_account: dict[int, int] = {}
        loan_sums: dict[str, int] = defaultdict(int)
        for grp, currency, total in rows:
            if int(grp) == -1:
                loan_sums[currency] += int(total)
            else:
                by_account[int(grp)] = by_account.get(int(grp), 0) + int(total)
        return LedgerSums(by_account, self._roles(), dict(loan_sums))

    def balances_as_of(self, as_of: date) -> LedgerSums:
        """The sums ``sums_as_of`` makes, from the accounts' cached balances less the legs
        booked after ``as_of``: a few legs for a recent month instead of every leg up to it.
        A cached balance is the sum of every leg on the account (the posting path keeps it;
        ``verify`` proves it); a control account holds no leg of its own (the database refuses
        one) and is left out, as ``sums_as_of`` leaves it out."""
        is_loan = accounts.c.role == AccountRole.LOAN.value
        group = case((is_loan, -1), else_=accounts.c.id).label("grp")
        cached = self.conn.execute(
            select(group, accounts.c.currency, func.sum(accounts.c.balance_minor))
            .where(accounts.c.is_control.is_(False))
            .group_by(group, accounts.c.currency)
        ).all()
        later = self.conn.execute(
            select(group, journal_legs.c.currency, func.sum(journal_legs.c.amount_minor))
            .join(accounts, accounts.c.id == journal_legs.c.account_id)
            .where(journal_legs.c.entry_id.in_(_booked_after(as_of)))
            .group_by(group, journal_legs.c.currency)
        ).all()
        by_account: dict[int, int] = defaultdict(int)
        loan_sums: dict[str, int] = defaultdict(int)
        for rows, sign in ((cached, 1), (later, -1)):
            for grp, currency, total in rows:
                if int(grp) == -1:
                    loan_sums[currency] += sign * int(total)
                else:
                    by_account[int(grp)] += sign * int(total)
        return LedgerSums(dict(by_account), self._roles(), dict(loan_sums))

    def _roles(self) -> dict[int, tuple[str, str, str]]:
        return {
            int(r.id): (r.role, r.type, r.currency)
            for r in self.conn.execute(
                select(accounts.c.id, accounts.c.role, accounts.c.type, accounts.c.currency).where(
                    accounts.c.role != AccountRole.LOAN.value
                )
            )
        }

    def control_as_of(self, as_of: date) -> dict[str, int]:
        """The loans receivable control accounts per currency as the ledger keeps them (their
        cached balance, which every posting on a loan's sub-account moves too) less what was
        booked on them and their sub-accounts after ``as_of``."""
        control_ids = select(accounts.c.id).where(
            accounts.c.role == AccountRole.LOANS_RECEIVABLE.value
        )
        out: dict[str, int] = defaultdict(int)
        for currency, cached in self.conn.execute(
            select(accounts.c.currency, func.sum(accounts.c.balance_minor))
            .where(accounts.c.id.in_(control_ids))
            .group_by(accounts.c.currency)
        ):
            out[currency] += int(cached)
        for currency, later in self.conn.execute(
            select(journal_legs.c.currency, func.sum(journal_legs.c.amount_minor))
            .select_from(journal_legs)
            .join(accounts, accounts.c.id == journal_legs.c.account_id)
            .where(
                journal_legs.c.entry_id.in_(_booked_after(as_of)),
                or_(accounts.c.id.in_(control_ids), accounts.c.parent_id.in_(control_ids)),
            )
            .group_by(journal_legs.c.currency)
        ):
            out[currency] -= int(later)
        return dict(out)

    def movements(self, date_from: date, date_to: date) -> list[tuple[str, str, int, int]]:
        """(entry kind, currency, entries, sum of their debits) of the entries booked in the
        period."""
        rows = self.conn.execute(
            select(
                journal_entries.c.kind,
                journal_legs.c.currency,
                func.count(func.distinct(journal_entries.c.id)),
                func.sum(journal_legs.c.amount_minor),
            )
            .join(journal_legs, journal_legs.c.entry_id == journal_entries.c.id)
            .where(
                journal_entries.c.booking_date.between(date_from, date_to),
                journal_legs.c.amount_minor > 0,
            )
            .group_by(journal_entries.c.kind, journal_legs.c.currency)
        )
        return [(kind, cur, int(n), int(total)) for kind, cur, n, total in rows]

    def movements_by_month(self, ends: Sequence[date]) -> list[list[tuple[str, str, int, int]]]:
        """``movements`` of each month ending on one of ``ends`` (consecutive month ends,
        oldest first), in one query over those months' entries: one list per month."""
        if not ends or list(ends) != sorted(ends):
            raise ValueError("month ends must be given in ascending order")
        day = journal_entries.c.booking_date
        month: ColumnElement[int] = (
            case(*((day <= end, i) for i, end in enumerate(ends[:-1])), else_=len(ends) - 1)
            if len(ends) > 1
            else literal(0)  # one month: no case to tell (SQL has no CASE without a WHEN)
        )
        rows = self.conn.execute(
            select(
                month.label("month"),
                journal_entries.c.kind,
                journal_legs.c.currency,
                func.count(func.distinct(journal_entries.c.id)),
                func.sum(journal_legs.c.amount_minor),
            )
            .join(journal_legs, journal_legs.c.entry_id == journal_entries.c.id)
            .where(
                day.between(date(ends[0].year, ends[0].month, 1), ends[-1]),
                journal_legs.c.amount_minor > 0,
            )
            .group_by(month, journal_entries.c.kind, journal_legs.c.currency)
        )
        out: list[list[tuple[str, str, int, int]]] = [[] for _ in ends]
        for i, kind, cur, n, total in rows:
            out[int(i)].append((kind, cur, int(n), int(total)))
        return out

    def states_as_of(self, as_of: date, zone: tzinfo = UTC) -> list[tuple[str, str, int, int]]:
        """(currency, state, loans, their principal) at the end of ``as_of`` as the ledger
        says, by booking dates: a loan whose payout is booked by then (and not undone by then)
        is written off if its approved write-off is booked by then, else active, overpaid or
        closed by its balances then (``derived_status``, the rule a payment applies); any other
        loan is in the state its last event before the fund's midnight after ``as_of`` left it
        in (drafts have no event yet), or contract signed if that event was a payout the ledger
        dates later or undid by then. One query; the loans grouped by what decides."""
        undone = aliased(journal_entries)
        payout = aliased(journal_entries)
        paid = (
            select(payout.c.loan_id)
            .where(
                payout.c.kind == EntryKind.DISBURSEMENT.value,
                payout.c.loan_id.is_not(None),
                payout.c.booking_date <= as_of,
                ~select(undone.c.id)
                .where(undone.c.reverses_id == payout.c.id, undone.c.booking_date <= as_of)
                .exists(),
            )
            .group_by(payout.c.loan_id)
            .subquery()
        )
        wo_entry = aliased(journal_entries)
        written = (
            select(write_offs.c.loan_id)
            .join(wo_entry, wo_entry.c.id == write_offs.c.entry_id)
            .where(
                write_offs.c.status == WriteOffStatus.APPROVED.value,
                wo_entry.c.booking_date <= as_of,
            )
            .group_by(write_offs.c.loan_id)
            .subquery()
        )
        later = (
            select(journal_legs.c.account_id, func.sum(journal_legs.c.amount_minor).label("s"))
            .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
            .where(journal_entries.c.booking_date > as_of)
            .group_by(journal_legs.c.account_id)
            .subquery()
        )
        # The beneficiary-credit accounts by their ids: read from the legs' own index (the
        # planners would guess a few legs per account; a busy fund's 2100 holds thousands).
        credit_ids = list(
            self.conn.execute(
                select(accounts.c.id).where(accounts.c.role == AccountRole.BENEFICIARY_CREDIT.value)
            ).scalars()
        )
        credit = (
            select(
                journal_entries.c.loan_id,
                (-func.sum(journal_legs.c.amount_minor)).label("owed"),
            )
            .select_from(journal_legs)
            .join(journal_entries, journal_entries.c.id == journal_legs.c.entry_id)
            .where(
                journal_legs.c.account_id.in_(credit_ids),
                journal_entries.c.loan_id.is_not(None),
                journal_entries.c.booking_date <= as_of,
            )
            .group_by(journal_entries.c.loan_id)
            .subquery()
        )
        cutoff = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=zone)
        last = (
            select(loan_events.c.loan_id, func.max(loan_events.c.id).label("last_id"))
            .where(loan_events.c.at < cutoff)
            .group_by(loan_events.c.loan_id)
            .subquery()
        )
        loan_account = aliased(accounts)
        outstanding = loan_account.c.balance_minor - func.coalesce(later.c.s, 0)

        def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
            return case((condition, 1), else_=0)

        is_paid = flag(paid.c.loan_id.is_not(None)).label("paid")
        is_written = flag(written.c.loan_id.is_not(None)).label("written")
        owes = flag(outstanding > 0).label("owes")
        owed = flag(func.coalesce(credit.c.owed, 0) > 0).label("owed")
        rows = self.conn.execute(
            select(
                loans.c.currency,
                is_paid,
                is_written,
                owes,
                owed,
                loan_events.c.to_status,
                func.count(),
                func.sum(loans.c.principal_minor),
            )
            .select_from(loans)
            .outerjoin(paid, paid.c.loan_id == loans.c.id)
            .outerjoin(written, written.c.loan_id == loans.c.id)
            .outerjoin(loan_account, loan_account.c.id == loans.c.account_id)
            .outerjoin(later, later.c.account_id == loans.c.account_id)
            .outerjoin(credit, credit.c.loan_id == loans.c.id)
            .outerjoin(last, last.c.loan_id == loans.c.id)
            .outerjoin(loan_events, loan_events.c.id == last.c.last_id)
            .group_by(loans.c.currency, is_paid, is_written, owes, owed, loan_events.c.to_status)
        )
        counted: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for cur, is_paid_, is_written_, owes_, owed_, last_state, n, total in rows:
            if is_paid_:
                state = derived_status(
                    written_off=bool(is_written_), outstanding=int(owes_), credit=int(owed_)
                ).value
            elif last_state is None:
                continue  # a draft: no event by then
            elif LoanStatus(last_state) in DISBURSED:
                state = LoanStatus.CONTRACT_SIGNED.value  # paid out later, or undone by then
            else:
                state = last_state
            slot = counted[(cur, state)]
            slot[0] += int(n)
            slot[1] += int(total)
        return [(cur, state, n, total) for (cur, state), (n, total) in counted.items()]

    def promised_as_of(self, as_of: date, zone: tzinfo) -> dict[str, int]:
        """Principal of the loans approved or with a signed contract, not paid out, at the end
        of ``as_of`` in the fund's time ``zone`` (approved at 23:30 UTC on 31 March, a loan is
        promised from 1 April in Brussels): each loan's state then is the one its last event
        before that left it in."""
        cutoff = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=zone)
        last = (
            select(loan_events.c.loan_id, func.max(loan_events.c.id).label("last_id"))
            .where(loan_events.c.at < cutoff)
            .group_by(loan_events.c.loan_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(loans.c.currency, func.sum(loans.c.principal_minor))
            .join(last, last.c.loan_id == loans.c.id)
            .join(loan_events, loan_events.c.id == last.c.last_id)
            .where(loan_events.c.to_status.in_(_PROMISED))
            .group_by(loans.c.currency)
        )
        return {cur: int(total) for cur, total in rows}
