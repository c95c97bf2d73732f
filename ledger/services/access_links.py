"""A beneficiary's personal link to their own schedule and balance, and nothing else.

The link carries a random token (``secrets.token_urlsafe``, 256 bits); only its SHA-256 is
stored, with an expiry. Staff (caseworkers, admins) create and revoke links. Each use is
audited with the link's id and what was shown, never the token or anything about the person.
A wrong token, or one that expired or was revoked, gets a refusal that says nothing about any
loan or person. Refusals of a known link are audited; unknown tokens are not (anyone on the
internet could otherwise fill the audit log).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from ledger.documents.model import FundInfo, ScheduleData, schedule_data
from ledger.domain.documents import AccessLink
from ledger.domain.errors import Conflict, LedgerError, NotFound, ValidationError
from ledger.domain.roles import Actor, Permission, Role
from ledger.services import loans
from ledger.store.uow import UnitOfWork

MAX_DAYS = 366
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,128}$")


class LinkNotFound(NotFound):
    code = "link-not-found"
    title = "Link not found"


class LinkGone(LedgerError):
    code = "link-gone"
    status = 410
    title = "Link expired or withdrawn"


NOT_FOUND = (
    "this link does not exist: check that it was copied whole, or ask your caseworker for a new one"
)
GONE = "this link has expired or was withdrawn: ask your caseworker for a new one"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewLink:
    link: AccessLink
    token: str  # shown once, to be given to the beneficiary; only its hash is kept


def create_link(uow: UnitOfWork, actor: Actor, loan_id: str, *, days: int) -> NewLink:
    actor.require(Permission.PERSONAL_WRITE)
    with uow:
        made = add_link(uow, actor, loan_id, days=days)
        uow.commit()
    return made


def add_link(uow: UnitOfWork, actor: Actor, loan_id: str, *, days: int) -> NewLink:
    """A new link to the loan, in the open unit of work (a payment reminder's e-mail makes one
    with the reminder it carries): recorded and audited, not committed."""
    actor.require(Permission.PERSONAL_WRITE)
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"a link lasts 1 to {MAX_DAYS} days", "days")
    token = secrets.token_urlsafe(32)
    loan = uow.loans.get(loan_id)
    if uow.beneficiaries.get(loan.beneficiary_id).erased:
        raise Conflict(
            f"the personal data of {loan.beneficiary_id} was erased",
            "loan_id",
            key="err.person.erased",
        )
    now = uow.now()
    link = uow.documents.add_link(
        loan_id, token_hash(token), at=now, actor=actor.name, expires_at=now + timedelta(days)
    )
    uow.audit.record(
        at=now,
        actor=actor.name,
        action="access_link_created",
        target=f"loan:{loan_id}",
        details={"link": link.id, "expires_at": link.expires_at.isoformat()},
    )
    return NewLink(link, token)


def revoke_link(uow: UnitOfWork, actor: Actor, link_id: int) -> AccessLink:
    actor.require(Permission.PERSONAL_WRITE)
    with uow:
        link = uow.documents.link(link_id)
        if link.revoked_at is not None:
            raise Conflict(f"link {link_id} is already revoked", "link_id", key="err.link.revoked")
        uow.documents.revoke_link(link_id, at=uow.now(), actor=actor.name)
        uow.audit_event(
            actor,
            action="access_link_revoked",
            target=f"loan:{link.loan_id}",
            details={"link": link_id},
        )
        uow.commit()
        return uow.documents.link(link_id)


def list_links(uow: UnitOfWork, actor: Actor, loan_id: str) -> list[AccessLink]:
    actor.require(Permission.PERSONAL_WRITE)
    with uow:
        uow.loans.get(loan_id)
        return uow.documents.links_of(loan_id)


def open_link(uow: UnitOfWork, token: str, fund: FundInfo, *, shown: str) -> ScheduleData:
    """What the holder of ``token`` may see: their schedule and balance as of today.

    ``shown`` says what for (``page`` or ``pdf``), for the audit log."""
    if not _TOKEN.match(token):
        raise LinkNotFound(NOT_FOUND)
    with uow:
        link = uow.documents.link_by_hash(token_hash(token))
        if link is None:
            raise LinkNotFound(NOT_FOUND)
        person = uow.beneficiaries.get(uow.loans.get(link.loan_id).beneficiary_id)
        refused = None
        if link.revoked_at is not None:
            refused = "revoked"
        elif not link.usable(uow.now()):
            refused = "expired"
        elif person.personal is None:
            refused = "erased"
        uow.audit.record(
            at=uow.now(),
            actor=f"link:{link.id}",
            action="access_link_refused" if refused else "access_link_used",
            target=f"loan:{link.loan_id}",
            details={"link": link.id, "shown": shown, "refused": refused},
        )
        uow.commit()
    if refused or person.personal is None:
        raise LinkGone(GONE)
    # The link reads the loan as an auditor would: the loan and its schedule, not the lease.
    view = loans.get_loan(uow, Actor(f"link:{link.id}", Role.AUDITOR), link.loan_id)
    return schedule_data(view, person.personal, fund)
