"""Hypothesis strategies for journal entries: balanced legs in several currencies, drafts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import strategies as st

from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import from_minor
from ledger.domain.statuses import EntryKind

CURRENCIES = ["EUR", "CHF", "JPY", "BHD"]
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
codes = st.builds(str.__add__, st.sampled_from(ALNUM), st.text(ALNUM + "._-", max_size=9))
amounts = st.integers(-(10**12), 10**12).filter(lambda n: n != 0)
texts = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60)
descriptions = texts.filter(lambda t: t.strip() != "")
references = st.none() | st.text(PRINTABLE, min_size=1, max_size=64)
days = st.dates(date(2000, 1, 1), date(2100, 12, 31))
moments = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))


@st.composite
def balanced_legs(draw: st.DrawFn, max_currencies: int = 3) -> list[Leg]:
    """Legs in one to three currencies, each currency summing to zero, in any order."""
    chosen = draw(
        st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=max_currencies, unique=True)
    )
    legs: list[Leg] = []
    for code in chosen:
        minors = draw(st.lists(amounts, min_size=1, max_size=6))
        if sum(minors) != 0:
            minors.append(-sum(minors))
        legs += [Leg(draw(codes), from_minor(m, code)) for m in minors]
    return draw(st.permutations(legs))


@st.composite
def drafts(draw: st.DrawFn) -> EntryDraft:
    return EntryDraft(
        booking_date=draw(days),
        description=draw(descriptions),
        kind=draw(st.sampled_from(list(EntryKind))),
        legs=tuple(draw(balanced_legs())),
        loan_id=draw(references),
        statement_line_id=draw(references),
        reverses_id=draw(st.none() | st.integers(1, 10**9)),
        idempotency_key=draw(references),
    )
