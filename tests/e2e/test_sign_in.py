"""Signing in and out, the language menu, and the security every page carries."""

from __future__ import annotations

from typing import Any

from tests.support.web import (
    PASSWORD,
    LiveServer,
    choose_language,
    serious_violations,
    shoot,
    sign_in,
)


def test_a_wrong_password_is_said_and_a_right_one_lands_home(server: LiveServer, page: Any) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.url}/loans")  # not signed in: sent to sign in, then back
    assert "/sign-in?next=/loans" in page.url
    page.locator("#username").fill("cas")
    page.locator("#password").fill("not the password")
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    assert page.get_by_role("alert").inner_text().startswith("The user name or the password")
    assert page.locator("#username").input_value() == "cas"  # what was typed is kept
    assert serious_violations(page) == []
    shoot(page, "sign-in")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    page.wait_for_url(f"{server.url}/loans")
    # No script or style refused by the CSP, no missing asset; the 401 is the wrong password's.
    assert [e for e in errors if "status of 401" not in e] == [], errors


def test_the_language_menu_changes_the_screens_for_this_user(server: LiveServer, page: Any) -> None:
    sign_in(page, server.url, "cas")
    page.goto(f"{server.url}/")
    assert page.locator("html").get_attribute("lang") == "en"
    choose_language(page, "fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", level=1).inner_text() == "Accueil"
    assert serious_violations(page) == []
    shoot(page, "home")
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{server.url}/sign-in")
    assert page.get_by_role("status").inner_text() == "You are signed out."
    page.goto(f"{server.url}/")  # the session ended on the server: signed out for good
    assert "/sign-in" in page.url
