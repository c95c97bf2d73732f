"""Loan benchmarks: schedules, portfolio arrears as of a date, and a busy loan's backdated payment.

    .venv/bin/python -m bench.loans [--postgres-url URL] [--sqlite-dir DIR]
        [--loans 100000] [--schedules 100000] [--payments 500] [--out docs/performance.md]

1. Generate schedules of 24 installments with ``build_schedule`` (pure domain).
2. Arrears, aging buckets and PAR30 as of a date for N active loans of 24 installments each
   (2.4 million installments for 100,000 loans) by the full replay of every loan's payments
   (``ledger.services.loans.replay_portfolio``; the services read the arrears projection
   instead, measured by ``bench.arrears``), on SQLite and PostgreSQL. The loans are loaded
   for the benchmark with bulk SQL (beneficiary, loan, schedule and installment rows) over
   real journal entries posted through the service layer for their payouts and payments,
   because opening 100,000 loans one by one through the use cases would take hours and is
   not what is measured.
3. One loan with 500 payments recorded through ``record_payment``, then backdated payments
   recorded through the same use case, each re-allocating all 500 in date order and
   settling the ledger: median time of one such call, and of loading the loan (``get_loan``).

Figures go to their own section of docs/performance.md with the machine and the date. Database
names must contain "bench"; they are dropped and recreated.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import Engine, insert, make_url, select

from bench.common import log, machine_lines, write_section
from ledger.config import Settings
from ledger.demo.documents import demo_settings
from ledger.demo.loans import sign_contract_on_screen
from ledger.domain.accounts import AccountRole, AccountSpec, AccountType, default_chart
from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.loans import Lease, LoanTerms
from ledger.domain.money import from_minor, money
from ledger.domain.references import ogm_reference
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.domain.schedule import build_schedule
from ledger.domain.statuses import EntryKind
from ledger.services import loans
from ledger.services.contracts import DocumentSettings
from ledger.services.journal import install_chart, open_account, post
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.tables import beneficiaries, installments, loan_payments, schedule_versions
from ledger.store.tables import loans as loans_table
from ledger.store.uow import UnitOfWork

PG_ENV = "FUNDLEDGER_BENCH_POSTGRES_URL"
TREASURER = Actor("bench.treasurer", Role.TREASURER)
CASEWORKER = Actor("bench.caseworker", Role.CASEWORKER)
CASEWORKER2 = Actor("bench.caseworker2", Role.CASEWORKER)
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
AS_OF = date(2026, 11, 15)
BATCH = 1000


class FixedClock:
    def __call__(self) -> datetime:
        return NOW


# -- 1. schedules ----------------------------------------------------------------------------


def bench_schedules(count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        build_schedule(
            from_minor(50_000 + (i % 2500) * 100, "EUR"),
            first_due=date(2026, 1 + i % 12, 28),
            count=24,
        )
    return time.perf_counter() - start


# -- 2. portfolio ----------------------------------------------------------------------------


def fresh_engine(kind: str, sqlite_dir: Path, pg_url: str | None, name: str) -> Engine:
    if kind == "sqlite":
        path = sqlite_dir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{path}")
    else:
        assert pg_url is not None
        base = make_url(pg_url)
        admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    migrate.upgrade(engine)
    uow = UnitOfWork(engine, clock=FixedClock())
    install_chart(uow, SYSTEM, default_chart("EUR"))
    capital = from_minor(10**12, "EUR")
    post(
        uow,
        TREASURER,
        [
            EntryDraft(
                date(2024, 1, 2),
                "Capital",
                EntryKind.CAPITAL,
                (Leg.debit("1000", capital), Leg.credit("3000", capital)),
            )
        ],
    )
    return engine


def load_portfolio(engine: Engine, count: int, most_payments: int = 4) -> None:
    """``count`` active loans of 24 installments, each with 0 to ``most_payments`` payments
    (loan i has i % (most_payments + 1)), on days 10 to 27 of the months after its payout."""
    uow = UnitOfWork(engine, clock=FixedClock())
    open_account(
        uow,
        SYSTEM,
        AccountSpec(
            "1200-BENCH",
            "Bench loans",
            AccountType.ASSET,
            "EUR",
            AccountRole.LOAN,
            parent_code="1200",
        ),
    )
    entry_ids: list[int] = []
    payments: list[tuple[int, date, int]] = []  # loan index, day, minor
    for start in range(0, count, BATCH):
        drafts = []
        for i in range(start, min(count, start + BATCH)):
            principal = from_minor(60_000 + (i % 2000) * 100, "EUR")
            drafts.append(
                EntryDraft(
                    date(2025, 1 + i % 12, 5),
                    f"Payout {i}",
                    EntryKind.DISBURSEMENT,
                    (Leg.debit("1200-BENCH", principal), Leg.credit("1000", principal)),
                )
            )
        entry_ids += [p.entry.id for p in post(uow, TREASURER, drafts, command="bench")]
    for i in range(count):
        for k in range(i % (most_payments + 1)):
            payments.append((i, date(2025, 2 + (i + k) % 11, 10 + k % 18), 2_500 + 100 * k))
    pay_ids: list[int] = []
    for start in range(0, len(payments), BATCH):
        drafts = []
        for i, day, minor in payments[start : start + BATCH]:
            amount = from_minor(minor, "EUR")
            drafts.append(
                EntryDraft(
                    day,
                    f"Repayment {i}",
                    EntryKind.REPAYMENT,
                    (Leg.debit("1000", amount), Leg.credit("1200-BENCH", amount)),
                )
            )
        pay_ids += [p.entry.id for p in post(uow, TREASURER, drafts, command="bench")]
    with engine.begin() as conn:
        conn.execute(
            insert(beneficiaries),
            [
                {
                    "id": f"BBENCH{i:09d}",
                    "currency": "EUR",
                    "created_at": NOW,
                    "created_by": "bench",
                }
                for i in range(count)
            ],
        )
        conn.execute(
            insert(loans_table),
            [
                {
                    "id": f"L{i + 1:06d}",
                    "number": i + 1,
                    "beneficiary_id": f"BBENCH{i:09d}",
                    "status": "active",
                    "currency": "EUR",
                    "principal_minor": 60_000 + (i % 2000) * 100,
                    "monthly_rent_minor": 50_000,
                    "jurisdiction": "BE-BRU",
                    "deposit_form": "blocked_account",
                    "lease_start": date(2025, 1, 1),
                    "lease_end": date(2028, 12, 31),
                    "installments": 24,
                    "monthly_amount_minor": None,
                    "first_due_date": date(2025, 1 + i % 12, 28),
                    "due_day": None,
                    "whole_units": False,
                    "public_alternatives": "refused",
                    "reference_kind": "ogm",
                    "reference": ogm_reference(i + 1).value,
                    "account_id": None,
                    "created_at": NOW,
                    "created_by": "bench",
                    "disbursement_entry_id": entry_ids[i],
                    "written_off": False,
                    "version": 1,
                }
                for i in range(count)
            ],
        )
        conn.execute(
            insert(schedule_versions),
            [
                {
                    "loan_id": f"L{i + 1:06d}",
                    "version": 1,
                    "created_at": NOW - timedelta(days=700),
                    "created_by": "bench",
                    "reason": "application",
                }
                for i in range(count)
            ],
        )
        sid = dict(conn.execute(select(schedule_versions.c.loan_id, schedule_versions.c.id)).all())
        for start in range(0, count, 5000):
            rows = []
            for i in range(start, min(count, start + 5000)):
                schedule = build_schedule(
                    from_minor(60_000 + (i % 2000) * 100, "EUR"),
                    first_due=date(2025, 1 + i % 12, 28),
                    count=24,
                )
                rows += [
                    {
                        "schedule_id": sid[f"L{i + 1:06d}"],
                        "number": inst.number,
                        "due_date": inst.due_date,
                        "amount_minor": inst.minor,
                    }
                    for inst in schedule.installments
                ]
            conn.execute(insert(installments), rows)
        conn.execute(
            insert(loan_payments),
            [
                {
                    "entry_id": pay_ids[n],
                    "loan_id": f"L{i + 1:06d}",
                    "received_on": day,
                    "amount_minor": minor,
                    "kind": "repayment",
                }
                for n, (i, day, minor) in enumerate(payments)
            ],
        )


def bench_portfolio(engine: Engine) -> tuple[float, loans.Portfolio]:
    """The full replay of every loan (the reference; ``bench.arrears`` measures the arrears
    projection the services read, which the bulk load here does not fill)."""
    uow = UnitOfWork(engine, clock=FixedClock(), readonly=True)
    start = time.perf_counter()
    with uow:
        result = loans.replay_portfolio(uow, AS_OF, "EUR")
    return time.perf_counter() - start, result


# -- 3. one busy loan ------------------------------------------------------------------------


def busy_loan(
    engine: Engine, documents: Path, payments: int, backdated: int
) -> tuple[list[float], list[float]]:
    # The loan is opened, signed and paid out in January 2025 (a payout is never dated before
    # its contract's signature), then repaid up to NOW.
    uow = UnitOfWork(engine, clock=lambda: datetime(2025, 1, 10, 9, tzinfo=UTC))
    settings = demo_settings(Settings(documents_dir=documents))
    person = loans.register_beneficiary(
        uow,
        CASEWORKER,
        "EUR",
        PersonalData(
            "Bench Person",
            "fr",
            monthly_net_income=money("1500.00", "EUR"),
            own_savings=money("0.00", "EUR"),
            residence_status="permit",
        ),
    )
    terms = LoanTerms(
        deposit=money("1700.00", "EUR"),
        monthly_rent=money("850.00", "EUR"),
        jurisdiction="BE-BRU",
        deposit_form="blocked_account",  # type: ignore[arg-type]
        lease_start=date(2025, 1, 1),
        lease_end=date(2028, 12, 31),
        first_due_date=date(2025, 2, 28),
        installments=24,
        public_alternatives=PublicAlternatives.REFUSED,
    )
    policy = loans.LoanPolicy()
    lease = Lease("Bench Landlord SRL", "Rue du Banc 1, 1000 Bruxelles")
    loan = loans.open_application(uow, CASEWORKER, person.id, terms, lease, policy)
    loans.submit(uow, CASEWORKER, loan.id, policy)
    loans.approve(uow, CASEWORKER2, loan.id, policy)
    sign_contract_on_screen(uow, DocumentSettings.from_settings(settings), loan)
    loans.disburse(uow, TREASURER, loan.id, on=date(2025, 1, 10), idempotency_key="bench-payout")
    uow = UnitOfWork(engine, clock=FixedClock())
    first = date(2025, 2, 1)
    for n in range(payments):
        day = first + timedelta(days=n * 640 // payments)
        loans.record_payment(
            uow, TREASURER, loan.id, money("3.00", "EUR"), on=day, idempotency_key=f"bench-pay-{n}"
        )
    timings, loads = [], []
    for n in range(backdated):
        start = time.perf_counter()
        loans.record_payment(
            uow,
            TREASURER,
            loan.id,
            money("1.00", "EUR"),
            on=date(2025, 3, 1) + timedelta(days=n),
            idempotency_key=f"bench-backdated-{n}",
        )
        timings.append(time.perf_counter() - start)
        start = time.perf_counter()
        view = loans.get_loan(uow, TREASURER, loan.id)
        loads.append(time.perf_counter() - start)
        assert len(view.payments) == payments + n + 1
    return timings, loads


# -- report ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=os.environ.get(PG_ENV))
    parser.add_argument("--sqlite-dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=500)
    parser.add_argument("--backdated", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("docs/performance.md"))
    args = parser.parse_args(argv)
    if args.postgres_url and "bench" not in (make_url(args.postgres_url).database or ""):
        parser.error("the PostgreSQL database name must contain 'bench' (it is dropped)")

    log(f"schedules: {args.schedules} x 24 installments")
    schedule_s = bench_schedules(args.schedules)
    kinds = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    engines: dict[str, Engine] = {}
    rows = []
    for kind in kinds:
        log(f"{kind}: loading {args.loans} loans")
        engine = fresh_engine(kind, args.sqlite_dir, args.postgres_url, "fl_bench_portfolio")
        engines[kind] = engine
        t0 = time.perf_counter()
        load_portfolio(engine, args.loans)
        load_s = time.perf_counter() - t0
        seconds, result = bench_portfolio(engine)
        log(f"{kind}: portfolio {seconds:.1f} s ({result.loans} loans)")
        busy = fresh_engine(kind, args.sqlite_dir, args.postgres_url, "fl_bench_busyloan")
        documents = args.sqlite_dir / f"fl_bench_documents_{kind}"
        shutil.rmtree(documents, ignore_errors=True)
        timings, loads = busy_loan(busy, documents, args.payments, args.backdated)
        busy.dispose()
        rows.append(
            (kind, load_s, seconds, result, statistics.median(timings), statistics.median(loads))
        )
    lines = [
        "## Loans (`python -m bench.loans`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with "
        f"`python -m bench.loans --loans {args.loans} --schedules {args.schedules} "
        f"--payments {args.payments}`{' --postgres-url ...' if args.postgres_url else ''}.",
        "",
        *machine_lines(engines.get("postgresql")),
        "",
        f"- {args.schedules:,} schedules of 24 installments generated in {schedule_s:.1f} s "
        f"({args.schedules / schedule_s:,.0f} per second).",
        "",
        "| engine | loans (installments) | loading (not measured work) | arrears, aging and PAR30 "
        "as of a date | target 30 s | backdated payment on a loan with "
        f"{args.payments} payments (median) | target 50 ms | loading that loan (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, load_s, seconds, result, backdated_s, load_loan_s in rows:
        lines.append(
            f"| {kind} | {result.loans:,} ({result.loans * 24:,}) | {load_s:.0f} s | "
            f"{seconds:.1f} s | {'met' if seconds < 30 else 'NOT met'} | "
            f"{backdated_s * 1000:.0f} ms | {'met' if backdated_s < 0.05 else 'NOT met'} | "
            f"{load_loan_s * 1000:.0f} ms |"
        )
    lines += [
        "",
        "The backdated payment is the whole `record_payment` use case: lock, idempotency check, "
        "replay of every payment over the schedule in date order, the posting, the settling "
        "entry when the split between loan and credit changes, the status, one commit.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(args.out, "loans", text)
    for engine in engines.values():
        engine.dispose()


if __name__ == "__main__":
    main()
