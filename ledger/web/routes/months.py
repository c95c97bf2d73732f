"""The treasurer's month: the list of months, each month's reconciliation with its close in two
steps (one person asks, another signs off: ``services.periods``), and the monthly report on
screen with its charts and as the PDF (``services.reports``).

Every figure of the reconciliation links to where it comes from: a bank account's ledger
balance to its journal up to month end, an item in transit to its entry, the sub-ledger to the
trial balance, an unidentified receipt to the loan its rules suggest. The lists of items are
cut at ``SHOWN`` (with their count and total), so a month of 50,000 lines stays one page: the
unidentified receipts are counted by age in the database and only the shown ones read
(``reconciliation.page_reading``), and the month's movements, which this page does not show,
are not read at all (the report shows them).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from babel.dates import format_date
from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from ledger.documents.charts import Series, bar_chart, line_chart
from ledger.documents.model import FundInfo
from ledger.documents.report import AGING_BUCKETS, History
from ledger.domain.errors import LedgerError
from ledger.domain.journal import month_end, parse_month
from ledger.domain.money import from_minor
from ledger.domain.reconciliation import MonthReconciliation, entry_kind_of
from ledger.domain.roles import Permission
from ledger.services import periods, reconciliation, reports
from ledger.services.reports import CurrencyFigures, ReportSettings
from ledger.web.i18n import UI_LANGUAGES, WebText
from ledger.web.render import page, redirect
from ledger.web.session import Checked, WebUser, needs, runtime_of

router = APIRouter()

#: Items in transit and unmatched lines listed per bank account (the rest counted and added up).
SHOWN = 50
#: Months the list shows, the current one first.
LISTED = 13
PDF = "application/pdf"

Month = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$")]
Reason = Annotated[str, Form(max_length=periods.MAX_REASON)]
#: What reading a month needs (the reconciliation's own checks, made before any form).
READS_MONTH = [needs(Permission.LEDGER_READ, Permission.LOANS_READ)]


def _month(value: str) -> str:
    """A month the URL names: refused as not found when it does not exist."""
    try:
        return parse_month(value)
    except LedgerError:
        raise HTTPException(status_code=404) from None


def _today(request: Request) -> date:
    runtime = runtime_of(request)
    return runtime.clock().astimezone(runtime.settings.zone).date()


def _shift(month: str, back: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_name(text: WebText, month: str) -> str:
    return str(
        format_date(date(int(month[:4]), int(month[5:]), 1), "LLLL yyyy", locale=text.locale)
    )


# -- the list of months ----------------------------------------------------------------------


@router.get("/months")
def month_list(request: Request, user: WebUser = needs(Permission.LEDGER_READ)) -> Response:
    runtime = runtime_of(request)
    today = _today(request)
    current = f"{today.year:04d}-{today.month:02d}"
    closed, events = periods.list_periods(runtime.unit_of_work(readonly=True), user.actor)
    pending = periods.pending_closes(runtime.unit_of_work(readonly=True), user.actor)
    last_close = {e.month: e for e in events if e.action.value == "close"}
    rows = [
        {
            "month": m,
            "name": _month_name(user.text, m),
            "ended": month_end(m) < today,
            "closed": last_close.get(m) if m in closed else None,
            "pending": pending.get(m),
        }
        for m in (_shift(current, back) for back in range(LISTED))
    ]
    return page(request, "months/list.html", user=user, text=user.text, rows=rows)


# -- a month's reconciliation and its close --------------------------------------------------


def _reconciliation_page(
    request: Request,
    user: WebUser,
    month: str,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    runtime = runtime_of(request)
    recs = reconciliation.reconcile(
        runtime.unit_of_work(readonly=True),
        user.actor,
        month,
        rules=runtime.policy.rules,
        aging=False,
        reading=reconciliation.page_reading(SHOWN),
    )
    state = periods.month_state(runtime.unit_of_work(readonly=True), user.actor, month)
    end = month_end(month)
    errors = errors or {}
    return page(
        request,
        "months/reconciliation.html",
        user=user,
        text=user.text,
        status_code=422 if errors else status,
        month=month,
        name=_month_name(user.text, month),
        start=date(end.year, end.month, 1),
        end=end,
        recs=recs,
        state=state,
        reconciled=bool(recs) and all(r.reconciled for r in recs),
        shown=SHOWN,
        money=from_minor,
        errors=errors,
        typed=typed or {"reason": ""},
        may_close=user.can(Permission.PERIOD_CLOSE),
        may_override=user.can(Permission.PERIOD_CLOSE_UNRECONCILED),
        previous=_shift(month, 1),
        following=_shift(month, -1),
    )


@router.get("/months/{month}", dependencies=[needs(Permission.LEDGER_READ)])
def month_page(month: Month) -> Response:
    return redirect(f"/months/{_month(month)}/reconciliation")


@router.get("/months/{month}/reconciliation")
def reconciliation_page(
    request: Request,
    month: Month,
    user: WebUser = needs(Permission.LEDGER_READ, Permission.LOANS_READ),
) -> Response:
    return _reconciliation_page(request, user, _month(month))


def _refused(
    request: Request, user: WebUser, month: str, exc: LedgerError, field: str, reason: str
) -> Response:
    if exc.status in (401, 403, 404):
        raise exc
    return _reconciliation_page(
        request,
        user,
        month,
        errors={field: user.text.refusal(exc)},
        typed={"reason": reason},
    )


@router.post("/months/{month}/close-request", dependencies=READS_MONTH)
def ask_to_close(request: Request, month: Month, user: Checked, reason: Reason = "") -> Response:
    """The first step: ask to close the month (an admin may give the reason to close a month
    that does not reconcile)."""
    month = _month(month)
    runtime = runtime_of(request)
    try:
        periods.request_close(
            runtime.unit_of_work(),
            user.actor,
            month,
            reason or None,
            rules=runtime.policy.rules,
        )
    except LedgerError as exc:
        return _refused(request, user, month, exc, "reason", reason)
    return redirect(
        f"/months/{month}/reconciliation",
        flash=("flash.month_close_requested", {"month": month}),
    )


@router.post("/months/{month}/sign-off", dependencies=READS_MONTH)
def sign_off(request: Request, month: Month, user: Checked) -> Response:
    """The second step: another person signs the close off; the month closes."""
    month = _month(month)
    runtime = runtime_of(request)
    try:
        periods.sign_off_close(
            runtime.unit_of_work(), user.actor, month, rules=runtime.policy.rules
        )
    except LedgerError as exc:
        return _refused(request, user, month, exc, "sign-off", "")
    return redirect(
        f"/months/{month}/reconciliation", flash=("flash.month_closed", {"month": month})
    )


@router.post("/months/{month}/close-request/cancel", dependencies=READS_MONTH)
def cancel_request(request: Request, month: Month, user: Checked, refusal: Reason = "") -> Response:
    """Who asked withdraws the request; another refuses it with a reason."""
    month = _month(month)
    try:
        done = periods.cancel_close_request(
            runtime_of(request).unit_of_work(), user.actor, month, refusal or None
        )
    except LedgerError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _reconciliation_page(
            request,
            user,
            month,
            errors={"refusal": user.text.refusal(exc)},
            typed={"reason": "", "refusal": refusal},
        )
    said = f"flash.month_close_{done.status.value}"
    return redirect(f"/months/{month}/reconciliation", flash=(said, {"month": month}))


# -- the monthly report ----------------------------------------------------------------------


def _fund(request: Request) -> FundInfo:
    """Built from the app's settings on first use and kept with the app (as the API's)."""
    fund: FundInfo | None = getattr(request.app.state, "report_fund", None)
    if fund is None:
        fund = FundInfo.from_settings(runtime_of(request).settings)
        request.app.state.report_fund = fund
    return fund


def _svg(svg: str) -> Markup:
    return Markup(svg)  # noqa: S704 - documents/charts.py built it; ElementTree escaped every text


def _percent(text: WebText, hundredths: int) -> str:
    return str(text.number(Decimal(hundredths).scaleb(-2).quantize(Decimal("0.01")))) + " %"


def _charts(
    text: WebText,
    rec: MonthReconciliation,
    figures: CurrencyFigures | None,
    history: History | None,
) -> dict[str, Markup]:
    """The report's charts for one currency, drawn by documents/charts.py as the PDF's are."""
    cur = rec.currency

    def amounts(minor: int) -> str:
        return text.amount(from_minor(minor, cur))

    def month_label(day: date) -> str:
        return str(format_date(day, "LLL yy", locale=text.locale))

    out: dict[str, Markup] = {}
    out["aging"] = _svg(
        bar_chart(
            text.text("report.chart_aging", currency=cur),
            [
                (text.text(f"report.bucket.{b}"), rec.aging.buckets.get(b, (0, 0))[1])
                for b in AGING_BUCKETS
            ],
            amounts,
            x_label=text.text("report.chart_days_late"),
            y_label=text.text("report.chart_amount", currency=cur),
        )
    )
    if figures is not None and figures.months:
        labels = [month_label(m.month_end) for m in figures.months]
        out["par30"] = _svg(
            line_chart(
                text.text("report.chart_par30", currency=cur),
                labels,
                [
                    Series(
                        text.text("report.par30"),
                        tuple(int(m.par30_percent * 100) for m in figures.months),
                    )
                ],
                lambda hundredths: _percent(text, hundredths),
                x_label=text.text("report.chart_month_end"),
                y_label=text.text("report.chart_percent"),
            )
        )
        out["flows"] = _svg(
            line_chart(
                text.text("report.chart_flows", currency=cur),
                labels,
                [
                    Series(
                        text.text("report.disbursed"),
                        tuple(m.disbursed_minor for m in figures.months),
                    ),
                    Series(
                        text.text("report.repaid"), tuple(m.repaid_minor for m in figures.months)
                    ),
                ],
                amounts,
                x_label=text.text("report.chart_month"),
                y_label=text.text("report.chart_amount", currency=cur),
            )
        )
        if figures.states:
            out["states"] = _svg(
                bar_chart(
                    text.text("report.chart_states", currency=cur),
                    [(text.text(f"status.{s.state.value}"), s.loans) for s in figures.states],
                    lambda n: text.number(n),
                    x_label=text.text("report.chart_state"),
                    y_label=text.text("report.chart_loans"),
                )
            )
    if history is not None:
        out["cash"] = _svg(
            line_chart(
                text.text("report.chart_cash", currency=cur),
                [month_label(d) for d in history.month_ends],
                [
                    Series(text.text("report.cash"), history.cash_minor),
                    Series(text.text("report.loans_outstanding"), history.loans_minor),
                ],
                amounts,
                x_label=text.text("report.chart_month_end"),
                y_label=text.text("report.chart_amount", currency=cur),
            )
        )
    return out


@router.get("/months/{month}/report")
def report_page(
    request: Request,
    month: Month,
    user: WebUser = needs(Permission.LEDGER_READ, Permission.LOANS_READ),
) -> Response:
    month = _month(month)
    runtime = runtime_of(request)
    settings = ReportSettings(
        _fund(request), user.text.language, runtime.policy.rules, runtime.settings.zone
    )
    figures = reports.report_figures(
        runtime.unit_of_work(readonly=True), user.actor, month, settings
    )
    history = {h.currency: h for h in figures.data.history}
    sections = [
        {
            "r": rec,
            "figures": figures.currencies.get(rec.currency),
            "history": history.get(rec.currency),
            "charts": _charts(
                user.text, rec, figures.currencies.get(rec.currency), history.get(rec.currency)
            ),
        }
        for rec in figures.data.reconciliations
    ]
    end = figures.data.today or month_end(month)  # a month that runs: its figures as of today
    return page(
        request,
        "months/report.html",
        user=user,
        text=user.text,
        month=month,
        name=_month_name(user.text, month),
        start=date(end.year, end.month, 1),
        end=end,
        data=figures.data,
        sections=sections,
        buckets=AGING_BUCKETS,
        money=from_minor,
        languages=UI_LANGUAGES,
        percent=lambda value: str(user.text.number(value)) + " %",
        entry_kind=entry_kind_of,
    )


@router.get("/months/{month}/report.pdf")
def report_pdf(
    request: Request,
    month: Month,
    user: WebUser = needs(Permission.LEDGER_READ, Permission.LOANS_READ),
    language: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """The PDF the board reads, in the language asked (else the user's)."""
    month = _month(month)
    runtime = runtime_of(request)
    chosen = language if language in UI_LANGUAGES else user.text.language
    settings = ReportSettings(_fund(request), chosen, runtime.policy.rules, runtime.settings.zone)
    pdf = reports.monthly_report(runtime.unit_of_work(readonly=True), user.actor, month, settings)
    name = f"fund-report-{month}.pdf"
    return Response(
        pdf,
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
