"""The monthly report's PDF from values built by hand: its sections, figures and wording."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from markupsafe import Markup
from pypdf import PdfReader

from ledger.documents.i18n import Translator, report_catalog
from ledger.documents.report import (
    History,
    MonthlyReportData,
    SignOff,
    _Formats,
    render_monthly_report,
    report_html,
)
from ledger.domain.reconciliation import Aging, Note
from ledger.web.i18n import web_catalog
from tests.support.reports import FUND, reconciliation, report


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
        "PAR30: 12,43%",  # en_BE: the fund's country writes a decimal comma
        "Outstanding by days late (EUR)",  # the aging chart's title
        "Movements of the month (EUR)",
        "Repayments 17 612,34 €",
        "The last 12 months (EUR)",
        "Loans outstanding and cash at month end (EUR)",  # the history chart's title
        "31 May 2026 12.100,00 € 8.350,00 €",
        "Unidentified receipts waiting to be matched: 1, 45,00 €, of which 1 for more than 30 "
        "days. In Bank › Matching queue, match each to its loan (“Repays this loan”) or book it "
        "to an account (“Book to an account”).",
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


# -- the notes: structured, worded from the catalogs, pointing at the web pages -------------

#: A note of every kind, as ``ledger.services.reconciliation`` finds them.
EVERY_NOTE = (
    Note.of(
        "no_statement",
        "EUR",
        iban="BE71096123456769",
        account="1000",
        end=date(2026, 5, 31),
        ledger_minor=812_345,
    ),
    Note.of(
        "no_statement_unlinked",
        "EUR",
        iban="",
        account="1010",
        end=date(2026, 5, 31),
        ledger_minor=10_000,
    ),
    Note.of(
        "unmatched_lines",
        "EUR",
        iban="BE71096123456769",
        account="1000",
        count=12,
        total_minor=-1_240,
        lines=tuple(range(31, 41)),
    ),
    Note.of(
        "opening_difference",
        "EUR",
        iban="BE71096123456769",
        account="1000",
        opening_minor=900_000,
        opening_date=date(2026, 3, 1),
        held_minor=1_000_000,
        difference_minor=100_000,
    ),
    Note.of("unexplained", "EUR", iban="BE71096123456769", account="1000", difference_minor=2_500),
    Note.of("sub_ledger", "EUR", control_minor=456_789, loans_minor=456_000, difference_minor=789),
    Note.of(
        "statement_behind",
        "EUR",
        iban="BE71096123456769",
        account="1000",
        statement_date=date(2026, 5, 14),
        end=date(2026, 5, 31),
    ),
    Note.of("stale_in_transit", "EUR", account="1000", count=2, total_minor=-45_000, days=30),
    Note.of("unidentified", "EUR", count=3, total_minor=12_345, old=2, days=30),
)

#: The web pages, buttons and fields each note sends the treasurer to, as the web catalogs
#: name them (menu, then page): the report must say what the screens say.
PAGES: dict[str, list[str | tuple[str, str]]] = {
    "no_statement": [("nav.statements", "statements.list_title"), "statements.upload_title"],
    "no_statement_unlinked": [
        ("nav.statements", "statements.list_title"),
        "statements.upload_title",
        "statements.account",
    ],
    "unmatched_lines": [
        ("nav.statements", "statements.queue_title"),
        "statements.link_button",
        "statements.book_link",
    ],
    "opening_difference": [("nav.audit", "audit.tab_journal")],
    "unexplained": [("nav.statements", "statements.list_title")],
    "sub_ledger": [("nav.audit", "audit.tab_verify"), "audit.verify_button"],
    "statement_behind": [("nav.statements", "statements.list_title"), "statements.upload_title"],
    "stale_in_transit": [("nav.audit", "audit.tab_journal")],
    "unidentified": [
        ("nav.statements", "statements.queue_title"),
        "statements.match_button",
        "statements.book_link",
    ],
}


def with_notes(language: str, notes: tuple[Note, ...] = EVERY_NOTE) -> MonthlyReportData:
    rec = dataclasses.replace(reconciliation(), to_do=notes, notes=("`fundledger` English",))
    return dataclasses.replace(report(), reconciliations=(rec,), language=language)


def plain(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.mark.parametrize("language", ["en", "fr", "nl", "de"])
def test_notes_are_in_the_report_s_language_and_send_to_the_web_pages(language: str) -> None:
    """Every note from its catalog, no command line in it; each names the web pages and
    buttons it sends the treasurer to exactly as the web catalogs of that language do."""
    data = with_notes(language)
    rendered = render_monthly_report(data)
    assert rendered.missing == ()
    assert "fundledger" not in text_of(rendered.pdf)
    text = plain(Markup(report_html(data)[0]).striptags())
    assert "fundledger" not in text and "`" not in text
    web = web_catalog(language)
    assert web is not None
    f = _Formats(Translator(language, FUND.country, catalogs=report_catalog))
    for note in EVERY_NOTE:
        sentence = plain(f.note(note).striptags())
        assert sentence in text, sentence
        for page in PAGES[note.code]:
            words = f"{web[page[0]]} › {web[page[1]]}" if isinstance(page, tuple) else web[page]
            assert plain(words) in sentence, (note.code, words)


def test_a_note_s_amounts_dates_and_lines_are_in_the_report_s_locale() -> None:
    f = _Formats(Translator("fr", FUND.country, catalogs=report_catalog))
    by_code = {n.code: n for n in EVERY_NOTE}
    assert plain(f.note(by_code["unmatched_lines"]).striptags()) == (
        "Lignes d’extrait du compte BE71096123456769 non rapprochées : 12, -12,40 € "
        "(lignes 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, …). Dans Banque › Lignes à "
        "rapprocher, liez chacune à l’écriture qui l’explique (« Paie cette écriture ») ou "
        "comptabilisez-la sur un compte (« Comptabiliser sur un compte »)."
    )
    assert plain(f.note(by_code["no_statement_unlinked"]).striptags()).startswith(
        "Aucun relevé du compte 1010 du grand livre n’a été importé jusqu’au 31 mai 2026 :"
    )
    german = _Formats(Translator("de", FUND.country, catalogs=report_catalog))
    assert plain(german.note(by_code["statement_behind"]).striptags()).startswith(
        "Der letzte Auszug für BE71096123456769 endet am 14.05.2026: Hat die Bank einen bis "
        "31.05.2026,"
    )
    # an account with no IBAN is named as a ledger account, in the report's words
    english = _Formats(Translator("en", FUND.country, catalogs=report_catalog))
    assert "No statement of ledger account 1010 imported up to 31 May 2026" in str(
        english.note(by_code["no_statement_unlinked"]).striptags()
    )
    assert isinstance(english.note(by_code["sub_ledger"]), Markup)


# -- PAR30 as the locale writes a percent -----------------------------------------------------

#: 1,340.00 of 2,500.00 outstanding is more than 30 days late: PAR30 53.60 %.
AT_RISK = Aging(loans=2, outstanding_minor=250_000, buckets={}, par30_minor=134_000)


@pytest.mark.parametrize(
    ("language", "country", "printed"),
    [
        ("en", "GB", "53.60%"),
        ("en", "BE", "53,60%"),  # English in Belgium: a decimal comma, as its amounts
        ("fr", "BE", "53,60\xa0%"),  # CLDR: a no-break space before the sign
        ("de", "BE", "53,60\xa0%"),
        ("nl", "BE", "53,60%"),
        ("de", "CH", "53.60%"),
    ],
)
def test_par30_is_printed_as_the_locale_writes_a_percent(
    language: str, country: str, printed: str
) -> None:
    rec = dataclasses.replace(reconciliation(), aging=AT_RISK)
    assert rec.aging.par30_ratio == Decimal("53.60")
    data = dataclasses.replace(
        report(),
        fund=dataclasses.replace(FUND, country=country),
        reconciliations=(rec,),
        language=language,
    )
    html, _ = report_html(data)
    assert re.search(f'<bdi class="k"> ?{re.escape(printed)}</bdi>', html), printed
    assert "53.60 %" not in html


def test_a_percent_is_the_exact_ratio_with_two_decimals() -> None:
    f = _Formats(Translator("en", "GB", catalogs=report_catalog))
    assert [f.percent(Decimal(v)) for v in ("0.00", "0.01", "12.5", "100.00", "33.33")] == [
        "0.00%",
        "0.01%",
        "12.50%",
        "100.00%",
        "33.33%",
    ]
    # shifted by two places as a decimal: what the ledger computed, digit for digit
    assert f.percent(Decimal("53.6")) == f.percent(Decimal("53.60")) == "53.60%"


# -- times in the fund's zone, the zone said --------------------------------------------------

BRUSSELS = ZoneInfo("Europe/Brussels")


def test_times_are_printed_in_the_fund_s_zone_with_its_name_and_offset() -> None:
    """23:30 UTC on 31 May is 01:30 on 1 June in Brussels (summer time): the footer and the
    sign-off say the fund's day and hour, and which zone."""
    data = dataclasses.replace(
        report(),
        generated_at=datetime(2026, 5, 31, 23, 30, tzinfo=UTC),
        sign_off=SignOff("tina.treasurer", datetime(2026, 5, 31, 22, 5, tzinfo=UTC)),
        zone=BRUSSELS,
    )
    pages = pages_of(render_monthly_report(data).pdf)
    for page in pages:
        assert "generated 01 Jun 2026, 01:30 CEST (UTC+02:00)" in page
    assert "closed by tina.treasurer on 01 Jun 2026, 00:05 CEST (UTC+02:00)" in pages[0]
    assert "31 May 2026, 23:30" not in " ".join(pages)
    winter = dataclasses.replace(
        data, generated_at=datetime(2026, 1, 31, 23, 30, tzinfo=UTC), language="fr"
    )
    assert "généré le 1 févr. 2026, 00:30 CET (UTC+01:00)" in text_of(
        render_monthly_report(winter).pdf
    )


def test_a_report_without_a_zone_says_utc() -> None:
    text = text_of(render_monthly_report(report()).pdf)
    assert "generated 03 Jun 2026, 09:30 UTC" in text


# -- a month that runs, and a fund younger than 12 months -----------------------------------


def test_a_month_not_over_says_its_figures_are_as_of_today() -> None:
    data = dataclasses.replace(report(closed=False), today=date(2026, 5, 12))
    text = text_of(render_monthly_report(data).pdf)
    assert "May 2026, not over yet: figures as of today, 12 May 2026" in text
    assert "figures as of 31 May 2026" not in text
    french = text_of(render_monthly_report(dataclasses.replace(data, language="fr")).pdf)
    assert "mai 2026, mois en cours : chiffres à ce jour, 12 mai 2026" in french


@pytest.mark.parametrize("months", [1, 0])
def test_a_young_fund_s_history_has_its_months_only(months: int) -> None:
    """One month of history is one point of the chart and one row; none leaves the section
    out (a line chart needs a point)."""
    one = History("EUR", (date(2026, 5, 31),), (812_345,), (456_789,))
    data = dataclasses.replace(report(), history=(one,) if months else ())
    rendered = render_monthly_report(data)
    text = text_of(rendered.pdf)
    assert rendered.missing == ()
    if months:
        assert "The last 12 months (EUR)" in text
        assert "31 May 2026 4.567,89 € 8.123,45 €" in text
        assert "30 Apr 2026" not in text
    else:
        assert "The last 12 months" not in text
        assert "Notes (EUR)" in text  # the rest of the report is there


def test_every_note_the_reconciliation_makes_has_its_wording_in_the_report_and_in_english() -> None:
    """Each code ``ledger/services/reconciliation.py`` gives a note has its English sentence
    (``note_text``) and its report message in every staff language."""
    import re
    from pathlib import Path

    from ledger.documents.i18n import report_catalog
    from ledger.services import reconciliation

    source = Path(reconciliation.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'Note\.of\(\s*"([a-z_]+)"', source))
    codes |= {"no_statement", "no_statement_unlinked"}  # chosen by a condition, not literal
    assert {"missing_statement", "unmatched_lines", "unidentified"} <= codes
    for language in ("en", "fr", "nl", "de"):
        messages = report_catalog(language) or {}
        assert sorted(c for c in codes if f"report.note.{c}" not in messages) == [], language
