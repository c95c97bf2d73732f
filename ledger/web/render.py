"""Pages: the Jinja2 environment, a page's response, messages carried across a redirect."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ledger.domain.roles import Permission
from ledger.web.i18n import LANGUAGE_NAMES, WebText
from ledger.web.session import CSRF_FIELD, CSRF_HEADER, WebUser, runtime_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
HTMX = "vendor/htmx-2.0.11.min.js"
FLASH_COOKIE = "fl_flash"
MAX_FLASH = 600

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html",)),
    undefined=StrictUndefined,  # a name missing from a page is a bug, not an empty string
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(
    HTMX=HTMX,
    CSRF_FIELD=CSRF_FIELD,
    CSRF_HEADER=CSRF_HEADER,
    Permission=Permission,
    LANGUAGE_NAMES=LANGUAGE_NAMES,
)


def form_key() -> str:
    """A new idempotency key for a form that moves money: made when the form is rendered, so
    that a double click or a resent form books once."""
    return f"web-{uuid.uuid4()}"


def page(
    request: Request,
    template: str,
    *,
    user: WebUser | None,
    text: WebText,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A whole page (or, for an htmx request asking for a fragment, the template as is)."""
    runtime = runtime_of(request)
    flash = _read_flash(request)
    html = _env.get_template(template).render(
        request=request,
        user=user,
        t=text,
        fund_name=runtime.settings.fund_name,
        demo=runtime.settings.demo,
        flash=flash,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def form_page(
    request: Request,
    template: str,
    user: WebUser,
    errors: Mapping[str, str],
    **context: Any,
) -> HTMLResponse:
    """A page with a form, in the user's words: status 422 when anything typed was refused
    (``errors``, each said beside its field), 200 otherwise."""
    return page(
        request,
        template,
        user=user,
        text=user.text,
        status_code=422 if errors else 200,
        errors=errors,
        **context,
    )


def redirect(url: str, *, flash: tuple[str, dict[str, str]] | None = None) -> RedirectResponse:
    """Post/redirect/get: 303 to ``url``, with a message to show there (a message key and its
    values, never personal data: the cookie is not encrypted)."""
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        value = quote(json.dumps([flash[0], flash[1]], separators=(",", ":")))
        if len(value) <= MAX_FLASH:
            response.set_cookie(FLASH_COOKIE, value, httponly=True, samesite="lax", path="/")
    return response


def _read_flash(request: Request) -> tuple[str, dict[str, str]] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or len(raw) > MAX_FLASH:
        return None
    try:
        key, values = json.loads(unquote(raw))
    except (ValueError, TypeError):
        return None
    if not isinstance(key, str) or not key.startswith("flash.") or not isinstance(values, dict):
        return None
    return key, {str(k): str(v) for k, v in values.items()}
