"""The auditor: random operations through the real services and database, each result predicted.

In the spirit of TigerBeetle's auditor, a model of the books (every account's balance, every
entry and the day it is booked on, every idempotency key, closed months and accounts) predicts
the outcome of each operation: which entry id it gets, or exactly which refusal. After every
step the database is checked against the model: cached balances, balances as of a past date,
the trial balance, and `verify` (hash chain, legs, cached balances) from the legs up.

The same machine runs on SQLite and on PostgreSQL, each example on a fresh database.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import Engine

from ledger.domain.accounts import default_chart
from ledger.domain.errors import (
    AlreadyReversed,
    ClosedAccount,
    ClosedPeriod,
    Conflict,
    IdempotencyConflict,
    PermissionDenied,
    ValidationError,
)
from ledger.domain.errors import Overdraft as OverdraftError
from ledger.domain.journal import MANUAL_KINDS, EntryDraft, Leg, month_of
from ledger.domain.money import from_minor, split_evenly
from ledger.domain.roles import SYSTEM
from ledger.domain.statuses import EntryKind
from ledger.services.journal import (
    balance,
    close_account,
    install_chart,
    post,
    post_manual_entry,
    reverse_entry,
    trial_balance,
)
from ledger.services.periods import month_end, reopen_month
from ledger.services.verify import verify
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.db import fresh_sqlite, reset_postgres
from tests.support.periods import SIGNER, close_month
from tests.support.profiles import examples

START = date(2026, 1, 1)  # the first day entries may be booked on
CLOCK_START = datetime(2026, 1, 20, 9, 30, tzinfo=UTC)
CHART = default_chart("EUR")
CODES = [spec.code for spec in CHART]  # 1200 is a control account: postings to it are refused
CONTROL = {spec.code for spec in CHART if spec.is_control}
NO_OVERDRAFT = {spec.code for spec in CHART if spec.no_overdraft}  # the bank, an asset
MANUAL = sorted(MANUAL_KINDS)
# Postable accounts most of the time, the control account (refused) now and then.
ACCOUNTS = st.sampled_from([c for c in CODES if c not in CONTROL] * 6 + sorted(CONTROL))
TOMORROW_ONCE_IN_A_WHILE = [False] * 19 + [True]
Legs = tuple[tuple[str, int], ...]
T = TypeVar("T")

# Every step is checked against the whole database (verify included), so examples are few but
# long. PostgreSQL pays a TRUNCATE per example and a round trip per query: it runs fewer of them,
# the SQLite machine explores more.
SQLITE_SETTINGS = settings(
    max_examples=examples(25),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
POSTGRES_SETTINGS = settings(SQLITE_SETTINGS, max_examples=examples(12), stateful_step_count=25)

#: The machine imports no bank statement: its months are closed by an admin, saying why.
UNRECONCILED = "closed without the bank's statement (a model run)"


@dataclass
class ModelEntry:
    day: date
    legs: Legs
    reversed: bool = False


@dataclass
class KeyUse:
    command: str
    entry_id: int
    day: date
    draft: EntryDraft | None = None  # what a post_entry key was first sent with
    reverses_id: int | None = None  # what a reverse_entry key reversed


@dataclass
class Model:
    entries: dict[int, ModelEntry] = field(default_factory=dict)
    keys: dict[str, KeyUse] = field(default_factory=dict)
    closed_months: set[str] = field(default_factory=set)
    closed_accounts: set[str] = field(default_factory=set)

    def balances(self, as_of: date | None = None) -> dict[str, int]:
        out = dict.fromkeys(CODES, 0)
        for e in self.entries.values():
            if as_of is None or e.day <= as_of:
                for code, minor in e.legs:
                    out[code] += minor
        return out

    def refusal(self, day: date, legs: Legs, balances: dict[str, int]) -> type[Exception] | None:
        """What the ledger must answer to these legs, in the order it checks (None: posted)."""
        if month_of(day) in self.closed_months:
            return ClosedPeriod
        for code, _ in legs:
            if code in self.closed_accounts:
                return ClosedAccount
            if code in CONTROL:
                return ValidationError
        after = dict(balances)
        for code, minor in legs:
            after[code] += minor
        if any(after[code] < 0 for code, _ in legs if code in NO_OVERDRAFT):
            return OverdraftError
        return None

    def overdrawn_on_a_past_day(self, drafts: list[tuple[date, Legs]]) -> bool:
        """Whether drafts (that pass every other check) would leave an account that may not
        be overdrawn below zero at the end of a day: from the earliest day they take money
        from it, every day a draft or a posted entry moves it."""
        for code in NO_OVERDRAFT:
            taking = [day for day, legs in drafts for c, minor in legs if c == code and minor < 0]
            if not taking:
                continue
            start = min(taking)
            moved = [(e.day, m) for e in self.entries.values() for c, m in e.legs if c == code]
            moved += [(day, m) for day, legs in drafts for c, m in legs if c == code]
            for day in sorted({start} | {d for d, _ in moved if d >= start}):
                if sum(m for d, m in moved if d <= day) < 0:
                    return True
        return False


def legs_of(draft: EntryDraft) -> Legs:
    return tuple((leg.account_code, leg.minor) for leg in draft.legs)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = self.open_database()
        self.clock = Clock(CLOCK_START)
        self.uow = UnitOfWork(self.engine, clock=self.clock)
        install_chart(self.uow, SYSTEM, CHART)
        self.model = Model()
        self.serial = 0
        # Some capital to start from, so that payments out of the bank are not all refused.
        capital = from_minor(300_000, "EUR")
        first = EntryDraft(
            START,
            "capital",
            EntryKind.CAPITAL,
            (Leg.debit("1000", capital), Leg.credit("3000", capital)),
        )
        self.record(post(self.uow, TREASURER, [first])[0].entry.id, START, legs_of(first))

    def open_database(self) -> Engine:
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------
    @property
    def today(self) -> date:
        return self.clock.now.date()

    def fresh_key(self) -> str:
        self.serial += 1
        return f"key-{self.serial}"

    def draw_day(self, data: st.DataObject) -> date:
        # Mostly the past, now and then tomorrow (refused: no booking in the future).
        if data.draw(st.sampled_from(TOMORROW_ONCE_IN_A_WHILE), label="tomorrow"):
            return self.today + timedelta(days=1)
        back = data.draw(st.integers(0, (self.today - START).days), label="days back")
        return self.today - timedelta(days=back)

    def draw_legs(self, data: st.DataObject) -> tuple[Leg, ...]:
        debit = data.draw(ACCOUNTS, label="debit")
        credits = data.draw(st.lists(ACCOUNTS, min_size=1, max_size=2), label="credits")
        bank = self.model.balances()["1000"]
        # Amounts around what the bank holds, to post right up to zero and one cent beyond.
        near_bank = st.sampled_from([max(bank, len(credits)), max(bank + 1, len(credits))])
        amount = data.draw(
            st.integers(len(credits), 50_000) | st.integers(len(credits), 5_000_000) | near_bank,
            label="amount",
        )
        total = from_minor(amount, "EUR")
        parts = split_evenly(total, len(credits))
        return (
            Leg.debit(debit, total),
            *(Leg.credit(c, p) for c, p in zip(credits, parts, strict=True)),
        )

    def expect(
        self, what: str, expected: type[Exception] | None, call: Callable[[], T]
    ) -> T | None:
        """Run ``call``: it must raise exactly ``expected``, or succeed when that is None."""
        event(f"{what}: {expected.__name__ if expected else 'done'}")
        try:
            result = call()
        except Exception as exc:
            assert type(exc) is expected, f"expected {expected}, got {exc!r}"
            return None
        assert expected is None, f"expected {expected.__name__}, but it was accepted"
        return result

    def record(self, entry_id: int, day: date, legs: Legs) -> None:
        assert entry_id == len(self.model.entries) + 1, "entry ids run 1, 2, 3, ... without gaps"
        self.model.entries[entry_id] = ModelEntry(day, legs)

    # -- rules -----------------------------------------------------------------------------
    @rule(data=st.data())
    def post_manual(self, data: st.DataObject) -> None:
        day = self.draw_day(data)
        draft = EntryDraft(
            booking_date=day,
            description=f"manual {self.serial}",
            kind=data.draw(st.sampled_from(MANUAL), label="kind"),
            legs=self.draw_legs(data),
            idempotency_key=self.fresh_key() if data.draw(st.booleans(), label="key") else None,
        )
        legs = legs_of(draft)
        expected = (
            ValidationError
            if day > self.today
            else self.model.refusal(day, legs, self.model.balances())
        )
        if expected is None and self.model.overdrawn_on_a_past_day([(day, legs)]):
            expected = OverdraftError
        posted = self.expect(
            "post", expected, lambda: post_manual_entry(self.uow, TREASURER, draft)
        )
        if posted is not None:
            entry = posted.entry
            assert not posted.replayed
            self.record(entry.id, day, legs)
            if draft.idempotency_key:
                self.model.keys[draft.idempotency_key] = KeyUse("post_entry", entry.id, day, draft)

    @rule(data=st.data())
    def post_batch(self, data: st.DataObject) -> None:
        """Several drafts in one transaction: all posted, or none (the first refusal wins)."""
        count = data.draw(st.integers(2, 4), label="drafts")
        drafts = [
            EntryDraft(
                booking_date=self.draw_day(data),
                description=f"batch {self.serial} #{i}",
                kind=EntryKind.TRANSFER,
                legs=self.draw_legs(data),
            )
            for i in range(count)
        ]
        expected: type[Exception] | None = None
        if any(d.booking_date > self.today for d in drafts):
            expected = ValidationError
        else:
            running = self.model.balances()
            for d in drafts:
                expected = self.model.refusal(d.booking_date, legs_of(d), running)
                if expected:
                    break
                for code, minor in legs_of(d):
                    running[code] += minor
            if expected is None and self.model.overdrawn_on_a_past_day(
                [(d.booking_date, legs_of(d)) for d in drafts]
            ):
                expected = OverdraftError
        results = self.expect("post batch", expected, lambda: post(self.uow, TREASURER, drafts))
        if results is not None:
            assert not any(r.replayed for r in results)
            for d, r in zip(drafts, results, strict=True):
                self.record(r.entry.id, d.booking_date, legs_of(d))

    @precondition(lambda self: any(k.command == "post_entry" for k in self.model.keys.values()))
    @rule(data=st.data())
    def retry_same(self, data: st.DataObject) -> None:
        """Same key, same content: the original entry, nothing posted again."""
        keys = sorted(k for k, use in self.model.keys.items() if use.command == "post_entry")
        use = self.model.keys[data.draw(st.sampled_from(keys), label="key")]
        assert use.draft is not None
        posted = post_manual_entry(self.uow, TREASURER, use.draft)
        assert posted.replayed
        assert posted.entry.id == use.entry_id

    @precondition(lambda self: any(k.command == "post_entry" for k in self.model.keys.values()))
    @rule(data=st.data(), what=st.sampled_from(["description", "booking_date", "kind", "legs"]))
    def retry_different(self, data: st.DataObject, what: str) -> None:
        """Same key, different content: a conflict naming the field, nothing posted."""
        keys = sorted(k for k, use in self.model.keys.items() if use.command == "post_entry")
        key = data.draw(st.sampled_from(keys), label="key")
        d = self.model.keys[key].draft
        assert d is not None
        legs = d.legs
        if what == "legs":  # one cent more on the debit and on the first credit
            cent = from_minor(1, "EUR")
            legs = (
                Leg(legs[0].account_code, legs[0].amount + cent),
                Leg(legs[1].account_code, legs[1].amount - cent),
                *legs[2:],
            )
        changed = EntryDraft(
            booking_date=d.booking_date - timedelta(days=1 if what == "booking_date" else 0),
            description=d.description + (" (edited)" if what == "description" else ""),
            kind=next(k for k in MANUAL if k != d.kind) if what == "kind" else d.kind,
            legs=legs,
            idempotency_key=key,
        )
        with pytest.raises(IdempotencyConflict, match=what) as err:
            post_manual_entry(self.uow, TREASURER, changed)
        assert err.value.field == what

    @precondition(lambda self: any(k.command == "post_entry" for k in self.model.keys.values()))
    @rule(data=st.data())
    def reuse_key_for_reversal(self, data: st.DataObject) -> None:
        keys = sorted(k for k, use in self.model.keys.items() if use.command == "post_entry")
        key = data.draw(st.sampled_from(keys), label="key")
        with pytest.raises(IdempotencyConflict) as err:
            reverse_entry(self.uow, TREASURER, self.model.keys[key].entry_id, idempotency_key=key)
        assert err.value.field == "command"

    @precondition(lambda self: self.model.entries)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from(sorted(self.model.entries)), label="entry")
        original = self.model.entries[entry_id]
        key = self.fresh_key() if data.draw(st.booleans(), label="key") else None
        legs = tuple((code, -minor) for code, minor in original.legs)
        expected = (
            AlreadyReversed
            if original.reversed
            else self.model.refusal(self.today, legs, self.model.balances())
        )
        posted = self.expect(
            "reverse",
            expected,
            lambda: reverse_entry(self.uow, TREASURER, entry_id, idempotency_key=key),
        )
        if posted is not None:
            rev = posted.entry
            assert rev.reverses_id == entry_id
            assert rev.booking_date == self.today
            self.record(rev.id, self.today, legs)
            original.reversed = True
            if key:
                self.model.keys[key] = KeyUse("reverse_entry", rev.id, self.today, None, entry_id)

    @precondition(lambda self: any(k.command == "reverse_entry" for k in self.model.keys.values()))
    @rule(data=st.data())
    def retry_reversal(self, data: st.DataObject) -> None:
        """A reversal is dated today: retried the same day it is the same request, later not."""
        keys = sorted(k for k, use in self.model.keys.items() if use.command == "reverse_entry")
        key = data.draw(st.sampled_from(keys), label="key")
        use = self.model.keys[key]
        assert use.reverses_id is not None
        if use.day == self.today:
            posted = reverse_entry(self.uow, TREASURER, use.reverses_id, idempotency_key=key)
            assert posted.replayed and posted.entry.id == use.entry_id
        else:
            with pytest.raises(IdempotencyConflict) as err:
                reverse_entry(self.uow, TREASURER, use.reverses_id, idempotency_key=key)
            assert err.value.field == "booking_date"

    @rule(days=st.integers(1, 45))
    def advance_clock(self, days: int) -> None:
        self.clock.advance(days=days)

    def draw_month(self, data: st.DataObject) -> str:
        months = []
        day = date(2025, 12, 1)
        while day <= self.today:
            months.append(month_of(day))
            day = month_end(month_of(day)) + timedelta(days=1)
        return data.draw(st.sampled_from(months), label="month")

    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        month = self.draw_month(data)
        end = month_end(month)
        if end >= self.today:
            expected: type[Exception] | None = ValidationError
        elif month in self.model.closed_months:
            expected = Conflict
        else:
            expected = None
        # The machine imports no bank statement, so its months do not reconcile: an admin
        # closes them, saying why (the gate itself is tested in test_reconciliation.py).
        event = self.expect(
            "close month", expected, lambda: close_month(self.uow, ADMIN, month, UNRECONCILED)
        )
        if event is not None:
            self.model.closed_months.add(month)
            # The close asserts each account's balance at month end, as the model has it.
            asserted = event.balances
            assert asserted is not None
            assert (event.actor, event.at, event.reason) == (
                SIGNER.name,
                self.clock.now,
                UNRECONCILED,
            )
            assert asserted["reconciliation"]["requested_by"] == ADMIN.name
            at_end = self.model.balances(end)
            assert asserted["totals"] == {"EUR": 0}
            assert asserted["accounts"] == {
                code: minor
                for code, minor in at_end.items()
                if code not in CONTROL and (minor or code not in self.model.closed_accounts)
            }

    @precondition(lambda self: self.model.closed_months)
    @rule(data=st.data())
    def post_into_closed_month(self, data: st.DataObject) -> None:
        month = data.draw(st.sampled_from(sorted(self.model.closed_months)), label="month")
        day = month_end(month) - timedelta(days=data.draw(st.integers(0, 27), label="day"))
        draft = EntryDraft(day, "late", EntryKind.DONATION, self.draw_legs(data))
        legs = legs_of(draft)
        assert self.model.refusal(day, legs, self.model.balances()) is ClosedPeriod
        with pytest.raises(ClosedPeriod):
            post_manual_entry(self.uow, TREASURER, draft)

    @rule(data=st.data())
    def reopen(self, data: st.DataObject) -> None:
        month = self.draw_month(data)
        with pytest.raises(PermissionDenied):
            reopen_month(self.uow, TREASURER, month, "not mine to reopen")
        expected = None if month in self.model.closed_months else Conflict
        self.expect(
            "reopen month", expected, lambda: reopen_month(self.uow, ADMIN, month, "correction")
        )
        self.model.closed_months.discard(month)

    @rule(code=st.sampled_from([c for c in CODES if c not in CONTROL]))
    def close_an_account(self, code: str) -> None:
        if code in self.model.closed_accounts:
            expected: type[Exception] | None = ClosedAccount
        elif self.model.balances()[code] != 0:
            expected = Conflict
        else:
            expected = None
        self.expect("close account", expected, lambda: close_account(self.uow, TREASURER, code))
        if expected is None:
            self.model.closed_accounts.add(code)

    @rule(data=st.data())
    def look_back(self, data: st.DataObject) -> None:
        """Any account's balance at the end of any past day is what the model says."""
        day = START + timedelta(days=data.draw(st.integers(-3, (self.today - START).days)))
        code = data.draw(st.sampled_from(CODES), label="account")
        expected = from_minor(self.model.balances(day)[code], "EUR")
        assert balance(self.uow, AUDITOR, code, as_of=day) == expected

    # -- invariants ------------------------------------------------------------------------
    @invariant()
    def cached_balances_match_the_model(self) -> None:
        with self.uow:
            accounts = self.uow.accounts.all()
        assert {a.code: a.balance_minor for a in accounts} == self.model.balances()
        assert {a.code for a in accounts if a.is_closed} == self.model.closed_accounts

    @invariant()
    def past_balances_match_the_history(self) -> None:
        if not self.model.entries:
            return
        # The day before the latest booking date: the most recent history that differs from now.
        day = max(e.day for e in self.model.entries.values()) - timedelta(days=1)
        expected = self.model.balances(day)
        tb = trial_balance(self.uow, AUDITOR, day)
        assert tb.balanced
        assert {line.account.code: line.balance_minor for line in tb.lines} == {
            code: minor
            for code, minor in expected.items()
            if code not in CONTROL and (minor or code not in self.model.closed_accounts)
        }
        assert balance(self.uow, AUDITOR, "1000", as_of=day) == from_minor(expected["1000"], "EUR")

    @invariant()
    def trial_balance_is_zero(self) -> None:
        tb = trial_balance(self.uow, AUDITOR)
        assert tb.balanced
        assert tb.totals == {"EUR": 0}

    @invariant()
    def books_verify(self) -> None:
        report = verify(self.uow, AUDITOR)
        assert report.ok, report.summary()
        assert report.entries == len(self.model.entries)
        assert report.legs == sum(len(e.legs) for e in self.model.entries.values())


# -- one test case per engine ---------------------------------------------------------------


class SQLiteLedgerMachine(LedgerMachine):
    template: ClassVar[Path]
    workdir: ClassVar[Path]

    def open_database(self) -> Engine:
        self.directory = Path(tempfile.mkdtemp(dir=self.workdir))
        return fresh_sqlite(self.template, self.directory)

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresLedgerMachine(LedgerMachine):
    shared_engine: ClassVar[Engine]

    def open_database(self) -> Engine:
        reset_postgres(self.shared_engine)
        return self.shared_engine


class TestLedgerOnSQLite(SQLiteLedgerMachine.TestCase):  # type: ignore[misc,valid-type]
    settings = SQLITE_SETTINGS

    @pytest.fixture(autouse=True)
    def _database(self, sqlite_template: Path, tmp_path: Path) -> Iterator[None]:
        SQLiteLedgerMachine.template = sqlite_template
        SQLiteLedgerMachine.workdir = tmp_path
        yield


@pytest.mark.postgres
class TestLedgerOnPostgres(PostgresLedgerMachine.TestCase):  # type: ignore[misc,valid-type]
    settings = POSTGRES_SETTINGS

    @pytest.fixture(autouse=True)
    def _database(self, pg_session_engine: Engine) -> Iterator[None]:
        # pg_session_engine skips without FUNDLEDGER_TEST_POSTGRES_URL, and fails under CI.
        PostgresLedgerMachine.shared_engine = pg_session_engine
        yield


def test_model_predicts_refusals_in_the_ledgers_order() -> None:
    """The model's own rules, on a tiny case (so a wrong model cannot hide a wrong ledger)."""
    model = Model()
    legs: Legs = (("1000", -100), ("4000", 100))
    assert model.refusal(date(2026, 1, 5), legs, model.balances()) is OverdraftError
    model.closed_accounts.add("4000")
    assert model.refusal(date(2026, 1, 5), legs, model.balances()) is ClosedAccount
    model.closed_months.add("2026-01")
    assert model.refusal(date(2026, 1, 5), legs, model.balances()) is ClosedPeriod
    assert model.refusal(date(2026, 2, 5), (("1200", 1), ("3000", -1)), {}) is ValidationError
    # The bank had 5 from 5 January: taking 5 on the 4th leaves it below zero that day.
    past = Model()
    past.entries[1] = ModelEntry(date(2026, 1, 5), (("1000", 5), ("3000", -5)))
    assert past.overdrawn_on_a_past_day([(date(2026, 1, 4), (("1000", -5), ("4000", 5)))])
    assert not past.overdrawn_on_a_past_day([(date(2026, 1, 5), (("1000", -5), ("4000", 5)))])
    model.entries[1] = ModelEntry(date(2026, 1, 5), (("1000", 5), ("3000", -5)))
    assert model.balances(date(2026, 1, 4))["1000"] == 0
    assert model.balances(date(2026, 1, 5))["1000"] == 5
