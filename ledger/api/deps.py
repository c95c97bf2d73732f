"""Dependencies: the app's state, units of work, the acting user, paging and idempotency keys."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.api.errors import MissingIdempotencyKey
from ledger.bootstrap import Runtime
from ledger.domain.errors import AuthenticationFailed, LedgerError, ValidationError
from ledger.domain.journal import MAX_REFERENCE, check_reference
from ledger.domain.roles import Actor
from ledger.services import users
from ledger.services.journal import MAX_PAGE
from ledger.store.uow import UnitOfWork

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_TOKEN = 256
MAX_OFFSET = 2**62
MAX_ID = 2**63 - 1


def api_state(request: Request) -> Runtime:
    """The runtime ``create_app`` built (``ledger.bootstrap.build``)."""
    return cast(Runtime, request.app.state.ledger)


State = Annotated[Runtime, Depends(api_state)]


def write_uow(state: State) -> UnitOfWork:
    return state.unit_of_work()


def read_uow(state: State) -> UnitOfWork:
    # Read-only: on SQLite a plain BEGIN, so reads never queue for the write lock.
    return state.unit_of_work(readonly=True)


def audited_read_uow(state: Runtime, audited: bool) -> UnitOfWork:
    """For a read that writes its own audit record (personal data): a write unit of work only
    then, so that other reads do not queue for SQLite's write lock."""
    return write_uow(state) if audited else read_uow(state)


WriteUoW = Annotated[UnitOfWork, Depends(write_uow)]
ReadUoW = Annotated[UnitOfWork, Depends(read_uow)]

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="a token from POST /api/auth/token, sent as `Authorization: Bearer <token>`",
)


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    if credentials is None:
        raise AuthenticationFailed(
            "send the header `Authorization: Bearer <token>` with a token from POST /api/auth/token"
        )
    if len(credentials.credentials) > MAX_TOKEN:
        raise AuthenticationFailed("the bearer token is unknown, expired or revoked; log in again")
    return credentials.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


def current_actor(token: BearerToken, uow: ReadUoW) -> Actor:
    return users.actor_for_token(uow, token)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description="a key unique to this request (e.g. a UUID), 1 to "
            f"{MAX_REFERENCE} printable ASCII characters; a retry with the same key and the "
            "same body returns the first result and posts nothing again",
        ),
    ] = None,
) -> str:
    if key is None:
        raise MissingIdempotencyKey(
            "this request moves money and needs an Idempotency-Key header (e.g. a UUID); "
            "send the same key again when you retry it",
            field=IDEMPOTENCY_HEADER,
        )
    try:
        check_reference(key, IDEMPOTENCY_HEADER)
    except LedgerError as exc:
        raise ValidationError(exc.detail, field=IDEMPOTENCY_HEADER) from None
    return key


IdempotencyKey = Annotated[str, Depends(idempotency_key)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, 1 to {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
