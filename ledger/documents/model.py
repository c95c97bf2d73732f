"""What goes into a contract or a schedule: plain immutable values, built from a loan.

The renderer sees only these values, never the database; the same values always give the same
document. Money stays ``Money`` (exact decimals) all the way to Babel's formatting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from ledger.config import LEGAL_LANGUAGES
from ledger.domain.beneficiaries import PersonalData
from ledger.domain.errors import ValidationError
from ledger.domain.loans import DepositForm, Loan
from ledger.domain.money import Money, from_minor, to_minor
from ledger.domain.references import PaymentReference, ReferenceKind, is_qr_iban
from ledger.domain.standing import LoanStanding, loan_standing
from ledger.domain.statuses import LoanStatus

if TYPE_CHECKING:
    from ledger.config import Settings
    from ledger.domain.loans import Lease


class InstallmentFigures(Protocol):
    """An installment as a document shows it (minor units)."""

    @property
    def number(self) -> int: ...
    @property
    def due_date(self) -> date: ...
    @property
    def amount(self) -> int: ...
    @property
    def paid(self) -> int: ...
    @property
    def remaining(self) -> int: ...


class LoanFigures(Protocol):
    """What a document reads of a loan as of a day: the services' ``LoanView`` is one. A
    protocol, so that documents do not import the services that call them."""

    @property
    def loan(self) -> Loan: ...
    @property
    def as_of(self) -> date: ...
    @property
    def installments(self) -> Sequence[InstallmentFigures]: ...
    @property
    def outstanding(self) -> int: ...
    @property
    def credit(self) -> int: ...
    @property
    def standing(self) -> LoanStanding: ...


#: The statute a deposit falls under, as cited in the region's official language(s). ``*`` is
#: used for a language the region has no official text in.
LEGAL_BASIS: dict[str, dict[str, str]] = {
    "BE-BRU": {
        "fr": "Code bruxellois du Logement, art. 248",
        "nl": "Brusselse Huisvestingscode, art. 248",
        "*": "Code bruxellois du Logement / Brusselse Huisvestingscode, art. 248",
    },
    "BE-WAL": {"*": "Décret wallon du 15 mars 2018 relatif au bail d'habitation, art. 62"},
    "BE-VLG": {"*": "Vlaams Woninghuurdecreet van 9 november 2018, art. 37"},
    "CH": {
        "fr": "Code des obligations, art. 257e",
        "de": "Obligationenrecht, Art. 257e",
        "it": "Codice delle obbligazioni, art. 257e",
        "*": "Code des obligations / Obligationenrecht, art. 257e",
    },
}


def legal_basis(jurisdiction: str, language: str) -> str:
    """The statute for ``jurisdiction`` in ``language`` if it has one, else ``""``."""
    texts = LEGAL_BASIS.get(jurisdiction, {})
    return texts.get(language.split("-")[0].lower(), texts.get("*", ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class FundInfo:
    """The fund as creditor: who the beneficiary pays, and whom they call."""

    name: str
    address_lines: tuple[str, ...]  # street and number (no postcode or town)
    iban: str  # electronic form, no spaces
    creditor_name: str  # the account holder, as the bank knows it (max. 70 characters)
    phone: str
    email: str
    city: str
    postcode: str = ""
    country: str = ""  # ISO 3166 alpha-2; default: the IBAN's
    bic: str | None = None
    qr_iban: str | None = None  # Swiss QR-IBAN, used with QR references
    legal_language: str = "fr"  # the language contracts are binding in: fr, nl or de
    city_names: tuple[tuple[str, str], ...] = ()  # (language, the town's name in it)
    court: str = ""  # where the competent court sits; default: the town
    court_names: tuple[tuple[str, str], ...] = ()  # (language, its name in it)
    retention_years: int = 10  # contracts and accounts kept this long after a loan closes

    def __post_init__(self) -> None:
        for field_name in ("iban", "qr_iban"):
            value = getattr(self, field_name)
            if value is not None:
                object.__setattr__(self, field_name, re.sub(r"\s", "", value).upper())
        if not self.country:
            object.__setattr__(self, "country", self.iban[:2])
        if not self.name.strip() or not self.creditor_name.strip():
            raise ValidationError("the fund needs a name", field="fund_name")
        if self.legal_language not in LEGAL_LANGUAGES:
            raise ValidationError(
                f"{self.legal_language!r} is not a language a contract can be binding in: "
                "fr, nl or de",
                field="fund_legal_language",
            )

    def city_in(self, language: str) -> str:
        """The fund's town as ``language`` writes it (Bruxelles, Brussel, Brüssel)."""
        return dict(self.city_names).get(_primary(language), self.city)

    def court_in(self, language: str) -> str:
        """Where the competent court sits, as ``language`` writes it."""
        if not self.court:
            return self.city_in(language)
        return dict(self.court_names).get(_primary(language), self.court)

    @property
    def postal_lines(self) -> tuple[str, ...]:
        """The whole address as printed: street lines, then postcode and town."""
        town = f"{self.postcode} {self.city}".strip()
        return (*self.address_lines, town) if town else self.address_lines

    def account_for(self, reference: PaymentReference) -> str:
        """The IBAN a payment with ``reference`` goes to: a QR reference (QRR) to the QR-IBAN,
        any other reference to the ordinary IBAN. A QR-IBAN takes QR references only and a QR
        reference goes to a QR-IBAN only (Swiss implementation guidelines): either mix-up is
        refused, saying which setting to correct."""
        if reference.kind is ReferenceKind.QRR:
            if self.qr_iban is None:
                raise ValidationError(
                    "a Swiss QR reference needs the fund's QR-IBAN (FUNDLEDGER_FUND_QR_IBAN)",
                    field="qr_iban",
                )
            if not is_qr_iban(self.qr_iban):
                raise ValidationError(
                    f"{self.qr_iban} is not a QR-IBAN (its institution id is not 30000-31999), "
                    "and a Swiss QR reference is paid to a QR-IBAN only: set the QR-IBAN your "
                    "bank gave as FUNDLEDGER_FUND_QR_IBAN",
                    field="qr_iban",
                )
            return self.qr_iban
        if is_qr_iban(self.iban):
            raise ValidationError(
                f"the fund's IBAN {self.iban} is a QR-IBAN, which takes Swiss QR references only, "
                f"not this {reference.kind.value.upper()} reference: set the ordinary IBAN as "
                "FUNDLEDGER_FUND_IBAN and the QR-IBAN as FUNDLEDGER_FUND_QR_IBAN",
                field="iban",
            )
        return self.iban

    @classmethod
    def from_settings(cls, settings: Settings) -> FundInfo:
        lines = tuple(
            line.strip() for line in re.split(r"[;\n]", settings.fund_address) if line.strip()
        )
        court, court_names = settings.court_names()
        return cls(
            name=settings.fund_name,
            address_lines=lines,
            iban=settings.fund_iban,
            creditor_name=settings.fund_creditor_name or settings.fund_name[:70],
            phone=settings.fund_phone,
            email=settings.fund_email,
            city=settings.fund_city,
            postcode=settings.fund_postcode,
            country=settings.fund_country or settings.fund_iban[:2],
            bic=settings.fund_bic,
            qr_iban=settings.fund_qr_iban,
            legal_language=settings.fund_legal_language,
            city_names=tuple(settings.city_names().items()),
            court=court if settings.fund_court.strip() else "",
            court_names=tuple(court_names.items()) if settings.fund_court.strip() else (),
            retention_years=settings.fund_retention_years,
        )


def _primary(language: str) -> str:
    return re.split(r"[-_]", language, maxsplit=1)[0].lower()


@dataclass(frozen=True, slots=True)
class ContractInstallment:
    number: int
    due_date: date
    amount: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractData:
    """Everything a loan contract says, for one version of it."""

    contract_id: str  # e.g. C-L000001
    version: int
    loan_id: str
    beneficiary_name: str  # any script
    beneficiary_id: str
    language: str  # the beneficiary's preferred language (BCP 47: fr, nl-BE, ti...)
    landlord_name: str
    property_address: str
    deposit: Money  # the amount lent
    monthly_rent: Money
    jurisdiction: str  # BE-BRU, BE-WAL, BE-VLG, CH...
    legal_basis: str  # the statute, e.g. "Code bruxellois du Logement, art. 248"; may be ""
    deposit_form: DepositForm
    lease_start: date
    lease_end: date | None
    installments: tuple[ContractInstallment, ...]
    reference: PaymentReference
    fund: FundInfo
    issued_on: date  # the date printed on the contract and in the PDF's metadata
    deposit_account: str | None = None  # the IBAN the deposit is paid to (for the notices)

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValidationError("a contract version starts at 1", field="version")
        if not self.installments:
            raise ValidationError("a contract needs a repayment schedule", field="installments")
        total = sum(to_minor(i.amount) for i in self.installments)
        if any(i.amount.currency != self.deposit.currency for i in self.installments) or (
            total != to_minor(self.deposit)
        ):
            raise ValidationError(
                "the schedule does not add up to the amount lent; rebuild the schedule first",
                field="installments",
            )

    @property
    def currency(self) -> str:
        return str(self.deposit.currency.code)

    @property
    def payment_reference(self) -> str:
        """Machine form: 12 digits (Belgian structured communication), RF..., or 27 digits."""
        return self.reference.value

    @property
    def payment_reference_display(self) -> str:
        return self.reference.display

    @property
    def iban(self) -> str:
        return self.fund.account_for(self.reference)


@dataclass(frozen=True, slots=True)
class ScheduleLine:
    number: int
    due_date: date
    amount: Money
    paid: Money
    remaining: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleData:
    """A beneficiary's repayment schedule as of a date: what was due, paid and still owed.

    ``standing`` (ledger/domain/standing.py) says where the loan stands and decides what is
    told and asked; the amounts below are its figures as money. Made without one (a test's
    sample), it is read from the lines, the state and the credit."""

    loan_id: str
    beneficiary_name: str
    beneficiary_id: str
    language: str
    loan_amount: Money
    lines: tuple[ScheduleLine, ...]
    paid: Money
    outstanding: Money  # still owed: nothing before the payout, after a write-off or repaid
    overdue: Money  # the part of it that fell due on or before as_of
    credit: Money  # paid beyond what was owed, owed back to the person
    next_due_date: date | None
    next_amount_due: Money  # overdue + the next installment; zero when nothing is to be paid
    reference: PaymentReference
    fund: FundInfo
    as_of: date
    status: LoanStatus
    standing: LoanStanding = None  # type: ignore[assignment]  # filled in by __post_init__

    def __post_init__(self) -> None:
        if self.standing is None:
            object.__setattr__(
                self,
                "standing",
                loan_standing(
                    self.status,
                    self.as_of,
                    [
                        _Paid(x.number, x.due_date, to_minor(x.amount), to_minor(x.paid))
                        for x in self.lines
                    ],
                    credit=to_minor(self.credit),
                ),
            )

    @property
    def currency(self) -> str:
        return str(self.loan_amount.currency.code)

    def money(self, minor: int) -> Money:
        """An amount of the standing (minor units) in the loan's currency."""
        return from_minor(minor, self.currency)

    @property
    def payment_reference(self) -> str:
        return self.reference.value

    @property
    def payment_reference_display(self) -> str:
        return self.reference.display

    @property
    def iban(self) -> str:
        return self.fund.account_for(self.reference)


@dataclass(frozen=True, slots=True)
class _Paid:
    number: int
    due_date: date
    amount: int
    paid: int


def _lease_text(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise ValidationError(
            f"the lease has no {what}: record it before producing the contract", field="lease"
        )
    return value.strip()


def contract_data(
    view: LoanFigures, person: PersonalData, lease: Lease | None, fund: FundInfo, version: int
) -> ContractData:
    """The contract for a loan as ``view`` shows it (its schedule in force on ``view.as_of``).

    A lease without its landlord or address (or no lease: a role that may not read it) is a
    ``ValidationError``: a contract must say what the deposit is for.
    """
    if lease is None:
        raise ValidationError("the loan's lease is needed to produce the contract", "lease")
    loan = view.loan
    terms = loan.terms
    code = loan.currency
    return ContractData(
        contract_id=f"C-{loan.id}",
        version=version,
        loan_id=loan.id,
        beneficiary_name=person.full_name,
        beneficiary_id=loan.beneficiary_id,
        language=person.preferred_language,
        landlord_name=_lease_text(lease.landlord_name, "landlord name"),
        property_address=_lease_text(lease.property_address, "property address"),
        deposit=terms.deposit,
        monthly_rent=terms.monthly_rent,
        jurisdiction=terms.jurisdiction,
        legal_basis=legal_basis(terms.jurisdiction, person.preferred_language),
        deposit_form=terms.deposit_form,
        lease_start=terms.lease_start,
        lease_end=terms.lease_end,
        installments=tuple(
            ContractInstallment(i.number, i.due_date, from_minor(i.amount, code))
            for i in view.installments
        ),
        reference=loan.reference,
        fund=fund,
        issued_on=view.as_of,
        deposit_account=lease.landlord_iban,
    )


def schedule_data(view: LoanFigures, person: PersonalData, fund: FundInfo) -> ScheduleData:
    """The beneficiary's schedule as of ``view.as_of``, as the loan's standing tells it.

    Before the payout nothing is owed yet: the schedule is shown in full as what will be owed,
    and nothing is asked. Once written off, closed or overpaid, nothing is asked for either (no
    amount, no QR code): only a loan being repaid asks for a payment.
    """
    loan = view.loan
    code = loan.currency
    s = view.standing
    return ScheduleData(
        loan_id=loan.id,
        beneficiary_name=person.full_name,
        beneficiary_id=loan.beneficiary_id,
        language=person.preferred_language,
        loan_amount=loan.terms.deposit,
        lines=tuple(
            ScheduleLine(
                i.number,
                i.due_date,
                from_minor(i.amount, code),
                from_minor(i.paid, code),
                from_minor(i.remaining, code),
            )
            for i in view.installments
        ),
        paid=from_minor(s.paid, code),
        outstanding=from_minor(s.outstanding, code),
        overdue=from_minor(s.overdue, code),
        credit=from_minor(s.credit, code),
        next_due_date=s.next_due_date if s.asks_payment else None,
        next_amount_due=from_minor(s.next_amount if s.asks_payment else 0, code),
        reference=loan.reference,
        fund=fund,
        as_of=view.as_of,
        status=loan.status,
        standing=s,
    )
