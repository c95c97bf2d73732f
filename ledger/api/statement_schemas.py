"""Request and response bodies of the bank statement endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from ledger.api.schemas import RequestModel
from ledger.domain.statements import MatchRecord, StoredLine, StoredStatement
from ledger.domain.statuses import EntryKind
from ledger.services.money_json import MoneyOut
from ledger.services.statements import ImportResult, LineView, StatementReport

Reason = Annotated[str | None, Field(default=None, max_length=500)]


class StatementReportOut(BaseModel):
    id: int | None = Field(description="null: the statement brought nothing new")
    statement_key: str
    iban: str
    entries: int
    new_entries: int
    opening: MoneyOut
    closing: MoneyOut
    states: dict[str, int] = Field(description="how the new lines were matched, by state")
    missing_statements: list[str] = Field(
        default_factory=list,
        description="statements of the account missing by their sequence numbers (ElctrncSeqNb, "
        "LglSeqNb or CODA's), each with what to do: their lines are not in the ledger",
    )

    @classmethod
    def of(cls, r: StatementReport) -> StatementReportOut:
        return cls(
            id=r.id,
            statement_key=r.statement_key,
            iban=r.iban,
            entries=r.entries,
            new_entries=r.new_entries,
            opening=MoneyOut.of(r.opening_minor, r.currency),
            closing=MoneyOut.of(r.closing_minor, r.currency),
            states=r.states,
            missing_statements=list(r.missing),
        )


class ImportOut(BaseModel):
    file_sha256: str
    format: str
    new_entries: int
    statements: list[StatementReportOut]

    @classmethod
    def of(cls, result: ImportResult) -> ImportOut:
        return cls(
            file_sha256=result.file_sha256,
            format=result.source_format,
            new_entries=result.new_entries,
            statements=[StatementReportOut.of(s) for s in result.statements],
        )


class StatementOut(BaseModel):
    id: int
    iban: str
    statement_key: str
    format: str
    sequence: int | None
    opening: MoneyOut
    opening_date: date | None
    closing: MoneyOut
    closing_date: date | None
    credits: MoneyOut
    debits: MoneyOut
    entries: int
    new_entries: int
    imported_at: datetime
    imported_by: str

    @classmethod
    def of(cls, s: StoredStatement, currency: str) -> StatementOut:
        return cls(
            id=s.id,
            iban=s.iban,
            statement_key=s.statement_key,
            format=s.source_format,
            sequence=s.sequence,
            opening=MoneyOut.of(s.opening_minor, currency),
            opening_date=s.opening_date,
            closing=MoneyOut.of(s.closing_minor, currency),
            closing_date=s.closing_date,
            credits=MoneyOut.of(s.credits_minor, currency),
            debits=MoneyOut.of(s.debits_minor, currency),
            entries=s.entries,
            new_entries=s.new_entries,
            imported_at=s.imported_at,
            imported_by=s.imported_by,
        )


class LineOut(BaseModel):
    id: int
    ref: str = Field(description="what journal entries carry as statement_line_id")
    statement_id: int
    position: int
    booking_date: date
    value_date: date | None
    amount: MoneyOut = Field(description="signed: positive money in, negative money out")
    reversal: bool
    end_to_end_id: str | None
    payment_reference: str | None
    bank_code: str | None
    return_reason: str | None
    remittance: str | None = Field(description="the free text, kept only until matched")
    state: str
    entry_id: int | None
    loan_id: str | None
    suggested_loan_id: str | None
    note: str | None

    @classmethod
    def of(cls, line: StoredLine) -> LineOut:
        return cls(
            id=line.id,
            ref=line.ref,
            statement_id=line.statement_id,
            position=line.position,
            booking_date=line.booking_date,
            value_date=line.value_date,
            amount=MoneyOut.of(line.amount_minor, line.currency),
            reversal=line.reversal,
            end_to_end_id=line.end_to_end_id,
            payment_reference=line.payment_reference,
            bank_code=line.bank_code,
            return_reason=line.return_reason,
            remittance=line.remittance,
            state=line.state,
            entry_id=line.entry_id,
            loan_id=line.loan_id,
            suggested_loan_id=line.suggested_loan_id,
            note=line.note,
        )


class StatementDetailOut(StatementOut):
    lines: list[LineOut]


class MatchOut(BaseModel):
    at: datetime
    actor: str
    action: str
    state: str
    entry_id: int | None
    reversal_entry_id: int | None
    loan_id: str | None
    reason: str | None

    @classmethod
    def of(cls, m: MatchRecord) -> MatchOut:
        return cls(**{name: getattr(m, name) for name in cls.model_fields})


class LineDetailOut(LineOut):
    history: list[MatchOut]

    @classmethod
    def of_view(cls, view: LineView) -> LineDetailOut:
        return cls(
            **LineOut.of(view.line).model_dump(),
            history=[MatchOut.of(m) for m in view.history],
        )


class MatchLoanIn(RequestModel):
    loan_id: Annotated[str, Field(min_length=1, max_length=16, examples=["L000001"])]
    reason: Reason = None


class BookIn(RequestModel):
    account: Annotated[str, Field(min_length=1, max_length=40, examples=["4000"])]
    kind: EntryKind = Field(examples=["donation"])
    reason: Reason = None


class LinkIn(RequestModel):
    entry_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    reason: Reason = None


class UnmatchIn(RequestModel):
    reason: Reason = None


class MappingIn(RequestModel):
    """A CSV column mapping; see ``CsvMapping`` in docs/bank.md for every field."""

    mapping: dict[str, Any]
