"""Rendering contracts and schedules: one contract, render and sign, and the monthly mailing.

    .venv/bin/python -m bench.documents [--runs N] [--schedules N] [--workers N]
        [--out docs/performance.md]

* one contract (24 installments, French, seven pages), rendered ``--runs`` times after a
  warm-up: median and 90th percentile of the wall time;
* the same with the fund's signature as ``contracts.sign_as_fund`` applies it: the fund's mark
  drawn into its block (``stamps.stamp_fund``), then the PAdES signature
  (``ledger.documents.signing``, a fresh self-signed 3072-bit RSA key loaded before the clock
  starts, as the service keeps it loaded);
* the beneficiary's schedule PDF as ``/b/{token}/schedule.pdf`` serves it: rendered for every
  request (as before) and then from the rendered PDFs kept by their content hash
  (``render.render_schedule_cached``), ``--runs`` times each;
* the monthly mailing: ``--schedules`` beneficiary schedules (languages fr/nl/en/de and names in
  several scripts in turn, each with its EPC QR code) rendered by
  ``ledger.documents.mailing.render_schedules`` on ``--workers`` processes (default: every
  core) and written to a temporary directory; the wall time runs from starting the pool to the
  last file written, so it includes the workers' start-up, and so does their CPU time.

Each figure has its CPU time beside its wall time: on a shared machine the wall time says how
busy the machine was as much as what the work costs.

The figures, the machine, the load on it and the date are written between this benchmark's
markers in ``--out``; the rest of that file belongs to other benchmarks and is left alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from bench.common import log, write_section
from ledger.documents.mailing import render_schedules
from ledger.documents.model import (
    ContractData,
    ContractInstallment,
    FundInfo,
    ScheduleData,
    ScheduleLine,
    legal_basis,
)
from ledger.documents.render import (
    RenderedCache,
    render_contract,
    render_schedule,
    render_schedule_cached,
)
from ledger.domain.loans import DepositForm
from ledger.domain.money import Money, money, split_evenly
from ledger.domain.references import ogm_reference
from ledger.domain.schedule import due_dates
from ledger.domain.statuses import LoanStatus

TARGET_CONTRACT_S = 1.0
TARGET_MAILING_S = 300.0
LANGUAGES = ("fr", "nl", "en", "de")
NAMES = (
    "Amina Haddad",
    "فاطمة الزهراء",
    "Анна Петровна Иванова",
    "ሰላም ተስፋይ",
    "Nguyễn Thị Ánh",
    "Blessing Okonkwo",
)

FUND = FundInfo(
    name="Fonds de garanties locatives",
    address_lines=("Rue de l'Exemple 1",),
    iban="BE71096123456769",
    creditor_name="Fonds de garanties locatives ASBL",
    phone="+32 2 000 00 00",
    email="fonds@example.org",
    city="Bruxelles",
    postcode="1000",
)


# -- sample documents (fictitious people) ----------------------------------------------------


def _installments(total: Money, first: date, count: int) -> list[tuple[int, date, Money]]:
    parts = split_evenly(total, count)
    return [
        (n, d, a) for n, (d, a) in enumerate(zip(due_dates(first, count), parts, strict=True), 1)
    ]


def sample_contract() -> ContractData:
    deposit = money("1700.00", "EUR")
    return ContractData(
        contract_id="C-L000001",
        version=1,
        loan_id="L000001",
        beneficiary_name="Amina Haddad",
        beneficiary_id="BK7Q2M9XR4TZP",
        language="fr",
        landlord_name="Immo Exemple SRL",
        property_address="Rue Fictive 10, 1000 Bruxelles",
        deposit=deposit,
        monthly_rent=money("850.00", "EUR"),
        jurisdiction="BE-BRU",
        legal_basis=legal_basis("BE-BRU", "fr"),
        deposit_form=DepositForm.BLOCKED_ACCOUNT,
        lease_start=date(2026, 1, 1),
        lease_end=date(2029, 12, 31),
        installments=tuple(
            ContractInstallment(n, d, a) for n, d, a in _installments(deposit, date(2026, 2, 5), 24)
        ),
        reference=ogm_reference(1),
        fund=FUND,
        issued_on=date(2026, 1, 10),
    )


def sample_schedule(i: int, as_of: date = date(2026, 11, 1)) -> ScheduleData:
    """Loan ``i``: 600 to 2,400 EUR over 12 to 24 months, a few installments paid, some late."""
    total = money(f"{600 + (i * 37) % 1800}.00", "EUR")
    count = 12 + i % 13
    zero = money("0", "EUR")
    rows = _installments(total, date(2026, 1 + i % 9, 1 + i % 28), count)
    paid_count = i % 7
    lines = []
    for n, due, amount in rows:
        paid = amount if n <= paid_count else zero
        lines.append(ScheduleLine(n, due, amount, paid, amount - paid))
    paid_total = sum((x.paid for x in lines), zero)
    late = sum((x.remaining for x in lines if x.due_date <= as_of), zero)
    upcoming = next((x for x in lines if x.remaining.amount > 0 and x.due_date > as_of), None)
    return ScheduleData(
        loan_id=f"L{i:06d}",
        beneficiary_name=NAMES[i % len(NAMES)],
        beneficiary_id="BK7Q2M9XR4TZP",
        language=LANGUAGES[i % len(LANGUAGES)],
        loan_amount=total,
        lines=tuple(lines),
        paid=paid_total,
        outstanding=total - paid_total,
        overdue=late,
        credit=zero,
        next_due_date=upcoming.due_date if upcoming else as_of,
        next_amount_due=late + (upcoming.remaining if upcoming else zero),
        reference=ogm_reference(i),
        fund=FUND,
        as_of=as_of,
        status=LoanStatus.ACTIVE,
    )


# -- measurements ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    runs: list[float]  # wall seconds
    cpu: list[float]  # CPU seconds of this process, same runs

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def p90(self) -> float:
        ordered = sorted(self.runs)
        return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def timed(work: Callable[[], object], runs: int) -> Timing:
    work()  # warm-up: templates, stylesheet, fonts
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return Timing(times, cpu)


@dataclass(frozen=True, slots=True)
class Served:
    rendered: Timing  # rendered for every request
    kept: Timing  # the same request again, its PDF kept by its content hash


def public_schedule(runs: int) -> Served:
    data = sample_schedule(1)
    rendered = timed(lambda: render_schedule(data), runs)
    cache = RenderedCache()
    kept = timed(lambda: render_schedule_cached(data, cache), runs)  # its warm-up renders it
    return Served(rendered, kept)


def signer() -> Callable[[bytes], bytes] | None:
    """Sign as ``sign_as_fund`` does (the fund's mark, then the PAdES signature) with a fresh
    self-signed key, or None while the signing module is not there."""
    try:
        from ledger.documents import signing, stamps
    except ImportError:
        return None
    password = "bench-only-password"  # a throwaway key made for this run
    key = signing.load_fund_key(signing.create_fund_key(FUND.name, password), password)
    signed_at = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)

    def sign(pdf: bytes) -> bytes:
        marked = stamps.stamp_fund(
            pdf, fund=key.subject, signed_at=signed_at, fingerprint=key.fingerprint
        )
        return signing.sign_pdf(marked, key, reason="Loan contract", location=FUND.city)

    return sign


@dataclass(frozen=True, slots=True)
class Mailing:
    count: int
    workers: int
    seconds: float
    total_bytes: int
    cpu_seconds: float  # CPU time of the workers (start-up included) and of this process
    single_seconds: float  # one schedule in one process, median, for comparison


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def mailing(count: int, workers: int) -> Mailing:
    single = timed(lambda: render_schedule(sample_schedule(5)), 5).median
    schedules = [sample_schedule(i) for i in range(1, count + 1)]
    total = 0
    with tempfile.TemporaryDirectory(prefix="fundledger-mailing-") as folder:
        start, start_cpu = time.perf_counter(), time.process_time()
        children = _children_cpu()  # counted once the pool's workers have ended
        for data, rendered in zip(
            schedules, render_schedules(schedules, workers=workers), strict=True
        ):
            Path(folder, f"schedule-{data.loan_id}.pdf").write_bytes(rendered.pdf)
            total += len(rendered.pdf)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - start_cpu + _children_cpu() - children
        assert len(list(Path(folder).glob("*.pdf"))) == count
    return Mailing(count, workers, seconds, total, cpu, single)


# -- the machine and the report --------------------------------------------------------------


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def machine(load: str) -> dict[str, str]:
    import fontTools  # type: ignore[import-untyped]
    import weasyprint
    from weasyprint.text.ffi import harfbuzz_subset

    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.M)
    os_name = platform.system()
    release = Path("/etc/os-release")
    if release.exists():
        m = re.search(r'^PRETTY_NAME="?([^"\n]+)', release.read_text(), re.M)
        os_name = m.group(1) if m else os_name
    return {
        "CPU": f"{models[0] if models else platform.processor()} ({os.cpu_count()} logical cores)",
        "RAM": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "?",
        "OS": f"{os_name}, kernel {platform.release()}",
        "Python": platform.python_version(),
        "WeasyPrint / fontTools": f"{weasyprint.__version__} / {fontTools.version}",
        "Font subsetting": "HarfBuzz-Subset"
        if harfbuzz_subset is not None
        else "fontTools (the system has no HarfBuzz-Subset library)",
        "Load average (1 min), start / end of run": f"{load} / {load_average()}",
    }


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "ledger", "contracts", "bench"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def met(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def section(
    when: datetime,
    info: dict[str, str],
    args: argparse.Namespace,
    render: Timing,
    signed: Timing | None,
    mail: Mailing,
    served: Served,
) -> str:
    rows = [
        f"| Render one contract (7 pages) | {render.median * 1000:,.0f} ms | "
        f"{render.p90 * 1000:,.0f} ms | {render.cpu_median * 1000:,.0f} ms | "
        "none (information) | n/a |",
    ]
    if signed is not None:
        rows.append(
            f"| Render and sign one contract | {signed.median * 1000:,.0f} ms | "
            f"{signed.p90 * 1000:,.0f} ms | {signed.cpu_median * 1000:,.0f} ms | "
            f"median under 1 s | {met(signed.median < TARGET_CONTRACT_S)} |"
        )
    else:
        rows.append(
            "| Render and sign one contract | not measured: `ledger.documents.signing` "
            "is not there yet | | | median under 1 s | n/a |"
        )
    rows.append(
        f"| The beneficiary's schedule PDF, rendered for each request | "
        f"{served.rendered.median * 1000:,.0f} ms | {served.rendered.p90 * 1000:,.0f} ms | "
        f"{served.rendered.cpu_median * 1000:,.0f} ms | none (information) | n/a |"
    )
    rows.append(
        f"| The same, asked again: served as kept by its content hash | "
        f"{served.kept.median * 1000:,.2f} ms | {served.kept.p90 * 1000:,.2f} ms | "
        f"{served.kept.cpu_median * 1000:,.2f} ms | none (information) | n/a |"
    )
    per_doc = mail.seconds / mail.count
    rows.append(
        f"| Monthly mailing: {mail.count:,} schedules on {mail.workers} processes | "
        f"{mail.seconds:,.1f} s in all ({per_doc * 1000:,.0f} ms a schedule) | | "
        f"{mail.cpu_seconds:,.1f} s in all | under 5 minutes | "
        f"{met(mail.seconds < TARGET_MAILING_S)} |"
    )
    idle = mail.cpu_seconds / mail.workers
    speedup = mail.single_seconds / per_doc if per_doc else 0.0
    signed_note = (
        f" and {signed.cpu_median * 1000:,.0f} ms to render and sign" if signed is not None else ""
    )
    machine_rows = "\n".join(f"| {k} | {v} |" for k, v in info.items())
    return f"""## Documents: contracts and schedules

Measured {when:%Y-%m-%d %H:%M} UTC, code at {commit()}.
Every figure below was written by the benchmark itself in that run.

| Machine | |
|---|---|
{machine_rows}

Reproduce:

```
.venv/bin/python -m bench.documents --runs {args.runs} --schedules {args.schedules} \\
    --workers {mail.workers} --out {args.out}
```

| What | Median (wall) | 90th percentile (wall) | CPU time | Target | Met |
|---|---|---|---|---|---|
{chr(10).join(rows)}

- One contract: French, 24 installments, seven A4 pages (the agreement, its schedule, the privacy
  notice, the notices of the assignment to the landlord and the bank), PDF/A-3b
  with its fonts subset and embedded; {args.runs} runs after a warm-up. Signing: as
  `sign_as_fund` does it, the fund's mark drawn into its block, then its PAdES signature with a
  3,072-bit RSA key (loaded once, as the service keeps it).
- The beneficiary's schedule PDF (`/b/{{token}}/schedule.pdf`): one schedule in French with its
  EPC QR code, rendered for each request as before, then as served now: the key (a SHA-256 of
  everything it prints and of the templates' version) and the PDF kept for it in memory; a
  payment, a new schedule version or the next day changes the key and it is rendered again.
  The request itself (the link's check and its audit row) comes on top of either.
- Mailing: {mail.count:,} schedules of 12 to 24 installments in French, Dutch, English and German
  in turn, names in Latin, Arabic, Cyrillic and Ethiopic scripts, each with its EPC QR code,
  written as files ({mail.total_bytes / mail.count / 1024:,.0f} KiB each on average). The time
  runs from starting the pool of {mail.workers} processes to the last file written; the CPU time
  is the workers' (their start-up included) and this process's. One schedule
  alone in one process takes {mail.single_seconds * 1000:,.0f} ms; the pool reached
  {speedup:.1f} times that rate.
- The machine is shared with other work: the load average above says how busy it was. The
  CPU time is what the rendering itself needed, whatever else ran: on {mail.workers} otherwise idle
  cores the mailing would take about {idle:,.0f} s, and a contract about
  {render.cpu_median * 1000:,.0f} ms to render{signed_note}.
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.documents", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--runs", type=int, default=20, help="contract renderings (default 20)")
    parser.add_argument("--schedules", type=int, default=1000, help="mailing size (default 1000)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: cores)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/performance.md"))
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    when = datetime.now(UTC)
    load = load_average()
    data = sample_contract()
    log(f"contract: {args.runs} renderings")
    render = timed(lambda: render_contract(data), args.runs)
    log(f"  median {render.median * 1000:.0f} ms")
    sign = signer()
    signed = None
    if sign is not None:
        log(f"contract, rendered and signed: {args.runs} runs")
        signed = timed(lambda: sign(render_contract(data).pdf), args.runs)
        log(f"  median {signed.median * 1000:.0f} ms")
    log(f"the beneficiary's schedule: {args.runs} requests rendered, {args.runs} kept")
    served = public_schedule(args.runs)
    log(f"  median {served.rendered.median * 1000:.0f} ms, then {served.kept.median * 1000:.2f} ms")
    log(f"mailing: {args.schedules} schedules on {args.workers} processes")
    mail = mailing(args.schedules, args.workers)
    log(f"  {mail.seconds:.1f} s")
    text = section(when, machine(load), args, render, signed, mail, served)
    if args.no_write:
        print(text)
    else:
        write_section(args.out, "documents", text)
        log(f"written to {args.out}")


if __name__ == "__main__":
    main()
