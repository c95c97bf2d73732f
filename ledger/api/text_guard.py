"""Refuse control characters in any text a request carries, before anything reads it.

A NUL cannot be stored by PostgreSQL (the request would end in a 500) and is stored as-is by
SQLite; a terminal escape code in a name would later be replayed by whoever prints it. No text
the fund handles needs them, so they are refused here, at the edge, for every route and both
engines, before any login: the path, the query parameters, and the text of JSON and form bodies
(keys and values, at any depth). Tab, line feed and carriage return are allowed (a multi-line
note); everything else below U+0020, DEL, and the C1 controls U+0080-U+009F are not.

The answer is a 422 problem+json naming the field (``legs[1].memo``, a query parameter by its
name, ``path``); on a web path, a page (``page``). File uploads (multipart, XML, PDF) are not
text and pass through untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.errors import problem

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def _json_fields(value: Any, at: str) -> Iterator[tuple[str, str]]:
    """(field name, text) of every string in a JSON document, keys included."""
    if isinstance(value, str):
        yield at or "body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{at}.{key}" if at else str(key)
            yield name, str(key)
            yield from _json_fields(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_fields(item, f"{at}[{index}]")


def _body_fields(content_type: str, body: bytes) -> Iterator[tuple[str, str]]:
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            document = json.loads(body)
        except ValueError:
            return  # malformed: the route's own parsing refuses it with a 400
        yield from _json_fields(document, "")
    elif content_type == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", errors="replace")
        yield from parse_qsl(text, keep_blank_values=True)


def _first_bad(fields: Iterator[tuple[str, str]]) -> str | None:
    for name, text in fields:
        if has_control(text) or has_control(name):
            return "".join(c if not has_control(c) else "?" for c in name) or "body"
    return None


class RefuseControlCharacters:
    def __init__(self, app: ASGIApp, page: Callable[[Scope], Response | None] | None = None):
        self.app = app
        self.page = page  # the web application's page for its own paths (None: not its path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad = "path" if has_control(scope.get("path", "")) else None
        if bad is None:
            query = QueryParams(scope.get("query_string", b""))
            bad = _first_bad(iter(query.multi_items()))
        content_type = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
        checked = content_type in ("application/json", "application/x-www-form-urlencoded")
        checked = checked or content_type.endswith("+json")
        if bad is not None or not checked:
            if bad is not None:
                await self._refuse(scope, receive, send, bad)
            else:
                await self.app(scope, receive, send)
            return

        # Read the whole body (its size is already limited by ``BodySizeLimit``), then replay it.
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        bad = _first_bad(_body_fields(content_type, body))
        if bad is not None:
            await self._refuse(scope, receive, send, bad)
            return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, field: str) -> None:
        shown = self.page(scope) if self.page is not None else None
        response = shown or problem(
            422,
            "control-character",
            "Control character in text",
            f"{field} contains a control character (such as NUL or a terminal escape); send "
            "plain text: letters, digits, punctuation, spaces, tabs and line breaks",
            field=field,
            instance=scope.get("path"),
        )
        await response(scope, receive, send)
