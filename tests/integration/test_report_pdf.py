"""The monthly report end to end: reconciliation, history and PDF, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from ledger.bank.writers import camt053
from ledger.documents.model import FundInfo
from ledger.domain.accounts import default_chart
from ledger.domain.errors import PermissionDenied
from ledger.domain.roles import SYSTEM
from ledger.domain.statuses import LoanStatus
from ledger.services import reports
from ledger.services.journal import install_chart
from ledger.services.loans import compute_portfolio
from ledger.services.reconciliation import reconcile
from ledger.services.reports import ReportSettings
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loans import loan_in
from tests.support.periods import close_month
from tests.support.reports import FUND
from tests.support.statements import entry, paid_out_loan, run_import, statement

CAPITAL = 1_000_000  # 10,000.00 booked on 2026-03-01 (the `funded` fixture)
SETTINGS = ReportSettings(FUND)


def text_of(pdf: bytes) -> str:
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    return " ".join(" ".join(pages).replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.fixture
def march(funded: UnitOfWork, clock: Clock) -> UnitOfWork:
    """March of a small fund, on 3 April: a donation and a bank fee, a payment nobody can
    place (its bank text names the payer), and a loan paid out on the 31st that the bank
    executes in April."""
    clock.now = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)
    book(funded, TREASURER, "2026-03-10 donation 350.00 Dr 1000 Cr 4000 ; parish")
    paid_out_loan(funded, on=date(2026, 3, 31))
    run_import(
        funded,
        camt053(
            [
                statement(
                    "2026-03",
                    CAPITAL,
                    [
                        entry("2026-03-11", "350.00", ref="D1", remittance="gift"),
                        entry("2026-03-20", "25.00", ref="G1", remittance="Test Person rent"),
                        entry("2026-03-31", "7.50", "debit", ref="F1", bank_code="ACMT/MDOP/CHRG"),
                    ],
                    start="2026-03-01",
                    end="2026-03-31",
                )
            ]
        ),
    )
    return funded


def test_the_report_prints_the_reconciled_month_and_no_personal_data(march: UnitOfWork) -> None:
    close_month(march, TREASURER, "2026-03")
    text = text_of(reports.monthly_report(march, AUDITOR, "2026-03", SETTINGS))
    # Ledger: 10,000 + 350 + 25 - 7.50 - 1,700 = 8,667.50; bank: the same without the payout.
    for words in (
        "Monthly fund report",
        "March 2026",
        "Reconciled",
        "tina.treasurer asked to close the month; second.signer signed the close off",
        "Balance in the ledger 8.667,50 €",
        "10.367,50 € on the statement of 31 Mar 2026",
        "Ledger minus bank -1.700,00 €",
        "Not explained 0,00 €",
        "Loan paid out",  # the payout in transit
        "-1.700,00 €",
        "Loans outstanding 1.700,00 €",
        "Sum of the loans' accounts 1.700,00 €",
        "0-30 days 1 25,00 €",  # the payment nobody could place
        "PAR30: 0,00%",
        "Donations 1 350,00 €",
        "The last 12 months (EUR)",
        "31 Mar 2026 1.700,00 € 8.667,50 €",  # loans and cash at the end of March
        "monthly report 2026-03",
    ):
        assert words in text, words
    assert "Not reconciled" not in text
    assert "28 Feb 2026" not in text  # the fund's first entry is of 1 March
    # the beneficiary's name is nowhere, not even from the bank's text of the unplaced payment
    assert "Test Person" not in text


def test_an_open_month_says_so_and_the_report_reads_nothing_it_may_not(march: UnitOfWork) -> None:
    text = text_of(reports.monthly_report(march, TREASURER, "2026-03", SETTINGS))
    assert "The month is not closed yet" in text
    with pytest.raises(PermissionDenied):
        reports.monthly_report(march, CASEWORKER, "2026-03", SETTINGS)


def test_fund_info_from_the_settings_prints_as_the_footer(march: UnitOfWork) -> None:
    from ledger.config import Settings

    fund = FundInfo.from_settings(Settings(_env_file=None, fund_name="Fonds Pag-Asa test"))
    text = text_of(reports.monthly_report(march, AUDITOR, "2026-03", ReportSettings(fund)))
    assert "Fonds Pag-Asa test · monthly report 2026-03 · generated" in text


BRUSSELS = ZoneInfo("Europe/Brussels")


def test_the_notes_are_in_the_report_s_language_and_the_command_line_keeps_english(
    march: UnitOfWork,
) -> None:
    """One finding, two wordings: the French report tells what to do on the web pages, the
    reconciliation the command line and the API read says it in English with the commands."""
    [rec] = reconcile(march, TREASURER, "2026-03")
    assert [n.code for n in rec.to_do] == ["unidentified"]
    assert rec.notes == (
        "1 unidentified receipt (25.00 EUR) waits to be matched: match each to its loan with "
        "`fundledger statement match LINE --loan ID`, or book it with "
        "`fundledger statement book LINE --account CODE --kind KIND`.",
    )
    french = ReportSettings(FUND, "fr")
    text = text_of(reports.monthly_report(march, AUDITOR, "2026-03", french))
    # (a line may break after "comptabilisez-", which the PDF's text then spaces)
    for words in (
        "Recettes non identifiées en attente : 1, 25,00 €, dont 0 depuis plus de 30 jours. "
        "Dans Banque › Lignes à rapprocher, rapprochez chacune de son prêt (« Rembourse ce "
        "prêt ») ou comptabilisez-",
        "sur un compte (« Comptabiliser sur un compte »).",
    ):
        assert words in text, words
    assert "fundledger" not in text


def test_times_are_the_fund_s_with_its_zone_said(march: UnitOfWork, clock: Clock) -> None:
    """Closed at 22:30 UTC and printed at 23:30 UTC on 30 April: 1 May in Brussels."""
    clock.now = datetime(2026, 4, 30, 22, 30, tzinfo=UTC)
    close_month(march, TREASURER, "2026-03")
    clock.now = datetime(2026, 4, 30, 23, 30, tzinfo=UTC)
    settings = ReportSettings(FUND, zone=BRUSSELS)
    text = text_of(reports.monthly_report(march, AUDITOR, "2026-03", settings))
    assert "signed the close off on 01 May 2026, 00:30 CEST (UTC+02:00)" in text
    assert "monthly report 2026-03 · generated 01 May 2026, 01:30 CEST (UTC+02:00)" in text
    assert "30 Apr 2026, 2" not in text
    # without a zone of its own the report takes the unit of work's (UTC here), and says so
    text = text_of(reports.monthly_report(march, AUDITOR, "2026-03", SETTINGS))
    assert "generated 30 Apr 2026, 23:30 UTC" in text


@pytest.fixture
def late(funded: UnitOfWork, clock: Clock) -> UnitOfWork:
    """A 1,700.00 loan paid out on 15 March, its first installment due on 31 March and
    nothing paid since: on 5 May it is 35 days late, on 31 May it would be 61."""
    loan_in(funded, LoanStatus.ACTIVE)
    clock.now = datetime(2026, 5, 5, 9, 0, tzinfo=UTC)
    return funded


def test_the_month_that_runs_is_read_as_of_today(late: UnitOfWork) -> None:
    figures = reports.report_figures(late, AUDITOR, "2026-05", SETTINGS)
    [rec] = figures.data.reconciliations
    assert (rec.as_of, rec.today, figures.data.today) == (date(2026, 5, 5),) * 3
    assert rec.aging.buckets["31-60"] == (1, 170_000)  # 35 days late today
    with late:
        at_month_end = compute_portfolio(late, date(2026, 5, 31), "EUR").aging
    assert at_month_end.buckets["61-90"] == (1, 170_000)  # what the report used to say
    assert [h.month_ends[-1] for h in figures.data.history] == [date(2026, 5, 5)]
    assert figures.currencies["EUR"].months[-1].month_end == date(2026, 5, 5)
    text = text_of(reports.monthly_report(late, AUDITOR, "2026-05", SETTINGS))
    assert "May 2026, not over yet: figures as of today, 5 May 2026" in text
    assert "31-60 1 1.700,00 €" in text and "61-90 0 0,00 €" in text
    assert "05 May 2026 1.700,00 € 8.300,00 €" in text  # the history's last row: today
    assert "31 May 2026" not in text


def test_a_month_that_has_ended_is_read_as_of_its_end(late: UnitOfWork) -> None:
    [rec] = reconcile(late, AUDITOR, "2026-04")
    assert (rec.as_of, rec.today) == (date(2026, 4, 30), None)
    assert rec.aging.buckets["1-30"] == (1, 170_000)  # 30 days late on 30 April
    text = text_of(reports.monthly_report(late, AUDITOR, "2026-04", SETTINGS))
    assert "April 2026, figures as of 30 April 2026" in text
    assert "not over yet" not in text


def test_today_is_the_fund_s_day(engine: Engine, clock: Clock) -> None:
    """At 22:30 UTC on 30 April it is 1 May in Brussels: April is over there."""
    brussels = UnitOfWork(engine, clock=clock, zone=BRUSSELS)
    install_chart(brussels, SYSTEM, default_chart("EUR"))
    book(brussels, TREASURER, "2026-03-01 capital 10000.00 Dr 1000 Cr 3000 ; capital")
    clock.now = datetime(2026, 4, 30, 22, 30, tzinfo=UTC)
    [april] = reconcile(brussels, AUDITOR, "2026-04")
    [may] = reconcile(brussels, AUDITOR, "2026-05")
    assert (april.as_of, april.today) == (date(2026, 4, 30), None)
    assert (may.as_of, may.today) == (date(2026, 5, 1), date(2026, 5, 1))


def test_the_history_starts_with_the_fund(funded: UnitOfWork, clock: Clock) -> None:
    """A fund whose first entry is of 1 March has one month end in March's report: one row,
    one point; before its first entry it has none, and the report says the rest."""
    clock.now = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)
    text = text_of(reports.monthly_report(funded, AUDITOR, "2026-03", SETTINGS))
    assert "The last 12 months (EUR)" in text
    assert "31 Mar 2026 0,00 € 10.000,00 €" in text
    assert "28 Feb 2026" not in text and "Apr 25" not in text
    figures = reports.report_figures(funded, AUDITOR, "2026-03", SETTINGS)
    assert [m.month_end for m in figures.currencies["EUR"].months] == [date(2026, 3, 31)]
    february = reports.report_figures(funded, AUDITOR, "2026-02", SETTINGS)
    assert february.data.history == () and february.currencies["EUR"].months == ()
    text = text_of(reports.monthly_report(funded, AUDITOR, "2026-02", SETTINGS))
    assert "The last 12 months" not in text and "Notes (EUR)" in text
