"""Contracts and schedules to PDF/A (WeasyPrint) and HTML, in the beneficiary's language.

The same data always gives the same bytes: the PDF's dates come from the data (the contract's
issue date, the schedule's as-of date), its identifier is a hash of its content, and nothing
random goes in. So the SHA-256 of a rendering identifies its content.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import Enum
from importlib import metadata
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from moneyed import Money

from ledger.documents import fontsubset
from ledger.documents.i18n import FALLBACK, Translator, beneficiary_language, contracts_dir
from ledger.documents.model import ContractData, FundInfo, ScheduleData, legal_basis
from ledger.documents.payment_qr import (
    SwissBill,
    blank_field_svg,
    epc_payload,
    epc_svg,
    swiss_qr_bill,
)
from ledger.domain.loans import DISBURSED, DepositForm

log = logging.getLogger(__name__)

PDF_VARIANT = "pdf/a-3b"
PX_TO_PT = 0.75  # CSS px are 1/96 in, PDF points 1/72 in
SIGNATURE_SIZE_MM = (74.0, 30.0)  # .sig-area in print.css
MM_TO_PT = 72 / 25.4


@dataclass(frozen=True, slots=True)
class SignatureBox:
    """Where a signature goes: for pyHanko's ``SigFieldSpec(box=..., on_page=...)``."""

    name: str  # "beneficiary" or "fund"
    page: int  # 0-based
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in PDF points, origin at bottom left


#: Deposits a bank holds (or guarantees): the contract has a notice of the assignment for it.
BANK_DEPOSITS = frozenset(
    {DepositForm.BLOCKED_ACCOUNT, DepositForm.BANK_GUARANTEE, DepositForm.PROGRESSIVE_GUARANTEE}
)


@dataclass(frozen=True, slots=True)
class Rendered:
    pdf: bytes
    sha256: str  # hex digest of ``pdf``
    language: str  # the catalog used (a contract: the binding text's, the fund's legal language)
    missing: tuple[str, ...]  # message ids that fell back to English
    requested_language: str = ""
    fell_back: bool = False  # the requested language has no catalog (see ``language``)
    signature_boxes: tuple[SignatureBox, ...] = ()
    translation: str | None = None  # a contract's translation for information, if it has one

    @property
    def languages(self) -> str:
        """The languages printed, as a document's row keeps them: ``fr``, or ``fr+uk`` for a
        binding text in French followed by its translation into Ukrainian."""
        return f"{self.language}+{self.translation}" if self.translation else self.language


class _OnceFilter(logging.Filter):
    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle = needle
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.needle not in record.getMessage():
            return True
        seen, self.seen = self.seen, True
        return not seen


def _svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;charset=utf-8," + quote(svg, safe="")


@functools.cache
def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(contracts_dir() / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["svg_data_uri"] = _svg_data_uri
    return env


@dataclass(frozen=True, slots=True)
class _Printing:
    stylesheet: Any  # weasyprint.CSS
    font_config: Any  # weasyprint.text.fonts.FontConfiguration


@functools.cache
def _printing() -> _Printing:
    """The print stylesheet and its fonts, loaded once per process."""
    # WeasyPrint is imported on first use: it loads Pango, which the HTML page does not need.
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fontsubset.install()
    # Without the system's HarfBuzz-Subset library WeasyPrint subsets fonts with fontTools
    # (slower, same result) and says so for every font of every document: once is enough.
    logging.getLogger("weasyprint").addFilter(_OnceFilter("HarfBuzz-Subset"))
    templates = contracts_dir() / "templates"
    font_config = FontConfiguration()
    stylesheet = CSS(
        filename=str(templates / "print.css"),
        base_url=str(templates) + "/",
        font_config=font_config,
    )
    # WeasyPrint's font configuration cleans up in __del__, which fails at interpreter exit
    # once modules are torn down: release it while they are still there.
    atexit.register(_printing.cache_clear)
    return _Printing(stylesheet, font_config)


def prepare() -> None:
    """Load the templates, the print stylesheet and its fonts now rather than on first use
    (each is loaded once per process)."""
    _templates()
    _printing()


def _html(template: str, t: Translator, issued: date, fund: FundInfo, **context: Any) -> str:
    return _templates().get_template(template).render(t=t, issued=issued, fund=fund, **context)


def _pdf(html: str) -> tuple[bytes, Any]:
    from weasyprint import HTML

    res = _printing()
    document = HTML(string=html, base_url=str(contracts_dir() / "templates") + "/").render(
        stylesheets=[res.stylesheet], font_config=res.font_config
    )
    pdf = document.write_pdf(pdf_variant=PDF_VARIANT)
    if not isinstance(pdf, bytes):
        raise TypeError(f"WeasyPrint gave {type(pdf).__name__}, not the PDF's bytes")
    return pdf, document


def _signature_boxes(document: Any) -> tuple[SignatureBox, ...]:
    width, height = (v * MM_TO_PT for v in SIGNATURE_SIZE_MM)
    boxes = []
    for number, page in enumerate(document.pages):
        for name in ("beneficiary", "fund"):
            anchor = page.anchors.get(f"signature-{name}")
            if anchor is None:
                continue
            x, y = anchor[0] * PX_TO_PT, (page.height - anchor[1]) * PX_TO_PT
            boxes.append(
                SignatureBox(
                    name, number, (round(x), round(y - height), round(x + width), round(y))
                )
            )
    return tuple(boxes)


def _rendered(
    pdf: bytes,
    t: Translator,
    boxes: tuple[SignatureBox, ...] = (),
    *,
    translation: Translator | None = None,
    fell_back: bool | None = None,
) -> Rendered:
    missing = tuple(dict.fromkeys((*t.missing, *(translation.missing if translation else ()))))
    if missing:
        log.warning(
            "document in %r used English for %d message(s): %s",
            t.requested,
            len(missing),
            ", ".join(missing[:10]),
        )
    return Rendered(
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        language=t.language,
        missing=missing,
        requested_language=t.requested,
        fell_back=t.fell_back if fell_back is None else fell_back,
        signature_boxes=boxes,
        translation=translation.language if translation else None,
    )


def contract_translators(data: ContractData) -> tuple[Translator, Translator | None, bool]:
    """The binding text's translator (the fund's legal language), the translation's (the
    borrower's language, when it has a catalog and is another language) and whether the
    borrower's language has no catalog (the contract then says no translation exists yet)."""
    fund = data.fund
    chosen = beneficiary_language(data.language, fund.legal_language)
    if chosen.language == fund.legal_language:  # one text (in the borrower's own region)
        requested = data.language if chosen.translated else fund.legal_language
        return Translator(requested, fund.country), None, not chosen.translated
    binding = Translator(fund.legal_language, fund.country)
    return binding, Translator(data.language, fund.country), False


def render_contract(data: ContractData) -> Rendered:
    """The loan contract, binding in the fund's legal language with the borrower's language
    after it for information, its annexes (schedule, privacy notice) and the notices of the
    assignment for the landlord and the deposit's bank, as a PDF/A."""
    t, translation, untranslated = contract_translators(data)
    english = Translator(FALLBACK, data.fund.country) if untranslated else None
    html = _html(
        "contract.html",
        t,
        data.issued_on,
        data.fund,
        d=data,
        tr=translation,
        en=english,
        untranslated=untranslated,
        binding=t.language,
        iban=_iban_display(data.iban),
        legal_basis=legal_basis,
        bank_notice=data.deposit_form in BANK_DEPOSITS,
        deposit_account=_iban_display(data.deposit_account) if data.deposit_account else None,
    )
    pdf, document = _pdf(html)
    return replace(
        _rendered(
            pdf, t, _signature_boxes(document), translation=translation, fell_back=untranslated
        ),
        requested_language=data.language,
    )


def _iban_display(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _schedule_html(
    data: ScheduleData, t: Translator, *, screen: bool, pdf_href: str | None = None
) -> str:
    epc: str | None = None
    bill: SwissBill | None = None
    amount = data.next_amount_due if data.next_amount_due.amount > 0 else None
    if data.standing.asks_payment:  # never before the payout, nor once nothing is owed
        info = data.loan_id
        if data.currency == "EUR":
            epc = epc_svg(epc_payload(data.fund, amount, data.reference, info))
        elif data.currency == "CHF":
            bill = swiss_qr_bill(data.fund, amount, data.reference, info, t.language)
    return _html(
        "schedule.html",
        t,
        data.as_of,
        data.fund,
        d=data,
        preview=data.status not in DISBURSED,
        iban_display=_iban_display(data.iban),
        epc_svg=epc,
        qr_bill=bill,
        blank_field=blank_field_svg,
        screen=screen,
        pdf_href=pdf_href,
    )


def _schedule_translator(data: ScheduleData) -> Translator:
    """The beneficiary's language, else the fund's legal language, said so on the document
    (``i18n.beneficiary_language``): never English by default."""
    return Translator.for_beneficiary(data.language, data.fund.legal_language, data.fund.country)


def render_schedule(data: ScheduleData) -> Rendered:
    """The beneficiary's schedule as a PDF/A, with a payment QR code while a payment is asked."""
    t = _schedule_translator(data)
    pdf, _ = _pdf(_schedule_html(data, t, screen=False))
    return _rendered(pdf, t)


def render_schedule_html(data: ScheduleData, *, pdf_href: str | None = None) -> str:
    """The same schedule as one self-contained web page (no external resources); ``pdf_href``:
    the link to its PDF, relative to the page."""
    t = _schedule_translator(data)
    return _schedule_html(data, t, screen=True, pdf_href=pdf_href)


# -- the public schedule, kept by its content ---------------------------------------------------


@functools.cache
def template_version() -> str:
    """A SHA-256 of what prints a document besides its data: the templates, stylesheets and
    catalogs (``contracts/templates``), the fonts, and the versions of the libraries that lay
    it out and draw its QR codes."""
    digest = hashlib.sha256()
    root = contracts_dir()
    for folder in ("templates", "fonts"):
        for path in sorted(p for p in (root / folder).rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for package in ("fundledger", "weasyprint", "pydyf", "fonttools", "qrbill", "segno", "babel"):
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"\0{package}={version}".encode())
    return digest.hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, Money):
        return f"{value.amount} {value.currency.code}"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} in a schedule's data")


def schedule_key(data: ScheduleData) -> str:
    """The content hash of the schedule ``data`` prints: every value of it (the loan's figures
    and schedule as of the day, the person's name and language, the fund's profile) and
    ``template_version()``. Anything printed that changes (a payment, a new schedule version,
    the next day, a setting) gives another key."""
    text = json.dumps(dataclasses.asdict(data), default=_plain, sort_keys=True)
    return hashlib.sha256(f"{template_version()}\0{text}".encode()).hexdigest()


class RenderedCache:
    """The last PDFs rendered, by content hash, in this process: at most ``entries`` of them
    and ``max_bytes`` together, the least recently used dropped first. Thread-safe. They hold
    personal data (a name, amounts): kept in memory only, never written anywhere."""

    def __init__(self, entries: int = 256, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self._kept: OrderedDict[str, Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.renders = 0

    def get(self, key: str) -> Rendered | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                self.hits += 1
            return found

    def put(self, key: str, rendered: Rendered) -> None:
        with self._lock:
            self.renders += 1
            if len(rendered.pdf) > self.max_bytes:
                return
            old = self._kept.pop(key, None)
            if old is not None:
                self._bytes -= len(old.pdf)
            self._kept[key] = rendered
            self._bytes += len(rendered.pdf)
            while len(self._kept) > self.entries or self._bytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= len(dropped.pdf)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._bytes = 0
            self.hits = self.renders = 0

    def __len__(self) -> int:
        return len(self._kept)


#: The beneficiaries' schedules served by their links (``/b/{token}/schedule.pdf``).
PUBLIC_SCHEDULES = RenderedCache()


def render_schedule_cached(data: ScheduleData, cache: RenderedCache = PUBLIC_SCHEDULES) -> Rendered:
    """``render_schedule(data)``, or the same PDF rendered before for the same content (the
    same bytes: rendering is deterministic). Two requests at once may both render it."""
    key = schedule_key(data)
    found = cache.get(key)
    if found is not None:
        return found
    rendered = render_schedule(data)
    cache.put(key, rendered)
    return rendered
