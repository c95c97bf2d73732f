"""Pinned hashes: the exact bytes an entry is hashed over, and its hash, must never change.

Databases in use carry chains of these hashes and ``fundledger verify`` recomputes them, so
``canonical_content`` and ``seal`` must produce byte for byte what they produced when these
values were recorded. Likewise ``draft_request``: stored idempotency records are compared with
it. Nothing here may be "updated" to make a test pass: a difference is a broken chain.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from ledger.domain.journal import (
    GENESIS_HASH,
    EntryDraft,
    Leg,
    canonical_content,
    chain_hash,
    reversal_of,
    seal,
)
from ledger.domain.money import money
from ledger.domain.statuses import EntryKind
from ledger.services.journal import draft_request

UNICODE_DESCRIPTION = (
    'Spende \u00abPfarrei\u00bb \u2013 Z\u00fcrich \u2713 \U0001f600 "quoted" back\\slash'
    "\ttab\nnew\u2028line\x7f\x01 \u03a9\u03bc\u03ad\u03b3\u03b1 \u65e5\u672c"
)


def legs(*spec: tuple[str, str, str]) -> tuple[Leg, ...]:
    """(account, amount, currency) triples; a leading ``-`` makes a credit."""
    return tuple(
        Leg.credit(code, money(amount[1:], cur))
        if amount.startswith("-")
        else Leg.debit(code, money(amount, cur))
        for code, amount, cur in spec
    )


def eur_donation() -> tuple[EntryDraft, dict[str, Any]]:
    draft = EntryDraft(
        date(2026, 3, 1),
        "Donation from a parish",
        EntryKind.DONATION,
        legs(("1000", "250.00", "EUR"), ("4000", "-250.00", "EUR")),
        idempotency_key="don-2026-03-01",
    )
    at = {
        "id": 1,
        "author": "tina.treasurer",
        "created_at": datetime(2026, 3, 15, 12, 0, tzinfo=UTC),
        "prev_hash": GENESIS_HASH,
    }
    return draft, at


def loan_disbursement() -> tuple[EntryDraft, dict[str, Any]]:
    draft = EntryDraft(
        date(2026, 1, 31),
        "Guarantee for flat 3B, rue Haute 12",
        EntryKind.DISBURSEMENT,
        legs(
            ("1200.L-2026-001", "1500.50", "EUR"),
            ("1000", "-1500.00", "EUR"),
            ("2100", "-0.50", "EUR"),
        ),
        loan_id="L-2026-001",
        statement_line_id="st:2026-01/17",
    )
    at = {
        "id": 42,
        "author": "carl.caseworker",
        "created_at": datetime(2026, 2, 1, 0, 30, 5, 123456, tzinfo=timezone(timedelta(hours=1))),
        "prev_hash": "ab" * 32,
    }
    return draft, at


def jpy_capital() -> tuple[EntryDraft, dict[str, Any]]:
    draft = EntryDraft(
        date(2025, 12, 31),
        "Yen capital",
        EntryKind.CAPITAL,
        legs(("1000", "1000000", "JPY"), ("3000", "-1000000", "JPY")),
    )
    at = {
        "id": 7,
        "author": "tina",
        "created_at": datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "prev_hash": "0123456789abcdef" * 4,
    }
    return draft, at


def chf_eur_bhd_transfer() -> tuple[EntryDraft, dict[str, Any]]:
    draft = EntryDraft(
        date(2026, 6, 30),
        "Transfer between funds",
        EntryKind.TRANSFER,
        legs(
            ("1001", "95.05", "CHF"),
            ("1001", "-60.00", "CHF"),
            ("1001", "-35.05", "CHF"),
            ("1000", "-0.01", "EUR"),  # a credit of a cent...
            ("1000", "--0.01", "EUR"),  # ...and a credit of minus a cent
            ("B1", "1.234", "BHD"),
            ("A1", "-1.234", "BHD"),
        ),
    )
    at = {
        "id": 100000,
        "author": "adam.admin",
        "created_at": datetime(
            2026, 7, 1, 8, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30))
        ),
        "prev_hash": "f" * 64,
    }
    return draft, at


def unicode_and_largest_amount() -> tuple[EntryDraft, dict[str, Any]]:
    draft = EntryDraft(
        date(2026, 3, 2),
        UNICODE_DESCRIPTION,
        EntryKind.DONATION,
        legs(("1000", "92233720368547758.07", "EUR"), ("4000", "-92233720368547758.07", "EUR")),
    )
    at = {
        "id": 3,
        "author": "zo\u00eb.m\u00fcller",
        "created_at": datetime(2026, 3, 2, 9, 15, tzinfo=UTC),
        "prev_hash": GENESIS_HASH,
    }
    return draft, at


def reversal() -> tuple[EntryDraft, dict[str, Any]]:
    original_draft, original_at = eur_donation()
    original = seal(original_draft, **original_at)
    draft = reversal_of(original, booking_date=date(2026, 3, 20), idempotency_key="rev-1")
    at = {
        "id": 2,
        "author": "tina.treasurer",
        "created_at": datetime(2026, 3, 20, 10, 0, tzinfo=UTC),
        "prev_hash": original.hash,
    }
    return draft, at


# name: (case, canonical content as text, hash, draft_request's legs)
PINS: dict[str, tuple[Any, str, str, list[list[str]]]] = {
    "eur_donation": (
        eur_donation,
        '{"author":"tina.treasurer","booking_date":"2026-03-01",'
        '"created_at":"2026-03-15T12:00:00.000000Z","description":"Donation from a parish",'
        '"id":1,"idempotency_key":"don-2026-03-01","kind":"donation",'
        '"legs":[["1000",25000,"EUR"],["4000",-25000,"EUR"]],'
        '"loan_id":null,"reverses_id":null,"statement_line_id":null}',
        "1b8340a0265423f404b6ca594c93d66afd3811b3a2724e9d365677111bad7643",
        [["1000", "250.00", "EUR"], ["4000", "-250.00", "EUR"]],
    ),
    "loan_disbursement": (
        loan_disbursement,
        '{"author":"carl.caseworker","booking_date":"2026-01-31",'
        '"created_at":"2026-01-31T23:30:05.123456Z",'
        '"description":"Guarantee for flat 3B, rue Haute 12","id":42,"idempotency_key":null,'
        '"kind":"disbursement","legs":[["1000",-150000,"EUR"],["1200.L-2026-001",150050,"EUR"],'
        '["2100",-50,"EUR"]],"loan_id":"L-2026-001","reverses_id":null,'
        '"statement_line_id":"st:2026-01/17"}',
        "ea4df27f4f3b57c86bbc7d172b80a321d07241320f1a036a2f44fb7b2135aa2c",
        [
            ["1200.L-2026-001", "1500.50", "EUR"],
            ["1000", "-1500.00", "EUR"],
            ["2100", "-0.50", "EUR"],
        ],
    ),
    "jpy_capital": (
        jpy_capital,
        '{"author":"tina","booking_date":"2025-12-31","created_at":"2025-12-31T23:59:59.999999Z",'
        '"description":"Yen capital","id":7,"idempotency_key":null,"kind":"capital",'
        '"legs":[["1000",1000000,"JPY"],["3000",-1000000,"JPY"]],'
        '"loan_id":null,"reverses_id":null,"statement_line_id":null}',
        "a0d37605962781fbf0789e93a503a7fbe77c37aa637199a055083fdf048b1142",
        [["1000", "1000000", "JPY"], ["3000", "-1000000", "JPY"]],
    ),
    "chf_eur_bhd_transfer": (
        chf_eur_bhd_transfer,
        '{"author":"adam.admin","booking_date":"2026-06-30",'
        '"created_at":"2026-07-01T13:30:00.000001Z","description":"Transfer between funds",'
        '"id":100000,"idempotency_key":null,"kind":"transfer","legs":[["1000",-1,"EUR"],'
        '["1000",1,"EUR"],["1001",-6000,"CHF"],["1001",-3505,"CHF"],["1001",9505,"CHF"],'
        '["A1",-1234,"BHD"],["B1",1234,"BHD"]],'
        '"loan_id":null,"reverses_id":null,"statement_line_id":null}',
        "4ed1edd427f47b0536ca8f937e4435de1dd606c2fe5f430ba30ad1f9ef96b86b",
        [
            ["1001", "95.05", "CHF"],
            ["1001", "-60.00", "CHF"],
            ["1001", "-35.05", "CHF"],
            ["1000", "-0.01", "EUR"],
            ["1000", "0.01", "EUR"],
            ["B1", "1.234", "BHD"],
            ["A1", "-1.234", "BHD"],
        ],
    ),
    "unicode_and_largest_amount": (
        unicode_and_largest_amount,
        '{"author":"zo\u00eb.m\u00fcller","booking_date":"2026-03-02",'
        '"created_at":"2026-03-02T09:15:00.000000Z",'
        '"description":"Spende \u00abPfarrei\u00bb \u2013 Z\u00fcrich \u2713 \U0001f600 '
        '\\"quoted\\" back\\\\slash\\ttab\\nnew\u2028line\x7f\\u0001 '
        '\u03a9\u03bc\u03ad\u03b3\u03b1 \u65e5\u672c",'
        '"id":3,"idempotency_key":null,"kind":"donation",'
        '"legs":[["1000",9223372036854775807,"EUR"],["4000",-9223372036854775807,"EUR"]],'
        '"loan_id":null,"reverses_id":null,"statement_line_id":null}',
        "1294170b2075b6a3fc69b9496d43eb133e05ec044f2a82226fda9d5988e7c760",
        [["1000", "92233720368547758.07", "EUR"], ["4000", "-92233720368547758.07", "EUR"]],
    ),
    "reversal": (
        reversal,
        '{"author":"tina.treasurer","booking_date":"2026-03-20",'
        '"created_at":"2026-03-20T10:00:00.000000Z",'
        '"description":"Reversal of entry 1: Donation from a parish","id":2,'
        '"idempotency_key":"rev-1","kind":"reversal",'
        '"legs":[["1000",-25000,"EUR"],["4000",25000,"EUR"]],'
        '"loan_id":null,"reverses_id":1,"statement_line_id":null}',
        "adb7f23bb0487e0901c976103e6ab5509f390d98c9beb51db31e8e7e9c582642",
        [["1000", "-250.00", "EUR"], ["4000", "250.00", "EUR"]],
    ),
}


@pytest.mark.parametrize("name", PINS)
def test_canonical_content_is_pinned(name: str) -> None:
    case, text, _, _ = PINS[name]
    draft, at = case()
    content = canonical_content(
        id=at["id"],
        booking_date=draft.booking_date,
        description=draft.description,
        kind=draft.kind,
        legs=[(leg.account_code, leg.minor, leg.currency) for leg in draft.legs],
        author=at["author"],
        created_at=at["created_at"],
        loan_id=draft.loan_id,
        statement_line_id=draft.statement_line_id,
        reverses_id=draft.reverses_id,
        idempotency_key=draft.idempotency_key,
    )
    assert content == text.encode("utf-8")


@pytest.mark.parametrize("name", PINS)
def test_seal_hash_is_pinned(name: str) -> None:
    case, text, hash_, _ = PINS[name]
    draft, at = case()
    entry = seal(draft, **at)
    assert entry.hash == hash_
    assert entry.hash == chain_hash(at["prev_hash"], text.encode("utf-8"))
    assert entry.prev_hash == at["prev_hash"]


@pytest.mark.parametrize("name", PINS)
def test_draft_request_is_pinned(name: str) -> None:
    case, _, _, request_legs = PINS[name]
    draft, _ = case()
    assert draft_request(draft) == {
        "booking_date": draft.booking_date.isoformat(),
        "description": draft.description,
        "kind": draft.kind.value,
        "legs": request_legs,
        "loan_id": draft.loan_id,
        "statement_line_id": draft.statement_line_id,
        "reverses_id": draft.reverses_id,
    }


def test_chain_of_pinned_entries() -> None:
    """The donation and its reversal, chained from genesis as a fresh ledger would."""
    first_draft, first_at = eur_donation()
    first = seal(first_draft, **first_at)
    second_draft, second_at = reversal()
    second = seal(second_draft, **second_at)
    assert second.prev_hash == first.hash == PINS["eur_donation"][2]
    assert second.hash == PINS["reversal"][2]
