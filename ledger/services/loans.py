"""Loans from application to closure. Every money movement is posted through the journal.

The ledger is kept equal to the schedules at all times: after each money event the loan's
sub-account holds exactly what the schedule says is outstanding and the beneficiary-credit
account exactly what was paid beyond it ("settling"). When a backdated or reversed payment
changes that split, a reallocation entry moves the difference; nothing is ever edited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger.domain.accounts import AccountRole, AccountSpec, AccountType
from ledger.domain.beneficiaries import Beneficiary, PersonalData, new_beneficiary_id
from ledger.domain.eligibility import PERSONAL_RULES, ApplicationFacts, EligibilityRules, decide
from ledger.domain.errors import (
    Conflict,
    IdempotencyConflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from ledger.domain.journal import (
    Entry,
    EntryDraft,
    EntryKind,
    Leg,
    month_of,
    parse_month,
    reversal_of,
)
from ledger.domain.loans import (
    DISBURSED,
    Loan,
    LoanAction,
    LoanStatus,
    LoanTerms,
    derived_status,
    loan_id_for,
    next_status,
)
from ledger.domain.money import Money, from_minor, to_minor
from ledger.domain.money import currency as currency_of
from ledger.domain.references import ReferenceKind, reference_for
from ledger.domain.repayment import Allocation, Arrears, PaymentEvent, allocate, arrears, bucket
from ledger.domain.roles import Actor, Permission
from ledger.domain.schedule import (
    MONTH_END,
    Installment,
    Schedule,
    build_schedule,
    due_day_of,
    is_month_end,
    skip_month,
)
from ledger.services.journal import Posted, post_in, replay
from ledger.store.loan_repository import Lease, LoanEvent, StoredDecision, WriteOff
from ledger.store.uow import UnitOfWork

OPEN_STATUSES = frozenset(
    {
        LoanStatus.DRAFT,
        LoanStatus.SUBMITTED,
        LoanStatus.APPROVED,
        LoanStatus.CONTRACT_SIGNED,
        LoanStatus.ACTIVE,
        LoanStatus.OVERPAID,
    }
)
MAX_REASON = 1000
_PENDING = 2**62  # sorts a payment being recorded after every posted one of the same day


@dataclass(frozen=True, slots=True)
class LoanPolicy:
    """A fund's lending settings."""

    rules: EligibilityRules = field(default_factory=EligibilityRules)
    reference_kind: ReferenceKind | None = None  # None: OGM for EUR, RF for other currencies
    qrr_prefix: str = ""

    def kind_for(self, currency: str) -> ReferenceKind:
        if self.reference_kind is not None:
            return self.reference_kind
        return ReferenceKind.OGM if currency == "EUR" else ReferenceKind.RF


def _reason(reason: str | None, *, required: bool = True) -> str | None:
    if reason is None or not reason.strip():
        if required:
            raise ValidationError("a written reason is required", "reason")
        return None
    if len(reason) > MAX_REASON:
        raise ValidationError(f"the reason is longer than {MAX_REASON} characters", "reason")
    return reason.strip()


def _transition(
    uow: UnitOfWork,
    actor: Actor,
    loan: Loan,
    action: LoanAction,
    target: LoanStatus,
    *,
    reason: str | None = None,
    entry_id: int | None = None,
    **values: Any,
) -> Loan:
    saved = uow.loans.save(loan, status=target.value, **values)
    uow.loans.add_event(
        loan.id,
        at=uow.now(),
        actor=actor.name,
        action=action.value,
        from_status=loan.status,
        to_status=target,
        reason=reason,
        entry_id=entry_id,
    )
    uow.audit.record(
        at=uow.now(),
        actor=actor.name,
        action=f"loan_{action.value}",
        target=f"loan:{loan.id}",
        details={"from": loan.status.value, "to": target.value},
    )
    return saved


# -- beneficiaries ---------------------------------------------------------------------------


def _check_amounts(data: PersonalData, code: str, who: str) -> None:
    """A person's amounts are kept in minor units of their fund's currency: another currency
    would be read back as a different amount (1,000 JPY as 10.00 EUR)."""
    for name in ("monthly_net_income", "own_savings"):
        amount = getattr(data, name)
        if amount is not None and amount.currency.code != code:
            raise ValidationError(f"{who}'s amounts are in {code}", name)


def register_beneficiary(
    uow: UnitOfWork, actor: Actor, currency: str, data: PersonalData
) -> Beneficiary:
    actor.require(Permission.PERSONAL_WRITE)
    currency_of(currency)
    _check_amounts(data, currency, "the beneficiary")
    bid = new_beneficiary_id()
    with uow:
        uow.beneficiaries.add(bid, currency, data, actor=actor.name, now=uow.now())
        uow.audit.record(
            at=uow.now(), actor=actor.name, action="register_beneficiary", target=f"person:{bid}"
        )
        uow.commit()
    return Beneficiary(bid, currency, data, erased=False)


def read_beneficiary(uow: UnitOfWork, actor: Actor, bid: str) -> Beneficiary:
    """Personal fields for caseworkers and admins (each read audited); the bare id for others."""
    actor.require(Permission.LOANS_READ)
    with uow:
        person = uow.beneficiaries.get(bid)
        if not actor.can(Permission.PERSONAL_READ):
            return Beneficiary(person.id, person.currency, None, person.erased)
        uow.audit.record(
            at=uow.now(), actor=actor.name, action="read_personal_data", target=f"person:{bid}"
        )
        uow.commit()
    return person


def update_beneficiary(uow: UnitOfWork, actor: Actor, bid: str, data: PersonalData) -> None:
    actor.require(Permission.PERSONAL_WRITE)
    with uow:
        person = uow.beneficiaries.get(bid)
        if person.erased:
            raise Conflict(f"the personal data of {bid} was erased", "beneficiary_id")
        _check_amounts(data, person.currency, bid)
        uow.beneficiaries.update(bid, data)
        uow.audit.record(
            at=uow.now(), actor=actor.name, action="update_beneficiary", target=f"person:{bid}"
        )
        uow.commit()


def erase_beneficiary(uow: UnitOfWork, actor: Actor, bid: str) -> None:
    """Erase a person's data on request, once no loan of theirs is open. The ledger keeps
    only the opaque id, so it still verifies afterwards."""
    actor.require(Permission.PERSONAL_WRITE)
    with uow:
        person = uow.beneficiaries.get(bid)
        if person.erased:
            raise Conflict(f"the personal data of {bid} is already erased", "beneficiary_id")
        open_loans = [ln.id for ln in uow.loans.of_beneficiary(bid) if ln.status in OPEN_STATUSES]
        if open_loans:
            raise Conflict(
                f"{bid} still has open loans ({', '.join(open_loans)}); erase once they are "
                "closed, withdrawn, rejected or written off",
                "beneficiary_id",
            )
        uow.beneficiaries.erase(bid, actor=actor.name, now=uow.now())
        uow.audit.record(
            at=uow.now(), actor=actor.name, action="erase_beneficiary", target=f"person:{bid}"
        )
        uow.commit()


# -- applications ----------------------------------------------------------------------------


def _schedule_for(terms: LoanTerms, rules: EligibilityRules) -> Schedule:
    return build_schedule(
        terms.deposit,
        first_due=terms.first_due_date,
        count=terms.installments,
        monthly_amount=terms.monthly_amount,
        due_day=terms.due_day,
        whole_units=terms.whole_units,
    )


def _check_lease(terms: LoanTerms, schedule: Schedule) -> None:
    if terms.lease_end is not None and schedule.maturity > terms.lease_end:
        raise ValidationError(
            f"the last installment would fall due on {schedule.maturity}, after the lease ends "
            f"on {terms.lease_end}; choose fewer installments",
            "installments",
        )


def open_application(
    uow: UnitOfWork,
    actor: Actor,
    beneficiary_id: str,
    terms: LoanTerms,
    lease: Lease,
    policy: LoanPolicy,
) -> Loan:
    actor.require(Permission.LOANS_APPLY)
    _check_lease_texts(lease)
    schedule = _schedule_for(terms, policy.rules)
    _check_lease(terms, schedule)
    with uow:
        uow.journal.lock_head()  # loan numbers are handed out one at a time
        person = uow.beneficiaries.get(beneficiary_id)
        if person.erased:
            raise Conflict(f"the personal data of {beneficiary_id} was erased", "beneficiary_id")
        if person.currency != terms.currency:
            raise ValidationError(
                f"the fund lends in {person.currency}, not {terms.currency}", "deposit"
            )
        number = uow.loans.next_number()
        loan = Loan(
            id=loan_id_for(number),
            number=number,
            beneficiary_id=beneficiary_id,
            status=LoanStatus.DRAFT,
            terms=terms,
            reference=reference_for(policy.kind_for(terms.currency), number, policy.qrr_prefix),
            account_id=None,
            created_by=actor.name,
            submitted_by=None,
            approved_by=None,
            disbursement_entry_id=None,
            written_off=False,
            version=1,
        )
        uow.loans.add_loan(loan, lease, now=uow.now())
        uow.loans.add_schedule(
            loan.id, schedule, reason="application", actor=actor.name, now=uow.now()
        )
        uow.loans.add_event(
            loan.id,
            at=uow.now(),
            actor=actor.name,
            action="open",
            from_status=LoanStatus.DRAFT,
            to_status=LoanStatus.DRAFT,
        )
        uow.audit.record(
            at=uow.now(), actor=actor.name, action="loan_open", target=f"loan:{loan.id}"
        )
        uow.commit()
    return loan


def _check_lease_texts(lease: Lease) -> None:
    if lease.landlord_name is not None and len(lease.landlord_name) > 200:
        raise ValidationError("the landlord's name is longer than 200 characters", "landlord")
    if lease.property_address is not None and len(lease.property_address) > 500:
        raise ValidationError("the address is longer than 500 characters", "address")


def amend_application(
    uow: UnitOfWork, actor: Actor, loan_id: str, terms: LoanTerms, lease: Lease, policy: LoanPolicy
) -> Loan:
    """Change a draft's terms; a new schedule version replaces the old one (kept as history)."""
    actor.require(Permission.LOANS_APPLY)
    _check_lease_texts(lease)
    schedule = _schedule_for(terms, policy.rules)
    _check_lease(terms, schedule)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        if loan.status is not LoanStatus.DRAFT:
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}; only a draft can be changed", "status"
            )
        if terms.currency != loan.currency:
            raise ValidationError(f"the loan is in {loan.currency}", "deposit")
        loan = uow.loans.update_terms(loan, terms)
        uow.loans.update_lease(loan_id, lease)
        uow.loans.add_schedule(
            loan_id, schedule, reason="application amended", actor=actor.name, now=uow.now()
        )
        loan = _void_contract(uow, actor, loan, "application amended")
        uow.audit.record(
            at=uow.now(), actor=actor.name, action="loan_amend", target=f"loan:{loan_id}"
        )
        uow.commit()
    return loan


def _facts(uow: UnitOfWork, loan: Loan, schedule: Schedule) -> ApplicationFacts:
    person = uow.beneficiaries.get(loan.beneficiary_id)
    if person.personal is None:
        raise Conflict("the beneficiary's personal data was erased", "beneficiary_id")
    p = person.personal
    others = [ln for ln in uow.loans.of_beneficiary(loan.beneficiary_id) if ln.id != loan.id]
    cur = loan.currency
    bank = uow.accounts.by_role(AccountRole.BANK, cur)
    committed = uow.loans.committed_minor(
        cur, (LoanStatus.APPROVED, LoanStatus.CONTRACT_SIGNED), exclude=loan.id
    )
    return ApplicationFacts(
        deposit=loan.terms.deposit,
        monthly_rent=loan.terms.monthly_rent,
        jurisdiction=loan.terms.jurisdiction,
        lease_start=loan.terms.lease_start,
        lease_end=loan.terms.lease_end,
        installments=len(schedule.installments),
        installment=schedule.installments[0].amount,
        monthly_net_income=p.monthly_net_income,
        own_savings=p.own_savings,
        permit_end=p.permit_end_date,
        has_permit_status=p.residence_status is not None,
        other_open_loans=sum(1 for ln in others if ln.status in OPEN_STATUSES),
        past_write_offs=sum(1 for ln in others if ln.written_off),
        public_alternatives=loan.terms.public_alternatives,
        available_cash=from_minor(bank.balance_minor - committed, cur),
        decision_date=uow.today(),
    )


def _decide(uow: UnitOfWork, actor: Actor, loan: Loan, policy: LoanPolicy) -> StoredDecision:
    _, schedule = uow.loans.schedule(loan.id)
    facts = _facts(uow, loan, schedule)
    decision = decide(facts, policy.rules)
    recorded = {
        k: (str(v.amount) if isinstance(v, Money) else v) for k, v in vars_of(facts).items()
    }
    uow.loans.add_decision(loan.id, decision, recorded, actor=actor.name, now=uow.now())
    stored = uow.loans.latest_decision(loan.id)
    assert stored is not None
    return stored


def _as_seen_by(actor: Actor, decision: StoredDecision | None) -> StoredDecision | None:
    """A decision as ``actor`` may see it: a role without the right to see personal data gets
    no facts and no reasons of the rules that quote them (every rule's outcome stays)."""
    if decision is None or actor.can(Permission.PERSONAL_READ):
        return decision
    return replace(
        decision,
        facts=None,
        results=[
            {**r, "reason": None} if r["rule"] in PERSONAL_RULES else r for r in decision.results
        ],
    )


def vars_of(facts: ApplicationFacts) -> dict[str, Any]:
    return {name: getattr(facts, name) for name in facts.__slots__}


def check_eligibility(
    uow: UnitOfWork, actor: Actor, loan_id: str, policy: LoanPolicy
) -> StoredDecision:
    """Run the rules now and store the decision with its inputs and the rules' version."""
    actor.require(Permission.LOANS_APPLY)
    with uow:
        loan = uow.loans.get(loan_id)
        if loan.status not in (LoanStatus.DRAFT, LoanStatus.SUBMITTED):
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}; eligibility is decided before approval",
                "status",
            )
        stored = _decide(uow, actor, loan, policy)
        uow.audit.record(
            at=uow.now(),
            actor=actor.name,
            action="loan_eligibility",
            target=f"loan:{loan_id}",
            details={"outcome": stored.outcome},
        )
        uow.commit()
    shown = _as_seen_by(actor, stored)
    assert shown is not None
    return shown


def submit(uow: UnitOfWork, actor: Actor, loan_id: str, policy: LoanPolicy) -> Loan:
    """Submit for approval; eligibility is decided (and stored) as part of it."""
    actor.require(Permission.LOANS_APPLY)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        target = next_status(loan.status, LoanAction.SUBMIT)
        assert target is not None
        _decide(uow, actor, loan, policy)
        loan = _transition(uow, actor, loan, LoanAction.SUBMIT, target, submitted_by=actor.name)
        uow.commit()
    return loan


def override_eligibility(
    uow: UnitOfWork, actor: Actor, loan_id: str, reason: str
) -> StoredDecision:
    """A supervisor accepts a fail or review with a written reason, never on their own case."""
    actor.require(Permission.ELIGIBILITY_OVERRIDE)
    why = _reason(reason)
    with uow:
        loan = uow.loans.get(loan_id)
        if actor.name in (loan.created_by, loan.submitted_by):
            raise PermissionDenied(
                "you opened or submitted this application; another supervisor must decide"
            )
        decision = uow.loans.latest_decision(loan_id)
        if decision is None:
            raise Conflict("no eligibility decision yet; submit the application first", "status")
        if decision.outcome == "pass":
            raise Conflict("the application passed; there is nothing to override", "outcome")
        if decision.override_by is not None:
            raise Conflict(f"already overridden by {decision.override_by}", "outcome")
        uow.loans.override_decision(decision.id, actor=actor.name, reason=why or "", now=uow.now())
        uow.audit.record(
            at=uow.now(),
            actor=actor.name,
            action="eligibility_override",
            target=f"loan:{loan_id}",
            details={"outcome": decision.outcome},
        )
        uow.commit()
        stored = _as_seen_by(actor, uow.loans.latest_decision(loan_id))
    assert stored is not None
    return stored


def approve(uow: UnitOfWork, actor: Actor, loan_id: str) -> Loan:
    """Four eyes: approved by someone other than who opened or submitted it, with an
    accepted decision."""
    actor.require(Permission.LOANS_APPROVE)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        target = next_status(loan.status, LoanAction.APPROVE)
        assert target is not None
        if actor.name in (loan.created_by, loan.submitted_by):
            done = "submitted" if actor.name == loan.submitted_by else "opened"
            raise PermissionDenied(
                f"you {done} this application; another caseworker or an admin must approve it"
            )
        decision = uow.loans.latest_decision(loan_id)
        if decision is None or not decision.accepted:
            outcome = decision.outcome if decision else "missing"
            raise Conflict(
                f"the eligibility decision is '{outcome}'; a supervisor must override it with "
                "a reason, or the application be amended, before approval",
                "eligibility",
            )
        loan = _transition(uow, actor, loan, LoanAction.APPROVE, target, approved_by=actor.name)
        uow.commit()
    return loan


def _simple(
    uow: UnitOfWork,
    actor: Actor,
    loan_id: str,
    action: LoanAction,
    reason: str | None,
    permission: Permission,
    **values: Any,
) -> Loan:
    actor.require(permission)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        target = next_status(loan.status, action)
        assert target is not None
        loan = _transition(uow, actor, loan, action, target, reason=reason, **values)
        uow.commit()
    return loan


def reject(uow: UnitOfWork, actor: Actor, loan_id: str, reason: str) -> Loan:
    return _simple(
        uow, actor, loan_id, LoanAction.REJECT, _reason(reason), Permission.LOANS_APPROVE
    )


def withdraw(uow: UnitOfWork, actor: Actor, loan_id: str, reason: str) -> Loan:
    return _simple(
        uow, actor, loan_id, LoanAction.WITHDRAW, _reason(reason), Permission.LOANS_APPLY
    )


def undo_approval(uow: UnitOfWork, actor: Actor, loan_id: str, reason: str) -> Loan:
    return _simple(
        uow,
        actor,
        loan_id,
        LoanAction.UNDO_APPROVAL,
        _reason(reason),
        Permission.LOANS_APPROVE,
        approved_by=None,
    )


def sign_contract(uow: UnitOfWork, actor: Actor, loan_id: str) -> Loan:
    """Approved -> contract signed, once the current contract version is signed by the
    beneficiary and the fund. Signing for the fund (``contracts.sign_as_fund``) does this by
    itself; here only for a loan whose state lags behind its signed contract."""
    actor.require(Permission.LOANS_APPLY)
    with uow:
        loan = record_contract_signed(uow, actor, uow.loans.get(loan_id, lock=True))
        uow.commit()
    return loan


def record_contract_signed(uow: UnitOfWork, actor: Actor, loan: Loan) -> Loan:
    """Approved -> contract signed, inside the caller's transaction: the contract service
    (``services/contracts.py``) calls this when the fund signs what the beneficiary signed."""
    target = next_status(loan.status, LoanAction.SIGN_CONTRACT)
    assert target is not None
    _require_signed_contract(uow, loan)
    return _transition(uow, actor, loan, LoanAction.SIGN_CONTRACT, target)


def _require_signed_contract(uow: UnitOfWork, loan: Loan) -> None:
    """The contract version in force is signed by both, for this amount and schedule."""
    signed = uow.documents.signed_contract(loan.id)
    version, _ = uow.loans.schedule(loan.id)
    if (
        signed is None
        or signed.schedule_version != version
        or signed.principal_minor != to_minor(loan.terms.deposit)
    ):
        raise Conflict(
            f"loan {loan.id} is paid out only once its current contract version is signed by "
            "the beneficiary and by the fund",
            "contract",
        )


def _void_contract(uow: UnitOfWork, actor: Actor, loan: Loan, why: str) -> Loan:
    """A new amount or schedule voids the contract in force: a new version must be signed."""
    version = uow.documents.void_current(loan.id, at=uow.now(), actor=actor.name, reason=why)
    if version is not None:
        uow.audit.record(
            at=uow.now(),
            actor=actor.name,
            action="contract_voided",
            target=f"loan:{loan.id}",
            details={"version": version},
        )
    if loan.status is LoanStatus.CONTRACT_SIGNED:
        return _transition(
            uow, actor, loan, LoanAction.VOID_CONTRACT, LoanStatus.APPROVED, reason=why
        )
    return loan


# -- money -----------------------------------------------------------------------------------


def _loan_account(uow: UnitOfWork, loan: Loan) -> str:
    if loan.account_id is not None:
        return loan.account_code
    control = uow.accounts.by_role(AccountRole.LOANS_RECEIVABLE, loan.currency)
    if uow.accounts.find(loan.account_code) is None:
        uow.accounts.add(
            AccountSpec(
                code=loan.account_code,
                name=f"Loan {loan.id}",
                type=AccountType.ASSET,
                currency=loan.currency,
                role=AccountRole.LOAN,
                parent_code=control.code,
            ),
            now=uow.now(),
        )
    return loan.account_code


def _code(uow: UnitOfWork, role: AccountRole, currency: str) -> str:
    return uow.accounts.by_role(role, currency).code


def _amount(amount: Money, loan: Loan, name: str = "amount") -> int:
    if amount.currency.code != loan.currency:
        raise ValidationError(
            f"loan {loan.id} is in {loan.currency}; a payment in {amount.currency.code} "
            "cannot be booked to it",
            "currency",
        )
    minor = to_minor(amount)
    if minor <= 0:
        raise ValidationError(f"the {name} must be positive", name)
    return minor


def _request(**fields: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, date | Money | Decimal) else v) for k, v in fields.items()}


def _money_command(
    uow: UnitOfWork,
    actor: Actor,
    permission: Permission,
    *,
    command: str,
    key: str,
    request: dict[str, Any],
    loan_id: str,
) -> tuple[Entry | None, Loan]:
    """How a command that moves a loan's money starts, inside its unit of work: the actor's
    permission; then the chain head, where postings queue (so two requests with one key
    cannot miss each other); then a retry is answered with its first entry (and the loan as
    it is now), else the loan is locked for the command."""
    actor.require(permission)
    uow.journal.lock_head()
    original = replay(uow, key, command, request)
    if original is not None:
        return original, uow.loans.get(loan_id)
    return None, uow.loans.get(loan_id, lock=True)


def disburse(
    uow: UnitOfWork, actor: Actor, loan_id: str, *, on: date, idempotency_key: str
) -> MoneyResult:
    """Pay the deposit out: Dr the loan's sub-account, Cr bank. The bank may not go below zero."""
    request = _request(loan_id=loan_id, on=on)
    with uow:
        original, loan = _money_command(
            uow,
            actor,
            Permission.LOANS_DISBURSE,
            command="disburse",
            key=idempotency_key,
            request=request,
            loan_id=loan_id,
        )
        if original:
            return MoneyResult(loan, original, True)
        target = next_status(loan.status, LoanAction.DISBURSE)
        assert target is not None
        _require_signed_contract(uow, loan)
        if on < loan.terms.lease_start - timedelta(days=90):
            raise ValidationError("the payout is more than 90 days before the lease starts", "on")
        code = _loan_account(uow, loan)
        account = uow.accounts.get(code)
        amount = loan.terms.deposit
        draft = EntryDraft(
            booking_date=on,
            description=f"Rental deposit paid out for loan {loan.id}",
            kind=EntryKind.DISBURSEMENT,
            legs=(
                Leg.debit(code, amount),
                Leg.credit(_code(uow, AccountRole.BANK, loan.currency), amount),
            ),
            loan_id=loan.id,
            idempotency_key=idempotency_key,
        )
        posted = post_in(uow, actor, [draft], command="disburse", requests=[request])[0]
        loan = _transition(
            uow,
            actor,
            loan,
            LoanAction.DISBURSE,
            target,
            entry_id=posted.entry.id,
            account_id=account.id,
            disbursement_entry_id=posted.entry.id,
        )
        uow.commit()
    return MoneyResult(loan, posted.entry, False)


def undo_disbursement(
    uow: UnitOfWork, actor: Actor, loan_id: str, *, on: date, reason: str, idempotency_key: str
) -> MoneyResult:
    """Reverse a payout while nothing was repaid; the loan goes back to contract signed."""
    request = _request(loan_id=loan_id, on=on)
    with uow:
        original, loan = _money_command(
            uow,
            actor,
            Permission.LOANS_DISBURSE,
            command="undo_disbursement",
            key=idempotency_key,
            request=request,
            loan_id=loan_id,
        )
        if original:
            return MoneyResult(loan, original, True)
        why = _reason(reason)
        target = next_status(loan.status, LoanAction.UNDO_DISBURSEMENT)
        assert target is not None and loan.disbursement_entry_id is not None
        if uow.loans.payments(loan.id, kinds=("repayment", "deposit_release", "recovery")):
            raise Conflict(
                f"loan {loan_id} has payments; a disbursement can only be undone while "
                "nothing was paid",
                "status",
            )
        refunded = -_position(uow, loan)[0].ledger_credit
        if refunded > 0:
            # A refund whose payment bounced afterwards: undone, the loan would hide that debt.
            raise Conflict(
                f"loan {loan_id}: {from_minor(refunded, loan.currency)} were refunded to the "
                "beneficiary out of a payment that bounced and are owed back; the payout "
                "cannot be undone while they are",
                "status",
            )
        file_id = uow.payment_files.live_file_of(loan.disbursement_entry_id)
        if file_id is not None:
            status = uow.payment_files.get(file_id).status
            raise Conflict(
                f"the payout of loan {loan_id} is in payment file {file_id} ({status}); "
                + (
                    "cancel that file first, then undo the payout"
                    if status == "created"
                    else "the bank was asked to pay it, so it cannot be undone; if the money "
                    "comes back, match the bank's line by hand"
                ),
                "status",
            )
        original = uow.journal.get(loan.disbursement_entry_id)
        draft = reversal_of(
            original,
            booking_date=on,
            idempotency_key=idempotency_key,
            # Generic: the journal is hashed and kept for ever; the reason is in loan_events.
            description=f"Payout of loan {loan.id} undone",
        )
        posted = post_in(uow, actor, [draft], command="undo_disbursement", requests=[request])[0]
        loan = _transition(
            uow,
            actor,
            loan,
            LoanAction.UNDO_DISBURSEMENT,
            target,
            reason=why,
            entry_id=posted.entry.id,
            disbursement_entry_id=None,
        )
        uow.commit()
    return MoneyResult(loan, posted.entry, False)


@dataclass(frozen=True, slots=True)
class Balances:
    """A disbursed loan's position: from the schedule, and as the ledger holds it."""

    outstanding: int  # schedule: still owed
    credit: int  # paid beyond everything owed
    ledger_loan: int  # the loan sub-account's balance
    ledger_credit: int  # this loan's part of the beneficiary-credit account


def _position(
    uow: UnitOfWork, loan: Loan, extra: list[PaymentEvent] | None = None
) -> tuple[Balances, Allocation, Schedule]:
    _, schedule = uow.loans.schedule(loan.id)
    pays = [p for p, _, _ in uow.loans.payments(loan.id)] + (extra or [])
    alloc = allocate(schedule.installments, pays)
    total = sum(i.minor for i in schedule.installments)
    credit_account = uow.accounts.by_role(AccountRole.BENEFICIARY_CREDIT, loan.currency)
    balances = Balances(
        outstanding=total - alloc.total_paid,
        credit=alloc.credit,
        ledger_loan=uow.loans.loan_account_balance(loan.account_id),
        ledger_credit=uow.loans.credit_minor(loan.id, credit_account.id),
    )
    return balances, alloc, schedule


def _settle(
    uow: UnitOfWork, actor: Actor, loan: Loan, on: date, known: Balances | None = None
) -> Loan:
    """Make the ledger match the schedule, then the status match the ledger. ``known``: the
    loan's position when the caller has just computed it (a batch of payments)."""
    b = known or _position(uow, loan)[0]
    cur = loan.currency
    drafts: list[EntryDraft] = []
    if loan.written_off:
        if b.ledger_loan > 0:  # e.g. a payment made before the write-off bounced afterwards
            amount = from_minor(b.ledger_loan, cur)
            drafts.append(
                EntryDraft(
                    on,
                    f"Loan {loan.id}: bounced payment written off",
                    EntryKind.WRITE_OFF,
                    (
                        Leg.debit(_code(uow, AccountRole.LOAN_LOSSES, cur), amount),
                        Leg.credit(loan.account_code, amount),
                    ),
                    loan_id=loan.id,
                )
            )
    else:
        gap = b.ledger_loan - b.outstanding
        if gap != b.ledger_credit - b.credit:
            raise RuntimeError(
                f"loan {loan.id}: ledger and schedule disagree beyond a reallocation; "
                "run `fundledger verify`"
            )
        if gap:
            credit_code = _code(uow, AccountRole.BENEFICIARY_CREDIT, cur)
            amount = from_minor(abs(gap), cur)
            legs = (
                (Leg.debit(credit_code, amount), Leg.credit(loan.account_code, amount))
                if gap > 0
                else (Leg.debit(loan.account_code, amount), Leg.credit(credit_code, amount))
            )
            drafts.append(
                EntryDraft(
                    on,
                    f"Loan {loan.id}: payments reallocated",
                    EntryKind.REALLOCATION,
                    legs,
                    loan_id=loan.id,
                )
            )
    if drafts:
        post_in(uow, actor, drafts, command="settle_loan")
        b, _, _ = _position(uow, loan)
    status = derived_status(
        written_off=loan.written_off, outstanding=b.ledger_loan, credit=b.ledger_credit
    )
    if status is not loan.status:
        saved = uow.loans.save(loan, status=status.value)
        uow.loans.add_event(
            loan.id,
            at=uow.now(),
            actor=actor.name,
            action="settle",
            from_status=loan.status,
            to_status=status,
        )
        return saved
    return loan


@dataclass(frozen=True, slots=True)
class MoneyResult:
    loan: Loan
    entry: Entry
    replayed: bool


def _receive(
    uow: UnitOfWork,
    actor: Actor,
    loan: Loan,
    *,
    minor: int,
    on: date,
    kind: str,
    key: str,
    command: str,
    request: dict[str, Any],
    statement_line_id: str | None,
) -> Posted:
    """Book money received for a loan: repayment (or deposit release), or recovery."""
    cur = loan.currency
    amount = from_minor(minor, cur)
    bank = _code(uow, AccountRole.BANK, cur)
    if loan.written_off:
        legs: tuple[Leg, ...] = (
            Leg.debit(bank, amount),
            Leg.credit(_code(uow, AccountRole.RECOVERIES, cur), amount),
        )
        entry_kind, pay_kind = EntryKind.RECOVERY, "recovery"
        text = f"Recovery on written-off loan {loan.id}"
    else:
        b, _, _ = _position(uow, loan, [PaymentEvent(_PENDING, on, minor)])
        to_loan = min(max(b.ledger_loan - b.outstanding, 0), minor)
        legs = (Leg.debit(bank, amount),)
        if to_loan:
            legs += (Leg.credit(loan.account_code, from_minor(to_loan, cur)),)
        if minor - to_loan:
            legs += (
                Leg.credit(
                    _code(uow, AccountRole.BENEFICIARY_CREDIT, cur),
                    from_minor(minor - to_loan, cur),
                ),
            )
        entry_kind = EntryKind.DEPOSIT_RELEASE if kind == "deposit_release" else EntryKind.REPAYMENT
        pay_kind = kind
        text = (
            f"Deposit released for loan {loan.id}"
            if kind == "deposit_release"
            else f"Repayment of loan {loan.id}"
        )
    draft = EntryDraft(
        on,
        text,
        entry_kind,
        legs,
        loan_id=loan.id,
        statement_line_id=statement_line_id,
        idempotency_key=key,
    )
    posted = post_in(uow, actor, [draft], command=command, requests=[request])[0]
    uow.loans.add_payment(
        entry_id=posted.entry.id, loan_id=loan.id, on=on, minor=minor, kind=pay_kind
    )
    return posted


def record_payment(
    uow: UnitOfWork,
    actor: Actor,
    loan_id: str,
    amount: Money,
    *,
    on: date,
    idempotency_key: str,
    statement_line_id: str | None = None,
) -> MoneyResult:
    """A repayment (or, on a written-off loan, a recovery), allocated by the schedule."""
    with uow:
        result = record_payment_in(
            uow,
            actor,
            PaymentIn(loan_id, amount, on, idempotency_key, statement_line_id),
        )
        uow.commit()
    return result


@dataclass(frozen=True, slots=True)
class PaymentIn:
    """A payment to book: what ``record_payment`` takes, as a value."""

    loan_id: str
    amount: Money
    on: date
    idempotency_key: str
    statement_line_id: str | None = None

    def request(self) -> dict[str, Any]:
        """What its idempotency key stands for."""
        return _request(
            loan_id=self.loan_id,
            amount=self.amount.amount,
            currency=self.amount.currency.code,
            on=self.on,
            statement_line_id=self.statement_line_id,
        )


def _check_payable(loan: Loan, amount: Money) -> int:
    minor = _amount(amount, loan)
    if loan.status not in DISBURSED:
        raise Conflict(
            f"loan {loan.id} is {loan.status.value}; payments are booked once it is paid out",
            "status",
        )
    if loan.status is LoanStatus.CLOSED:
        # Bad input by the rules: a repaid loan takes no more payments. The bank's
        # statement books such money to unidentified receipts with a note naming the loan.
        raise Conflict(
            f"loan {loan.id} is repaid and closed; book the money as an "
            "unidentified receipt or refund it",
            "status",
        )
    return minor


def _check_after_payout(loan: Loan, on: date, paid_out_on: date | None) -> None:
    """Nothing happens to a loan's money before the loan was paid out."""
    if paid_out_on is not None and on < paid_out_on:
        raise ValidationError(
            f"loan {loan.id} was paid out on {paid_out_on}; money for it cannot be dated "
            "before that",
            "on",
        )


def record_payment_in(uow: UnitOfWork, actor: Actor, payment: PaymentIn) -> MoneyResult:
    """``record_payment`` inside an open unit of work: the caller commits (a bank statement
    books its payments together with everything else it brings)."""
    request = payment.request()
    original, loan = _money_command(
        uow,
        actor,
        Permission.PAYMENTS_RECORD,
        command="loan_payment",
        key=payment.idempotency_key,
        request=request,
        loan_id=payment.loan_id,
    )
    if original:
        return MoneyResult(loan, original, True)
    minor = _check_payable(loan, payment.amount)
    _check_after_payout(loan, payment.on, uow.loans.payout_date(loan))
    posted = _receive(
        uow,
        actor,
        loan,
        minor=minor,
        on=payment.on,
        kind="repayment",
        key=payment.idempotency_key,
        command="loan_payment",
        request=request,
        statement_line_id=payment.statement_line_id,
    )
    loan = _settle(uow, actor, uow.loans.get(payment.loan_id), payment.on)
    return MoneyResult(loan, posted.entry, False)


def record_payments_in(
    uow: UnitOfWork, actor: Actor, payments: Sequence[PaymentIn]
) -> list[MoneyResult]:
    """Many payments at once, inside an open unit of work (a bank statement of thousands).

    Each is booked exactly as ``record_payment`` books it (same split between the loan and
    the credit balance, same idempotency key and request), in the order given; but the loans'
    positions are read once per loan and all the entries are posted together.
    """
    actor.require(Permission.PAYMENTS_RECORD)
    if not payments:
        return []
    uow.journal.lock_head()
    loans: dict[str, Loan] = {}
    state: dict[str, Balances] = {}  # each loan's position, moved payment by payment
    paid_out: dict[str, date | None] = {}
    codes: dict[tuple[AccountRole, str], str] = {}

    def code(role: AccountRole, currency: str) -> str:
        if (role, currency) not in codes:
            codes[role, currency] = _code(uow, role, currency)
        return codes[role, currency]

    drafts: list[EntryDraft] = []
    kinds: list[str] = []
    for payment in payments:
        loan = loans.get(payment.loan_id)
        if loan is None:
            loan = loans[payment.loan_id] = uow.loans.get(payment.loan_id, lock=True)
            state[loan.id] = _position(uow, loan)[0]
            paid_out[loan.id] = uow.loans.payout_date(loan)
        minor = _check_payable(loan, payment.amount)
        _check_after_payout(loan, payment.on, paid_out[loan.id])
        cur = loan.currency
        amount = from_minor(minor, cur)
        bank = code(AccountRole.BANK, cur)
        text = f"Repayment of loan {loan.id}"
        kind, pay_kind = EntryKind.REPAYMENT, "repayment"
        if loan.written_off:
            legs: tuple[Leg, ...] = (
                Leg.debit(bank, amount),
                Leg.credit(code(AccountRole.RECOVERIES, cur), amount),
            )
            kind, pay_kind = EntryKind.RECOVERY, "recovery"
            text = f"Recovery on written-off loan {loan.id}"
        else:
            # As _receive does. Allocation fills every installment before any credit, so
            # whatever the dates, a payment lowers what is owed by itself, down to zero:
            # the earlier payments of this batch need not be allocated again.
            b = state[loan.id]
            outstanding = max(b.outstanding - minor, 0)
            to_loan = min(max(b.ledger_loan - outstanding, 0), minor)
            legs = (Leg.debit(bank, amount),)
            if to_loan:
                legs += (Leg.credit(loan.account_code, from_minor(to_loan, cur)),)
            if minor - to_loan:
                legs += (
                    Leg.credit(
                        code(AccountRole.BENEFICIARY_CREDIT, cur),
                        from_minor(minor - to_loan, cur),
                    ),
                )
            state[loan.id] = Balances(
                outstanding=outstanding,
                credit=b.credit + minor - (b.outstanding - outstanding),
                ledger_loan=b.ledger_loan - to_loan,
                ledger_credit=b.ledger_credit + minor - to_loan,
            )
        drafts.append(
            EntryDraft(
                payment.on,
                text,
                kind,
                legs,
                loan_id=loan.id,
                statement_line_id=payment.statement_line_id,
                idempotency_key=payment.idempotency_key,
            )
        )
        kinds.append(pay_kind)
    posted = post_in(
        uow, actor, drafts, command="loan_payment", requests=[p.request() for p in payments]
    )
    uow.loans.add_payments(
        [
            (p.entry.id, payment.loan_id, payment.on, to_minor(payment.amount), kind)
            for p, payment, kind in zip(posted, payments, kinds, strict=True)
            if not p.replayed
        ]
    )
    last_day: dict[str, date] = {}
    for payment in payments:
        last_day[payment.loan_id] = max(payment.on, last_day.get(payment.loan_id, payment.on))
    # The positions were followed in memory: read back, tables just grown by thousands of
    # rows in this transaction would be scanned whole, once per loan.
    settled = {
        loan_id: _settle(uow, actor, uow.loans.get(loan_id), on, state[loan_id])
        for loan_id, on in last_day.items()
    }
    return [
        MoneyResult(settled[payment.loan_id], p.entry, p.replayed)
        for p, payment in zip(posted, payments, strict=True)
    ]


def reverse_payment(
    uow: UnitOfWork, actor: Actor, entry_id: int, *, on: date, reason: str, idempotency_key: str
) -> MoneyResult:
    """A payment bounced or was booked by mistake: reverse it; the arrears reopen."""
    with uow:
        result = reverse_payment_in(
            uow, actor, entry_id, on=on, reason=reason, idempotency_key=idempotency_key
        )
        uow.commit()
    return result


def reverse_payment_in(
    uow: UnitOfWork, actor: Actor, entry_id: int, *, on: date, reason: str, idempotency_key: str
) -> MoneyResult:
    """``reverse_payment`` inside an open unit of work: the caller commits."""
    actor.require(Permission.PAYMENTS_RECORD)
    why = _reason(reason)
    request = _request(entry_id=entry_id, on=on)
    uow.journal.lock_head()
    original = replay(uow, idempotency_key, "reverse_loan_payment", request)
    if original:
        loan_id = uow.loans.payment_loan(entry_id)
        assert loan_id is not None
        return MoneyResult(uow.loans.get(loan_id), original, True)
    loan_id = uow.loans.payment_loan(entry_id)
    if loan_id is None:
        raise NotFound(f"entry {entry_id} is not a loan payment", "entry_id")
    loan = uow.loans.get(loan_id, lock=True)
    payment = uow.journal.get(entry_id)
    draft = reversal_of(
        payment,
        booking_date=on,
        idempotency_key=idempotency_key,
        # Generic: the journal is hashed and kept for ever; the reason is in the audit log.
        description=f"Payment {entry_id} on loan {loan_id} reversed",
    )
    posted = post_in(uow, actor, [draft], command="reverse_loan_payment", requests=[request])[0]
    loan = _settle(uow, actor, uow.loans.get(loan_id), on)
    uow.audit.record(
        at=uow.now(),
        actor=actor.name,
        action="loan_payment_reversed",
        target=f"loan:{loan_id}",
        details={"entry": entry_id, "reason": why},
    )
    return MoneyResult(loan, posted.entry, False)


def refund_credit(
    uow: UnitOfWork, actor: Actor, loan_id: str, *, on: date, idempotency_key: str
) -> MoneyResult:
    """Pay back what a beneficiary paid beyond the loan; an overpaid loan then closes."""
    request = _request(loan_id=loan_id, on=on)
    with uow:
        original, loan = _money_command(
            uow,
            actor,
            Permission.PAYMENTS_RECORD,
            command="refund_credit",
            key=idempotency_key,
            request=request,
            loan_id=loan_id,
        )
        if original:
            return MoneyResult(loan, original, True)
        b, _, _ = _position(uow, loan)
        if b.ledger_credit <= 0:
            raise Conflict(f"loan {loan_id} has no credit balance to refund", "status")
        # The credit is there once the money that made it came in: not before.
        last = max((p.on for p, _, _ in uow.loans.payments(loan.id) if p.minor > 0), default=on)
        if on < last:
            raise ValidationError(
                f"loan {loan_id} received money on {last}; its credit cannot be refunded "
                "before that",
                "on",
            )
        amount = from_minor(b.ledger_credit, loan.currency)
        draft = EntryDraft(
            on,
            f"Credit balance of loan {loan.id} refunded",
            EntryKind.REFUND,
            (
                Leg.debit(_code(uow, AccountRole.BENEFICIARY_CREDIT, loan.currency), amount),
                Leg.credit(_code(uow, AccountRole.BANK, loan.currency), amount),
            ),
            loan_id=loan.id,
            idempotency_key=idempotency_key,
        )
        posted = post_in(uow, actor, [draft], command="refund_credit", requests=[request])[0]
        loan = _settle(uow, actor, uow.loans.get(loan_id), on)
        uow.commit()
    return MoneyResult(loan, posted.entry, False)


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    loan: Loan
    entry: Entry | None
    replayed: bool
    still_owed: int


def record_deposit_release(
    uow: UnitOfWork,
    actor: Actor,
    loan_id: str,
    *,
    on: date,
    returned: Money,
    kept: Money,
    kept_reason: str | None,
    idempotency_key: str,
) -> ReleaseResult:
    """End of lease: what came back from the deposit repays the loan; any excess is owed to the
    beneficiary; what the landlord kept (and why) is recorded, and the shortfall stays due."""
    request = _request(
        loan_id=loan_id, on=on, returned=returned.amount, kept=kept.amount, kept_reason=kept_reason
    )
    with uow:
        original, loan = _money_command(
            uow,
            actor,
            Permission.PAYMENTS_RECORD,
            command="deposit_release",
            key=idempotency_key,
            request=request,
            loan_id=loan_id,
        )
        if original:
            return ReleaseResult(loan, original, True, _position(uow, loan)[0].ledger_loan)
        # A release that brought no money back posts no entry: its key is kept with it.
        first = uow.loans.release_by_key(idempotency_key)
        if first is not None:
            _check_same_release(
                idempotency_key,
                first,
                loan.currency,
                loan_id=loan_id,
                on=on,
                returned=returned,
                kept=kept,
                kept_reason=kept_reason,
            )
            return ReleaseResult(loan, None, True, _position(uow, loan)[0].ledger_loan)
        if loan.status not in DISBURSED:
            raise Conflict(f"loan {loan_id} was not paid out", "status")
        _check_after_payout(loan, on, uow.loans.payout_date(loan))
        r = (
            to_minor(returned)
            if returned.currency.code == loan.currency
            else _amount(returned, loan)
        )
        k = to_minor(kept) if kept.currency.code == loan.currency else _amount(kept, loan, "kept")
        if r < 0 or k < 0 or r + k == 0:
            raise ValidationError(
                "amounts returned and kept must not be negative, nor both zero", "returned"
            )
        if k and not (kept_reason and kept_reason.strip()):
            raise ValidationError("say why the landlord kept part of the deposit", "kept_reason")
        # A deposit can come back in parts: all of them together cannot exceed it. A release
        # whose money was reversed (booked by mistake) no longer counts; on a written-off loan
        # its money was booked as a recovery.
        reversed_ = {
            p.key
            for p, _, rev in uow.loans.payments(
                loan.id, kinds=("deposit_release", "recovery"), include_reversed=True
            )
            if rev
        }
        earlier = sum(
            x["returned_minor"] + x["kept_minor"]
            for x in uow.loans.releases(loan.id)
            if x["entry_id"] not in reversed_
        )
        if earlier + r + k > to_minor(loan.terms.deposit):
            before = (
                f" with {from_minor(earlier, loan.currency)} released before" if earlier else ""
            )
            raise ValidationError(
                f"returned plus kept ({from_minor(r + k, loan.currency)}){before} is more than "
                f"the deposit of {loan.terms.deposit}",
                "returned",
            )
        entry = None
        if r:
            entry = _receive(
                uow,
                actor,
                loan,
                minor=r,
                on=on,
                kind="deposit_release",
                key=idempotency_key,
                command="deposit_release",
                request=request,
                statement_line_id=None,
            ).entry
        uow.loans.add_release(
            loan.id,
            on=on,
            returned=r,
            kept=k,
            reason=_reason(kept_reason, required=False),
            entry_id=entry.id if entry else None,
            actor=actor.name,
            now=uow.now(),
            idempotency_key=idempotency_key,
        )
        uow.audit.record(
            at=uow.now(),
            actor=actor.name,
            action="deposit_release",
            target=f"loan:{loan_id}",
            details={"returned": r, "kept": k},
        )
        loan = _settle(uow, actor, uow.loans.get(loan_id), on)
        still = _position(uow, loan)[0].ledger_loan
        uow.commit()
    return ReleaseResult(loan, entry, False, still)


def _check_same_release(
    key: str,
    first: dict[str, Any],
    currency: str,
    *,
    loan_id: str,
    on: date,
    returned: Money,
    kept: Money,
    kept_reason: str | None,
) -> None:
    """A retry of a release that posted nothing: the same release, or a conflict naming the
    first field that differs (as ``replay`` does for the releases that post an entry)."""
    before: dict[str, Any] = {
        "loan_id": first["loan_id"],
        "on": first["released_on"],
        "returned": from_minor(first["returned_minor"], currency),
        "kept": from_minor(first["kept_minor"], currency),
        "kept_reason": first["kept_reason"],
    }
    now: dict[str, Any] = {
        "loan_id": loan_id,
        "on": on,
        "returned": returned,
        "kept": kept,
        "kept_reason": _reason(kept_reason, required=False),
    }
    for name, value in before.items():
        if now[name] != value:
            raise IdempotencyConflict(
                f"Idempotency-Key {key} was first used with {name} = {_shown(value)}, now "
                f"{_shown(now[name])}; send the same request again, or use a new key for a new "
                "request",
                field=name,
            )


def _shown(value: Any) -> str:
    return repr(str(value) if isinstance(value, date | Money) else value)


# -- schedules -------------------------------------------------------------------------------


def _due_day(loan: Loan) -> int:
    if loan.terms.due_day is not None:
        return loan.terms.due_day
    first = loan.terms.first_due_date
    return MONTH_END if is_month_end(first) else first.day


def add_holiday(uow: UnitOfWork, actor: Actor, loan_id: str, month: str, reason: str) -> Schedule:
    """Skip a month: that installment and every later one move a month on (maturity too)."""
    actor.require(Permission.LOANS_SERVICE)
    month = parse_month(month)
    why = _reason(reason)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        if loan.status not in (LoanStatus.ACTIVE, LoanStatus.CONTRACT_SIGNED, LoanStatus.APPROVED):
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}; holidays are for loans being repaid",
                "status",
            )
        if month < month_of(uow.today()):
            raise ValidationError(
                f"{month} is in the past; a holiday is for a coming month", "month"
            )
        _, schedule = uow.loans.schedule(loan_id)
        # Read from the schedule: after a reschedule it falls due on another day than the terms'.
        new = skip_month(schedule, month, due_day_of(schedule.installments, _due_day(loan)))
        uow.loans.add_schedule(
            loan_id, new, reason=f"payment holiday {month}: {why}", actor=actor.name, now=uow.now()
        )
        loan = _void_contract(uow, actor, loan, f"payment holiday {month}")
        uow.audit.record(
            at=uow.now(),
            actor=actor.name,
            action="loan_holiday",
            target=f"loan:{loan_id}",
            details={"month": month},
        )
        if loan.status in DISBURSED:
            _settle(uow, actor, loan, uow.today())
        uow.commit()
    return new


def reschedule(
    uow: UnitOfWork,
    actor: Actor,
    loan_id: str,
    *,
    first_due: date,
    reason: str,
    installments: int | None = None,
    monthly_amount: Money | None = None,
    whole_units: bool = False,
) -> Schedule:
    """A new schedule for what is still owed; what was paid stays as one settled line."""
    actor.require(Permission.LOANS_SERVICE)
    why = _reason(reason)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        if loan.status is not LoanStatus.ACTIVE:
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}; only an active loan can be rescheduled",
                "status",
            )
        today = uow.today()
        if first_due <= today:
            raise ValidationError(
                "the first new installment must fall due after today", "first_due_date"
            )
        b, alloc, _ = _position(uow, loan)
        if b.outstanding <= 0:
            raise Conflict("nothing is owed; there is nothing to reschedule", "status")
        fresh = build_schedule(
            from_minor(b.outstanding, loan.currency),
            first_due=first_due,
            count=installments,
            monthly_amount=monthly_amount,
            whole_units=whole_units,
        )
        if loan.terms.lease_end is not None and fresh.maturity > loan.terms.lease_end + timedelta(
            days=366 * 2
        ):
            raise ValidationError(
                "the new schedule runs more than two years past the lease", "installments"
            )
        settled = (
            [Installment(1, today, from_minor(alloc.total_paid, loan.currency))]
            if alloc.total_paid
            else []
        )
        new = Schedule(
            tuple(settled)
            + tuple(
                Installment(len(settled) + i.number, i.due_date, i.amount)
                for i in fresh.installments
            )
        )
        uow.loans.add_schedule(
            loan_id, new, reason=f"rescheduled: {why}", actor=actor.name, now=uow.now()
        )
        loan = _void_contract(uow, actor, loan, "rescheduled")
        uow.audit.record(
            at=uow.now(), actor=actor.name, action="loan_reschedule", target=f"loan:{loan_id}"
        )
        _settle(uow, actor, loan, today)
        uow.commit()
    return new


# -- write-off -------------------------------------------------------------------------------


def propose_write_off(uow: UnitOfWork, actor: Actor, loan_id: str, reason: str) -> WriteOff:
    actor.require(Permission.WRITE_OFF_PROPOSE)
    why = _reason(reason)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        next_status(loan.status, LoanAction.WRITE_OFF)
        if uow.loans.pending_write_off(loan_id) is not None:
            raise Conflict(f"a write-off of loan {loan_id} is already proposed", "status")
        wid = uow.loans.add_write_off(loan_id, actor=actor.name, reason=why or "", now=uow.now())
        uow.audit.record(
            at=uow.now(), actor=actor.name, action="write_off_proposed", target=f"loan:{loan_id}"
        )
        uow.commit()
        return uow.loans.write_off(wid)


def approve_write_off(
    uow: UnitOfWork, actor: Actor, write_off_id: int, *, on: date, idempotency_key: str
) -> MoneyResult:
    """Four eyes: the treasurer who approves is not who proposed. Dr loan losses, Cr the loan."""
    actor.require(Permission.WRITE_OFF_APPROVE)
    request = _request(write_off_id=write_off_id, on=on)
    with uow:
        uow.journal.lock_head()
        wo = uow.loans.write_off(write_off_id)
        original = replay(uow, idempotency_key, "write_off", request)
        if original:
            return MoneyResult(uow.loans.get(wo.loan_id), original, True)
        if wo.status != "proposed":
            raise Conflict(f"write-off {write_off_id} is already {wo.status}", "status")
        if actor.name == wo.proposed_by:
            raise PermissionDenied("you proposed this write-off; another treasurer must approve")
        loan = uow.loans.get(wo.loan_id, lock=True)
        target = next_status(loan.status, LoanAction.WRITE_OFF)
        assert target is not None
        _check_after_payout(loan, on, uow.loans.payout_date(loan))
        b, _, _ = _position(uow, loan)
        if b.ledger_loan <= 0:
            raise Conflict(f"loan {loan.id} has nothing outstanding to write off", "status")
        # With it goes a refunded debt (a refund whose payment bounced), owed on 2100.
        debt = max(-b.ledger_credit, 0)
        cur = loan.currency
        legs: tuple[Leg, ...] = (
            Leg.debit(
                _code(uow, AccountRole.LOAN_LOSSES, cur), from_minor(b.ledger_loan + debt, cur)
            ),
            Leg.credit(loan.account_code, from_minor(b.ledger_loan, cur)),
        )
        if debt:
            legs += (
                Leg.credit(_code(uow, AccountRole.BENEFICIARY_CREDIT, cur), from_minor(debt, cur)),
            )
        draft = EntryDraft(
            on,
            # Generic: the journal is hashed and kept for ever; the reason is in write_offs.
            f"Loan {loan.id} written off (write-off #{wo.id})",
            EntryKind.WRITE_OFF,
            legs,
            loan_id=loan.id,
            idempotency_key=idempotency_key,
        )
        posted = post_in(uow, actor, [draft], command="write_off", requests=[request])[0]
        uow.loans.decide_write_off(
            write_off_id,
            status="approved",
            actor=actor.name,
            now=uow.now(),
            entry_id=posted.entry.id,
        )
        loan = _transition(
            uow,
            actor,
            loan,
            LoanAction.WRITE_OFF,
            target,
            reason=wo.reason,
            entry_id=posted.entry.id,
            written_off=True,
        )
        uow.commit()
    return MoneyResult(loan, posted.entry, False)


def reject_write_off(uow: UnitOfWork, actor: Actor, write_off_id: int, reason: str) -> WriteOff:
    actor.require(Permission.WRITE_OFF_APPROVE)
    why = _reason(reason)
    with uow:
        wo = uow.loans.write_off(write_off_id)
        if wo.status != "proposed":
            raise Conflict(f"write-off {write_off_id} is already {wo.status}", "status")
        uow.loans.decide_write_off(
            write_off_id, status="rejected", actor=actor.name, now=uow.now(), entry_id=None
        )
        uow.audit.record(
            at=uow.now(),
            actor=actor.name,
            action="write_off_rejected",
            target=f"loan:{wo.loan_id}",
            details={"reason": why},
        )
        uow.commit()
        return uow.loans.write_off(write_off_id)


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstallmentView:
    number: int
    due_date: date
    amount: int
    paid: int

    @property
    def remaining(self) -> int:
        return self.amount - self.paid


@dataclass(frozen=True, slots=True)
class LoanView:
    loan: Loan
    as_of: date
    schedule_version: int
    installments: tuple[InstallmentView, ...]
    outstanding: int
    credit: int
    arrears: Arrears
    payments: tuple[tuple[int, date, int, str, bool], ...]  # entry, date, amount, kind, reversed
    events: tuple[LoanEvent, ...]
    decision: StoredDecision | None
    pending_write_off: WriteOff | None
    lease: Lease | None  # personal data: only for roles that may see it


def get_loan(uow: UnitOfWork, actor: Actor, loan_id: str, as_of: date | None = None) -> LoanView:
    """A loan as of a date (today by default): schedule with what is paid, arrears, history."""
    actor.require(Permission.LOANS_READ)
    with uow:
        loan = uow.loans.get(loan_id)
        day = as_of or uow.today()
        # As the loan stood that day: the schedule version in force, the payments booked by
        # then and not reversed by then.
        version, schedule = uow.loans.schedule(loan_id, uow.loans.schedule_version_on(loan_id, day))
        all_pays = uow.loans.payments(
            loan_id,
            kinds=("repayment", "deposit_release", "refund", "recovery"),
            include_reversed=True,
        )
        valid = [p for p, _, _ in uow.loans.payments(loan_id, as_of=day)]
        alloc = allocate(schedule.installments, valid)
        views = tuple(
            InstallmentView(i.number, i.due_date, i.minor, paid)
            for i, paid in zip(schedule.installments, alloc.paid, strict=True)
        )
        total = sum(i.minor for i in schedule.installments)
        lease = None
        if actor.can(Permission.PERSONAL_READ):
            lease = uow.loans.lease(loan_id)
            uow.audit.record(
                at=uow.now(),
                actor=actor.name,
                action="read_personal_data",
                target=f"loan:{loan_id}",
            )
            uow.commit()
        disbursed = loan.status in DISBURSED
        return LoanView(
            loan=loan,
            as_of=day,
            schedule_version=version,
            installments=views,
            # A refunded debt (a refund whose payment bounced) is owed too.
            outstanding=total - alloc.total_paid + alloc.debt
            if disbursed and not loan.written_off
            else 0,
            credit=alloc.credit,
            arrears=arrears(schedule.installments, valid, day)
            if disbursed
            else arrears((), [], day),
            payments=tuple((p.key, p.on, p.minor, kind, rev) for p, kind, rev in all_pays),
            events=tuple(uow.loans.events(loan_id)),
            decision=_as_seen_by(actor, uow.loans.latest_decision(loan_id)),
            pending_write_off=uow.loans.pending_write_off(loan_id),
            lease=lease,
        )


def list_loans(
    uow: UnitOfWork,
    actor: Actor,
    *,
    status: LoanStatus | None = None,
    beneficiary_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Loan], int]:
    actor.require(Permission.LOANS_READ)
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1 to 500 and offset not negative", "limit")
    with uow:
        return uow.loans.page(
            status=status, beneficiary_id=beneficiary_id, limit=limit, offset=offset
        )


@dataclass(frozen=True, slots=True)
class Portfolio:
    as_of: date
    currency: str
    loans: int
    outstanding: int
    buckets: dict[str, tuple[int, int]]  # bucket -> (loans, outstanding)
    par30: int  # outstanding of loans more than 30 days late

    @property
    def par30_ratio(self) -> str:
        """PAR30 as a percentage with two decimals (exact decimal text, not a float)."""
        if not self.outstanding:
            return "0.00"
        from decimal import ROUND_HALF_EVEN, Decimal

        ratio = Decimal(self.par30) * 100 / Decimal(self.outstanding)
        return str(ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def portfolio(uow: UnitOfWork, actor: Actor, as_of: date, currency: str) -> Portfolio:
    """Arrears aging and PAR30 of loans being repaid, as of any date."""
    actor.require(Permission.LOANS_READ)
    with uow:
        return portfolio_in(uow, as_of, currency)


def portfolio_in(uow: UnitOfWork, as_of: date, currency: str) -> Portfolio:
    """``portfolio`` inside an open unit of work (the caller checks the permission)."""
    counts: Counter[str] = Counter()
    sums: Counter[str] = Counter()
    total = at_risk = n = 0
    # A loan written off since then was still in the portfolio on that day (the repository
    # leaves out those written off by ``as_of``).
    for _lid, cur, insts, pays in uow.loans.portfolio(
        [LoanStatus.ACTIVE, LoanStatus.CLOSED, LoanStatus.OVERPAID, LoanStatus.WRITTEN_OFF],
        as_of=as_of,
    ):
        if cur != currency or not insts:
            continue
        a = arrears(insts, pays, as_of)
        if a.outstanding <= 0:
            continue
        n += 1
        name = bucket(a.days_past_due).value
        counts[name] += 1
        sums[name] += a.outstanding
        total += a.outstanding
        if a.days_past_due > 30:
            at_risk += a.outstanding
    return Portfolio(
        as_of, currency, n, total, {b: (counts[b], sums[b]) for b in _BUCKET_NAMES}, at_risk
    )


_BUCKET_NAMES = ("current", "1-30", "31-60", "61-90", "91-180", "181-360", ">360")


def balances_of(uow: UnitOfWork, actor: Actor, loan_id: str) -> Balances:
    actor.require(Permission.LOANS_READ)
    with uow:
        loan = uow.loans.get(loan_id)
        return _position(uow, loan)[0]
