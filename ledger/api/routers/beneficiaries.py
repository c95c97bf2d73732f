"""Beneficiaries: their personal data, kept apart from the ledger, behind an opaque id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from ledger.api.deps import CurrentActor, State, WriteUoW, audited_read_uow
from ledger.api.loan_schemas import MAX_ID_LENGTH, BeneficiaryOut, PersonIn
from ledger.domain.roles import Permission
from ledger.services import loans

router = APIRouter(prefix="/beneficiaries", tags=["beneficiaries"])

BeneficiaryId = Annotated[
    str, Path(min_length=1, max_length=MAX_ID_LENGTH, examples=["BK3M9T2QX7ZPA"])
]


@router.post(
    "",
    status_code=201,
    summary="Record a beneficiary; the answer gives the opaque id (roles: admin, caseworker)",
)
def register_beneficiary(
    body: PersonIn, actor: CurrentActor, uow: WriteUoW, request: Request, response: Response
) -> BeneficiaryOut:
    person = loans.register_beneficiary(uow, actor, body.currency, body.to_data())
    response.headers["Location"] = str(
        request.url_for("read_beneficiary", beneficiary_id=person.id)
    )
    return BeneficiaryOut.of(person)


@router.get(
    "/{beneficiary_id}",
    summary="A beneficiary: personal fields for caseworkers and admins (each read audited), "
    "the opaque id only for treasurers and auditors",
)
def read_beneficiary(
    beneficiary_id: BeneficiaryId, actor: CurrentActor, state: State
) -> BeneficiaryOut:
    uow = audited_read_uow(state, actor.can(Permission.PERSONAL_READ))
    return BeneficiaryOut.of(loans.read_beneficiary(uow, actor, beneficiary_id))


@router.put(
    "/{beneficiary_id}",
    status_code=204,
    response_class=Response,
    summary="Replace a beneficiary's personal data (roles: admin, caseworker)",
)
def update_beneficiary(
    beneficiary_id: BeneficiaryId, body: PersonIn, actor: CurrentActor, uow: WriteUoW
) -> None:
    loans.update_beneficiary(uow, actor, beneficiary_id, body.to_data())


@router.post(
    "/{beneficiary_id}/erasure",
    status_code=204,
    response_class=Response,
    summary="Erase a person's data once none of their loans is open; the ledger still verifies "
    "(roles: admin, caseworker)",
)
def erase_beneficiary(beneficiary_id: BeneficiaryId, actor: CurrentActor, uow: WriteUoW) -> None:
    loans.erase_beneficiary(uow, actor, beneficiary_id)
