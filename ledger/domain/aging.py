"""Arrears aging and portfolio at risk (PAR30) of a portfolio: one pure computation.

Each loan's arrears (``ledger.domain.repayment.arrears``, replayed as of a day) go in; out
comes an ``Aging``: the loans still owing, what they owe, by bucket of days past due, and the
part owed by loans more than 30 days late. The loan services' portfolio, the month's
reconciliation and the monthly report all read this one value.

Rounding, the only one: PAR30 in percent is ``at risk × 100 / outstanding``, computed in
``Decimal`` and rounded to two decimals, half to even (1/800 is 0.125 %, shown 0.12; 3/800 is
0.375 %, shown 0.38); 0.00 when nothing is outstanding. It stays a ``Decimal``: the edges
(API, CLI, report) show it with ``str``, "12.50", as they always have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.domain.repayment import BUCKET_LIMITS, AgingBucket, Arrears, bucket

#: A loan is at risk once it is *more* than this many days past due.
PAR_DAYS = 30
#: The aging buckets, in order: "current", "1-30", ... ">360".
BUCKETS: tuple[str, ...] = tuple(b.value for b in AgingBucket)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Aging:
    """Arrears of loans being repaid, as of a day."""

    loans: int  # loans still owing
    outstanding_minor: int
    buckets: dict[str, tuple[int, int]]  # bucket -> (loans, outstanding)
    par30_minor: int  # outstanding of loans more than 30 days late

    @property
    def par30_ratio(self) -> Decimal:
        """PAR30 in percent, two decimals, exact (see the module's rounding rule)."""
        return par_percent(self.par30_minor, self.outstanding_minor)


def par_percent(at_risk_minor: int, outstanding_minor: int) -> Decimal:
    """``at_risk`` as a percentage of ``outstanding``: two decimals, half to even; 0.00 when
    nothing is outstanding."""
    if not outstanding_minor:
        return Decimal("0.00")
    ratio = Decimal(at_risk_minor) * 100 / Decimal(outstanding_minor)
    return ratio.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def par(outstanding_by_loan: Iterable[tuple[int, int]], days: int = PAR_DAYS) -> tuple[int, int]:
    """Portfolio at risk: (outstanding of loans more than ``days`` late, total outstanding),
    of (outstanding, days past due) pairs."""
    at_risk = total = 0
    for outstanding, dpd in outstanding_by_loan:
        total += outstanding
        if dpd > days:
            at_risk += outstanding
    return at_risk, total


def aging_of_buckets(buckets: Mapping[str, tuple[int, int]]) -> Aging:
    """The aging of loans already counted by bucket (bucket -> (loans, outstanding), loans
    owing something only): what the arrears projection's one query returns. PAR30 is the
    outstanding of the buckets past "1-30", the loans more than ``PAR_DAYS`` late."""
    full = {b: buckets.get(b, (0, 0)) for b in BUCKETS}
    at_risk = sum(full[b][1] for b in BUCKETS if bucket_floor(b) > PAR_DAYS)
    return Aging(sum(c for c, _ in full.values()), sum(o for _, o in full.values()), full, at_risk)


def bucket_floor(name: str) -> int:
    """The fewest days past due a loan of this bucket has: 0, 1, 31, 61, 91, 181, 361."""
    floor = 0
    for limit, b in BUCKET_LIMITS:
        if b.value == name:
            return floor
        floor = limit + 1
    return floor


def aging_of(loans: Iterable[Arrears]) -> Aging:
    """The aging of loans' arrears (each as of the same day); a loan that owes nothing (or is
    owed: an overpaid one) is left out. Every bucket is named, empty ones with (0, 0)."""
    owing = [(a.outstanding, a.days_past_due) for a in loans if a.outstanding > 0]
    counts = dict.fromkeys(BUCKETS, 0)
    sums = dict.fromkeys(BUCKETS, 0)
    for outstanding, dpd in owing:
        name = bucket(dpd).value
        counts[name] += 1
        sums[name] += outstanding
    at_risk, total = par(owing)
    return Aging(len(owing), total, {b: (counts[b], sums[b]) for b in BUCKETS}, at_risk)
