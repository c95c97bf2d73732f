"""The beneficiary's signature: a signed paper scan, or a signature drawn on screen.

Everything here checks untrusted input before anything is stored: an upload must really be a
PDF (its magic bytes, then parsed by pypdf and by pyHanko, which signs it later), a drawn
signature really a PNG, each within its size limit. A drawn signature is re-encoded (flattened
on white, metadata dropped) before it goes anywhere near a document.

``stamp_signature`` draws the typed name, the drawn signature and the time into the contract's
beneficiary signature block, as an incremental update: the contract as generated stays a byte
for byte prefix of the result. The block is found by its named destination
``signature-beneficiary`` (the template's element with that id: WeasyPrint makes every id a
named destination), drawn 4 pt in from its top left corner, 200 x 72 pt; a contract without
one gets an extra signature page instead.
"""

from __future__ import annotations

import base64
import html
import io
import re
import unicodedata
from datetime import datetime

import pypdf
from PIL import Image, ImageOps, UnidentifiedImageError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from ledger.documents.i18n import contracts_dir
from ledger.domain.errors import LedgerError, ValidationError

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ANCHOR = "signature-beneficiary"  # the id of the block in contract.html
MAX_NAME = 200
MAX_PIXELS = 4_000_000
#: The stamped block, in points: the template's block (74 x 30 mm, print.css) holds it.
BLOCK_WIDTH, BLOCK_HEIGHT = 200.0, 72.0
INSET = 4.0  # from the anchor (the block's top left corner), clear of a border drawn there
_FORBIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069]")  # bidi overrides can disguise a name


class TooLarge(LedgerError):
    code = "content-too-large"
    status = 413
    title = "Content Too Large"


def check_scan(data: bytes, max_bytes: int) -> int:
    """Refuse anything but a readable, unencrypted PDF of at most ``max_bytes``; its pages."""
    if not data:
        raise ValidationError("the uploaded file is empty", "file")
    if len(data) > max_bytes:
        raise TooLarge(
            f"the file has {len(data)} bytes; a signed scan may have at most {max_bytes}: "
            "scan in black and white or at a lower resolution",
            "file",
        )
    if not data.startswith(PDF_MAGIC):
        raise ValidationError(
            "the file is not a PDF (it does not start with %PDF-): scan the signed contract to PDF",
            "file",
        )
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ValidationError(
                "the PDF is password-protected or encrypted; save it again without protection",
                "file",
            )
        pages = len(reader.pages)
        for page in reader.pages:
            page.mediabox  # noqa: B018  (reading it parses the page)
        PdfFileReader(io.BytesIO(data), strict=False).root["/Pages"]
    except ValidationError:
        raise
    except Exception:
        raise ValidationError(
            "the file starts like a PDF but cannot be read as one (damaged or truncated)", "file"
        ) from None
    if pages == 0:
        raise ValidationError("the PDF has no pages", "file")
    return pages


def check_signature_image(data: bytes, max_bytes: int) -> bytes:
    """A drawn signature: a PNG of at most ``max_bytes`` with something drawn on it, returned
    re-encoded as an opaque grayscale PNG (transparency flattened onto white)."""
    if not data:
        raise ValidationError("the signature image is empty", "signature_png")
    if len(data) > max_bytes:
        raise TooLarge(
            f"the signature image has {len(data)} bytes; at most {max_bytes} are accepted",
            "signature_png",
        )
    if not data.startswith(PNG_MAGIC):
        raise ValidationError("the signature image is not a PNG", "signature_png")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as img:
            width, height = img.size
            if width * height > MAX_PIXELS or width < 20 or height < 10:
                raise ValidationError(
                    f"the signature image is {width}x{height} pixels; draw it on a canvas of "
                    f"at least 20x10 and at most {MAX_PIXELS} pixels",
                    "signature_png",
                )
            img.load()
            rgba = img.convert("RGBA")
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            "the signature image cannot be read as a PNG", "signature_png"
        ) from None
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    gray = flat.convert("L")
    if ImageOps.invert(gray).point(lambda v: 255 if v > 24 else 0).getbbox() is None:
        raise ValidationError("the signature image is blank: nothing was drawn", "signature_png")
    out = io.BytesIO()
    gray.save(out, format="PNG", optimize=True)
    return out.getvalue()


def check_typed_name(name: str) -> str:
    text = " ".join(unicodedata.normalize("NFC", name).split())
    if not text:
        raise ValidationError("type the beneficiary's full name", "full_name")
    if len(text) > MAX_NAME:
        raise ValidationError(f"the name is longer than {MAX_NAME} characters", "full_name")
    if _FORBIDDEN.search(text) or any(unicodedata.category(c) == "Cc" for c in text):
        raise ValidationError("the name contains control characters", "full_name")
    return text


def _block_pdf(name: str, png: bytes, signed_at: datetime) -> bytes:
    """The signature block alone, as a one-page PDF of exactly the block's size."""
    from weasyprint import HTML  # imported here: loading WeasyPrint takes a moment
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    when = signed_at.strftime("%Y-%m-%d %H:%M UTC")
    # The fonts the contracts ship: Latin, Cyrillic, Arabic... and Ethiopic (Tigrinya, Amharic).
    fonts = contracts_dir() / "fonts"
    latin = (fonts / "DejaVuSans.ttf").as_uri()
    ethiopic = (fonts / "AbyssinicaSIL-Regular.ttf").as_uri()
    image = base64.b64encode(png).decode("ascii")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: {BLOCK_WIDTH}pt {BLOCK_HEIGHT}pt; margin: 0 }}
@font-face {{ font-family: "Signature Sans"; src: url("{latin}") }}
@font-face {{ font-family: "Signature Ethiopic"; src: url("{ethiopic}") }}
body {{ margin: 0; font-family: "Signature Sans", "Signature Ethiopic", sans-serif;
        font-size: 7pt; line-height: 1.15 }}
img {{ display: block; height: 44pt; max-width: {BLOCK_WIDTH}pt; object-fit: contain;
       object-position: left center }}
p {{ margin: 0; max-height: 16pt; overflow: hidden; overflow-wrap: anywhere }}
</style></head><body>
<img src="data:image/png;base64,{image}" alt="">
<p dir="auto">{html.escape(name)}</p>
<p>{when}</p>
</body></html>"""

    # The image is inline and the fonts are files: nothing is fetched from anywhere else.
    fetcher = URLFetcher(allowed_protocols={"data", "file"}, fail_on_errors=True)
    font_config = FontConfiguration()
    block: bytes = HTML(string=page, url_fetcher=fetcher).write_pdf(font_config=font_config)
    return block


def _anchor(reader: PdfFileReader) -> tuple[int, float, float] | None:
    """(page index, x, y) of the beneficiary block's named destination, if the PDF has it."""
    try:
        names = reader.root["/Names"]["/Dests"]["/Names"]
    except KeyError:
        return None
    for i in range(0, len(names) - 1, 2):
        if str(names[i]) != ANCHOR:
            continue
        dest = names[i + 1].get_object()
        if isinstance(dest, generic.DictionaryObject):
            dest = dest["/D"]
        page_ref = dest.raw_get(0)
        for index in range(int(reader.root["/Pages"]["/Count"])):
            ref, _ = reader.find_page_for_modification(index)
            if ref.idnum == page_ref.idnum:
                return index, float(dest[2]), float(dest[3])
    return None


def stamp_signature(contract: bytes, *, name: str, png: bytes, signed_at: datetime) -> bytes:
    """The contract with the beneficiary's on-screen signature drawn into it (see the module)."""
    block = PdfFileReader(io.BytesIO(_block_pdf(name, png, signed_at)))
    writer = IncrementalPdfFileWriter(io.BytesIO(contract), strict=False)
    found = _anchor(writer.prev)
    if found is not None:
        page_index, left, top = found
        x, y = left + INSET, top - INSET - BLOCK_HEIGHT
    else:
        page_index, x, y = _signature_page(writer), 56.0, 600.0
    xobject = writer.import_page_as_xobject(block, page_ix=0)
    paint = b"q 1 0 0 1 %.2f %.2f cm /BeneficiarySignature Do Q" % (x, y)
    resources = generic.DictionaryObject(
        {
            pdf_name("/XObject"): generic.DictionaryObject(
                {pdf_name("/BeneficiarySignature"): xobject}
            )
        }
    )
    # Wrap what the page draws in q/Q, so our drawing starts from the default coordinates.
    writer.add_stream_to_page(
        page_index, writer.add_object(generic.StreamObject(stream_data=b"q")), prepend=True
    )
    writer.add_stream_to_page(page_index, writer.add_object(generic.StreamObject(stream_data=b"Q")))
    writer.add_stream_to_page(
        page_index, writer.add_object(generic.StreamObject(stream_data=paint)), resources
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _signature_page(writer: IncrementalPdfFileWriter) -> int:
    """Append an empty page the size of the last one; its index."""
    count = int(writer.root["/Pages"]["/Count"])
    last_ref, _ = writer.find_page_for_modification(count - 1)
    a4 = generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 595, 842)])
    box = last_ref.get_object().get("/MediaBox") or a4
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): box,
            pdf_name("/Resources"): generic.DictionaryObject(),
            pdf_name("/Contents"): writer.add_object(generic.StreamObject(stream_data=b"")),
        }
    )
    writer.insert_page(page)
    return count
