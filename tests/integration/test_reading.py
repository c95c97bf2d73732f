"""Reading the books: balances as of a past date, statements, trial balance, journal pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from ledger.domain.accounts import AccountRole, AccountSpec, AccountType
from ledger.domain.errors import NotFound, ValidationError
from ledger.domain.journal import AccountStatementLine, JournalFilter
from ledger.domain.money import from_minor, money
from ledger.domain.roles import SYSTEM
from ledger.domain.statuses import EntryKind
from ledger.services.journal import (
    balance,
    get_account,
    get_entry,
    install_chart,
    list_accounts,
    list_entries,
    open_account,
    post,
    reverse_entry,
    statement,
    trial_balance,
)
from ledger.services.verify import verify
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, TREASURER
from tests.support.ledgertext import book, entry

# Posted in this order; booked out of order (backdated entries are common: bank statements
# arrive late), so date order and posting order differ.
LEDGER = """
2026-03-01 capital 5000.00 Dr 1000 Cr 3000
2026-03-10 donation 120.00 Dr 1000 Cr 4000
2026-03-03 bank_charge 4.20 Dr 6100 Cr 1000
2026-03-10 donation 80.00 Dr 1000 Cr 4000
2026-03-05 transfer 300.00 Dr 2100 Cr 1000
2026-02-20 capital 1000.00 Dr 1000 Cr 3000
2026-03-14 bank_charge 0.80 Dr 6100 Cr 1000
"""


@pytest.fixture
def books(chart: UnitOfWork) -> UnitOfWork:
    book(chart, TREASURER, LEDGER)
    return chart


def bank_movements() -> list[tuple[date, int, int]]:
    """(booking date, entry id, amount on 1000) for LEDGER, in statement order."""
    rows = []
    for entry_id, line in enumerate(LEDGER.strip().splitlines(), start=1):
        draft = entry(line)
        for leg in draft.legs:
            if leg.account_code == "1000":
                rows.append((draft.booking_date, entry_id, leg.minor))
    return sorted(rows)


def test_balance_as_of_a_past_date(books: UnitOfWork) -> None:
    moves = bank_movements()
    day = date(2026, 2, 18)
    while day <= date(2026, 3, 15):
        expected = sum(amount for booked, _, amount in moves if booked <= day)
        assert balance(books, AUDITOR, "1000", as_of=day) == from_minor(expected, "EUR"), day
        day += timedelta(days=1)
    assert balance(books, AUDITOR, "1000") == from_minor(sum(m[2] for m in moves), "EUR")
    assert balance(books, AUDITOR, "4000", as_of=date(2026, 3, 9)) == money("0", "EUR")
    assert balance(books, AUDITOR, "4000", as_of=date(2026, 3, 10)) == money("-200", "EUR")


def test_balance_as_of_counts_reversals_on_their_own_date(books: UnitOfWork) -> None:
    reverse_entry(books, TREASURER, 2, booking_date=date(2026, 3, 12))
    assert balance(books, AUDITOR, "4000", as_of=date(2026, 3, 11)) == money("-200", "EUR")
    assert balance(books, AUDITOR, "4000", as_of=date(2026, 3, 12)) == money("-80", "EUR")


def test_statement_running_balance(books: UnitOfWork) -> None:
    st = statement(books, AUDITOR, "1000")
    moves = bank_movements()
    assert st.opening_minor == 0
    assert st.total == len(moves)
    running = 0
    for line, (booked, entry_id, amount) in zip(st.lines, moves, strict=True):
        running += amount
        assert (line.booking_date, line.entry_id, line.amount_minor) == (booked, entry_id, amount)
        assert line.running_minor == running
    assert running == st.account.balance_minor


def test_statement_pages_continue_the_running_balance(chart: UnitOfWork) -> None:
    start = date(2026, 1, 1)
    drafts = [
        entry(f"{start + timedelta(days=(i * 37) % 70)} donation {i + 1}.{i:02d} Dr 1000 Cr 4000")
        for i in range(23)
    ]
    post(chart, TREASURER, drafts)
    full = statement(chart, AUDITOR, "1000", limit=500)
    assert full.total == 23
    pages: list[AccountStatementLine] = []
    for offset in range(0, 30, 5):
        page = statement(chart, AUDITOR, "1000", limit=5, offset=offset)
        assert page.total == 23
        pages.extend(page.lines)
    assert pages == full.lines
    dates = [line.booking_date for line in pages]
    assert dates == sorted(dates)
    assert pages[-1].running_minor == full.account.balance_minor
    running = 0
    for line in pages:
        running += line.amount_minor
        assert line.running_minor == running


def test_statement_of_a_period_starts_from_the_opening_balance(books: UnitOfWork) -> None:
    st = statement(
        books, AUDITOR, "1000", date_from=date(2026, 3, 4), date_to=date(2026, 3, 10), limit=2
    )
    moves = [m for m in bank_movements() if date(2026, 3, 4) <= m[0] <= date(2026, 3, 10)]
    opening = sum(m[2] for m in bank_movements() if m[0] < date(2026, 3, 4))
    assert st.opening_minor == opening == 600_000 - 420
    assert st.total == len(moves) == 3
    assert [line.running_minor for line in st.lines] == [
        opening + moves[0][2],
        opening + moves[0][2] + moves[1][2],
    ]
    second = statement(
        books,
        AUDITOR,
        "1000",
        date_from=date(2026, 3, 4),
        date_to=date(2026, 3, 10),
        limit=2,
        offset=2,
    )
    assert [line.running_minor for line in second.lines] == [opening + sum(m[2] for m in moves)]
    assert second.opening_minor == opening


BAD_PAGING: list[tuple[dict[str, Any], str]] = [
    ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"),
    ({"offset": -1}, "offset"),
    ({"date_from": date(2026, 3, 2), "date_to": date(2026, 3, 1)}, "from"),
]


def test_statement_refuses_bad_paging(books: UnitOfWork) -> None:
    for kwargs, field in BAD_PAGING:
        with pytest.raises(ValidationError) as err:
            statement(books, AUDITOR, "1000", **kwargs)
        assert err.value.field == field


def test_unknown_account(books: UnitOfWork) -> None:
    with pytest.raises(NotFound, match="7777"):
        balance(books, AUDITOR, "7777")
    with pytest.raises(NotFound):
        statement(books, AUDITOR, "7777")
    with pytest.raises(NotFound):
        get_entry(books, AUDITOR, 999)


def test_control_account_reads_its_sub_accounts(chart: UnitOfWork) -> None:
    for n in (1, 2):
        open_account(
            chart,
            TREASURER,
            AccountSpec(
                f"1200.{n}", f"Loan {n}", AccountType.ASSET, "EUR", AccountRole.LOAN, "1200"
            ),
        )
    book(
        chart,
        TREASURER,
        """
        2026-03-01 capital 3000.00 Dr 1000 Cr 3000
        2026-03-02 disbursement 1200.00 Dr 1200.1 Cr 1000
        2026-03-05 disbursement 900.00 Dr 1200.2 Cr 1000
        2026-03-09 repayment 100.00 Dr 1000 Cr 1200.1
        """,
    )
    assert get_account(chart, AUDITOR, "1200").balance_minor == 200_000
    assert balance(chart, AUDITOR, "1200", as_of=date(2026, 3, 4)) == money("1200", "EUR")
    assert balance(chart, AUDITOR, "1200.1", as_of=date(2026, 3, 9)) == money("1100", "EUR")
    st = statement(chart, AUDITOR, "1200")
    assert [line.running_minor for line in st.lines] == [120_000, 210_000, 200_000]
    # The journal of the control account is its sub-accounts' journal, as its statement is.
    on_1200, total = list_entries(chart, AUDITOR, JournalFilter(account_code="1200"))
    assert (total, [e.id for e in on_1200]) == (3, [2, 3, 4])
    on_loan_2, total = list_entries(chart, AUDITOR, JournalFilter(account_code="1200.2"))
    assert (total, [e.id for e in on_loan_2]) == (1, [3])
    assert verify(chart, AUDITOR).ok


def test_trial_balance_is_zero_now_and_as_of_past_dates(books: UnitOfWork) -> None:
    for as_of in (None, date(2026, 2, 20), date(2026, 3, 4), date(2026, 1, 1)):
        tb = trial_balance(books, AUDITOR, as_of)
        assert tb.balanced, as_of
        assert tb.totals == {"EUR": 0}
        assert sum(line.balance_minor for line in tb.lines) == 0
    tb = trial_balance(books, AUDITOR, date(2026, 3, 4))
    by_code = {line.account.code: line.balance_minor for line in tb.lines}
    assert by_code["1000"] == 600_000 - 420
    assert by_code["3000"] == -600_000
    assert by_code["6100"] == 420
    assert by_code["2100"] == 0


def test_trial_balance_per_currency(books: UnitOfWork) -> None:
    install_chart(
        books,
        SYSTEM,
        [
            AccountSpec("1001", "Bank CHF", AccountType.ASSET, "CHF", AccountRole.BANK),
            AccountSpec("3001", "Capital CHF", AccountType.EQUITY, "CHF", AccountRole.FUND_CAPITAL),
        ],
    )
    book(books, TREASURER, "2026-03-11 capital 700.00 CHF Dr 1001 Cr 3001")
    tb = trial_balance(books, AUDITOR)
    assert tb.totals == {"EUR": 0, "CHF": 0}
    assert {line.account.code: line.balance_minor for line in tb.lines}["1001"] == 70_000
    assert [a.code for a in list_accounts(books, AUDITOR)][:2] == ["1000", "1001"]
    assert verify(books, AUDITOR).ok


def test_journal_pages_and_filters(books: UnitOfWork) -> None:
    everything, total = list_entries(books, AUDITOR, JournalFilter(), limit=3)
    assert total == 7
    assert [e.booking_date for e in everything] == [
        date(2026, 2, 20),
        date(2026, 3, 1),
        date(2026, 3, 3),
    ]
    rest, _ = list_entries(books, AUDITOR, JournalFilter(), limit=10, offset=3)
    assert len(rest) == 4
    gifts, total = list_entries(books, AUDITOR, JournalFilter(kind=EntryKind.DONATION))
    assert total == 2 and {e.id for e in gifts} == {2, 4}
    on_2100, total = list_entries(books, AUDITOR, JournalFilter(account_code="2100"))
    assert [e.id for e in on_2100] == [5]
    march_first_week, total = list_entries(
        books, AUDITOR, JournalFilter(date_from=date(2026, 3, 1), date_to=date(2026, 3, 7))
    )
    assert [e.id for e in march_first_week] == [1, 3, 5]
    with pytest.raises(ValidationError):
        list_entries(books, AUDITOR, JournalFilter(), limit=1000)
