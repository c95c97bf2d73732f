"""CSV text the exports share: cells a spreadsheet shows as text, and rows written as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

#: A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | None) -> str:
    """A text cell a spreadsheet shows as text: a leading apostrophe where it would run it."""
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()
