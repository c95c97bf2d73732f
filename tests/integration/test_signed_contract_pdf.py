"""A contract as it ends up after both signatures (the beneficiary's block, the fund's mark,
the PAdES signature): still one Producer in its Info and its XMP (PDF/A), and one subset tag
per embedded font program."""

from __future__ import annotations

import hashlib
import io
import re
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from ledger.documents import stamps
from ledger.documents.render import render_contract
from ledger.documents.signing import FundKey, create_fund_key, load_fund_key, sign_pdf
from tests.support.contracts import drawn_signature
from tests.support.documents import contract

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PASSWORD = "integration-test-password"
SIGNED_AT = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def key() -> FundKey:
    return load_fund_key(create_fund_key("Fonds Exemple asbl", PASSWORD), PASSWORD)


@pytest.fixture(scope="module")
def generated() -> bytes:
    return render_contract(contract("fr")).pdf


@pytest.fixture(scope="module")
def beneficiary_signed(generated: bytes) -> bytes:
    return stamps.stamp_signature(
        generated,
        name="Amina Haddad",
        png=drawn_signature(),
        signed_at=SIGNED_AT,
        approval="Lu et approuvé",
    )


@pytest.fixture(scope="module")
def signed(beneficiary_signed: bytes, key: FundKey) -> bytes:
    marked = stamps.stamp_fund(
        beneficiary_signed, fund="Fonds Exemple asbl", signed_at=SIGNED_AT, fingerprint="ab" * 32
    )
    return sign_pdf(marked, key, reason="Loan contract C-L000001, version 1")


def xmp_of(pdf: bytes) -> str:
    metadata = PdfReader(io.BytesIO(pdf)).root_object["/Metadata"].get_object()
    return str(metadata.get_data().decode("utf-8"))  # type: ignore[union-attr]


def producers(pdf: bytes) -> tuple[str, str]:
    """The Producer of the document information dictionary and the XMP's pdf:Producer."""
    info = str(PdfReader(io.BytesIO(pdf)).metadata["/Producer"])  # type: ignore[index]
    xmp = xmp_of(pdf)
    found = re.findall(r"<pdf:Producer>([^<]*)</pdf:Producer>|pdf:Producer=\"([^\"]*)\"", xmp)
    assert len(found) == 1, xmp
    return info, "".join(found[0])


def test_the_rendered_contract_has_one_producer(generated: bytes) -> None:
    info, xmp = producers(generated)
    assert info == xmp and info.startswith("WeasyPrint")


@pytest.mark.parametrize("step", ["beneficiary_signed", "signed"])
def test_every_signing_step_keeps_one_producer(step: str, request: pytest.FixtureRequest) -> None:
    pdf: bytes = request.getfixturevalue(step)
    info, xmp = producers(pdf)
    assert info == xmp, (info, xmp)
    assert "WeasyPrint" in info and "pyHanko" in info  # what made it, and what changed it


def test_the_producer_fix_leaves_the_signature_whole(signed: bytes, key: FundKey) -> None:
    from ledger.documents.signing import validate

    check = validate(signed, key.certificate)
    assert check.ok, check.problems
    assert "pdfaid:part" in xmp_of(signed)  # still declared PDF/A


def font_program(font: DictionaryObject) -> bytes | None:
    """The embedded font file of a font dictionary (simple or composite), if any."""
    descendants = font.get("/DescendantFonts")
    described = descendants[0].get_object() if descendants else font
    descriptor = described.get("/FontDescriptor")
    if descriptor is None:
        return None
    descriptor = descriptor.get_object()
    for key in ("/FontFile", "/FontFile2", "/FontFile3"):
        if key in descriptor:
            data: bytes = descriptor[key].get_object().get_data()
            return data
    return None


def embedded_fonts(pdf: bytes) -> dict[str, set[str]]:
    """BaseFont of every embedded font (pages, their XObjects, forms) -> the SHA-256 of the
    font programs embedded under that name."""
    reader = PdfReader(io.BytesIO(pdf))
    found: dict[str, set[str]] = defaultdict(set)
    seen: set[int] = set()

    def visit(resources: object) -> None:
        if resources is None:
            return
        res = resources.get_object()  # type: ignore[attr-defined]
        if id(res) in seen:
            return
        seen.add(id(res))
        for font in res.get("/Font", {}).values():
            font = font.get_object()
            program = font_program(font)
            if program is not None:
                found[str(font["/BaseFont"])].add(hashlib.sha256(program).hexdigest())
        for xobject in res.get("/XObject", {}).values():
            xobject = xobject.get_object()
            if isinstance(xobject, DictionaryObject):
                visit(xobject.get("/Resources"))

    for page in reader.pages:
        visit(page.get("/Resources"))
        for annotation in page.get("/Annots", []) or []:
            appearance = annotation.get_object().get("/AP", {})
            for stream in appearance.values():
                visit(stream.get_object().get("/Resources"))
    return found


def test_each_font_subset_has_a_tag_of_its_own(signed: bytes) -> None:
    fonts = embedded_fonts(signed)
    tags: dict[str, set[str]] = defaultdict(set)
    for name, programs in fonts.items():
        tag, _, _ = name.lstrip("/").partition("+")
        assert re.fullmatch(r"[A-Z]{6}", tag), name
        assert len(programs) == 1, f"{name} names {len(programs)} different font programs"
        tags[tag] |= programs
    # The contract's fonts and the two signature blocks' (each laid out on its own): each
    # subset is a font program of its own, with a tag of its own.
    assert len(fonts) >= 3
    shared = {tag: len(programs) for tag, programs in tags.items() if len(programs) > 1}
    assert not shared, shared
