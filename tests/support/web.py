"""The web application under test: a live server on a fresh fund, a browser's screenshots at a
phone's and a laptop's width, and the accessibility check (axe-core)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.domain.accounts import default_chart
from ledger.domain.roles import SYSTEM, Role
from ledger.services import journal, users
from ledger.store.uow import UnitOfWork

#: Screenshots of every main page, at both widths, for people to look at.
SCREENS = Path(__file__).resolve().parents[1] / "e2e" / "screens"
WIDTHS = {"laptop": (1366, 900), "phone": (390, 844)}
PASSWORD = "correct horse battery"
STAFF = {
    "ada": Role.ADMIN,
    "cas": Role.CASEWORKER,
    "cor": Role.CASEWORKER,  # the second caseworker: four eyes
    "tom": Role.TREASURER,
    "aud": Role.AUDITOR,
}


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright's own download cannot be reached here)."""
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )


def staffed_fund(engine: Engine) -> None:
    """The default EUR chart and one user of each role (password ``PASSWORD``)."""
    uow = UnitOfWork(engine)
    journal.install_chart(uow, SYSTEM, default_chart("EUR"))
    for name, role in STAFF.items():
        users.create_user(UnitOfWork(engine), SYSTEM, name, PASSWORD, role.value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class LiveServer:
    url: str
    engine: Engine
    settings: Settings

    def uow(self) -> UnitOfWork:
        """A unit of work on the server's database in the fund's time zone, as the server's
        own: at night in UTC, one in UTC would have another "today" than the pages."""
        return UnitOfWork(self.engine, zone=self.settings.zone)


@contextmanager
def live_server(engine: Engine, settings: Settings) -> Iterator[LiveServer]:
    """``create_app`` served by uvicorn in a thread on a free port, until the block ends."""
    port = free_port()
    app = create_app(settings, engine=engine)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", engine, settings)
    finally:
        server.should_exit = True
        thread.join(10)


def shoot(page: Any, name: str) -> list[Path]:
    """Screenshots of the page as it is now at both widths, full length; the width is set back
    to the laptop's afterwards."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    written = []
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        path = SCREENS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        written.append(path)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            raise AssertionError(f"{name} scrolls sideways at {width} px ({scroll} px wide)")
    page.set_viewport_size({"width": WIDTHS["laptop"][0], "height": WIDTHS["laptop"][1]})
    return written


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [str(n.get("target")) for n in violation.get("nodes", [])][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {', '.join(targets)}")
    return found


def sign_in(page: Any, base_url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/sign-in")
    page.locator("#username").fill(name)
    page.locator("#password").fill(password)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


def client_sign_in(client: Any, name: str, password: str = PASSWORD, next_path: str = "/") -> Any:
    """Sign a TestClient in through the sign-in form, as a browser does; the response of the
    form's POST (303 on success)."""
    import re

    form = client.get(f"/sign-in?next={next_path}")
    presession = re.search(r'name="presession" value="([^"]+)"', form.text)
    if presession is None:
        raise AssertionError("the sign-in page has no presession field")
    return client.post(
        "/sign-in",
        data={
            "username": name,
            "password": password,
            "presession": presession.group(1),
            "next": next_path,
        },
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    """The CSRF token a signed-in page carries in its forms."""
    import re

    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    if found is None:
        raise AssertionError("no CSRF field on the page")
    return found.group(1)


def choose_language(page: Any, code: str) -> None:
    """Pick a language in the menu (it sends its form) and wait until the page is in it."""
    from playwright.sync_api import expect

    page.locator("#language").select_option(code)
    expect(page.locator("html")).to_have_attribute("lang", code)
