"""Fixtures for the integration tests: a fund with its default chart and some capital."""

from __future__ import annotations

import pytest

from ledger.store.uow import UnitOfWork
from tests.support.actors import TREASURER
from tests.support.contracts import docs, fund_key_file  # noqa: F401  (fixtures offered to the tests here)
from tests.support.ledgertext import book


@pytest.fixture
def funded(chart: UnitOfWork) -> UnitOfWork:
    """Default EUR chart, 10,000.00 of capital in the bank on 2026-03-01 (entry 1)."""
    book(chart, TREASURER, "2026-03-01 capital 10000.00 EUR Dr 1000 Cr 3000 ; founding capital")
    return chart
