"""Log in for a bearer token; log out to revoke it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from ledger.api.deps import BearerToken, CurrentActor, State, WriteUoW
from ledger.api.schemas import LoginIn, TokenOut
from ledger.services import users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", summary="Log in: exchange a username and password for a bearer token")
def issue_token(body: LoginIn, state: State, uow: WriteUoW, response: Response) -> TokenOut:
    issued = users.login(
        uow,
        body.username,
        body.password,
        ttl=timedelta(minutes=state.settings.token_ttl_minutes),
    )
    response.headers["Cache-Control"] = "no-store"
    return TokenOut(
        access_token=issued.token,
        expires_at=issued.expires_at,
        username=issued.actor.name,
        role=issued.actor.role,
    )


@router.post("/logout", status_code=204, summary="Log out: revoke the token of this request")
def revoke_token(token: BearerToken, _actor: CurrentActor, uow: WriteUoW) -> Response:
    users.logout(uow, token)
    return Response(status_code=204)
