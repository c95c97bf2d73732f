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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from bench.common import log, machine_lines, write_section
from bench.loans import FixedClock, fresh_engine, load_portfolio
from ledger.api.app import create_app
from ledger.bootstrap import build
from ledger.config import Settings
from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.loans import DepositForm, Lease, LoanTerms
from ledger.domain.money import money
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.services import contracts, loans, users
from ledger.services.verify import VerifyReport, verify
from ledger.store.tables import beneficiaries, journal_entries, loan_payments
from ledger.store.tables import loans as loans_table
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


@dataclass(frozen=True, slots=True)
class Waiting:
    """What the bench fund has waiting for a second person, and the loans its pages show."""

    submitted: list[str]
    approved: list[str]
    write_offs: int
    contract_loan: str


def waiting_work(engine: Engine, settings: Settings, applications: int = 40) -> Waiting:
    """Work that waits in the queues, made through the services as staff make it: new
    applications for people without a loan yet (half submitted with a request for an
    exception), a quarter of them approved, one contract made, and write-offs proposed."""
    clock = FixedClock()
    policy = build(settings, engine=engine, clock=clock).policy
    case, admin = Actor("bench.case", Role.CASEWORKER), Actor("bench.admin", Role.ADMIN)
    treasurer = Actor("bench.treasurer", Role.TREASURER)
    today = clock().date()
    start = (today.replace(day=1) + timedelta(days=40)).replace(day=1)
    terms = LoanTerms(
        deposit=money("1700.00", "EUR"),
        monthly_rent=money("850.00", "EUR"),
        jurisdiction="BE-BRU",
        deposit_form=DepositForm.BLOCKED_ACCOUNT,
        lease_start=start,
        lease_end=start.replace(year=start.year + 3),
        first_due_date=(start + timedelta(days=32)).replace(day=1) - timedelta(days=1),
        installments=24,
        public_alternatives=PublicAlternatives.REFUSED,
    )
    lease = Lease("Immo Bench SRL", "Rue de la Loi 1, 1000 Bruxelles")
    people = [
        loans.register_beneficiary(
            UnitOfWork(engine, clock=clock), case, "EUR", _bench_person(i)
        ).id
        for i in range(applications)
    ]
    submitted, approved = [], []
    for i, bid in enumerate(people):
        loan = loans.open_application(
            UnitOfWork(engine, clock=clock), case, bid, terms, lease, policy
        )
        why = "the landlord accepts no other guarantee" if i % 2 else None
        loans.submit(UnitOfWork(engine, clock=clock), case, loan.id, policy, exception_request=why)
        submitted.append(loan.id)
    for loan_id in submitted[: applications // 4]:
        view = loans.get_loan(UnitOfWork(engine, clock=clock), admin, loan_id)
        if view.decision is not None and not view.decision.accepted:
            loans.override_eligibility(
                UnitOfWork(engine, clock=clock), admin, loan_id, "bench: accepted by the board"
            )
        loans.approve(UnitOfWork(engine, clock=clock), admin, loan_id, policy)
        approved.append(loan_id)
    docs = contracts.DocumentSettings.from_settings(settings)
    contracts.generate_contract(UnitOfWork(engine, clock=clock), case, docs, approved[0])
    with engine.connect() as conn:
        active = conn.execute(
            select(loans_table.c.id)
            .where(loans_table.c.status == "active")
            .order_by(loans_table.c.id)
            .limit(10)
        ).scalars()
        candidates = list(active)
    for loan_id in candidates:
        loans.propose_write_off(
            UnitOfWork(engine, clock=clock), treasurer, loan_id, "bench: no news for a year"
        )
    return Waiting(
        [x for x in submitted if x not in approved], approved, len(candidates), approved[0]
    )


def _bench_person(i: int) -> PersonalData:
    """A person applying: income and savings known for most, as a caseworker records them."""
    return PersonalData(
        full_name=f"Applicant {i:04d}",
        preferred_language=("fr", "nl", "ar", "ti")[i % 4],
        residence_status="B",
        monthly_net_income=money(1400 + 10 * i, "EUR") if i % 3 else None,
        household_size=1 + i % 4,
        own_savings=money(100, "EUR"),
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


def pages(engine: Engine, count: int, waiting: Waiting) -> list[tuple[str, str]]:
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
        # A quarter of the way down the list of that person's repayments: where the link of
        # the page before leads (the journal pages by entry number, newest first).
        deep_repayment = conn.execute(
            select(journal_entries.c.id)
            .where(journal_entries.c.author == author, journal_entries.c.kind == "repayment")
            .order_by(journal_entries.c.id.desc())
            .offset(entries // 4)
            .limit(1)
        ).scalar_one()
        last_day = conn.execute(select(func.max(journal_entries.c.booking_date))).scalar_one()
    month = last_day.replace(day=1)
    return [
        ("bench.case", "/"),
        ("bench.admin", "/"),
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
        ("bench.admin", "/approvals"),
        ("bench.treasurer", "/approvals"),
        ("bench.case", f"/applications/{waiting.submitted[-1]}"),
        ("bench.case", f"/applications/{waiting.submitted[-1]}/edit"),
        ("bench.case", f"/loans/{waiting.contract_loan}/contract"),
        ("bench.case", f"/loans/{waiting.approved[-1]}/contract"),
        ("bench.case", f"/loans/{busiest}/payments/new"),
        ("bench.admin", "/admin"),
        ("bench.admin", "/admin/fund"),
        ("bench.auditor", "/journal"),
        ("bench.auditor", f"/journal?before={entries // 2}"),
        ("bench.auditor", "/journal?before=26"),  # the last page: the 25 first entries
        ("bench.auditor", f"/journal?account=1000&from={month}&min=50"),
        ("bench.auditor", f"/journal?loan={busiest}"),
        ("bench.auditor", f"/journal?who={author}&kind=repayment&before={deep_repayment}"),
        ("bench.auditor", f"/journal/{entries // 2}"),
        ("bench.auditor", "/trial-balance"),
        ("bench.auditor", f"/trial-balance?as_of={month}"),
        ("bench.auditor", "/audit"),
        ("bench.auditor", "/audit?who=bench.case"),
    ]


def bench_settings() -> Settings:
    return Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_languages="en,fr,nl,de",
        documents_dir=Path(tempfile.mkdtemp(prefix="bench-web-")),
    )


def run(
    engine: Engine, count: int, requests: int, settings: Settings, waiting: Waiting
) -> list[tuple[str, str, float, float, int]]:
    app = create_app(settings, engine=engine, clock=FixedClock())
    clients = {name: signed_in(app, name) for name in STAFF}
    results = []
    for name, path in pages(engine, count, waiting):
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
        # The bulk load writes rows, not through the services: the arrears projection (which
        # the home page's late loans and the aging read) is filled as `fundledger init` does.
        loans.rebuild_arrears(UnitOfWork(engine, clock=FixedClock()), SYSTEM)
        if engine.dialect.name == "postgresql":
            # A running fund's tables have statistics (autovacuum); a bulk load has none yet.
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        staff_and_names(engine)
        settings = bench_settings()
        waiting = waiting_work(engine, settings)
        with engine.connect() as conn:
            payments = conn.execute(select(func.count()).select_from(loan_payments)).scalar_one()
        log(f"{label}: {payments} payments; timing pages")
        for name, path, p50, p95, size in run(engine, args.loans, args.requests, settings, waiting):
            role = STAFF[name].value
            table.append(f"| {label} | `{path}` ({role}) | {p50:.1f} | {p95:.1f} | {size:,} |")
        queued = (
            f"- {label}: {len(waiting.submitted)} applications waiting for approval (half "
            f"with a request for an exception), {len(waiting.approved)} approved with a "
            f"contract to make or sign, {waiting.write_offs} write-offs proposed"
        )
        checked.append(queued)
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
            "requests, in process (no network). Target: p95 under 100 ms for every page. "
            "The work waiting in the queues, made through the services before timing, is listed "
            "below the table.",
            "",
            *machine_lines(pg_engine),
            "",
            *table,
            "",
            "The books checked from the auditor's page, once per engine (not a page: it reads "
            "the whole journal, and the page says it takes a while):",
            "",
            *checked,
            "",
            "A form's POST is not timed here: the bench's loans share one loan account (bulk "
            "loaded), which the booking services refuse. What a cash payment's POST runs, "
            "`record_payment` whole, is timed in the loans bench below (a backdated payment on "
            "a loan with 500 payments).",
        ]
    )
    print(text)
    if args.out is not None:
        write_section(args.out, "web", text)


if __name__ == "__main__":
    main()
