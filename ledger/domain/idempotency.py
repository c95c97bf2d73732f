"""Retries are safe: a request sent again with its idempotency key gets the first result, and a
key reused for a different request is refused, naming the first field that differs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from moneyed import Money

from ledger.domain.errors import IdempotencyConflict


def shown(value: object) -> str:
    """A request's value as a message quotes it: dates and amounts as their text."""
    return repr(str(value) if isinstance(value, date | Money) else value)


def check_same_request(
    first: Mapping[str, Any],
    again: Mapping[str, Any],
    *,
    first_use: str,
    new: str = "request",
    names: Iterable[str] | None = None,
) -> None:
    """Refuse ``again`` unless each field (``names``, default: every field of either, sorted)
    has the value it had in ``first``. ``first_use`` begins the message ("Idempotency-Key k
    was first used"); ``new`` is what a new key would be for."""
    for name in sorted(set(first) | set(again)) if names is None else names:
        before, now = first.get(name), again.get(name)
        if before != now:
            raise IdempotencyConflict(
                f"{first_use} with {name} = {shown(before)}, now {shown(now)}; send the same "
                f"request again, or use a new key for a new {new}",
                field=name,
            )


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    command: str
    request: dict[str, Any]
    entry_id: int
