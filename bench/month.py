"""The month's pages on a month of 50,000 bank lines (issue 14: the reconciliation page under
300 ms p95; the report page under 1 s p95).

    .venv/bin/python -m bench.month [--postgres-url URL] [--sqlite-dir DIR]
        [--engines sqlite,postgresql] [--entries 50000] [--loans 500] [--requests 20]
        [--out docs/performance.md]

On each engine (SQLite in ``--sqlite-dir``; PostgreSQL at ``--postgres-url``, default from
FUNDLEDGER_BENCH_POSTGRES_URL; either database's name must contain "bench": it is wiped) it
builds bench/statements.py's fund (capital, ``--loans`` loans paid out through the services)
and imports one camt.053 file of ``--entries`` lines, all booked in March 2026: the payouts,
repayments with the loans' references, unidentified credits (left waiting in 2200), bank
charges, and one line in a hundred a debit that nothing explains (left unmatched).

Then it asks ``/months/2026-03/reconciliation`` ``--requests`` times as the treasurer (after
three warm-up requests; Starlette's TestClient, in process) right after the import, before
any statistics: SQLite has none unless someone runs ANALYZE (the application never does), and
on PostgreSQL autovacuum gathers them within a minute or so of such a load (the bench's
figure before ANALYZE is the page without them, unless autovacuum was quicker). Then, on
PostgreSQL after ANALYZE (what autovacuum does), every page again: the reconciliation, the
list of months, the payouts, the report's page. Last, the services alone, step by step
(each step's share of one call, the median of ``--requests`` calls): what the page's time is
made of whatever the load of the shared machine. p50 and p95 go to its section of ``--out``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.builders import FUND_IBAN, HASH_KEY, TREASURER, Clock
from bench.common import load_average, log, machine_lines, write_section
from bench.statements import CAPITAL, PG_ENV, build_fund
from bench.web import PASSWORD, signed_in, time_page
from ledger.api.app import create_app
from ledger.bank.writers import camt053
from ledger.config import Settings
from ledger.documents.model import FundInfo
from ledger.domain.roles import SYSTEM
from ledger.domain.statements import Direction, Statement, StatementEntry, end_to_end_id
from ledger.services import loans as loan_services
from ledger.services import reconciliation, reports, users
from ledger.services.statements import ImportOptions, import_statements
from ledger.store.database import make_engine
from ledger.store.reconciliation_repository import ReconciliationRepository
from ledger.store.report_repository import ReportRepository
from ledger.store.statement_repository import StatementRepository
from ledger.store.uow import UnitOfWork
from ledger.web.routes.months import SHOWN

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
MONTH = "2026-03"
RECONCILIATION = f"/months/{MONTH}/reconciliation"
REPORT = f"/months/{MONTH}/report"
TARGETS = {RECONCILIATION: 300.0, REPORT: 1000.0}


def march_file(loans: list[tuple[str, str, int, int]], entries: int) -> bytes:
    """Every line booked in March: payouts, then 55% repayments, 33% unidentified credits,
    10% charges, 1% debits nothing explains."""
    rows: list[StatementEntry] = [
        StatementEntry(date(2026, 3, 2), amount, "EUR", Direction.DEBIT,
                       bank_reference=f"P-{loan_id}", end_to_end_id=end_to_end_id(entry_id))
        for loan_id, _, entry_id, amount in loans
    ]  # fmt: skip
    for i in range(entries - len(rows)):
        day = date(2026, 3, 3) + timedelta(days=i * 28 // entries)
        kind = i % 100
        if kind < 55:
            _, reference, _, _ = loans[i % len(loans)]
            rows.append(StatementEntry(day, 7083, "EUR", Direction.CREDIT, bank_reference=f"R{i}",
                                       creditor_reference=reference))  # fmt: skip
        elif kind < 88:
            rows.append(StatementEntry(day, 1000 + i % 5000, "EUR", Direction.CREDIT,
                                       bank_reference=f"U{i}", remittance="don"))  # fmt: skip
        elif kind < 98:
            rows.append(StatementEntry(day, 250, "EUR", Direction.DEBIT, bank_reference=f"C{i}",
                                       bank_code="ACMT/MDOP/CHRG"))  # fmt: skip
        else:
            rows.append(StatementEntry(day, 990, "EUR", Direction.DEBIT, bank_reference=f"X{i}",
                                       remittance="?"))  # fmt: skip
    total = sum(r.signed_minor for r in rows)
    st = Statement(
        FUND_IBAN, "EUR", "BENCH-2026-03", tuple(rows), "bench", 1,
        CAPITAL, date(2026, 2, 28), CAPITAL + total, date(2026, 3, 31),
    )  # fmt: skip
    return camt053([st], version=8)


class Steps:
    """Wall time of the services' steps while a call runs: each function below is wrapped
    (and put back afterwards); a step inside another counts in both."""

    WRAPPED: tuple[tuple[str, object, str], ...] = (
        ("ledger balances at month end (cached less later)", ReconciliationRepository,
         "balances_as_of"),
        ("ledger balances at month end (every leg)", ReconciliationRepository, "sums_as_of"),
        ("entries no line explains", StatementRepository, "unexplained_entries"),
        ("unmatched lines", StatementRepository, "open_lines"),
        ("unidentified receipts by age", StatementRepository, "receipts_by_age"),
        ("unidentified receipts as rows", StatementRepository, "receipts_in_state"),
        ("loans receivable at month end", ReconciliationRepository, "control_as_of"),
        ("approved, not paid out", ReconciliationRepository, "promised_as_of"),
        ("the month's movements", ReconciliationRepository, "movements"),
        ("payouts and repayments, 12 months", ReconciliationRepository, "movements_by_month"),
        ("loans by state at month end", ReconciliationRepository, "states_as_of"),
        ("aging and PAR30 (each month end)", loan_services, "compute_portfolio"),
        ("aging and PAR30 (each month end)", reports, "compute_portfolio"),
        ("cash and loans, 12 month ends", ReportRepository, "month_end_balances"),
    )  # fmt: skip

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}
        self.saved: list[tuple[object, str, Any]] = []
        self.current: dict[str, float] = {}

    def __enter__(self) -> Steps:
        for label, owner, name in self.WRAPPED:
            original = getattr(owner, name)
            self.saved.append((owner, name, original))
            setattr(owner, name, self._timed(label, original))
        return self

    def __exit__(self, *_: object) -> None:
        for owner, name, original in self.saved:
            setattr(owner, name, original)
        self.saved = []

    def _timed(self, label: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[label] = self.current.get(label, 0.0) + time.perf_counter() - t0

        return timed

    def run(self, call: Callable[[], object], times: int) -> tuple[float, dict[str, float]]:
        """The median time of ``call`` in ms, and of each step it took (ms per call)."""
        call()  # warm-up
        totals: list[float] = []
        per_step: dict[str, list[float]] = {}
        for _ in range(times):
            self.current = {}
            t0 = time.perf_counter()
            call()
            totals.append((time.perf_counter() - t0) * 1000)
            for label, sec in self.current.items():
                per_step.setdefault(label, []).append(sec * 1000)
        return statistics.median(totals), {
            label: statistics.median(ms) for label, ms in per_step.items()
        }


def engine_run(
    label: str, url: str, args: argparse.Namespace
) -> tuple[list[str], list[tuple[str, float, float]]]:
    """The engine's lines of the section, and (page, p95, target) of the pages with one."""
    uow, loans = build_fund(url, args.loans)
    engine = uow.engine
    log(f"{label}: fund with {len(loans)} loans built")
    data = march_file(loans, args.entries)
    options = ImportOptions(
        hash_key=HASH_KEY, fund_ibans=frozenset({FUND_IBAN}), max_bytes=len(data) + 1
    )
    result = import_statements(uow, TREASURER, data, options)
    states = ", ".join(f"{n:,} {s}" for s, n in sorted(result.statements[0].states.items()))
    log(f"{label}: imported: {states}")
    users.create_user(uow, SYSTEM, "bench.treasurer", PASSWORD, "treasurer")
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",  # unused: the app is handed the engine
        fund_languages="en,fr,nl,de",
        documents_dir=Path(tempfile.mkdtemp(prefix="bench-month-")),
    )
    app = create_app(settings, engine=engine, clock=Clock(NOW))
    client = signed_in(app, "bench.treasurer")
    pages: list[tuple[str, str, int, float, float, int, str]] = []

    def timed(path: str, requests: int, when: str) -> None:
        load = load_average()
        p50, p95, size = time_page(client, path, requests)
        log(f"{label}: {path:36} {when:22} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  load {load}")
        pages.append((path, when, requests, p50, p95, size, load))

    postgres = engine.dialect.name == "postgresql"
    before = "no statistics (never)"
    if postgres:
        before = f"before ANALYZE ({_analyzed(engine)})"
    timed(RECONCILIATION, args.requests, before)
    if postgres:
        with engine.connect() as conn:  # what autovacuum does after such a load
            conn.execute(text("ANALYZE"))
            conn.commit()
        after = "after ANALYZE"
        timed(RECONCILIATION, args.requests, after)
    else:
        after = before
    for path, requests in (
        ("/months", args.requests),
        ("/payouts", args.requests),
        (REPORT, max(5, args.requests // 2)),
    ):
        timed(path, requests, after)
    steps = service_steps(engine, settings, args.requests)
    lines = [
        f"### {label}",
        "",
        f"{len(loans)} loans paid out, one statement of {args.entries:,} lines all booked in "
        f"March 2026 ({states}).",
        "",
        "| page (treasurer) | statistics | requests | p50 | p95 | size | load average |",
        "|---|---|---:|---:|---:|---:|---:|",
        *(
            f"| `{path}` | {when} | {n} | {p50:.0f} ms | **{p95:.0f} ms** | "
            f"{size / 1000:.0f} KB | {load} |"
            for path, when, n, p50, p95, size, load in pages
        ),
        "",
        *steps,
    ]
    worst = [
        (path, max(p95 for p, _, _, _, p95, _, _ in pages if p == path), TARGETS[path])
        for path in TARGETS
    ]
    return lines, worst


def _analyzed(engine: Engine) -> str:
    """Whether autovacuum has analyzed the journal and the lines since the import."""
    with engine.connect() as conn:
        done = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN "
                "('journal_entries', 'journal_legs', 'statement_lines') "
                "AND coalesce(last_analyze, last_autoanalyze) IS NOT NULL"
            )
        ).scalar_one()
    return "no statistics" if not done else f"autovacuum had analyzed {done} of 3 tables"


def service_steps(engine: Engine, settings: Settings, times: int) -> list[str]:
    """The reconciliation page's and the report page's services alone, step by step."""
    clock = Clock(NOW)
    fund = FundInfo.from_settings(settings)
    report_settings = reports.ReportSettings(fund, "en")

    def uow() -> UnitOfWork:
        return UnitOfWork(engine, clock=clock, readonly=True)

    calls: list[tuple[str, Callable[[], object]]] = [
        (
            "reconciliation page (`reconcile`, page's reading)",
            lambda: reconciliation.reconcile(
                uow(), TREASURER, MONTH, aging=False, reading=reconciliation.page_reading(SHOWN)
            ),
        ),
        (
            "the full reading (the API's, the close's)",
            lambda: reconciliation.reconcile(uow(), TREASURER, MONTH, aging=False),
        ),
        (
            "report page (`report_figures`)",
            lambda: reports.report_figures(uow(), TREASURER, MONTH, report_settings),
        ),
    ]
    out = [
        f"The services alone (median of {times} calls, ms; a step's time is its share of one "
        f"call; load average {load_average()}):",
        "",
        "| service | step | ms |",
        "|---|---|---:|",
    ]
    for name, call in calls:
        with Steps() as steps:
            total, per_step = steps.run(call, times)
        log(f"  {name}: {total:.1f} ms")
        out.append(f"| {name} | **all of it** | **{total:.0f}** |")
        for label in dict.fromkeys(label for label, _, _ in Steps.WRAPPED):
            if label in per_step:
                out.append(f"| | {label} | {per_step[label]:.0f} |")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get(PG_ENV))
    parser.add_argument("--sqlite-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--engines", default=None, help="sqlite,postgresql (default: both when a URL is given)"
    )
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--loans", type=int, default=500)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    engines = (args.engines or ("sqlite,postgresql" if args.postgres_url else "sqlite")).split(",")
    urls = {
        "sqlite": ("SQLite", f"sqlite:///{args.sqlite_dir / 'bench_month.db'}"),
        "postgresql": ("PostgreSQL", args.postgres_url),
    }
    for name in engines:
        if name not in urls:
            raise SystemExit(f"unknown engine {name!r}: give sqlite, postgresql or both")
        if name == "postgresql" and not args.postgres_url:
            raise SystemExit(f"give --postgres-url or set {PG_ENV} (a database named *bench*)")
    sections: list[str] = []
    verdicts: list[tuple[str, str, float, float]] = []
    pg_engine = None
    for name in engines:
        label, url = urls[name]
        lines, worst = engine_run(label, url, args)
        sections += [*lines, ""]
        verdicts += [(label, path, p95, target) for path, p95, target in worst]
        if name == "postgresql":
            pg_engine = make_engine(url)
    text_lines = [
        "## The month's pages (`python -m bench.month`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        *machine_lines(pg_engine),
        "",
        *sections,
        "Targets (issue 14), p95 on the loaded machine, the worst of the page's rows: "
        + "; ".join(
            f"{label} `{path}` under {target:.0f} ms: **{'met' if p95 < target else 'NOT met'}**"
            f" ({p95:.0f} ms)"
            for label, path, p95, target in verdicts
        )
        + ".",
    ]
    print("\n".join(text_lines))
    if args.out:
        write_section(args.out, "month", "\n".join(text_lines))


if __name__ == "__main__":
    main()
