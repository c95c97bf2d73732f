"""The report page's figures: loans by state at month end as the ledger says by its dates, and
the 12 months' movements read in one query as each month's own.

A loan's payout, undoing and write-off count on the day they are booked, whenever they were
entered; a loan being repaid is active, overpaid or closed by its balances at month end; a loan
not paid out by then is in the state its last event before the fund's midnight left it in.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from ledger.domain.loans import Loan
from ledger.domain.money import money
from ledger.services import journal, loans, reports
from ledger.services.reports import ReportSettings
from ledger.store.tables import loan_events
from ledger.store.tables import loans as loans_table
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.reports import FUND
from tests.support.statements import paid_out_loan

SETTINGS = ReportSettings(FUND)


def states(uow: UnitOfWork, month: str) -> dict[str, tuple[int, int]]:
    """state -> (loans, principal) of the report's EUR figures for ``month``."""
    figures = reports.report_figures(uow, AUDITOR, month, SETTINGS).currencies["EUR"]
    return {s.state.value: (s.loans, s.principal_minor) for s in figures.states}


def test_a_backdated_payout_counts_in_the_month_it_is_booked_in(
    funded: UnitOfWork, clock: Clock
) -> None:
    clock.now = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    paid_out_loan(funded, deposit="1200.00", key="waiting", disburse=False)
    clock.now = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)
    # Every event of these two is in April; the first one's payout is booked on 31 March.
    paid_out_loan(funded, on=date(2026, 3, 31), key="backdated")
    paid_out_loan(funded, deposit="1000.00", on=date(2026, 4, 2), key="april")
    assert states(funded, "2026-03") == {
        "contract_signed": (1, 120_000),  # signed on 20 March
        "active": (1, 170_000),
    }
    assert states(funded, "2026-04") == {
        "contract_signed": (1, 120_000),
        "active": (2, 270_000),
    }
    assert states(funded, "2026-02") == {}


def _active(funded: UnitOfWork, key: str, deposit: str = "1000.00") -> Loan:
    return paid_out_loan(funded, deposit=deposit, on=date(2026, 3, 10), key=key)


def test_a_write_off_counts_on_the_day_it_is_booked(funded: UnitOfWork, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    later = _active(funded, "later")
    into_march = _active(funded, "into-march", "1100.00")
    clock.now = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)
    for loan, on in ((later, date(2026, 4, 10)), (into_march, date(2026, 3, 31))):
        proposal = loans.propose_write_off(funded, CASEWORKER, loan.id, "left the country")
        loans.approve_write_off(
            funded, TREASURER, proposal.id, on=on, idempotency_key=f"wo-{loan.id}"
        )
    # Approved in April: booked after the end of March, or on its last day.
    assert states(funded, "2026-03") == {"active": (1, 100_000), "written_off": (1, 110_000)}
    assert states(funded, "2026-04") == {"written_off": (2, 210_000)}


def test_repaid_by_a_payment_entered_after_month_end(funded: UnitOfWork, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    repaid = _active(funded, "repaid")
    beyond = _active(funded, "beyond", "1100.00")
    clock.now = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
    for loan, amount, day in (
        (repaid, "1000.00", date(2026, 3, 25)),
        (beyond, "1150.00", date(2026, 4, 1)),  # 50.00 more than owed: a credit
    ):
        loans.record_payment(
            funded, TREASURER, loan.id, money(amount, "EUR"), on=day, idempotency_key=loan.id
        )
    assert states(funded, "2026-03") == {"closed": (1, 100_000), "active": (1, 110_000)}
    assert states(funded, "2026-04") == {"closed": (1, 100_000), "overpaid": (1, 110_000)}


def test_a_payout_undone_after_month_end_was_out_at_month_end(
    funded: UnitOfWork, clock: Clock
) -> None:
    clock.now = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    undone = _active(funded, "undone")
    clock.now = datetime(2026, 4, 5, 9, 0, tzinfo=UTC)
    loans.undo_disbursement(
        funded,
        TREASURER,
        undone.id,
        on=date(2026, 4, 5),
        reason="paid to the wrong landlord",
        idempotency_key="undo",
    )
    assert states(funded, "2026-03") == {"active": (1, 100_000)}
    assert states(funded, "2026-04") == {"contract_signed": (1, 100_000)}


def test_at_today_the_states_are_the_loans_own(funded: UnitOfWork, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    made = [_active(funded, f"l{n}") for n in range(3)]
    paid_out_loan(funded, deposit="1200.00", key="signed", disburse=False)
    clock.now = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)
    loans.record_payment(
        funded, TREASURER, made[0].id, money("1000.00", "EUR"), on=date(2026, 4, 1),
        idempotency_key="full",
    )  # fmt: skip
    loans.record_payment(
        funded, TREASURER, made[1].id, money("1010.00", "EUR"), on=date(2026, 3, 30),
        idempotency_key="beyond",
    )  # fmt: skip
    proposal = loans.propose_write_off(funded, CASEWORKER, made[2].id, "gone")
    loans.approve_write_off(
        funded, TREASURER, proposal.id, on=date(2026, 4, 15), idempotency_key="w"
    )
    with funded:
        own = Counter(r.status for r in funded.connection.execute(select(loans_table.c.status)))
    assert {s: n for s, (n, _) in states(funded, "2026-04").items()} == dict(own)
    assert set(own) == {"closed", "overpaid", "written_off", "contract_signed"}


def test_events_count_by_the_fund_s_day(engine: Engine, clock: Clock) -> None:
    """Signed at 00:30 in Brussels on 1 April (22:30 UTC on 31 March): at the end of March in
    Brussels the loan was approved, not yet signed."""
    from ledger.domain.accounts import default_chart
    from ledger.domain.roles import SYSTEM
    from ledger.services.journal import install_chart

    brussels = UnitOfWork(engine, clock=clock, zone=ZoneInfo("Europe/Brussels"))
    install_chart(brussels, SYSTEM, default_chart("EUR"))
    book(brussels, TREASURER, "2026-03-01 capital 10000.00 Dr 1000 Cr 3000 ; capital")
    clock.now = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)
    paid_out_loan(brussels, disburse=False)
    clock.now = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)
    with brussels:
        last = brussels.connection.execute(select(func.max(loan_events.c.at))).scalar_one()
    assert last.astimezone(UTC) == datetime(2026, 3, 31, 22, 30, tzinfo=UTC)
    assert states(brussels, "2026-03") == {}  # every event on 1 April in Brussels
    assert states(brussels, "2026-04") == {"contract_signed": (1, 170_000)}


def test_twelve_months_of_movements_in_one_query_are_each_month_s(
    funded: UnitOfWork, clock: Clock
) -> None:
    clock.now = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    first = _active(funded, "first")
    clock.now = datetime(2026, 5, 10, 9, 0, tzinfo=UTC)
    booked = book(
        funded,
        TREASURER,
        """
        2025-06-30 donation 1.00 Dr 1000 Cr 4000 ; the last day of a month
        2025-07-01 donation 2.00 Dr 1000 Cr 4000 ; the first day of the next
        2026-02-28 bank_charge 3.00 Dr 6100 Cr 1000
        2026-04-30 donation 4.00 Dr 1000 Cr 4000
        2026-05-01 donation 5.00 Dr 1000 Cr 4000 ; after the report's month
        """,
    )
    loans.record_payment(
        funded, TREASURER, first.id, money("70.83", "EUR"), on=date(2026, 4, 2),
        idempotency_key="april",
    )  # fmt: skip
    journal.reverse_entry(funded, TREASURER, booked[1].id, booking_date=date(2026, 4, 3))
    ends = reports.month_ends("2026-04")
    with funded:
        together = funded.reconciliation.movements_by_month(ends)
        alone = [funded.reconciliation.movements(date(end.year, end.month, 1), end) for end in ends]
    assert [sorted(m) for m in together] == [sorted(m) for m in alone]
    assert sum(1 for m in alone if m) >= 5  # June 2025, July 2025, Feb, March and April 2026
    figures = reports.report_figures(funded, AUDITOR, "2026-04", SETTINGS)
    [rec] = figures.data.reconciliations
    assert [(m.kind, m.count, m.total_minor) for m in rec.movements] == [
        ("repayments", 1, 7_083),
        ("donations", 1, 400),
        ("reversals", 1, 200),
    ]
    flows = {
        m.month_end: (m.disbursed_minor, m.repaid_minor) for m in figures.currencies["EUR"].months
    }
    assert flows[date(2026, 3, 31)] == (100_000, 0)
    assert flows[date(2026, 4, 30)] == (0, 7_083)
