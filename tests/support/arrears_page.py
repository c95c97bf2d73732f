"""A fund whose loans are late by different numbers of days on a given day, opened by different
social workers: the arrears page's tests (tests/api/test_web_arrears.py in a client,
tests/e2e/test_arrears.py in a browser).

Each loan is 1,700.00 over 24 monthly installments (70.83, the last 70.91), its first one due
``days`` before ``today`` and none paid (one pays 10.00 of its first), so it is exactly
``days`` days late on ``today`` whatever the months' lengths. Loans are opened through the
services by the people of ``tests.support.web.STAFF`` ("cas", "cor"), and one by a caseworker
named ``FORMULA_NAME``: a name a user could not be given (user names start with a letter or a
digit), which a loan's ``created_by`` can still hold (a loan opened by the services for another
caller); the CSV must neutralise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine

from ledger.domain.loans import Loan
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Actor, Role
from ledger.services import loans
from ledger.store.uow import Clock, UnitOfWork, utc_now
from tests.support.ledgertext import book
from tests.support.loans import LEASE, POLICY, TREASURER, eur, on_day, person, sign, terms

FORMULA_NAME = '=HYPERLINK("http://x")'
CAS = Actor("cas", Role.CASEWORKER)
COR = Actor("cor", Role.CASEWORKER)
FORMULA = Actor(FORMULA_NAME, Role.CASEWORKER)


@dataclass(frozen=True, slots=True)
class Late:
    """What the fund was built to hold: a loan, who opened it, its first due day."""

    name: str
    loan: Loan
    caseworker: str
    first_due: date
    paid_minor: int


#: name -> (opened by, days late on ``today``; below 0: first due after it, minor units paid)
PLAN: dict[str, tuple[Actor, int, int]] = {
    "short": (CAS, 10, 0),  # 1-30
    "formula": (FORMULA, 20, 0),  # 1-30
    "month": (CAS, 45, 0),  # 31-60
    "partial": (COR, 75, 1000),  # 61-90, 10.00 of its first installment paid
    "long": (COR, 200, 0),  # 181-360
    "on_time": (CAS, -10, 0),  # paid out, nothing due yet: "on time"
}


def late_fund(engine: Engine, today: date, clock: Clock = utc_now) -> dict[str, Late]:
    """Capital, then the loans of ``PLAN``, each paid out 25 days before its first due day."""
    uow = UnitOfWork(engine, clock=clock)
    earliest = today - timedelta(days=max(d for _, d, _ in PLAN.values()) + 60)
    book(uow, TREASURER, f"{earliest.isoformat()} capital 20000.00 EUR Dr 1000 Cr 3000 ; capital")
    out: dict[str, Late] = {}
    for name, (by, days, paid) in PLAN.items():
        first_due = today - timedelta(days=days)
        payout = first_due - timedelta(days=25)
        start = payout.replace(day=1)
        # Opened, decided and paid out on its payout day: the rules compare the lease and the
        # first due date with the day they run.
        uow = on_day(UnitOfWork(engine, clock=clock), payout)
        opened = loans.open_application(
            uow,
            by,
            person(uow).id,
            terms(
                lease_start=start,
                lease_end=start.replace(year=start.year + 3) - timedelta(days=1),
                first_due_date=first_due,
            ),
            LEASE,
            POLICY,
        )
        loans.submit(uow, by, opened.id, POLICY)
        loans.approve(uow, COR if by != COR else CAS, opened.id, LoanPolicy())
        sign(uow, opened.id, COR if by != COR else CAS)
        loan = loans.disburse(
            uow, TREASURER, opened.id, on=payout, idempotency_key=f"payout-{opened.id}"
        ).loan
        uow = UnitOfWork(engine, clock=clock)
        if paid:
            loans.record_payment(
                uow,
                TREASURER,
                loan.id,
                eur(f"{paid // 100}.{paid % 100:02d}"),
                on=first_due - timedelta(days=1),
                idempotency_key=f"paid-{loan.id}",
            )
        out[name] = Late(name, loan, by.name, first_due, paid)
    return out
