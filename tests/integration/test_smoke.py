from datetime import date

from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import money
from ledger.services.journal import post_manual_entry
from ledger.services.verify import verify
from ledger.store.uow import UnitOfWork
from tests.conftest import AUDITOR, TREASURER


def test_post_and_verify(chart: UnitOfWork) -> None:
    eur = money("250.00", "EUR")
    posted = post_manual_entry(
        chart,
        TREASURER,
        EntryDraft(date(2026, 3, 1), "Donation", "donation", (Leg.debit("1000", eur), Leg.credit("4000", eur))),
    )
    assert posted.entry.id == 1
    report = verify(chart, AUDITOR)
    assert report.ok, report.summary()
    assert report.entries == 1
