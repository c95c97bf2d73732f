"""Posting throughput through the service layer, beside the raw rate of the same database.

    .venv/bin/python -m bench.postings [--postgres-url URL] [--sqlite-dir DIR]
        [--single N] [--bulk-batches N] [--rounds N] [--out docs/performance.md]

For SQLite (always) and PostgreSQL (when a URL is given, or FUNDLEDGER_BENCH_POSTGRES_URL is
set) it creates fresh migrated databases with the default chart and a bank account funded with
capital, then measures entries per second, one entry per commit and 1,000 entries per commit:

* service: ``ledger.services.journal.post`` with two-leg drafts (donations Dr 1000 / Cr 4000,
  bank charges Dr 6100 / Cr 1000), each with an idempotency key, in a new unit of work per
  call, as the API does per request. Building the drafts is part of the timed work;
* raw: the same rows the service writes (legs, entry, chain head, cached balances,
  idempotency key, audit record) with plain SQL through the driver, on a connection of an
  engine made the same way (same pragmas, same durability), guard triggers in place. Its
  parameters are prepared before the clock starts, so this is what the database itself can do;
* raw without the guard triggers, and on SQLite both at ``synchronous=NORMAL``: for
  information only; the ledger runs with ``synchronous=FULL`` on purpose.

Each variant has its own database. Rounds run the variants in rotating order so that drift on
the machine affects them alike; a rate is all entries over all time of that variant.
Databases are dropped and recreated: the PostgreSQL database name must contain "bench".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shlex
import sqlite3
import statistics
import subprocess
import textwrap
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from sqlalchemy import Engine, create_engine, event, make_url, text

from bench.common import log, write_section
from ledger.domain.accounts import default_chart
from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import from_minor
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.domain.statuses import EntryKind
from ledger.services.journal import install_chart, post
from ledger.services.verify import verify
from ledger.store import migrate
from ledger.store.database import make_engine
from ledger.store.driver import COPY_FROM
from ledger.store.idempotency_repository import KEY_COLUMNS
from ledger.store.journal_repository import ENTRY_COLUMNS, LEG_COLUMNS
from ledger.store.uow import UnitOfWork

PG_ENV = "FUNDLEDGER_BENCH_POSTGRES_URL"
BULK = 1000
TREASURER = Actor("bench.treasurer", Role.TREASURER)
AUDITOR = Actor("bench.auditor", Role.AUDITOR)
CAPITAL_MINOR = 10**13  # enough that bank charges never meet the overdraft guard
SINGLE_TARGET_RATIO = 0.5
BULK_TARGET_PG = 10_000
GUARD_TRIGGERS = {
    "sqlite": ["DROP TRIGGER journal_legs_guard", "DROP TRIGGER journal_entries_seal"],
    "postgresql": [
        "DROP TRIGGER journal_legs_guard ON journal_legs",
        "DROP TRIGGER journal_entries_seal ON journal_entries",
        "DROP TRIGGER journal_entries_balanced ON journal_entries",
        # Since migration 0007 the commit-time balance check is queued per statement, by
        # journal_entries_balanced and journal_legs_balanced.
        "DROP TRIGGER journal_legs_balanced ON journal_legs",
    ],
}


# -- what gets posted ------------------------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    """The i-th posting of a run: three donations, then a bank charge."""

    kind: EntryKind
    debit: str
    credit: str
    minor: int
    description: str


def posting(i: int) -> Posting:
    if i % 4 == 3:
        return Posting(EntryKind.BANK_CHARGE, "6100", "1000", 150 + i % 50, f"Bank charge {i}")
    return Posting(EntryKind.DONATION, "1000", "4000", 2500 + i % 9000, f"Donation {i}")


def draft_of(i: int, key_prefix: str, day: date) -> EntryDraft:
    p = posting(i)
    amount = from_minor(p.minor, "EUR")
    return EntryDraft(
        booking_date=day,
        description=p.description,
        kind=p.kind,
        legs=(Leg.debit(p.debit, amount), Leg.credit(p.credit, amount)),
        idempotency_key=f"{key_prefix}-{i}",
    )


# -- databases -------------------------------------------------------------------------------


def prepare(engine: Engine, *, guards: bool = True) -> None:
    """Migrate, install the default chart and fund the bank, as a new fund would."""
    migrate.upgrade(engine)
    if not guards:
        with engine.begin() as conn:
            for statement in GUARD_TRIGGERS[engine.dialect.name]:
                conn.execute(text(statement))
    install_chart(UnitOfWork(engine), SYSTEM, default_chart("EUR"))
    capital = from_minor(CAPITAL_MINOR, "EUR")
    post(
        UnitOfWork(engine),
        TREASURER,
        [
            EntryDraft(
                booking_date=datetime.now(UTC).date(),
                description="Founding capital",
                kind=EntryKind.CAPITAL,
                legs=(Leg.debit("1000", capital), Leg.credit("3000", capital)),
                idempotency_key="bench-capital",
            )
        ],
    )


def sqlite_engine(directory: Path, name: str, *, synchronous: str | None = None) -> Engine:
    path = directory / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    if synchronous is not None:
        # Runs after make_engine's own connect hook, so it overrides synchronous=FULL.
        @event.listens_for(engine, "connect")
        def _relax(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute(f"PRAGMA synchronous = {synchronous}")

    return engine


def postgres_engine(base_url: str, name: str) -> Engine:
    url = make_url(base_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_engine(url.set(database=name).render_as_string(hide_password=False))


# -- posters ---------------------------------------------------------------------------------


class ServicePoster:
    """Posts through ``ledger.services.journal.post``: one call, one commit."""

    def __init__(self, engine: Engine, key_prefix: str) -> None:
        self.engine = engine
        self.key_prefix = key_prefix
        self.day = datetime.now(UTC).date()
        self.count = 0

    def run(self, entries: int, per_commit: int) -> tuple[float, float]:
        """Post ``entries``; wall-clock and CPU seconds of this process."""
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(entries // per_commit):
            drafts = [
                draft_of(self.count + j, self.key_prefix, self.day) for j in range(per_commit)
            ]
            posted = post(UnitOfWork(self.engine), TREASURER, drafts)
            if posted[-1].replayed:
                raise RuntimeError("benchmark keys must be new")
            self.count += per_commit
        return time.perf_counter() - started, time.process_time() - cpu


@dataclass
class RawBatch:
    legs: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    head: tuple[Any, ...] = ()
    balances: list[tuple[int, int]] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    audit: tuple[Any, ...] = ()


class RawPoster:
    """The service's rows, written with plain SQL on one connection of the engine."""

    def __init__(self, engine: Engine, key_prefix: str) -> None:
        self.pg = engine.dialect.name == "postgresql"
        self.conn = engine.raw_connection()
        self.key_prefix = key_prefix
        self.day = datetime.now(UTC).date()
        self.count = 0
        cur = self.conn.cursor()
        cur.execute("SELECT code, id FROM accounts")
        self.account_ids = {code: int(aid) for code, aid in cur.fetchall()}
        cur.execute("SELECT last_entry_id, last_hash FROM chain_head WHERE id = 1")
        head = cur.fetchone()
        assert head is not None
        self.next_id, self.last_hash = int(head[0]) + 1, str(head[1])
        cur.close()
        self.conn.rollback()
        self.sql = {name: self._sql(statement) for name, statement in RAW_SQL.items()}

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.pg else statement

    def _stamp(self, value: date | datetime) -> Any:
        """The value as SQLAlchemy stores it: native on PostgreSQL, ISO text on SQLite."""
        if self.pg:
            return value
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value.isoformat()

    def _batch(self, per_commit: int) -> RawBatch:
        batch = RawBatch()
        now = datetime.now(UTC)
        deltas: dict[int, int] = defaultdict(int)
        ids, kinds = [], set()
        for _ in range(per_commit):
            i, entry_id = self.count, self.next_id
            p = posting(i)
            key = f"{self.key_prefix}-{i}"
            amount = f"{p.minor // 100}.{p.minor % 100:02d}"
            debit, credit = self.account_ids[p.debit], self.account_ids[p.credit]
            batch.legs += [(entry_id, debit, p.minor, "EUR"), (entry_id, credit, -p.minor, "EUR")]
            deltas[debit] += p.minor
            deltas[credit] -= p.minor
            digest = hashlib.sha256(f"{self.last_hash}\n{entry_id}{key}".encode()).hexdigest()
            batch.entries.append(
                (
                    entry_id,
                    self._stamp(self.day),
                    p.description,
                    p.kind.value,
                    TREASURER.name,
                    self._stamp(now),
                    None,
                    None,
                    None,
                    key,
                    self.last_hash,
                    digest,
                )
            )
            request = {
                "booking_date": self.day.isoformat(),
                "description": p.description,
                "kind": p.kind.value,
                "legs": [[p.debit, amount, "EUR"], [p.credit, f"-{amount}", "EUR"]],
                "loan_id": None,
                "statement_line_id": None,
                "reverses_id": None,
            }
            batch.keys.append(
                (
                    key,
                    "post_entry",
                    json.dumps(request, sort_keys=True),
                    entry_id,
                    TREASURER.name,
                    self._stamp(now),
                )
            )
            ids.append(entry_id)
            kinds.add(p.kind.value)
            self.last_hash = digest
            self.count += 1
            self.next_id += 1
        batch.head = (self.next_id - 1, self.last_hash)
        batch.balances = [(delta, aid) for aid, delta in sorted(deltas.items()) if delta]
        target = f"entry:{ids[0]}" if len(ids) == 1 else "entries"
        details = json.dumps({"entries": ids, "kinds": sorted(kinds)}, sort_keys=True)
        batch.audit = (self._stamp(now), TREASURER.name, "post_entry", target, details)
        return batch

    def run(self, entries: int, per_commit: int) -> tuple[float, float]:
        batches = [self._batch(per_commit) for _ in range(entries // per_commit)]
        if self.pg:
            return self._run_pg(batches)
        sql = self.sql
        cur = self.conn.cursor()
        started, cpu = time.perf_counter(), time.process_time()
        for b in batches:
            cur.execute("BEGIN IMMEDIATE")  # as the engine begins every write
            cur.executemany(sql["legs"], b.legs)
            cur.executemany(sql["entries"], b.entries)
            cur.execute(sql["head"], b.head)
            cur.executemany(sql["balance"], b.balances)
            cur.executemany(sql["keys"], b.keys)
            cur.execute(sql["audit"], b.audit)
            cur.execute("COMMIT")
        elapsed = time.perf_counter() - started, time.process_time() - cpu
        cur.close()
        return elapsed

    def _run_pg(self, batches: list[RawBatch]) -> tuple[float, float]:
        """PostgreSQL: each table's rows as the service sends them: one statement of arrays
        (``INSERT ... SELECT FROM unnest``, parameters in binary), or from ``COPY_FROM``
        entries a binary ``COPY``. Arrays and rows are built before the clock starts."""
        if len(batches[0].entries) >= COPY_FROM:
            return self._copy_pg(batches)
        columns = [
            (_columns(b.legs), _columns(b.entries), _columns(b.balances), _columns(b.keys))
            for b in batches
        ]
        cur = self.conn.cursor()
        started, cpu = time.perf_counter(), time.process_time()
        for b, (legs, entries_, balances, keys) in zip(batches, columns, strict=True):
            cur.execute(PG_RAW_SQL["legs"], legs)
            cur.execute(PG_RAW_SQL["entries"], entries_)
            cur.execute(self.sql["head"], b.head)
            cur.execute(PG_RAW_SQL["balance"], balances)
            cur.execute(PG_RAW_SQL["keys"], keys)
            cur.execute(self.sql["audit"], b.audit)
            self.conn.commit()
        elapsed = time.perf_counter() - started, time.process_time() - cpu
        cur.close()
        return elapsed

    def _copy_pg(self, batches: list[RawBatch]) -> tuple[float, float]:
        cur = self.conn.cursor()
        started, cpu = time.perf_counter(), time.process_time()
        for b in batches:
            _copy(cur, "journal_legs", LEG_COLUMNS, b.legs)
            cur.execute(PG_RAW_SQL["balance"], _columns(b.balances))
            _copy(cur, "journal_entries", ENTRY_COLUMNS, b.entries)
            cur.execute(self.sql["head"], b.head)
            _copy(cur, "idempotency_keys", KEY_COLUMNS, b.keys)
            cur.execute(self.sql["audit"], b.audit)
            self.conn.commit()
        elapsed = time.perf_counter() - started, time.process_time() - cpu
        cur.close()
        return elapsed

    def close(self) -> None:
        self.conn.close()


def _copy(
    cur: Any, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Rows into ``table`` by binary ``COPY``, typed as the service types them."""
    names = ", ".join(name for name, _ in columns)
    with cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([type_ for _, type_ in columns])
        for row in rows:
            copy.write_row(row)


def _columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows turned into one list per column, the arrays of an ``unnest``."""
    return [list(column) for column in zip(*rows, strict=True)]


PG_RAW_SQL = {
    "legs": "INSERT INTO journal_legs (entry_id, account_id, amount_minor, currency) "
    "SELECT * FROM unnest(%b::bigint[], %b::integer[], %b::bigint[], %b::varchar[])",
    "entries": "INSERT INTO journal_entries (id, booking_date, description, kind, author, "
    "created_at, loan_id, statement_line_id, reverses_id, idempotency_key, prev_hash, hash) "
    "SELECT * FROM unnest(%b::bigint[], %b::date[], %b::varchar[], %b::varchar[], "
    "%b::varchar[], %b::timestamptz[], %b::varchar[], %b::varchar[], %b::bigint[], "
    "%b::varchar[], %b::varchar[], %b::varchar[])",
    "balance": "UPDATE accounts SET balance_minor = accounts.balance_minor + d.delta "
    "FROM unnest(%b::bigint[], %b::integer[]) AS d (delta, aid) WHERE accounts.id = d.aid",
    "keys": "INSERT INTO idempotency_keys (key, command, request, entry_id, actor, created_at) "
    "SELECT * FROM unnest(%b::varchar[], %b::varchar[], %b::text[], %b::bigint[], "
    "%b::varchar[], %b::timestamptz[])",
}

RAW_SQL = {
    "legs": "INSERT INTO journal_legs (entry_id, account_id, amount_minor, currency) "
    "VALUES (?, ?, ?, ?)",
    "entries": "INSERT INTO journal_entries (id, booking_date, description, kind, author, "
    "created_at, loan_id, statement_line_id, reverses_id, idempotency_key, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "head": "UPDATE chain_head SET last_entry_id = ?, last_hash = ? WHERE id = 1",
    "balance": "UPDATE accounts SET balance_minor = balance_minor + ? WHERE id = ?",
    "keys": "INSERT INTO idempotency_keys (key, command, request, entry_id, actor, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    "audit": "INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)",
}


# -- measuring -------------------------------------------------------------------------------

Poster = ServicePoster | RawPoster


@dataclass
class Variant:
    name: str
    engine: Engine
    make: Callable[[Engine, str], Poster]
    poster: Poster | None = None


@dataclass
class Figure:
    database: str
    mode: str
    variant: str
    entries: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    round_rates: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU time of this process per entry: the client's own work, whatever the disk does."""
        return self.cpu_seconds / self.entries * 1e6 if self.entries else 0.0


def measure(
    database: str,
    mode: str,
    variants: Sequence[Variant],
    *,
    commits: int,
    per_commit: int,
    rounds: int,
) -> dict[str, Figure]:
    """Time ``commits`` commits of ``per_commit`` entries for each variant, split in rounds."""
    figures = {v.name: Figure(database, mode, v.name) for v in variants}
    rounds = min(rounds, commits)
    warm_up = per_commit if per_commit > 1 else 20
    for v in variants:
        if v.poster is None:
            v.poster = v.make(v.engine, f"bench-{v.name}")
        v.poster.run(warm_up, per_commit)
    for r in range(rounds):
        entries = (commits // rounds + (r < commits % rounds)) * per_commit
        for v in [*variants[r % len(variants) :], *variants[: r % len(variants)]]:
            assert v.poster is not None
            seconds, cpu = v.poster.run(entries, per_commit)
            fig = figures[v.name]
            fig.entries += entries
            fig.seconds += seconds
            fig.cpu_seconds += cpu
            fig.round_rates.append(entries / seconds)
        log(
            f"  {database} {mode} round {r + 1}/{rounds}: "
            + ", ".join(f"{v.name} {figures[v.name].round_rates[-1]:,.0f}/s" for v in variants)
        )
    return figures


# -- the machine -----------------------------------------------------------------------------


def load_average() -> str:
    """The 1-minute load average: other work on the machine shares its CPUs and disk."""
    return Path("/proc/loadavg").read_text().split()[0]


def machine(pg_engine: Engine | None, sqlite_dir: Path, load: str) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"^MemTotal:\s*(\d+)", meminfo, re.M).group(1))  # type: ignore[union-attr]
    os_name = platform.system()
    release = Path("/etc/os-release")
    if release.exists():
        m = re.search(r'^PRETTY_NAME="?([^"\n]+)', release.read_text(), re.M)
        os_name = m.group(1) if m else os_name
    info = {
        "CPU": f"{models[0] if models else platform.processor()} ({os.cpu_count()} logical cores)",
        "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "OS": f"{os_name}, kernel {platform.release()}",
        "Python": platform.python_version(),
        "SQLAlchemy / psycopg": f"{sqlalchemy.__version__} / {psycopg.__version__}",
        "SQLite": f"{sqlite3.sqlite_version}, file on {filesystem(sqlite_dir)}",
        "Load average (1 min), start / end of run": f"{load} / {load_average()}",
    }
    if pg_engine is not None:
        with pg_engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
            rows = conn.execute(
                text(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('fsync', 'synchronous_commit', 'wal_sync_method')"
                )
            )
            settings = {str(name): str(setting) for name, setting in rows}
        info["PostgreSQL"] = (
            f"{version}, local TCP; fsync={settings['fsync']}, "
            f"synchronous_commit={settings['synchronous_commit']}, "
            f"wal_sync_method={settings['wal_sync_method']}"
        )
    return info


def filesystem(path: Path) -> str:
    """The mount holding ``path`` (from /proc/mounts): a tmpfs would make fsync free."""
    target, best = str(path.resolve()), ("?", "?", "")
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount, fstype, *_ = line.split()
        if (target + "/").startswith(mount.rstrip("/") + "/") and len(mount) >= len(best[2]):
            best = (device, fstype, mount)
    return f"{best[1]} ({best[0]})"


def sqlite_pragmas(engine: Engine) -> str:
    with engine.connect() as conn:
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
        temp = conn.exec_driver_sql("PRAGMA temp_store").scalar_one()
    return (
        f"journal_mode={journal}, synchronous={['OFF', 'NORMAL', 'FULL', 'EXTRA'][sync]}, "
        f"temp_store={['DEFAULT', 'FILE', 'MEMORY'][temp]}"
    )


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "ledger", "bench", "migrations"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev} (with uncommitted changes)" if dirty else rev


# -- report ----------------------------------------------------------------------------------


@dataclass
class Row:
    database: str
    mode: str
    service: Figure
    raw: Figure
    raw_notrig: Figure
    target: str
    met: bool | None

    @property
    def ratio(self) -> float:
        return self.service.rate / self.raw.rate if self.raw.rate else 0.0

    @property
    def round_ratios(self) -> list[float]:
        """Service over raw in each round: both ran back to back, under the same load."""
        pairs = zip(self.service.round_rates, self.raw.round_rates, strict=True)
        return sorted(s / r for s, r in pairs)


def rows_for(database: str, figures: dict[str, dict[str, Figure]]) -> list[Row]:
    out = []
    for mode, figs in figures.items():
        service, raw = figs["service"], figs["raw"]
        if mode == "single":
            target = f"service ≥ {SINGLE_TARGET_RATIO:.0%} of raw"
            met: bool | None = service.rate >= SINGLE_TARGET_RATIO * raw.rate
        elif database == "PostgreSQL":
            target = f"service ≥ {BULK_TARGET_PG:,} entries/s"
            met = service.rate >= BULK_TARGET_PG
        else:
            target, met = "none (information)", None
        out.append(Row(database, mode, service, raw, figs["raw_notrig"], target, met))
    return out


MODE_NAMES = {"single": "1 entry per commit", "bulk": f"{BULK:,} entries per commit"}


def table(rows: Sequence[Row]) -> str:
    head = [
        "Database",
        "Mode",
        "Service (entries/s)",
        "Raw SQL, guards on (entries/s)",
        "Service / raw",
        "Per round: min / median / max",
        "Client CPU per entry, service / raw (µs)",
        "Target",
        "Met",
        "Raw SQL, no guard triggers (info)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        met = "n/a" if r.met is None else ("**yes**" if r.met else "**NO**")
        ratios = r.round_ratios
        per_round = f"{ratios[0]:.2f} / {statistics.median(ratios):.2f} / {ratios[-1]:.2f}"
        lines.append(
            f"| {r.database} | {MODE_NAMES[r.mode]} | {r.service.rate:,.0f} | {r.raw.rate:,.0f} "
            f"| {r.ratio:.2f} | {per_round} | {r.service.cpu_us:,.0f} / {r.raw.cpu_us:,.0f} "
            f"| {r.target} | {met} | {r.raw_notrig.rate:,.0f} |"
        )
    return "\n".join(lines)


def spread(rows: Sequence[Row]) -> str:
    lines = []
    for r in rows:
        for fig in (r.service, r.raw, r.raw_notrig):
            rates = ", ".join(f"{x:,.0f}" for x in fig.round_rates)
            lines.append(
                bullet(
                    f"{r.database}, {MODE_NAMES[r.mode]}, {fig.variant}: {fig.entries:,} entries "
                    f"in {fig.seconds:.2f} s; per round {rates}"
                )
            )
    return "\n".join(lines)


def para(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), 100, break_on_hyphens=False)


def bullet(text: str) -> str:
    return textwrap.fill(
        " ".join(text.split()),
        100,
        initial_indent="- ",
        subsequent_indent="  ",
        break_on_hyphens=False,
    )


def render(
    *,
    command: str,
    started: datetime,
    elapsed: float,
    info: dict[str, str],
    rows: Sequence[Row],
    extra: Sequence[str],
    notes: Sequence[str],
    args: argparse.Namespace,
) -> str:
    when = started.strftime("%Y-%m-%d %H:%M UTC")
    intro = f"""Measured {when} in one run of {elapsed:.0f} s, code at {git_revision()}. Every
        figure in this section was written by the benchmark in that run."""
    reproduce = """Reproduce (the PostgreSQL database name must contain "bench": the benchmark
        drops and recreates it and its `_raw` and `_raw_notrig` siblings; SQLite files go to
        `--sqlite-dir`):"""
    targets = f"""Targets (from the issue): one entry per commit at least
        {SINGLE_TARGET_RATIO:.0%} of the raw rate of the same database; {BULK:,} entries per
        commit at least {BULK_TARGET_PG:,} entries per second on PostgreSQL."""
    measured = [
        f"""**Service**: `ledger.services.journal.post` called with two-leg drafts (donations
        Dr 1000 / Cr 4000, and every fourth a bank charge Dr 6100 / Cr 1000), each carrying an
        idempotency key, in a new unit of work per call as the API does per request:
        {args.single:,} calls of one entry, then {args.bulk_batches} calls of {BULK:,} entries.
        Building the drafts (domain validation) is inside the timed loop. Every promise is kept
        while timed: permission check, balanced legs checked in the domain, chain head and
        accounts locked in id order (`SELECT ... FOR UPDATE` on PostgreSQL), currency, closed
        and control account and overdraft checks, idempotency lookup and record, hash chain,
        audit record, one commit per call. The entries are dated today; the closed-month
        look-up is made only for entries dated in an earlier month (a month can be closed only
        once it has ended), and the database's seal trigger checks every entry. The posting
        path's statements go straight to the DBAPI cursor of the unit of work's connection
        (`ledger/store/driver.py`); from {COPY_FROM} entries in one call, PostgreSQL gets the
        rows by binary `COPY`.""",
        f"""**Raw SQL**: the same rows (legs, entry, chain head update, one balance update per
        account touched, idempotency key, audit record) written with plain SQL through the
        driver, on a connection of an engine made by `make_engine` (same pragmas, same
        durability), with the database's guard triggers in place, since they are part of the
        schema. Several rows of one table go as the service sends them: in one `executemany`
        on SQLite; on PostgreSQL in one `INSERT ... SELECT FROM unnest` statement, or, from
        {COPY_FROM} entries in a batch, by binary `COPY`.
        The parameters are built before the clock starts: this is what the database itself can
        do, and service / raw is the share of it the service delivers. The raw loop reads
        nothing; the service must read the chain head, the idempotency keys and the accounts
        before it writes.""",
        """**Client CPU per entry**: CPU time of the benchmark process, per entry. Against the
        wall-clock rate it shows how much of an entry's time is the client's own work and how
        much is spent waiting for the database and the disk; a faster disk makes the raw
        rate rise more than the service rate.""",
        """**No guard triggers** (information): the raw rows on a copy of the schema without the
        insert guards (`journal_legs_guard`, `journal_entries_seal`, and on PostgreSQL the
        commit-time balance check queued by `journal_entries_balanced` and
        `journal_legs_balanced`), to show what those guards cost.""",
        f"""Each variant writes to its own fresh database. After a warm-up, {args.rounds} rounds
        run the variants back to back in rotating order, so that other load on the machine
        falls on all of them alike; a rate is all entries of a variant over its summed time,
        and the per-round column shows how steady the ratio was.""",
        """Durability: SQLite runs in WAL mode with `synchronous=FULL` on purpose (a committed
        payment survives a power cut); PostgreSQL with the settings shown above. SQLite figures
        at `synchronous=NORMAL` are for information only; that is not a supported setting.""",
    ]
    machine_lines = "\n".join(f"| {k} | {v} |" for k, v in info.items())
    paragraphs = "\n\n".join(para(x) for x in extra)
    return f"""### Last run

{para(intro)}

| Machine | |
|---|---|
{machine_lines}

{para(reproduce)}

```
{command}
```

#### Results

{table(rows)}

{para(targets)}

{paragraphs}

#### What was measured

{chr(10).join(bullet(x) for x in measured)}

{chr(10).join(bullet(x) for x in notes)}

Per-round rates (entries/s):

{spread(rows)}
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.postings", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--sqlite-dir",
        type=Path,
        default=Path("var/bench"),
        help="directory for the SQLite files (default: var/bench; use a real disk, not tmpfs)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(PG_ENV),
        help=f"PostgreSQL URL whose database the benchmark may drop and recreate "
        f"(default: ${PG_ENV}; without one PostgreSQL is skipped)",
    )
    parser.add_argument("--single", type=int, default=2000, help="entries posted one per commit")
    parser.add_argument(
        "--bulk-batches", type=int, default=10, help=f"commits of {BULK:,} entries each"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=10,
        help="rounds each figure is split into, the variants taking turns (default: 10)",
    )
    parser.add_argument(
        "--out",
        default="docs/performance.md",
        help="Markdown file whose postings section is written or replaced ('' for none)",
    )
    args = parser.parse_args(argv)
    if min(args.single, args.bulk_batches, args.rounds) < 1:
        parser.error("--single, --bulk-batches and --rounds must be at least 1")
    return args


def command_line(args: argparse.Namespace) -> str:
    parts = [
        ".venv/bin/python -m bench.postings",
        f"--sqlite-dir {shlex.quote(str(args.sqlite_dir))}",
    ]
    if args.postgres_url:
        parts.append(
            "--postgres-url "
            + shlex.quote(make_url(args.postgres_url).render_as_string(hide_password=True))
        )
    parts += [
        f"--single {args.single}",
        f"--bulk-batches {args.bulk_batches}",
        f"--rounds {args.rounds}",
    ]
    if args.out:
        parts.append(f"--out {shlex.quote(args.out)}")
    return " \\\n    ".join(parts)


def run_database(
    database: str, variants: list[Variant], info_variants: list[Variant], args: argparse.Namespace
) -> tuple[dict[str, dict[str, Figure]], dict[str, Figure]]:
    log(f"{database}: preparing databases")
    for v in [*variants, *info_variants]:
        prepare(v.engine, guards=v.name != "raw_notrig")
    figures = {
        "single": measure(
            database, "single", variants, commits=args.single, per_commit=1, rounds=args.rounds
        ),
        "bulk": measure(
            database,
            "bulk",
            variants,
            commits=args.bulk_batches,
            per_commit=BULK,
            rounds=args.rounds,
        ),
    }
    info: dict[str, Figure] = {}
    if info_variants:
        info = measure(
            database,
            "single",
            info_variants,
            commits=max(1, args.single // 2),  # information only: half as many keeps runs short
            per_commit=1,
            rounds=args.rounds,
        )
    for v in [*variants, *info_variants]:
        if isinstance(v.poster, RawPoster):
            v.poster.close()
    return figures, info


def check_service(engine: Engine, database: str) -> str:
    """Prove that what the service posted during the benchmark is sound."""
    report = verify(UnitOfWork(engine, readonly=True), AUDITOR)
    if not report.ok:
        raise SystemExit(f"{database}: verify failed after the benchmark: {report.summary()}")
    return f"{database}: `fundledger verify` on the service database afterwards: {report.summary()}"


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    load = load_average()
    args.sqlite_dir.mkdir(parents=True, exist_ok=True)

    def service(engine: Engine, prefix: str) -> Poster:
        return ServicePoster(engine, prefix)

    def raw(engine: Engine, prefix: str) -> Poster:
        return RawPoster(engine, prefix)

    d = args.sqlite_dir
    sqlite_variants = [
        Variant("service", sqlite_engine(d, "service"), service),
        Variant("raw", sqlite_engine(d, "raw"), raw),
        Variant("raw_notrig", sqlite_engine(d, "raw_notrig"), raw),
    ]
    normal = [
        Variant("service", sqlite_engine(d, "service_normal", synchronous="NORMAL"), service),
        Variant("raw", sqlite_engine(d, "raw_normal", synchronous="NORMAL"), raw),
    ]
    all_rows: list[Row] = []
    extra: list[str] = []
    notes: list[str] = []

    figures, info = run_database("SQLite", sqlite_variants, normal, args)
    all_rows += rows_for("SQLite", figures)
    pragmas = sqlite_pragmas(sqlite_variants[0].engine)
    extra.append(
        f"SQLite as configured by the ledger ({pragmas}). For information only, one entry "
        f"per commit ({info['service'].entries:,} entries) at "
        f"`{sqlite_pragmas(normal[0].engine)}`, which the ledger does not use: service "
        f"{info['service'].rate:,.0f} entries/s, raw {info['raw'].rate:,.0f} entries/s "
        f"(ratio {info['service'].rate / info['raw'].rate:.2f})."
    )
    notes.append(check_service(sqlite_variants[0].engine, "SQLite"))

    pg_first: Engine | None = None
    if args.postgres_url:
        base = make_url(args.postgres_url).database or ""
        if "bench" not in base:
            raise SystemExit(
                f"refusing to drop PostgreSQL database {base!r}: its name must contain 'bench'"
            )
        pg_variants = [
            Variant("service", postgres_engine(args.postgres_url, base), service),
            Variant("raw", postgres_engine(args.postgres_url, f"{base}_raw"), raw),
            Variant(
                "raw_notrig",
                postgres_engine(args.postgres_url, f"{base}_raw_notrig"),
                raw,
            ),
        ]
        pg_first = pg_variants[0].engine
        figures, _ = run_database("PostgreSQL", pg_variants, [], args)
        all_rows += rows_for("PostgreSQL", figures)
        bulk = figures["bulk"]
        if bulk["raw"].rate < BULK_TARGET_PG:
            extra.append(
                f"""On PostgreSQL the database alone, fed the same rows as plain SQL (one
                statement per table) with its guard triggers in place, wrote
                {bulk["raw"].rate:,.0f} entries/s at {BULK:,} entries per commit in this run
                ({bulk["raw_notrig"].rate:,.0f} without the guard triggers), below the
                {BULK_TARGET_PG:,} entries/s target: with this schema on this machine, the
                service cannot reach the target either."""
            )
        notes.append(check_service(pg_first, "PostgreSQL"))
    else:
        message = (
            f"PostgreSQL skipped: no --postgres-url and ${PG_ENV} is not set, so the "
            "PostgreSQL targets were not measured in this run."
        )
        log(message)
        extra.append(f"**{message}**")

    print()
    print(table(all_rows))
    for line in extra:
        print(para(line))
    elapsed = time.perf_counter() - clock
    if args.out:
        section = render(
            command=command_line(args),
            started=started,
            elapsed=elapsed,
            info=machine(pg_first, args.sqlite_dir, load),
            rows=all_rows,
            extra=extra,
            notes=notes,
            args=args,
        )
        write_section(Path(args.out), "postings", section)
        log(f"wrote {args.out}")
    for v in [*sqlite_variants, *normal]:
        v.engine.dispose()
    if pg_first is not None:
        for v in pg_variants:
            v.engine.dispose()


if __name__ == "__main__":
    main()
