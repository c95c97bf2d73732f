"""Reading a statement file safely: a size limit enforced before and while reading, and the
format recognised from the first bytes."""

from __future__ import annotations

import io
import os
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from ledger.domain.errors import StatementRefused

#: Default largest statement file: a year of a busy account in camt.053 stays far below it.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


class StatementFormat(StrEnum):
    CAMT = "camt"
    CODA = "coda"
    CSV = "csv"


Source = bytes | BinaryIO | Path


def _too_large(size: int, max_bytes: int) -> StatementRefused:
    return StatementRefused(
        f"the file is {size:,} bytes; statement files may be at most {max_bytes:,} bytes "
        "(setting FUNDLEDGER_MAX_STATEMENT_BYTES): split it into smaller statements",
        "file",
        key="err.statement.too_large",
        params={"most_mb": megabytes(max_bytes)},
    )


def megabytes(size: int) -> Decimal:
    """A size in megabytes, one decimal (two under 1 MB), never rounded up (a limit must not
    look larger than it is)."""
    step = Decimal("0.1") if size >= 1_000_000 else Decimal("0.01")
    return (Decimal(size) / 1_000_000).quantize(step, rounding=ROUND_DOWN)


def _empty() -> StatementRefused:
    return StatementRefused("the file is empty", "file", key="err.statement.empty")


def known_size(source: Source) -> int | None:
    """The size of the file without reading it, when it can be known."""
    if isinstance(source, bytes):
        return len(source)
    if isinstance(source, Path):
        return source.stat().st_size
    try:
        return os.fstat(source.fileno()).st_size - source.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    if source.seekable():
        here = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(here)
        return end - here
    return None


class LimitedReader(io.RawIOBase):
    """A binary stream that refuses to deliver more than ``max_bytes``."""

    def __init__(self, raw: BinaryIO, max_bytes: int, *, owns: bool = False) -> None:
        super().__init__()
        self._raw = raw
        self._left = max_bytes
        self._max = max_bytes
        self._owns = owns

    def close(self) -> None:
        if self._owns and not self.closed:
            self._raw.close()
        super().close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._left + 1)
        data = self._raw.read(want)
        if len(data) > self._left:
            raise _too_large(self._max + 1, self._max)
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def open_statement(source: Source, max_bytes: int = DEFAULT_MAX_BYTES) -> BinaryIO:
    """A buffered stream over ``source``, refused at once when its size is known to be too
    large, and stopped while reading when it turns out to be."""
    size = known_size(source)
    if size is not None and size > max_bytes:
        raise _too_large(size, max_bytes)
    if size == 0:
        raise _empty()
    if isinstance(source, bytes):
        limited = LimitedReader(io.BytesIO(source), max_bytes)
    elif isinstance(source, Path):
        limited = LimitedReader(source.open("rb"), max_bytes, owns=True)
    else:
        limited = LimitedReader(source, max_bytes)
    return io.BufferedReader(limited, buffer_size=1 << 16)


def read_all(source: Source, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    with open_statement(source, max_bytes) as stream:
        data = stream.read()
    if not data:
        raise _empty()
    return data


def detect_format(head: bytes) -> StatementFormat:
    """camt.053 is XML; a CODA file starts with a 128-character header record "0"; anything
    else is taken for a CSV export (which needs a column mapping)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return StatementFormat.CAMT
    first = text.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(b"0") and len(first) == 128 and first[127:128] == b"2":
        return StatementFormat.CODA
    return StatementFormat.CSV
