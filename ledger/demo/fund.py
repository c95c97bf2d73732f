"""A demo fund with believable history, built only through the public use cases.

Every posting carries an idempotency key, so running the demo twice on the same database adds
nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.demo.loans import build_demo_loans
from ledger.demo.statements import build_demo_statements
from ledger.domain.accounts import default_chart
from ledger.domain.errors import Conflict
from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import money
from ledger.domain.roles import SYSTEM, Actor, Role
from ledger.domain.statuses import EntryKind
from ledger.services import journal, periods, users
from ledger.services.contracts import DocumentSettings
from ledger.store.uow import UnitOfWork

DEMO_USERS = {
    "admin": Role.ADMIN,
    "treasurer": Role.TREASURER,
    "caseworker": Role.CASEWORKER,
    "auditor": Role.AUDITOR,
    # Four eyes: a second caseworker approves, a second treasurer approves write-offs.
    "caseworker2": Role.CASEWORKER,
    "treasurer2": Role.TREASURER,
}


def demo_password(username: str) -> str:
    """Shown on a demo fund's sign-in page. Not the username in it: passwords never hold it."""
    return f"demo-password-{list(DEMO_USERS).index(username) + 1}"


@dataclass(frozen=True, slots=True)
class DemoSummary:
    users_created: list[str]
    entries_posted: int
    loans_created: int
    months_closed: list[str]
    statement_lines: int = 0


def _month_start(today: date, months_back: int) -> date:
    index = today.year * 12 + today.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def build_demo(
    uow: UnitOfWork, currency: str, docs: DocumentSettings, *, iban: str, hash_key: bytes
) -> DemoSummary:
    """Chart, users, six months of capital, donations and bank charges, one reversal, loans in
    every state, the bank's statements of the six months imported, and the first months
    closed (reconciled)."""
    journal.install_chart(uow, SYSTEM, default_chart(currency))
    created = []
    for name, role in DEMO_USERS.items():
        try:
            users.create_user(uow, SYSTEM, name, demo_password(name), role.value)
            created.append(name)
        except Conflict:
            pass
    treasurer = Actor("treasurer", Role.TREASURER)
    today = uow.today()

    def entry(
        key: str, day: date, kind: EntryKind, text: str, dr: str, cr: str, amount: str
    ) -> EntryDraft:
        value = money(amount, currency)
        return EntryDraft(
            booking_date=day,
            description=text,
            kind=kind,
            legs=(Leg.debit(dr, value), Leg.credit(cr, value)),
            idempotency_key=f"demo-{key}",
        )

    start = _month_start(today, 6)
    drafts = [
        entry(
            "capital",
            start,
            EntryKind.CAPITAL,
            "Founding grant, King Baudouin Foundation",
            "1000",
            "3000",
            "40000.00",
        ),
        entry(
            "capital-2",
            start.replace(day=20),
            EntryKind.CAPITAL,
            "Second grant instalment, City of Brussels",
            "1000",
            "3000",
            "15000.00",
        ),
    ]
    for back in range(6, 0, -1):
        first = _month_start(today, back)
        drafts.append(
            entry(
                f"donations-{first:%Y-%m}",
                first.replace(day=10),
                EntryKind.DONATION,
                f"Private donations {first:%B %Y}",
                "1000",
                "4000",
                f"{350 + 45 * back}.00",
            )
        )
        drafts.append(
            entry(
                f"charges-{first:%Y-%m}",
                first.replace(day=28),
                EntryKind.BANK_CHARGE,
                f"Account fees {first:%B %Y}",
                "6100",
                "1000",
                "7.50",
            )
        )
    posted = journal.post(uow, treasurer, drafts, command="demo")
    fresh = sum(1 for p in posted if not p.replayed)

    # A mistake and its correction: a donation booked twice is reversed, never deleted.
    mistake_day = _month_start(today, 1).replace(day=12)
    dup = journal.post(
        uow,
        treasurer,
        [
            entry(
                "donation-dup",
                mistake_day,
                EntryKind.DONATION,
                "Donation from parish collection (booked twice by mistake)",
                "1000",
                "4000",
                "120.00",
            )
        ],
        command="demo",
    )[0]
    reversal = journal.reverse_entry(
        uow,
        treasurer,
        dup.entry.id,
        booking_date=mistake_day.replace(day=13),
        description="Reversal: parish donation was booked twice",
        idempotency_key="demo-donation-dup-reversal",
    )
    fresh += (not dup.replayed) + (not reversal.replayed)

    loans_created = build_demo_loans(uow, currency, docs)
    bank = build_demo_statements(
        uow, currency, iban, hash_key, [_month_start(today, back) for back in range(6, 0, -1)]
    )

    closed = []
    already = periods.list_periods(uow, SYSTEM)[0]
    for back in range(6, 2, -1):
        month = f"{_month_start(today, back):%Y-%m}"
        if month not in already:
            # Four eyes, as on the pages: the treasurer asks, the admin signs the close off.
            periods.request_close(uow, treasurer, month)
            periods.sign_off_close(uow, Actor("admin", Role.ADMIN), month)
            closed.append(month)
    return DemoSummary(created, fresh, loans_created, closed, bank.new_lines)
