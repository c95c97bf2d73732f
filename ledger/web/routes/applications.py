"""Applications: a new one for a person, a draft changed, submitted for approval; the fund's
rules checked as the caseworker types (nothing stored), the stored decision shown, and an
admin's override of a decision that fails or needs review.

Every rule and amount is the services': this module reads the form, calls them, and words
their answers (``RuleResult.code`` and ``values``) in the user's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from markupsafe import Markup

from ledger.domain.eligibility import Decision, Outcome, PublicAlternatives, RuleResult
from ledger.domain.errors import IdempotencyConflict, ValidationError
from ledger.domain.loans import DepositForm, Lease, LoanTerms
from ledger.domain.money import Money
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Permission
from ledger.domain.schedule import MAX_INSTALLMENTS
from ledger.domain.statuses import LoanStatus
from ledger.services import loans
from ledger.services.loans import LoanView
from ledger.web.i18n import WebText
from ledger.web.render import form_key, page, redirect
from ledger.web.routes.beneficiaries import (
    REFUSALS,
    FormValues,
    PersonId,
    read_amount,
    read_count,
    read_date,
    refusal,
)
from ledger.web.session import Checked, WebUser, needs, read_key, read_key_ok, runtime_of

router = APIRouter()

#: For a form's POST (with ``Checked``): the role may open applications and see the person,
#: refused before the form is read (the services check again).
Applying = Annotated[WebUser, needs(Permission.LOANS_APPLY, Permission.PERSONAL_READ)]
LoanId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")]

FIELDS = (
    "monthly_rent",
    "deposit",
    "jurisdiction",
    "deposit_form",
    "lease_start",
    "lease_end",
    "first_due_date",
    "installments",
    "landlord",
    "address",
    "landlord_iban",
    "public_alternatives",
)
#: What the check needs before it can run (the rest has a default or is optional).
NEEDED_FOR_CHECK = ("monthly_rent", "deposit", "lease_start", "first_due_date", "installments")

#: The services' refusals of an application's fields, worded for the screen where the field
#: has one reason to be refused.
TERMS_ERRORS = {
    "lease_end": "apply.error.lease_end",
    "first_due_date": "apply.error.first_due",
    "installments": "apply.error.after_lease",
    "landlord_iban": "apply.error.iban",
    "landlord": "apply.error.landlord",
    "address": "apply.error.address",
    "jurisdiction": "apply.error.jurisdiction",
    "status": "apply.error.not_draft",
    "beneficiary_id": "apply.error.erased",
}
OVERRIDE_ERRORS = {
    "status": "apply.error.no_decision",
    "outcome": "apply.error.nothing_to_accept",
}
MAX_REASON = loans.MAX_REASON


@dataclass(frozen=True, slots=True)
class RuleLine:
    """One rule of the fund as the screen shows it."""

    rule: str
    outcome: str
    title: str
    reason: Markup


@dataclass(frozen=True, slots=True)
class CheckView:
    """The check's panel: the decision's rules, or what is still missing or wrong."""

    outcome: str | None = None
    lines: tuple[RuleLine, ...] = ()
    missing: tuple[str, ...] = ()  # labels of fields still empty
    problems: tuple[tuple[str, str], ...] = ()  # (label, message)


# -- a new application ------------------------------------------------------------------------


@router.get("/beneficiaries/{person_id}/applications/new")
def new_application(
    request: Request,
    person_id: PersonId,
    user: WebUser = needs(Permission.LOANS_APPLY, Permission.PERSONAL_READ),
) -> Response:
    person = loans.read_beneficiary(runtime_of(request).unit_of_work(), user.actor, person_id)
    if person.personal is None:
        return redirect(f"/beneficiaries/{person.id}")
    policy = runtime_of(request).policy
    values = {
        "jurisdiction": _default_region(policy),
        "deposit_form": DepositForm.BLOCKED_ACCOUNT.value,
        "public_alternatives": PublicAlternatives.NOT_TRIED.value,
    }
    return _form_page(
        request,
        user,
        person_id=person.id,
        name=person.personal.full_name,
        loan_id=None,
        values=values,
        errors={},
        check=CheckView(missing=_labels(user.text, NEEDED_FOR_CHECK)),
        opening_key=form_key(),
    )


@router.post("/beneficiaries/{person_id}/applications/new")
def create_application(
    request: Request, person_id: PersonId, user: Checked, form: FormValues, _: Applying
) -> Response:
    runtime = runtime_of(request)
    action = form.get("action", "draft")
    errors: dict[str, str] = {}
    read = read_application(user.text, form, runtime.settings.currency, errors)
    key = form.get("idempotency_key", "").strip() or form_key()
    if read is not None and action != "check":
        terms, lease = read
        try:
            loan = loans.open_application(
                runtime.unit_of_work(),
                user.actor,
                person_id,
                terms,
                lease,
                runtime.policy,
                idempotency_key=key,
            )
        except IdempotencyConflict:
            errors["form"] = user.text.text("apply.sent_for_another")
            key = form_key()
        except REFUSALS as exc:
            refusal(user.text, exc, errors, TERMS_ERRORS, FIELDS)
        else:
            if loan.status is not LoanStatus.DRAFT:  # sent again after it was submitted
                return redirect(
                    f"/loans/{loan.id}", flash=("flash.apply_sent_before", {"loan": loan.id})
                )
            if action == "submit":
                return _submit(request, user, loan.id, form.get("exception_request"))
            saved = ("flash.apply_draft_saved", {"loan": loan.id})
            return redirect(f"/applications/{loan.id}/edit", flash=saved)
    person = loans.read_beneficiary(runtime.unit_of_work(), user.actor, person_id)
    check = _check(request, user, person_id, None, form, read_recorded=True)
    return _form_page(
        request,
        user,
        person_id=person_id,
        name=person.personal.full_name if person.personal else person_id,
        loan_id=None,
        values=form,
        errors=errors,
        check=check,
        status=422 if errors else 200,
        opening_key=key,
    )


@router.post("/beneficiaries/{person_id}/applications/check")
def check_new(
    request: Request, person_id: PersonId, user: Checked, form: FormValues, _: Applying
) -> Response:
    """The check's panel (htmx), for an application not saved yet: nothing is stored."""
    return _check_panel(request, user, _check(request, user, person_id, None, form))


# -- a draft ------------------------------------------------------------------------------------


@router.get("/applications/{loan_id}/edit")
def edit_application(
    request: Request,
    loan_id: LoanId,
    user: WebUser = needs(Permission.LOANS_APPLY, Permission.PERSONAL_READ),
) -> Response:
    runtime = runtime_of(request)
    view, person = loans.loan_page(runtime.unit_of_work(), user.actor, loan_id)
    if view.loan.status is not LoanStatus.DRAFT:
        return redirect(f"/applications/{loan_id}")
    values = _values_of(user.text, view)
    return _form_page(
        request,
        user,
        person_id=person.id,
        name=person.personal.full_name if person.personal else person.id,
        loan_id=loan_id,
        values=values,
        errors={},
        check=_check(request, user, person.id, loan_id, values, read_recorded=True),
    )


@router.post("/applications/{loan_id}/edit")
def update_application(
    request: Request, loan_id: LoanId, user: Checked, form: FormValues, _: Applying
) -> Response:
    runtime = runtime_of(request)
    action = form.get("action", "save")
    errors: dict[str, str] = {}
    read = read_application(user.text, form, runtime.settings.currency, errors)
    if read is not None and action != "check":
        terms, lease = read
        try:
            loans.amend_application(runtime.unit_of_work(), user.actor, loan_id, terms, lease)
        except REFUSALS as exc:
            refusal(user.text, exc, errors, TERMS_ERRORS, FIELDS)
        else:
            if action == "submit":
                return _submit(request, user, loan_id, form.get("exception_request"))
            return redirect(
                f"/applications/{loan_id}/edit", flash=("flash.apply_saved", {"loan": loan_id})
            )
    _view, person = loans.loan_page(runtime.unit_of_work(), user.actor, loan_id)
    return _form_page(
        request,
        user,
        person_id=person.id,
        name=person.personal.full_name if person.personal else person.id,
        loan_id=loan_id,
        values=form,
        errors=errors,
        check=_check(request, user, person.id, loan_id, form, read_recorded=True),
        status=422 if errors else 200,
    )


@router.post("/applications/{loan_id}/check")
def check_draft(
    request: Request, loan_id: LoanId, user: Checked, form: FormValues, _: Applying
) -> Response:
    """The check's panel (htmx) for a draft being changed: nothing is stored."""
    person_id = form.get("beneficiary_id", "")  # the service checks it is the loan's
    return _check_panel(request, user, _check(request, user, person_id, loan_id, form))


def _submit(
    request: Request, user: WebUser, loan_id: str, exception_request: str | None = None
) -> Response:
    """Submit a saved draft; the decision is stored on the way, and the message after the
    redirect says whether an admin must look at it first. If the service refuses, the draft
    stays and its page is shown again."""
    runtime = runtime_of(request)
    try:
        loans.submit(
            runtime.unit_of_work(),
            user.actor,
            loan_id,
            runtime.policy,
            exception_request=exception_request,
        )
    except REFUSALS:
        return redirect(
            f"/applications/{loan_id}/edit", flash=("flash.apply_not_submitted", {"loan": loan_id})
        )
    view = loans.get_loan(runtime.unit_of_work(), user.actor, loan_id)
    decision = view.decision
    key = "flash.apply_submitted"
    if decision is not None and not decision.accepted:
        key = f"flash.apply_submitted_{decision.outcome}"
    return redirect(f"/loans/{loan_id}", flash=(key, {"loan": loan_id}))


# -- an application's page: the stored decision, and an admin's override -----------------------


@router.get("/applications/{loan_id}")
def application_page(
    request: Request,
    loan_id: LoanId,
    user: WebUser = needs(Permission.LOANS_APPLY, Permission.PERSONAL_READ),
) -> Response:
    return _application(request, user, loan_id, errors={}, reason="")


@router.post("/applications/{loan_id}/override")
def override(
    request: Request,
    loan_id: LoanId,
    user: Checked,
    form: FormValues,
    _: Annotated[WebUser, needs(Permission.ELIGIBILITY_OVERRIDE)],
) -> Response:
    runtime = runtime_of(request)
    reason = form.get("reason", "").strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = user.text.text("apply.error.reason")
    elif len(reason) > MAX_REASON:
        errors["reason"] = user.text.text("apply.error.reason_long", most=MAX_REASON)
    else:
        try:
            loans.override_eligibility(runtime.unit_of_work(), user.actor, loan_id, reason)
        except REFUSALS as exc:
            refusal(user.text, exc, errors, OVERRIDE_ERRORS, ("reason",))
        else:
            return redirect(
                f"/applications/{loan_id}", flash=("flash.apply_overridden", {"loan": loan_id})
            )
    return _application(request, user, loan_id, errors=errors, reason=reason, status=422)


def _application(
    request: Request,
    user: WebUser,
    loan_id: str,
    *,
    errors: Mapping[str, str],
    reason: str,
    status: int = 200,
) -> Response:
    runtime = runtime_of(request)
    view, person = loans.loan_page(runtime.unit_of_work(), user.actor, loan_id)
    loan = view.loan
    decision = view.decision
    lines: tuple[RuleLine, ...] = ()
    if decision is not None:
        again = loans.stored_reasons(decision, loan.currency, runtime.policy)
        if again is not None:
            lines = _lines(user.text, again.results)
        else:  # the rules changed since: their outcomes, with the reasons as stored
            lines = _in_order(
                RuleLine(
                    str(r["rule"]),
                    str(r["outcome"]),
                    _rule_title(user.text, str(r["rule"])),
                    Markup.escape(r["reason"] or ""),
                )
                for r in decision.results
            )
    own_case = user.actor.name in (loan.created_by, loan.submitted_by)
    may_override = (
        decision is not None
        and decision.outcome != Outcome.PASS.value
        and decision.override_by is None
        and user.can(Permission.ELIGIBILITY_OVERRIDE)
        and loan.status in (LoanStatus.DRAFT, LoanStatus.SUBMITTED)
    )
    return page(
        request,
        "applications/view.html",
        user=user,
        text=user.text,
        status_code=status,
        view=view,
        loan=loan,
        person=person,
        decision=decision,
        lines=lines,
        may_override=may_override,
        own_case=own_case,
        errors=errors,
        reason=reason,
        region=region_name(user.text, loan.terms.jurisdiction),
        max_reason=MAX_REASON,
    )


# -- the check ----------------------------------------------------------------------------------


def _check(
    request: Request,
    user: WebUser,
    person_id: str,
    loan_id: str | None,
    form: Mapping[str, str],
    *,
    read_recorded: bool = False,
) -> CheckView:
    """The fund's rules on the application as typed (nothing stored), or what is missing.

    The check reads the person's income, savings and permit, which its reasons quote: a read
    of personal data, audited once per view of the form. The form's page records it (it reads
    the person), and gives the form a key of that person for this session (``read_key``): a
    check sent with it is part of that view and records nothing more (and so needs no write
    transaction); one without it, or for another person, records its read. ``read_recorded``:
    this request has already recorded it."""
    t = user.text
    missing = [name for name in NEEDED_FOR_CHECK if not form.get(name, "").strip()]
    if missing:
        return CheckView(missing=_labels(t, missing))
    runtime = runtime_of(request)
    errors: dict[str, str] = {}
    terms = read_terms(t, form, runtime.settings.currency, errors)
    if terms is not None:
        recorded = read_recorded or read_key_ok(user, person_id, form.get("read_key", ""))
        try:
            decision = loans.preview_eligibility(
                runtime.unit_of_work(readonly=recorded),
                user.actor,
                person_id,
                terms,
                runtime.policy,
                loan_id=loan_id,
                record_read=not recorded,
            )
        except REFUSALS as exc:
            refusal(t, exc, errors, TERMS_ERRORS, FIELDS)
        else:
            return _check_view(t, decision)
    return CheckView(problems=tuple((_label(t, name), message) for name, message in errors.items()))


def _check_view(t: WebText, decision: Decision) -> CheckView:
    return CheckView(outcome=decision.outcome.value, lines=_lines(t, decision.results))


def _check_panel(request: Request, user: WebUser, check: CheckView) -> Response:
    return page(request, "applications/_check.html", user=user, text=user.text, check=check)


#: What the reader must act on first: the rules that fail, then those to look at.
ORDER = {Outcome.FAIL.value: 0, Outcome.REVIEW.value: 1, Outcome.PASS.value: 2}


def _lines(t: WebText, results: tuple[RuleResult, ...]) -> tuple[RuleLine, ...]:
    return _in_order(
        RuleLine(r.rule, r.outcome.value, _rule_title(t, r.rule), reason_of(t, r)) for r in results
    )


def _in_order(lines: Iterable[RuleLine]) -> tuple[RuleLine, ...]:
    return tuple(sorted(lines, key=lambda line: ORDER.get(line.outcome, 0)))


def reason_of(t: WebText, result: RuleResult) -> Markup:
    """A rule's reason in the user's language, its figures in their formats; the service's
    English words for a case the screens do not know yet."""
    key = f"apply.rule.{result.rule}.{result.code}"
    if not result.code or not t.has(key):
        return Markup.escape(result.reason)
    return t(key, **{name: _shown(t, name, v) for name, v in result.values.items()})


def _shown(t: WebText, name: str, value: Money | int | Decimal | date | str) -> str:
    if isinstance(value, Money):
        return t.amount(value)
    if isinstance(value, date):
        return t.day(value)
    if isinstance(value, int | Decimal):
        return t.number(value)
    return region_name(t, value) if name == "jurisdiction" else value


def _rule_title(t: WebText, rule: str) -> str:
    key = f"apply.rule.{rule}"
    return t.text(key) if t.has(key) else rule


def region_name(t: WebText, code: str) -> str:
    key = f"apply.region.{code}"
    return t.text(key) if t.has(key) else code


# -- reading the form ---------------------------------------------------------------------------


def read_terms(
    t: WebText, form: Mapping[str, str], currency: str, errors: dict[str, str]
) -> LoanTerms | None:
    """The application's terms as typed, or None with ``errors`` filled."""
    rent = read_amount(t, form, "monthly_rent", currency, errors, required=True)
    deposit = read_amount(t, form, "deposit", currency, errors, required=True)
    jurisdiction = form.get("jurisdiction", "").strip()
    if not jurisdiction:
        errors["jurisdiction"] = t.text("form.required")
    lease_start = read_date(t, form, "lease_start", errors, required=True)
    lease_end = read_date(t, form, "lease_end", errors, required=False)
    first_due = read_date(t, form, "first_due_date", errors, required=True)
    count = read_count(t, form, "installments", errors, required=True, top=MAX_INSTALLMENTS)
    try:
        deposit_form = DepositForm(form.get("deposit_form", ""))
    except ValueError:
        errors["deposit_form"] = t.text("apply.error.choose")
    try:
        tried = PublicAlternatives(form.get("public_alternatives", ""))
    except ValueError:
        errors["public_alternatives"] = t.text("apply.error.choose")
    if errors:
        return None
    assert rent and deposit and lease_start and first_due and count  # read, or an error above
    try:
        return LoanTerms(
            deposit=deposit,
            monthly_rent=rent,
            jurisdiction=jurisdiction,
            deposit_form=deposit_form,
            lease_start=lease_start,
            lease_end=lease_end,
            first_due_date=first_due,
            installments=count,
            public_alternatives=tried,
        )
    except ValidationError as exc:
        refusal(t, exc, errors, TERMS_ERRORS, FIELDS)
        return None


def read_application(
    t: WebText, form: Mapping[str, str], currency: str, errors: dict[str, str]
) -> tuple[LoanTerms, Lease] | None:
    """The terms and the lease (landlord, address, the landlord's IBAN) as typed."""
    terms = read_terms(t, form, currency, errors)
    try:
        lease = Lease(
            form.get("landlord", "").strip() or None,
            form.get("address", "").strip() or None,
            form.get("landlord_iban", "").strip() or None,
        )
    except ValidationError as exc:
        refusal(t, exc, errors, TERMS_ERRORS, FIELDS)
        return None
    return None if terms is None or errors else (terms, lease)


def _values_of(t: WebText, view: LoanView) -> dict[str, str]:
    terms, lease = view.loan.terms, view.lease
    return {
        "monthly_rent": t.amount_input(terms.monthly_rent),
        "deposit": t.amount_input(terms.deposit),
        "jurisdiction": terms.jurisdiction,
        "deposit_form": terms.deposit_form.value,
        "lease_start": terms.lease_start.isoformat(),
        "lease_end": terms.lease_end.isoformat() if terms.lease_end else "",
        "first_due_date": terms.first_due_date.isoformat(),
        "installments": str(terms.installments or len(view.installments)),
        "landlord": (lease.landlord_name if lease else None) or "",
        "address": (lease.property_address if lease else None) or "",
        "landlord_iban": (lease.landlord_iban if lease else None) or "",
        "public_alternatives": terms.public_alternatives.value,
    }


def _labels(t: WebText, names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(_label(t, name) for name in names)


def _label(t: WebText, name: str) -> str:
    key = f"apply.field.{name}"
    return t.text(key) if t.has(key) else t.text("apply.field.form")


def _default_region(policy: LoanPolicy) -> str:
    regions = list(policy.rules.legal_max_months)
    return regions[0] if regions else ""


def _form_page(
    request: Request,
    user: WebUser,
    *,
    person_id: str,
    name: str,
    loan_id: str | None,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    check: CheckView,
    status: int = 200,
    opening_key: str | None = None,
) -> Response:
    """The application form; a new application's form carries the key (``opening_key``) that
    makes it open one loan however often it is sent."""
    t = user.text
    policy = runtime_of(request).policy
    regions = [(code, region_name(t, code)) for code in policy.rules.legal_max_months]
    chosen = values.get("jurisdiction", "")
    if chosen and chosen not in policy.rules.legal_max_months:
        regions.append((chosen, region_name(t, chosen)))
    return page(
        request,
        "applications/form.html",
        user=user,
        text=t,
        status_code=status,
        person_id=person_id,
        name=name,
        loan_id=loan_id,
        values={field: values.get(field, "") for field in FIELDS},
        errors=errors,
        check=check,
        regions=regions,
        deposit_forms=[(f.value, t.text(f"apply.deposit_form.{f.value}")) for f in DepositForm],
        alternatives=[
            (a.value, t.text(f"apply.alternatives.{a.value}")) for a in PublicAlternatives
        ],
        currency=runtime_of(request).settings.currency,
        max_installments=MAX_INSTALLMENTS,
        opening_key=opening_key,
        read_key=read_key(user, person_id),
    )
