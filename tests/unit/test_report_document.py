"""The monthly report's PDF from values built by hand: its sections, figures and wording."""

from __future__ import annotations

import dataclasses
import io

from pypdf import PdfReader

from ledger.documents.report import render_monthly_report, report_html
from tests.support.reports import report


def pages_of(pdf: bytes) -> list[str]:
    """Each page's text, with every kind of space made one plain space."""
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    return [" ".join(p.replace("\u202f", " ").replace("\xa0", " ").split()) for p in pages]


def text_of(pdf: bytes) -> str:
    return " ".join(pages_of(pdf))


def test_report_prints_every_section_with_exact_figures() -> None:
    rendered = render_monthly_report(report())
    assert rendered.missing == ()
    text = text_of(rendered.pdf)
    for words in (
        "Monthly fund report",
        "May 2026",
        "Reconciled",
        "closed by tina.treasurer",
        "Fund position (EUR)",
        "Available to lend 5.878,45 €",  # 8,123.45 - 45.00 - 1,200.00 - 1,000.00
        "Bank reconciliation (EUR)",
        "Balance in the ledger 8.123,45 €",
        "8.423,45 € on the statement of 29 May 2026",
        "First statement opens on 02 Jan 2026 with 10.000,00 €; the ledger held 10.000,00 €",
        "Ledger minus bank -300,00 €",
        "Items in transit",
        "Payout of loan L000007",
        "Loans: control account and sub-ledger (EUR)",
        "Unidentified receipts by age (EUR)",
        "61-90 days 1 45,00 €",
        "L000003",
        "PAR30: 12.43 %",
        "Outstanding by days late (EUR)",  # the aging chart's title
        "Movements of the month (EUR)",
        "Repayments 17 612,34 €",
        "The last 12 months (EUR)",
        "Loans outstanding and cash at month end (EUR)",  # the history chart's title
        "31 May 2026 12.100,00 € 8.350,00 €",
        "1 unidentified receipt is older than 60 days",
    ):
        assert words in text, words


def test_every_page_has_the_footer_with_fund_month_generation_time_and_page_number() -> None:
    pages = pages_of(render_monthly_report(report()).pdf)
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert "Fonds de garanties locatives · monthly report 2026-05 · generated" in page
        assert f"{number} / {len(pages)}" in page


def test_an_unmatched_line_makes_it_not_reconciled_and_its_bank_text_stays_out() -> None:
    data = report(closed=False, unmatched=True)
    text = text_of(render_monthly_report(data).pdf)
    assert "Not reconciled" in text
    assert "The month is not closed yet" in text
    assert "Statement lines not matched" in text
    assert "19,99 €" in text
    # the bank's free text of a statement line may name a payer: never printed
    assert "Jane Payer" not in text
    assert "Jane Payer" not in report_html(data)[0]


def test_a_month_without_reconciled_currencies_says_so() -> None:
    data = dataclasses.replace(report(), reconciliations=(), history=())
    text = text_of(render_monthly_report(data).pdf)
    assert "The ledger has no accounts to report on." in text


def test_the_report_in_french_uses_the_french_catalog() -> None:
    data = dataclasses.replace(report(), language="fr")
    rendered = render_monthly_report(data)
    assert rendered.missing == ()
    text = text_of(rendered.pdf)
    assert "Rapport mensuel du fonds" in text
    assert "mai 2026" in text


def test_a_month_an_admin_closed_without_reconciling_says_why() -> None:
    data = report(unmatched=True)
    assert data.sign_off is not None
    why = dataclasses.replace(data.sign_off, reason="the bank's fee of 19.99 is disputed")
    text = text_of(render_monthly_report(dataclasses.replace(data, sign_off=why)).pdf)
    assert "Not reconciled" in text
    assert "closed by tina.treasurer" in text
    assert "Closed although it did not reconcile, for this reason: the bank's fee" in text
