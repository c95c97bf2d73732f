"""Memory limits for the tests that feed hostile input: an allocation beyond the limit raises
``MemoryError`` in the test instead of taking the machine (and the other tests) down."""

from __future__ import annotations

import os
import resource
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def address_space() -> int:
    """The process's virtual memory now, in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def memory_limit(extra: int) -> Iterator[None]:
    """Inside, the process may grow by at most ``extra`` bytes of address space
    (``RLIMIT_AS``); the limit it had is put back on leaving."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = address_space() + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def peak_memory(work: Callable[[], T]) -> tuple[T | BaseException, int]:
    """What ``work`` returned (or raised) and the most Python memory it held at once, in
    bytes (tracemalloc: the parser's own objects, not libxml2's buffers)."""
    tracemalloc.start()
    try:
        outcome: T | BaseException = work()
    except Exception as exc:  # the caller looks at it
        outcome = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return outcome, peak
