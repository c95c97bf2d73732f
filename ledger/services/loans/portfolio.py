"""The portfolio's arrears aging and PAR30, as of any date."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.domain.loans import (
    LoanStatus,
)
from ledger.domain.repayment import arrears, bucket
from ledger.domain.roles import Actor, Permission
from ledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Portfolio:
    as_of: date
    currency: str
    loans: int
    outstanding: int
    buckets: dict[str, tuple[int, int]]  # bucket -> (loans, outstanding)
    par30: int  # outstanding of loans more than 30 days late

    @property
    def par30_ratio(self) -> str:
        """PAR30 as a percentage with two decimals (exact decimal text, not a float)."""
        if not self.outstanding:
            return "0.00"
        from decimal import ROUND_HALF_EVEN

        ratio = Decimal(self.par30) * 100 / Decimal(self.outstanding)
        return str(ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def portfolio(uow: UnitOfWork, actor: Actor, as_of: date, currency: str) -> Portfolio:
    """Arrears aging and PAR30 of loans being repaid, as of any date."""
    actor.require(Permission.LOANS_READ)
    with uow:
        return portfolio_in(uow, as_of, currency)


def portfolio_in(uow: UnitOfWork, as_of: date, currency: str) -> Portfolio:
    """``portfolio`` inside an open unit of work (the caller checks the permission)."""
    counts: Counter[str] = Counter()
    sums: Counter[str] = Counter()
    total = at_risk = n = 0
    # A loan written off since then was still in the portfolio on that day (the repository
    # leaves out those written off by ``as_of``).
    for _lid, cur, insts, pays in uow.loans.portfolio(
        [LoanStatus.ACTIVE, LoanStatus.CLOSED, LoanStatus.OVERPAID, LoanStatus.WRITTEN_OFF],
        as_of=as_of,
    ):
        if cur != currency or not insts:
            continue
        a = arrears(insts, pays, as_of)
        if a.outstanding <= 0:
            continue
        n += 1
        name = bucket(a.days_past_due).value
        counts[name] += 1
        sums[name] += a.outstanding
        total += a.outstanding
        if a.days_past_due > 30:
            at_risk += a.outstanding
    return Portfolio(
        as_of, currency, n, total, {b: (counts[b], sums[b]) for b in _BUCKET_NAMES}, at_risk
    )


_BUCKET_NAMES = ("current", "1-30", "31-60", "61-90", "91-180", "181-360", ">360")
