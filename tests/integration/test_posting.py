"""Posting through the services on real databases: idempotency, reversals, refusals, bulk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from ledger.domain.accounts import AccountRole, AccountSpec, AccountType
from ledger.domain.errors import (
    AlreadyReversed,
    ClosedAccount,
    ClosedPeriod,
    Conflict,
    IdempotencyConflict,
    NotFound,
    Overdraft,
    ValidationError,
)
from ledger.domain.journal import GENESIS_HASH, EntryDraft
from ledger.domain.statuses import EntryKind
from ledger.services.journal import (
    close_account,
    get_entry,
    open_account,
    post,
    post_manual_entry,
    reverse_entry,
    trial_balance,
)
from ledger.services.verify import verify
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book, entry
from tests.support.periods import close_month
from tests.support.queries import balances, counts, last_entry

DONATION = "2026-03-02 donation 250.00 EUR Dr 1000 Cr 4000 ; gift from a parish"
#: These funds import no bank statement: their months are closed by an admin, saying why.
UNRECONCILED = "closed without the bank's statement (a test of the closed month)"


def assert_verified(uow: UnitOfWork) -> None:
    report = verify(uow, AUDITOR)
    assert report.ok, report.summary()


# -- posting ----------------------------------------------------------------------------------


def test_posting_seals_entry_and_moves_cached_balances(funded: UnitOfWork, clock: Clock) -> None:
    first = last_entry(funded)
    assert first.id == 1 and first.prev_hash == GENESIS_HASH
    posted = post_manual_entry(funded, TREASURER, entry(DONATION))
    assert not posted.replayed
    e = posted.entry
    assert (e.id, e.prev_hash, e.author, e.created_at) == (2, first.hash, TREASURER.name, clock.now)
    assert e.kind is EntryKind.DONATION
    assert get_entry(funded, AUDITOR, 2) == e
    bal = balances(funded)
    assert bal["1000"] == 1_025_000
    assert bal["3000"] == -1_000_000
    assert bal["4000"] == -25_000
    with funded:
        records, _ = funded.audit.page(actor=TREASURER.name, action="post_entry", limit=5, offset=0)
    assert records[0].target == "entry:2"
    assert_verified(funded)


def test_unknown_account_refused(funded: UnitOfWork) -> None:
    before = counts(funded)
    with pytest.raises(NotFound, match="9999") as err:
        post_manual_entry(funded, TREASURER, entry("2026-03-02 donation 1.00 Dr 9999 Cr 4000"))
    assert err.value.field == "legs"
    assert counts(funded) == before


def test_control_account_refused(funded: UnitOfWork) -> None:
    with pytest.raises(ValidationError, match="control account") as err:
        post_manual_entry(funded, TREASURER, entry("2026-03-02 transfer 1.00 Dr 1200 Cr 1000"))
    assert err.value.field == "legs"


def test_leg_in_another_currency_than_its_account_refused(funded: UnitOfWork) -> None:
    with pytest.raises(ValidationError, match="kept in EUR, not CHF"):
        post_manual_entry(funded, TREASURER, entry("2026-03-02 donation 1.00 CHF Dr 1000 Cr 4000"))


def test_future_booking_date_refused(funded: UnitOfWork, clock: Clock) -> None:
    before = counts(funded)
    with pytest.raises(ValidationError, match="future") as err:
        post_manual_entry(funded, TREASURER, entry("2026-03-16 donation 1.00 Dr 1000 Cr 4000"))
    assert err.value.field == "booking_date"
    assert counts(funded) == before
    # Today is fine, up to the last second of the day.
    clock.now = clock.now.replace(hour=23, minute=59, second=59)
    post_manual_entry(funded, TREASURER, entry("2026-03-15 donation 1.00 Dr 1000 Cr 4000"))
    clock.advance(seconds=1)
    post_manual_entry(funded, TREASURER, entry("2026-03-16 donation 1.00 Dr 1000 Cr 4000"))


def test_manual_entry_refuses_loan_kinds(funded: UnitOfWork) -> None:
    for kind in ("disbursement", "repayment", "write_off", "reversal"):
        with pytest.raises(ValidationError, match="cannot be posted by hand") as err:
            post_manual_entry(funded, TREASURER, entry(f"2026-03-02 {kind} 1.00 Dr 1000 Cr 4000"))
        assert err.value.field == "kind"


def test_manual_entry_refuses_loans_and_loan_accounts(funded: UnitOfWork) -> None:
    with pytest.raises(ValidationError) as err:
        post_manual_entry(
            funded, TREASURER, entry("2026-03-02 transfer 1.00 Dr 1000 Cr 3000", loan_id="L1")
        )
    assert err.value.field == "loan_id"
    open_account(
        funded,
        TREASURER,
        AccountSpec("1200.0001", "Loan 1", AccountType.ASSET, "EUR", AccountRole.LOAN, "1200"),
    )
    with pytest.raises(ValidationError, match="belongs to a loan") as err:
        post_manual_entry(funded, TREASURER, entry("2026-03-02 transfer 1.00 Dr 1200.0001 Cr 1000"))
    assert err.value.field == "legs"


def test_sub_account_moves_its_control_account(funded: UnitOfWork) -> None:
    open_account(
        funded,
        TREASURER,
        AccountSpec("1200.0001", "Loan 1", AccountType.ASSET, "EUR", AccountRole.LOAN, "1200"),
    )
    book(funded, TREASURER, "2026-03-05 disbursement 800.00 Dr 1200.0001 Cr 1000")
    bal = balances(funded)
    assert bal["1200.0001"] == bal["1200"] == 80_000
    assert bal["1000"] == 920_000
    tb = trial_balance(funded, AUDITOR)
    assert tb.balanced
    assert "1200" not in {line.account.code for line in tb.lines}
    assert_verified(funded)


# -- overdraft --------------------------------------------------------------------------------


def test_overdraft_refused_and_nothing_written(funded: UnitOfWork) -> None:
    before, bal = counts(funded), balances(funded)
    with pytest.raises(Overdraft, match=r"1000.*0\.01") as err:
        post_manual_entry(
            funded, TREASURER, entry("2026-03-02 bank_charge 10000.01 Dr 6100 Cr 1000")
        )
    assert err.value.field == "legs"
    assert counts(funded) == before
    assert balances(funded) == bal
    # Down to exactly zero is allowed.
    post_manual_entry(funded, TREASURER, entry("2026-03-02 bank_charge 10000.00 Dr 6100 Cr 1000"))
    assert balances(funded)["1000"] == 0


def test_accounts_without_the_flag_may_change_sign(funded: UnitOfWork) -> None:
    # Donations (income) debited beyond zero: unusual, allowed, and the trial balance still holds.
    post_manual_entry(funded, TREASURER, entry("2026-03-02 adjustment 5.00 Dr 4000 Cr 3000"))
    assert balances(funded)["4000"] == 500
    assert trial_balance(funded, AUDITOR).balanced


def test_overdraft_checked_entry_by_entry_within_a_batch(funded: UnitOfWork) -> None:
    charge = "2026-03-02 bank_charge 10050.00 Dr 6100 Cr 1000"
    gift = "2026-03-02 donation 100.00 Dr 1000 Cr 4000"
    # The charge comes first: the bank would dip below zero before the gift arrives.
    with pytest.raises(Overdraft):
        book(funded, TREASURER, f"{charge}\n{gift}")
    book(funded, TREASURER, f"{gift}\n{charge}")
    assert balances(funded)["1000"] == 5_000


# -- idempotency ------------------------------------------------------------------------------


def test_same_key_same_content_returns_original(funded: UnitOfWork, clock: Clock) -> None:
    first = post_manual_entry(funded, TREASURER, entry(DONATION, key="gift-1"))
    before, bal = counts(funded), balances(funded)
    clock.advance(days=20)  # a late retry, after the month ended and was closed
    close_month(funded, ADMIN, "2026-03", UNRECONCILED)
    before["audit_log"] += 2  # the request and the close
    again = post_manual_entry(funded, TREASURER, entry(DONATION, key="gift-1"))
    assert again.replayed
    assert again.entry == first.entry
    assert counts(funded) == before
    assert balances(funded) == bal


def test_same_amount_written_differently_is_the_same_request(funded: UnitOfWork) -> None:
    first = post_manual_entry(
        funded, TREASURER, entry("2026-03-02 donation 250.00 Dr 1000 Cr 4000 ; gift", key="gift-1")
    )
    again = post_manual_entry(
        funded, TREASURER, entry("2026-03-02 donation 250 Dr 1000 Cr 4000 ; gift", key="gift-1")
    )
    assert again.replayed and again.entry.id == first.entry.id


DIFFERENT_CONTENT = [
    ("2026-03-02 donation 250.00 EUR Dr 1000 Cr 4000 ; gift from a church", "description"),
    ("2026-03-03 donation 250.00 EUR Dr 1000 Cr 4000 ; gift from a parish", "booking_date"),
    ("2026-03-02 capital 250.00 EUR Dr 1000 Cr 4000 ; gift from a parish", "kind"),
    ("2026-03-02 donation 250.01 EUR Dr 1000 Cr 4000 ; gift from a parish", "legs"),
    ("2026-03-02 donation 250.00 EUR Dr 1000 Cr 3000 ; gift from a parish", "legs"),
]


def test_same_key_different_content_names_the_field(funded: UnitOfWork) -> None:
    post_manual_entry(funded, TREASURER, entry(DONATION, key="gift-1"))
    before = counts(funded)
    for line, field in DIFFERENT_CONTENT:
        with pytest.raises(IdempotencyConflict, match=f"gift-1.*{field}") as err:
            post_manual_entry(funded, TREASURER, entry(line, key="gift-1"))
        assert err.value.field == field
        assert err.value.status == 409
    assert counts(funded) == before


def test_key_reused_for_another_command_refused(funded: UnitOfWork) -> None:
    post_manual_entry(funded, TREASURER, entry(DONATION, key="k-1"))
    with pytest.raises(IdempotencyConflict, match="post_entry") as err:
        reverse_entry(funded, TREASURER, 2, idempotency_key="k-1")
    assert err.value.field == "command"


def test_refused_request_does_not_use_up_its_key(funded: UnitOfWork) -> None:
    with pytest.raises(Overdraft):
        post_manual_entry(
            funded, TREASURER, entry("2026-03-02 bank_charge 20000.00 Dr 6100 Cr 1000", key="c-1")
        )
    posted = post_manual_entry(
        funded, TREASURER, entry("2026-03-02 bank_charge 20.00 Dr 6100 Cr 1000", key="c-1")
    )
    assert not posted.replayed


def test_two_drafts_sharing_a_key_refused(funded: UnitOfWork) -> None:
    before = counts(funded)
    with pytest.raises(ValidationError, match="share the idempotency key dup-1") as err:
        post(funded, TREASURER, [entry(DONATION, key="dup-1"), entry(DONATION, key="dup-1")])
    assert err.value.field == "idempotency_key"
    assert counts(funded) == before


def test_batch_mixing_replays_and_new_entries(funded: UnitOfWork) -> None:
    first = post_manual_entry(funded, TREASURER, entry(DONATION, key="a"))
    results = post(
        funded,
        TREASURER,
        [
            entry("2026-03-03 donation 1.00 Dr 1000 Cr 4000", key="b"),
            entry(DONATION, key="a"),
            entry("2026-03-04 donation 2.00 Dr 1000 Cr 4000"),
        ],
    )
    assert [(r.entry.id, r.replayed) for r in results] == [(3, False), (2, True), (4, False)]
    assert results[1].entry == first.entry
    assert_verified(funded)


# -- reversals --------------------------------------------------------------------------------


def test_reversal_mirrors_and_restores_balances(funded: UnitOfWork, clock: Clock) -> None:
    before = balances(funded)
    original = post_manual_entry(funded, TREASURER, entry(DONATION)).entry
    rev = reverse_entry(funded, TREASURER, original.id).entry
    assert rev.kind is EntryKind.REVERSAL
    assert rev.reverses_id == original.id
    assert rev.booking_date == clock.now.date()
    assert sorted((leg.account_code, leg.minor) for leg in rev.legs) == sorted(
        (leg.account_code, -leg.minor) for leg in original.legs
    )
    assert balances(funded) == before
    # The original stays visible, marked as reversed.
    shown = get_entry(funded, AUDITOR, original.id)
    assert shown.reversed_by_id == rev.id
    assert shown.description == original.description
    assert_verified(funded)


def test_second_reversal_refused(funded: UnitOfWork) -> None:
    rev = reverse_entry(funded, TREASURER, 1)
    before = counts(funded)
    with pytest.raises(AlreadyReversed, match=f"already reversed by entry {rev.entry.id}") as err:
        reverse_entry(funded, TREASURER, 1)
    assert err.value.field == "entry_id"
    assert counts(funded) == before


def test_one_batch_cannot_reverse_an_entry_twice(funded: UnitOfWork) -> None:
    original = last_entry(funded)
    rev = entry("2026-03-10 reversal 10000.00 Dr 3000 Cr 1000", reverses_id=original.id)
    with pytest.raises(AlreadyReversed):
        post(funded, TREASURER, [rev, rev])


def test_reversal_retry_with_key_is_replayed(funded: UnitOfWork) -> None:
    first = reverse_entry(funded, TREASURER, 1, idempotency_key="undo-1")
    again = reverse_entry(funded, TREASURER, 1, idempotency_key="undo-1")
    assert again.replayed and again.entry == first.entry


def test_reversal_of_reversal_allowed_once(funded: UnitOfWork) -> None:
    rev = reverse_entry(funded, TREASURER, 1).entry
    redo = reverse_entry(funded, TREASURER, rev.id).entry
    assert redo.reverses_id == rev.id
    assert balances(funded)["1000"] == 1_000_000
    with pytest.raises(AlreadyReversed):
        reverse_entry(funded, TREASURER, rev.id)
    assert_verified(funded)


def test_reversal_dated_before_its_entry_refused(funded: UnitOfWork) -> None:
    with pytest.raises(ValidationError, match="before its entry") as err:
        reverse_entry(funded, TREASURER, 1, booking_date=date(2026, 2, 28))
    assert err.value.field == "booking_date"


def test_reversal_of_missing_entry(funded: UnitOfWork) -> None:
    with pytest.raises(NotFound, match="42"):
        reverse_entry(funded, TREASURER, 42)


def test_reversal_refused_when_it_would_overdraw(funded: UnitOfWork) -> None:
    post_manual_entry(funded, TREASURER, entry("2026-03-02 bank_charge 10000.00 Dr 6100 Cr 1000"))
    with pytest.raises(Overdraft):
        reverse_entry(funded, TREASURER, 1)


def test_entry_in_closed_month_is_reversed_in_an_open_one(funded: UnitOfWork, clock: Clock) -> None:
    post_manual_entry(funded, TREASURER, entry(DONATION))
    clock.advance(days=20)
    close_month(funded, ADMIN, "2026-03", UNRECONCILED)
    with pytest.raises(ClosedPeriod, match="2026-03"):
        reverse_entry(funded, TREASURER, 2, booking_date=date(2026, 3, 31))
    rev = reverse_entry(funded, TREASURER, 2).entry
    assert rev.booking_date == date(2026, 4, 4)


# -- closed accounts --------------------------------------------------------------------------


def test_closed_account_takes_no_postings(funded: UnitOfWork) -> None:
    closed = close_account(funded, TREASURER, "6000")
    assert closed.is_closed
    before = counts(funded)
    with pytest.raises(ClosedAccount, match="6000") as err:
        post_manual_entry(funded, TREASURER, entry("2026-03-02 adjustment 1.00 Dr 6000 Cr 1000"))
    assert err.value.field == "legs"
    assert counts(funded) == before
    with pytest.raises(ClosedAccount, match="already closed"):
        close_account(funded, TREASURER, "6000")
    assert "6000" not in {line.account.code for line in trial_balance(funded, AUDITOR).lines}


def test_account_with_a_balance_cannot_be_closed(funded: UnitOfWork) -> None:
    with pytest.raises(Conflict, match=r"10000\.00") as err:
        close_account(funded, TREASURER, "1000")
    assert err.value.field == "account"
    post_manual_entry(funded, TREASURER, entry("2026-03-02 transfer 10000.00 Dr 3000 Cr 1000"))
    assert close_account(funded, ADMIN, "1000").is_closed


def test_control_account_with_open_sub_account_cannot_be_closed(funded: UnitOfWork) -> None:
    open_account(
        funded,
        TREASURER,
        AccountSpec(
            "1200.1", "Loan", AccountType.ASSET, "EUR", AccountRole.LOAN, parent_code="1200"
        ),
    )
    with pytest.raises(Conflict, match="sub-accounts"):
        close_account(funded, TREASURER, "1200")
    close_account(funded, TREASURER, "1200.1")
    assert close_account(funded, TREASURER, "1200").is_closed


# -- bulk -------------------------------------------------------------------------------------


@pytest.fixture
def commits(engine: Engine) -> Iterator[list[object]]:
    """Every COMMIT sent on the engine while the test runs."""
    seen: list[object] = []

    def on_commit(conn: Any) -> None:
        seen.append(conn)

    event.listen(engine, "commit", on_commit)
    yield seen
    event.remove(engine, "commit", on_commit)


def small_gifts(count: int, *, key_prefix: str = "bulk") -> list[EntryDraft]:
    start = date(2026, 3, 1)
    return [
        entry(
            f"{start + timedelta(days=i % 15)} donation {1 + i % 7}.{i % 100:02d} Dr 1000 Cr 4000",
            key=f"{key_prefix}-{i}",
        )
        for i in range(count)
    ]


def test_bulk_posting_of_a_thousand_drafts_in_one_commit(
    funded: UnitOfWork, commits: list[object]
) -> None:
    drafts = small_gifts(1000)
    total = sum(d.legs[0].minor for d in drafts)
    results = post(funded, TREASURER, drafts)
    assert len(commits) == 1
    assert [r.entry.id for r in results] == list(range(2, 1002))
    assert not any(r.replayed for r in results)
    assert balances(funded)["1000"] == 1_000_000 + total
    with funded:
        records, _ = funded.audit.page(actor=None, action="post_entry", limit=5, offset=0)
    assert records[0].target == "entries"
    assert records[0].details is not None and len(records[0].details["entries"]) == 1000
    assert_verified(funded)
    # A retry of part of the batch (one replay is a few queries: keep the sample small).
    before = counts(funded)
    again = post(funded, TREASURER, drafts[::20])
    assert all(r.replayed for r in again)
    assert [r.entry for r in again] == [r.entry for r in results[::20]]
    assert counts(funded) == before


# Each runs into the state set up below: Feb closed, 6000 closed, entry 2 (key "early") reversed.
BAD_DRAFTS = {
    "overdraft": (entry("2026-03-14 bank_charge 99999.00 Dr 6100 Cr 1000", key="bad"), Overdraft),
    "closed month": (entry("2026-02-27 donation 1.00 Dr 1000 Cr 4000", key="bad"), ClosedPeriod),
    "closed account": (
        entry("2026-03-14 adjustment 1.00 Dr 6000 Cr 4000", key="bad"),
        ClosedAccount,
    ),
    "second reversal": (
        entry("2026-03-14 reversal 5.00 Dr 4000 Cr 1000", reverses_id=2, key="bad"),
        AlreadyReversed,
    ),
    "key reused": (
        entry("2026-03-10 donation 5.01 Dr 1000 Cr 4000", key="early"),
        IdempotencyConflict,
    ),
}


def test_refused_bulk_leaves_nothing_half_written(funded: UnitOfWork) -> None:
    close_month(funded, TREASURER, "2026-02")
    close_account(funded, TREASURER, "6000")
    post_manual_entry(
        funded, TREASURER, entry("2026-03-10 donation 5.00 Dr 1000 Cr 4000", key="early")
    )
    reverse_entry(funded, TREASURER, 2)
    before, bal = counts(funded), balances(funded)

    for position in (0, 50, 100):  # first, among good drafts, after all of them
        for name, (draft, error) in BAD_DRAFTS.items():
            drafts = small_gifts(100)
            drafts.insert(position, draft)
            with pytest.raises(error):
                post(funded, TREASURER, drafts)
            assert counts(funded) == before, (name, position)
            assert balances(funded) == bal, (name, position)
    # None of the good drafts' keys was kept: posting them now is new, not a replay.
    results = post(funded, TREASURER, small_gifts(100))
    assert not any(r.replayed for r in results)
    assert_verified(funded)
