"""Liveness and schema check, without authentication (for load balancers and monitoring)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from ledger.api.deps import State
from ledger.api.errors import DatabaseUnavailable
from ledger.api.schemas import HealthOut
from ledger.store import migrate

router = APIRouter(tags=["health"])


@router.get("/health", summary="Is the service up, and on which schema revision?")
def health(state: State) -> HealthOut:
    try:
        migrate.check_schema(state.engine)
        revision = migrate.current_revision(state.engine)
    except SQLAlchemyError:
        raise DatabaseUnavailable("the database does not answer") from None
    return HealthOut(status="ok", schema_revision=revision)
