"""Contracts and their signatures, the documents kept for a loan, and beneficiaries' links.

Staff endpoints are under ``/api``. The beneficiary's own page is public, at ``/b/{token}``
(HTML) and ``/b/{token}/schedule.pdf``: the token is the only credential, so those answers are
never cached, never indexed, send no referrer, and a wrong, expired or revoked token learns
nothing (404 or 410). Who may do what is decided by the services (``services/contracts.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from ledger.api.deps import MAX_ID, CurrentActor, ReadUoW, WriteUoW, api_state
from ledger.api.document_schemas import (
    ContractStatusOut,
    DocumentOut,
    GeneratedOut,
    LinkIn,
    LinkOut,
    NewLinkOut,
    OnScreenSignatureIn,
    ValidationOut,
)
from ledger.api.schemas import Problem
from ledger.documents.beneficiary import TooLarge
from ledger.documents.render import render_schedule_cached, render_schedule_html
from ledger.services import access_links, contracts
from ledger.services.access_links import LinkGone, LinkNotFound
from ledger.services.contracts import DocumentSettings

router = APIRouter()

#: The scan upload has a fixed path, so the request size limit can be raised for it alone.
UPLOAD_PATH = "/api/contract-scans"
MULTIPART_OVERHEAD = 64 * 1024
PUBLIC_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}
PDF = "application/pdf"
MAX_ID_LENGTH = 16  # loans.id

LoanId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH, examples=["L000001"])]
Version = Annotated[int, Path(ge=1, le=10_000)]
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]
LinkId = Annotated[int, Path(ge=1, le=MAX_ID)]
Token = Annotated[str, Path(min_length=1, max_length=200)]


def document_settings(request: Request) -> DocumentSettings:
    """Built from the app's settings on first use and kept with the app."""
    docs = getattr(request.app.state, "documents", None)
    if docs is None:
        docs = DocumentSettings.from_settings(api_state(request).settings)
        request.app.state.documents = docs
    return docs


Docs = Annotated[DocumentSettings, Depends(document_settings)]


# -- contracts --------------------------------------------------------------------------------


@router.get(
    "/api/loans/{loan_id}/contract",
    tags=["contracts"],
    summary="The contract version in force and how far it is signed (all roles)",
)
def get_contract(loan_id: LoanId, actor: CurrentActor, uow: ReadUoW) -> ContractStatusOut:
    return ContractStatusOut.of(contracts.contract_status(uow, actor, loan_id))


@router.post(
    "/api/loans/{loan_id}/contracts",
    status_code=201,
    tags=["contracts"],
    summary="Generate the next contract version of an approved loan (roles: admin, caseworker)",
)
def generate_contract(
    loan_id: LoanId, actor: CurrentActor, uow: WriteUoW, docs: Docs
) -> GeneratedOut:
    made = contracts.generate_contract(uow, actor, docs, loan_id)
    return GeneratedOut(
        **DocumentOut.of(made.document).model_dump(),
        missing_translations=list(made.missing_translations),
        untranslated=made.untranslated,
    )


@router.post(
    UPLOAD_PATH,
    status_code=201,
    tags=["contracts"],
    summary="Upload the contract signed on paper by the beneficiary, scanned to PDF "
    "(roles: admin, caseworker)",
    responses={413: {"description": "The file is larger than FUNDLEDGER_MAX_UPLOAD_BYTES"}},
)
def upload_scan(
    loan_id: Annotated[str, Form(min_length=1, max_length=MAX_ID_LENGTH)],
    version: Annotated[int, Form(ge=1, le=10_000)],
    file: Annotated[UploadFile, File(description="the signed contract, scanned to PDF")],
    actor: CurrentActor,
    uow: WriteUoW,
    docs: Docs,
) -> DocumentOut:
    data = file.file.read(docs.max_upload_bytes + 1)
    if len(data) > docs.max_upload_bytes:
        raise TooLarge(
            f"the file is larger than {docs.max_upload_bytes} bytes: scan in black and white "
            "or at a lower resolution",
            "file",
        )
    return DocumentOut.of(contracts.record_scan(uow, actor, docs, loan_id, version, data))


@router.post(
    "/api/loans/{loan_id}/contracts/{version}/on-screen-signature",
    status_code=201,
    tags=["contracts"],
    summary="Record the beneficiary's signature drawn on screen: the words \"read and "
    'approved" and the name (the registered one) they typed, and the signature (PNG), are '
    "stamped into the contract (roles: admin, caseworker)",
)
def sign_on_screen(
    loan_id: LoanId,
    version: Version,
    body: OnScreenSignatureIn,
    actor: CurrentActor,
    uow: WriteUoW,
    docs: Docs,
) -> DocumentOut:
    doc = contracts.record_on_screen_signature(
        uow,
        actor,
        docs,
        loan_id,
        version,
        full_name=body.full_name,
        signature_png=body.png(),
        read_and_approved=body.read_and_approved,
    )
    return DocumentOut.of(doc)


@router.post(
    "/api/loans/{loan_id}/contracts/{version}/fund-signature",
    status_code=201,
    tags=["contracts"],
    summary="Sign for the fund (PAdES) what the beneficiary signed; an approved loan becomes "
    "contract signed (roles: admin, caseworker)",
)
def sign_for_the_fund(
    loan_id: LoanId, version: Version, actor: CurrentActor, uow: WriteUoW, docs: Docs
) -> DocumentOut:
    return DocumentOut.of(contracts.sign_as_fund(uow, actor, docs, loan_id, version))


@router.post(
    "/api/loans/{loan_id}/schedules",
    status_code=201,
    tags=["documents"],
    summary="Render and keep the beneficiary's repayment schedule as of today "
    "(roles: admin, caseworker)",
)
def generate_schedule(
    loan_id: LoanId, actor: CurrentActor, uow: WriteUoW, docs: Docs
) -> DocumentOut:
    return DocumentOut.of(contracts.generate_schedule(uow, actor, docs, loan_id))


# -- documents --------------------------------------------------------------------------------


@router.get(
    "/api/loans/{loan_id}/documents",
    tags=["documents"],
    summary="Every document of a loan, voided ones too: metadata and SHA-256 (all roles)",
)
def list_documents(loan_id: LoanId, actor: CurrentActor, uow: ReadUoW) -> list[DocumentOut]:
    return [DocumentOut.of(d) for d in contracts.list_documents(uow, actor, loan_id)]


@router.get("/api/documents/{document_id}", tags=["documents"], summary="One document's metadata")
def get_document(document_id: DocumentId, actor: CurrentActor, uow: ReadUoW) -> DocumentOut:
    return DocumentOut.of(contracts.get_document(uow, actor, document_id))


@router.get(
    "/api/documents/{document_id}/content",
    tags=["documents"],
    summary="The PDF itself; it holds personal data (roles: admin, caseworker; audited)",
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "the stored file, hash checked"}},
)
def get_content(
    document_id: DocumentId, actor: CurrentActor, uow: WriteUoW, docs: Docs
) -> Response:
    doc, data = contracts.document_content(uow, actor, docs, document_id)
    name = f"{doc.loan_id}-{doc.kind.value}" + (
        f"-v{doc.contract_version}" if doc.contract_version else ""
    )
    return Response(
        data,
        media_type=PDF,
        headers={
            "Content-Disposition": f'attachment; filename="{name}.pdf"',
            "Cache-Control": "no-store",
            "ETag": f'"{doc.sha256}"',
        },
    )


@router.get(
    "/api/documents/{document_id}/validation",
    tags=["documents"],
    summary="Check the stored file against its SHA-256 and, when signed by the fund, its "
    "signature (all roles)",
)
def validate_document(
    document_id: DocumentId, actor: CurrentActor, uow: ReadUoW, docs: Docs
) -> ValidationOut:
    return ValidationOut.of(contracts.validate_document(uow, actor, docs, document_id))


# -- beneficiaries' links ---------------------------------------------------------------------


@router.post(
    "/api/loans/{loan_id}/access-links",
    status_code=201,
    tags=["access links"],
    summary="A personal link for the beneficiary to their schedule and balance; the token is "
    "shown once (roles: admin, caseworker)",
)
def create_link(
    loan_id: LoanId,
    actor: CurrentActor,
    uow: WriteUoW,
    docs: Docs,
    request: Request,
    body: LinkIn | None = None,
) -> NewLinkOut:
    days = body.days if body is not None and body.days is not None else docs.access_link_days
    made = access_links.create_link(uow, actor, loan_id, days=days)
    url = str(request.url_for("beneficiary_page", token=made.token))
    return NewLinkOut(**LinkOut.of(made.link).model_dump(), token=made.token, url=url)


@router.get(
    "/api/loans/{loan_id}/access-links",
    tags=["access links"],
    summary="The loan's links, without their tokens (roles: admin, caseworker)",
)
def list_links(loan_id: LoanId, actor: CurrentActor, uow: ReadUoW) -> list[LinkOut]:
    return [LinkOut.of(link) for link in access_links.list_links(uow, actor, loan_id)]


@router.post(
    "/api/access-links/{link_id}/revocation",
    tags=["access links"],
    summary="Revoke a link: it stops working at once (roles: admin, caseworker)",
)
def revoke_link(link_id: LinkId, actor: CurrentActor, uow: WriteUoW) -> LinkOut:
    return LinkOut.of(access_links.revoke_link(uow, actor, link_id))


_REFUSED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body {{ font-family: sans-serif; max-width: 36em; margin: 3em auto; padding: 0 1em;
line-height: 1.5 }}</style></head>
<body><h1>{title}</h1>
<p lang="en">{en}</p>
<p lang="fr">{fr}</p>
<p lang="nl">{nl}</p>
<p lang="de">{de}</p>
</body></html>"""
_REFUSED_TEXT = {
    404: (
        "Link not found",
        "This link does not work. Check that it was copied whole, or ask your caseworker for "
        "a new one.",
        "Ce lien ne fonctionne pas. Vérifiez qu'il est complet, ou demandez un nouveau lien à "
        "votre accompagnateur.",
        "Deze link werkt niet. Controleer of hij volledig is, of vraag uw begeleider om een "
        "nieuwe link.",
        "Dieser Link funktioniert nicht. Prüfen Sie, ob er vollständig ist, oder bitten Sie "
        "Ihre Betreuungsperson um einen neuen Link.",
    ),
    410: (
        "Link expired",
        "This link has expired or was withdrawn. Ask your caseworker for a new one.",
        "Ce lien a expiré ou a été retiré. Demandez un nouveau lien à votre accompagnateur.",
        "Deze link is verlopen of ingetrokken. Vraag uw begeleider om een nieuwe link.",
        "Dieser Link ist abgelaufen oder wurde zurückgezogen. Bitten Sie Ihre "
        "Betreuungsperson um einen neuen Link.",
    ),
}


#: The public link's refusals, as they are: the page answers its own HTML pages (in the four
#: languages), its PDF problem+json; a token that is no token (too long, control characters)
#: is refused before either. Checked against what the tests see (tests/api/test_documents.py).
_LINK_INPUT: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "Not a link's token (too long, control characters)"}
}
_PAGE_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"content": {"text/html": {}}, "description": "No such link: a page that says so"},
    410: {
        "content": {"text/html": {}},
        "description": "The link expired or was withdrawn: a page that says so and whom to ask",
    },
    **_LINK_INPUT,
}
_PDF_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such link (link-not-found)"},
    410: {"model": Problem, "description": "The link expired or was withdrawn (link-gone)"},
    **_LINK_INPUT,
}


@router.get(
    "/b/{token}",
    tags=["beneficiary"],
    summary="The beneficiary's own schedule and balance (public: the token is the key)",
    response_class=HTMLResponse,
    name="beneficiary_page",
    responses=_PAGE_REFUSALS,
)
def beneficiary_page(token: Token, uow: WriteUoW, docs: Docs) -> HTMLResponse:
    try:
        data = access_links.open_link(uow, token, docs.fund, shown="page")
    except (LinkNotFound, LinkGone) as exc:
        title, *texts = _REFUSED_TEXT[exc.status]
        page = _REFUSED_PAGE.format(
            title=title, **dict(zip(("en", "fr", "nl", "de"), texts, strict=True))
        )
        return HTMLResponse(page, status_code=exc.status, headers=PUBLIC_HEADERS)
    # Relative to /b/{token}: the page's own link to its PDF, nothing fetched elsewhere.
    page = render_schedule_html(data, pdf_href=f"{token}/schedule.pdf")
    return HTMLResponse(page, headers=PUBLIC_HEADERS)


@router.get(
    "/b/{token}/schedule.pdf",
    tags=["beneficiary"],
    summary="The same schedule as a PDF with the payment QR code (public: the token is the key)",
    response_class=Response,
    responses={200: {"content": {PDF: {}}}, **_PDF_REFUSALS},
)
def beneficiary_pdf(token: Token, uow: WriteUoW, docs: Docs) -> Response:
    data = access_links.open_link(uow, token, docs.fund, shown="pdf")  # audited every time
    rendered = render_schedule_cached(data)  # rendered again only when its content changed
    return Response(
        rendered.pdf,
        media_type=PDF,
        headers={
            **PUBLIC_HEADERS,
            "Content-Disposition": f'inline; filename="schedule-{data.loan_id}.pdf"',
        },
    )
