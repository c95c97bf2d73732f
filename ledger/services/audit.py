"""Reading the audit log."""

from __future__ import annotations

from ledger.domain.audit import AuditRecord
from ledger.domain.roles import Actor, Permission
from ledger.services.journal import _check_page
from ledger.store.uow import UnitOfWork


def list_audit(
    uow: UnitOfWork,
    actor: Actor,
    *,
    by: str | None = None,
    action: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditRecord], int]:
    """Audit records, newest first, optionally only those of one user or one action."""
    actor.require(Permission.AUDIT_READ)
    _check_page(limit, offset)
    with uow:
        return uow.audit.page(actor=by, action=action, limit=limit, offset=offset)
