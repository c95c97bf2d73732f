"""Journal entries: balanced, immutable, hash-chained.

An entry is built as an ``EntryDraft`` (validated when constructed: two or more non-zero legs
that sum to zero per currency) and becomes an ``Entry`` once the store has given it its
sequence number, its author, its creation time and its place in the hash chain.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timezone
from typing import Any

from ledger.domain.accounts import CODE_PATTERN, check_code
from ledger.domain.errors import UnbalancedEntry, ValidationError
from ledger.domain.money import Money, from_minor, to_minor
from ledger.domain.statuses import EntryKind

GENESIS_HASH = "0" * 64
MAX_DESCRIPTION = 500
MAX_LEGS = 200
MAX_REFERENCE = 64
_REFERENCE = re.compile(r"^[\x21-\x7e]{1,64}$")
_code_match = CODE_PATTERN.match
# Frozen dataclasses set their derived fields the way their generated __init__ does.
_set = object.__setattr__


#: Kinds a treasurer may post by hand; loan movements come only through the loan services.
MANUAL_KINDS = frozenset(
    {
        EntryKind.CAPITAL,
        EntryKind.DONATION,
        EntryKind.BANK_CHARGE,
        EntryKind.TRANSFER,
        EntryKind.ADJUSTMENT,
    }
)


def month_of(day: date) -> str:
    if type(day) is date:
        return day.isoformat()[:7]  # the same YYYY-MM: isoformat pads the year to 4 digits
    return f"{day.year:04d}-{day.month:02d}"


def month_end(month: str) -> date:
    """The last day of a ``YYYY-MM`` month."""
    year, mon = int(month[:4]), int(month[5:])
    return date(year, mon, calendar.monthrange(year, mon)[1])


def parse_month(text: object) -> str:
    """Validate a ``YYYY-MM`` month key."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}", text):
        raise ValidationError(
            f"month {text!r} must be written YYYY-MM, e.g. 2026-01", field="month"
        )
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12 or year < 1900:
        raise ValidationError(f"month {text!r} does not exist", field="month")
    return text


def check_reference(value: str | None, field: str) -> str | None:
    """Idempotency keys and external references: printable ASCII, at most 64 characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not _REFERENCE.match(value):
        raise ValidationError(
            f"{field} must be 1 to {MAX_REFERENCE} printable ASCII characters without spaces",
            field=field,
        )
    return value


@dataclass(frozen=True, slots=True)
class Leg:
    """One line of an entry: positive amounts are debits, negative amounts credits."""

    account_code: str
    amount: Money
    # Derived from ``amount`` once, when the leg is made: checks, hashing and storage all need
    # them, and a leg never changes.
    minor: int = field(init=False, repr=False, compare=False)
    currency: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        code = self.account_code
        if type(code) is not str or _code_match(code) is None:
            check_code(code, "account")  # raises, or accepts a str subclass as before
        amount = self.amount
        if not isinstance(amount, Money):
            if isinstance(amount, float):
                raise TypeError("a leg amount must be Money, never a float")
            raise TypeError(f"a leg amount must be Money, not {type(amount).__name__}")
        minor = to_minor(amount)
        if minor == 0:
            raise ValidationError(f"leg on account {code} is zero; leave it out", field="legs")
        _set(self, "minor", minor)
        cur = amount.currency.code
        _set(self, "currency", cur if type(cur) is str else str(cur))

    @classmethod
    def debit(cls, account_code: str, amount: Money) -> Leg:
        return cls(account_code, amount)

    @classmethod
    def credit(cls, account_code: str, amount: Money) -> Leg:
        if type(amount) is Money:
            # What Money.__neg__ makes, without its keyword call and type checks.
            return cls(account_code, Money(-amount.amount, amount.currency))
        return cls(account_code, -amount)


def check_balanced(legs: Iterable[Leg]) -> None:
    """Raise ``UnbalancedEntry`` unless the legs sum to zero in each currency."""
    totals: dict[str, int] = {}
    for leg in legs:
        cur = leg.currency
        totals[cur] = totals.get(cur, 0) + leg.minor
    if not any(totals.values()):
        return
    off = {cur: total for cur, total in sorted(totals.items()) if total != 0}
    if off:
        parts = ", ".join(f"{from_minor(total, cur)} ({cur})" for cur, total in off.items())
        raise UnbalancedEntry(
            f"debits and credits differ by {parts}; every currency must sum to zero",
            field="legs",
        )


@dataclass(frozen=True, slots=True)
class EntryDraft:
    booking_date: date
    description: str
    kind: EntryKind
    legs: tuple[Leg, ...]
    loan_id: str | None = None
    statement_line_id: str | None = None
    reverses_id: int | None = None
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        booking_date = self.booking_date
        if type(booking_date) is not date and (
            isinstance(booking_date, datetime) or not isinstance(booking_date, date)
        ):
            raise ValidationError("booking date must be a date (YYYY-MM-DD)", field="booking_date")
        description = self.description
        if not isinstance(description, str) or not description.strip():
            raise ValidationError("description must not be empty", field="description")
        if len(description) > MAX_DESCRIPTION:
            raise ValidationError(
                f"description is {len(description)} characters long; "
                f"at most {MAX_DESCRIPTION} allowed",
                field="description",
            )
        if type(self.kind) is not EntryKind:  # a member is already what EntryKind() returns
            try:
                _set(self, "kind", EntryKind(self.kind))
            except ValueError:
                raise ValidationError(
                    f"entry kind {self.kind!r} is unknown", field="kind"
                ) from None
        self._check_legs()
        self._check_references()

    def _check_legs(self) -> None:
        """Two to MAX_LEGS legs (kept as a tuple) that balance per currency."""
        legs = self.legs
        if type(legs) is not tuple:
            legs = tuple(legs)
            _set(self, "legs", legs)
        if len(legs) < 2:
            raise ValidationError("an entry needs at least two legs", field="legs")
        if len(legs) > MAX_LEGS:
            raise ValidationError(f"an entry may have at most {MAX_LEGS} legs", field="legs")
        for leg in legs:
            if not isinstance(leg, Leg):
                raise TypeError("legs must be Leg values")
        check_balanced(legs)

    def _check_references(self) -> None:
        """The loan, statement line and idempotency key are references; what it reverses, an id."""
        if self.loan_id is not None:
            check_reference(self.loan_id, "loan_id")
        if self.statement_line_id is not None:
            check_reference(self.statement_line_id, "statement_line_id")
        if self.idempotency_key is not None:
            check_reference(self.idempotency_key, "idempotency_key")
        if self.reverses_id is not None and (
            isinstance(self.reverses_id, bool)
            or not isinstance(self.reverses_id, int)
            or self.reverses_id < 1
        ):
            raise ValidationError("reverses_id must be a positive entry id", field="reverses_id")

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(leg.currency for leg in self.legs)


@dataclass(frozen=True, slots=True)
class Entry:
    """A posted entry. ``hash`` covers its content and ``prev_hash``; never personal data."""

    id: int
    booking_date: date
    description: str
    kind: EntryKind
    legs: tuple[Leg, ...]
    author: str
    created_at: datetime
    prev_hash: str
    hash: str
    loan_id: str | None = None
    statement_line_id: str | None = None
    reverses_id: int | None = None
    idempotency_key: str | None = None
    reversed_by_id: int | None = field(default=None, compare=False)


def canonical_content(
    *,
    id: int,
    booking_date: date,
    description: str,
    kind: str,
    legs: Iterable[tuple[str, int, str]],
    author: str,
    created_at: datetime,
    loan_id: str | None,
    statement_line_id: str | None,
    reverses_id: int | None,
    idempotency_key: str | None,
) -> bytes:
    """The bytes an entry's hash is computed over: stable JSON, legs sorted, UTC time.

    Defined as ``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    of the fields below, UTF-8 encoded. Hashes already stored depend on every byte of it: the
    fast path writes that very text directly (strings through json's own string encoder) when
    every value is a str, an exact int or None; anything else goes through ``json.dumps``.
    """
    return _canonical_text(
        id,
        booking_date.isoformat(),
        description,
        str(kind),
        sorted([code, minor, cur] for code, minor, cur in legs),
        author,
        _utc_text(created_at),
        loan_id,
        statement_line_id,
        reverses_id,
        idempotency_key,
    )


def _canonical_text(
    id: int,
    booking: str,
    description: str,
    kind_text: str,
    rows: list[list[Any]],
    author: str,
    created: str,
    loan_id: str | None,
    statement_line_id: str | None,
    reverses_id: int | None,
    idempotency_key: str | None,
) -> bytes:
    """``canonical_content`` from its derived values (called positionally: this is per entry)."""
    legs_json = _legs_json(rows)
    if (
        legs_json is not None
        and type(id) is int
        and isinstance(booking, str)
        and isinstance(description, str)
        and isinstance(author, str)
        and (loan_id is None or isinstance(loan_id, str))
        and (statement_line_id is None or isinstance(statement_line_id, str))
        and (reverses_id is None or type(reverses_id) is int)
        and (idempotency_key is None or isinstance(idempotency_key, str))
    ):
        key = "null" if idempotency_key is None else _json_str(idempotency_key)
        loan = "null" if loan_id is None else _json_str(loan_id)
        line = "null" if statement_line_id is None else _json_str(statement_line_id)
        reverses = "null" if reverses_id is None else reverses_id
        # The keys in sorted order, as sort_keys writes them.
        return (
            f'{{"author":{_json_str(author)},"booking_date":{_json_str(booking)},'
            f'"created_at":{_json_str(created)},"description":{_json_str(description)},'
            f'"id":{id},"idempotency_key":{key},"kind":{_json_str(kind_text)},'
            f'"legs":{legs_json},"loan_id":{loan},"reverses_id":{reverses},'
            f'"statement_line_id":{line}}}'
        ).encode()
    doc = {
        "id": id,
        "booking_date": booking,
        "description": description,
        "kind": kind_text,
        "legs": rows,
        "author": author,
        "created_at": created,
        "loan_id": loan_id,
        "statement_line_id": statement_line_id,
        "reverses_id": reverses_id,
        "idempotency_key": idempotency_key,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


#: json's own string encoder (``ensure_ascii=False``): quotes, escapes ``"``, ``\\`` and
#: control characters exactly as ``json.dumps`` does.
_json_str: Callable[[str], str] = json.encoder.encode_basestring


def _legs_json(rows: list[list[Any]]) -> str | None:
    """The legs as ``json.dumps`` writes them, or None when a value is not plainly typed."""
    parts = []
    for code, minor, cur in rows:
        if not (isinstance(code, str) and type(minor) is int and isinstance(cur, str)):
            return None
        parts.append(f"[{_json_str(code)},{minor},{_json_str(cur)}]")
    return "[" + ",".join(parts) + "]"


def _utc_text(created_at: datetime) -> str:
    """``created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")``, the same text sooner.

    A batch of postings shares one ``created_at``: the last one's text is kept, for exact
    datetimes in a fixed-offset zone only (the UTC instant of any other could change).
    """
    global _last_utc_text
    last = _last_utc_text
    if created_at is last[0]:
        return last[1]
    utc = created_at.astimezone(UTC)
    if type(utc) is datetime and utc.year >= 1000:
        # "YYYY-MM-DDTHH:MM:SS.ffffff+00:00"; strftime's %Y does not pad years below 1000
        # on every platform, so those keep going through strftime.
        text = utc.isoformat(timespec="microseconds")[:-6] + "Z"
    else:
        text = utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if type(created_at) is datetime and type(created_at.tzinfo) is timezone:
        _last_utc_text = (created_at, text)
    return text


_last_utc_text: tuple[datetime | None, str] = (None, "")


def chain_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + content).hexdigest()


def recomputed_hash(entry: Entry) -> str:
    """The hash an entry's stored content and previous hash give: equal to ``entry.hash``
    unless something was changed after posting."""
    content = canonical_content(
        id=entry.id,
        booking_date=entry.booking_date,
        description=entry.description,
        kind=entry.kind,
        legs=((leg.account_code, leg.minor, leg.currency) for leg in entry.legs),
        author=entry.author,
        created_at=entry.created_at,
        loan_id=entry.loan_id,
        statement_line_id=entry.statement_line_id,
        reverses_id=entry.reverses_id,
        idempotency_key=entry.idempotency_key,
    )
    return chain_hash(entry.prev_hash, content)


def seal(draft: EntryDraft, *, id: int, author: str, created_at: datetime, prev_hash: str) -> Entry:
    """Give a draft its id, author, time and place in the hash chain."""
    if created_at.tzinfo is None:
        raise ValidationError("created_at must carry a time zone", field="created_at")
    # canonical_content(...) of the entry, without its keyword call and generators.
    content = _canonical_text(
        id,
        draft.booking_date.isoformat(),
        draft.description,
        str(draft.kind),
        sorted([leg.account_code, leg.minor, leg.currency] for leg in draft.legs),
        author,
        _utc_text(created_at),
        draft.loan_id,
        draft.statement_line_id,
        draft.reverses_id,
        draft.idempotency_key,
    )
    # Positional arguments, in Entry's field order (a keyword call costs noticeably more).
    return Entry(
        id,
        draft.booking_date,
        draft.description,
        draft.kind,
        draft.legs,
        author,
        created_at,
        prev_hash,
        chain_hash(prev_hash, content),
        draft.loan_id,
        draft.statement_line_id,
        draft.reverses_id,
        draft.idempotency_key,
    )


def reversal_of(
    entry: Entry,
    *,
    booking_date: date,
    description: str | None = None,
    idempotency_key: str | None = None,
) -> EntryDraft:
    """The entry that undoes ``entry``: the same legs with opposite signs, pointing back to it."""
    return EntryDraft(
        booking_date=booking_date,
        description=description
        or f"Reversal of entry {entry.id}: {entry.description}"[:MAX_DESCRIPTION],
        kind=EntryKind.REVERSAL,
        legs=tuple(Leg(leg.account_code, -leg.amount) for leg in entry.legs),
        loan_id=entry.loan_id,
        statement_line_id=entry.statement_line_id,
        reverses_id=entry.id,
        idempotency_key=idempotency_key,
    )


def balances_by_account(legs: Iterable[Leg]) -> Mapping[tuple[str, str], int]:
    """Sum of minor units per (account code, currency)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for leg in legs:
        out[(leg.account_code, leg.currency)] += leg.minor
    return dict(out)


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which entries to read. ``author`` is who booked them; an amount bound keeps the entries
    with a leg of at least ``amount_min`` and at most ``amount_max`` (either side, debit or
    credit), on ``account_code`` when that is given too (a control account: on one of its
    sub-accounts)."""

    date_from: date | None = None
    date_to: date | None = None
    kind: EntryKind | None = None
    account_code: str | None = None
    loan_id: str | None = None
    author: str | None = None
    amount_min: Money | None = None
    amount_max: Money | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError(
                f"the first day ({self.date_from}) is after the last ({self.date_to}); "
                "give the first day, then the last",
                field="date_from",
            )
        for name in ("amount_min", "amount_max"):
            bound = getattr(self, name)
            if bound is None:
                continue
            if not isinstance(bound, Money):
                raise TypeError(f"{name} must be Money, not {type(bound).__name__}")
            if to_minor(bound) <= 0:
                raise ValidationError("an amount to look for must be above zero", field=name)
        low, high = self.amount_min, self.amount_max
        if low is not None and high is not None:
            if low.currency != high.currency:
                raise ValidationError(
                    "the smallest and the largest amount must be in one currency",
                    field="amount_max",
                )
            if low > high:
                raise ValidationError(
                    f"the smallest amount ({low.amount}) is above the largest ({high.amount}); "
                    "swap them, or leave one empty",
                    field="amount_min",
                )

    @property
    def amount_currency(self) -> str | None:
        bound = self.amount_min if self.amount_min is not None else self.amount_max
        return None if bound is None else str(bound.currency.code)


@dataclass(frozen=True, slots=True)
class AccountStatementLine:
    entry_id: int
    booking_date: date
    kind: str
    description: str
    amount_minor: int
    running_minor: int
