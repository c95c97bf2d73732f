"""A beneficiary's link token never reaches a log: not the access log only, but every logger,
the error logged when a /b/ request fails included, with its traceback (issue 16, finding 17)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from ledger.services import access_links

TOKEN = "s3cr3t-Link-T0ken_abcdefghijklmnopqrstuvwxyz012"


def test_a_failing_link_request_logs_no_token(
    api: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"cannot open /b/{TOKEN} right now")

    monkeypatch.setattr(access_links, "open_link", broken)
    with caplog.at_level(logging.DEBUG):
        for path in (f"/b/{TOKEN}", f"/b/{TOKEN}/schedule.pdf"):
            assert api.get(path).status_code == 500
    assert "unexpected error on GET /b/***" in caplog.text
    assert "RuntimeError: cannot open /b/*** right now" in caplog.text
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


@pytest.mark.parametrize("name", ["ledger.services.anything", "uvicorn.error", "somelibrary", ""])
def test_any_logger_masks_a_link_path(
    api: TestClient, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger(name).warning("went to %s", f"https://fund.example/b/{TOKEN}?x=1")
        logging.getLogger(name).warning(f"went to /b/{TOKEN}/schedule.pdf")
        logging.getLogger(name).warning("mapped %(path)s", {"path": f"/b/{TOKEN}"})
    assert TOKEN not in caplog.text
    assert caplog.text.count("/b/***") == 3
