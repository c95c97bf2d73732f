"""Refuse request bodies over ``max_request_bytes`` before they are parsed.

The declared Content-Length is checked first, so an honest large request is refused without
reading it; the bytes that actually arrive are counted too, because a chunked body declares
no length and a lying client may declare a small one. File uploads (``larger``: path -> limit)
may be larger than other requests. ``page`` may answer a refusal on a web application's path
with a page instead of problem+json (None: not its path).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.errors import BodyTooLarge, problem


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        larger: Mapping[str, int] | None = None,
        page: Callable[[Scope, int], Response | None] | None = None,
    ) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.larger = dict(larger or {})
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.default_max_bytes)
        await self._limited(scope, receive, send, limit)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await self._refuse(scope, receive, send, max_bytes, bad_length=not declared.isdigit())
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # An HTTPException: FastAPI passes it on to the problem+json handler.
                    raise BodyTooLarge(max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, max_bytes, bad_length=False)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, max_bytes: int, *, bad_length: bool
    ) -> None:
        response: Response
        if bad_length:
            response = problem(
                400,
                "bad-content-length",
                "Bad Request",
                "the Content-Length header is not a number",
                field="Content-Length",
                instance=scope.get("path"),
            )
        elif self.page is not None and (shown := self.page(scope, max_bytes)) is not None:
            response = shown
        else:
            response = problem(
                413,
                "content-too-large",
                "Content Too Large",
                f"the request body is larger than {max_bytes} bytes",
                field="body",
                instance=scope.get("path"),
            )
        await response(scope, receive, send)
