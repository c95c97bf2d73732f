"""Monthly report benchmark: reconcile a month and produce the report for a large fund.

    .venv/bin/python -m bench.report [--postgres-url URL] [--sqlite-dir DIR] [--loans 100000]
        [--out docs/performance.md]

The fund is loaded as ``bench.loans`` loads it (N active loans of 24 installments with their
payouts and payments in the journal, bulk SQL over real entries), then given a bank: one
statement covering every movement on the bank account up to the end of December 2025 except the
last 50 (items in transit), each line linked to its entry, and 20 bank debits nothing explains
(unmatched). Loading is not what is measured. Then, on each engine:

1. ``reconciliation.reconcile`` for December 2025 alone;
2. ``reports.monthly_report``: the month's reconciliation, the 12-month history and the PDF,
   end to end; the issue's target: reconcile and report under 60 s for 100,000 loans;
3. the 12-month history query alone;
4. the month's journal as CSV (``reports.journal_csv``).

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

from sqlalchemy import Engine, insert, make_url, select

from bench.common import load_average, log, machine_lines, write_section
from bench.loans import PG_ENV, TREASURER, fresh_engine, load_portfolio
from ledger.config import Settings
from ledger.documents.model import FundInfo
from ledger.services import reports
from ledger.services.periods import month_end
from ledger.services.reconciliation import reconcile
from ledger.services.reports import ReportSettings
from ledger.store.tables import (
    accounts,
    bank_accounts,
    bank_statements,
    journal_entries,
    journal_legs,
    statement_lines,
)
from ledger.store.uow import UnitOfWork

MONTH = "2025-12"
MONTH_END = date(2025, 12, 31)
IN_TRANSIT, UNMATCHED = 50, 20
IBAN = "BE71096123456769"
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def load_bank(engine: Engine) -> None:
    """One statement up to the month's end: every bank movement but the last ``IN_TRANSIT``,
    each linked to its entry, and ``UNMATCHED`` debits nothing explains."""
    with engine.begin() as conn:
        bank_id = conn.execute(select(accounts.c.id).where(accounts.c.code == "1000")).scalar_one()
        moves = conn.execute(
            select(
                journal_entries.c.id, journal_entries.c.booking_date, journal_legs.c.amount_minor
            )
            .join(journal_legs, journal_legs.c.entry_id == journal_entries.c.id)
            .where(
                journal_legs.c.account_id == bank_id, journal_entries.c.booking_date <= MONTH_END
            )
            .order_by(journal_entries.c.booking_date, journal_entries.c.id)
        ).all()
        at_bank = moves[: len(moves) - IN_TRANSIT]
        conn.execute(
            insert(bank_accounts),
            [{"id": 1, "iban": IBAN, "account_id": bank_id, "currency": "EUR",
              "created_at": NOW, "created_by": "bench"}],
        )  # fmt: skip
        extra = [(None, date(2025, 12, 10 + n % 15), -(1_000 + n)) for n in range(UNMATCHED)]
        lines = [(r.id, r.booking_date, int(r.amount_minor)) for r in at_bank] + extra
        credits = sum(a for _, _, a in lines if a > 0)
        debits = -sum(a for _, _, a in lines if a < 0)
        statement_id = conn.execute(
            insert(bank_statements).returning(bank_statements.c.id),
            [{"bank_account_id": 1, "statement_key": "BENCH-1", "source_format": "bench",
              "sequence": 1, "opening_minor": 0, "opening_date": date(2024, 1, 1),
              "closing_minor": credits - debits, "closing_date": MONTH_END,
              "credits_minor": credits, "debits_minor": debits, "entries": len(lines),
              "new_entries": len(lines), "file_sha256": "0" * 64, "imported_at": NOW,
              "imported_by": "bench"}],
        ).scalar_one()  # fmt: skip
        rows = [
            {
                "ref": f"SL-1-{n}",
                "bank_account_id": 1,
                "statement_id": statement_id,
                "line_key": f"bench:{n}",
                "position": n,
                "booking_date": day,
                "amount_minor": amount,
                "currency": "EUR",
                "reversal": False,
                "state": "linked" if entry_id is not None else "unmatched",
                "entry_id": entry_id,
                "updated_at": NOW,
            }
            for n, (entry_id, day, amount) in enumerate(lines)
        ]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(statement_lines), rows[start : start + 5000])
    log(f"bank: {len(at_bank)} lines linked, {IN_TRANSIT} in transit, {UNMATCHED} unmatched")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--postgres-url", default=os.environ.get(PG_ENV))
    parser.add_argument("--sqlite-dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.postgres_url and "bench" not in (make_url(args.postgres_url).database or ""):
        parser.error("the PostgreSQL database name must contain 'bench' (it is dropped)")

    settings = ReportSettings(FundInfo.from_settings(Settings(_env_file=None)))
    first = date(2025, 12, 1)
    kinds = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    pg: Engine | None = None
    rows = []
    for kind in kinds:
        log(f"{kind}: loading {args.loans} loans")
        engine = fresh_engine(kind, args.sqlite_dir, args.postgres_url, "fl_bench_report")
        load_portfolio(engine, args.loans)
        load_bank(engine)
        uow = UnitOfWork(engine, clock=lambda: NOW, readonly=True)
        load_start = load_average()
        t0 = time.perf_counter()
        [rec] = reconcile(uow, TREASURER, MONTH)
        reconcile_s = time.perf_counter() - t0
        bank = rec.banks[0]
        t0 = time.perf_counter()
        pdf = reports.monthly_report(uow, TREASURER, MONTH, settings)
        report_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with uow:
            reports.history(uow, MONTH)
        history_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        legs = -1  # the header
        for chunk in reports.journal_csv(uow, TREASURER, first, month_end(MONTH)):
            legs += chunk.count("\r\n")
        journal_s = time.perf_counter() - t0
        log(f"{kind}: reconcile {reconcile_s:.1f} s, report {report_s:.1f} s ({len(pdf):,} bytes)")
        rows.append(
            (kind, reconcile_s, report_s, len(pdf), history_s, legs, journal_s, rec.aging.loans,
             len(bank.in_transit), len(bank.unmatched), load_start, load_average())
        )  # fmt: skip
        if kind == "postgresql":
            pg = engine
        else:
            engine.dispose()
    lines = [
        "## Monthly reconciliation and report (`python -m bench.report`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with "
        f"`python -m bench.report --loans {args.loans}`"
        f"{' --postgres-url ...' if args.postgres_url else ''}: {args.loans:,} active loans of 24 "
        f"installments, the bank's statement linked line by line, {IN_TRANSIT} items in transit "
        f"and {UNMATCHED} unmatched debits; month {MONTH}.",
        "",
        *machine_lines(pg),
        "",
        "| engine | loans in the aging | reconcile alone | reconcile and report (PDF) | "
        "target 60 s | 12-month history | journal CSV of the month | in transit / unmatched "
        "found | load average start / end |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (kind, reconcile_s, report_s, size, history_s, legs, journal_s, aged, transit,
         unmatched, before, after) in rows:  # fmt: skip
        lines.append(
            f"| {kind} | {aged:,} | {reconcile_s:.1f} s | {report_s:.1f} s "
            f"({size / 1024:.0f} KiB) | {'met' if report_s < 60 else '**NOT met**'} | "
            f"{history_s:.2f} s | {legs:,} legs in {journal_s:.1f} s | {transit} / {unmatched} | "
            f"{before} / {after} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        write_section(args.out, "report", text)
    if pg is not None:
        pg.dispose()


if __name__ == "__main__":
    main()
