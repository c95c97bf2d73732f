"""Arrears benchmark: aging, PAR30 and the arrears list from the arrears projection.

    .venv/bin/python -m bench.arrears [--postgres-url URL] [--sqlite-dir DIR]
        [--loans 100000] [--runs 20] [--requests 20] [--payments 500] [--out docs/performance.md]

1. The portfolio of ``bench.loans`` (N active loans of 24 installments, 0 to 4 payments each,
   loaded with bulk SQL over real journal entries), its loans spread over 20 caseworkers;
   then the projection built for every loan (``fundledger loan arrears-rebuild``: what
   ``fundledger init`` does after the migration), timed.
2. As of today, of the last month end and of a month end eight months back: the aging and
   PAR30 (``loans.portfolio``) and the first page of the arrears list (50 loans, the longest
   late first; also one bucket, and one caseworker), each run ``--runs`` times: p50 and p95.
   The full replay (``loans.replay_portfolio``) is run once as of today, and its answer must
   equal the projection's.
3. The arrears page itself (``/arrears``, ledger/web/routes/arrears.py), asked ``--requests``
   times by a signed-in treasurer through Starlette's TestClient, in process (routing, the
   session, the page's services, the template): as of today, of the last month end, of one
   bucket, of one caseworker, of a month end eight months back, and a page deep in the list;
   p50 and p95, beside the same services called directly (the rest is the web's share).
4. What the projection adds to a payment's booking: on a loan with ``--payments`` payments
   booked through ``record_payment``, the median of a payment booked today and of a
   backdated one (the whole use case, refresh included), and of the refresh alone.

Figures go to their own section of docs/performance.md with the machine and the date.
``--postgres-url`` names the server (its database is only connected to); the bench's own
databases, ``fl_bench_arrears`` and ``fl_bench_arrears_busy``, are dropped and recreated, as
are the SQLite files of those names in ``--sqlite-dir``.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs

from sqlalchemy import Engine, String, cast, func, literal, select, update

from bench.common import log, machine_lines, write_section
from bench.loans import (
    AS_OF,
    PG_ENV,
    TREASURER,
    FixedClock,
    busy_loan,
    fresh_engine,
    load_portfolio,
)
from bench.web import PASSWORD, signed_in, time_page
from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.money import money
from ledger.domain.roles import SYSTEM
from ledger.services import loans, users
from ledger.store.tables import loan_arrears, loan_payments
from ledger.store.tables import loans as loans_table
from ledger.store.uow import UnitOfWork

DAYS = {
    "today": AS_OF,
    "last month end": date(2026, 10, 31),
    "month end 8 months back": date(2026, 2, 28),
}
CASEWORKERS = 20
TARGET_S = 1.0


def quantiles(times: Sequence[float]) -> tuple[float, float]:
    """(p50, p95) in seconds: the median, and the smallest time at least 95 % of runs took."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[math.ceil(0.95 * len(ordered)) - 1]


def timed(runs: int, call: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return quantiles(times)


def spread_caseworkers(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(loans_table).values(
                created_by=literal("bench.caseworker", String)
                + cast(loans_table.c.number % CASEWORKERS, String)
            )
        )


def measure_reads(engine: Engine, runs: int) -> list[tuple[str, str, float, float, int]]:
    """(what, day, p50, p95, loans) for each read and day."""
    uow = UnitOfWork(engine, clock=FixedClock(), readonly=True)
    out = []
    for name, day in DAYS.items():
        result = loans.portfolio(uow, TREASURER, day, "EUR")
        p50, p95 = timed(runs, lambda: loans.portfolio(uow, TREASURER, day, "EUR"))  # noqa: B023
        out.append(("aging and PAR30", name, p50, p95, result.loans))
        for label, bucket, caseworker in (
            ("arrears list, first page of 50", None, None),
            ("arrears list, bucket 181-360", "181-360", None),
            ("arrears list, one caseworker", None, "bench.caseworker7"),
        ):

            def first_page(
                day: date = day, bucket: str | None = bucket, caseworker: str | None = caseworker
            ) -> loans.ArrearsList:
                return loans.arrears_list(
                    uow, TREASURER, day, "EUR", bucket=bucket, caseworker=caseworker, limit=50
                )

            total = first_page().total
            p50, p95 = timed(runs, first_page)
            out.append((label, name, p50, p95, total))
        log(f"{name}: {out[-4][2] * 1000:.0f} ms aging, {out[-3][2] * 1000:.0f} ms list (p50)")
    return out


#: The pages measured: (what, query), the treasurer's choices on the fund's today (AS_OF).
PAGES = (
    ("as of today", ""),
    ("as of the last month end", "?as_of=2026-10-31"),
    ("one bucket (181-360), today", "?bucket=181-360"),
    ("one caseworker, today", "?caseworker=bench.caseworker7"),
    ("as of a month end eight months back", "?as_of=2026-02-28"),
    ("page 1,000 of the list, today", "?offset=49950"),
)


def page_services(engine: Engine, query: str) -> None:
    """What ``/arrears`` + ``query`` asks of the services, called directly."""
    asked = {k: v[0] for k, v in parse_qs(query.lstrip("?")).items()}
    day = date.fromisoformat(asked.get("as_of", AS_OF.isoformat()))
    uow = UnitOfWork(engine, clock=FixedClock(), readonly=True)
    loans.arrears_currencies(uow, TREASURER)
    loans.arrears_overview(
        uow,
        TREASURER,
        day,
        "EUR",
        bucket=asked.get("bucket"),
        caseworker=asked.get("caseworker"),
        limit=50,
        offset=int(asked.get("offset", "0")),
    )


Pages = list[tuple[str, str, float, float, float]]


def measure_pages(engine: Engine, requests: int) -> tuple[Pages, float, int]:
    """(what, path, page p50, page p95, services p50) in ms: each page asked ``requests``
    times by a signed-in treasurer after three warm-up requests, then its services as many
    times; and the seconds and bytes of one download of the CSV of every loan late today."""
    users.create_user(
        UnitOfWork(engine, clock=FixedClock()), SYSTEM, TREASURER.name, PASSWORD, "treasurer"
    )
    settings = Settings(_env_file=None, database_url="sqlite://", fund_languages="en,fr,nl,de")
    client = signed_in(create_app(settings, engine=engine, clock=FixedClock()), TREASURER.name)
    out = []
    for what, query in PAGES:
        path = "/arrears" + query
        p50, p95, _size = time_page(client, path, requests)
        services, _ = timed(requests, partial(page_services, engine, query))
        log(f"  {path:34} p50 {p50:5.0f} ms  p95 {p95:5.0f} ms  services {services * 1000:5.0f} ms")
        out.append((what, path, p50, p95, services * 1000))
    start = time.perf_counter()
    csv = client.get("/arrears.csv")
    csv_s = time.perf_counter() - start
    if csv.status_code != 200:
        raise RuntimeError(f"/arrears.csv answered {csv.status_code}")
    log(f"  /arrears.csv: {len(csv.content):,} bytes in {csv_s:.1f} s")
    client.close()
    return out, csv_s, len(csv.content)


def replay_once(engine: Engine) -> float:
    uow = UnitOfWork(engine, clock=FixedClock(), readonly=True)
    start = time.perf_counter()
    with uow:
        replayed = loans.replay_portfolio(uow, AS_OF, "EUR")
    seconds = time.perf_counter() - start
    projected = loans.portfolio(uow, TREASURER, AS_OF, "EUR")
    assert projected == replayed, (projected, replayed)
    return seconds


def booking_cost(
    engine: Engine, documents: Path, payments: int, repeats: int
) -> tuple[float, float, float, int]:
    """(median booking today, median backdated booking, median refresh alone, steps) on a loan
    with ``payments`` payments, all through the use cases."""
    busy_loan(engine, documents, payments, 1)
    uow = UnitOfWork(engine, clock=FixedClock())
    with uow:
        loan_id = uow.connection.execute(select(loan_payments.c.loan_id).limit(1)).scalar_one()
    today, back, alone = [], [], []
    for n in range(repeats):
        start = time.perf_counter()
        loans.record_payment(
            uow, TREASURER, loan_id, money("1.00", "EUR"), on=AS_OF, idempotency_key=f"t{n}"
        )
        today.append(time.perf_counter() - start)
        start = time.perf_counter()
        loans.record_payment(
            uow,
            TREASURER,
            loan_id,
            money("1.00", "EUR"),
            on=date(2025, 4, 1) + timedelta(days=n),
            idempotency_key=f"b{n}",
        )
        back.append(time.perf_counter() - start)
        with uow:
            start = time.perf_counter()
            uow.arrears.refresh([loan_id])
            alone.append(time.perf_counter() - start)
    with uow:
        steps = uow.connection.execute(
            select(func.count()).where(loan_arrears.c.loan_id == loan_id)
        ).scalar_one()
    return (
        statistics.median(today),
        statistics.median(back),
        statistics.median(alone),
        int(steps),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=os.environ.get(PG_ENV))
    parser.add_argument("--sqlite-dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20, help="requests per page measured")
    parser.add_argument("--payments", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("docs/performance.md"))
    args = parser.parse_args(argv)

    kinds = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    engines: dict[str, Engine] = {}
    results = []
    pages_of: dict[str, tuple[Pages, float, float, int]] = {}
    for kind in kinds:
        log(f"{kind}: loading {args.loans} loans")
        engine = fresh_engine(kind, args.sqlite_dir, args.postgres_url, "fl_bench_arrears")
        engines[kind] = engine
        t0 = time.perf_counter()
        load_portfolio(engine, args.loans)
        spread_caseworkers(engine)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = loans.rebuild_arrears(UnitOfWork(engine, clock=FixedClock()), SYSTEM)
        rebuild_s = time.perf_counter() - t0
        log(f"{kind}: loaded in {load_s:.0f} s; projection of {rows} steps in {rebuild_s:.1f} s")
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        reads = measure_reads(engine, args.runs)
        page_load = os.getloadavg()[0]
        log(f"{kind}: the arrears page (load average {page_load:.2f})")
        web, csv_s, csv_bytes = measure_pages(engine, args.requests)
        replay_s = replay_once(engine)
        log(f"{kind}: the full replay took {replay_s:.1f} s and agrees")
        busy = fresh_engine(kind, args.sqlite_dir, args.postgres_url, "fl_bench_arrears_busy")
        documents = args.sqlite_dir / f"fl_bench_arrears_documents_{kind}"
        shutil.rmtree(documents, ignore_errors=True)
        booking = booking_cost(busy, documents, args.payments, args.repeats)
        busy.dispose()
        results.append((kind, load_s, rows, rebuild_s, reads, replay_s, booking))
        pages_of[kind] = (web, page_load, csv_s, csv_bytes)

    lines = [
        "## Arrears (`python -m bench.arrears`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with "
        f"`python -m bench.arrears --loans {args.loans} --runs {args.runs} "
        f"--payments {args.payments}`{' --postgres-url ...' if args.postgres_url else ''}: "
        f"the portfolio of `bench.loans` ({args.loans:,} active loans of 24 installments, 0 to "
        f"4 payments each, {CASEWORKERS} caseworkers); today is {AS_OF}.",
        "",
        *machine_lines(engines.get("postgresql")),
        "",
        "| engine | loading (not measured work) | projection built (`arrears-rebuild`) | "
        "full replay as of today (before: the only way) |",
        "|---|---|---|---|",
    ]
    for kind, load_s, rows, rebuild_s, _reads, replay_s, _booking in results:
        lines.append(
            f"| {kind} | {load_s:.0f} s | {rows:,} steps in {rebuild_s:.0f} s | "
            f"{replay_s:.1f} s, the same answer |"
        )
    lines += [
        "",
        f"Each read run {args.runs} times (seconds: p50 / p95; target p95 under {TARGET_S:.0f} s):",
        "",
        "| engine | read | as of | loans | p50 | p95 | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, _load_s, _rows, _rebuild_s, reads, _replay_s, _booking in results:
        for what, day, p50, p95, count in reads:
            lines.append(
                f"| {kind} | {what} | {day} ({DAYS[day]}) | {count:,} | {p50 * 1000:.0f} ms | "
                f"{p95 * 1000:.0f} ms | {'met' if p95 < TARGET_S else 'NOT met'} |"
            )
    lines += [
        "",
        f"The arrears page, `/arrears` (ledger/web/routes/arrears.py), asked {args.requests} "
        "times by a signed-in treasurer (Starlette's TestClient, in process: routing, the "
        "session, the services, the template; after three warm-up requests), beside the same "
        f"services called directly (milliseconds; target p95 under {TARGET_S:.0f} s):",
        "",
        "| engine | page | query | load average | p50 | p95 | services alone, p50 | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, (web, page_load, _csv_s, _csv_bytes) in pages_of.items():
        for what, path, p50, p95, services in web:
            lines.append(
                f"| {kind} | {what} | `{path}` | {page_load:.1f} | {p50:.0f} ms | "
                f"**{p95:.0f} ms** | {services:.0f} ms | "
                f"{'met' if p95 < TARGET_S * 1000 else 'NOT met'} |"
            )
    lines += [
        "",
        "The services of the page: `loans.arrears_currencies` and `loans.arrears_overview` "
        "(one aggregate by bucket and caseworker, then the page's 50 loans replayed for what is "
        "overdue). The CSV of every loan late today (`/arrears.csv`, one request; every loan "
        "replayed, 500 at a time, and the whole file made before it is sent): "
        + "; ".join(
            f"{kind} {csv_s:.0f} s for {csv_bytes / 1e6:.1f} MB"
            for kind, (_w, _l, csv_s, csv_bytes) in pages_of.items()
        )
        + ".",
    ]
    lines += [
        "",
        f"What the projection adds to a payment's booking, on a loan with {args.payments} "
        f"payments (median of {args.repeats}):",
        "",
        "| engine | steps of that loan | `record_payment` dated today | backdated | "
        "the projection's refresh alone |",
        "|---|---|---|---|---|",
    ]
    for kind, *_rest, (today_s, back_s, alone_s, steps) in results:
        lines.append(
            f"| {kind} | {steps} | {today_s * 1000:.0f} ms | {back_s * 1000:.0f} ms | "
            f"{alone_s * 1000:.1f} ms |"
        )
    lines += [
        "",
        "The refresh reads the loan's schedule versions, payments, refunds and reversals, "
        "recomputes its steps and writes only those that changed (a payment today ends one "
        "step and starts another); a bank statement's import refreshes its loans 1,000 at a "
        "time, in the same transaction.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(args.out, "arrears", text)
    for engine in engines.values():
        engine.dispose()


if __name__ == "__main__":
    main()
