"""Signatures drawn into a contract: the beneficiary's (signed on screen) and the fund's mark.

Each is drawn as an incremental update, so the contract as generated stays byte for byte at the
start of the result. A block is placed by the named destination of the template's element with
its id (WeasyPrint makes every id a named destination): ``signature-beneficiary`` and
``signature-fund`` in ``contract.html``, 4 pt in from the element's top left corner, 200 x 80
pt (the element is 74 x 30 mm, ``print.css``). Text is 9 pt, the contract's small print.

* The beneficiary's block holds the drawn signature, the words "read and approved" and the
  name they typed, and the time in the fund's zone. A PDF without the element (not one of ours)
  gets an extra signature page.
* The fund's block shows the fund's name, "PAdES" and the time, and the certificate's
  fingerprint; the PAdES signature itself is added after it, over it. A PDF without the
  element (a paper scan) gets no mark: its signature is in any PDF reader's signature panel.

The blocks are laid out by WeasyPrint with the fonts the contracts ship (``contracts/fonts``:
Latin, Cyrillic, Arabic; Ethiopic for Tigrinya and Amharic), so a name in any of these scripts
prints as it should.
"""

from __future__ import annotations

import atexit
import base64
import functools
import html
import io
from datetime import datetime
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from ledger.documents import fontsubset
from ledger.documents.i18n import contracts_dir, zone_text
from ledger.documents.signing import OneProducerWriter

BENEFICIARY_ANCHOR = "signature-beneficiary"
FUND_ANCHOR = "signature-fund"
BLOCK_WIDTH, BLOCK_HEIGHT = 200.0, 80.0
INSET = 4.0  # from the anchor (the element's top left corner), clear of a border drawn there


def _when(at: datetime) -> str:
    """The time as the fund's zone reads it, with the zone's name and its offset from UTC:
    ``2026-03-15 14:30 CET (UTC+01:00)``. ``at`` is given in the fund's zone."""
    if at.utcoffset() is None:
        raise ValueError("a signature's time needs its time zone")
    return f"{at:%Y-%m-%d %H:%M} {zone_text(at)}"


@functools.cache
def _block_setup() -> tuple[Any, Any, Any]:
    """The block's stylesheet with its fonts, and the fetcher: loaded once per process."""
    from weasyprint import CSS  # imported here: loading WeasyPrint takes a moment
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    fontsubset.install()  # the block's fonts are subset like a contract's (same bytes, faster)
    fonts = contracts_dir() / "fonts"
    latin = (fonts / "DejaVuSans.ttf").as_uri()
    ethiopic = (fonts / "AbyssinicaSIL-Regular.ttf").as_uri()
    style = f"""
@page {{ size: {BLOCK_WIDTH}pt {BLOCK_HEIGHT}pt; margin: 0 }}
@font-face {{ font-family: "Signature Sans"; src: url("{latin}") }}
@font-face {{ font-family: "Signature Ethiopic"; src: url("{ethiopic}") }}
body {{ margin: 0; font-family: "Signature Sans", "Signature Ethiopic", sans-serif;
        font-size: 9pt; line-height: 1.15 }}
img {{ display: block; height: 36pt; max-width: {BLOCK_WIDTH}pt; object-fit: contain;
       object-position: left center }}
p {{ margin: 0; max-height: 10.4pt; overflow: hidden; overflow-wrap: anywhere }}
p.name {{ max-height: 20.7pt }}
.mark {{ border-left: 2pt solid #1f4e79; padding-left: 4pt; margin-top: 4pt }}
.mark p {{ max-height: none }}
"""
    # Images are inline and the fonts are files: nothing is fetched from anywhere else.
    fetcher = URLFetcher(allowed_protocols={"data", "file"}, fail_on_errors=True)
    font_config = FontConfiguration()
    stylesheet = CSS(string=style, font_config=font_config, url_fetcher=fetcher)
    # WeasyPrint's font configuration cleans up in __del__, which fails at interpreter exit
    # once modules are torn down: release it while they are still there.
    atexit.register(_block_setup.cache_clear)
    return stylesheet, font_config, fetcher


def _block_pdf(body: str) -> bytes:
    """``body`` (HTML) alone on a page of exactly the block's size."""
    from weasyprint import HTML

    stylesheet, font_config, fetcher = _block_setup()
    page = f'<!doctype html><html><head><meta charset="utf-8"></head><body>{body}</body></html>'
    block: bytes = HTML(string=page, url_fetcher=fetcher).write_pdf(
        stylesheets=[stylesheet], font_config=font_config
    )
    return block


def _anchor(reader: PdfFileReader, anchor: str) -> tuple[int, float, float] | None:
    """(page index, x, y) of the named destination ``anchor``, if the PDF has it."""
    try:
        names = reader.root["/Names"]["/Dests"]["/Names"]
    except KeyError:
        return None
    for i in range(0, len(names) - 1, 2):
        if str(names[i]) != anchor:
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


def _draw(pdf: bytes, block: bytes, anchor: str, *, add_page: bool) -> bytes | None:
    """``pdf`` with ``block`` drawn at ``anchor`` (or on a new last page if ``add_page``);
    None when there is no anchor and no page is to be added."""
    writer: IncrementalPdfFileWriter = OneProducerWriter(io.BytesIO(pdf), strict=False)
    found = _anchor(writer.prev, anchor)
    if found is not None:
        page_index, left, top = found
        x, y = left + INSET, top - INSET - BLOCK_HEIGHT
    elif add_page:
        page_index, x, y = _signature_page(writer), 56.0, 600.0
    else:
        return None
    xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(block)), page_ix=0)
    name = "/Signature" + anchor.replace("-", "")
    paint = b"q 1 0 0 1 %.2f %.2f cm %s Do Q" % (x, y, name.encode("ascii"))
    resources = generic.DictionaryObject(
        {pdf_name("/XObject"): generic.DictionaryObject({pdf_name(name): xobject})}
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
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): last_ref.get_object().get("/MediaBox") or a4,
            pdf_name("/Resources"): generic.DictionaryObject(),
            pdf_name("/Contents"): writer.add_object(generic.StreamObject(stream_data=b"")),
        }
    )
    writer.insert_page(page)
    return count


def stamp_signature(
    contract: bytes, *, name: str, png: bytes, signed_at: datetime, approval: str
) -> bytes:
    """The contract with the beneficiary's on-screen signature drawn into their block: the
    words they typed before it ("lu et approuvé"), the drawing, their name and the time
    (``signed_at`` in the fund's zone)."""
    image = base64.b64encode(png).decode("ascii")
    body = (
        f'<p dir="auto">{html.escape(approval)}</p>'
        f'<img src="data:image/png;base64,{image}" alt="">'
        f'<p dir="auto" class="name">{html.escape(name)}</p><p>{_when(signed_at)}</p>'
    )
    stamped = _draw(contract, _block_pdf(body), BENEFICIARY_ANCHOR, add_page=True)
    if stamped is None:  # _draw adds a page when the block's anchor is missing
        raise ValueError("the contract's signature page could not be drawn on")
    return stamped


def stamp_fund(pdf: bytes, *, fund: str, signed_at: datetime, fingerprint: str) -> bytes:
    """The fund's mark in its block, where the contract has one; else ``pdf`` unchanged
    (``signed_at`` in the fund's zone)."""
    # No words, so no language: the fund, the kind of signature and when, the certificate.
    body = (
        '<div class="mark">'
        f'<p dir="auto">{html.escape(fund)}</p>'
        f"<p>PAdES &#x2713; {_when(signed_at)}</p>"
        f"<p>SHA-256 {fingerprint[:16]}&hellip;</p>"
        "</div>"
    )
    return _draw(pdf, _block_pdf(body), FUND_ANCHOR, add_page=False) or pdf
