"""Beneficiaries: their personal data, registered, read, changed and erased."""

from __future__ import annotations

from ledger.domain.beneficiaries import Beneficiary, PersonalData, new_beneficiary_id
from ledger.domain.errors import (
    Conflict,
    ValidationError,
)
from ledger.domain.money import currency as currency_of
from ledger.domain.roles import Actor, Permission
from ledger.services.loans.common import OPEN_STATUSES
from ledger.store.uow import UnitOfWork

MAX_SEARCH = 200
MAX_PAGE = 200


def _check_amounts(data: PersonalData, code: str, who: str) -> None:
    """A person's amounts are kept in minor units of their fund's currency: another currency
    would be read back as a different amount (1,000 JPY as 10.00 EUR)."""
    for name in ("monthly_net_income", "own_savings"):
        amount = getattr(data, name)
        if amount is not None and amount.currency.code != code:
            raise ValidationError(
                f"{who}'s amounts are in {code}",
                name,
                key="err.person.currency",
                params={"currency": code},
            )


def register_beneficiary(
    uow: UnitOfWork, actor: Actor, currency: str, data: PersonalData
) -> Beneficiary:
    actor.require(Permission.PERSONAL_WRITE)
    currency_of(currency)
    _check_amounts(data, currency, "the beneficiary")
    bid = new_beneficiary_id()
    with uow:
        uow.beneficiaries.add(bid, currency, data, actor=actor.name, now=uow.now())
        uow.audit_event(actor, action="register_beneficiary", target=f"person:{bid}")
        uow.commit()
    return Beneficiary(bid, currency, data, erased=False)


def read_beneficiary(uow: UnitOfWork, actor: Actor, bid: str) -> Beneficiary:
    """Personal fields for caseworkers and admins (each read audited); the bare id for others."""
    actor.require(Permission.LOANS_READ)
    with uow:
        person = uow.beneficiaries.get(bid)
        if not actor.can(Permission.PERSONAL_READ):
            return Beneficiary(
                person.id, person.currency, None, person.erased, person.reminders_opt_out
            )
        uow.audit_event(actor, action="read_personal_data", target=f"person:{bid}")
        uow.commit()
    return person


def search_beneficiaries(
    uow: UnitOfWork, actor: Actor, text: str, *, limit: int, offset: int
) -> tuple[list[Beneficiary], int]:
    """People by name (any case, any part of it) or by their id, a page at a time, with the
    number found. A read of personal data: audited once per search, with the ids shown (never
    the words searched for, which may be a name)."""
    actor.require(Permission.PERSONAL_READ)
    if len(text) > MAX_SEARCH:
        raise ValidationError(
            f"search for at most {MAX_SEARCH} characters",
            "q",
            key="err.search.too_long",
            params={"most": MAX_SEARCH},
        )
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ValidationError(f"a page has 1 to {MAX_PAGE} people", "limit")
    with uow:
        found, total = uow.beneficiaries.search(text, limit=limit, offset=offset)
        uow.audit_event(
            actor,
            action="read_personal_data",
            target="people:search",
            details={"shown": [person.id for person in found], "total": total},
        )
        uow.commit()
    return found, total


def update_beneficiary(uow: UnitOfWork, actor: Actor, bid: str, data: PersonalData) -> None:
    actor.require(Permission.PERSONAL_WRITE)
    with uow:
        person = uow.beneficiaries.get(bid)
        if person.erased:
            raise Conflict(
                f"the personal data of {bid} was erased", "beneficiary_id", key="err.person.erased"
            )
        _check_amounts(data, person.currency, bid)
        uow.beneficiaries.update(bid, data)
        uow.audit_event(actor, action="update_beneficiary", target=f"person:{bid}")
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
        uow.audit_event(actor, action="erase_beneficiary", target=f"person:{bid}")
        uow.commit()
