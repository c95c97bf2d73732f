"""Lists longer than a page: the pager's links, and every page of the list answers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.loans import application, person
from tests.support.web import client_sign_in, staffed_fund

LOANS = 27  # a page holds 25: two pages


@pytest.fixture
def web(engine: Engine, clock: Clock) -> Iterator[TestClient]:
    staffed_fund(engine)
    uow = UnitOfWork(engine, clock=clock)
    who = person(uow)
    for _ in range(LOANS):
        application(uow, who)
    settings = Settings(_env_file=None, database_url="sqlite://", fund_languages="en,fr")
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


def test_the_loan_list_pages_through_every_loan(web: TestClient) -> None:
    client_sign_in(web, "cas")
    first = web.get("/loans")
    assert first.status_code == 200
    assert "1 to 25 of 27" in first.text
    assert re.search(r'href="/loans\?offset=25"', first.text)
    second = web.get("/loans?offset=25")
    assert second.status_code == 200
    assert "26 to 27 of 27" in second.text
    shown = set(re.findall(r'href="/loans/(L\d{6})"', first.text + second.text))
    assert len(shown) == LOANS
    drafts = web.get("/loans?status=draft&offset=25")
    assert drafts.status_code == 200
    assert re.search(r'href="/loans\?status=draft&amp;offset=0"', drafts.text)


def test_the_people_list_pages_too(web: TestClient, engine: Engine, clock: Clock) -> None:
    uow = UnitOfWork(engine, clock=clock)
    for _ in range(26):
        person(uow)
    client_sign_in(web, "cas")
    first = web.get("/beneficiaries")
    assert first.status_code == 200
    second = web.get("/beneficiaries?offset=25")
    assert second.status_code == 200
