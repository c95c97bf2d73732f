"""The monthly fund report for the treasurer and the board: values in, PDF/A out.

The report shows ledger figures only: loan ids, payment references, statement line ids and
amounts, never a beneficiary's name or contact, nor the bank's free text of a statement line
(which may carry a payer's name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal

from babel.dates import format_date, format_time
from babel.numbers import NumberPattern, format_decimal, format_percent
from markupsafe import Markup

from ledger.documents.charts import Series, bar_chart, line_chart
from ledger.documents.i18n import Translator, report_catalog, zone_text
from ledger.documents.model import FundInfo
from ledger.documents.render import Rendered, _html, _pdf, _rendered
from ledger.domain.money import from_minor
from ledger.domain.reconciliation import MonthReconciliation, Note

AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "91-180", "181-360", ">360")


@dataclass(frozen=True, slots=True)
class History:
    """Month-end cash and loans outstanding of one currency, oldest month first."""

    currency: str
    month_ends: tuple[date, ...]
    cash_minor: tuple[int, ...]
    loans_minor: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SignOff:
    """Who closed the month, and when: who signed the close off, and who asked for it (none
    when the system operator closed it alone, at the command line)."""

    actor: str
    at: datetime
    reason: str | None = None  # why an admin closed it although it did not reconcile
    requested_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyReportData:
    fund: FundInfo
    month: str  # YYYY-MM
    month_end: date
    generated_at: datetime
    reconciliations: tuple[MonthReconciliation, ...]  # one per currency
    history: tuple[History, ...]  # one per currency
    sign_off: SignOff | None  # the month's close, when it is closed
    language: str = "en"
    zone: tzinfo = UTC  # the fund's: the times are printed in it, with its name and offset
    today: date | None = None  # the fund's today while the month runs: figures as of it


class _Formats:
    """Amounts, months, times, percents, labels and notes for the template and the charts."""

    def __init__(self, t: Translator, zone: tzinfo = UTC) -> None:
        self.t = t
        self.zone = zone

    def money(self, minor: int, currency: str) -> str:
        return self.t.money(from_minor(minor, currency))

    def amounts(self, currency: str) -> Callable[[int], str]:
        return lambda minor: self.money(minor, currency)

    def month(self, day: date) -> str:
        return str(format_date(day, "LLLL yyyy", locale=self.t.locale))

    def short_month(self, day: date) -> str:
        return str(format_date(day, "LLL yy", locale=self.t.locale))

    def number(self, n: int) -> str:
        return str(format_decimal(n, locale=self.t.locale))

    def timestamp(self, at: datetime) -> str:
        """A moment as the fund's zone reads it, to the minute as the signature stamps, the
        zone said: ``03 Jun 2026, 11:30 CEST (UTC+02:00)``."""
        local = at.astimezone(self.zone)
        day = format_date(local, "medium", locale=self.t.locale)
        time = format_time(local, "short", tzinfo=self.zone, locale=self.t.locale)
        when = str(self.t.locale.datetime_formats["medium"]).format(time, day)  # "{1}, {0}"
        return f"{when} {zone_text(local)}"

    def label(self, prefix: str, name: str) -> str:
        """The catalog's word for a bucket or a kind (``prefix`` ends with a dot), else the
        raw name."""
        msgid = prefix + name
        return self.t.text(msgid) if self.t.has(msgid) else name

    def percent(self, value: Decimal) -> str:
        """A percent with two decimals as the locale writes it (``value`` 53.60 -> en
        "53.60%", fr "53,60 %", nl "53,60%"): the locale's percent pattern with exactly two
        decimals, of the ratio ``value`` / 100 taken exactly (a decimal shift, no float)."""
        pattern = self.t.locale.percent_formats[None]
        two = NumberPattern(
            pattern.pattern,
            pattern.prefix,
            pattern.suffix,
            pattern.grouping,
            pattern.int_prec,
            (2, 2),
            pattern.exp_prec,
            pattern.exp_plus,
            pattern.number_pattern,
        )
        return str(format_percent(value.scaleb(-2), two, locale=self.t.locale))

    def note(self, n: Note) -> Markup:
        """A note in the report's language from ``report.note.<code>``: each amount (a value
        named ``..._minor``, its placeholder without the suffix) in the note's currency, dates
        and numbers in the report's locale, the account as its IBAN or as a ledger account."""
        count = dict(n.values).get("count")
        values: dict[str, object] = {}
        for key, value in n.values:
            if key.endswith("_minor") and isinstance(value, int):
                values[key.removesuffix("_minor")] = self.money(value, n.currency)
            elif isinstance(value, date):
                values[key] = self.t.short_date(value)
            elif isinstance(value, tuple):  # ids: the first of ``count``, the rest elided
                cut = isinstance(count, int) and count > len(value)
                values[key] = ", ".join(str(i) for i in value) + (", …" if cut else "")
            elif isinstance(value, int):
                values[key] = self.number(value)
            else:
                values[key] = value
        if "iban" in values:
            values["name"] = values["iban"] or self.t.text(
                "report.note.ledger_account", account=n.text("account")
            )
        return self.t(f"report.note.{n.code}", **values)


def _history_chart(f: _Formats, h: History) -> Markup:
    t = f.t
    svg = line_chart(
        t.text("report.history.chart", currency=h.currency),
        [f.short_month(d) for d in h.month_ends],
        [
            Series(t.text("report.history.loans"), h.loans_minor),
            Series(t.text("report.history.cash"), h.cash_minor),
        ],
        f.amounts(h.currency),
        x_label=t.text("report.chart.month_end"),
        y_label=t.text("report.chart.amount", currency=h.currency),
    )
    return Markup(svg)  # noqa: S704 - charts.py built it; ElementTree escaped every text


def _aging_chart(f: _Formats, rec: MonthReconciliation) -> Markup:
    t = f.t
    bars = [
        (f.label("report.bucket.", b), rec.aging.buckets.get(b, (0, 0))[1]) for b in AGING_BUCKETS
    ]
    svg = bar_chart(
        t.text("report.aging.chart", currency=rec.currency),
        bars,
        f.amounts(rec.currency),
        x_label=t.text("report.chart.days_late"),
        y_label=t.text("report.chart.amount", currency=rec.currency),
    )
    return Markup(svg)  # noqa: S704 - charts.py built it; ElementTree escaped every text


def report_html(data: MonthlyReportData) -> tuple[str, Translator]:
    t = Translator(data.language, data.fund.country, catalogs=report_catalog)
    f = _Formats(t, data.zone)
    history = {h.currency: h for h in data.history}
    sections = [
        {
            "r": rec,
            "history": history.get(rec.currency),
            "history_svg": (
                _history_chart(f, history[rec.currency]) if rec.currency in history else None
            ),
            "aging_svg": _aging_chart(f, rec),
        }
        for rec in data.reconciliations
    ]
    html = _html(
        "report_monthly.html",
        t,
        data.generated_at.astimezone(data.zone).date(),
        data.fund,
        d=data,
        f=f,
        sections=sections,
        buckets=AGING_BUCKETS,
        reconciled=all(rec.reconciled for rec in data.reconciliations),
    )
    return html, t


def render_monthly_report(data: MonthlyReportData) -> Rendered:
    """The monthly report as a PDF/A."""
    html, t = report_html(data)
    pdf, _ = _pdf(html)
    return _rendered(pdf, t)
