"""The loans in arrears as of any day, for the roles that read the ledger (treasurer, admin,
auditor): the portfolio's aging and PAR30 on that day with its chart, then the loans late on it,
the longest late first, by bucket and by caseworker, 50 a page, and their CSV.

Every figure is read from the arrears projection by the loan services, the page's in one
snapshot (``loans.arrears_overview``: the portfolio's aging, each caseworker's late loans and a
page of the list), the CSV by ``loans.arrears_csv``. The filters are a GET form: a day, a
bucket or a currency the page cannot read comes back with status 422 and its error beside the
field, and nothing is looked up. No personal data: loan ids, amounts and the caseworkers' user
names.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from markupsafe import Markup

from ledger.api.routers.reports import blocks, spooled
from ledger.documents.charts import bar_chart
from ledger.domain.aging import BUCKETS
from ledger.domain.money import Money, from_minor
from ledger.domain.repayment import AgingBucket
from ledger.domain.roles import Permission
from ledger.services import loans
from ledger.services.loans import ArrearsList, Portfolio
from ledger.services.loans.arrears import LATE_BUCKETS
from ledger.web.i18n import WebText
from ledger.web.render import page
from ledger.web.session import WebUser, needs, runtime_of

router = APIRouter()

#: Loans a page of the list shows.
PAGE = 50
#: Month ends offered besides today, the latest first.
MONTH_ENDS = 3
CSV = "text/csv; charset=utf-8"
FIELDS = ("as_of", "bucket", "caseworker", "currency")

#: What the form sends; longer than any good value so that a bad one gets its words, not a 404.
Typed = Annotated[str, Query(max_length=100)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
#: What reading the page needs (the services check again).
READS = needs(Permission.LEDGER_READ, Permission.LOANS_READ)

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Chosen:
    """What the form asks for, read."""

    as_of: date
    currency: str
    bucket: AgingBucket | None
    caseworker: str | None
    fund_currency: str  # left out of the page's links when it is the one chosen

    def query(self, **changes: str | None) -> str:
        """The page's query string for these choices, with ``changes`` (None leaves one out)."""
        values: dict[str, str | None] = {
            "as_of": self.as_of.isoformat(),
            "bucket": self.bucket.value if self.bucket else None,
            "caseworker": self.caseworker,
            "currency": self.currency if self.currency != self.fund_currency else None,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v})


def _today(request: Request) -> date:
    runtime = runtime_of(request)
    return runtime.clock().astimezone(runtime.settings.zone).date()


def month_ends(today: date, count: int = MONTH_ENDS) -> list[date]:
    """The last ``count`` month ends before ``today``, the latest first."""
    ends: list[date] = []
    end = today.replace(day=1) - timedelta(days=1)
    while len(ends) < count:
        ends.append(end)
        end = end.replace(day=1) - timedelta(days=1)
    return ends


def _currencies(request: Request, user: WebUser) -> list[str]:
    """The fund's currency and any other its loans were paid out in."""
    runtime = runtime_of(request)
    held = loans.arrears_currencies(runtime.unit_of_work(readonly=True), user.actor)
    fund = runtime.settings.currency
    return [fund, *sorted(c for c in set(held) if c != fund)]


def _read(
    text: WebText, typed: dict[str, str], today: date, currencies: list[str]
) -> tuple[Chosen | None, dict[str, str]]:
    """The choices, or the errors of those that cannot be read (in the user's words)."""
    errors: dict[str, str] = {}
    typed_day = typed["as_of"].strip()
    as_of = _day(typed_day) if typed_day else today
    if as_of is None:
        errors["as_of"] = text.text("arrears.day_bad", example=today.isoformat())
    elif as_of > today:
        errors["as_of"] = text.text("arrears.day_future", today=text.day(today))
    bucket: AgingBucket | None = None
    if typed["bucket"]:
        bucket = next((b for b in LATE_BUCKETS if b.value == typed["bucket"]), None)
        if bucket is None:
            errors["bucket"] = text.text("arrears.bucket_bad")
    currency = typed["currency"] or currencies[0]
    if currency not in currencies:
        errors["currency"] = text.text("arrears.currency_bad", currencies=", ".join(currencies))
    if as_of is None or errors:
        return None, errors
    return Chosen(as_of, currency, bucket, typed["caseworker"] or None, currencies[0]), {}


def _day(value: str) -> date | None:
    """A day written as year-month-day (what a date field sends), else None."""
    if not _ISO_DAY.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _svg(svg: str) -> Markup:
    return Markup(svg)  # noqa: S704 - documents/charts.py built it; ElementTree escaped every text


@dataclass(frozen=True, slots=True)
class BucketRow:
    """A line of the aging table: a bucket's loans and what they owe, a link to its list."""

    bucket: str
    loans: int
    outstanding: Money
    href: str | None  # None: the loans on time, which the list of late loans does not show


def _aging(text: WebText, chosen: Chosen, found: Portfolio) -> tuple[list[BucketRow], Markup]:
    cur = chosen.currency
    rows = [
        BucketRow(
            name,
            loans_in,
            from_minor(owed, cur),
            None
            if name == AgingBucket.CURRENT.value
            else "/arrears?" + chosen.query(bucket=name, caseworker=None),
        )
        for name in BUCKETS
        for loans_in, owed in (found.buckets[name],)
    ]
    chart = bar_chart(
        text.text("arrears.chart", currency=cur, day=text.day(chosen.as_of)),
        [(text.text(f"report.bucket.{r.bucket}"), found.buckets[r.bucket][1]) for r in rows],
        lambda minor: text.amount(from_minor(minor, cur)),
        x_label=text.text("report.chart_days_late"),
        y_label=text.text("report.chart_amount", currency=cur),
    )
    return rows, _svg(chart)


def _arrears_page(
    request: Request,
    user: WebUser,
    typed: dict[str, str],
    offset: int,
) -> Response:
    text = user.text
    runtime = runtime_of(request)
    today = _today(request)
    currencies = _currencies(request, user)
    chosen, errors = _read(text, typed, today, currencies)
    found: Portfolio | None = None
    listed: ArrearsList | None = None
    caseworkers: list[tuple[str, int]] = []
    aging: list[BucketRow] = []
    chart: Markup | None = None
    if chosen is not None:
        overview = loans.arrears_overview(
            runtime.unit_of_work(readonly=True),
            user.actor,
            chosen.as_of,
            chosen.currency,
            bucket=chosen.bucket,
            caseworker=chosen.caseworker,
            limit=PAGE,
            offset=offset,
        )
        found, caseworkers, listed = overview.portfolio, overview.caseworkers, overview.page
        aging, chart = _aging(text, chosen, found)
    worker = typed["caseworker"]
    if worker and worker not in dict(caseworkers):
        caseworkers.append((worker, 0))  # kept chosen, though nobody of theirs is late that day
    kept = {k: v for k, v in typed.items() if v and k != "as_of" and k not in errors}
    quick = [("arrears.today", today), *(("arrears.month_end", end) for end in month_ends(today))]
    late = [r for r in aging if r.href is not None]
    return page(
        request,
        "arrears/page.html",
        user=user,
        text=text,
        status_code=422 if errors else 200,
        errors=errors,
        typed=typed,
        today_iso=today.isoformat(),
        chosen=chosen,
        filtered=bool(typed["bucket"] or worker),
        found=found,
        listed=listed,
        aging=aging,
        late_loans=sum(r.loans for r in late),
        late_owed=sum(found.buckets[r.bucket][1] for r in late) if found else 0,
        chart=chart,
        money=from_minor,
        percent=lambda value: _percent(text, value),
        quick=[
            (key, day, "/arrears?" + urlencode({"as_of": day.isoformat(), **kept}))
            for key, day in quick
        ],
        bucket_options=[("", text.text("arrears.every_bucket"))]
        + [
            (b.value, text.text("arrears.bucket_option", days=text.text(f"report.bucket.{b}")))
            for b in LATE_BUCKETS
        ],
        caseworker_options=[("", text.text("arrears.every_caseworker"))]
        + [
            (name, text.text("arrears.caseworker_option", name=name, count=text.number(n)))
            for name, n in caseworkers
        ],
        currency_options=[(c, c) for c in currencies],
        worker_href=lambda name: "/arrears?" + chosen.query(caseworker=name) if chosen else "",
        clear_href="/arrears?" + chosen.query(bucket=None, caseworker=None) if chosen else "",
        base="/arrears?" + (chosen.query() + "&" if chosen else ""),
        csv_href="/arrears.csv?" + chosen.query() if chosen else "",
        offset=offset,
        page_size=PAGE,
    )


def _percent(text: WebText, value: Decimal) -> str:
    return text.number(value) + "\u00a0%"


def _typed(as_of: str, bucket: str, caseworker: str, currency: str) -> dict[str, str]:
    return dict(zip(FIELDS, (as_of, bucket, caseworker, currency), strict=True))


@router.get("/arrears")
def arrears_page(
    request: Request,
    user: WebUser = READS,
    as_of: Typed = "",
    bucket: Typed = "",
    caseworker: Typed = "",
    currency: Typed = "",
    offset: Offset = 0,
) -> Response:
    return _arrears_page(request, user, _typed(as_of, bucket, caseworker, currency), offset)


@router.get("/arrears.csv")
def arrears_export(
    request: Request,
    user: WebUser = READS,
    as_of: Typed = "",
    bucket: Typed = "",
    caseworker: Typed = "",
    currency: Typed = "",
) -> Response:
    """Every loan of the list (all its pages) as CSV, cells a spreadsheet would run as a
    formula neutralised by the service. Made whole before it is sent, as the API's: a failure
    half-way is an error page, never a file that ends early."""
    typed = _typed(as_of, bucket, caseworker, currency)
    currencies = _currencies(request, user)
    chosen, _errors = _read(user.text, typed, _today(request), currencies)
    if chosen is None:
        return _arrears_page(request, user, typed, 0)
    chunks = loans.arrears_csv(
        runtime_of(request).unit_of_work(readonly=True),
        user.actor,
        chosen.as_of,
        chosen.currency,
        bucket=chosen.bucket,
        caseworker=chosen.caseworker,
    )
    spool = spooled(chunks)
    size = spool.seek(0, io.SEEK_END)
    spool.seek(0)
    named = chosen.currency + "-" if len(currencies) > 1 else ""
    headers = {
        "Content-Disposition": f'attachment; filename="arrears-{named}{chosen.as_of}.csv"',
        "Content-Length": str(size),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(blocks(spool), media_type=CSV, headers=headers)
