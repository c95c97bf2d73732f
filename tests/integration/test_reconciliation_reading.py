"""The reconciliation's quick readings give the figures of the full one, on odd books.

The page reads the ledger's balances at month end from the accounts' cached balances less the
legs booked after it, counts the unidentified receipts by age in the database and lists only
the first, and leaves the movements out; the full reading (the API's, the close's) sums every
leg and lists every receipt. Both run here on one fund with legs after month end, entries
booked late into earlier months, a reversal booked after the month it reverses, a payout
backdated, three bank accounts in two currencies and a closed month, month after month, on
SQLite and PostgreSQL. The entries no line explains are checked against the rule worked out
in Python from the tables' rows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from ledger.bank.writers import camt053
from ledger.domain.accounts import AccountRole, AccountSpec, AccountType
from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import money, to_minor
from ledger.domain.reconciliation import RECEIPT_AGES, MonthReconciliation
from ledger.domain.statuses import EntryKind
from ledger.services import journal, loans, reports
from ledger.services.journal import balance
from ledger.services.periods import list_periods
from ledger.services.reconciliation import FULL, Reading, page_reading, reconcile
from ledger.store.tables import journal_entries, journal_legs, statement_lines
from ledger.store.uow import UnitOfWork
from tests.support.actors import ADMIN, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.ledgertext import entry as entry_of
from tests.support.periods import close_month
from tests.support.statements import (
    CHF_IBAN,
    FUND_IBAN,
    closing_of,
    entry,
    paid_out_loan,
    run_import,
    statement,
)

SAVINGS_IBAN = "BE43068999999501"
MONTHS = ("2025-12", "2026-01", "2026-02", "2026-03", "2026-04")
CAPITAL = 1_000_000


@pytest.fixture
def odd(chart: UnitOfWork, clock: Clock) -> UnitOfWork:
    """A fund whose books test every way a month end can cut them (worked out below)."""
    clock.now = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
    for spec in (
        AccountSpec("1020", "Savings", AccountType.ASSET, "EUR"),
        AccountSpec("1010", "Bank CHF", AccountType.ASSET, "CHF", AccountRole.BANK),
        AccountSpec("2210", "Unidentified CHF", AccountType.LIABILITY, "CHF",
                    AccountRole.UNIDENTIFIED_RECEIPTS),
        AccountSpec("3010", "Capital CHF", AccountType.EQUITY, "CHF", AccountRole.FUND_CAPITAL),
        AccountSpec("6110", "Charges CHF", AccountType.EXPENSE, "CHF", AccountRole.BANK_CHARGES),
    ):  # fmt: skip
        journal.open_account(chart, TREASURER, spec)
    book(
        chart,
        TREASURER,
        """
        2026-01-05 capital 10000.00 Dr 1000 Cr 3000 ; founding capital
        2026-01-20 transfer 2000.00 Dr 1020 Cr 1000 ; to savings
        2026-02-01 capital 3000.00 CHF Dr 1010 Cr 3010 ; CHF capital
        2026-02-10 donation 350.00 Dr 1000 Cr 4000 ; parish
        """,
    )
    first = paid_out_loan(chart, on=date(2026, 2, 2), key="first")
    clock.now = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)
    # Booked in April into March (late), and a payout backdated to 30 March.
    book(chart, TREASURER, "2026-03-28 donation 40.00 Dr 1000 Cr 4000 ; late gift")
    second = paid_out_loan(chart, deposit="1200.00", on=date(2026, 3, 30), key="second")
    paid_out_loan(chart, deposit="1000.00", key="third", disburse=False)  # promised
    for n, (loan, day, amount) in enumerate(
        [
            (first, date(2026, 3, 5), "70.83"),
            (first, date(2026, 4, 5), "70.83"),
            (second, date(2026, 4, 6), "1300.00"),  # beyond all of it: a credit
        ]
    ):
        loans.record_payment(
            chart, TREASURER, loan.id, money(amount, "EUR"), on=day, idempotency_key=f"pay-{n}"
        )
    [gift] = book(chart, TREASURER, "2026-03-12 donation 15.00 Dr 1000 Cr 4000 ; twice")
    journal.reverse_entry(chart, TREASURER, gift.id, booking_date=date(2026, 4, 2))
    [slip] = book(chart, TREASURER, "2026-03-14 donation 5.00 Dr 1000 Cr 4000 ; slip")
    journal.reverse_entry(chart, TREASURER, slip.id, booking_date=date(2026, 3, 15))
    book(chart, TREASURER, "2026-04-03 donation 99.00 Dr 1000 Cr 4000 ; April")
    eur_q1 = statement(
        "EUR-Q1",
        CAPITAL,
        [
            entry("2026-01-21", "2000.00", "debit", ref="T1"),
            entry("2025-12-28", "11.00", ref="U0"),  # before the opening date
            entry("2026-01-10", "12.00", ref="U1"),
            entry("2026-02-11", "350.00", ref="D1", remittance="parish"),
            entry("2026-02-15", "13.00", ref="U2"),
            entry("2026-03-02", "14.00", ref="U3"),
            entry("2026-03-03", "15.00", ref="U4"),
            entry("2026-03-04", "16.00", ref="U5"),
            entry("2026-03-20", "9.90", "debit", ref="X1", remittance="?"),
            entry("2026-03-31", "2.50", "debit", ref="C1", bank_code="ACMT/MDOP/CHRG"),
            # On 31 March: 30 and 31, 60 and 61, 90 and 91 days old, each side of an age.
            *(
                entry(day, f"1.0{n}", ref=f"A{n}")
                for n, day in enumerate(
                    (
                        "2026-03-01",
                        "2026-02-28",
                        "2026-01-30",
                        "2026-01-29",
                        "2025-12-31",
                        "2025-12-30",
                    )
                )
            ),
        ],
        start="2026-01-05",
        end="2026-03-31",
    )
    run_import(
        chart,
        camt053(
            [
                eur_q1,
                statement(
                    "CHF-Q1",
                    300_000,
                    [
                        entry("2026-02-20", "21.00", ref="V1", currency="CHF"),
                        entry("2026-03-25", "22.00", ref="V2", currency="CHF"),
                        entry("2026-04-10", "23.00", ref="V3", currency="CHF"),
                    ],
                    iban=CHF_IBAN,
                    currency="CHF",
                    start="2026-02-01",
                    end="2026-04-10",
                ),
            ]
        ),
        fund_ibans=frozenset({FUND_IBAN, CHF_IBAN}),
    )
    run_import(
        chart,
        camt053(
            [
                statement(
                    "SAV-1",
                    0,
                    [entry("2026-01-21", "2000.00", ref="S1")],
                    iban=SAVINGS_IBAN,
                    start="2026-01-01",
                    end="2026-02-28",
                )
            ]
        ),
        account_code="1020",
    )
    run_import(
        chart,
        camt053(
            [
                statement(
                    "EUR-APR",
                    closing_of(eur_q1),
                    [entry("2026-04-08", "17.00", ref="U6")],
                    start="2026-04-01",
                    end="2026-04-15",
                    sequence=2,
                )
            ]
        ),
    )
    # An entry a line explains by its ref alone (as a line split across loans explains all
    # of its entries but the one it points to), and one that moves the bank by nothing.
    with chart:
        ref = chart.connection.execute(
            select(statement_lines.c.ref).where(statement_lines.c.amount_minor == -990)
        ).scalar_one()
    drafts = [
        replace(
            entry_of("2026-03-21 bank_charge 9.90 Dr 6100 Cr 1000 ; by ref"), statement_line_id=ref
        ),
        EntryDraft(
            date(2026, 3, 22),
            "moves nothing",
            EntryKind.ADJUSTMENT,
            (Leg.debit("1000", money("3.00", "EUR")), Leg.credit("1000", money("3.00", "EUR"))),
        ),
    ]
    book(chart, TREASURER, drafts)
    close_month(chart, ADMIN, "2026-01", "the test fund's January, closed as it stands")
    return chart


def _check(full: MonthReconciliation, quick: MonthReconciliation, shown: int) -> None:
    """Every figure the page reads of ``quick`` is ``full``'s."""
    assert quick.banks == full.banks
    assert quick.sub_ledger == full.sub_ledger
    assert quick.position == full.position
    assert (quick.closed, quick.notes, quick.reconciled) == (
        full.closed,
        full.notes,
        full.reconciled,
    )
    assert quick.unidentified_by_age == full.unidentified_by_age
    assert quick.unidentified_count == len(full.unidentified)
    assert quick.unidentified_total == sum(u.amount_minor for u in full.unidentified)
    assert quick.unidentified == full.unidentified[:shown]
    assert quick.movements == ()


def test_the_page_reads_the_figures_of_the_full_reconciliation(odd: UnitOfWork) -> None:
    seen: set[tuple[str, str]] = set()
    cut = False
    for month in MONTHS:
        full = reconcile(odd, TREASURER, month, aging=False, reading=FULL)
        for shown in (0, 2, 50):
            quick = reconcile(odd, TREASURER, month, aging=False, reading=page_reading(shown))
            assert [r.currency for r in quick] == [r.currency for r in full]
            for f, q in zip(full, quick, strict=True):
                _check(f, q, shown)
                seen.add((month, f.currency))
                cut = cut or 0 < len(q.unidentified) < len(f.unidentified)
    assert cut  # a list was cut somewhere, and its count was not
    # What the fund holds, so that the comparison above is not of empty months.
    assert {("2026-03", "EUR"), ("2026-03", "CHF"), ("2026-04", "CHF")} <= seen
    [eur_march] = [r for r in reconcile(odd, TREASURER, "2026-03") if r.currency == "EUR"]
    assert eur_march.unidentified_count == 12 and eur_march.movements  # U0 to U5, A0 to A5
    assert {b.account_code for b in eur_march.banks} == {"1000", "1020"}
    assert any(b.in_transit for b in eur_march.banks) and any(b.unmatched for b in eur_march.banks)
    assert "2026-01" in list_periods(odd, TREASURER)[0]
    assert reconcile(odd, TREASURER, "2026-01")[0].closed


def test_cached_balances_give_every_figure_of_the_legs(odd: UnitOfWork) -> None:
    """With the receipts and the movements read in full, the cached balances' reconciliation
    is the full one, field for field (aging included)."""
    cached = Reading(cached_balances=True)
    for month in MONTHS:
        assert reconcile(odd, TREASURER, month, reading=cached) == reconcile(
            odd, TREASURER, month, reading=FULL
        )


def test_the_balances_at_any_day_are_the_sums_of_the_legs(odd: UnitOfWork) -> None:
    days = [date(2025, 12, 31), date(2026, 1, 4), date(2026, 1, 5), date(2026, 2, 2)]
    days += [date(2026, 3, d) for d in (14, 15, 29, 30, 31)]
    days += [date(2026, 4, 5), date(2026, 4, 20), date(2026, 12, 31)]
    with odd:
        for day in days:
            legs = odd.reconciliation.sums_as_of(day)
            cached = odd.reconciliation.balances_as_of(day)
            assert {a: s for a, s in cached.by_account.items() if s} == {
                a: s for a, s in legs.by_account.items() if s
            }, day
            assert {c: s for c, s in cached.loans.items() if s} == {
                c: s for c, s in legs.loans.items() if s
            }, day
            assert cached.roles == legs.roles


def _unexplained_by_rule(
    uow: UnitOfWork, account_id: int, as_of: date, statement_date: date | None
) -> list[tuple[int, date, int]]:
    """(entry, booking date, amount on the account) of the entries no line explains, worked
    out in Python from the rows, as the repository's docstring says it."""
    conn = uow.connection
    entries = {r.id: r for r in conn.execute(select(journal_entries))}
    moved: dict[int, int] = {}
    for r in conn.execute(select(journal_legs).where(journal_legs.c.account_id == account_id)):
        moved[r.entry_id] = moved.get(r.entry_id, 0) + r.amount_minor
    lines = [
        r
        for r in conn.execute(select(statement_lines))
        if statement_date is not None and r.booking_date <= statement_date
    ]
    pointed = {r.entry_id for r in lines}
    refs = {r.ref for r in lines}
    reversed_by_then = {
        e.reverses_id for e in entries.values() if e.reverses_id and e.booking_date <= as_of
    }
    out = [
        (eid, e.booking_date, amount)
        for eid, amount in moved.items()
        if amount
        and (e := entries[eid]).booking_date <= as_of
        and e.reverses_id is None
        and eid not in reversed_by_then
        and eid not in pointed
        and e.statement_line_id not in refs
    ]
    return sorted(out, key=lambda t: (t[1], t[0]))


def test_the_entries_no_line_explains_follow_the_rule(odd: UnitOfWork) -> None:
    with odd:
        bank_ids = [a.account_id for a in odd.reconciliation.bank_ledger_accounts()]
        assert len(bank_ids) == 3
        days = [date(2026, 1, 20), date(2026, 2, 28), date(2026, 3, 14), date(2026, 3, 31)]
        days += [date(2026, 4, 15), date(2026, 4, 30)]
        found = 0
        for account_id in bank_ids:
            for as_of in days:
                for statement_date in (None, date(2026, 1, 31), date(2026, 3, 31), as_of):
                    got = [
                        (e.entry_id, e.booking_date, e.amount_minor)
                        for e in odd.statements.unexplained_entries(
                            account_id, as_of=as_of, statement_date=statement_date
                        )
                    ]
                    assert got == _unexplained_by_rule(odd, account_id, as_of, statement_date)
                    found += len(got)
        assert found  # some entries are in transit somewhere


def test_a_count_by_age_cut_at_the_month_end(odd: UnitOfWork) -> None:
    """Counted in the database, the receipts fall in the ages ``receipt_age`` gives them."""
    for month in MONTHS:
        for full in reconcile(odd, TREASURER, month, reading=FULL):
            [quick] = [
                q
                for q in reconcile(odd, TREASURER, month, aging=False, reading=page_reading(0))
                if q.currency == full.currency
            ]
            by_hand = {age: (0, 0) for age in RECEIPT_AGES}
            for u in full.unidentified:
                n, total = by_hand[u.age]
                by_hand[u.age] = (n + 1, total + u.amount_minor)
            assert quick.unidentified_by_age == by_hand
            assert replace(quick, unidentified_counted=None).unidentified == ()


def test_the_history_s_balances_are_the_ledger_s(odd: UnitOfWork) -> None:
    """Cash and loans outstanding at 12 month ends, each currency: the bank accounts' and the
    control account's balances as of each day (the savings account is not a bank's role)."""
    with odd:
        history = {h.currency: h for h in reports.history(odd, "2026-04")}
    banks = {"EUR": ["1000"], "CHF": ["1010"]}
    assert set(history) == set(banks)
    for cur, codes in banks.items():
        h = history[cur]
        for end, cash, loans_out in zip(h.month_ends, h.cash_minor, h.loans_minor, strict=True):
            assert cash == sum(to_minor(balance(odd, TREASURER, c, end)) for c in codes)
            if cur == "EUR":
                assert loans_out == to_minor(balance(odd, TREASURER, "1200", end))
            else:
                assert loans_out == 0
    assert history["EUR"].loans_minor[-2:] != (0, 0) and history["CHF"].cash_minor[-1]
