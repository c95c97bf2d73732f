"""The monthly mailing: many beneficiaries' schedules rendered on every core.

Rendering is CPU work in Python (WeasyPrint's layout, fontTools' subsetting), so one process
renders on one core: ``render_schedules`` hands the schedules to a pool of processes, one per
core by default. Each worker is set up once (``warm_up``: stylesheet and fonts, templates,
every catalog, the shipped fonts without their layout tables) and then renders its share; the
results come back in the order given, each the same bytes as ``render_schedule`` gives in this
process (same inputs, same SHA-256).

Workers are started with ``spawn``: a fresh interpreter, not a copy of this process with its
threads and its Pango and fontconfig state (forking a service that renders in threads is not
safe).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

from ledger.documents import fontsubset, render
from ledger.documents.i18n import available_languages, catalog, contracts_dir
from ledger.documents.model import ScheduleData
from ledger.documents.render import Rendered, render_schedule

#: Schedules handed to a worker at a time: few enough to share the work out evenly at the end,
#: enough that passing them around costs nothing next to rendering (about 0.3 s each).
CHUNK = 4


def warm_up() -> None:
    """Load once in this process what every rendering needs."""
    render.prepare()
    for language in available_languages():
        catalog(language)
    if fontsubset.install():
        for path in sorted((contracts_dir() / "fonts").glob("*.[ot]tf")):
            fontsubset.without_layout_tables(path.read_bytes(), 0)


def default_workers() -> int:
    """One per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def render_schedules(
    schedules: Sequence[ScheduleData], workers: int | None = None
) -> Iterator[Rendered]:
    """Every schedule rendered, in order, by ``workers`` processes (default: one per core);
    with one worker (or one schedule), here in this process."""
    count = default_workers() if workers is None else workers
    if count < 1:
        raise ValueError("the mailing needs at least one worker")
    if count == 1 or len(schedules) <= 1:
        warm_up()
        yield from map(render_schedule, schedules)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(count, len(schedules)), mp_context=context, initializer=warm_up
    ) as pool:
        yield from pool.map(render_schedule, schedules, chunksize=CHUNK)
