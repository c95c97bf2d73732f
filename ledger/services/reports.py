"""The monthly fund report (PDF) and the accountant's exports (CSV of the journal and of the
trial balance). Reading the ledger: treasurer, admin, auditor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, tzinfo
from decimal import Decimal

from ledger.documents.model import FundInfo
from ledger.documents.report import History, MonthlyReportData, SignOff, render_monthly_report
from ledger.domain.eligibility import EligibilityRules
from ledger.domain.errors import ValidationError
from ledger.domain.journal import month_end, parse_month
from ledger.domain.money import from_minor
from ledger.domain.reconciliation import MonthReconciliation, movement_kind
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import LoanStatus, PeriodAction
from ledger.services.csv_text import FORMULA_START as FORMULA_START
from ledger.services.csv_text import csv_text as csv_text
from ledger.services.csv_text import safe_cell as safe_cell
from ledger.services.journal import quick_trial_balance
from ledger.services.loans.portfolio import Portfolio, compute_portfolio
from ledger.services.reconciliation import (
    Reading,
    compute_reconciliation,
    movements_of,
    reading_day,
)
from ledger.store.report_repository import CASH, LOANS, ReportRepository
from ledger.store.uow import UnitOfWork

#: The monthly report (PDF) lists every unidentified receipt and the month's movements; its
#: balances are the accounts' cached ones less what was booked after month end.
REPORT = Reading(cached_balances=True)
#: Its page lists no receipt (their count and total by age only) and reads the movements with
#: the 12 months' payouts and repayments.
REPORT_PAGE = Reading(cached_balances=True, receipts=0, movements=False)
# FORMULA_START, csv_text and safe_cell are re-exported: the exports' cells were first written
# here, and callers import them from here.
HISTORY_MONTHS = 12
JOURNAL_COLUMNS = (
    "entry_id",
    "booking_date",
    "kind",
    "description",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "currency",
    "loan_id",
    "statement_line",
    "reverses",
    "entry_hash",
)
TRIAL_BALANCE_COLUMNS = (
    "account_code",
    "account_name",
    "account_type",
    "currency",
    "debit",
    "credit",
)
#: Rows written to the CSV text per chunk when the journal is streamed.
CHUNK_ROWS = 2000


@dataclass(frozen=True, slots=True)
class ReportSettings:
    fund: FundInfo
    language: str = "en"
    rules: EligibilityRules = field(default_factory=EligibilityRules)  # its cash reserve
    # The fund's time zone (Settings.zone, FUNDLEDGER_TIMEZONE): the report prints its times
    # in it. None: the unit of work's, which the settings gave it too.
    zone: tzinfo | None = None


# -- the monthly report ---------------------------------------------------------------------


def month_ends(month: str, months: int = HISTORY_MONTHS) -> list[date]:
    """The last day of ``month`` and of the ``months - 1`` months before it, oldest first."""
    year, mon = int(month[:4]), int(month[5:])
    out = []
    for back in range(months - 1, -1, -1):
        index = year * 12 + (mon - 1) - back
        out.append(month_end(f"{index // 12:04d}-{index % 12 + 1:02d}"))
    return out


def history_days(uow: UnitOfWork, month: str) -> list[date]:
    """The days the report's history reads, oldest first (inside ``uow``): the last 12 month
    ends up to ``month``'s, from the first one on or after the fund's first journal entry (none
    before the fund existed: none at all before its first entry), ``month``'s own end being
    today while the month runs (``reading_day``)."""
    first = ReportRepository(uow.connection).first_booking_date()
    if first is None:
        return []
    as_of, _ = reading_day(uow, month)
    days = [min(end, as_of) for end in month_ends(month)]  # only the month's own can be later
    return [day for day in days if day >= first]


def history(uow: UnitOfWork, month: str, days: Sequence[date] | None = None) -> list[History]:
    """Cash and loans outstanding at each of ``days`` (default ``history_days``), per currency
    (inside ``uow``)."""
    ends = list(history_days(uow, month) if days is None else days)
    if not ends:
        return []
    balances = ReportRepository(uow.connection).month_end_balances(ends)
    currencies = sorted({cur for _, cur in balances})
    zero = [0] * len(ends)
    return [
        History(
            currency=cur,
            month_ends=tuple(ends),
            cash_minor=tuple(balances.get((CASH, cur), zero)),
            loans_minor=tuple(balances.get((LOANS, cur), zero)),
        )
        for cur in currencies
    ]


def aging_history(uow: UnitOfWork, actor: Actor, month: str, currency: str) -> list[Portfolio]:
    """The aging and PAR30 at the last 12 month ends up to ``month``'s, oldest first: the
    12-month chart of PAR30 (each one query on the arrears projection)."""
    actor.require(Permission.LOANS_READ)
    month = _check_month(uow, month)
    with uow:
        return compute_aging_history(uow, month, currency)


def compute_aging_history(uow: UnitOfWork, month: str, currency: str) -> list[Portfolio]:
    """``aging_history`` inside an open unit of work (the caller checks permission and month)."""
    return [compute_portfolio(uow, end, currency) for end in month_ends(month)]


def _check_month(uow: UnitOfWork, month: str) -> str:
    month = parse_month(month)
    today = uow.today()
    if month > f"{today.year:04d}-{today.month:02d}":
        raise ValidationError(
            f"{month} has not begun yet; report on this month or an earlier one", field="month"
        )
    return month


def report_data(
    uow: UnitOfWork,
    actor: Actor,
    month: str,
    settings: ReportSettings,
    reconciliations: Sequence[MonthReconciliation],
) -> MonthlyReportData:
    """Everything the report prints: the month's reconciliation (one per currency), the
    12-month history and the month's close, read in one transaction."""
    actor.require(Permission.LEDGER_READ)
    month = _check_month(uow, month)
    with uow:
        return gather_report_data(uow, month, settings, reconciliations)


def gather_report_data(
    uow: UnitOfWork,
    month: str,
    settings: ReportSettings,
    reconciliations: Sequence[MonthReconciliation],
    days: Sequence[date] | None = None,
) -> MonthlyReportData:
    """``report_data`` inside an open unit of work (the caller checks permission and month)."""
    hist = history(uow, month, days)
    sign_off = None
    if month in uow.periods.closed_months():
        close = [e for e in uow.periods.events(month) if e.action is PeriodAction.CLOSE][-1]
        asked = ((close.balances or {}).get("reconciliation") or {}).get("requested_by")
        sign_off = SignOff(close.actor, close.at, close.reason, asked)
    generated = uow.now()
    _, today = reading_day(uow, month)
    return MonthlyReportData(
        fund=settings.fund,
        month=month,
        month_end=month_end(month),
        generated_at=generated,
        reconciliations=tuple(sorted(reconciliations, key=lambda r: r.currency)),
        history=tuple(hist),
        sign_off=sign_off,
        language=settings.language,
        zone=settings.zone or uow.zone,
        today=today,
    )


def monthly_report(
    uow: UnitOfWork,
    actor: Actor,
    month: str,
    settings: ReportSettings,
) -> bytes:
    """The monthly fund report as a PDF/A: reconciliation, position, aging, 12-month history."""
    actor.require(Permission.LEDGER_READ)
    actor.require(Permission.LOANS_READ)
    month = _check_month(uow, month)
    with uow:  # one transaction: every figure of the report from the same books
        recs = compute_reconciliation(uow, month, rules=settings.rules, reading=REPORT)
        data = gather_report_data(uow, month, settings, recs)
    return render_monthly_report(data).pdf


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One month end of the 12-month history beyond cash and loans outstanding."""

    month_end: date  # today for the month that runs (``history_days``)
    par30_minor: int  # outstanding of the loans more than 30 days late then
    outstanding_minor: int  # outstanding of the loans being repaid then
    par30_percent: Decimal  # par30 / outstanding, two decimals (ledger.domain.aging)
    disbursed_minor: int  # paid out in that month (disbursement entries)
    repaid_minor: int  # received in that month (repayment entries)


@dataclass(frozen=True, slots=True)
class LoansInState:
    state: LoanStatus
    loans: int
    principal_minor: int


@dataclass(frozen=True, slots=True)
class CurrencyFigures:
    currency: str
    months: tuple[MonthFigures, ...]  # oldest first, the report's month last
    states: tuple[LoansInState, ...]  # loans by state at month end, in the states' order


@dataclass(frozen=True, slots=True)
class ReportFigures:
    """The monthly report's figures, and those the screen shows beside them (PAR30, payouts
    and repayments over 12 months, loans by state), all read from one snapshot."""

    data: MonthlyReportData
    currencies: dict[str, CurrencyFigures]


def report_figures(
    uow: UnitOfWork, actor: Actor, month: str, settings: ReportSettings
) -> ReportFigures:
    """What the monthly report prints and what its page shows, in one transaction. The page
    lists no unidentified receipt (their count and total by age only); the 12 months' payouts
    and repayments, the month's movements among them, are one query; PAR30 at each month end
    is one query on the arrears projection."""
    actor.require(Permission.LEDGER_READ)
    actor.require(Permission.LOANS_READ)
    month = _check_month(uow, month)
    with uow:
        recs = compute_reconciliation(uow, month, rules=settings.rules, reading=REPORT_PAGE)
        ends = history_days(uow, month)  # the month's own last when the fund existed by then
        per_month = uow.reconciliation.movements_by_month(ends) if ends else []
        this_month = movements_of(per_month[-1]) if per_month else {}
        recs = [replace(r, movements=tuple(this_month.get(r.currency, ()))) for r in recs]
        data = gather_report_data(uow, month, settings, recs, ends)
        flows: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
        for end, rows in zip(ends, per_month, strict=True):
            for kind, cur, _n, total in rows:
                slot = {"new_loans": 0, "repayments": 1}.get(movement_kind(kind))
                if slot is not None:
                    flows[(cur, end)][slot] += total
        states: dict[str, list[LoansInState]] = defaultdict(list)
        as_of, _ = reading_day(uow, month)
        counted = {
            (c, st): (n, t) for c, st, n, t in uow.reconciliation.states_as_of(as_of, uow.zone)
        }
        currencies = sorted({r.currency for r in recs} | {c for c, _ in counted})
        for cur in currencies:
            for state in LoanStatus:
                if (cur, state.value) in counted:
                    n, total = counted[(cur, state.value)]
                    states[cur].append(LoansInState(state, n, total))
        known = {(r.currency, r.as_of): r.aging for r in recs}  # the month's, computed
        out = {}
        for cur in currencies:
            months = []
            for end in ends:
                aging = known.get((cur, end)) or compute_portfolio(uow, end, cur).aging
                disbursed, repaid = flows.get((cur, end), (0, 0))
                months.append(
                    MonthFigures(
                        end,
                        aging.par30_minor,
                        aging.outstanding_minor,
                        aging.par30_ratio,
                        disbursed,
                        repaid,
                    )
                )
            out[cur] = CurrencyFigures(cur, tuple(months), tuple(states[cur]))
    return ReportFigures(data, out)


# -- CSV exports ------------------------------------------------------------------------------


def _decimal(minor: int, currency: str) -> str:
    return str(from_minor(minor, currency).amount)


def _sides(minor: int, currency: str) -> tuple[str, str]:
    """(debit, credit) as decimal strings: the leg's side gets its amount, the other is empty."""
    if minor >= 0:
        return _decimal(minor, currency), ""
    return "", _decimal(-minor, currency)


def _check_range(start: date, end: date) -> None:
    if start > end:
        raise ValidationError(
            f"from ({start}) is after to ({end}); give the first day, then the last", field="from"
        )


def journal_csv(uow: UnitOfWork, actor: Actor, start: date, end: date) -> Iterator[str]:
    """The journal from ``start`` to ``end`` (inclusive), one CSV row per leg, streamed in
    chunks of text. The permission and the dates are checked before the first chunk."""
    actor.require(Permission.LEDGER_READ)
    _check_range(start, end)
    return _journal_chunks(uow, start, end)


def _journal_chunks(uow: UnitOfWork, start: date, end: date) -> Iterator[str]:
    yield csv_text([JOURNAL_COLUMNS])
    with uow:
        rows: list[Sequence[str]] = []
        for leg in ReportRepository(uow.connection).journal_legs(start, end):
            debit, credit = _sides(leg.amount_minor, leg.currency)
            rows.append(
                (
                    str(leg.entry_id),
                    leg.booking_date.isoformat(),
                    leg.kind,
                    safe_cell(leg.description),
                    safe_cell(leg.account_code),
                    safe_cell(leg.account_name),
                    debit,
                    credit,
                    leg.currency,
                    safe_cell(leg.loan_id),
                    safe_cell(leg.statement_line_id),
                    "" if leg.reverses_id is None else str(leg.reverses_id),
                    leg.hash,
                )
            )
            if len(rows) >= CHUNK_ROWS:
                yield csv_text(rows)
                rows = []
        if rows:
            yield csv_text(rows)


def trial_balance_csv(uow: UnitOfWork, actor: Actor, as_of: date) -> str:
    """Every postable account's balance at the end of ``as_of`` on its debit or credit side,
    then one total row per currency (debits equal credits when the books balance)."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        tb = quick_trial_balance(uow, as_of)
    rows: list[Sequence[str]] = [TRIAL_BALANCE_COLUMNS]
    debits: dict[str, int] = defaultdict(int)
    credits: dict[str, int] = defaultdict(int)
    for line in sorted(tb.lines, key=lambda li: (li.account.currency, li.account.code)):
        a, minor = line.account, line.balance_minor
        debit, credit = _sides(minor, a.currency)
        debits[a.currency] += max(minor, 0)
        credits[a.currency] += max(-minor, 0)
        rows.append((safe_cell(a.code), safe_cell(a.name), a.type.value, a.currency, debit, credit))
    for cur in sorted(set(debits) | set(credits)):
        rows.append(("", "Total", "", cur, _decimal(debits[cur], cur), _decimal(credits[cur], cur)))
    return csv_text(rows)
