"""Users and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ledger.api.deps import CurrentActor, Limit, Offset, ReadUoW, WriteUoW
from ledger.api.schemas import AuditOut, Page, UserIn, UserOut
from ledger.services import audit, users

router = APIRouter(tags=["admin"])


@router.get("/audit", summary="The audit log, newest first (roles: admin, auditor)")
def list_audit(
    actor: CurrentActor,
    uow: ReadUoW,
    by: Annotated[str | None, Query(alias="actor", max_length=64, description="username")] = None,
    action: Annotated[str | None, Query(max_length=64, examples=["post_entry"])] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AuditOut]:
    records, total = audit.list_audit(uow, actor, by=by, action=action, limit=limit, offset=offset)
    return Page[AuditOut](
        items=[AuditOut.of(r) for r in records], total=total, limit=limit, offset=offset
    )


@router.get("/users", summary="Users and their roles (role: admin)")
def list_users(actor: CurrentActor, uow: ReadUoW) -> list[UserOut]:
    return [UserOut.of(u) for u in users.list_users(uow, actor)]


@router.post("/users", status_code=201, summary="Create a user (role: admin)")
def create_user(body: UserIn, actor: CurrentActor, uow: WriteUoW) -> UserOut:
    return UserOut.of(users.create_user(uow, actor, body.username, body.password, body.role))
