"""Bank accounts, imported statements, their lines and matches, CSV mappings. Never commits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Row,
    and_,
    case,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import aliased

from ledger.domain.errors import NotFound
from ledger.domain.statements import BankAccount, MatchRecord, StoredLine, StoredStatement
from ledger.store.tables import (
    WAITING_LINES,
    accounts,
    bank_accounts,
    bank_statements,
    csv_mappings,
    installments,
    journal_entries,
    journal_legs,
    loans,
    schedule_versions,
    statement_lines,
    statement_matches,
)

#: Keys looked up per query: well below every engine's limit on bound parameters.
_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class LinkCandidate:
    """An entry moving money on the bank account that no statement line explains yet."""

    entry_id: int
    booking_date: date
    kind: str
    amount_minor: int  # positive
    loan_id: str | None


@dataclass(frozen=True, slots=True)
class UnexplainedEntry:
    """An entry on a bank's ledger account that no statement line explains (yet)."""

    entry_id: int
    booking_date: date
    kind: str
    description: str
    amount_minor: int  # its legs on the account: + money in, - money out


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


_BANK_ACCOUNT = select(
    bank_accounts.c.id,
    bank_accounts.c.iban,
    bank_accounts.c.account_id,
    accounts.c.code.label("account_code"),
    bank_accounts.c.currency,
).join(accounts, accounts.c.id == bank_accounts.c.account_id)

_STATEMENT = select(bank_statements, bank_accounts.c.iban).join(
    bank_accounts, bank_accounts.c.id == bank_statements.c.bank_account_id
)


def _statement(row: Row[Any]) -> StoredStatement:
    return StoredStatement(
        id=int(row.id),
        bank_account_id=row.bank_account_id,
        iban=row.iban,
        statement_key=row.statement_key,
        source_format=row.source_format,
        sequence=row.sequence,
        opening_minor=int(row.opening_minor),
        opening_date=row.opening_date,
        closing_minor=int(row.closing_minor),
        closing_date=row.closing_date,
        credits_minor=int(row.credits_minor),
        debits_minor=int(row.debits_minor),
        entries=row.entries,
        new_entries=row.new_entries,
        imported_at=row.imported_at,
        imported_by=row.imported_by,
    )


def _line(row: Row[Any]) -> StoredLine:
    return StoredLine(
        id=int(row.id),
        ref=row.ref,
        bank_account_id=row.bank_account_id,
        statement_id=int(row.statement_id),
        line_key=row.line_key,
        position=row.position,
        booking_date=row.booking_date,
        value_date=row.value_date,
        amount_minor=int(row.amount_minor),
        currency=row.currency,
        reversal=bool(row.reversal),
        end_to_end_id=row.end_to_end_id,
        payment_reference=row.payment_reference,
        bank_code=row.bank_code,
        return_reason=row.return_reason,
        counterparty_digest=row.counterparty_digest,
        remittance=row.remittance,
        state=row.state,
        entry_id=int(row.entry_id) if row.entry_id is not None else None,
        loan_id=row.loan_id,
        suggested_loan_id=row.suggested_loan_id,
        note=row.note,
    )


class StatementRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- bank accounts ---------------------------------------------------------------------
    def bank_account(self, iban: str) -> BankAccount | None:
        row = self.conn.execute(_BANK_ACCOUNT.where(bank_accounts.c.iban == iban)).first()
        return BankAccount(**row._mapping) if row else None

    def bank_account_of(self, account_id: int) -> BankAccount | None:
        row = self.conn.execute(
            _BANK_ACCOUNT.where(bank_accounts.c.account_id == account_id)
        ).first()
        return BankAccount(**row._mapping) if row else None

    def bank_accounts(self) -> list[BankAccount]:
        rows = self.conn.execute(_BANK_ACCOUNT.order_by(bank_accounts.c.iban))
        return [BankAccount(**r._mapping) for r in rows]

    def add_bank_account(
        self, iban: str, account_id: int, currency: str, *, actor: str, now: datetime
    ) -> BankAccount:
        self.conn.execute(
            insert(bank_accounts).values(
                iban=iban,
                account_id=account_id,
                currency=currency,
                created_at=now,
                created_by=actor,
            )
        )
        found = self.bank_account(iban)
        if found is None:
            raise RuntimeError(f"bank account {iban} was written but cannot be read back")
        return found

    # -- statements ------------------------------------------------------------------------
    def statement_by_key(self, bank_account_id: int, key: str) -> StoredStatement | None:
        row = self.conn.execute(
            _STATEMENT.where(
                bank_statements.c.bank_account_id == bank_account_id,
                bank_statements.c.statement_key == key,
            )
        ).first()
        return _statement(row) if row else None

    def last_statement(self, bank_account_id: int) -> StoredStatement | None:
        """The statement that ends latest: the one the next must continue."""
        row = self.conn.execute(
            _STATEMENT.where(bank_statements.c.bank_account_id == bank_account_id)
            .order_by(bank_statements.c.closing_date.desc(), bank_statements.c.id.desc())
            .limit(1)
        ).first()
        return _statement(row) if row else None

    def series(self, bank_account_id: int, *, up_to: date | None = None) -> list[StoredStatement]:
        """The account's statements (closing up to ``up_to``), oldest first: what the
        sequence numbers are checked on (an account has a few hundred a year at most)."""
        where = [bank_statements.c.bank_account_id == bank_account_id]
        if up_to is not None:
            where.append(bank_statements.c.closing_date <= up_to)
        rows = self.conn.execute(
            _STATEMENT.where(*where).order_by(bank_statements.c.closing_date, bank_statements.c.id)
        )
        return [_statement(r) for r in rows]

    def statement(self, statement_id: int) -> StoredStatement:
        row = self.conn.execute(_STATEMENT.where(bank_statements.c.id == statement_id)).first()
        if row is None:
            raise NotFound(f"statement {statement_id} does not exist", "statement_id")
        return _statement(row)

    def statements(
        self, *, bank_account_id: int | None, limit: int, offset: int
    ) -> tuple[list[StoredStatement], int]:
        where = and_(
            True,
            *(
                [bank_statements.c.bank_account_id == bank_account_id]
                if bank_account_id is not None
                else []
            ),
        )
        total = self.conn.execute(select(func.count()).select_from(bank_statements).where(where))
        rows = self.conn.execute(
            _STATEMENT.where(where)
            .order_by(bank_statements.c.closing_date.desc(), bank_statements.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_statement(r) for r in rows], int(total.scalar_one())

    def add_statement(self, values: Mapping[str, Any]) -> int:
        result = self.conn.execute(
            insert(bank_statements).returning(bank_statements.c.id), [dict(values)]
        )
        return int(result.scalar_one())

    # -- lines -----------------------------------------------------------------------------
    def known_lines(self, bank_account_id: int, keys: Sequence[str]) -> dict[str, int]:
        """Lines of the account already imported, by key: their signed amounts."""
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(set(keys))):
            rows = self.conn.execute(
                select(statement_lines.c.line_key, statement_lines.c.amount_minor).where(
                    statement_lines.c.bank_account_id == bank_account_id,
                    statement_lines.c.line_key.in_(chunk),
                )
            )
            found.update({r.line_key: int(r.amount_minor) for r in rows})
        return found

    def _insert_rows(self, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """Many rows at once. PostgreSQL takes them through COPY, in the same transaction: a
        statement of 50,000 lines would otherwise spend most of its time in round trips."""
        if not rows:
            return
        if self.conn.dialect.name != "postgresql":
            self.conn.execute(insert(table), [dict(r) for r in rows])
            return
        names = list(rows[0])
        columns = ", ".join(f'"{name}"' for name in names)
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])

    def add_lines(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert_rows(statement_lines, rows)

    def line(self, line_id: int, *, lock: bool = False) -> StoredLine:
        stmt = select(statement_lines).where(statement_lines.c.id == line_id)
        if lock:
            stmt = stmt.with_for_update()
        row = self.conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"statement line {line_id} does not exist", "line_id")
        return _line(row)

    def lines_of(self, statement_id: int) -> list[StoredLine]:
        rows = self.conn.execute(
            select(statement_lines)
            .where(statement_lines.c.statement_id == statement_id)
            .order_by(statement_lines.c.position)
        )
        return [_line(r) for r in rows]

    def lines(
        self,
        *,
        states: Sequence[str] | None = None,
        bank_account_id: int | None = None,
        statement_id: int | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> tuple[list[StoredLine], int]:
        """Lines by state (e.g. unmatched, unidentified), oldest first."""
        conds: list[ColumnElement[bool]] = []
        if states:
            conds.append(statement_lines.c.state.in_(list(states)))
        if bank_account_id is not None:
            conds.append(statement_lines.c.bank_account_id == bank_account_id)
        if statement_id is not None:
            conds.append(statement_lines.c.statement_id == statement_id)
        if date_from is not None:
            conds.append(statement_lines.c.booking_date >= date_from)
        if date_to is not None:
            conds.append(statement_lines.c.booking_date <= date_to)
        where = and_(True, *conds)
        total = self.conn.execute(select(func.count()).select_from(statement_lines).where(where))
        rows = self.conn.execute(
            select(statement_lines)
            .where(where)
            .order_by(statement_lines.c.booking_date, statement_lines.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [_line(r) for r in rows], int(total.scalar_one())

    def line_of_entry(self, entry_id: int) -> StoredLine | None:
        """The line an entry books or is linked to now, if any."""
        row = self.conn.execute(
            select(statement_lines).where(statement_lines.c.entry_id == entry_id)
        ).first()
        return _line(row) if row else None

    def set_match(
        self,
        line_id: int,
        *,
        state: str,
        entry_id: int | None,
        loan_id: str | None,
        note: str | None,
        keep_remittance: bool,
        now: datetime,
    ) -> None:
        values: dict[str, Any] = {
            "state": state,
            "entry_id": entry_id,
            "loan_id": loan_id,
            "note": note,
            "updated_at": now,
        }
        if not keep_remittance:
            values["remittance"] = None
        self.conn.execute(
            update(statement_lines).where(statement_lines.c.id == line_id).values(**values)
        )

    def add_matches(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert_rows(statement_matches, rows)

    def add_matches_of_lines(
        self, statement_id: int, refs: Sequence[str], *, at: datetime, actor: str, action: str
    ) -> None:
        """The first match record of each of these new lines, made by the database from the
        lines themselves (state, entry, loan, and the note as the reason): no round trip per
        line, and nothing sent back and forth for 50,000 lines."""
        chosen = select(
            statement_lines.c.id,
            literal(at, statement_matches.c.at.type),
            literal(actor, statement_matches.c.actor.type),
            literal(action, statement_matches.c.action.type),
            statement_lines.c.state,
            statement_lines.c.entry_id,
            literal(None, statement_matches.c.reversal_entry_id.type),
            statement_lines.c.loan_id,
            statement_lines.c.note,
        ).where(statement_lines.c.statement_id == statement_id)
        columns = [
            "line_id",
            "at",
            "actor",
            "action",
            "state",
            "entry_id",
            "reversal_entry_id",
            "loan_id",
            "reason",
        ]
        size = 20_000 if self.conn.dialect.name == "postgresql" else 5_000
        for chunk in _chunks(list(refs), size):
            self.conn.execute(
                insert(statement_matches).from_select(
                    columns, chosen.where(statement_lines.c.ref.in_(chunk))
                )
            )

    def matches(self, line_id: int) -> list[MatchRecord]:
        rows = self.conn.execute(
            select(statement_matches)
            .where(statement_matches.c.line_id == line_id)
            .order_by(statement_matches.c.id)
        )
        return [
            MatchRecord(
                r.at,
                r.actor,
                r.action,
                r.state,
                r.entry_id,
                r.reversal_entry_id,
                r.loan_id,
                r.reason,
            )
            for r in rows
        ]

    def match_count(self, line_id: int) -> int:
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(statement_matches)
                .where(statement_matches.c.line_id == line_id)
            ).scalar_one()
        )

    def match_by_key(self, form_key: str) -> int | None:
        """The line a match made by the form ``form_key`` is about (migration 0013), if any."""
        row = self.conn.execute(
            select(statement_matches.c.line_id).where(statement_matches.c.form_key == form_key)
        ).first()
        return int(row.line_id) if row else None

    def bookings_of(self, ref: str) -> list[int]:
        """The entries that book the line ``ref`` now: they carry its ref, reverse nothing and
        are not reversed (one, or one per part of a transfer split across loans)."""
        rev = aliased(journal_entries)
        rows = self.conn.execute(
            select(journal_entries.c.id)
            .where(
                journal_entries.c.statement_line_id == ref,
                journal_entries.c.reverses_id.is_(None),
                ~select(rev.c.id).where(rev.c.reverses_id == journal_entries.c.id).exists(),
            )
            .order_by(journal_entries.c.id)
        )
        return [int(r.id) for r in rows]

    def state_counts(self, statement_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """How many lines of each statement are in each state now."""
        out: dict[int, dict[str, int]] = {i: {} for i in statement_ids}
        for chunk in _chunks(list(statement_ids)):
            rows = self.conn.execute(
                select(statement_lines.c.statement_id, statement_lines.c.state, func.count())
                .where(statement_lines.c.statement_id.in_(chunk))
                .group_by(statement_lines.c.statement_id, statement_lines.c.state)
            )
            for statement_id, state, count in rows:
                out[int(statement_id)][str(state)] = int(count)
        return out

    def statements_of_file(self, sha256: str) -> list[StoredStatement]:
        """The statements an import of the file ``sha256`` recorded, in the file's order."""
        rows = self.conn.execute(
            _STATEMENT.where(bank_statements.c.file_sha256 == sha256).order_by(bank_statements.c.id)
        )
        return [_statement(r) for r in rows]

    def loan_states(self, loan_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Each loan's (status, currency)."""
        out: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(sorted(set(loan_ids))):
            rows = self.conn.execute(
                select(loans.c.id, loans.c.status, loans.c.currency).where(loans.c.id.in_(chunk))
            )
            out.update({r.id: (r.status, r.currency) for r in rows})
        return out

    def installment_fits(
        self,
        amounts: Sequence[int],
        currency: str,
        date_from: date,
        date_to: date,
        statuses: Sequence[str],
        *,
        limit: int = 200,
    ) -> dict[int, list[tuple[str, date]]]:
        """Loans in ``statuses`` whose schedule in force has an installment of one of
        ``amounts`` (minor units) due between the two days: amount -> (loan id, due day),
        earliest due first. At most ``limit`` of them: an amount many loans share suggests
        nothing anyway."""
        if not amounts:
            return {}
        newer = aliased(schedule_versions)
        rows = self.conn.execute(
            select(
                installments.c.amount_minor, schedule_versions.c.loan_id, installments.c.due_date
            )
            .join(schedule_versions, schedule_versions.c.id == installments.c.schedule_id)
            .join(loans, loans.c.id == schedule_versions.c.loan_id)
            .where(
                installments.c.amount_minor.in_(sorted(set(amounts))),
                installments.c.due_date.between(date_from, date_to),
                loans.c.status.in_(list(statuses)),
                loans.c.currency == currency,
                ~select(newer.c.id)
                .where(
                    newer.c.loan_id == schedule_versions.c.loan_id,
                    newer.c.version > schedule_versions.c.version,
                )
                .exists(),
            )
            .order_by(installments.c.due_date, schedule_versions.c.loan_id)
            .limit(limit)
        )
        out: dict[int, list[tuple[str, date]]] = {}
        for r in rows:
            out.setdefault(int(r.amount_minor), []).append((r.loan_id, r.due_date))
        return out

    # -- what matching looks up ------------------------------------------------------------
    def loans_paid_from(self, digests: Sequence[str]) -> dict[str, list[str]]:
        """Loans that earlier lines from each counterparty (keyed IBAN hash) paid, latest first."""
        out: dict[str, list[str]] = {}
        for chunk in _chunks(sorted(set(digests))):
            rows = self.conn.execute(
                select(statement_lines.c.counterparty_digest, statement_lines.c.loan_id)
                .where(
                    statement_lines.c.counterparty_digest.in_(chunk),
                    statement_lines.c.loan_id.is_not(None),
                )
                .order_by(statement_lines.c.id.desc())
            )
            for r in rows:
                loans = out.setdefault(r.counterparty_digest, [])
                if r.loan_id not in loans:
                    loans.append(r.loan_id)
        return out

    def link_candidates(
        self,
        account_id: int,
        kinds: Sequence[str],
        date_from: date,
        date_to: date,
        *,
        money_in: bool = False,
    ) -> list[LinkCandidate]:
        """Entries that took money out of the ledger account ``account_id`` (kinds such as
        disbursement and refund), or with ``money_in`` brought money into it, not reversed,
        not made from a statement line, and not yet explained by one."""
        rev = aliased(journal_entries)
        sign = journal_legs.c.amount_minor > 0 if money_in else journal_legs.c.amount_minor < 0
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
                sign,
                journal_entries.c.kind.in_(list(kinds)),
                journal_entries.c.statement_line_id.is_(None),
                journal_entries.c.booking_date.between(date_from, date_to),
                ~select(rev.c.id).where(rev.c.reverses_id == journal_entries.c.id).exists(),
                ~select(statement_lines.c.id)
                .where(statement_lines.c.entry_id == journal_entries.c.id)
                .exists(),
            )
            .order_by(journal_entries.c.booking_date, journal_entries.c.id)
        )
        return [
            LinkCandidate(int(r.id), r.booking_date, r.kind, abs(int(r.amount_minor)), r.loan_id)
            for r in rows
        ]

    def returned_candidates(
        self, bank_account_id: int, amount_minor: int, before: date
    ) -> list[StoredLine]:
        """Credit lines of that amount booked on or before ``before`` and still booked (to a
        loan, to unidentified receipts, or linked to money in booked by hand): what a returned
        payment may send back."""
        rows = self.conn.execute(
            select(statement_lines)
            .where(
                statement_lines.c.bank_account_id == bank_account_id,
                statement_lines.c.amount_minor == amount_minor,
                statement_lines.c.booking_date <= before,
                statement_lines.c.state.in_(["loan", "unidentified", "linked"]),
                ~select(journal_entries.c.id)
                .where(journal_entries.c.reverses_id == statement_lines.c.entry_id)
                .exists(),
            )
            .order_by(statement_lines.c.booking_date.desc(), statement_lines.c.id.desc())
        )
        return [_line(r) for r in rows]

    # -- what the monthly reconciliation reads -------------------------------------------
    def statement_up_to(self, bank_account_id: int, day: date) -> StoredStatement | None:
        """The statement of the account that closes latest on or before ``day``."""
        row = self.conn.execute(
            _STATEMENT.where(
                bank_statements.c.bank_account_id == bank_account_id,
                bank_statements.c.closing_date <= day,
            )
            .order_by(bank_statements.c.closing_date.desc(), bank_statements.c.id.desc())
            .limit(1)
        ).first()
        return _statement(row) if row else None

    def first_statement(self, bank_account_id: int) -> StoredStatement | None:
        """The account's earliest statement: its opening balance is what the bank held before."""
        row = self.conn.execute(
            _STATEMENT.where(bank_statements.c.bank_account_id == bank_account_id)
            .order_by(bank_statements.c.closing_date, bank_statements.c.id)
            .limit(1)
        ).first()
        return _statement(row) if row else None

    def lines_in_state(
        self,
        state: str,
        *,
        date_to: date,
        bank_account_id: int | None = None,
        currency: str | None = None,
    ) -> list[StoredLine]:
        """Every line in ``state`` booked on or before ``date_to``, oldest first."""
        conds: list[ColumnElement[bool]] = [
            statement_lines.c.state == state,
            statement_lines.c.booking_date <= date_to,
        ]
        if bank_account_id is not None:
            conds.append(statement_lines.c.bank_account_id == bank_account_id)
        if currency is not None:
            conds.append(statement_lines.c.currency == currency)
        rows = self.conn.execute(
            select(statement_lines)
            .where(*conds)
            .order_by(statement_lines.c.booking_date, statement_lines.c.id)
        )
        return [_line(r) for r in rows]

    def open_lines(
        self, state: str, *, date_to: date, bank_account_id: int
    ) -> list[tuple[int, date, int, str | None]]:
        """(id, booking date, amount, the bank's text) of the account's lines in ``state``
        booked on or before ``date_to``, oldest first: what the reconciliation shows of the
        lines nothing explains, not whole lines."""
        c = statement_lines.c
        rows = self.conn.execute(
            select(c.id, c.booking_date, c.amount_minor, c.remittance)
            .where(
                c.state == state, c.booking_date <= date_to, c.bank_account_id == bank_account_id
            )
            .order_by(c.booking_date, c.id)
        )
        return [(int(r[0]), r[1], int(r[2]), r[3]) for r in rows]

    def receipts_in_state(
        self,
        state: str,
        *,
        date_to: date,
        currency: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[int, date, int, str, str | None]]:
        """(id, booking date, amount, currency, suggested loan) of every line in ``state``
        booked on or before ``date_to`` (in ``currency`` only, the first ``limit`` only, if
        given), oldest first: the few columns the reconciliation reads of the unidentified
        receipts (thousands in a busy month), not whole lines."""
        c = statement_lines.c
        conds: list[ColumnElement[bool]] = [c.state == state, c.booking_date <= date_to]
        if currency is not None:
            conds.append(c.currency == currency)
        if state in WAITING_LINES:
            conds.append(c.state.in_(WAITING_LINES))  # the words SQLite needs to take the index
        stmt = (
            select(c.id, c.booking_date, c.amount_minor, c.currency, c.suggested_loan_id)
            .where(*conds)
            .order_by(c.booking_date, c.id)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return [(int(r[0]), r[1], int(r[2]), r[3], r[4]) for r in self.conn.execute(stmt)]

    def receipts_by_age(
        self, state: str, *, as_of: date, ages: Sequence[tuple[str, date]], oldest: str
    ) -> dict[str, dict[str, tuple[int, int]]]:
        """currency -> age -> (lines, their total) of the lines in ``state`` booked on or
        before ``as_of``, counted and added up in the database: a line is of the first age of
        ``ages`` (name, earliest booking date) it was booked on or after, else ``oldest``."""
        c = statement_lines.c
        age = case(
            *((c.booking_date >= since, literal(name)) for name, since in ages),
            else_=literal(oldest),
        )
        conds: list[ColumnElement[bool]] = [c.state == state, c.booking_date <= as_of]
        if state in WAITING_LINES:
            conds.append(c.state.in_(WAITING_LINES))
        counted = select(c.currency, age.label("age"), c.amount_minor).where(*conds).subquery()
        rows = self.conn.execute(
            select(
                counted.c.currency, counted.c.age, func.count(), func.sum(counted.c.amount_minor)
            ).group_by(counted.c.currency, counted.c.age)
        )
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for cur, name, n, total in rows:
            out.setdefault(cur, {})[name] = (int(n), int(total))
        return out

    def unexplained_entries(
        self, account_id: int, *, as_of: date, statement_date: date | None
    ) -> list[UnexplainedEntry]:
        """Entries moving the ledger account ``account_id`` dated up to ``as_of`` that no
        statement line booked up to ``statement_date`` explains (a line explains the entry it
        points to and the entries that carry its ref), oldest first. An entry and its reversal
        both dated up to ``as_of`` cancel out and are left out; so is an entry whose legs on the
        account sum to zero. Without a statement no line explains anything.

        In two steps whose plans need no statistics: the account's entries less those a line
        points to, as one set difference (EXCEPT: a scan of each side, whatever the planner
        knows of them; without statistics both engines would otherwise look each entry up in
        the lines one by one); then the rest of the test on what is left, read by the primary
        key. What is left is the items in transit and the few entries a line explains by its
        ref alone."""
        on_account = select(journal_legs.c.entry_id).where(journal_legs.c.account_id == account_id)
        candidates: Executable
        if statement_date is not None:
            pointed = select(statement_lines.c.entry_id).where(
                statement_lines.c.entry_id.is_not(None),
                statement_lines.c.booking_date <= statement_date,
            )
            candidates = on_account.except_(pointed)
        else:
            candidates = on_account.distinct()
        ids = sorted(int(i) for i in self.conn.execute(candidates).scalars())
        out: list[UnexplainedEntry] = []
        for chunk in _chunks(ids):
            out += self._unexplained_of(account_id, chunk, as_of, statement_date)
        out.sort(key=lambda e: (e.booking_date, e.entry_id))
        return out

    def _unexplained_of(
        self, account_id: int, ids: Sequence[int], as_of: date, statement_date: date | None
    ) -> list[UnexplainedEntry]:
        moved = func.sum(journal_legs.c.amount_minor)
        rev = aliased(journal_entries)
        conds: list[ColumnElement[bool]] = [
            journal_entries.c.id.in_(ids),
            journal_entries.c.booking_date <= as_of,
            journal_entries.c.reverses_id.is_(None),
            ~select(rev.c.id)
            .where(rev.c.reverses_id == journal_entries.c.id, rev.c.booking_date <= as_of)
            .exists(),
        ]
        if statement_date is not None:
            by_ref = aliased(statement_lines)
            conds.append(
                ~select(by_ref.c.id)
                .where(
                    by_ref.c.ref == journal_entries.c.statement_line_id,
                    by_ref.c.booking_date <= statement_date,
                )
                .exists()
            )
        e = journal_entries.c
        rows = self.conn.execute(
            select(e.id, e.booking_date, e.kind, e.description, moved.label("amount"))
            .join(
                journal_legs,
                and_(journal_legs.c.entry_id == e.id, journal_legs.c.account_id == account_id),
            )
            .where(*conds)
            .group_by(e.id, e.booking_date, e.kind, e.description)
            .having(moved != 0)
        )
        return [
            UnexplainedEntry(int(r.id), r.booking_date, r.kind, r.description, int(r.amount))
            for r in rows
        ]

    # -- CSV mappings ----------------------------------------------------------------------
    def mapping(self, name: str) -> dict[str, Any] | None:
        text = self.conn.execute(
            select(csv_mappings.c.mapping).where(csv_mappings.c.name == name)
        ).scalar_one_or_none()
        return json.loads(text) if text is not None else None

    def mappings(self) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(select(csv_mappings).order_by(csv_mappings.c.name))
        return {r.name: json.loads(r.mapping) for r in rows}

    def save_mapping(
        self, name: str, mapping: Mapping[str, Any], *, actor: str, now: datetime
    ) -> None:
        text = json.dumps(dict(mapping), sort_keys=True)
        changed = self.conn.execute(
            update(csv_mappings)
            .where(csv_mappings.c.name == name)
            .values(mapping=text, updated_at=now, updated_by=actor)
        )
        if changed.rowcount == 0:
            self.conn.execute(
                insert(csv_mappings).values(
                    name=name, mapping=text, updated_at=now, updated_by=actor
                )
            )
