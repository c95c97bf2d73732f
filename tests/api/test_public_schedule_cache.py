"""The beneficiary's schedule PDF (``/b/{token}/schedule.pdf``) is rendered once for a content:
the next request for the same content is served the bytes kept, and a payment, which changes
what the schedule prints, makes it rendered again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from ledger.documents import render
from ledger.documents.model import ScheduleData
from ledger.domain.money import money
from tests.support.api_loans import CW1, Team, fund, open_loan, pay, walk
from tests.support.documents import fund_eur, schedule


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The loans whose schedule was rendered, one entry per rendering."""
    done: list[str] = []
    real = render.render_schedule

    def counted(data: ScheduleData) -> render.Rendered:
        done.append(data.loan_id)
        return real(data)

    render.PUBLIC_SCHEDULES.clear()
    monkeypatch.setattr(render, "render_schedule", counted)
    yield done
    render.PUBLIC_SCHEDULES.clear()


def test_the_second_request_is_served_without_rendering(
    api: TestClient, team: Team, renders: list[str]
) -> None:
    fund(api, team)
    loan = open_loan(api, team)
    walk(api, team, loan["id"], "active")
    made = api.post(f"/api/loans/{loan['id']}/access-links", json={"days": 30}, headers=team(CW1))
    assert made.status_code == 201, made.text
    url = f"/b/{made.json()['token']}/schedule.pdf"

    first = api.get(url)
    assert first.status_code == 200 and first.content.startswith(b"%PDF-")
    second = api.get(url)
    assert second.status_code == 200 and second.content == first.content
    assert renders == [loan["id"]]  # rendered once
    assert second.headers["cache-control"] == "no-store"  # kept by us, never by a browser

    pay(api, team, loan["id"], "50.00", "2025-10-20", key="cache-payment")
    third = api.get(url)
    assert third.status_code == 200 and third.content != first.content
    assert renders == [loan["id"], loan["id"]]  # the payment changed it: rendered again
    assert api.get(url).content == third.content
    assert len(renders) == 2


def test_the_key_is_the_content_printed() -> None:
    data = schedule("fr")
    key = render.schedule_key(data)
    assert key == render.schedule_key(schedule("fr"))  # same content, same key
    paid = replace(data, paid=money("1.00", "EUR"))
    changes = [
        paid,
        replace(data, language="nl"),
        replace(data, as_of=data.as_of.replace(day=11)),
        replace(data, fund=fund_eur(phone="+32 2 111 11 11")),
        replace(data, lines=data.lines[:-1]),  # another schedule version
    ]
    keys = {render.schedule_key(changed) for changed in changes}
    assert key not in keys and len(keys) == len(changes)


def test_the_cache_keeps_what_its_bounds_allow() -> None:
    cache = render.RenderedCache(entries=2, max_bytes=10)

    def rendered(pdf: bytes) -> render.Rendered:
        return render.Rendered(pdf=pdf, sha256="", language="en", missing=())

    cache.put("a", rendered(b"1234"))
    cache.put("b", rendered(b"1234"))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", rendered(b"1234"))  # two entries at most: b goes
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    cache.put("d", rendered(b"12345678"))  # 10 bytes at most: a and c go
    assert len(cache) == 1 and cache.get("d") is not None
    cache.put("e", rendered(b"x" * 11))  # larger than the whole cache: not kept
    assert cache.get("e") is None and cache.renders == 5
