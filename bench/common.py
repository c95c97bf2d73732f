"""What every benchmark shares: progress lines, the machine it ran on, and its own section of
docs/performance.md (between markers it owns, rewritten each run, never edited by hand)."""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    """The 1-minute load average: the machine is shared, so every figure says how busy it was."""
    return Path("/proc/loadavg").read_text().split()[0]


def machine_lines(postgres: Engine | None = None) -> list[str]:
    """Markdown bullets: CPU, RAM, OS and Python, load average now, PostgreSQL version."""
    cpu = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.M)
    lines = [
        f"- CPU: {cpu[0] if cpu else platform.processor()} ({os.cpu_count()} logical cores)",
        f"- RAM: {int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "- RAM: unknown",
        f"- OS: {platform.platform()}; Python {platform.python_version()}",
        f"- Load average (1 min) at the end: {load_average()}",
    ]
    if postgres is not None:
        with postgres.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar_one()
        lines.append(f"- PostgreSQL {version} (local TCP)")
    return lines


def markers(name: str, command: str | None = None) -> tuple[str, str]:
    """The start and end markers of benchmark ``name``'s section (written by ``command``,
    default ``python -m bench.<name>``)."""
    command = command or f"python -m bench.{name}"
    return (
        f"<!-- bench.{name}:start (written by `{command}`; never edit by hand) -->",
        f"<!-- bench.{name}:end -->",
    )


def write_section(path: Path, name: str, text: str, command: str | None = None) -> None:
    """Replace benchmark ``name``'s section of ``path`` with ``text`` (markers added), or
    append it when the file has none yet."""
    start, end = markers(name, command)
    body = f"{start}\n{text.strip()}\n{end}"
    old = path.read_text() if path.exists() else "# Performance\n"
    if start in old and end in old:
        before, rest = old.split(start, 1)
        new = before + body + rest.split(end, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + body + "\n"
    path.write_text(new)
