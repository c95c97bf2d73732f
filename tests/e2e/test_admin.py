"""Administration in a real browser: a staff account created (after a refused form), given a
new password, switched off after a confirmation that says what happens; the fund's profile and
lending rules as configured."""

from __future__ import annotations

from typing import Any

from tests.support.web import LiveServer, serious_violations, shoot, sign_in


def plain(text: str) -> str:
    """Text as compared here: no-break spaces (between an amount and its currency) as spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def test_an_admin_adds_resets_and_switches_off_an_account(server: LiveServer, page: Any) -> None:
    sign_in(page, server.url, "ada")
    page.get_by_role("link", name="Administration").click()
    page.wait_for_url(f"{server.url}/admin")
    assert serious_violations(page) == []
    shoot(page, "admin-users")
    page.locator("#new-username").fill("marie.dupont")
    page.locator("#new-role").select_option("caseworker")
    page.locator("#new-password").fill("too short")
    page.get_by_role("button", name="Add the account").click()
    error = page.locator("#new-password-error")
    assert error.inner_text() == "The password needs at least 12 characters."
    assert page.locator("#new-username").input_value() == "marie.dupont"  # kept
    assert page.locator("#new-role").input_value() == "caseworker"
    assert page.locator("#new-password").input_value() == ""  # a password is never sent back
    assert serious_violations(page) == []
    shoot(page, "admin-user-refused")
    page.locator("#new-password").fill("a first password")
    page.get_by_role("button", name="Add the account").click()
    page.wait_for_url(f"{server.url}/admin")
    assert "The account marie.dupont is ready" in page.get_by_role("status").inner_text()
    row = page.locator("#user-marie\\.dupont")
    assert "social worker" in row.inner_text()
    # Another role: the form opens from its summary, the role is chosen by keyboard.
    row.get_by_text("Change the role of marie.dupont").click()
    row.locator("#role-marie\\.dupont").select_option("treasurer")
    row.get_by_role("button", name="Change the role").click()
    page.wait_for_url(f"{server.url}/admin")
    assert "marie.dupont is now: treasurer" in page.get_by_role("status").inner_text()
    row = page.locator("#user-marie\\.dupont")
    assert "treasurer" in row.inner_text()
    # A new password.
    row.get_by_text("Give marie.dupont a new password").click()
    row.locator("#password-marie\\.dupont").fill("another password 2")
    row.get_by_role("button", name="Set the new password").click()
    page.wait_for_url(f"{server.url}/admin")
    assert "marie.dupont has a new password" in page.get_by_role("status").inner_text()
    # Switching off: the confirmation says what happens; dismissed, nothing happens.
    messages: list[str] = []

    def answer(dialog: Any) -> None:
        messages.append(dialog.message)
        if len(messages) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", answer)
    switch_off = page.get_by_role("button", name="Switch off marie.dupont")
    switch_off.click()
    assert plain(messages[0]).startswith("Switch off marie.dupont? They can no longer sign in")
    with server.uow() as uow:
        user = uow.users.find("marie.dupont")
        assert user is not None and user.active
    switch_off.click()
    page.wait_for_url(f"{server.url}/admin")
    assert "marie.dupont is switched off" in page.get_by_role("status").inner_text()
    assert "switched off" in page.locator("#user-marie\\.dupont").inner_text()
    with server.uow() as uow:
        user = uow.users.find("marie.dupont")
        assert user is not None and not user.active
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{server.url}/sign-in")
    page.locator("#username").fill("marie.dupont")
    page.locator("#password").fill("another password 2")
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    assert page.get_by_role("alert").inner_text().startswith("The user name or the password")
    # Switched on again by the admin, with the password as it was.
    sign_in(page, server.url, "ada")
    page.goto(f"{server.url}/admin")
    page.get_by_role("button", name="Switch marie.dupont on again").click()
    page.wait_for_url(f"{server.url}/admin")
    assert "marie.dupont can sign in again" in page.get_by_role("status").inner_text()
    assert serious_violations(page) == []
    shoot(page, "admin-users-after")


def test_the_fund_page_shows_the_profile_and_the_rules(server: LiveServer, page: Any) -> None:
    sign_in(page, server.url, "aud")  # the auditor reads it from the home page
    assert page.get_by_role("heading", name="Loans by stage").is_visible()
    assert serious_violations(page) == []
    shoot(page, "home-summary")
    page.get_by_role("link", name="The fund and its lending rules").click()
    page.wait_for_url(f"{server.url}/admin/fund")
    assert "FUNDLEDGER_FUND_IBAN" in page.content()
    assert "FUNDLEDGER_FUND_NAME is not set" in page.locator(".problems").inner_text()
    rules = page.locator("section", has=page.get_by_role("heading", name="Lending rules in force"))
    assert "3.000,00 €" in plain(rules.inner_text())
    assert "BE-BRU: 2 months of rent" in rules.inner_text()
    assert "No loan request was checked yet." in page.content()
    assert serious_violations(page) == []
    shoot(page, "admin-fund")
