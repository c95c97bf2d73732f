"""The monthly reconciliation as JSON: every figure a decimal string with its minor units.

``GET /api/months/{month}/reconciliation`` answers it and ``fundledger month reconcile --json``
prints the same document (both build it here).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, Field

from ledger.domain.journal import month_end
from ledger.domain.reconciliation import (
    RECEIPT_AGES,
    BankReconciliation,
    MonthReconciliation,
)
from ledger.services.money_json import MoneyOut

Signed = Field(description="signed: positive money in, negative money out")


class InTransitOut(BaseModel):
    entry_id: int
    booking_date: date
    kind: str
    description: str
    amount: MoneyOut = Signed


class OpenLineOut(BaseModel):
    line_id: int
    booking_date: date
    amount: MoneyOut = Signed
    text: str | None = Field(description="the bank's free text, kept until the line is matched")


class BankOut(BaseModel):
    account: str = Field(description="the ledger account that mirrors the bank account")
    iban: str | None = Field(description="null: no statement imported for it yet")
    ledger: MoneyOut = Field(description="the ledger's balance at month end")
    bank: MoneyOut | None = Field(
        description="closing balance of the last statement up to month end; null: none"
    )
    statement_date: date | None = Field(description="that statement's closing date")
    difference: MoneyOut = Field(description="ledger minus bank")
    in_transit: list[InTransitOut] = Field(
        description="booked in the ledger by month end, not on a statement by then"
    )
    in_transit_total: MoneyOut
    unmatched: list[OpenLineOut] = Field(description="statement lines nothing explains")
    unmatched_total: MoneyOut
    explained: MoneyOut = Field(description="in transit less unmatched")
    unexplained: MoneyOut = Field(description="difference less explained: zero to reconcile")
    opening: MoneyOut | None = Field(description="the account's first statement's opening")
    opening_date: date | None
    before_opening: MoneyOut = Field(
        description="the ledger's movements up to that date no line explains, which the "
        "opening balance stands for"
    )
    reconciled: bool

    @classmethod
    def of(cls, b: BankReconciliation) -> BankOut:
        cur = b.currency

        def m(minor: int) -> MoneyOut:
            return MoneyOut.of(minor, cur)

        return cls(
            account=b.account_code,
            iban=b.iban or None,
            ledger=m(b.ledger_minor),
            bank=m(b.bank_minor) if b.bank_minor is not None else None,
            statement_date=b.statement_date,
            difference=m(b.difference),
            in_transit=[
                InTransitOut(
                    entry_id=t.entry_id,
                    booking_date=t.booking_date,
                    kind=t.kind,
                    description=t.description,
                    amount=m(t.amount_minor),
                )
                for t in b.in_transit
            ],
            in_transit_total=m(sum(t.amount_minor for t in b.in_transit)),
            unmatched=[
                OpenLineOut(
                    line_id=u.line_id,
                    booking_date=u.booking_date,
                    amount=m(u.amount_minor),
                    text=u.text,
                )
                for u in b.unmatched
            ],
            unmatched_total=m(sum(u.amount_minor for u in b.unmatched)),
            explained=m(b.explained),
            unexplained=m(b.unexplained),
            opening=m(b.opening_minor) if b.opening_minor is not None else None,
            opening_date=b.opening_date,
            before_opening=m(b.before_opening_minor),
            reconciled=b.reconciled,
        )


class SubLedgerOut(BaseModel):
    control: MoneyOut = Field(description="the loans receivable control account")
    loans: MoneyOut = Field(description="the sum of the loans' own accounts")
    difference: MoneyOut


class UnidentifiedOut(BaseModel):
    line_id: int
    booking_date: date
    amount: MoneyOut
    age: str = Field(description="days since the bank booked it, at month end", examples=["0-30"])
    suggested_loan_id: str | None


class AgeOut(BaseModel):
    age: str
    count: int
    total: MoneyOut


class BucketOut(BaseModel):
    bucket: str
    loans: int
    outstanding: MoneyOut


class AgingOut(BaseModel):
    loans: int = Field(description="loans being repaid with something outstanding")
    outstanding: MoneyOut
    buckets: list[BucketOut] = Field(description="days past due: current, 1-30, ..., >360")
    par30: MoneyOut = Field(description="outstanding of loans more than 30 days late")
    par30_percent: str = Field(examples=["12.50"])


class PositionOut(BaseModel):
    capital: MoneyOut = Field(description="equity: fund capital and the result so far")
    cash: MoneyOut = Field(description="the bank accounts in the ledger")
    loans_outstanding: MoneyOut
    approved_not_disbursed: MoneyOut
    reserve: MoneyOut = Field(description="cash kept back (the lending rules' reserve)")
    liabilities: MoneyOut = Field(description="beneficiary credits and unidentified receipts")
    available_to_lend: MoneyOut


class MovementOut(BaseModel):
    kind: str = Field(examples=["repayments"])
    count: int
    total: MoneyOut = Field(description="the sum of the entries' debits")


class CurrencyReconciliationOut(BaseModel):
    currency: str
    reconciled: bool
    banks: list[BankOut]
    sub_ledger: SubLedgerOut
    unidentified: list[UnidentifiedOut]
    unidentified_by_age: list[AgeOut]
    aging: AgingOut
    position: PositionOut
    movements: list[MovementOut]
    notes: list[str] = Field(description="what the treasurer should do, in words")

    @classmethod
    def of(cls, r: MonthReconciliation) -> CurrencyReconciliationOut:
        cur = r.currency

        def m(minor: int) -> MoneyOut:
            return MoneyOut.of(minor, cur)

        p, a = r.position, r.aging
        by_age = r.unidentified_by_age
        return cls(
            currency=cur,
            reconciled=r.reconciled,
            banks=[BankOut.of(b) for b in r.banks],
            sub_ledger=SubLedgerOut(
                control=m(r.sub_ledger.control_minor),
                loans=m(r.sub_ledger.loans_minor),
                difference=m(r.sub_ledger.difference),
            ),
            unidentified=[
                UnidentifiedOut(
                    line_id=u.line_id,
                    booking_date=u.booking_date,
                    amount=m(u.amount_minor),
                    age=u.age,
                    suggested_loan_id=u.suggested_loan_id,
                )
                for u in r.unidentified
            ],
            unidentified_by_age=[
                AgeOut(age=age, count=by_age[age][0], total=m(by_age[age][1]))
                for age in RECEIPT_AGES
            ],
            aging=AgingOut(
                loans=a.loans,
                outstanding=m(a.outstanding_minor),
                buckets=[
                    BucketOut(bucket=name, loans=n, outstanding=m(total))
                    for name, (n, total) in a.buckets.items()
                ],
                par30=m(a.par30_minor),
                par30_percent=str(a.par30_ratio),
            ),
            position=PositionOut(
                capital=m(p.capital_minor),
                cash=m(p.cash_minor),
                loans_outstanding=m(p.loans_outstanding_minor),
                approved_not_disbursed=m(p.approved_not_disbursed_minor),
                reserve=m(p.reserve_minor),
                liabilities=m(p.liabilities_minor),
                available_to_lend=m(p.available_to_lend_minor),
            ),
            movements=[
                MovementOut(kind=mv.kind, count=mv.count, total=m(mv.total_minor))
                for mv in r.movements
            ],
            notes=list(r.notes),
        )


class ReconciliationOut(BaseModel):
    month: str = Field(examples=["2026-03"])
    month_end: date
    reconciled: bool = Field(description="every currency reconciles: the month may be closed")
    closed: bool = Field(description="the month is closed already")
    currencies: list[CurrencyReconciliationOut] = Field(
        description="one per currency the fund has a bank account in"
    )

    @classmethod
    def of(cls, month: str, recs: Sequence[MonthReconciliation]) -> ReconciliationOut:
        return cls(
            month=month,
            month_end=month_end(month),
            reconciled=all(r.reconciled for r in recs),
            closed=any(r.closed for r in recs),
            currencies=[CurrencyReconciliationOut.of(r) for r in recs],
        )
