"""The web application's security, as a client sees it: sessions, CSRF, roles, throttling,
headers, redirects. (The workflows themselves are tested in a real browser, tests/e2e.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.services.users import MAX_FAILED_LOGINS
from ledger.web.app import ROUTE_MODULES
from ledger.web.session import SESSION_COOKIE, checked, current_user
from tests.support.clock import Clock
from tests.support.web import PASSWORD, client_sign_in, csrf_of, staffed_fund

#: Pages anyone may see: the sign-in page and its form.
PUBLIC = {("GET", "/sign-in"), ("POST", "/sign-in")}


@pytest.fixture
def web(engine: Engine, clock: Clock) -> Iterator[TestClient]:
    staffed_fund(engine)
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        fund_languages="en,fr",
        web_idle_minutes=30,
        web_session_hours=12,
    )
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


def _depends_on(dependant: object, target: object) -> bool:
    stack = [dependant]
    while stack:
        d = stack.pop()
        if getattr(d, "call", None) is target:
            return True
        stack.extend(getattr(d, "dependencies", []))
    return False


def test_every_web_route_requires_a_signed_in_user() -> None:
    """A route added without the session dependency (and so without the role checks that
    follow it) fails here. ``checked`` (every POST) resolves the session itself, after reading
    the form, so that a form sent after its session ended keeps what was typed."""
    routes = [r for m in ROUTE_MODULES for r in m.router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 5
    unguarded = [
        (method, r.path)
        for r in routes
        for method in r.methods or ()
        if (method, r.path) not in PUBLIC
        and not (_depends_on(r.dependant, current_user) or _depends_on(r.dependant, checked))
    ]
    assert unguarded == []


def test_a_page_without_a_session_sends_to_sign_in_and_back(web: TestClient) -> None:
    response = web.get("/loans?status=active", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/loans%3Fstatus%3Dactive"
    signed = client_sign_in(web, "cas", next_path="/loans")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/loans"
    cookie = signed.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # only when the fund says it serves over TLS


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_to_another_site(web: TestClient, target: str) -> None:
    response = client_sign_in(web, "cas", next_path=target)
    assert response.headers["location"] == "/"


def test_a_role_without_the_permission_gets_a_403_page(web: TestClient) -> None:
    client_sign_in(web, "tom")  # the treasurer sees no beneficiary's personal data
    response = web.get("/beneficiaries")
    assert response.status_code in (403, 404)  # 404 until the page exists; never 200
    assert "text/html" in response.headers["content-type"]


def test_a_post_without_the_csrf_token_is_refused(web: TestClient) -> None:
    client_sign_in(web, "cas")
    refused = web.post("/me/language", data={"language": "fr"})
    assert refused.status_code == 403
    assert "out of date" in refused.text
    page = web.get("/")
    assert page.status_code == 200
    assert 'lang="en"' in page.text  # nothing changed
    wrong_site = web.post(
        "/me/language",
        data={"language": "fr", "csrf": csrf_of(page.text)},
        headers={"Origin": "https://evil.example"},
    )
    assert wrong_site.status_code == 403
    ok = web.post("/me/language", data={"language": "fr", "csrf": csrf_of(page.text)})
    assert ok.status_code == 200  # followed the redirect
    assert 'lang="fr"' in ok.text


def test_the_sign_in_form_needs_its_own_cookie(web: TestClient) -> None:
    response = web.post(
        "/sign-in", data={"username": "cas", "password": "x", "presession": "forged"}
    )
    assert response.status_code == 403


def test_an_idle_session_ends_and_sign_out_ends_it_on_the_server(
    web: TestClient, clock: Clock
) -> None:
    client_sign_in(web, "cas")
    assert web.get("/", follow_redirects=False).status_code == 200
    clock.advance(minutes=29)
    assert web.get("/", follow_redirects=False).status_code == 200  # used: extended
    clock.advance(minutes=29)
    assert web.get("/", follow_redirects=False).status_code == 200
    clock.advance(minutes=31)
    assert web.get("/", follow_redirects=False).status_code == 303  # idle too long
    client_sign_in(web, "cas")
    token = web.cookies[SESSION_COOKIE]
    page = web.get("/")
    web.post("/sign-out", data={"csrf": csrf_of(page.text)})
    web.cookies.set(SESSION_COOKIE, token)  # the old cookie, replayed
    assert web.get("/", follow_redirects=False).status_code == 303


def test_a_session_ends_at_its_longest_even_when_used(web: TestClient, clock: Clock) -> None:
    client_sign_in(web, "cas")
    start = clock.now
    while web.get("/", follow_redirects=False).status_code == 200:
        clock.advance(minutes=29)
        assert clock.now - start < timedelta(hours=13), "the session never ended"
    assert timedelta(hours=11, minutes=31) < clock.now - start <= timedelta(hours=12, minutes=29)


def test_repeated_failures_throttle_sign_in_for_that_name(web: TestClient, clock: Clock) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        assert client_sign_in(web, "cas", password="wrong").status_code == 401
    throttled = client_sign_in(web, "cas")  # even the right password, for now
    assert throttled.status_code == 429
    assert "Wait 15 minutes" in throttled.text
    assert throttled.headers["Retry-After"] == "900"  # issue 16 (#16): when to come back
    assert client_sign_in(web, "cor").status_code == 303  # another name is not affected
    clock.advance(minutes=16)
    assert client_sign_in(web, "cas").status_code == 303


def test_pages_carry_a_csp_without_inline_scripts(web: TestClient) -> None:
    response = web.get("/sign-in")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text  # every script is a file
    assert "style=" not in response.text
    api = web.get("/health")
    assert "content-security-policy" not in api.headers  # the API is not a page


def test_an_unknown_page_is_a_page_and_an_unknown_api_path_is_problem_json(
    web: TestClient,
) -> None:
    page = web.get("/no-such-page")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    api = web.get("/api/no-such-thing")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


def test_an_unexpected_error_on_a_page_is_a_page_that_tells_nothing_away(
    web: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.services import loans

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret detail: Jane Doe, BE71096123456769")

    client_sign_in(web, "cas")
    monkeypatch.setattr(loans, "list_loans", broken)
    response = web.get("/loans")
    assert response.status_code == 500
    assert "text/html" in response.headers["content-type"]
    assert "Nothing was saved" in response.text
    assert "Jane Doe" not in response.text


def test_a_form_sent_after_the_session_ended_keeps_what_was_typed(
    web: TestClient, clock: Clock
) -> None:
    client_sign_in(web, "cas")
    page = web.get("/")
    csrf = csrf_of(page.text)
    clock.advance(hours=2)  # idle too long: the session has ended
    sent = web.post("/me/language", data={"language": "fr", "back": "/loans", "csrf": csrf})
    assert sent.status_code == 401
    assert "what you typed is kept" in sent.text
    assert 'name="keep.language" value="fr"' in sent.text
    assert 'name="keep.csrf"' not in sent.text  # the old token is not carried
    presession = re.search(r'name="presession" value="([^"]+)"', sent.text)
    assert presession is not None
    form = {
        "username": "cas",
        "password": PASSWORD,
        "presession": presession.group(1),
        "next": "/me/language",
        "keep.language": "fr",
        "keep.back": "/loans",
    }
    resumed = web.post("/sign-in", data=form)
    assert resumed.status_code == 200
    assert "Send it now" in resumed.text
    again = web.post(
        "/me/language",
        data={"language": "fr", "back": "/loans", "csrf": csrf_of(resumed.text)},
    )
    assert again.status_code == 200
    assert 'lang="fr"' in again.text  # the language the form asked for, now saved


def test_only_a_demo_funds_sign_in_page_lists_logins(engine: Engine, clock: Clock) -> None:
    for demo in (False, True):
        settings = Settings(_env_file=None, database_url="sqlite://", demo=demo)
        with TestClient(create_app(settings, engine=engine, clock=clock)) as client:
            page = client.get("/sign-in").text
        assert ("demo-password-3" in page) is demo  # the caseworker's
