"""The portfolio's arrears aging and PAR30, as of any date (``ledger.domain.aging``).

Read from the arrears projection (``loan_arrears``, ``ledger.domain.arrears``): one aggregate
over the steps valid on the day. ``replay_portfolio`` is the full computation it is checked
against (every loan's payments replayed over its schedule), kept for ``verify`` and the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.domain.aging import Aging, aging_of, aging_of_buckets
from ledger.domain.repayment import Arrears, arrears
from ledger.domain.roles import Actor, Permission
from ledger.store.arrears_repository import PAID_OUT
from ledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The aging of a currency's loans as of a day."""

    as_of: date
    currency: str
    aging: Aging

    @property
    def loans(self) -> int:
        return self.aging.loans

    @property
    def outstanding(self) -> int:
        return self.aging.outstanding_minor

    @property
    def buckets(self) -> dict[str, tuple[int, int]]:
        """bucket -> (loans, outstanding), every bucket in order."""
        return self.aging.buckets

    @property
    def par30(self) -> int:
        """Outstanding of loans more than 30 days late."""
        return self.aging.par30_minor

    @property
    def par30_percent(self) -> Decimal:
        return self.aging.par30_ratio

    @property
    def par30_ratio(self) -> str:
        """PAR30 as a percentage with two decimals, as text: how the API and the CLI show it
        (``str`` of ``par30_percent``, e.g. "12.50")."""
        return str(self.aging.par30_ratio)


def portfolio(uow: UnitOfWork, actor: Actor, as_of: date, currency: str) -> Portfolio:
    """Arrears aging and PAR30 of loans being repaid, as of any date."""
    actor.require(Permission.LOANS_READ)
    with uow:
        return compute_portfolio(uow, as_of, currency)


def compute_portfolio(uow: UnitOfWork, as_of: date, currency: str) -> Portfolio:
    """``portfolio`` inside an open unit of work (the caller checks the permission)."""
    return Portfolio(as_of, currency, aging_of_buckets(uow.arrears.aging(currency, as_of)))


def replay_portfolio(uow: UnitOfWork, as_of: date, currency: str) -> Portfolio:
    """The same, by the full replay of every loan's payments (slow: the reference)."""
    return Portfolio(as_of, currency, aging_of(_arrears(uow, as_of, currency)))


def _arrears(uow: UnitOfWork, as_of: date, currency: str) -> Iterator[Arrears]:
    """Each loan's arrears as of ``as_of``. A loan written off since then was still in the
    portfolio on that day (the repository leaves out those written off by ``as_of``)."""
    for _lid, cur, insts, pays in uow.loans.portfolio(PAID_OUT, as_of=as_of):
        if cur == currency and insts:
            yield arrears(insts, pays, as_of)
