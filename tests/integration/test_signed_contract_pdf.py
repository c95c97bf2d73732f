"""A contract as it ends up after both signatures (the beneficiary's block, the fund's mark,
the PAdES signature): still one Producer in its Info and its XMP (PDF/A)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

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
        generated, name="Amina Haddad", png=drawn_signature(), signed_at=SIGNED_AT
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
