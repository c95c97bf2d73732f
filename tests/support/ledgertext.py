"""Ledgers written as text inside tests, one entry a line (in the spirit of beancount):

    2026-03-02 donation 250.00 EUR  Dr 1000  Cr 4000  ; gift from a parish

The amount is debited to the account after ``Dr`` and credited to the one after ``Cr``; the
currency defaults to EUR and the description to the line itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from ledger.domain.journal import Entry, EntryDraft, Leg
from ledger.domain.money import money
from ledger.domain.roles import Actor
from ledger.services.journal import post
from ledger.store.uow import UnitOfWork

LINE = re.compile(
    r"^(?P<day>\d{4}-\d{2}-\d{2})\s+(?P<kind>\w+)\s+(?P<amount>[\d.]+)(?:\s+(?P<cur>[A-Z]{3}))?"
    r"\s+Dr\s+(?P<debit>\S+)\s+Cr\s+(?P<credit>\S+)\s*(?:;\s*(?P<text>.*))?$"
)


def entry(
    line: str, *, key: str | None = None, reverses_id: int | None = None, loan_id: str | None = None
) -> EntryDraft:
    m = LINE.match(line.strip())
    if m is None:
        raise ValueError(f"cannot read ledger line {line!r}")
    amount = money(m["amount"], m["cur"] or "EUR")
    return EntryDraft(
        booking_date=date.fromisoformat(m["day"]),
        description=m["text"] or line.strip(),
        kind=m["kind"],  # type: ignore[arg-type]
        legs=(Leg.debit(m["debit"], amount), Leg.credit(m["credit"], amount)),
        idempotency_key=key,
        reverses_id=reverses_id,
        loan_id=loan_id,
    )


def entries(text: str) -> list[EntryDraft]:
    return [entry(line) for line in text.strip().splitlines() if line.strip()]


def book(uow: UnitOfWork, actor: Actor, text: str | Sequence[EntryDraft]) -> list[Entry]:
    """Post every line in one transaction and return the entries as stored."""
    drafts = entries(text) if isinstance(text, str) else text
    return [p.entry for p in post(uow, actor, drafts)]
