"""An approved loan, a fund signing key and the document settings, for the contract tests.

The fixtures ``fund_key_file`` (one key for the whole run: making one takes a while) and
``docs`` are offered to the integration and API tests by their conftest files."""

from __future__ import annotations

import io
import shutil
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from ledger.config import Settings
from ledger.documents.signing import create_fund_key
from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.loans import DepositForm, Lease, Loan, LoanTerms
from ledger.domain.money import money
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Actor, Role
from ledger.services import loans
from ledger.services.contracts import DocumentSettings
from ledger.store.tables import documents
from ledger.store.uow import UnitOfWork

CASEWORKER = Actor("carl.caseworker", Role.CASEWORKER)
CASEWORKER2 = Actor("cora.caseworker", Role.CASEWORKER)
KEY_PASSWORD = "test-key-password"


def eur(text: str) -> object:
    return money(text, "EUR")


def approved_loan(
    uow: UnitOfWork, name: str = "Olena Kovalenko / Олена Коваленко", language: str = "fr"
) -> Loan:
    """A loan of 1,400.00 over 14 months, approved by a second caseworker (clock: 2026-03-15)."""
    person = loans.register_beneficiary(
        uow,
        CASEWORKER,
        "EUR",
        PersonalData(
            name,
            language,
            monthly_net_income=money("1500.00", "EUR"),
            own_savings=money("50.00", "EUR"),
            residence_status="residence permit",
            permit_end_date=date(2030, 1, 1),
            household_size=1,
        ),
    )
    terms = LoanTerms(
        deposit=money("1400.00", "EUR"),
        monthly_rent=money("700.00", "EUR"),
        jurisdiction="BE-BRU",
        deposit_form=DepositForm.BLOCKED_ACCOUNT,
        lease_start=date(2026, 4, 1),
        lease_end=date(2029, 3, 31),
        first_due_date=date(2026, 5, 1),
        installments=14,
        public_alternatives=PublicAlternatives.REFUSED,
    )
    lease = Lease("Immo Exemple SRL", "Rue de la Loi 1, 1000 Bruxelles")
    loan = loans.open_application(uow, CASEWORKER, person.id, terms, lease, loans.LoanPolicy())
    loans.submit(uow, CASEWORKER, loan.id, loans.LoanPolicy())
    return loans.approve(uow, CASEWORKER2, loan.id, LoanPolicy())


def key_file(directory: Path) -> Path:
    path = directory / "fund.p12"
    path.write_bytes(create_fund_key("Fonds de garanties locatives asbl", KEY_PASSWORD))
    return path


@pytest.fixture(scope="session")
def fund_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fund's signing key, made once for the run."""
    return key_file(tmp_path_factory.mktemp("fund-key"))


def own_key(directory: Path, shared: Path) -> Path:
    """A copy of the run's key for one test (a test may change or remove its file)."""
    key = directory / "fund.p12"
    shutil.copyfile(shared, key)
    return key


@pytest.fixture
def docs(tmp_path: Path, fund_key_file: Path) -> DocumentSettings:
    return document_settings(tmp_path / "documents", own_key(tmp_path, fund_key_file))


def document_rows(uow: UnitOfWork) -> int:
    """How many documents the database holds."""
    from sqlalchemy import func, select

    with uow:
        return int(uow.connection.execute(select(func.count()).select_from(documents)).scalar_one())


def document_settings(root: Path, key: Path | None) -> DocumentSettings:
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        documents_dir=root,
        signing_key_file=key,
        signing_key_password=KEY_PASSWORD,
        max_upload_bytes=200_000,
        max_signature_image_bytes=50_000,
    )
    return DocumentSettings.from_settings(settings)


def drawn_signature(width: int = 300, height: int = 100) -> bytes:
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(img).line(
        [(10, height - 20), (width // 3, 15), (2 * width // 3, height - 10), (width - 10, 20)],
        fill=(10, 10, 90, 255),
        width=5,
    )
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
