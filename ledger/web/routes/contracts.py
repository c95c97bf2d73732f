"""A loan's contract after approval, its signatures, and the payout (see docs/web.md).

``/loans/{id}/contract`` shows where the contract stands and the one next step for the person
signed in:

1. a caseworker makes the contract (``contracts.generate_contract``: in the beneficiary's
   language), reads it with the beneficiary and prints it (the stored PDF, shown inline);
2. the beneficiary signs on screen (a drawn signature, the words "read and approved" and their
   name, both typed: ``contracts.record_on_screen_signature`` checks all three) or on paper,
   whose scan is uploaded (``contracts.record_scan``);
3. another staff member signs for the fund (``contracts.sign_as_fund``, four eyes): the loan
   becomes contract signed (``loans.sign_contract`` catches up a loan whose state lags behind);
4. the treasurer pays the deposit out (``loans.disburse``, with the form's idempotency key);
   caseworkers see that the loan waits for it.

The scan's upload has a fixed path (``SCAN_PATH``, the loan and version in the form), so the
request size limit can be raised for it alone, as for the API's.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Annotated

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response

from ledger.documents.beneficiary import TooLarge, approval_words
from ledger.domain.beneficiaries import NameMismatch
from ledger.domain.errors import LedgerError, NotFound, ValidationError
from ledger.domain.loans import Loan
from ledger.domain.roles import Permission
from ledger.domain.statuses import LoanStatus
from ledger.services import contracts, loans
from ledger.services.contracts import GENERATE_FROM, ContractOverview, DocumentSettings
from ledger.web.i18n import WebText
from ledger.web.render import form_key, page, redirect
from ledger.web.session import Checked, WebUser, needs, runtime_of

router = APIRouter()

#: The signed scan's upload: a fixed path, whose request size limit is the upload's
#: (``ledger/api/app.py``), not the smaller one of other forms.
SCAN_PATH = "/contract-scans"
PDF = "application/pdf"
MAX_LOAN_ID = 16  # loans.id
MAX_SIGNATURE_FIELD = 1_000_000  # a data URL; the service holds the PNG to its own limit
DATA_URL = "data:image/png;base64,"

LoanId = Annotated[str, Path(min_length=1, max_length=MAX_LOAN_ID, pattern=r"^[A-Za-z0-9]+$")]
Version = Annotated[int, Path(ge=1, le=10_000)]
DocumentId = Annotated[int, Path(ge=1, le=2**62)]

#: Where a refusal is shown: the field the service names, else the form's own section.
SIGN_FIELDS = {
    "full_name": "full_name",
    "signature_png": "signature",
    "read_and_approved": "read_and_approved",
}
PAYOUT_FIELDS = {"on": "payout_on", "booking_date": "payout_on"}
#: Loans whose deposit was paid out: their contract page says so, and links to the loan.
PAID_OUT = frozenset(
    {LoanStatus.ACTIVE, LoanStatus.OVERPAID, LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF}
)


def document_settings(request: Request) -> DocumentSettings:
    """Built from the fund's settings on first use and kept with the app (as the API does)."""
    docs = getattr(request.app.state, "web_documents", None)
    if not isinstance(docs, DocumentSettings):
        docs = DocumentSettings.from_settings(runtime_of(request).settings)
        request.app.state.web_documents = docs
    return docs


def _language_name(code: str, text: WebText, *, capital: bool = True) -> str:
    """A language's name in the reader's language ("French", "français"; "Français" at the
    start of a line); a contract's two (``fr+uk``): "French with a translation into
    Ukrainian"."""
    binding, _, translation = code.partition("+")
    if translation:
        name = text.text(
            "contract.language_two",
            binding=_language_name(binding, text, capital=False),
            translation=_language_name(translation, text, capital=False),
        )
    else:
        try:
            name = Locale.parse(code).get_display_name(text.language) or code
        except (ValueError, UnknownLocaleError):
            return code
    return name[:1].upper() + name[1:] if capital else name


def _approval_words(languages: str) -> str:
    """The words "read and approved" a contract in ``languages`` may be signed with."""
    return " / ".join(words for _, words in approval_words(languages))


def _loan_page(loan_id: str) -> str:
    return f"/loans/{loan_id}/contract"


def _contract_page(
    request: Request,
    user: WebUser,
    loan_id: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    payout_key: str | None = None,
) -> Response:
    runtime = runtime_of(request)
    uow = runtime.unit_of_work(readonly=True)
    seen: ContractOverview = contracts.contract_overview(uow, user.actor, loan_id)
    loan: Loan = seen.loan
    status = seen.status
    today = uow.today()
    beneficiary = status.beneficiary
    return page(
        request,
        "contracts/contract.html",
        user=user,
        text=user.text,
        status_code=status_code,
        loan=loan,
        status=status,
        state=status.state,
        history=seen.history,
        paid_out_on=seen.paid_out_on,
        language=_language_name(status.contract.language, user.text) if status.contract else "",
        approval=_approval_words(status.contract.language) if status.contract else "",
        can_make=loan.status in GENERATE_FROM and status.signed is None,
        may_make=user.can(Permission.LOANS_APPLY) and user.can(Permission.PERSONAL_READ),
        may_read=user.can(Permission.PERSONAL_READ),
        may_sign_fund=user.can(Permission.LOANS_APPROVE),
        recorded_by_me=beneficiary is not None and beneficiary.created_by == user.actor.name,
        may_pay=user.can(Permission.LOANS_DISBURSE),
        lagging=status.signed is not None and loan.status is LoanStatus.APPROVED,
        paid_out=loan.status in PAID_OUT and loan.disbursement_entry_id is not None,
        waiting_approval=loan.status in (LoanStatus.DRAFT, LoanStatus.SUBMITTED),
        errors=errors or {},
        typed=typed or {},
        today=today.isoformat(),
        payout_key=payout_key or form_key(),
        scan_path=SCAN_PATH,
        max_upload=runtime.settings.max_upload_bytes,
        max_upload_mb=_megabytes(runtime.settings.max_upload_bytes, user.text),
    )


def _megabytes(size: int, text: WebText) -> str:
    """A size in megabytes as the reader writes numbers: 10, 2,5, 0,06 (never rounded up)."""
    digits = 1 if size >= 1_000_000 else 2
    return text.number(Decimal(size).scaleb(-6).quantize(Decimal(1).scaleb(-digits), ROUND_DOWN))


def _refused(
    request: Request,
    user: WebUser,
    loan_id: str,
    message: str,
    where: str,
    *,
    typed: dict[str, str] | None = None,
    payout_key: str | None = None,
) -> Response:
    """The contract page again, with the refusal beside its field (status 422)."""
    return _contract_page(
        request,
        user,
        loan_id,
        status_code=422,
        errors={where: message},
        typed=typed,
        payout_key=payout_key,
    )


# -- the page and its documents ----------------------------------------------------------------


@router.get("/loans/{loan_id}/contract")
def contract_page(
    request: Request, loan_id: LoanId, user: WebUser = needs(Permission.LOANS_READ)
) -> Response:
    return _contract_page(request, user, loan_id)


@router.get("/loans/{loan_id}/contract/documents/{document_id}")
def contract_document(
    request: Request,
    loan_id: LoanId,
    document_id: DocumentId,
    user: WebUser = needs(Permission.PERSONAL_READ),
    download: Annotated[bool, Query()] = False,
) -> Response:
    """The stored PDF itself (it holds personal data: the read is audited), shown in the
    browser, or saved with ``?download=1``."""
    runtime = runtime_of(request)
    meta = contracts.get_document(runtime.unit_of_work(readonly=True), user.actor, document_id)
    if meta.loan_id != loan_id:
        raise NotFound(f"loan {loan_id} has no document {document_id}", "document_id")
    doc, data = contracts.document_content(
        runtime.unit_of_work(), user.actor, document_settings(request), document_id
    )
    name = f"{doc.loan_id}-{doc.kind.value}" + (
        f"-v{doc.contract_version}" if doc.contract_version else ""
    )
    disposition = "attachment" if download else "inline"
    return Response(
        data,
        media_type=PDF,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}.pdf"',
            "Cache-Control": "no-store",
            "ETag": f'"{doc.sha256}"',
        },
    )


# -- 1. the contract ------------------------------------------------------------------------------


@router.post("/loans/{loan_id}/contract/versions")
def make_contract(request: Request, loan_id: LoanId, user: Checked) -> Response:
    try:
        made = contracts.generate_contract(
            runtime_of(request).unit_of_work(), user.actor, document_settings(request), loan_id
        )
    except LedgerError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _refused(request, user, loan_id, user.text.refusal(exc), "make")
    values = {
        "version": str(made.document.contract_version),
        "language": _language_name(made.document.language, user.text, capital=False),
    }
    if made.untranslated:  # the person's language has no catalog: the binding text only
        values["requested"] = _language_name(made.untranslated, user.text, capital=False)
        key = "flash.contract_made_untranslated"
    elif made.missing_translations:
        key = "flash.contract_made_partly"
    else:
        key = "flash.contract_made"
    return redirect(_loan_page(loan_id), flash=(key, values))


# -- 2. the beneficiary's signature -------------------------------------------------------------


@router.post("/loans/{loan_id}/contract/versions/{version}/signature")
def sign_on_screen(
    request: Request,
    loan_id: LoanId,
    version: Version,
    user: Checked,
    full_name: Annotated[str, Form(max_length=400)] = "",
    signature: Annotated[str, Form(max_length=MAX_SIGNATURE_FIELD)] = "",
    read_and_approved: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    text = user.text
    typed = {"full_name": full_name, "read_and_approved": read_and_approved}
    try:
        png = _png_of(signature)
        contracts.record_on_screen_signature(
            runtime_of(request).unit_of_work(),
            user.actor,
            document_settings(request),
            loan_id,
            version,
            full_name=full_name,
            signature_png=png,
            read_and_approved=read_and_approved,
        )
    except LedgerError as exc:
        if exc.status in (401, 403, 404):
            raise
        where = SIGN_FIELDS.get(exc.field or "", "sign")
        message = text.refusal(exc)
        if isinstance(exc, NameMismatch):
            message = text.text("contract.err_name_other")
        elif exc.field == "full_name":
            message = text.text("contract.err_name")
        elif exc.field == "signature_png":
            message = text.text("contract.err_drawing")
        elif exc.field == "read_and_approved":
            status = contracts.contract_status(
                runtime_of(request).unit_of_work(readonly=True), user.actor, loan_id
            )
            languages = status.contract.language if status.contract else ""
            message = text.text("contract.err_words", words=_approval_words(languages))
        return _refused(request, user, loan_id, message, where, typed=typed)
    return redirect(_loan_page(loan_id), flash=("flash.contract_signed_on_screen", {}))


def _png_of(field: str) -> bytes:
    """The drawing the page's script put in the form, as bytes; nothing drawn gives b"" (the
    service says so)."""
    text = field.strip()
    if not text:
        return b""
    if not text.startswith(DATA_URL):
        raise ValidationError("the signature image is not a PNG", "signature_png")
    try:
        return base64.b64decode(text.removeprefix(DATA_URL), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("the signature image is not a PNG", "signature_png") from None


@router.post(SCAN_PATH)
def upload_scan(
    request: Request,
    user: Checked,
    loan_id: Annotated[str, Form(min_length=1, max_length=MAX_LOAN_ID)],
    version: Annotated[int, Form(ge=1, le=10_000)],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The contract signed on paper, scanned to PDF: checked, then kept; a refused file is
    not kept."""
    text = user.text
    docs = document_settings(request)
    data = b""
    if file is not None:
        data = file.file.read(docs.max_upload_bytes + 1)  # one more: the service refuses it
    if file is None or (not data and not file.filename):
        return _refused(request, user, loan_id, text.text("contract.err_no_file"), "scan")
    try:
        contracts.record_scan(
            runtime_of(request).unit_of_work(), user.actor, docs, loan_id, version, data
        )
    except LedgerError as exc:
        if exc.status in (401, 403, 404):
            raise
        message = text.refusal(exc)
        if isinstance(exc, TooLarge):
            size = _megabytes(docs.max_upload_bytes, text)
            message = text.text("contract.err_scan_large", size=size)
        elif isinstance(exc, ValidationError) and exc.field == "file":
            message = text.text("contract.err_scan_bad")
        return _refused(request, user, loan_id, message, "scan")
    return redirect(_loan_page(loan_id), flash=("flash.contract_scan_saved", {}))


# -- 3. the fund's signature --------------------------------------------------------------------


@router.post("/loans/{loan_id}/contract/versions/{version}/fund-signature")
def sign_for_the_fund(
    request: Request, loan_id: LoanId, version: Version, user: Checked
) -> Response:
    try:
        contracts.sign_as_fund(
            runtime_of(request).unit_of_work(),
            user.actor,
            document_settings(request),
            loan_id,
            version,
        )
    except LedgerError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _refused(request, user, loan_id, user.text.refusal(exc), "fund")
    return redirect(_loan_page(loan_id), flash=("flash.contract_fund_signed", {}))


@router.post("/loans/{loan_id}/contract/signed")
def record_signed(request: Request, loan_id: LoanId, user: Checked) -> Response:
    """A loan whose contract is signed by both but whose state lags behind it."""
    try:
        loans.sign_contract(runtime_of(request).unit_of_work(), user.actor, loan_id)
    except LedgerError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _refused(request, user, loan_id, user.text.refusal(exc), "lagging")
    return redirect(_loan_page(loan_id), flash=("flash.contract_state_updated", {}))


# -- 4. the payout ------------------------------------------------------------------------------


@router.post("/loans/{loan_id}/payout")
def pay_out(
    request: Request,
    loan_id: LoanId,
    user: Checked,
    payout_on: Annotated[str, Form(max_length=40)] = "",
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    text = user.text
    typed = {"payout_on": payout_on}
    key = idempotency_key.strip() or form_key()
    try:
        on = date.fromisoformat(payout_on.strip())
    except ValueError:
        return _refused(
            request,
            user,
            loan_id,
            text.text("form.date_bad"),
            "payout_on",
            typed=typed,
            payout_key=key,
        )
    try:
        result = loans.disburse(
            runtime_of(request).unit_of_work(), user.actor, loan_id, on=on, idempotency_key=key
        )
    except LedgerError as exc:
        if exc.status in (401, 403, 404):
            raise
        where = PAYOUT_FIELDS.get(exc.field or "", "payout")
        return _refused(
            request, user, loan_id, text.refusal(exc), where, typed=typed, payout_key=key
        )
    values = {"amount": text.amount(result.loan.terms.deposit), "date": text.day(on)}
    said = "flash.contract_payout_replayed" if result.replayed else "flash.contract_paid_out"
    return redirect(_loan_page(loan_id), flash=(said, values))
