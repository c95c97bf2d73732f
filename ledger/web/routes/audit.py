"""The auditor's workspace, read-only: the journal (filtered, paged), each entry's page with its
legs, its hash and the hash before it, ``verify`` run from a page, the trial balance as of any
day, the log of reads of personal data, and their CSV exports (services/journal.py, verify.py,
reports.py, audit.py). Filters are GET forms: a value the page cannot read comes back with status
422 and its error beside the field, and nothing is looked up.
"""

from __future__ import annotations

import io
import re
import time
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from ledger.api.routers.reports import blocks, spooled
from ledger.domain.audit import PersonalRead
from ledger.domain.errors import LedgerError, NotFound, ValidationError
from ledger.domain.journal import Entry, JournalFilter
from ledger.domain.money import Money, from_minor
from ledger.domain.paging import IdPage, Window
from ledger.domain.roles import Permission
from ledger.domain.statuses import EntryKind
from ledger.services import audit, journal, reports
from ledger.services.audit import ReadsFilter
from ledger.services.verify import verify
from ledger.web.render import form_page, page
from ledger.web.session import Checked, WebUser, needs, runtime_of, today_of

router = APIRouter()
PAGE = 25
CSV = "text/csv; charset=utf-8"

Text40 = Annotated[str, Query(max_length=40)]
Text64 = Annotated[str, Query(max_length=64)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
#: A day as a date field sends it ("" when empty); read by ``Typed.day``.
DayFrom = Annotated[str, Query(alias="from", max_length=20)]
DayTo = Annotated[str, Query(alias="to", max_length=20)]
#: Where a list's page starts: before or after an item's number (``ledger.domain.paging``).
Cursor = Annotated[int | None, Query(ge=0, le=2**63 - 1)]
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1)]

#: What a verify POST needs besides its CSRF token (the service checks again).
READS_LEDGER = [needs(Permission.LEDGER_READ)]

#: The checks ``verify`` makes (services/verify.py), in the order it makes them.
VERIFY_CHECKS = ("chain", "entries", "balances", "trial_balance", "reversals", "loans")

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- reading what was typed ------------------------------------------------------------------


class Typed:
    """What a filter form sent, read one field at a time; each value that cannot be read
    leaves its error (in the user's words) under the field's name."""

    def __init__(self, user: WebUser) -> None:
        self.text = user.text
        self.errors: dict[str, str] = {}

    def day(self, field: str, value: str) -> date | None:
        value = value.strip()
        if not value:
            return None
        if _ISO_DAY.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.errors[field] = self.text.text("audit.day_bad", example="2026-03-31")
        return None

    def amount(self, field: str, value: str, currency: str) -> Money | None:
        if not value.strip():
            return None
        try:
            return self.text.parse_amount(value, currency, field)
        except ValidationError as exc:
            self.errors[field] = exc.detail
            return None

    def kind(self, field: str, value: str) -> EntryKind | None:
        if not value:
            return None
        try:
            return EntryKind(value)
        except ValueError:
            self.errors[field] = self.text.text("audit.kind_bad")
            return None


def _optional(value: str) -> str | None:
    return value.strip() or None


def _refusal(user: WebUser, exc: LedgerError, fields: Mapping[str, str]) -> tuple[str, str]:
    """The form field a service's refusal is about, and the words for it."""
    field = fields.get(exc.field or "", next(iter(fields.values())))
    key = {
        "date_from": "audit.dates_order",
        "amount_min": "audit.amounts_order",
        "account": "audit.account_unknown",
    }.get(exc.field or "")
    return field, user.text.text(key) if key else exc.detail


def _file_name(request: Request, what: str) -> str:
    """``<fund>-<what>.csv``: the fund's name in plain ASCII letters, digits and dashes."""
    name = runtime_of(request).settings.fund_name
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "fund"
    return f"{slug}-{what}.csv"


def _csv(chunks: Iterator[str] | str, file_name: str) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{file_name}"',
        "Cache-Control": "no-store",
    }
    if isinstance(chunks, str):
        return Response(chunks, media_type=CSV, headers=headers)
    # The whole file is made before the answer starts (as the API's export): a failure half-way
    # is an error page, never a file that silently ends early.
    spool = spooled(chunks)
    headers["Content-Length"] = str(spool.seek(0, io.SEEK_END))
    spool.seek(0)
    return StreamingResponse(blocks(spool), media_type=CSV, headers=headers)


def _window(before: int | None, after: int | None, offset: int) -> Window:
    """Where a list's page starts: before an item's number (the next page), after one (the
    previous page), or, in a link made before the lists were paged by number, that many items
    down. Both numbers: the first is kept."""
    if before is not None:
        return Window(before=before)
    if after is not None:
        return Window(after=after)
    return Window(offset=offset)


def _list_page(
    request: Request,
    user: WebUser,
    template: str,
    typed: dict[str, str],
    errors: Mapping[str, str],
    found: IdPage[Any],
    **context: Any,
) -> Response:
    """A list page of the auditor's with its filter form: the filter's values keep to the
    pages' links (newer and older, by number: URLs that can be bookmarked)."""
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in typed.items() if v)
    return form_page(
        request,
        template,
        user,
        errors,
        typed=typed,
        filtered=bool(query),
        found=found,
        query=query,
        base=request.url.path + "?" + (query + "&" if query else ""),
        **context,
    )


NOTHING: IdPage[Any] = IdPage([], 0, 0, None, None)


# -- the journal -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryRow:
    """An entry as a line of the journal: the accounts debited and credited, and its size
    (what its debits add up to, per currency)."""

    entry: Entry
    debited: tuple[str, ...]
    credited: tuple[str, ...]
    amounts: tuple[Money, ...]


def _row(entry: Entry) -> EntryRow:
    debits: dict[str, int] = {}
    for leg in entry.legs:
        if leg.minor > 0:
            debits[leg.currency] = debits.get(leg.currency, 0) + leg.minor
    return EntryRow(
        entry,
        tuple(dict.fromkeys(g.account_code for g in entry.legs if g.minor > 0)),
        tuple(dict.fromkeys(g.account_code for g in entry.legs if g.minor < 0)),
        tuple(from_minor(m, c) for c, m in sorted(debits.items())),
    )


JOURNAL_FIELDS = ("account", "loan", "from", "to", "min", "max", "who", "kind")
#: The service's name of a filter -> the form's.
JOURNAL_SERVICE_FIELDS = {
    "account": "account",
    "account_code": "account",
    "loan_id": "loan",
    "date_from": "from",
    "date_to": "to",
    "amount_min": "min",
    "amount_max": "max",
    "author": "who",
    "kind": "kind",
}


def _journal_page(
    request: Request,
    user: WebUser,
    typed: dict[str, str],
    window: Window,
    *,
    errors: dict[str, str] | None = None,
    export: dict[str, str] | None = None,
) -> Response:
    errors = dict(errors or {})
    found: IdPage[Entry] = NOTHING
    if not errors:
        reader = Typed(user)
        currency = runtime_of(request).settings.currency
        values: dict[str, Any] = {
            "account_code": _optional(typed["account"]),
            "loan_id": _optional(typed["loan"]),
            "date_from": reader.day("from", typed["from"]),
            "date_to": reader.day("to", typed["to"]),
            "amount_min": reader.amount("min", typed["min"], currency),
            "amount_max": reader.amount("max", typed["max"], currency),
            "author": _optional(typed["who"]),
            "kind": reader.kind("kind", typed["kind"]),
        }
        errors = reader.errors
        if not errors:
            try:
                found = journal.journal_page(
                    runtime_of(request).unit_of_work(readonly=True),
                    user.actor,
                    JournalFilter(**values),
                    window,
                    limit=PAGE,
                )
            except (ValidationError, NotFound) as exc:
                field, message = _refusal(user, exc, JOURNAL_SERVICE_FIELDS)
                errors[field] = message
    return _list_page(
        request,
        user,
        "audit/journal.html",
        typed,
        errors,
        found,
        entries=[_row(e) for e in found.items],
        kind_options=[("", user.text.text("audit.kind_any"))]
        + [(k.value, user.text.text(f"entry_kind.{k.value}")) for k in EntryKind],
        export=export or {"from": typed["from"], "to": typed["to"]},
    )


@router.get("/journal")
def journal_list(
    request: Request,
    user: WebUser = needs(Permission.LEDGER_READ),
    account: Text40 = "",
    loan: Text64 = "",
    date_from: DayFrom = "",
    date_to: DayTo = "",
    low: Annotated[str, Query(alias="min", max_length=40)] = "",
    high: Annotated[str, Query(alias="max", max_length=40)] = "",
    who: Text64 = "",
    kind: Text40 = "",
    before: Cursor = None,
    after: Cursor = None,
    offset: Offset = 0,
) -> Response:
    typed = dict(
        zip(JOURNAL_FIELDS, (account, loan, date_from, date_to, low, high, who, kind), strict=True)
    )
    return _journal_page(request, user, typed, _window(before, after, offset))


@router.get("/journal.csv")
def journal_export(
    request: Request,
    user: WebUser = needs(Permission.LEDGER_READ),
    date_from: DayFrom = "",
    date_to: DayTo = "",
) -> Response:
    """Every leg of the entries booked from one day to another, as the accountant's CSV."""
    reader = Typed(user)
    start = reader.day("export-from", date_from)
    end = reader.day("export-to", date_to)
    for field, value in (("export-from", start), ("export-to", end)):
        if value is None and field not in reader.errors:
            reader.errors[field] = user.text.text("audit.day_needed")
    if start is not None and end is not None and start > end:
        reader.errors["export-from"] = user.text.text("audit.dates_order")
    if start is None or end is None or reader.errors:
        typed = dict.fromkeys(JOURNAL_FIELDS, "")
        export = {"from": date_from, "to": date_to}
        return _journal_page(request, user, typed, Window(), errors=reader.errors, export=export)
    chunks = reports.journal_csv(
        runtime_of(request).unit_of_work(readonly=True), user.actor, start, end
    )
    return _csv(chunks, _file_name(request, f"journal-{start}-{end}"))


@router.get("/journal/{entry_id}")
def entry_page(
    request: Request, entry_id: EntryId, user: WebUser = needs(Permission.LEDGER_READ)
) -> Response:
    detail = journal.entry_detail(
        runtime_of(request).unit_of_work(readonly=True), user.actor, entry_id
    )
    entry = detail.entry
    legs = [
        (leg, detail.accounts[leg.account_code], leg.minor > 0, abs(leg.amount))
        for leg in entry.legs
    ]
    row = _row(entry)
    return page(
        request,
        "audit/entry.html",
        user=user,
        text=user.text,
        entry=entry,
        detail=detail,
        legs=legs,
        amounts=row.amounts,
        zone=runtime_of(request).settings.timezone,
    )


# -- verify ----------------------------------------------------------------------------------


def _entry_count(request: Request, user: WebUser) -> int:
    _, total = journal.list_entries(
        runtime_of(request).unit_of_work(readonly=True), user.actor, JournalFilter(), limit=1
    )
    return total


@router.get("/verification")
def verification(request: Request, user: WebUser = needs(Permission.LEDGER_READ)) -> Response:
    return page(
        request,
        "audit/verify.html",
        user=user,
        text=user.text,
        checks=VERIFY_CHECKS,
        entries=_entry_count(request, user),
    )


@router.post("/verification", dependencies=READS_LEDGER)
def run_verification(request: Request, user: Checked) -> Response:
    """Runs ``verify`` (it only reads) and shows its result; nothing is written, so the result
    page is the POST's answer."""
    started = time.perf_counter()
    report = verify(runtime_of(request).unit_of_work(readonly=True), user.actor)
    seconds = time.perf_counter() - started
    return page(
        request,
        "audit/verified.html",
        user=user,
        text=user.text,
        checks=VERIFY_CHECKS,
        report=report,
        totals=[from_minor(t, c) for c, t in sorted(report.totals.items())],
        seconds=f"{seconds:.1f}",
        at=runtime_of(request).clock(),
    )


# -- the trial balance -----------------------------------------------------------------------


def _trial_balance_page(
    request: Request, user: WebUser, typed: str, *, status: int = 200
) -> Response:
    reader = Typed(user)
    as_of = reader.day("as_of", typed) if typed else today_of(request)
    summary = None
    if as_of is not None and not reader.errors and status == 200:
        summary = journal.trial_balance_summary(
            runtime_of(request).unit_of_work(readonly=True), user.actor, as_of
        )
    errors = reader.errors if status == 200 else {"as_of": user.text.text("audit.day_needed")}
    sides: dict[str, list[int]] = {}
    if summary is not None:
        for line in summary.lines:
            pair = sides.setdefault(line.account.currency, [0, 0])
            pair[0 if line.balance_minor > 0 else 1] += abs(line.balance_minor)
    return form_page(
        request,
        "audit/trial_balance.html",
        user,
        errors,
        typed=typed if typed else (as_of.isoformat() if as_of else ""),
        as_of=as_of,
        summary=summary,
        totals=[(from_minor(d, c), from_minor(k, c)) for c, (d, k) in sorted(sides.items())],
        from_minor=from_minor,
    )


@router.get("/trial-balance")
def trial_balance(
    request: Request,
    user: WebUser = needs(Permission.LEDGER_READ),
    as_of: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return _trial_balance_page(request, user, as_of)


@router.get("/trial-balance.csv")
def trial_balance_export(
    request: Request,
    user: WebUser = needs(Permission.LEDGER_READ),
    as_of: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    reader = Typed(user)
    day = reader.day("as_of", as_of)
    if day is None:
        return _trial_balance_page(request, user, as_of, status=422)
    text = reports.trial_balance_csv(
        runtime_of(request).unit_of_work(readonly=True), user.actor, day
    )
    return _csv(text, _file_name(request, f"trial-balance-{day}"))


# -- reads of personal data ------------------------------------------------------------------

READS_SERVICE_FIELDS = {"by": "who", "date_from": "from", "date_to": "to"}


def _reads_filter(
    user: WebUser, typed: dict[str, str]
) -> tuple[ReadsFilter | None, dict[str, str]]:
    reader = Typed(user)
    start, end = reader.day("from", typed["from"]), reader.day("to", typed["to"])
    if reader.errors:
        return None, reader.errors
    try:
        return ReadsFilter(_optional(typed["who"]), start, end), {}
    except ValidationError as exc:
        field, message = _refusal(user, exc, READS_SERVICE_FIELDS)
        return None, {field: message}


@router.get("/audit")
def reads(
    request: Request,
    user: WebUser = needs(Permission.AUDIT_READ),
    who: Text64 = "",
    date_from: DayFrom = "",
    date_to: DayTo = "",
    before: Cursor = None,
    after: Cursor = None,
    offset: Offset = 0,
) -> Response:
    typed = {"who": who, "from": date_from, "to": date_to}
    flt, errors = _reads_filter(user, typed)
    found: IdPage[PersonalRead] = NOTHING
    if flt is not None:
        found = audit.personal_reads(
            runtime_of(request).unit_of_work(readonly=True),
            user.actor,
            flt,
            _window(before, after, offset),
            limit=PAGE,
        )
    return _list_page(request, user, "audit/reads.html", typed, errors, found)


@router.get("/audit.csv")
def reads_export(
    request: Request,
    user: WebUser = needs(Permission.AUDIT_READ),
    who: Text64 = "",
    date_from: DayFrom = "",
    date_to: DayTo = "",
) -> Response:
    typed = {"who": who, "from": date_from, "to": date_to}
    flt, _ = _reads_filter(user, typed)
    if flt is None:
        return reads(request, user, who, date_from, date_to)
    span = "-".join(str(d) for d in (flt.date_from, flt.date_to) if d) or str(today_of(request))
    chunks = audit.personal_reads_csv(
        runtime_of(request).unit_of_work(readonly=True), user.actor, flt
    )
    return _csv(chunks, _file_name(request, f"personal-data-reads-{span}"))
