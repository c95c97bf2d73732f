"""The beneficiary's signature: checks of a signed paper scan or of a signature drawn on screen.

Everything here checks untrusted input before anything is stored: an upload must really be a
PDF (its magic bytes, then parsed by pypdf and by pyHanko, which signs it later), a drawn
signature really a PNG, each within its size limit. A drawn signature is re-encoded (flattened
on white, metadata dropped) before it goes anywhere near a document.

``ledger.documents.stamps`` then draws the signature into the contract.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence

import pypdf
from PIL import Image, ImageOps, UnidentifiedImageError
from pyhanko.pdf_utils.reader import PdfFileReader

from ledger.documents.i18n import FALLBACK, catalog
from ledger.domain.beneficiaries import name_words
from ledger.domain.errors import LedgerError, ValidationError

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_NAME = 200
MAX_APPROVAL = 100
#: The words written before a signature, in each catalog: "lu et approuvé"...
APPROVAL_MSGID = "contract.sign.read_words"
MAX_PIXELS = 4_000_000
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
        # verify() reads every chunk and its checksum: a truncated or damaged file fails here
        # even where some library told Pillow to be lenient (ImageFile.LOAD_TRUNCATED_IMAGES).
        with Image.open(io.BytesIO(data), formats=["PNG"]) as probe:
            probe.verify()
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
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
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


def approval_words(languages: str) -> tuple[tuple[str, str], ...]:
    """The words "read and approved" a beneficiary may type to sign a contract printed in
    ``languages`` (a document row's: ``fr`` or ``fr+uk``), as (language, words): the contract's
    languages that have them, then English."""
    found: dict[str, str] = {}
    for language in (*languages.split("+"), FALLBACK):
        words = (catalog(language) or {}).get(APPROVAL_MSGID)
        if words and language not in found:
            found[language] = words
    return tuple(found.items())


def check_approval(typed: str, accepted: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """The (language, words) of ``accepted`` that ``typed`` is, whatever its capitals, accents
    and punctuation ("Lu et approuve." is "lu et approuvé"); a ``ValidationError`` naming the
    field ``read_and_approved`` and the words to type otherwise."""
    text = " ".join(unicodedata.normalize("NFC", typed).split())
    if len(text) <= MAX_APPROVAL and (words := name_words(text)):
        for language, expected in accepted:
            if words == name_words(expected):
                return language, expected
    choices = " or ".join(f'"{words}"' for _, words in accepted)
    raise ValidationError(
        "before signing, the beneficiary types the words that come before a signature on "
        f"paper, in one of the contract's languages or in English: {choices}",
        "read_and_approved",
    )
