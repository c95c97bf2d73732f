"""The fund page lists each language the beneficiaries' documents exist in: whether a translator
checked it (and who), and whether it is complete (from the catalogs themselves)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.documents import catalogs
from tests.support.clock import Clock
from tests.support.pseudo_catalogs import locale_with
from tests.support.web import client_sign_in, staffed_fund


@pytest.fixture
def web(engine: Engine, clock: Clock) -> Iterator[TestClient]:
    staffed_fund(engine)
    settings = Settings(_env_file=None, database_url="sqlite://", fund_languages="en,fr")
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


def rows(html: str) -> dict[str, str]:
    """The languages table: language code -> the row's words."""
    section = html.split('id="languages-title"', 1)[1].split("</section>", 1)[0]
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section, re.S):
        code = re.search(r"<code>([a-z]+)</code>", row)
        if code:
            found[code.group(1)] = " ".join(re.sub(r"<[^>]+>", " ", row).split())
    return found


def test_every_shipped_language_is_listed_with_its_review_state(web: TestClient) -> None:
    client_sign_in(web, "ada")
    listed = rows(web.get("/admin/fund").text)
    assert next(iter(listed)) == "en"
    assert "The original wording" in listed["en"]
    assert set(listed) == {"en", *catalogs.languages()}
    assert listed["fr"].startswith("French · français fr ")
    for state in catalogs.states():
        review = f"Yes, by {state.reviewed_by}" if state.reviewed else "Not yet"
        assert listed[state.language].endswith(f"{review} Yes"), listed[state.language]


def test_a_reviewed_and_an_incomplete_catalog(web: TestClient, tmp_path: Path) -> None:
    with locale_with(tmp_path, ["ar", "th"]):
        arabic = catalogs.load("ar")
        arabic.header["X-Review-State"] = "reviewed"
        arabic.header["X-Reviewed-By"] = "Layla Haddad"
        catalogs.save(arabic)
        thai = catalogs.load("th")
        for msgid in ("contract.title", "schedule.title", "doc.page"):
            thai.entries[msgid].msgstr = ""
        catalogs.save(thai)
        total = len(catalogs.load("en").entries)

        client_sign_in(web, "aud")  # the auditor reads the fund page too
        html = web.get("/admin/fund").text
        listed = rows(html)
        assert listed["ar"] == "Arabic · العربية ar Yes, by Layla Haddad Yes"
        assert listed["th"] == (
            f"Thai · ไทย th Not yet No: 3 of {total} texts are missing or out of date"
        )
        assert '<span lang="ar" dir="rtl">العربية</span>' in html
        # names in the reader's language, sorted by them
        some = {"en", "ar", "nl", "fr", "de", "th", "sq", "zh"}
        assert [code for code in listed if code in some] == [
            "en", "sq", "ar", "zh", "nl", "fr", "de", "th"
        ]  # fmt: skip
        names = [listed[code].split(" · ")[0] for code in list(listed)[1:]]
        assert names == sorted(names, key=str.casefold)
