"""The auditor's quick reads give what the full computations give, on both engines: the trial
balance as of a past day from the cached balances less the legs booked after it (or the legs up
to it), and the journal paged by entry number (keyset) against the whole list."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from ledger.domain.accounts import AccountRole, AccountSpec, AccountType
from ledger.domain.journal import Entry, JournalFilter
from ledger.domain.money import money
from ledger.domain.paging import IdPage, Window
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.domain.statuses import EntryKind
from ledger.services import journal, reports
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book

TOM = Actor("tom.treasurer", Role.TREASURER)

#: Booked out of date order (statements arrive late), in two currencies, on two loans'
#: sub-accounts of the loans receivable control account.
LEDGER = """
2026-02-20 capital 5000.00 Dr 1000 Cr 3000
2026-02-20 capital 900.00 CHF Dr 1001 Cr 3001
2026-03-02 disbursement 1200.00 Dr 1200.1 Cr 1000
2026-02-25 donation 120.00 Dr 1000 Cr 4000
2026-03-05 disbursement 800.00 Dr 1200.2 Cr 1000
2026-03-09 repayment 100.00 Dr 1000 Cr 1200.1
2026-03-03 bank_charge 4.20 Dr 6100 Cr 1000
2026-03-10 donation 60.00 CHF Dr 1001 Cr 3001
2026-03-14 repayment 50.00 Dr 1000 Cr 1200.2
2026-03-01 bank_charge 1.10 CHF Dr 6101 Cr 1001
2026-03-15 donation 30.00 Dr 1000 Cr 4000
"""


@pytest.fixture
def books(chart: UnitOfWork) -> UnitOfWork:
    journal.install_chart(
        chart,
        SYSTEM,
        [
            AccountSpec("1001", "Bank CHF", AccountType.ASSET, "CHF", AccountRole.BANK),
            AccountSpec("3001", "Capital CHF", AccountType.EQUITY, "CHF", AccountRole.FUND_CAPITAL),
            AccountSpec("6101", "Bank charges CHF", AccountType.EXPENSE, "CHF", AccountRole.OTHER),
            *(
                AccountSpec(
                    f"1200.{n}", f"Loan {n}", AccountType.ASSET, "EUR", AccountRole.LOAN, "1200"
                )
                for n in (1, 2)
            ),
        ],
    )
    entries = book(chart, TREASURER, LEDGER)
    # Reversed later than booked: a gift (EUR) and a bank charge (CHF); the first reversal
    # falls between the days looked at below, the second on the last day.
    gift = next(e for e in entries if e.kind is EntryKind.DONATION)
    charge = next(e for e in entries if e.legs[0].account_code == "6101")
    journal.reverse_entry(chart, TREASURER, gift.id, booking_date=date(2026, 3, 6))
    journal.reverse_entry(chart, TREASURER, charge.id, booking_date=date(2026, 3, 15))
    return chart


def _days() -> list[date]:
    """Every day from before the first booking to after today (2026-03-15)."""
    first = date(2026, 2, 18)
    return [first + timedelta(days=n) for n in range((date(2026, 3, 17) - first).days + 1)]


def test_cached_balances_less_the_legs_after_a_day_are_the_legs_up_to_it(
    books: UnitOfWork,
) -> None:
    """The identities the quick trial balance rests on, for every day and every account, and
    the choice between its three ways (each day whichever way it takes)."""
    with UnitOfWork(books.engine, clock=books.clock, readonly=True) as uow:
        accounts = uow.accounts.all()
        cached = {a.id: a.balance_minor for a in accounts if not a.is_control}
        assert uow.journal.booking_span() == (date(2026, 2, 20), date(2026, 3, 15))
        for day in _days():
            full = uow.journal.balances_as_of(day)
            later = uow.journal.sums_booked(after=day)
            quick = {aid: minor - later.get(aid, 0) for aid, minor in cached.items()}
            assert _nonzero(quick) == _nonzero(full), day
            assert _nonzero(uow.journal.sums_booked(until=day)) == _nonzero(full), day
            assert _nonzero(journal.balances_on(uow, accounts, day)) == _nonzero(full), day
        assert journal.balances_on(uow, accounts, None) == cached


@pytest.mark.parametrize("readonly", [True, False])
def test_the_trial_balance_as_of_any_day_is_the_legs_summed(
    books: UnitOfWork, engine: Engine, clock: Clock, readonly: bool
) -> None:
    """Through the services, in a read-only unit of work (one snapshot: the quick way) and in
    a writing one (on PostgreSQL each query sees its own moment: the legs are summed)."""
    for day in [None, *_days()]:
        full = _full(engine, clock, day)
        writing = UnitOfWork(engine, clock=clock, readonly=readonly)
        quick = journal.trial_balance(writing, AUDITOR, day)
        assert _lines(quick) == _lines(full), day
        assert quick.totals == full.totals and quick.balanced, day
        summary = journal.trial_balance_summary(
            UnitOfWork(engine, clock=clock, readonly=readonly), AUDITOR, day
        )
        assert summary.totals == full.totals
        rolled = {li.account.code: li.balance_minor for li in summary.lines}
        loans = sum(m for code, m in _lines(full).items() if code.startswith("1200."))
        assert rolled["1200"] == loans, day
        assert {c: m for c, m in rolled.items() if c != "1200"} == {
            c: m for c, m in _lines(full).items() if not c.startswith("1200.")
        }, day
    # Some days the books differ: the comparisons above were not all of empty books.
    march_4 = _lines(_full(engine, clock, date(2026, 3, 4)))
    assert march_4["1000"] == 500_000 + 12_000 - 120_000 - 420
    assert march_4["1001"] == 90_000 - 110
    assert march_4["1200.1"] == 120_000 and march_4["4000"] == -12_000


def test_the_trial_balance_csv_is_the_legs_summed(
    books: UnitOfWork, engine: Engine, clock: Clock
) -> None:
    for day in (date(2026, 3, 1), date(2026, 3, 10), date(2026, 3, 14)):
        uow = UnitOfWork(engine, clock=clock, readonly=True)
        rows = list(csv.reader(io.StringIO(reports.trial_balance_csv(uow, AUDITOR, day))))
        signed = {
            code: int(Decimal(debit or "0") * 100) - int(Decimal(credit or "0") * 100)
            for code, _, _, _, debit, credit in rows[1:]
            if code
        }
        assert signed == _lines(_full(engine, clock, day)), day


def _full(engine: Engine, clock: Clock, day: date | None) -> journal.TrialBalance:
    """The trial balance from every leg up to the day: what the quick one must equal."""
    with UnitOfWork(engine, clock=clock) as uow:
        return journal.compute_trial_balance(uow, day)


def _nonzero(sums: dict[int, int] | object) -> dict[int, int]:
    assert isinstance(sums, dict)
    return {aid: minor for aid, minor in sums.items() if minor}


def _lines(tb: journal.TrialBalance) -> dict[str, int]:
    return {line.account.code: line.balance_minor for line in tb.lines}


# -- the journal by number ----------------------------------------------------------------------


@pytest.fixture
def many(chart: UnitOfWork) -> UnitOfWork:
    """62 entries: two treasurers, three kinds, amounts from 1.00 to 60.00, over two weeks."""
    book(chart, TREASURER, "2026-03-01 capital 10000.00 Dr 1000 Cr 3000")
    kinds = ("donation", "bank_charge", "transfer")
    accounts = {"donation": "Dr 1000 Cr 4000", "bank_charge": "Dr 6100 Cr 1000"}
    lines = [
        f"2026-03-{1 + n % 14:02d} {kinds[n % 3]} {n + 1}.00 "
        f"{accounts.get(kinds[n % 3], 'Dr 2100 Cr 1000')} ; entry {n}"
        for n in range(60)
    ]
    book(chart, TREASURER, "\n".join(lines[:30]))
    book(chart, TOM, "\n".join(lines[30:]))
    book(chart, TOM, "2026-03-15 donation 5.00 Dr 1000 Cr 4000 ; the last")
    return chart


FILTERS = [
    JournalFilter(),
    JournalFilter(kind=EntryKind.DONATION),
    JournalFilter(author=TOM.name),
    JournalFilter(author=TOM.name, kind=EntryKind.TRANSFER),
    JournalFilter(account_code="1000", amount_min=money("20", "EUR")),
    JournalFilter(account_code="6100", amount_min=money("3", "EUR"), amount_max=money("40", "EUR")),
    JournalFilter(date_from=date(2026, 3, 4), date_to=date(2026, 3, 9)),
    JournalFilter(author="nobody"),
]


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: repr(f)[13:60])
def test_the_journal_by_number_pages_through_what_the_filter_finds(
    many: UnitOfWork, engine: Engine, clock: Clock, flt: JournalFilter
) -> None:
    """Next page after next page (before the last one shown) finds every entry the filter
    finds, newest first, each page saying where it stands; previous pages (after the first one
    shown) lead back to the newest."""
    everything, total = journal.list_entries(
        UnitOfWork(engine, clock=clock), AUDITOR, flt, limit=500, latest_first=True
    )
    expected = [e.id for e in everything]
    assert total == len(expected)
    if flt == JournalFilter():
        assert expected == list(range(62, 0, -1))

    def read(window: Window) -> IdPage[Entry]:
        uow = UnitOfWork(engine, clock=clock, readonly=True)
        return journal.journal_page(uow, AUDITOR, flt, window, limit=7)

    pages = [read(Window())]
    while pages[-1].has_older:
        assert pages[-1].last_id is not None
        pages.append(read(Window(before=pages[-1].last_id)))
    seen = [e.id for p in pages for e in p.items]
    assert seen == expected
    position = 0
    for p in pages:
        assert (p.total, p.first, p.last) == (total, position + 1, position + len(p.items))
        assert p.has_newer == (position > 0)
        position += len(p.items)
    # Back from the last page: each previous page is the one shown before it, the newest whole.
    for shown_before, p in zip(reversed(pages[:-1]), reversed(pages[1:]), strict=True):
        assert p.first_id is not None
        back = read(Window(after=p.first_id))
        if len(shown_before.items) == 7:
            assert [e.id for e in back.items] == [e.id for e in shown_before.items]
    # After an entry near the top, fewer than a page are newer: the newest page, whole.
    if len(expected) > 2:
        assert [e.id for e in read(Window(after=expected[2])).items] == expected[:7]
    # From any entry number, the next page is the entries below it.
    for cut in (1, 2, 30, 61, 62, 63, 10**6):
        page = read(Window(before=cut))
        below = [i for i in expected if i < cut]
        assert [e.id for e in page.items] == below[:7], cut
        assert page.newer == len(expected) - len(below), cut
    # And a link made with an offset still shows its page.
    deep = read(Window(offset=10))
    assert [e.id for e in deep.items] == expected[10:17] and deep.newer == min(10, total)
