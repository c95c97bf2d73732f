"""A one-page PDF made with pyHanko, for the signing and contract tests."""

from __future__ import annotations

import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter


def minimal_pdf(text: bytes = b"BT /F1 12 Tf 72 720 Td (Contrat) Tj ET") -> bytes:
    writer = PdfFileWriter()
    content = writer.add_object(generic.StreamObject(stream_data=text))
    writer.insert_page(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (0, 0, 595, 842)]
                ),
                generic.NameObject("/Resources"): generic.DictionaryObject(),
                generic.NameObject("/Contents"): content,
            }
        )
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
