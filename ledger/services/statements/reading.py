"""Statements, lines, bank accounts and CSV mappings as the treasurer reads and keeps them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ledger.bank.csv_statement import CsvMapping
from ledger.domain.errors import ValidationError
from ledger.domain.roles import Actor, Permission
from ledger.domain.statements import (
    BankAccount,
    LineFigures,
    StoredLine,
    StoredStatement,
    normalise_iban,
)
from ledger.domain.statuses import LineState
from ledger.services.statements.by_hand import LineView
from ledger.store.uow import UnitOfWork

if TYPE_CHECKING:
    pass

#: Loans whose repayments a statement books; others' money (a closed loan's included, as
#: record_payment refuses it) goes to unidentified receipts with a note naming the loan.


def list_statements(
    uow: UnitOfWork, actor: Actor, *, iban: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[StoredStatement], int]:
    actor.require(Permission.LEDGER_READ)
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1 to 500 and offset not negative", "limit")
    with uow:
        bank_id = None
        if iban:
            bank = uow.statements.bank_account(normalise_iban(iban))
            if bank is None:
                return [], 0
            bank_id = bank.id
        return uow.statements.statements(bank_account_id=bank_id, limit=limit, offset=offset)


def get_statement(
    uow: UnitOfWork, actor: Actor, statement_id: int
) -> tuple[StoredStatement, list[StoredLine]]:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.statements.statement(statement_id), uow.statements.lines_of(statement_id)


def get_line(uow: UnitOfWork, actor: Actor, line_id: int) -> LineView:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return LineView(uow.statements.line(line_id), tuple(uow.statements.matches(line_id)))


def list_lines(
    uow: UnitOfWork,
    actor: Actor,
    *,
    states: Sequence[LineState] = (),
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[StoredLine], int]:
    """Lines waiting for the treasurer (e.g. unidentified, unmatched), oldest first."""
    actor.require(Permission.LEDGER_READ)
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1 to 500 and offset not negative", "limit")
    with uow:
        return uow.statements.lines(states=[s.value for s in states], limit=limit, offset=offset)


def bank_accounts(uow: UnitOfWork, actor: Actor) -> list[BankAccount]:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return uow.statements.bank_accounts()


def save_mapping(uow: UnitOfWork, actor: Actor, mapping: CsvMapping) -> CsvMapping:
    actor.require(Permission.PAYMENTS_RECORD)
    with uow:
        uow.statements.save_mapping(
            mapping.name, mapping.to_dict(), actor=actor.name, now=uow.now()
        )
        uow.audit_event(
            actor,
            action="csv_mapping_saved",
            target=f"mapping:{mapping.name}",
        )
        uow.commit()
    return mapping


def list_mappings(uow: UnitOfWork, actor: Actor) -> list[CsvMapping]:
    actor.require(Permission.LEDGER_READ)
    with uow:
        return [CsvMapping.from_dict(m) for m in uow.statements.mappings().values()]


def statement_figures(
    uow: UnitOfWork, actor: Actor, statement_ids: Sequence[int]
) -> dict[int, LineFigures]:
    """Each statement's lines now: booked, matched, left to do."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        counts = uow.statements.state_counts(statement_ids)
    return {sid: LineFigures.of(c) for sid, c in counts.items()}


def imported_file(
    uow: UnitOfWork, actor: Actor, sha256: str
) -> list[tuple[StoredStatement, LineFigures]]:
    """What an import of the file ``sha256`` recorded: each statement and its lines' figures
    (the import's result, as the treasurer sees it after sending the file)."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        found = uow.statements.statements_of_file(sha256)
        counts = uow.statements.state_counts([s.id for s in found])
    return [(s, LineFigures.of(counts[s.id])) for s in found]


def statement_page(
    uow: UnitOfWork, actor: Actor, statement_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[StoredStatement, list[StoredLine], int, LineFigures]:
    """A statement, a page of its lines (by day), how many it has, and their figures."""
    actor.require(Permission.LEDGER_READ)
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1 to 500 and offset not negative", "limit")
    with uow:
        stored = uow.statements.statement(statement_id)
        found, total = uow.statements.lines(statement_id=statement_id, limit=limit, offset=offset)
        counts = uow.statements.state_counts([statement_id])[statement_id]
    return stored, found, total, LineFigures.of(counts)
