"""What the monthly reconciliation reads from the ledger: set-based queries, no writes.

Each figure is one query whatever the number of loans or entries; the statement side (lines,
statements, items in transit) is in ``statement_repository``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, Select, case, func, or_, select

from ledger.domain.accounts import AccountRole
from ledger.store.tables import (
    accounts,
    bank_accounts,
    journal_entries,
    journal_legs,
    loan_events,
    loans,
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

    def states_as_of(self, as_of: date) -> list[tuple[str, str, int, int]]:
        """(currency, state, loans, their principal) at the end of ``as_of``: each loan's state
        then is the one its last event before that left it in (drafts have no event yet)."""
        cutoff = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
        last = (
            select(loan_events.c.loan_id, func.max(loan_events.c.id).label("last_id"))
            .where(loan_events.c.at < cutoff)
            .group_by(loan_events.c.loan_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(
                loans.c.currency,
                loan_events.c.to_status,
                func.count(),
                func.sum(loans.c.principal_minor),
            )
            .join(last, last.c.loan_id == loans.c.id)
            .join(loan_events, loan_events.c.id == last.c.last_id)
            .group_by(loans.c.currency, loan_events.c.to_status)
        )
        return [(cur, state, int(n), int(total)) for cur, state, n, total in rows]

    def promised_as_of(self, as_of: date) -> dict[str, int]:
        """Principal of the loans approved or with a signed contract, not paid out, at the end
        of ``as_of``: each loan's state then is the one its last event before that left it in."""
        cutoff = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
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
