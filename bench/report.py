"""Monthly report benchmark: reconcile a month and produce the report for a large fund.

    .venv/bin/python -m bench.report [--postgres-url URL] [--sqlite-dir DIR] [--loans 100000]
        [--month 2026-10] [--out docs/performance.md]

The fund is loaded as ``bench.loans`` loads it (N active loans of 24 installments with their
payouts and payments in the journal, bulk SQL over real entries). Then, on each engine:

1. ``reports.monthly_report``: the month's reconciliation (``services.reconciliation``), the
   12-month history and the PDF, end to end; target 60 s for 100,000 loans;
2. the 12-month history query alone;
3. the month's journal as CSV (``reports.journal_csv``), rows per second.

Figures are printed; they go to docs/performance.md only with ``--out``. Database names must
contain "bench"; they are dropped and recreated.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import make_url

from bench.loans import (
    PG_ENV,
    TREASURER,
    FixedClock,
    fresh_engine,
    load_portfolio,
    log,
    machine_lines,
)
from ledger.config import Settings
from ledger.documents.model import FundInfo
from ledger.domain.journal import month_end
from ledger.services import reports
from ledger.services.reports import ReportSettings
from ledger.store.uow import UnitOfWork

START = "<!-- bench.report:start (written by `python -m bench.report`; never edit by hand) -->"
END = "<!-- bench.report:end -->"


def write_section(path: Path, text: str) -> None:
    """Replace this benchmark's section of ``path`` (between its markers), or append it."""
    old = path.read_text() if path.exists() else "# Performance\n"
    if START in old and END in old:
        before, rest = old.split(START, 1)
        new = before + text.rstrip("\n") + rest.split(END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--postgres-url", default=os.environ.get(PG_ENV))
    parser.add_argument("--sqlite-dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.postgres_url and "bench" not in (make_url(args.postgres_url).database or ""):
        parser.error("the PostgreSQL database name must contain 'bench' (it is dropped)")

    settings = ReportSettings(FundInfo.from_settings(Settings(_env_file=None)))
    first = date.fromisoformat(f"{args.month}-01")
    kinds = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    engines = {}
    rows = []
    for kind in kinds:
        log(f"{kind}: loading {args.loans} loans")
        engine = fresh_engine(kind, args.sqlite_dir, args.postgres_url, "fl_bench_report")
        engines[kind] = engine
        load_portfolio(engine, args.loans)
        uow = UnitOfWork(engine, clock=FixedClock(), readonly=True)
        t0 = time.perf_counter()
        pdf = reports.monthly_report(uow, TREASURER, args.month, settings)
        report_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with uow:
            reports.history(uow, args.month)
        history_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        legs = -1  # the header
        for chunk in reports.journal_csv(uow, TREASURER, first, month_end(args.month)):
            legs += chunk.count("\r\n")
        journal_s = time.perf_counter() - t0
        log(f"{kind}: report {report_s:.1f} s ({len(pdf):,} bytes), history {history_s:.2f} s")
        rows.append((kind, report_s, len(pdf), history_s, legs, journal_s))
    lines = [
        START,
        "## Monthly report (`python -m bench.report`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with "
        f"`python -m bench.report --loans {args.loans} --month {args.month}`"
        f"{' --postgres-url ...' if args.postgres_url else ''}.",
        "",
        *machine_lines(engines),
        "",
        "| engine | loans | reconcile and report (PDF) | target 60 s | 12-month history | "
        "journal CSV of the month |",
        "|---|---|---|---|---|---|",
    ]
    for kind, report_s, size, history_s, legs, journal_s in rows:
        lines.append(
            f"| {kind} | {args.loans:,} | {report_s:.1f} s ({size / 1024:.0f} KiB) | "
            f"{'met' if report_s < 60 else 'NOT met'} | {history_s:.2f} s | "
            f"{legs:,} legs in {journal_s:.1f} s |"
        )
    lines.append(END)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        write_section(args.out, text)
    for engine in engines.values():
        engine.dispose()


if __name__ == "__main__":
    main()
