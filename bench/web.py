"""Web application benchmark: server time of each page on a large fund.

    .venv/bin/python -m bench.web [--postgres-url URL] [--sqlite-dir DIR]
        [--loans 10000] [--most-payments 20] [--requests 40] [--out docs/performance.md]

The fund: N active loans of 24 installments with loan i paying i % (most_payments + 1) times
(10,000 loans and 100,000 payments by default; loaded as in bench/loans.py: real journal
entries for payouts and payments, bulk rows for loans and schedules), each beneficiary with a
name, and one user per role. Each page is asked ``--requests`` times through the app in process
(Starlette's TestClient: routing, the session check, the services, the database and the
template, no network), after three warm-up requests, signed in as the role that uses it. The
target (issue 13): p95 under 100 ms for every page, lists paged and searchable.

Figures go to their own section of docs/performance.md with the machine and the date. Database
names must contain "bench"; they are dropped and recreated.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from bench.common import log, machine_lines, write_section
from bench.loans import FixedClock, fresh_engine, load_portfolio
from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.roles import SYSTEM, Role
from ledger.services import users
from ledger.services.verify import VerifyReport, verify
from ledger.store.tables import beneficiaries, journal_entries, loan_payments
from ledger.store.uow import UnitOfWork

PASSWORD = "bench password 12345"
STAFF = {
    "bench.admin": Role.ADMIN,
    "bench.case": Role.CASEWORKER,
    "bench.treasurer": Role.TREASURER,
    "bench.auditor": Role.AUDITOR,
}
_PRESESSION = re.compile(r'name="presession" value="([^"]+)"')


def staff_and_names(engine: Engine) -> None:
    """One user per role, and a name for every beneficiary (the people pages search them)."""
    for name, role in STAFF.items():
        users.create_user(
            UnitOfWork(engine, clock=FixedClock()), SYSTEM, name, PASSWORD, role.value
        )
    with engine.begin() as conn:
        conn.execute(
            update(beneficiaries).values(
                full_name="Person " + func.substr(beneficiaries.c.id, 7),
                preferred_language="fr",
            )
        )


def signed_in(app: object, name: str) -> TestClient:
    client = TestClient(app, base_url="http://bench")  # type: ignore[arg-type]
    form = client.get("/sign-in")
    found = _PRESESSION.search(form.text)
    if found is None:
        raise RuntimeError("the sign-in page has no presession field")
    response = client.post(
        "/sign-in",
        data={"username": name, "password": PASSWORD, "presession": found.group(1), "next": "/"},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in as {name} failed: {response.status_code}")
    return client


def time_page(client: TestClient, path: str, requests: int) -> tuple[float, float, int]:
    """(p50, p95) in milliseconds and the page's size in bytes."""
    for _ in range(3):
        warm = client.get(path)
        if warm.status_code != 200:
            raise RuntimeError(f"{path} answered {warm.status_code}: {warm.text[:300]}")
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    times.sort()
    p95 = times[max(0, (95 * len(times) + 99) // 100 - 1)]  # nearest rank
    return statistics.median(times), p95, len(response.content)


def pages(engine: Engine, count: int) -> list[tuple[str, str]]:
    """(user, path) of each page measured: the first, a middle and the last of the lists."""
    with engine.connect() as conn:
        busiest = conn.execute(
            select(loan_payments.c.loan_id)
            .group_by(loan_payments.c.loan_id)
            .order_by(func.count().desc(), loan_payments.c.loan_id)
            .limit(1)
        ).scalar_one()
        person = conn.execute(
            select(beneficiaries.c.id).order_by(beneficiaries.c.id).offset(count // 2).limit(1)
        ).scalar_one()
        entries = conn.execute(select(func.count()).select_from(journal_entries)).scalar_one()
        author = conn.execute(
            select(journal_entries.c.author).order_by(journal_entries.c.id.desc()).limit(1)
        ).scalar_one()
        last_day = conn.execute(select(func.max(journal_entries.c.booking_date))).scalar_one()
    month = last_day.replace(day=1)
    return [
        ("bench.case", "/"),
        ("bench.treasurer", "/"),
        ("bench.case", "/loans"),
        ("bench.case", f"/loans?offset={count // 2}"),
        ("bench.case", "/loans?status=active&offset=" + str(max(count - 25, 0))),
        ("bench.case", f"/loans/{busiest}"),
        ("bench.treasurer", f"/loans/{busiest}"),
        ("bench.case", "/beneficiaries"),
        ("bench.case", "/beneficiaries?q=Person+0000049"),
        ("bench.case", f"/beneficiaries/{person}"),
        ("bench.case", "/approvals"),
        ("bench.admin", "/admin"),
        ("bench.auditor", "/journal"),
        ("bench.auditor", f"/journal?offset={entries // 2}"),
        ("bench.auditor", f"/journal?offset={max(entries - 25, 0)}"),
        ("bench.auditor", f"/journal?account=1000&from={month}&min=50"),
        ("bench.auditor", f"/journal?loan={busiest}"),
        ("bench.auditor", f"/journal?who={author}&kind=repayment&offset={entries // 4}"),
        ("bench.auditor", f"/journal/{entries // 2}"),
        ("bench.auditor", "/trial-balance"),
        ("bench.auditor", f"/trial-balance?as_of={month}"),
        ("bench.auditor", "/audit"),
        ("bench.auditor", "/audit?who=bench.case"),
    ]


def run(engine: Engine, count: int, requests: int) -> list[tuple[str, str, float, float, int]]:
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_languages="en,fr,nl,de",
        documents_dir=Path(tempfile.mkdtemp(prefix="bench-web-")),
    )
    app = create_app(settings, engine=engine, clock=FixedClock())
    clients = {name: signed_in(app, name) for name in STAFF}
    results = []
    for name, path in pages(engine, count):
        try:
            p50, p95, size = time_page(clients[name], path, requests)
        except RuntimeError as exc:
            log(f"  {path}: skipped ({exc})")
            continue
        log(f"  {name:16} {path:45} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {size} bytes")
        results.append((name, path, p50, p95, size))
    return results


def time_verify(engine: Engine) -> tuple[VerifyReport, float]:
    """One run of ``verify`` on the whole fund, in seconds."""
    start = time.perf_counter()
    report = verify(UnitOfWork(engine, readonly=True), SYSTEM)
    return report, time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--most-payments", type=int, default=20)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--sqlite-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    engines: list[tuple[str, Callable[[], Engine]]] = [
        ("SQLite", lambda: fresh_engine("sqlite", args.sqlite_dir, None, "bench_web"))
    ]
    if args.postgres_url:
        engines.append(
            (
                "PostgreSQL",
                lambda: fresh_engine("pg", args.sqlite_dir, args.postgres_url, "bench_web"),
            )
        )
    table = [
        "| engine | page (signed in as) | p50 ms | p95 ms | bytes |",
        "|---|---|---:|---:|---:|",
    ]
    pg_engine = None
    payments = 0
    checked: list[str] = []
    for label, make in engines:
        log(f"{label}: loading {args.loans} loans")
        engine = make()
        load_portfolio(engine, args.loans, args.most_payments)
        staff_and_names(engine)
        with engine.connect() as conn:
            payments = conn.execute(select(func.count()).select_from(loan_payments)).scalar_one()
        log(f"{label}: {payments} payments; timing pages")
        for name, path, p50, p95, size in run(engine, args.loans, args.requests):
            role = STAFF[name].value
            table.append(f"| {label} | `{path}` ({role}) | {p50:.1f} | {p95:.1f} | {size:,} |")
        report, seconds = time_verify(engine)
        checked.append(
            f"- {label}: `verify` (what POST /verification runs) read {report.entries:,} "
            f"entries and {report.legs:,} legs in {seconds:.1f} s "
            f"({'OK' if report.ok else 'FAILED'})"
        )
        if label == "PostgreSQL":
            pg_engine = engine
    text = "\n".join(
        [
            "## Web pages (`python -m bench.web`)",
            "",
            f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {args.loans:,} active loans, "
            f"{payments:,} payments, {args.requests} requests per page after 3 warm-up "
            "requests, in process (no network). Target: p95 under 100 ms for every page.",
            "",
            *machine_lines(pg_engine),
            "",
            *table,
            "",
            "The books checked from the auditor's page, once per engine (not a page: it reads "
            "the whole journal, and the page says it takes a while):",
            "",
            *checked,
        ]
    )
    print(text)
    if args.out is not None:
        write_section(args.out, "web", text)


if __name__ == "__main__":
    main()
