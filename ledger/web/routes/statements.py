"""The treasurer's bank statements: upload a file (camt.053, CODA, CSV), the import's result,
the imported statements with their figures, and the matching queue where every line nothing
explains yet is matched by hand (services/statements: importing, queue, by_hand, reading).

The auditor (and the admin) read the same pages; only the treasurer sees the forms, and the
services refuse the others whatever a page shows. The upload has a fixed path
(``UPLOAD_PATH``), so its request size limit can be the statements' own (``ledger/api/app.py``).

Every form that books carries a key made when it is shown: sent twice (a double click, a
browser's resend) it matches once (``form_key`` in ``services.statements.by_hand``). After an
action in the queue the page comes back on the next line, with the one just done and its undo
at the top, so a treasurer works through the queue from the keyboard (``static/statements.js``
adds the keys; the forms work without it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response

from ledger.bank.files import StatementFormat, megabytes
from ledger.domain.accounts import Account, AccountRole
from ledger.domain.errors import LedgerError, NotFound, StatementRefused, ValidationError
from ledger.domain.journal import MANUAL_KINDS
from ledger.domain.money import Money, from_minor
from ledger.domain.roles import Permission
from ledger.domain.statements import StoredLine
from ledger.domain.statuses import EntryKind, LineState
from ledger.fund.hash_key import load_hash_key
from ledger.services import statements
from ledger.services.statements import ImportOptions, LineView, SplitPart, fund_ibans
from ledger.store.uow import UnitOfWork
from ledger.web.render import form_key, page, redirect
from ledger.web.session import Checked, WebUser, needs, runtime_of

router = APIRouter()

#: The upload's fixed path: its size limit is the statements' (FUNDLEDGER_MAX_STATEMENT_BYTES).
UPLOAD_PATH = "/statements/upload"
PAGE = 25
LINES_PAGE = 50
#: Rows of the split form (the service takes up to MAX_PARTS; a page shows what fits).
SPLIT_ROWS = 4

LineId = Annotated[int, Path(ge=1, le=2**63 - 1)]
StatementId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
Sha = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
Month = Annotated[str, Query(max_length=7)]
Text40 = Annotated[str, Form(max_length=40)]
Key = Annotated[str, Form(max_length=64)]
Reason = Annotated[str, Form(max_length=500)]

_LOAN_ID = re.compile(r"^[A-Za-z0-9]{1,16}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
#: Where each refusal of an import is shown: the field it is about, else the file's.
UPLOAD_FIELDS = {name: name for name in ("mapping", "iban", "account", "opening", "closing")}

READS = needs(Permission.LEDGER_READ)


# -- the statements and the upload ----------------------------------------------------------


def _upload_context(request: Request, user: WebUser) -> dict[str, Any]:
    runtime = runtime_of(request)
    uow = runtime.unit_of_work(readonly=True)
    size = runtime.settings.max_statement_bytes
    return {
        "upload_path": UPLOAD_PATH,
        "max_bytes": size,
        "max_mb": user.text.number(megabytes(size)),
        "mappings": [m.name for m in statements.list_mappings(uow, user.actor)],
        "may_import": user.can(Permission.PAYMENTS_RECORD),
        "may_link": user.can(Permission.ACCOUNTS_MANAGE),
    }


def _list_page(
    request: Request,
    user: WebUser,
    offset: int = 0,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    refusal: str | None = None,
) -> Response:
    uow = runtime_of(request).unit_of_work(readonly=True)
    found, total = statements.list_statements(uow, user.actor, limit=PAGE, offset=offset)
    figures = statements.statement_figures(uow, user.actor, [s.id for s in found])
    currencies = {b.id: b.currency for b in statements.bank_accounts(uow, user.actor)}
    waiting = statements.matching_queue(uow, user.actor, limit=1).total
    return page(
        request,
        "statements/list.html",
        user=user,
        text=user.text,
        status_code=status_code,
        rows=[(s, figures[s.id], currencies[s.bank_account_id]) for s in found],
        total=total,
        offset=offset,
        page_size=PAGE,
        waiting=waiting,
        errors=errors or {},
        typed=typed or {},
        refusal=refusal,
        from_minor=from_minor,
        **_upload_context(request, user),
    )


@router.get("/statements")
def statement_list(request: Request, user: WebUser = READS, offset: Offset = 0) -> Response:
    return _list_page(request, user, offset)


@router.post(UPLOAD_PATH)
def upload(
    request: Request,
    user: Checked,
    file: Annotated[UploadFile | None, File()] = None,
    mapping: Text40 = "",
    iban: Text40 = "",
    account: Text40 = "",
    opening: Text40 = "",
    closing: Text40 = "",
) -> Response:
    """A statement file: checked and booked in one transaction, or refused with the reason
    and nothing booked; then the import's result (post/redirect/get)."""
    text = user.text
    typed = {
        "mapping": mapping,
        "iban": iban,
        "account": account,
        "opening": opening,
        "closing": closing,
    }
    errors: dict[str, str] = {}

    def refused(message: str, where: str = "file", why: str | None = None) -> Response:
        errors.setdefault(where, message)
        return _list_page(request, user, status_code=422, errors=errors, typed=typed, refusal=why)

    if file is None or not file.filename:
        return refused(text.text("statements.err_no_file"))
    balances = {}
    for name, value in (("opening", opening), ("closing", closing)):
        if value.strip():
            try:
                balances[name] = text.parse_balance(value, name)
            except ValidationError as exc:
                errors[name] = exc.detail
    if errors:
        return refused(next(iter(errors.values())), next(iter(errors)))
    settings = runtime_of(request).settings
    options = ImportOptions(
        hash_key=load_hash_key(settings),
        format=StatementFormat.CSV if mapping.strip() else None,
        mapping=mapping.strip() or None,
        account_code=account.strip() or None,
        iban=iban.strip() or None,
        opening=balances.get("opening"),
        closing=balances.get("closing"),
        fund_ibans=fund_ibans(settings),
        max_bytes=settings.max_statement_bytes,
    )
    try:
        result = statements.import_statements(
            runtime_of(request).unit_of_work(), user.actor, file.file, options
        )
    except LedgerError as exc:
        if exc.status in (401, 403):
            raise
        where = UPLOAD_FIELDS.get(exc.field or "", "file")
        if where == "mapping" and not mapping.strip():
            where = "file"  # not a camt.053 nor a CODA file, and no mapping chosen
        why = _why_refused(exc)
        return refused(text.refusal(exc), where, why)
    if all(r.id is None for r in result.statements):
        keys = ", ".join(r.statement_key for r in result.statements)
        return refused(
            text.text("statements.err_already", statements=keys),
            "file",
            "already",
        )
    return redirect(f"/statements/imports/{result.file_sha256}")


def _why_refused(exc: LedgerError) -> str:
    """The heading a refused file gets: what kind of problem it is."""
    key = exc.key or ""
    if key in ("err.statement.too_large", "err.statement.empty"):
        return "size"
    if key in (
        "err.statement.account_unlinked",
        "err.statement.currency",
        "err.statement.csv_iban",
    ) or exc.field in ("account", "iban"):
        return "account"
    if key in ("err.statement.adds_up", "err.statement.continuity", "err.statement.csv_opening"):
        return "figures"
    if key == "err.statement.other_content":
        return "already"
    if isinstance(exc, StatementRefused):
        return "format"
    return "other"


@router.get("/statements/imports/{sha}")
def import_result(request: Request, sha: Sha, user: WebUser = READS) -> Response:
    uow = runtime_of(request).unit_of_work(readonly=True)
    found = statements.imported_file(uow, user.actor, sha)
    if not found:
        raise NotFound("no statement was imported from that file", "sha")
    currencies = {b.id: b.currency for b in statements.bank_accounts(uow, user.actor)}
    return page(
        request,
        "statements/imported.html",
        user=user,
        text=user.text,
        rows=[(s, f, currencies[s.bank_account_id]) for s, f in found],
        from_minor=from_minor,
        waiting=statements.matching_queue(uow, user.actor, limit=1).total,
    )


@router.get("/statements/queue")
def queue(
    request: Request,
    user: WebUser = READS,
    month: Month = "",
    offset: Offset = 0,
    focus: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    done: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> Response:
    return _queue_page(request, user, month=month, offset=offset, focus=focus, done=done)


@dataclass(frozen=True, slots=True)
class Place:
    """Where in the queue a form was sent from, to come back there."""

    month: str
    offset: int
    next_line: int

    def url(self, done: int) -> str:
        query: dict[str, str | int] = {}
        if self.month:
            query["month"] = self.month
        if self.offset:
            query["offset"] = self.offset
        if self.next_line:
            query["focus"] = self.next_line
        query["done"] = done
        return f"/statements/queue?{urlencode(query)}#line-{self.next_line or done}"


def _queue_page(
    request: Request,
    user: WebUser,
    *,
    month: str = "",
    offset: int = 0,
    focus: int = 0,
    done: int = 0,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    month = month.strip()
    month_error = None
    if month and not _MONTH.match(month):
        month_error, month = user.text.text("err.statement.month_bad"), ""
    uow = runtime_of(request).unit_of_work(readonly=True)
    found = statements.matching_queue(uow, user.actor, month=month or None, offset=offset)
    just_done = _line_or_none(request, user, done)
    lines = found.lines
    focus_id = focus if any(q.line.id == focus for q in lines) else 0
    if not focus_id and lines:
        focus_id = lines[0].line.id
    accounts = _accounts(request, user, lines[0].line.currency if lines else None)
    ids = [q.line.id for q in lines]
    nexts = dict(zip(ids, [*ids[1:], 0], strict=True))
    base = "/statements/queue?" + (urlencode({"month": month}) + "&" if month else "")
    return page(
        request,
        "statements/queue.html",
        user=user,
        text=user.text,
        status_code=422 if month_error else status_code,
        queue=found,
        lines=lines,
        month=month,
        month_error=month_error,
        typed_month=month if not month_error else "",
        offset=offset,
        page_size=found.limit,
        base=base,
        focus=focus_id,
        done=just_done,
        done_key=form_key(),
        nexts=nexts,
        accounts=accounts,
        errors=errors or {},
        typed=typed or {},
        may_match=user.can(Permission.PAYMENTS_RECORD),
        amount=_amount,
        new_key=form_key,
        fee_account=_fee_account(accounts),
    )


def _fee_account(accounts: list[Account]) -> Account | None:
    """The bank charges account, for the queue's one-key "bank fee" (listed first)."""
    return accounts[0] if accounts and accounts[0].role is AccountRole.BANK_CHARGES else None


def _line_or_none(request: Request, user: WebUser, line_id: int) -> LineView | None:
    """The line just done, for the box at the top of the queue (none if the id is not one)."""
    if not line_id:
        return None
    try:
        return statements.get_line(
            runtime_of(request).unit_of_work(readonly=True), user.actor, line_id
        )
    except NotFound:
        return None


def _accounts(request: Request, user: WebUser, currency: str | None) -> list[Account]:
    if currency is None or not user.can(Permission.PAYMENTS_RECORD):
        return []
    uow = runtime_of(request).unit_of_work(readonly=True)
    return statements.bookable_accounts(uow, user.actor, currency)


def _amount(line: StoredLine) -> Money:
    return from_minor(abs(line.amount_minor), line.currency)


@router.get("/statements/lines/{line_id}")
def line_page(
    request: Request,
    line_id: LineId,
    user: WebUser = READS,
    act: Annotated[str, Query(pattern=r"^(split|book)?$")] = "",
) -> Response:
    """A line; ``act`` (the queue's links) puts the focus on the split or booking form."""
    return _line_page(request, user, line_id, act=act)


def _line_page(
    request: Request,
    user: WebUser,
    line_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    key: str | None = None,
    act: str = "",
) -> Response:
    uow = runtime_of(request).unit_of_work(readonly=True)
    view = statements.get_line(uow, user.actor, line_id)
    seen = statements.suggestions_for(uow, user.actor, view.line)
    line = view.line
    return page(
        request,
        "statements/line.html",
        user=user,
        text=user.text,
        status_code=status_code,
        view=view,
        line=line,
        seen=seen,
        accounts=_accounts(request, user, line.currency),
        kinds=[k for k in EntryKind if k in MANUAL_KINDS],
        key=key or form_key(),
        errors=errors or {},
        typed=typed or {},
        may_match=user.can(Permission.PAYMENTS_RECORD),
        waiting=LineState(line.state) in (LineState.UNIDENTIFIED, LineState.UNMATCHED),
        undoable=LineState(line.state)
        in (LineState.LOAN, LineState.LINKED, LineState.MANUAL, LineState.CHARGE),
        split_rows=range(1, SPLIT_ROWS + 1),
        amount=_amount,
        new_key=form_key,
        act=act,
    )


@router.get("/statements/{statement_id}")
def statement_detail(
    request: Request, statement_id: StatementId, user: WebUser = READS, offset: Offset = 0
) -> Response:
    uow = runtime_of(request).unit_of_work(readonly=True)
    stored, lines, total, figures = statements.statement_page(
        uow, user.actor, statement_id, limit=LINES_PAGE, offset=offset
    )
    currency = next(
        b.currency
        for b in statements.bank_accounts(uow, user.actor)
        if b.id == stored.bank_account_id
    )
    return page(
        request,
        "statements/statement.html",
        user=user,
        text=user.text,
        statement=stored,
        currency=currency,
        lines=lines,
        total=total,
        figures=figures,
        offset=offset,
        page_size=LINES_PAGE,
        base=f"/statements/{statement_id}?",
        from_minor=from_minor,
        amount=_amount,
    )


# -- matching by hand ------------------------------------------------------------------------


def _place(month: str, offset: str, next_line: str) -> Place | None:
    """The queue the form came from (None: the line's own page)."""
    if not offset and not month and not next_line:
        return None
    return Place(
        month if _MONTH.match(month) else "",
        int(offset) if offset.isdigit() and len(offset) < 10 else 0,
        int(next_line) if next_line.isdigit() and len(next_line) < 19 else 0,
    )


def _done(
    view: LineView,
    place: Place | None,
    flash: str,
    values: dict[str, str],
) -> Response:
    values = {"line": str(view.line.id), **values}
    said = "flash.statement_replayed" if view.replayed else flash
    if place is not None:
        return redirect(place.url(view.line.id), flash=(said, values))
    return redirect(f"/statements/lines/{view.line.id}", flash=(said, values))


def _refused(
    request: Request,
    user: WebUser,
    line_id: int,
    place: Place | None,
    field: str,
    message: str,
    typed: dict[str, str],
) -> Response:
    """The page the form came from again, with the refusal beside its field (422)."""
    if place is not None:
        return _queue_page(
            request,
            user,
            month=place.month,
            offset=place.offset,
            focus=line_id,
            status_code=422,
            errors={f"{field}-{line_id}": message},
            typed={f"{k}-{line_id}": v for k, v in typed.items()},
        )
    return _line_page(request, user, line_id, status_code=422, errors={field: message}, typed=typed)


def _by_hand(
    request: Request,
    user: WebUser,
    line_id: int,
    place: Place | None,
    field: str,
    typed: dict[str, str],
    call: Callable[[UnitOfWork], LineView],
) -> LineView | Response:
    """One of the treasurer's by-hand services on a line, in its own unit of work: the line
    as it stands after, or the form's page again with the refusal beside ``field`` (a role's
    refusal, or a line that does not exist, is the error page instead)."""
    try:
        return call(runtime_of(request).unit_of_work())
    except LedgerError as exc:
        if exc.status in (401, 403) or (exc.field == "line_id" and exc.status == 404):
            raise
        return _refused(request, user, line_id, place, field, user.text.refusal(exc), typed)


def _loan_id(text: str) -> str | None:
    value = text.strip().upper()
    return value if _LOAN_ID.match(value) else None


QueueMonth = Annotated[str, Form(max_length=7)]
QueueOffset = Annotated[str, Form(max_length=10)]
QueueNext = Annotated[str, Form(max_length=19)]


@router.post("/statements/lines/{line_id}/match")
def match(
    request: Request,
    line_id: LineId,
    user: Checked,
    loan_id: Text40 = "",
    reason: Reason = "",
    idempotency_key: Key = "",
    month: QueueMonth = "",
    offset: QueueOffset = "",
    next_line: QueueNext = "",
) -> Response:
    place = _place(month, offset, next_line)
    typed = {"loan_id": loan_id, "reason": reason}
    loan = _loan_id(loan_id)
    if loan is None:
        message = user.text.text("statements.err_loan_id")
        return _refused(request, user, line_id, place, "loan_id", message, typed)
    view = _by_hand(
        request,
        user,
        line_id,
        place,
        "loan_id",
        typed,
        lambda uow: statements.match_line_to_loan(
            uow,
            user.actor,
            line_id,
            loan,
            reason=reason or None,
            form_key=idempotency_key.strip() or None,
        ),
    )
    if isinstance(view, Response):
        return view
    return _done(view, place, "flash.statement_matched", {"loan": loan})


@router.post("/statements/lines/{line_id}/split")
async def split(request: Request, line_id: LineId, user: Checked) -> Response:
    """A transfer for several loans: a loan and an amount per row; the rows left empty are
    not parts."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and len(v) <= 500}
    typed = {
        name: values.get(name, "")
        for i in range(1, SPLIT_ROWS + 1)
        for name in (f"loan_{i}", f"amount_{i}")
    }
    typed["reason"] = values.get("reason", "")
    text = user.text
    uow = runtime_of(request).unit_of_work(readonly=True)
    line = statements.get_line(uow, user.actor, line_id).line
    parts: list[SplitPart] = []
    errors: dict[str, str] = {}
    for i in range(1, SPLIT_ROWS + 1):
        loan_text, amount_text = typed[f"loan_{i}"], typed[f"amount_{i}"]
        if not loan_text.strip() and not amount_text.strip():
            continue
        loan = _loan_id(loan_text)
        if loan is None:
            errors[f"loan_{i}"] = text.text("statements.err_loan_id")
        try:
            amount = text.parse_amount(amount_text, line.currency, f"amount_{i}")
        except ValidationError as exc:
            errors[f"amount_{i}"] = exc.detail
            continue
        if loan is not None:
            parts.append(SplitPart(loan, amount))
    if not errors:
        try:
            view = statements.split_line(
                runtime_of(request).unit_of_work(),
                user.actor,
                line_id,
                parts,
                reason=typed["reason"] or None,
                form_key=values.get("idempotency_key", "").strip()[:64] or None,
            )
        except LedgerError as exc:
            if exc.status in (401, 403):
                raise
            errors["split"] = text.refusal(exc)
        else:
            return _done(view, None, "flash.statement_split", {"count": str(len(parts))})
    return _line_page(
        request,
        user,
        line_id,
        status_code=422,
        errors=errors,
        typed=typed,
        key=values.get("idempotency_key") or None,
    )


@router.post("/statements/lines/{line_id}/book")
def book(
    request: Request,
    line_id: LineId,
    user: Checked,
    account: Text40 = "",
    kind: Text40 = "",
    reason: Reason = "",
    idempotency_key: Key = "",
    month: QueueMonth = "",
    offset: QueueOffset = "",
    next_line: QueueNext = "",
) -> Response:
    place = _place(month, offset, next_line)
    typed = {"account": account, "kind": kind, "reason": reason}
    try:
        entry_kind = EntryKind(kind)
    except ValueError:
        message = user.text.text("err.statement.kind_manual")
        return _refused(request, user, line_id, place, "account", message, typed)
    view = _by_hand(
        request,
        user,
        line_id,
        place,
        "account",
        typed,
        lambda uow: statements.book_line(
            uow,
            user.actor,
            line_id,
            account.strip(),
            entry_kind,
            reason=reason or None,
            form_key=idempotency_key.strip() or None,
        ),
    )
    if isinstance(view, Response):
        return view
    return _done(view, place, "flash.statement_booked", {"account": account})


@router.post("/statements/lines/{line_id}/link")
def link(
    request: Request,
    line_id: LineId,
    user: Checked,
    entry_id: Text40 = "",
    reason: Reason = "",
    idempotency_key: Key = "",
    month: QueueMonth = "",
    offset: QueueOffset = "",
    next_line: QueueNext = "",
) -> Response:
    place = _place(month, offset, next_line)
    typed = {"entry_id": entry_id, "reason": reason}
    number = entry_id.strip().lstrip("#")
    if not number.isdigit() or not 0 < len(number) < 19:
        message = user.text.text("statements.err_entry_id")
        return _refused(request, user, line_id, place, "entry_id", message, typed)
    view = _by_hand(
        request,
        user,
        line_id,
        place,
        "entry_id",
        typed,
        lambda uow: statements.link_line(
            uow,
            user.actor,
            line_id,
            int(number),
            reason=reason or None,
            form_key=idempotency_key.strip() or None,
        ),
    )
    if isinstance(view, Response):
        return view
    return _done(view, place, "flash.statement_linked", {"entry": number})


@router.post("/statements/lines/{line_id}/undo")
def undo(
    request: Request,
    line_id: LineId,
    user: Checked,
    reason: Reason = "",
    idempotency_key: Key = "",
    month: QueueMonth = "",
    offset: QueueOffset = "",
    next_line: QueueNext = "",
) -> Response:
    """Undo a line's match: its booking reversed, the line back in the queue."""
    place = _place(month, offset, next_line)
    view = _by_hand(
        request,
        user,
        line_id,
        place,
        "undo",
        {"reason": reason},
        lambda uow: statements.unmatch_line(
            uow,
            user.actor,
            line_id,
            reason=reason or None,
            form_key=idempotency_key.strip() or None,
        ),
    )
    if isinstance(view, Response):
        return view
    if place is not None:
        place = Place(place.month, place.offset, view.line.id)
    return _done(view, place, "flash.statement_undone", {})
