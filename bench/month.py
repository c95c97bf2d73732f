"""The month's reconciliation page on a month of 50,000 bank lines (issue 14: under 300 ms p95).

    .venv/bin/python -m bench.month [--postgres-url URL] [--entries 50000] [--loans 500]
        [--requests 20] [--out docs/performance.md]

On a fresh PostgreSQL database (its name must contain "bench"; default from
FUNDLEDGER_BENCH_POSTGRES_URL) it builds bench/statements.py's fund (capital, ``--loans``
loans paid out through the services) and imports one camt.053 file of ``--entries`` lines, all
booked in March 2026: the payouts, repayments with the loans' references, unidentified
credits (left waiting in 2200), bank charges, and one line in a hundred a debit that nothing
explains (left unmatched). Then it asks ``/months/2026-03/reconciliation`` ``--requests`` times
as the treasurer (after three warm-up requests; Starlette's TestClient, in process) and the
report's page a few times, and writes p50 and p95 to its section of ``--out``. The tables are
ANALYZEd after the import, as autovacuum would do after such a load: without statistics the
planner takes 50,000 nested loops for the entries no line explains.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bench.builders import FUND_IBAN, HASH_KEY, TREASURER, Clock
from bench.common import log, machine_lines, write_section
from bench.statements import CAPITAL, PG_ENV, build_fund
from bench.web import PASSWORD, signed_in, time_page
from ledger.api.app import create_app
from ledger.bank.writers import camt053
from ledger.config import Settings
from ledger.domain.roles import SYSTEM
from ledger.domain.statements import Direction, Statement, StatementEntry, end_to_end_id
from ledger.services import users
from ledger.services.statements import ImportOptions, import_statements

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get(PG_ENV))
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--loans", type=int, default=500)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.postgres_url:
        raise SystemExit(f"give --postgres-url or set {PG_ENV} (a database named *bench*)")
    uow, loans = build_fund(args.postgres_url, args.loans)
    log(f"fund with {len(loans)} loans built")
    data = march_file(loans, args.entries)
    options = ImportOptions(
        hash_key=HASH_KEY, fund_ibans=frozenset({FUND_IBAN}), max_bytes=len(data) + 1
    )
    result = import_statements(uow, TREASURER, data, options)
    states = ", ".join(f"{n:,} {s}" for s, n in sorted(result.statements[0].states.items()))
    log(f"imported: {states}")
    with uow.engine.connect() as conn:  # what autovacuum would do after such a load
        conn.execute(text("ANALYZE"))
        conn.commit()
    users.create_user(uow, SYSTEM, "bench.treasurer", PASSWORD, "treasurer")
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_languages="en,fr,nl,de",
        documents_dir=Path(tempfile.mkdtemp(prefix="bench-month-")),
    )
    app = create_app(settings, engine=uow.engine, clock=Clock(NOW))
    client = signed_in(app, "bench.treasurer")
    load = os.getloadavg()[0]
    results = []
    for path, requests in (
        ("/months/2026-03/reconciliation", args.requests),
        ("/months", args.requests),
        ("/payouts", args.requests),
        ("/months/2026-03/report", max(3, args.requests // 4)),
    ):
        t0 = time.perf_counter()
        p50, p95, size = time_page(client, path, requests)
        log(f"  {path:40} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {size} bytes")
        results.append((path, requests, p50, p95, size, time.perf_counter() - t0))
    lines = [
        "## The month's pages (`python -m bench.month`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on PostgreSQL: {len(loans)} loans paid "
        f"out, one statement of {args.entries:,} lines all booked in March 2026 ({states}).",
        "",
        *machine_lines(uow.engine),
        f"- load average (1 min) when the pages were asked: {load:.2f}",
        "",
        "| page (treasurer) | requests | p50 | p95 | size |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| `{path}` | {n} | {p50:.0f} ms | **{p95:.0f} ms** | {size / 1000:.0f} KB |"
            for path, n, p50, p95, size, _ in results
        ),
        "",
        f"Target (issue 14): the reconciliation page under 300 ms p95 with 50,000 lines in the "
        f"month: **{'met' if results[0][3] < 300 else 'NOT met'}**.",
    ]
    print("\n".join(lines))
    if args.out:
        write_section(args.out, "month", "\n".join(lines))


if __name__ == "__main__":
    main()
