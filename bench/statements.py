"""Importing a large camt.053 statement through the service, as the treasurer does.

    .venv/bin/python -m bench.statements [--postgres-url URL] [--entries 50000] [--loans 500]
        [--days 90] [--queue] [--out docs/performance.md]

On a fresh PostgreSQL database (its name must contain "bench"; default from
FUNDLEDGER_BENCH_POSTGRES_URL) it builds a fund: capital, ``--loans`` loans paid out through
the loan services, and the statement of the payouts imported. Then it writes one camt.053.001.08
file of ``--entries`` entries (repayments with the loans' structured references, half in the
structured field and half in the free text; unidentified credits; bank charges; payouts linked
to their disbursements) and times ``import_statements`` on it: reading and checking the file,
matching, booking every line and storing it, one transaction. It checks afterwards that the
ledger's bank equals the statement's closing balance and that ``verify`` passes, and rewrites
its section of ``--out``.

With ``--queue`` it then measures the treasurer's pages over what the import left waiting
(``--days 31`` puts every line in March: 50,000 lines in one month): the matching queue's
first, middle and last page, one month of it, a line's page, the statements and the
statement's lines at their first and last page (server time through the web application,
p50/p95 of ``--requests``); its own section of ``--out``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, make_url, text

from bench.builders import FUND_IBAN, HASH_KEY, TREASURER, Clock, book, paid_out_loan
from bench.common import machine_lines, write_section
from ledger.bank.camt import parse_camt
from ledger.bank.writers import camt053
from ledger.domain.accounts import default_chart
from ledger.domain.roles import SYSTEM
from ledger.domain.statements import Direction, Statement, StatementEntry, end_to_end_id
from ledger.services.journal import install_chart
from ledger.services.statements import ImportOptions, import_statements, importing, matching
from ledger.services.verify import verify
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.uow import UnitOfWork

PG_ENV = "FUNDLEDGER_BENCH_POSTGRES_URL"
CAPITAL = 100_000_000  # 1,000,000.00


def build_fund(url: str, loans: int) -> tuple[UnitOfWork, list[tuple[str, str, int, int]]]:
    """A fresh fund with ``loans`` loans paid out: (loan id, reference, payout entry, amount).
    ``url`` names a PostgreSQL database or an SQLite file; either is wiped first, so its name
    must contain "bench"."""
    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in Path(name).name:
        raise SystemExit(f"refusing to wipe database {name!r}: its name must contain 'bench'")
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
        engine = make_engine(url)
    else:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    uow = UnitOfWork(engine, clock=Clock(datetime(2026, 6, 15, 12, tzinfo=UTC)))
    install_chart(uow, SYSTEM, default_chart("EUR"))
    book(uow, TREASURER, "2026-01-05 capital 1000000.00 EUR Dr 1000 Cr 3000 ; capital")
    made = []
    for n in range(loans):
        loan = paid_out_loan(uow, deposit=f"{1200 + 10 * (n % 50)}.00", key=f"bench-{n}")
        made.append(
            (loan.id, loan.reference.value, loan.disbursement_entry_id or 0, loan.terms.deposit)
        )
    return uow, [(i, r, e, int(d.amount * 100)) for i, r, e, d in made]


def statement_file(
    loans: list[tuple[str, str, int, int]], entries: int, days: int = 90
) -> tuple[bytes, Statement]:
    """Payouts first, then a mix over ``days`` days from 1 March: 55% repayments, 35%
    unidentified, 10% charges."""
    rows: list[StatementEntry] = []
    day = date(2026, 2, 3)
    for loan_id, _, entry_id, amount in loans:
        rows.append(
            StatementEntry(day, amount, "EUR", Direction.DEBIT, bank_reference=f"P-{loan_id}",
                           end_to_end_id=end_to_end_id(entry_id))
        )  # fmt: skip
    for i in range(entries - len(rows)):
        day = date(2026, 3, 1) + timedelta(days=i * days // entries)
        kind = i % 20
        if kind < 11:
            _, reference, _, _ = loans[i % len(loans)]
            structured = kind % 2 == 0
            rows.append(
                StatementEntry(
                    day, 7083, "EUR", Direction.CREDIT, bank_reference=f"R{i}",
                    counterparty_name="Payer Name", counterparty_iban="BE68539007547034",
                    creditor_reference=reference if structured else None,
                    remittance=None if structured else f"loyer {reference}",
                )
            )  # fmt: skip
        elif kind < 18:
            rows.append(
                StatementEntry(day, 1000 + i % 5000, "EUR", Direction.CREDIT,
                               bank_reference=f"U{i}", remittance="don")
            )  # fmt: skip
        else:
            rows.append(
                StatementEntry(day, 250, "EUR", Direction.DEBIT, bank_reference=f"C{i}",
                               bank_code="ACMT/MDOP/CHRG")
            )  # fmt: skip
    total = sum(r.signed_minor for r in rows)
    st = Statement(
        FUND_IBAN, "EUR", "BENCH-2026", tuple(rows), "bench", 1,
        CAPITAL, date(2026, 1, 31), CAPITAL + total, date(2026, 6, 1),
    )  # fmt: skip
    return camt053([st], version=8), st


class Phases:
    """Wall time spent in the import's main steps (the functions are wrapped while it runs)."""

    WRAPPED: tuple[tuple[str, object, str], ...] = (
        ("read and check the file", importing, "parse_file"),
        ("loan repayments (book_payments)", matching, "book_payments"),
        ("other postings (book_entries)", matching, "book_entries"),
        ("store lines and history", matching.Matcher, "_store"),
    )

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.saved: list[tuple[object, str, Any]] = []

    def __enter__(self) -> Phases:
        self.saved = []
        for label, owner, name in self.WRAPPED:
            original = getattr(owner, name)
            self.saved.append((owner, name, original))
            setattr(owner, name, self._timed(label, original))
        return self

    def __exit__(self, *_: object) -> None:
        for owner, name, original in self.saved:
            setattr(owner, name, original)

    def _timed(self, label: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t0

        return timed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get(PG_ENV))
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--loans", type=int, default=500)
    parser.add_argument("--days", type=int, default=90, help="days the lines spread over")
    parser.add_argument("--queue", action="store_true", help="measure the treasurer's pages")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.postgres_url:
        raise SystemExit(f"give --postgres-url or set {PG_ENV} (a database named *bench*)")
    started = time.perf_counter()
    uow, loans = build_fund(args.postgres_url, args.loans)
    print(f"fund with {len(loans)} loans built in {time.perf_counter() - started:.0f} s")
    data, st = statement_file(loans, args.entries, args.days)
    t0 = time.perf_counter()
    parse_camt(data, max_bytes=len(data) + 1)
    parse_s = time.perf_counter() - t0
    options = ImportOptions(
        hash_key=HASH_KEY, fund_ibans=frozenset({FUND_IBAN}), max_bytes=len(data) + 1
    )
    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    with Phases() as phases:
        result = import_statements(uow, TREASURER, data, options)
    import_s = time.perf_counter() - t0
    load_end = os.getloadavg()[0]
    report = result.statements[0]
    with uow:
        bank = uow.accounts.get("1000").balance_minor
    assert bank == st.closing_minor, (bank, st.closing_minor)
    assert verify(UnitOfWork(uow.engine, readonly=True), SYSTEM).ok
    states = ", ".join(f"{n:,} {s}" for s, n in sorted(report.states.items()))
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {len(loans)} loans paid out.",
        "",
        *machine_lines(uow.engine),
        "",
        "| what | entries | file | read and check | import (all of it, one transaction) |",
        "|---|---:|---:|---:|---:|",
        f"| camt.053.001.08 | {report.entries:,} | {len(data) / 1e6:.1f} MB | {parse_s:.1f} s | "
        f"**{import_s:.1f} s** ({report.entries / import_s:,.0f} entries/s) |",
        "",
        f"Lines matched: {states}. Target: under 20 s: "
        f"**{'met' if import_s < 20 else 'NOT met'}**. Load average (1 min) at the start and "
        f"end of the import: {load_start:.2f} / {load_end:.2f} (the machine is shared).",
        "",
        "| step of the import | wall time |",
        "|---|---:|",
        *(f"| {label} | {sec:.1f} s |" for label, sec in phases.seconds.items()),
        f"| everything else (matching, look-ups, checks) | "
        f"{import_s - sum(phases.seconds.values()):.1f} s |",
    ]
    print("\n".join(lines))
    if args.out:
        write_section(args.out, "statements", "\n".join(lines))
    if args.queue:
        queue_lines = time_queue(uow.engine, report.id or 0, args.requests)
        print("\n".join(queue_lines))
        if args.out:
            write_section(
                args.out,
                "statements.queue",
                "\n".join(queue_lines),
                command="python -m bench.statements --queue",
            )


def time_queue(engine: Engine, statement_id: int, requests: int) -> list[str]:
    """The treasurer's pages over the imported statement, through the web application."""
    from bench.web import PASSWORD, signed_in, time_page
    from ledger.api.app import create_app
    from ledger.config import Settings
    from ledger.services import users
    from ledger.services.statements import matching_queue

    users.create_user(UnitOfWork(engine), SYSTEM, "bench.treasurer", PASSWORD, "treasurer")
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",  # unused: the app is handed the engine
        hash_key="bench-hash-key-" + "0" * 32,
        fund_iban=FUND_IBAN,
    )
    clock = Clock(datetime(2026, 6, 15, 12, tzinfo=UTC))
    app = create_app(settings, engine=engine, clock=clock)
    client = signed_in(app, "bench.treasurer")
    uow = UnitOfWork(engine, clock=clock)
    queue = matching_queue(uow, TREASURER, limit=25)
    in_march = matching_queue(uow, TREASURER, month="2026-03", limit=25)
    with engine.connect() as conn:
        march = conn.execute(
            text(
                "SELECT count(*) FROM statement_lines "
                "WHERE booking_date BETWEEN '2026-03-01' AND '2026-03-31'"
            )
        ).scalar_one()
        lines = conn.execute(
            text("SELECT count(*) FROM statement_lines WHERE statement_id = :s"),
            {"s": statement_id},
        ).scalar_one()
    last = (queue.total - 1) // 25 * 25
    last_lines = (lines - 1) // 50 * 50
    paths = [
        ("matching queue, first page", "/statements/queue"),
        ("matching queue, middle page", f"/statements/queue?offset={last // 2 // 25 * 25}"),
        ("matching queue, last page", f"/statements/queue?offset={last}"),
        ("matching queue, March only", "/statements/queue?month=2026-03"),
        ("a waiting line's page", f"/statements/lines/{queue.lines[0].line.id}"),
        ("statements", "/statements"),
        ("the statement, first page of lines", f"/statements/{statement_id}"),
        ("the statement, last page of lines", f"/statements/{statement_id}?offset={last_lines}"),
    ]
    rows = []
    for label, path in paths:
        p50, p95, size = time_page(client, path, requests)
        rows.append(f"| {label} | {p50:.0f} ms | **{p95:.0f} ms** | {size / 1000:.0f} KB |")
    worst = max(float(r.split("**")[1].split()[0]) for r in rows[:4])
    return [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on the fund above: {lines:,} lines "
        f"in the statement, {march:,} of them in March; {queue.total:,} waiting in the queue "
        f"({in_march.total:,} in March). Server time through the web application "
        f"(TestClient), {requests} requests per page.",
        "",
        *machine_lines(engine),
        "",
        "| page | p50 | p95 | size |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        f"Target: the matching queue under 300 ms p95: **{'met' if worst < 300 else 'NOT met'}**"
        f" (slowest queue page {worst:.0f} ms).",
    ]


if __name__ == "__main__":
    main()
