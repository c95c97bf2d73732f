"""The arrears projection kept by the services, the arrears list and its CSV, `verify` finding
a stale or altered projection, and the rebuild; on SQLite and PostgreSQL.

Two loans of 1,700.00 over 24 months of 70.83 (the last 70.91) from 31 March 2026, paid out on
15 March: A opened by carl.caseworker, B by a caseworker whose user name starts with "=".
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from ledger.domain.errors import PermissionDenied, ValidationError
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.domain.statuses import LoanStatus
from ledger.services import loans, reports
from ledger.services.loans.arrears import CSV_COLUMNS
from ledger.services.verify import verify
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loans import (
    CASEWORKER2,
    DISBURSED_ON,
    POLICY,
    application,
    assert_verified,
    eur,
    loan_in,
    sign,
)

EVE = Actor("=eve.caseworker", Role.CASEWORKER)


@pytest.fixture
def fund(chart: UnitOfWork) -> UnitOfWork:
    book(chart, TREASURER, "2026-03-01 capital 20000.00 EUR Dr 1000 Cr 3000 ; capital")
    return chart


def paid_out(uow: UnitOfWork, by: Actor) -> str:
    """A loan opened and submitted by ``by``, approved and signed by CASEWORKER2, paid out."""
    loan = application(uow, by=by)
    loans.submit(uow, by, loan.id, POLICY)
    loans.approve(uow, CASEWORKER2, loan.id, LoanPolicy())
    sign(uow, loan.id)
    loans.disburse(uow, TREASURER, loan.id, on=DISBURSED_ON, idempotency_key=f"out-{loan.id}")
    return loan.id


def pay(uow: UnitOfWork, loan_id: str, amount: str, on: str, key: str) -> int:
    return loans.record_payment(
        uow, TREASURER, loan_id, eur(amount), on=date.fromisoformat(on), idempotency_key=key
    ).entry.id


def listed(uow: UnitOfWork, on: str, **filters: object) -> list[tuple[str, int, str, int, int]]:
    """(loan, days late, bucket, overdue, outstanding) of every loan listed on ``on``."""
    page = loans.arrears_list(uow, AUDITOR, date.fromisoformat(on), "EUR", **filters)  # type: ignore[arg-type]
    assert page.total == len(page.lines)
    return [
        (
            line.loan_id,
            line.days_past_due,
            line.bucket.value,
            line.overdue_minor,
            line.outstanding_minor,
        )
        for line in page.lines
    ]


def same_as_replay(uow: UnitOfWork, *days: str) -> None:
    for day in map(date.fromisoformat, days):
        with uow:
            assert loans.compute_portfolio(uow, day, "EUR") == loans.replay_portfolio(
                uow, day, "EUR"
            ), day


def test_payments_backdated_and_bounced_move_the_list_and_the_aging(
    fund: UnitOfWork, clock: Clock
) -> None:
    a = paid_out(fund, CASEWORKER)
    b = paid_out(fund, EVE)
    clock.now = datetime(2026, 4, 10, 9, tzinfo=UTC)
    pay(fund, a, "70.83", "2026-04-10", "a1")
    assert listed(fund, "2026-04-05") == [
        (a, 5, "1-30", 7083, 170000),
        (b, 5, "1-30", 7083, 170000),
    ]
    # The installment due on the day itself is not late yet.
    assert listed(fund, "2026-03-31") == []
    # A paid the first on 10 April; its next falls due on 30 April: current on that day.
    assert listed(fund, "2026-04-30") == [(b, 30, "1-30", 14166, 170000)]
    assert listed(fund, "2026-05-15") == [
        (b, 45, "31-60", 14166, 170000),
        (a, 15, "1-30", 7083, 162917),
    ]
    clock.now = datetime(2026, 5, 20, 9, tzinfo=UTC)
    # B pays two installments, backdated to 1 April: current on 15 May, as it was that day.
    entry = pay(fund, b, "141.66", "2026-04-01", "b1")
    assert listed(fund, "2026-05-15") == [(a, 15, "1-30", 7083, 162917)]
    assert listed(fund, "2026-03-31") == []
    # The bank returns it on 20 May: late again from that day, not before.
    loans.reverse_payment(
        fund, TREASURER, entry, on=date(2026, 5, 20), reason="returned", idempotency_key="r1"
    )
    assert listed(fund, "2026-05-15") == [(a, 15, "1-30", 7083, 162917)]
    assert listed(fund, "2026-05-20") == [
        (b, 50, "31-60", 14166, 170000),
        (a, 20, "1-30", 7083, 162917),
    ]
    p = loans.portfolio(fund, AUDITOR, date(2026, 5, 20), "EUR")
    assert (p.loans, p.outstanding, p.par30) == (2, 332917, 170000)
    assert p.buckets["1-30"] == (1, 162917) and p.buckets["31-60"] == (1, 170000)
    same_as_replay(fund, "2026-03-14", "2026-03-15", "2026-04-05", "2026-04-30", "2026-05-20")
    assert_verified(fund)


def test_the_list_filters_by_bucket_and_caseworker_and_pages(
    fund: UnitOfWork, clock: Clock
) -> None:
    a = paid_out(fund, CASEWORKER)
    b = paid_out(fund, EVE)
    c = paid_out(fund, CASEWORKER)
    clock.now = datetime(2026, 5, 20, 9, tzinfo=UTC)
    pay(fund, a, "70.83", "2026-04-10", "a1")
    pay(fund, c, "70.83", "2026-03-31", "c1")
    # As of 20 May: b since 31 March (50 days), a and c since 30 April (20 days).
    assert [x[0] for x in listed(fund, "2026-05-20")] == [b, a, c]
    assert [x[0] for x in listed(fund, "2026-05-20", bucket="1-30")] == [a, c]
    assert [x[0] for x in listed(fund, "2026-05-20", bucket="31-60")] == [b]
    assert listed(fund, "2026-05-20", bucket=">360") == []
    assert [x[0] for x in listed(fund, "2026-05-20", caseworker=CASEWORKER.name)] == [a, c]
    assert [x[0] for x in listed(fund, "2026-05-20", caseworker=EVE.name)] == [b]
    assert listed(fund, "2026-05-20", caseworker="nobody") == []
    page = loans.arrears_list(fund, AUDITOR, date(2026, 5, 20), "EUR", limit=1, offset=1)
    assert page.total == 3 and [line.loan_id for line in page.lines] == [a]
    assert page.lines[0].caseworker == CASEWORKER.name
    assert loans.caseworkers_in_arrears(fund, AUDITOR, date(2026, 5, 20), "EUR") == [
        (EVE.name, 1),
        (CASEWORKER.name, 2),
    ]
    assert loans.arrears_list(fund, AUDITOR, date(2026, 5, 20), "CHF").total == 0


def test_the_list_refuses_what_it_cannot_answer(fund: UnitOfWork) -> None:
    day = date(2026, 5, 20)
    with pytest.raises(PermissionDenied):
        loans.arrears_list(fund, CASEWORKER, day, "EUR")
    with pytest.raises(PermissionDenied):
        loans.arrears_csv(fund, CASEWORKER, day, "EUR")
    for bad in ("current", "2-3", "late"):
        with pytest.raises(ValidationError) as refused:
            loans.arrears_list(fund, TREASURER, day, "EUR", bucket=bad)
        assert refused.value.field == "bucket" and "choose one of 1-30, 31-60" in str(refused.value)
    with pytest.raises(ValidationError, match="limit must be between 1 and 500"):
        loans.arrears_list(fund, TREASURER, day, "EUR", limit=501)
    with pytest.raises(ValidationError, match="offset must not be negative"):
        loans.arrears_list(fund, TREASURER, day, "EUR", offset=-1)


def test_the_csv_lists_every_loan_with_formulas_neutralised(fund: UnitOfWork, clock: Clock) -> None:
    a = paid_out(fund, CASEWORKER)
    b = paid_out(fund, EVE)
    clock.now = datetime(2026, 5, 20, 9, tzinfo=UTC)
    pay(fund, a, "70.83", "2026-04-10", "a1")
    body = "".join(loans.arrears_csv(fund, TREASURER, date(2026, 5, 20), "EUR"))
    rows = list(csv.reader(io.StringIO(body)))
    assert rows == [
        list(CSV_COLUMNS),
        [b, "2", "'=eve.caseworker", "50", "31-60", "2026-03-31", "141.66", "1700.00", "EUR"],
        [a, "1", "carl.caseworker", "20", "1-30", "2026-04-30", "70.83", "1629.17", "EUR"],
    ]
    only = "".join(loans.arrears_csv(fund, TREASURER, date(2026, 5, 20), "EUR", bucket="1-30"))
    assert [r[0] for r in csv.reader(io.StringIO(only))] == ["loan_id", a]


def test_undoing_a_payout_and_writing_off_end_the_steps(fund: UnitOfWork, clock: Clock) -> None:
    a = loan_in(fund, LoanStatus.ACTIVE)
    b = paid_out(fund, CASEWORKER)
    clock.now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    with fund:
        assert set(fund.arrears.stored()) == {a.id, b}
    loans.undo_disbursement(
        fund, TREASURER, a.id, on=date(2026, 6, 1), reason="paid twice", idempotency_key="u"
    )
    proposal = loans.propose_write_off(fund, CASEWORKER, b, "left the country")
    loans.approve_write_off(fund, TREASURER, proposal.id, on=date(2026, 5, 31), idempotency_key="w")
    with fund:
        stored = fund.arrears.stored()
    assert set(stored) == {b}
    assert stored[b].steps[-1].valid_to == date(2026, 5, 31)
    assert [x[0] for x in listed(fund, "2026-05-30")] == [b]
    assert listed(fund, "2026-05-31") == []
    same_as_replay(fund, "2026-05-30", "2026-05-31", "2026-06-01")
    assert_verified(fund)


def tamper(uow: UnitOfWork, sql: str) -> None:
    with uow.engine.begin() as conn:
        conn.execute(text(sql))


def test_verify_finds_an_altered_missing_or_extra_step_and_the_rebuild_mends_it(
    fund: UnitOfWork, clock: Clock
) -> None:
    a = paid_out(fund, CASEWORKER)
    b = paid_out(fund, CASEWORKER)
    clock.now = datetime(2026, 5, 20, 9, tzinfo=UTC)
    pay(fund, a, "70.83", "2026-04-10", "a1")
    assert_verified(fund)
    tamper(fund, f"UPDATE loan_arrears SET outstanding_minor = 1 WHERE loan_id = '{a}'")
    tamper(fund, f"DELETE FROM loan_arrears WHERE loan_id = '{b}'")
    report = verify(fund, AUDITOR)
    assert not report.ok
    assert report.problems == [
        f"loan {a}: its arrears projection differs from the full computation from 2026-03-15 "
        "(2 step(s) stored, 2 computed); run `fundledger loan arrears-rebuild`",
        f"loan {b}: its arrears projection differs from the full computation from 2026-03-15 "
        "(0 step(s) stored, 1 computed); run `fundledger loan arrears-rebuild`",
    ]
    assert loans.rebuild_arrears(fund, SYSTEM) == 3
    assert_verified(fund)
    tamper(
        fund,
        "INSERT INTO loan_arrears (loan_id, valid_from, valid_to, currency, outstanding_minor, "
        f"late_since, caseworker) VALUES ('{b}', '2030-01-01', '9999-12-31', 'EUR', 5, NULL, "
        "'carl.caseworker')",
    )
    assert verify(fund, AUDITOR).problems == [
        f"loan {b}: its arrears projection differs from the full computation from 2030-01-01 "
        "(2 step(s) stored, 1 computed); run `fundledger loan arrears-rebuild`"
    ]
    assert loans.rebuild_arrears(fund, SYSTEM) == 3
    tamper(fund, f"UPDATE loan_arrears SET caseworker = 'someone.else' WHERE loan_id = '{a}'")
    assert verify(fund, AUDITOR).problems == [
        f"loan {a}: its arrears projection differs from the full computation from 2026-03-15 "
        "(2 step(s) stored, 2 computed); run `fundledger loan arrears-rebuild`"
    ]
    assert loans.rebuild_arrears(fund, SYSTEM) == 3
    assert_verified(fund)
    same_as_replay(fund, "2026-04-05", "2026-05-20")
    with pytest.raises(PermissionDenied):
        loans.rebuild_arrears(fund, AUDITOR)


def test_the_aging_history_reads_twelve_month_ends(fund: UnitOfWork, clock: Clock) -> None:
    a = paid_out(fund, CASEWORKER)
    paid_out(fund, EVE)
    clock.now = datetime(2026, 6, 10, 9, tzinfo=UTC)
    pay(fund, a, "141.66", "2026-04-30", "a1")
    history = reports.aging_history(fund, AUDITOR, "2026-06", "EUR")
    assert [p.as_of for p in history] == reports.month_ends("2026-06")
    assert [(p.as_of.isoformat(), p.loans, p.par30) for p in history[-5:]] == [
        ("2026-02-28", 0, 0),
        ("2026-03-31", 2, 0),
        ("2026-04-30", 2, 0),  # B 30 days late, A current
        ("2026-05-31", 2, 170000),  # B 61 days late
        ("2026-06-30", 2, 170000),  # B 91, A 30: not more than 30
    ]
    with fund:
        for p in history:
            assert p == loans.replay_portfolio(fund, p.as_of, "EUR")


def test_the_currencies_of_the_projection(fund: UnitOfWork) -> None:
    """The list's and the portfolio's choice of currency: those the projection holds steps in
    (a step in another currency written by hand here: the default chart lends in EUR only)."""
    assert loans.arrears_currencies(fund, AUDITOR) == []
    a = paid_out(fund, CASEWORKER)
    assert loans.arrears_currencies(fund, AUDITOR) == ["EUR"]
    for currency in ("USD", "CHF"):
        tamper(
            fund,
            "INSERT INTO loan_arrears (loan_id, valid_from, valid_to, currency, "
            f"outstanding_minor, late_since, caseworker) VALUES ('{a}', "
            f"'{'2030-01-01' if currency == 'USD' else '2031-01-01'}', '9999-12-31', "
            f"'{currency}', 5, NULL, 'carl.caseworker')",
        )
    assert loans.arrears_currencies(fund, TREASURER) == ["CHF", "EUR", "USD"]
    with pytest.raises(PermissionDenied):
        loans.arrears_currencies(fund, CASEWORKER)


def test_the_overview_is_the_three_reads_in_one(fund: UnitOfWork, clock: Clock) -> None:
    """The arrears page's read (one aggregate by bucket and caseworker, then the page) gives
    what the portfolio, the caseworkers' counts and the list give one by one, on any day,
    for any filter and page."""
    a = paid_out(fund, CASEWORKER)
    b = paid_out(fund, EVE)
    c = paid_out(fund, CASEWORKER)
    clock.now = datetime(2026, 9, 20, 9, tzinfo=UTC)
    pay(fund, a, "212.49", "2026-05-30", "a1")
    pay(fund, b, "70.83", "2026-04-01", "b1")
    pay(fund, c, "1700.00", "2026-04-02", "c1")  # repaid: owes nothing from then on
    filters: list[dict[str, object]] = [
        {},
        {"bucket": "1-30"},
        {"bucket": "91-180"},
        {"caseworker": EVE.name},
        {"caseworker": CASEWORKER.name, "bucket": "61-90"},
        {"caseworker": "nobody"},
        {"limit": 1, "offset": 1},
        {"limit": 1, "offset": 5},
    ]
    for day in map(date.fromisoformat, ("2026-03-20", "2026-04-30", "2026-06-30", "2026-09-20")):
        for chosen in filters:
            seen = loans.arrears_overview(fund, TREASURER, day, "EUR", **chosen)  # type: ignore[arg-type]
            assert seen.portfolio == loans.portfolio(fund, TREASURER, day, "EUR")
            assert seen.caseworkers == loans.caseworkers_in_arrears(fund, TREASURER, day, "EUR")
            assert seen.page == loans.arrears_list(fund, TREASURER, day, "EUR", **chosen)  # type: ignore[arg-type]
    assert loans.arrears_overview(fund, AUDITOR, date(2026, 9, 20), "EUR").page.total == 2
    with pytest.raises(ValidationError):
        loans.arrears_overview(fund, AUDITOR, date(2026, 9, 20), "EUR", bucket="current")
    with pytest.raises(PermissionDenied):
        loans.arrears_overview(fund, CASEWORKER, date(2026, 9, 20), "EUR")
