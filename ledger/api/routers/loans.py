"""Loans: applications, decisions, payout, payments, schedules, write-offs and the portfolio.

Roles are enforced by the services; the summaries name them. Requests that move money need an
``Idempotency-Key`` header and answer 201, or 200 with ``Idempotent-Replayed: true`` on a retry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ledger.api.deps import (
    MAX_ID,
    CurrentActor,
    IdempotencyKey,
    Limit,
    Offset,
    ReadUoW,
    State,
    WriteUoW,
    audited_read_uow,
)
from ledger.api.loan_schemas import (
    MAX_ID_LENGTH,
    ArrearsListOut,
    DecisionOut,
    HolidayIn,
    LoanDetailOut,
    LoanIn,
    LoanMoneyOut,
    LoanOut,
    OnIn,
    OnReasonIn,
    PaymentIn,
    PortfolioOut,
    ReasonIn,
    ReleaseIn,
    ReleaseOut,
    RescheduleIn,
    ScheduleOut,
    SubmitIn,
    TermsIn,
    WriteOffOut,
)
from ledger.api.schemas import CurrencyCode, IsoDate, Page
from ledger.domain.errors import LedgerError
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Permission
from ledger.domain.statuses import LoanStatus
from ledger.services import loans
from ledger.services.loans import MoneyResult
from ledger.services.loans.arrears import MAX_PAGE as ARREARS_PAGE

router = APIRouter(tags=["loans"])

LoanId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH, examples=["L000001"])]
EntryId = Annotated[int, Path(ge=1, le=MAX_ID)]
WriteOffId = Annotated[int, Path(ge=1, le=MAX_ID)]
KEYED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A retry with the same Idempotency-Key and body: the first result, with "
        "the header `Idempotent-Replayed: true`; nothing is posted again",
    },
    201: {"description": "Posted"},
}


def loan_policy(state: State) -> LoanPolicy:
    """The fund's lending rules (``FUNDLEDGER_RULES_FILE``, else the defaults)."""
    return state.policy


Policy = Annotated[LoanPolicy, Depends(loan_policy)]


@contextmanager
def _booked_on() -> Iterator[None]:
    """The journal calls an entry's date booking_date; these requests call it ``on``."""
    try:
        yield
    except LedgerError as exc:
        if exc.field == "booking_date":
            exc.field = "on"
        raise


def _replayed(replayed: bool, response: Response) -> None:
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"


def _money(result: MoneyResult, request: Request, response: Response) -> LoanMoneyOut:
    _replayed(result.replayed, response)
    response.headers["Location"] = str(request.url_for("get_entry", entry_id=result.entry.id))
    return LoanMoneyOut.of(result)


# -- applications --------------------------------------------------------------------------


@router.post(
    "/loans", status_code=201, summary="Open a loan application (roles: admin, caseworker)"
)
def open_application(
    body: LoanIn,
    actor: CurrentActor,
    uow: WriteUoW,
    policy: Policy,
    request: Request,
    response: Response,
) -> LoanOut:
    loan = loans.open_application(
        uow, actor, body.beneficiary_id, body.to_terms(), body.to_lease(), policy
    )
    response.headers["Location"] = str(request.url_for("get_loan", loan_id=loan.id))
    return LoanOut.of(loan)


@router.get("/loans", summary="Loans, filtered and paged (roles: all)")
def list_loans(
    actor: CurrentActor,
    uow: ReadUoW,
    status: LoanStatus | None = None,
    beneficiary_id: Annotated[str | None, Query(min_length=1, max_length=MAX_ID_LENGTH)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[LoanOut]:
    items, total = loans.list_loans(
        uow, actor, status=status, beneficiary_id=beneficiary_id, limit=limit, offset=offset
    )
    return Page[LoanOut](
        items=[LoanOut.of(loan) for loan in items], total=total, limit=limit, offset=offset
    )


@router.get(
    "/loans/{loan_id}",
    summary="A loan as of a day: schedule with what is paid, arrears, payments, history; the "
    "landlord and address for caseworkers and admins only (roles: all)",
)
def get_loan(
    loan_id: LoanId,
    actor: CurrentActor,
    state: State,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD; default: today")] = None,
) -> LoanDetailOut:
    personal = actor.can(Permission.PERSONAL_READ)
    view = loans.get_loan(audited_read_uow(state, personal), actor, loan_id, as_of)
    return LoanDetailOut.of_view(view)


@router.put("/loans/{loan_id}", summary="Change a draft application (roles: admin, caseworker)")
def amend_application(
    loan_id: LoanId, body: TermsIn, actor: CurrentActor, uow: WriteUoW
) -> LoanOut:
    loan = loans.amend_application(uow, actor, loan_id, body.to_terms(), body.to_lease())
    return LoanOut.of(loan)


@router.post(
    "/loans/{loan_id}/eligibility",
    summary="Run the eligibility rules now and store the decision (roles: admin, caseworker)",
)
def check_eligibility(
    loan_id: LoanId, actor: CurrentActor, uow: WriteUoW, policy: Policy
) -> DecisionOut:
    return DecisionOut.of(loans.check_eligibility(uow, actor, loan_id, policy))


@router.post(
    "/loans/{loan_id}/eligibility/override",
    summary="Accept a failed or review decision with a written reason, never on one's own case "
    "(role: admin)",
)
def override_eligibility(
    loan_id: LoanId, body: ReasonIn, actor: CurrentActor, uow: WriteUoW
) -> DecisionOut:
    return DecisionOut.of(loans.override_eligibility(uow, actor, loan_id, body.reason))


@router.post(
    "/loans/{loan_id}/submit",
    summary="Submit for approval; eligibility is decided on the way (roles: admin, caseworker)",
)
def submit(
    loan_id: LoanId,
    actor: CurrentActor,
    uow: WriteUoW,
    policy: Policy,
    body: SubmitIn | None = None,
) -> LoanOut:
    request = body.exception_request if body is not None else None
    return LoanOut.of(loans.submit(uow, actor, loan_id, policy, exception_request=request))


@router.post(
    "/loans/{loan_id}/approve",
    summary="Approve, by someone other than who submitted it (roles: admin, caseworker)",
)
def approve(loan_id: LoanId, actor: CurrentActor, uow: WriteUoW, policy: Policy) -> LoanOut:
    return LoanOut.of(loans.approve(uow, actor, loan_id, policy))


@router.post("/loans/{loan_id}/reject", summary="Reject with a reason (roles: admin, caseworker)")
def reject(loan_id: LoanId, body: ReasonIn, actor: CurrentActor, uow: WriteUoW) -> LoanOut:
    return LoanOut.of(loans.reject(uow, actor, loan_id, body.reason))


@router.post(
    "/loans/{loan_id}/withdraw",
    summary="Withdraw an application before payout (roles: admin, caseworker)",
)
def withdraw(loan_id: LoanId, body: ReasonIn, actor: CurrentActor, uow: WriteUoW) -> LoanOut:
    return LoanOut.of(loans.withdraw(uow, actor, loan_id, body.reason))


@router.post(
    "/loans/{loan_id}/undo-approval",
    summary="Send an approved loan back to submitted (roles: admin, caseworker)",
)
def undo_approval(loan_id: LoanId, body: ReasonIn, actor: CurrentActor, uow: WriteUoW) -> LoanOut:
    return LoanOut.of(loans.undo_approval(uow, actor, loan_id, body.reason))


# -- money ---------------------------------------------------------------------------------


@router.post(
    "/loans/{loan_id}/disbursement",
    status_code=201,
    responses=KEYED,
    summary="Pay the deposit out: Dr the loan, Cr bank (role: treasurer)",
)
def disburse(
    loan_id: LoanId,
    body: OnIn,
    key: IdempotencyKey,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
) -> LoanMoneyOut:
    with _booked_on():
        result = loans.disburse(uow, actor, loan_id, on=body.on, idempotency_key=key)
    return _money(result, request, response)


@router.post(
    "/loans/{loan_id}/disbursement/undo",
    status_code=201,
    responses=KEYED,
    summary="Reverse the payout while nothing was repaid (role: treasurer)",
)
def undo_disbursement(
    loan_id: LoanId,
    body: OnReasonIn,
    key: IdempotencyKey,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
) -> LoanMoneyOut:
    with _booked_on():
        result = loans.undo_disbursement(
            uow, actor, loan_id, on=body.on, reason=body.reason, idempotency_key=key
        )
    return _money(result, request, response)


@router.post(
    "/loans/{loan_id}/payments",
    status_code=201,
    responses=KEYED,
    summary="Record a repayment (a recovery once written off), allocated by the schedule "
    "(role: treasurer)",
)
def record_payment(
    loan_id: LoanId,
    body: PaymentIn,
    key: IdempotencyKey,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
) -> LoanMoneyOut:
    with _booked_on():
        result = loans.record_payment(
            uow,
            actor,
            loan_id,
            body.to_money(),
            on=body.on,
            idempotency_key=key,
        )
    return _money(result, request, response)


@router.post(
    "/loan-payments/{entry_id}/reversal",
    status_code=201,
    responses=KEYED,
    summary="Reverse a bounced or mistaken payment; the arrears reopen (role: treasurer)",
)
def reverse_payment(
    entry_id: EntryId,
    body: OnReasonIn,
    key: IdempotencyKey,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
) -> LoanMoneyOut:
    with _booked_on():
        result = loans.reverse_payment(
            uow, actor, entry_id, on=body.on, reason=body.reason, idempotency_key=key
        )
    return _money(result, request, response)


@router.post(
    "/loans/{loan_id}/refund",
    status_code=201,
    responses=KEYED,
    summary="Pay back a credit balance; an overpaid loan then closes (role: treasurer)",
)
def refund_credit(
    loan_id: LoanId,
    body: OnIn,
    key: IdempotencyKey,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
) -> LoanMoneyOut:
    with _booked_on():
        result = loans.refund_credit(uow, actor, loan_id, on=body.on, idempotency_key=key)
    return _money(result, request, response)


@router.post(
    "/loans/{loan_id}/deposit-release",
    status_code=201,
    responses=KEYED,
    summary="End of lease: what came back repays the loan, what the landlord kept is recorded "
    "with the reason (role: treasurer)",
)
def record_deposit_release(
    loan_id: LoanId,
    body: ReleaseIn,
    key: IdempotencyKey,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
) -> ReleaseOut:
    with _booked_on():
        result = loans.record_deposit_release(
            uow,
            actor,
            loan_id,
            on=body.on,
            returned=body.returned_money(),
            kept=body.kept_money(),
            kept_reason=body.kept_reason,
            idempotency_key=key,
        )
    _replayed(result.replayed, response)
    if result.entry is not None:
        response.headers["Location"] = str(request.url_for("get_entry", entry_id=result.entry.id))
    return ReleaseOut.of(result)


@router.post(
    "/write-offs/{write_off_id}/approval",
    status_code=201,
    responses=KEYED,
    summary="Approve a proposed write-off, by another treasurer: Dr loan losses, Cr the loan "
    "(role: treasurer)",
)
def approve_write_off(
    write_off_id: WriteOffId,
    body: OnIn,
    key: IdempotencyKey,
    actor: CurrentActor,
    uow: WriteUoW,
    request: Request,
    response: Response,
) -> LoanMoneyOut:
    with _booked_on():
        result = loans.approve_write_off(uow, actor, write_off_id, on=body.on, idempotency_key=key)
    return _money(result, request, response)


# -- schedules and write-off proposals -----------------------------------------------------


@router.post(
    "/loans/{loan_id}/holidays",
    status_code=201,
    summary="Skip a month: that installment and the later ones move a month on "
    "(roles: admin, caseworker)",
)
def add_holiday(
    loan_id: LoanId, body: HolidayIn, actor: CurrentActor, uow: WriteUoW
) -> ScheduleOut:
    return ScheduleOut.of(loan_id, loans.add_holiday(uow, actor, loan_id, body.month, body.reason))


@router.post(
    "/loans/{loan_id}/reschedule",
    status_code=201,
    summary="A new schedule for what is still owed; what was paid stays as one settled line "
    "(roles: admin, caseworker)",
)
def reschedule(
    loan_id: LoanId, body: RescheduleIn, actor: CurrentActor, uow: WriteUoW
) -> ScheduleOut:
    schedule = loans.reschedule(
        uow,
        actor,
        loan_id,
        first_due=body.first_due_date,
        reason=body.reason,
        installments=body.installments,
        monthly_amount=body.to_monthly(),
        whole_units=body.whole_units,
    )
    return ScheduleOut.of(loan_id, schedule)


@router.post(
    "/loans/{loan_id}/write-offs",
    status_code=201,
    summary="Propose writing off what is still owed (roles: admin, caseworker, treasurer)",
)
def propose_write_off(
    loan_id: LoanId, body: ReasonIn, actor: CurrentActor, uow: WriteUoW
) -> WriteOffOut:
    return WriteOffOut.of(loans.propose_write_off(uow, actor, loan_id, body.reason))


@router.post(
    "/write-offs/{write_off_id}/rejection",
    summary="Reject a proposed write-off with a reason (role: treasurer)",
)
def reject_write_off(
    write_off_id: WriteOffId, body: ReasonIn, actor: CurrentActor, uow: WriteUoW
) -> WriteOffOut:
    return WriteOffOut.of(loans.reject_write_off(uow, actor, write_off_id, body.reason))


# -- reports -------------------------------------------------------------------------------


@router.get(
    "/portfolio",
    tags=["reports"],
    summary="Arrears aging and PAR30 of the loans being repaid, as of a day (roles: all)",
)
def get_portfolio(
    actor: CurrentActor,
    uow: ReadUoW,
    state: State,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD; default: today")] = None,
    currency: Annotated[
        CurrencyCode | None, Query(description="default: the fund's currency")
    ] = None,
) -> PortfolioOut:
    day = as_of or uow.today()
    return PortfolioOut.of(loans.portfolio(uow, actor, day, currency or state.settings.currency))


@router.get(
    "/arrears",
    tags=["reports"],
    summary="Loans in arrears as of a day, the longest late first, by bucket and caseworker "
    "(roles: admin, treasurer, auditor)",
)
def get_arrears(
    actor: CurrentActor,
    uow: ReadUoW,
    state: State,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD; default: today")] = None,
    currency: Annotated[
        CurrencyCode | None, Query(description="default: the fund's currency")
    ] = None,
    bucket: Annotated[
        str | None, Query(max_length=8, description="1-30, 31-60, 61-90, 91-180, 181-360, >360")
    ] = None,
    caseworker: Annotated[
        str | None, Query(max_length=64, description="user name of who opened the loans")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=ARREARS_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ArrearsListOut:
    day = as_of or uow.today()
    page = loans.arrears_list(
        uow,
        actor,
        day,
        currency or state.settings.currency,
        bucket=bucket,
        caseworker=caseworker,
        limit=limit,
        offset=offset,
    )
    return ArrearsListOut.of(page)
