"""Request and response bodies of the loan endpoints.

Money follows ``schemas``: decimal strings checked against the body's ``currency`` (declared
first, so that the amounts' checks can see it), never JSON numbers. Personal data (a person's
fields, the landlord and the address, the facts behind an eligibility decision and the rule
reasons that quote them) is sent only where the service handed it over, or to a role that may
see it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from ledger.api.schemas import (
    Amount,
    CurrencyCode,
    EntryOut,
    IsoDate,
    RequestModel,
    checked_amount,
)
from ledger.domain.beneficiaries import Beneficiary, PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.errors import ValidationError
from ledger.domain.loans import (
    DepositForm,
    Lease,
    Loan,
    LoanEvent,
    LoanTerms,
    StoredDecision,
    WriteOff,
)
from ledger.domain.money import Money, money, to_minor
from ledger.domain.references import ReferenceKind
from ledger.domain.repayment import AgingBucket
from ledger.domain.schedule import MAX_INSTALLMENTS, Schedule
from ledger.domain.standing import Figure, LoanStanding, Standing
from ledger.domain.statuses import LoanStatus
from ledger.services.loans import (
    MAX_REASON,
    ArrearsList,
    LoanView,
    MoneyResult,
    Portfolio,
    ReleaseResult,
)
from ledger.services.money_json import MoneyOut

MAX_ID_LENGTH = 32

Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON, examples=["bounced"])]
Count = Annotated[int, Field(strict=True, ge=1, le=MAX_INSTALLMENTS)]
DueDay = Annotated[int, Field(strict=True, ge=1, le=31)]


def _opt_money(value: str | None, code: str) -> Money | None:
    return money(value, code) if value is not None else None


# -- requests -------------------------------------------------------------------------------


class PersonIn(RequestModel):
    """A beneficiary's personal data; amounts in ``currency``, the fund's currency."""

    currency: CurrencyCode
    full_name: Annotated[str, Field(min_length=1, max_length=200)]
    preferred_language: Annotated[str, Field(min_length=2, max_length=12)] = "fr"
    email: Annotated[str, Field(max_length=254)] | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    residence_status: Annotated[str, Field(max_length=64)] | None = None
    permit_end_date: IsoDate | None = None
    monthly_net_income: Amount | None = None
    household_size: Annotated[int, Field(strict=True, ge=1, le=30)] | None = None
    own_savings: Amount | None = None
    iban: Annotated[str, Field(max_length=42)] | None = Field(
        default=None, description="where a refund of the person's credit is paid"
    )

    @field_validator("monthly_net_income", "own_savings")
    @classmethod
    def _check_amount(cls, value: str | None, info: ValidationInfo) -> str | None:
        return (
            None if value is None else checked_amount(value, info.data.get("currency"), zero=None)
        )

    def to_data(self) -> PersonalData:
        return PersonalData(
            full_name=self.full_name,
            preferred_language=self.preferred_language,
            email=self.email,
            phone=self.phone,
            residence_status=self.residence_status,
            permit_end_date=self.permit_end_date,
            monthly_net_income=_opt_money(self.monthly_net_income, self.currency),
            household_size=self.household_size,
            own_savings=_opt_money(self.own_savings, self.currency),
            iban=self.iban,
        )


class TermsIn(RequestModel):
    """A loan application: the deposit, the lease and how it is repaid."""

    currency: CurrencyCode
    deposit: Amount
    monthly_rent: Amount
    jurisdiction: Annotated[str, Field(min_length=2, max_length=16, examples=["BE-BRU"])]
    deposit_form: DepositForm
    landlord: Annotated[str, Field(max_length=200)] | None = None
    address: Annotated[str, Field(max_length=500)] | None = None
    landlord_iban: Annotated[str, Field(max_length=42)] | None = Field(
        default=None, description="where the deposit is paid (a payment file needs it)"
    )
    lease_start: IsoDate
    lease_end: IsoDate | None = Field(default=None, description="null: an open-ended lease")
    first_due_date: IsoDate
    installments: Count | None = Field(default=None, description="or monthly_amount")
    monthly_amount: Amount | None = Field(default=None, description="or installments")
    due_day: DueDay | None = Field(
        default=None, description="default: the first due date's day (month end stays month end)"
    )
    whole_units: StrictBool = False
    public_alternatives: PublicAlternatives = PublicAlternatives.NOT_TRIED

    @field_validator("deposit", "monthly_rent", "monthly_amount")
    @classmethod
    def _check_amount(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else checked_amount(value, info.data.get("currency"))

    def to_terms(self) -> LoanTerms:
        return LoanTerms(
            deposit=money(self.deposit, self.currency),
            monthly_rent=money(self.monthly_rent, self.currency),
            jurisdiction=self.jurisdiction,
            deposit_form=self.deposit_form,
            lease_start=self.lease_start,
            lease_end=self.lease_end,
            first_due_date=self.first_due_date,
            installments=self.installments,
            monthly_amount=_opt_money(self.monthly_amount, self.currency),
            due_day=self.due_day,
            whole_units=self.whole_units,
            public_alternatives=self.public_alternatives,
        )

    def to_lease(self) -> Lease:
        return Lease(self.landlord, self.address, self.landlord_iban)


class LoanIn(TermsIn):
    beneficiary_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]


class ReasonIn(RequestModel):
    reason: Reason


class SubmitIn(RequestModel):
    exception_request: str | None = Field(
        default=None,
        max_length=1000,
        description="why the fund should lend although a rule is not met, for the supervisor "
        "who may override the decision; kept as the reason of the submission",
    )


class OnIn(RequestModel):
    on: IsoDate = Field(description="booking date, YYYY-MM-DD")


class OnReasonIn(OnIn):
    reason: Reason


class PaymentIn(RequestModel):
    currency: CurrencyCode
    amount: Amount
    on: IsoDate = Field(description="the day the money arrived, YYYY-MM-DD")
    # Not part of the API (hidden from its schema): named only to say what to do instead.
    statement_line_id: SkipJsonSchema[None] = None

    @field_validator("amount")
    @classmethod
    def _check_amount(cls, value: str, info: ValidationInfo) -> str:
        return checked_amount(value, info.data.get("currency"))

    @field_validator("statement_line_id", mode="before")
    @classmethod
    def _no_statement_line(cls, _value: object) -> None:
        # A payment naming a bank line was booked unchecked: the line could be another
        # amount, a debit, or booked already, and stayed unmatched. Matching checks all that.
        raise ValueError(
            "a payment cannot name a bank statement line; to book an imported line as this "
            "loan's repayment use POST /api/statements/lines/{line_id}/match (it checks that "
            "the line is a credit of that amount and currency, booked nowhere else)"
        )

    def to_money(self) -> Money:
        return money(self.amount, self.currency)


class ReleaseIn(RequestModel):
    currency: CurrencyCode
    on: IsoDate
    returned: Amount = Field(description="what came back to the fund; may be zero")
    kept: Amount = Field(
        default="0", validate_default=True, description="what the landlord kept; may be zero"
    )
    kept_reason: Reason | None = Field(default=None, description="required when kept is not zero")

    @field_validator("returned", "kept")
    @classmethod
    def _check_amount(cls, value: str, info: ValidationInfo) -> str:
        return checked_amount(value, info.data.get("currency"), zero=None)

    def returned_money(self) -> Money:
        return money(self.returned, self.currency)

    def kept_money(self) -> Money:
        return money(self.kept, self.currency)


class HolidayIn(RequestModel):
    month: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-08"])]
    reason: Reason


class RescheduleIn(RequestModel):
    first_due_date: IsoDate
    installments: Count | None = Field(default=None, description="or monthly_amount")
    currency: CurrencyCode | None = Field(default=None, description="with monthly_amount")
    monthly_amount: Amount | None = Field(default=None, description="or installments")
    whole_units: StrictBool = False
    reason: Reason

    @field_validator("monthly_amount")
    @classmethod
    def _check_amount(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else checked_amount(value, info.data.get("currency"))

    def to_monthly(self) -> Money | None:
        if self.monthly_amount is None:
            return None
        if self.currency is None:
            raise ValidationError("give the currency of the monthly amount", "currency")
        return money(self.monthly_amount, self.currency)


# -- responses ------------------------------------------------------------------------------


class PersonalOut(BaseModel):
    full_name: str
    preferred_language: str
    email: str | None
    phone: str | None
    residence_status: str | None
    permit_end_date: date | None
    monthly_net_income: MoneyOut | None
    household_size: int | None
    own_savings: MoneyOut | None
    iban: str | None

    @classmethod
    def of(cls, data: PersonalData) -> PersonalOut:
        def out(value: Money | None) -> MoneyOut | None:
            return MoneyOut.of(to_minor(value), value.currency.code) if value is not None else None

        return cls(
            full_name=data.full_name,
            preferred_language=data.preferred_language,
            email=data.email,
            phone=data.phone,
            residence_status=data.residence_status,
            permit_end_date=data.permit_end_date,
            monthly_net_income=out(data.monthly_net_income),
            household_size=data.household_size,
            own_savings=out(data.own_savings),
            iban=data.iban,
        )


class BeneficiaryOut(BaseModel):
    id: str = Field(description="opaque: says nothing about the person", examples=["BK3M9T2QX7ZPA"])
    currency: str
    erased: bool
    personal: PersonalOut | None = Field(
        description="only for caseworkers and admins (each read is audited); null once erased"
    )

    @classmethod
    def of(cls, person: Beneficiary) -> BeneficiaryOut:
        return cls(
            id=person.id,
            currency=person.currency,
            erased=person.erased,
            personal=PersonalOut.of(person.personal) if person.personal else None,
        )


class ReferenceOut(BaseModel):
    kind: ReferenceKind
    value: str = Field(description="machine form")
    display: str = Field(
        description="as the beneficiary writes it on the transfer",
        examples=["+++000/0000/00101+++"],
    )


class LoanOut(BaseModel):
    id: str
    number: int
    beneficiary_id: str
    status: LoanStatus
    currency: str
    deposit: MoneyOut
    monthly_rent: MoneyOut
    jurisdiction: str
    deposit_form: DepositForm
    lease_start: date
    lease_end: date | None
    first_due_date: date
    installments: int | None
    monthly_amount: MoneyOut | None
    due_day: int | None
    whole_units: bool
    public_alternatives: PublicAlternatives
    reference: ReferenceOut
    created_by: str
    submitted_by: str | None
    approved_by: str | None
    disbursement_entry_id: int | None
    written_off: bool

    @staticmethod
    def fields_of(loan: Loan) -> dict[str, Any]:
        t, cur = loan.terms, loan.currency
        return {
            "id": loan.id,
            "number": loan.number,
            "beneficiary_id": loan.beneficiary_id,
            "status": loan.status,
            "currency": cur,
            "deposit": MoneyOut.of(to_minor(t.deposit), cur),
            "monthly_rent": MoneyOut.of(to_minor(t.monthly_rent), cur),
            "jurisdiction": t.jurisdiction,
            "deposit_form": t.deposit_form,
            "lease_start": t.lease_start,
            "lease_end": t.lease_end,
            "first_due_date": t.first_due_date,
            "installments": t.installments,
            "monthly_amount": MoneyOut.of(to_minor(t.monthly_amount), cur)
            if t.monthly_amount is not None
            else None,
            "due_day": t.due_day,
            "whole_units": t.whole_units,
            "public_alternatives": t.public_alternatives,
            "reference": ReferenceOut(
                kind=loan.reference.kind, value=loan.reference.value, display=loan.reference.display
            ),
            "created_by": loan.created_by,
            "submitted_by": loan.submitted_by,
            "approved_by": loan.approved_by,
            "disbursement_entry_id": loan.disbursement_entry_id,
            "written_off": loan.written_off,
        }

    @classmethod
    def of(cls, loan: Loan) -> LoanOut:
        return cls(**cls.fields_of(loan))


class InstallmentOut(BaseModel):
    number: int
    due_date: date
    amount: MoneyOut
    paid: MoneyOut
    remaining: MoneyOut


class ArrearsOut(BaseModel):
    overdue: MoneyOut = Field(description="the part of the outstanding that fell due by as_of")
    days_past_due: int = Field(description="as_of minus the due date of the oldest unpaid one")
    bucket: AgingBucket
    oldest_unpaid_due: date | None


class FigureOut(BaseModel):
    figure: Figure = Field(description="which amount: loan, paid, outstanding, overdue, next...")
    amount: MoneyOut
    on: date | None = Field(description="its day, when it has one (the next payment's due date)")


class StandingOut(BaseModel):
    """Where the loan stands for its beneficiary as of the day: what their page, their
    schedule PDF and ``fundledger loan show`` tell (ledger/domain/standing.py)."""

    standing: Standing
    asks_payment: bool = Field(description="whether the person is asked to pay anything now")
    figures: list[FigureOut] = Field(description="the amounts the person is shown, in order")
    written_off: MoneyOut = Field(description="what was unpaid when written off (else zero)")
    written_off_on: date | None
    recovered: MoneyOut = Field(description="received after the write-off, by as_of")
    next_due_date: date | None = Field(
        description="the next payment's day (before the payout: the first installment's); "
        "null when nothing more falls due"
    )
    next_amount: MoneyOut = Field(
        description="what to pay by next_due_date: what is late plus the next installment "
        "(before the payout: the first installment)"
    )

    @classmethod
    def of(cls, s: LoanStanding, currency: str) -> StandingOut:
        return cls(
            standing=s.standing,
            asks_payment=s.asks_payment,
            next_due_date=s.next_due_date,
            next_amount=MoneyOut.of(s.next_amount, currency),
            figures=[
                FigureOut(figure=f, amount=MoneyOut.of(minor, currency), on=on)
                for f, minor, on in s.figures()
            ],
            written_off=MoneyOut.of(s.written_off, currency),
            written_off_on=s.written_off_on,
            recovered=MoneyOut.of(s.recovered, currency),
        )


class PaymentOut(BaseModel):
    entry_id: int
    on: date
    amount: MoneyOut
    kind: str = Field(examples=["repayment", "deposit_release", "recovery"])
    reversed: bool


class EventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: str
    to_status: str
    reason: str | None
    entry_id: int | None

    @classmethod
    def of(cls, event: LoanEvent) -> EventOut:
        return cls.model_validate(event, from_attributes=True)


class RuleOut(BaseModel):
    rule: str
    outcome: str = Field(examples=["pass", "review", "fail"])
    reason: str | None = Field(
        description="null for roles that may not see personal data when it quotes the person's "
        "savings, income or permit"
    )


class DecisionOut(BaseModel):
    id: int
    at: datetime
    actor: str
    outcome: str = Field(examples=["pass", "review", "fail"])
    accepted: bool = Field(description="passed, or overridden by a supervisor")
    rules_version: str
    rules_fingerprint: str
    results: list[RuleOut]
    override_by: str | None
    override_reason: str | None
    facts: dict[str, Any] | None = Field(
        description="the inputs the rules saw; only for caseworkers and admins"
    )

    @classmethod
    def of(cls, decision: StoredDecision) -> DecisionOut:
        """As the service handed it over: without personal data for roles that may not see
        it (``services.loans`` withholds the facts and the reasons that quote them)."""
        return cls(
            id=decision.id,
            at=decision.at,
            actor=decision.actor,
            outcome=decision.outcome,
            accepted=decision.accepted,
            rules_version=decision.rules_version,
            rules_fingerprint=decision.rules_fingerprint,
            results=[
                RuleOut(
                    rule=r["rule"],
                    outcome=r["outcome"],
                    reason=r["reason"],
                )
                for r in decision.results
            ],
            override_by=decision.override_by,
            override_reason=decision.override_reason,
            facts=decision.facts,
        )


class WriteOffOut(BaseModel):
    id: int
    loan_id: str
    proposed_by: str
    reason: str
    status: str = Field(examples=["proposed", "approved", "rejected"])
    decided_by: str | None
    entry_id: int | None

    @classmethod
    def of(cls, write_off: WriteOff) -> WriteOffOut:
        return cls.model_validate(write_off, from_attributes=True)


class LeaseOut(BaseModel):
    landlord: str | None
    address: str | None
    landlord_iban: str | None


class LoanDetailOut(LoanOut):
    """A loan as of a day: its schedule with what is paid, arrears and history."""

    as_of: date
    schedule_version: int
    schedule: list[InstallmentOut]
    outstanding: MoneyOut = Field(description="still owed on the schedule (zero once written off)")
    credit: MoneyOut = Field(description="paid beyond everything owed, owed back to the person")
    arrears: ArrearsOut
    standing: StandingOut
    payments: list[PaymentOut] = Field(description="every payment, reversed ones included")
    events: list[EventOut]
    eligibility: DecisionOut | None
    pending_write_off: WriteOffOut | None
    lease: LeaseOut | None = Field(description="only for caseworkers and admins")

    @classmethod
    def of_view(cls, view: LoanView) -> LoanDetailOut:
        cur = view.loan.currency
        return cls(
            **LoanOut.fields_of(view.loan),
            as_of=view.as_of,
            schedule_version=view.schedule_version,
            schedule=[
                InstallmentOut(
                    number=i.number,
                    due_date=i.due_date,
                    amount=MoneyOut.of(i.amount, cur),
                    paid=MoneyOut.of(i.paid, cur),
                    remaining=MoneyOut.of(i.remaining, cur),
                )
                for i in view.installments
            ],
            outstanding=MoneyOut.of(view.outstanding, cur),
            credit=MoneyOut.of(view.credit, cur),
            arrears=ArrearsOut(
                overdue=MoneyOut.of(view.arrears.overdue, cur),
                days_past_due=view.arrears.days_past_due,
                bucket=view.arrears.bucket,
                oldest_unpaid_due=view.arrears.oldest_unpaid_due,
            ),
            standing=StandingOut.of(view.standing, cur),
            payments=[
                PaymentOut(
                    entry_id=entry, on=on, amount=MoneyOut.of(minor, cur), kind=kind, reversed=rev
                )
                for entry, on, minor, kind, rev in view.payments
            ],
            events=[EventOut.of(e) for e in view.events],
            eligibility=DecisionOut.of(view.decision) if view.decision else None,
            pending_write_off=WriteOffOut.of(view.pending_write_off)
            if view.pending_write_off
            else None,
            lease=LeaseOut(
                landlord=view.lease.landlord_name,
                address=view.lease.property_address,
                landlord_iban=view.lease.landlord_iban,
            )
            if view.lease is not None
            else None,
        )


class DueOut(BaseModel):
    number: int
    due_date: date
    amount: MoneyOut


class ScheduleOut(BaseModel):
    loan_id: str
    installments: list[DueOut]

    @classmethod
    def of(cls, loan_id: str, schedule: Schedule) -> ScheduleOut:
        return cls(
            loan_id=loan_id,
            installments=[
                DueOut(
                    number=i.number,
                    due_date=i.due_date,
                    amount=MoneyOut.of(i.minor, i.amount.currency.code),
                )
                for i in schedule.installments
            ],
        )


class LoanMoneyOut(BaseModel):
    """A money command's result: the loan afterwards and the entry it posted."""

    loan: LoanOut
    entry: EntryOut

    @classmethod
    def of(cls, result: MoneyResult) -> LoanMoneyOut:
        return cls(loan=LoanOut.of(result.loan), entry=EntryOut.of(result.entry))


class ReleaseOut(BaseModel):
    loan: LoanOut
    entry: EntryOut | None = Field(description="null when nothing came back to the fund")
    still_owed: MoneyOut

    @classmethod
    def of(cls, result: ReleaseResult) -> ReleaseOut:
        return cls(
            loan=LoanOut.of(result.loan),
            entry=EntryOut.of(result.entry) if result.entry else None,
            still_owed=MoneyOut.of(result.still_owed, result.loan.currency),
        )


class BucketOut(BaseModel):
    bucket: AgingBucket
    loans: int
    outstanding: MoneyOut


class PortfolioOut(BaseModel):
    as_of: date
    currency: str
    loans: int = Field(description="loans with something outstanding")
    outstanding: MoneyOut
    buckets: list[BucketOut] = Field(description="current, 1-30, ..., >360 days past due")
    par30: MoneyOut = Field(description="outstanding of loans more than 30 days late")
    par30_percent: str = Field(description="PAR30 / outstanding, in percent", examples=["12.50"])

    @classmethod
    def of(cls, p: Portfolio) -> PortfolioOut:
        cur = p.currency
        return cls(
            as_of=p.as_of,
            currency=cur,
            loans=p.loans,
            outstanding=MoneyOut.of(p.outstanding, cur),
            buckets=[
                BucketOut(bucket=AgingBucket(name), loans=n, outstanding=MoneyOut.of(minor, cur))
                for name, (n, minor) in p.buckets.items()
            ],
            par30=MoneyOut.of(p.par30, cur),
            par30_percent=p.par30_ratio,
        )


class ArrearsLineOut(BaseModel):
    loan_id: str
    loan_number: int
    caseworker: str = Field(description="user name of the staff member who opened the loan")
    days_past_due: int
    bucket: AgingBucket
    late_since: date = Field(description="due date of the oldest unpaid installment")
    overdue: MoneyOut = Field(description="fell due by the day and is unpaid")
    outstanding: MoneyOut = Field(description="all that is still owed")


class ArrearsListOut(BaseModel):
    as_of: date
    currency: str
    bucket: AgingBucket | None
    caseworker: str | None
    total: int = Field(description="loans in arrears that match, on every page")
    limit: int
    offset: int
    loans: list[ArrearsLineOut] = Field(description="the longest late first, then by loan id")

    @classmethod
    def of(cls, page: ArrearsList) -> ArrearsListOut:
        cur = page.currency
        return cls(
            as_of=page.as_of,
            currency=cur,
            bucket=page.bucket,
            caseworker=page.caseworker,
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            loans=[
                ArrearsLineOut(
                    loan_id=line.loan_id,
                    loan_number=line.loan_number,
                    caseworker=line.caseworker,
                    days_past_due=line.days_past_due,
                    bucket=line.bucket,
                    late_since=line.late_since,
                    overdue=MoneyOut.of(line.overdue_minor, cur),
                    outstanding=MoneyOut.of(line.outstanding_minor, cur),
                )
                for line in page.lines
            ],
        )
