"""Applications and eligibility: opened, amended, checked against the rules, submitted."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ledger.domain.accounts import AccountRole
from ledger.domain.eligibility import (
    PERSONAL_RULES,
    ApplicationFacts,
    Decision,
    decide,
    facts_from_record,
)
from ledger.domain.errors import (
    Conflict,
    PermissionDenied,
    ValidationError,
)
from ledger.domain.idempotency import check_same_request
from ledger.domain.loans import (
    Lease,
    Loan,
    LoanAction,
    LoanTerms,
    StoredDecision,
    loan_id_for,
    next_status,
)
from ledger.domain.money import Money, from_minor
from ledger.domain.policy import LoanPolicy
from ledger.domain.references import reference_for
from ledger.domain.roles import Actor, Permission
from ledger.domain.schedule import (
    Schedule,
    build_schedule,
)
from ledger.domain.statuses import LoanStatus
from ledger.services.loans.approvals import _void_contract, own_application
from ledger.services.loans.common import OPEN_STATUSES, _reason, _transition
from ledger.store.uow import UnitOfWork


def _schedule_for(terms: LoanTerms) -> Schedule:
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
            key="err.application.after_lease",
            params={"maturity": schedule.maturity, "lease_end": terms.lease_end},
        )


#: The longest idempotency key an application may carry (the column's size).
MAX_KEY = 64


def open_application(
    uow: UnitOfWork,
    actor: Actor,
    beneficiary_id: str,
    terms: LoanTerms,
    lease: Lease,
    policy: LoanPolicy,
    *,
    idempotency_key: str | None = None,
) -> Loan:
    """A new draft application. With an ``idempotency_key`` (the web form's), the same form
    sent again gets the loan it opened the first time, not a second one; the key reused for
    another person or other terms is refused (IdempotencyConflict)."""
    actor.require(Permission.LOANS_APPLY)
    _check_lease_texts(lease)
    schedule = _schedule_for(terms)
    _check_lease(terms, schedule)
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_KEY:
        raise ValidationError(
            f"an idempotency key has 1 to {MAX_KEY} characters", "idempotency_key"
        )
    with uow:
        uow.journal.lock_head()  # loan numbers are handed out one at a time
        if idempotency_key is not None:
            first = uow.loans.by_opening_key(idempotency_key)
            if first is not None:
                check_same_request(
                    {"beneficiary_id": first.beneficiary_id, "by": first.created_by},
                    {"beneficiary_id": beneficiary_id, "by": actor.name},
                    first_use=f"Idempotency-Key {idempotency_key} first opened {first.id}",
                    new="application",
                )
                return first
        person = uow.beneficiaries.get(beneficiary_id)
        if person.erased:
            raise Conflict(
                f"the personal data of {beneficiary_id} was erased",
                "beneficiary_id",
                key="err.person.erased",
            )
        if person.currency != terms.currency:
            raise ValidationError(
                f"the fund lends in {person.currency}, not {terms.currency}",
                "deposit",
                key="err.application.currency",
                params={"currency": person.currency},
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
        uow.loans.add_loan(loan, lease, now=uow.now(), opening_key=idempotency_key)
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
        uow.audit_event(actor, action="loan_open", target=f"loan:{loan.id}")
        uow.commit()
    return loan


def _check_lease_texts(lease: Lease) -> None:
    if lease.landlord_name is not None and len(lease.landlord_name) > 200:
        raise ValidationError(
            "the landlord's name is longer than 200 characters",
            "landlord",
            key="err.application.landlord_long",
            params={"most": 200},
        )
    if lease.property_address is not None and len(lease.property_address) > 500:
        raise ValidationError(
            "the address is longer than 500 characters",
            "address",
            key="err.application.address_long",
            params={"most": 500},
        )


def amend_application(
    uow: UnitOfWork, actor: Actor, loan_id: str, terms: LoanTerms, lease: Lease
) -> Loan:
    """Change a draft's terms; a new schedule version replaces the old one (kept as history)."""
    actor.require(Permission.LOANS_APPLY)
    _check_lease_texts(lease)
    schedule = _schedule_for(terms)
    _check_lease(terms, schedule)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        if loan.status is not LoanStatus.DRAFT:
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}; only a draft can be changed",
                "status",
                key="err.application.not_draft",
                params={"loan": loan_id, "status": loan.status},
            )
        if terms.currency != loan.currency:
            raise ValidationError(
                f"the loan is in {loan.currency}",
                "deposit",
                key="err.application.currency",
                params={"currency": loan.currency},
            )
        loan = uow.loans.update_terms(loan, terms)
        uow.loans.update_lease(loan_id, lease)
        uow.loans.add_schedule(
            loan_id, schedule, reason="application amended", actor=actor.name, now=uow.now()
        )
        loan = _void_contract(uow, actor, loan, "application amended")
        uow.audit_event(actor, action="loan_amend", target=f"loan:{loan_id}")
        uow.commit()
    return loan


def _facts(uow: UnitOfWork, loan: Loan, schedule: Schedule) -> ApplicationFacts:
    return _facts_of(uow, loan.beneficiary_id, loan.terms, schedule, loan_id=loan.id)


def _facts_of(
    uow: UnitOfWork, beneficiary_id: str, terms: LoanTerms, schedule: Schedule, *, loan_id: str
) -> ApplicationFacts:
    """The facts the rules look at, for an application of ``terms`` (``loan_id``: the loan
    itself, left out of the person's other loans and of the cash committed; "" for none)."""
    person = uow.beneficiaries.get(beneficiary_id)
    if person.personal is None:
        raise Conflict(
            "the beneficiary's personal data was erased", "beneficiary_id", key="err.person.erased"
        )
    p = person.personal
    others = [ln for ln in uow.loans.of_beneficiary(beneficiary_id) if ln.id != loan_id]
    cur = terms.currency
    bank = uow.accounts.by_role(AccountRole.BANK, cur)
    committed = uow.loans.committed_minor(
        cur, (LoanStatus.APPROVED, LoanStatus.CONTRACT_SIGNED), exclude=loan_id
    )
    return ApplicationFacts(
        deposit=terms.deposit,
        monthly_rent=terms.monthly_rent,
        jurisdiction=terms.jurisdiction,
        lease_start=terms.lease_start,
        lease_end=terms.lease_end,
        installments=len(schedule.installments),
        installment=schedule.installments[0].amount,
        monthly_net_income=p.monthly_net_income,
        own_savings=p.own_savings,
        permit_end=p.permit_end_date,
        has_permit_status=p.residence_status is not None,
        other_open_loans=sum(1 for ln in others if ln.status in OPEN_STATUSES),
        past_write_offs=sum(1 for ln in others if ln.written_off),
        public_alternatives=terms.public_alternatives,
        available_cash=from_minor(bank.balance_minor - committed, cur),
        decision_date=uow.today(),
        first_due=schedule.installments[0].due_date,
    )


def preview_eligibility(
    uow: UnitOfWork,
    actor: Actor,
    beneficiary_id: str,
    terms: LoanTerms,
    policy: LoanPolicy,
    *,
    loan_id: str | None = None,
    record_read: bool = True,
) -> Decision:
    """The rules run on an application as it is being typed, before it is saved (``loan_id``:
    the draft being changed, if any): nothing is stored but the audit record of the personal
    data read (the person's income, savings and permit, which the reasons quote). The decision
    that counts is the one ``submit`` or ``check_eligibility`` stores.

    ``record_read=False``: the read is part of a view that has recorded its read of this
    person already (the web form's live check: the form's page recorded it), so nothing is
    written, and the unit of work may be read-only."""
    actor.require(Permission.LOANS_APPLY)
    actor.require(Permission.PERSONAL_READ)
    schedule = _schedule_for(terms)
    with uow:
        if loan_id is not None:
            loan = uow.loans.get(loan_id)
            if loan.beneficiary_id != beneficiary_id:
                raise ValidationError(f"loan {loan_id} is not this person's", "beneficiary_id")
        facts = _facts_of(uow, beneficiary_id, terms, schedule, loan_id=loan_id or "")
        if record_read:
            uow.audit_event(
                actor,
                action="read_personal_data",
                target=f"person:{beneficiary_id}",
                details={"for": "eligibility_preview"},
            )
            uow.commit()
    return decide(facts, policy.rules)


def stored_reasons(decision: StoredDecision, currency: str, policy: LoanPolicy) -> Decision | None:
    """A stored decision's results again, each with its reason as data (``RuleResult.code``
    and ``values``) for the screens to word: the rules run once more on the facts recorded
    with it. None when that cannot give the same decision (facts withheld or erased, or the
    fund's rules changed since: another fingerprint)."""
    if decision.facts is None or decision.rules_fingerprint != policy.rules.fingerprint:
        return None
    facts = facts_from_record(decision.facts, currency)
    if facts is None:
        return None
    again = decide(facts, policy.rules)
    stored = [(r["rule"], r["outcome"]) for r in decision.results]
    if again.outcome.value != decision.outcome or stored != [
        (r.rule, r.outcome.value) for r in again.results
    ]:
        return None
    return again


def _decide(uow: UnitOfWork, actor: Actor, loan: Loan, policy: LoanPolicy) -> StoredDecision:
    _, schedule = uow.loans.schedule(loan.id)
    facts = _facts(uow, loan, schedule)
    decision = decide(facts, policy.rules)
    recorded = {
        k: (str(v.amount) if isinstance(v, Money) else v) for k, v in vars_of(facts).items()
    }
    uow.loans.add_decision(loan.id, decision, recorded, actor=actor.name, now=uow.now())
    stored = uow.loans.latest_decision(loan.id)
    if stored is None:
        raise RuntimeError(f"the eligibility decision of {loan.id} cannot be read back")
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
                key="err.application.decided",
                params={"loan": loan_id, "status": loan.status},
            )
        stored = _decide(uow, actor, loan, policy)
        uow.audit_event(
            actor,
            action="loan_eligibility",
            target=f"loan:{loan_id}",
            details={"outcome": stored.outcome},
        )
        uow.commit()
    shown = _as_seen_by(actor, stored)
    if shown is None:
        raise RuntimeError(f"the eligibility decision of {loan_id} cannot be read back")
    return shown


def submit(
    uow: UnitOfWork,
    actor: Actor,
    loan_id: str,
    policy: LoanPolicy,
    *,
    exception_request: str | None = None,
) -> Loan:
    """Submit for approval; eligibility is decided (and stored) as part of it.
    ``exception_request``: why the fund should lend although a rule is not met, written by the
    caseworker for the supervisor who may override the decision; kept as the reason of the
    submission in the loan's history."""
    actor.require(Permission.LOANS_APPLY)
    why = _reason(exception_request, required=False)
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        target = next_status(loan.status, LoanAction.SUBMIT)
        _decide(uow, actor, loan, policy)
        loan = _transition(
            uow, actor, loan, LoanAction.SUBMIT, target, reason=why, submitted_by=actor.name
        )
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
        if own_application(actor, loan):
            raise PermissionDenied(
                "you opened or submitted this application; another supervisor must decide",
                key="err.override.own",
            )
        decision = uow.loans.latest_decision(loan_id)
        if decision is None:
            raise Conflict(
                "no eligibility decision yet; submit the application first",
                "status",
                key="err.override.no_decision",
            )
        if decision.outcome == "pass":
            raise Conflict(
                "the application passed; there is nothing to override",
                "outcome",
                key="err.override.passed",
            )
        if decision.override_by is not None:
            raise Conflict(
                f"already overridden by {decision.override_by}",
                "outcome",
                key="err.override.done",
                params={"user": decision.override_by},
            )
        uow.loans.override_decision(decision.id, actor=actor.name, reason=why or "", now=uow.now())
        uow.audit_event(
            actor,
            action="eligibility_override",
            target=f"loan:{loan_id}",
            details={"outcome": decision.outcome},
        )
        uow.commit()
        stored = _as_seen_by(actor, uow.loans.latest_decision(loan_id))
    if stored is None:
        raise RuntimeError(f"the eligibility decision of {loan_id} cannot be read back")
    return stored
