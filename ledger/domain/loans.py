"""The life of a loan: its states and which actions move it from one to the next.

Before the money goes out, the state is what people decided (submitted, approved, signed...).
Once disbursed, the state follows the balances and is derived, never set by hand: a loan with
something still owed is active; fully repaid it is closed; repaid beyond what it owed it is
overpaid until the excess is refunded; written off it stays written off (later money is a
recovery). So a bounced payment that reopens arrears reopens the loan by itself.
"""

from __future__ import annotations

from enum import StrEnum

from ledger.domain.errors import Conflict


class LoanStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CONTRACT_SIGNED = "contract_signed"
    ACTIVE = "active"
    CLOSED = "closed"
    OVERPAID = "overpaid"
    WRITTEN_OFF = "written_off"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class LoanAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    UNDO_APPROVAL = "undo_approval"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    SIGN_CONTRACT = "sign_contract"
    DISBURSE = "disburse"
    UNDO_DISBURSEMENT = "undo_disbursement"
    WRITE_OFF = "write_off"


S, A = LoanStatus, LoanAction
DISBURSED = frozenset({S.ACTIVE, S.CLOSED, S.OVERPAID, S.WRITTEN_OFF})

#: action -> (states it may start from, the state it leads to; None = derived from balances)
TRANSITIONS: dict[LoanAction, tuple[frozenset[LoanStatus], LoanStatus | None]] = {
    A.SUBMIT: (frozenset({S.DRAFT}), S.SUBMITTED),
    A.APPROVE: (frozenset({S.SUBMITTED}), S.APPROVED),
    A.UNDO_APPROVAL: (frozenset({S.APPROVED, S.CONTRACT_SIGNED}), S.SUBMITTED),
    A.REJECT: (frozenset({S.SUBMITTED}), S.REJECTED),
    A.WITHDRAW: (frozenset({S.DRAFT, S.SUBMITTED, S.APPROVED, S.CONTRACT_SIGNED}), S.WITHDRAWN),
    A.SIGN_CONTRACT: (frozenset({S.APPROVED}), S.CONTRACT_SIGNED),
    A.DISBURSE: (frozenset({S.CONTRACT_SIGNED}), S.ACTIVE),
    A.UNDO_DISBURSEMENT: (frozenset({S.ACTIVE}), S.CONTRACT_SIGNED),
    A.WRITE_OFF: (frozenset({S.ACTIVE}), S.WRITTEN_OFF),
}

_HINTS: dict[LoanAction, str] = {
    A.SUBMIT: "only a draft can be submitted",
    A.APPROVE: "only a submitted application can be approved",
    A.UNDO_APPROVAL: "only an approved loan that is not paid out can go back to submitted",
    A.REJECT: "only a submitted application can be rejected",
    A.WITHDRAW: "a loan that was paid out cannot be withdrawn; undo the disbursement first",
    A.SIGN_CONTRACT: "the contract is signed after approval",
    A.DISBURSE: "a loan is paid out once approved and its contract signed",
    A.UNDO_DISBURSEMENT: "only an active loan can have its disbursement undone",
    A.WRITE_OFF: "only an active loan with something still owed can be written off",
}


def next_status(current: LoanStatus, action: LoanAction) -> LoanStatus | None:
    """The state after ``action``, or a Conflict saying why it is not possible now."""
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise Conflict(
            f"cannot {action.value.replace('_', ' ')} a loan that is "
            f"{current.value.replace('_', ' ')}: {_HINTS[action]}",
            field="status",
        )
    return target


def derived_status(*, written_off: bool, outstanding: int, credit: int) -> LoanStatus:
    """The state of a disbursed loan, from its balances."""
    if written_off:
        return S.WRITTEN_OFF
    if outstanding > 0:
        return S.ACTIVE
    if credit > 0:
        return S.OVERPAID
    return S.CLOSED
