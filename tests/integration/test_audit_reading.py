"""What the auditor reads: the journal by who booked and by amount, an entry with its hash
checked, the trial balance with the loans' accounts added up, and the reads of personal data
(the people by their ids, days of the fund's zone, the CSV's cells neutralised)."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, text

from ledger.domain.audit import PERSONAL_READS, PersonalRead
from ledger.domain.errors import NotFound, PermissionDenied, ValidationError
from ledger.domain.journal import GENESIS_HASH, Entry, JournalFilter
from ledger.domain.money import money
from ledger.domain.paging import Window
from ledger.domain.roles import Actor, Role
from ledger.domain.statuses import LoanStatus
from ledger.services import audit, journal, loans
from ledger.services.audit import ReadsFilter
from ledger.store.tables import audit_log
from ledger.store.uow import UnitOfWork
from tests.support.actors import AUDITOR, CASEWORKER, TREASURER
from tests.support.clock import Clock
from tests.support.ledgertext import book
from tests.support.loans import loan_in, person

OTHER_TREASURER = Actor("theo.treasurer", Role.TREASURER)
LEDGER = """
2026-03-01 capital 5000.00 Dr 1000 Cr 3000
2026-03-02 donation 120.00 Dr 1000 Cr 4000
2026-03-03 bank_charge 4.20 Dr 6100 Cr 1000
2026-03-04 donation 80.00 Dr 1000 Cr 4000
"""


def ids(found: tuple[list[Entry], int]) -> list[int]:
    return [e.id for e in found[0]]


@pytest.fixture
def books(chart: UnitOfWork) -> UnitOfWork:
    book(chart, TREASURER, LEDGER)  # entries 1 to 4
    book(chart, OTHER_TREASURER, "2026-03-05 donation 120.00 Dr 1000 Cr 4000")  # 5
    return chart


def test_the_journal_by_who_booked(books: UnitOfWork) -> None:
    mine = journal.list_entries(books, AUDITOR, JournalFilter(author=OTHER_TREASURER.name))
    assert ids(mine) == [5] and mine[1] == 1
    assert ids(journal.list_entries(books, AUDITOR, JournalFilter(author="nobody"))) == []
    tina = JournalFilter(author=TREASURER.name, date_from=date(2026, 3, 2))
    assert ids(journal.list_entries(books, AUDITOR, tina)) == [2, 3, 4]


def test_the_journal_by_amount_on_either_side(books: UnitOfWork) -> None:
    exactly = JournalFilter(amount_min=money("120", "EUR"), amount_max=money("120", "EUR"))
    assert ids(journal.list_entries(books, AUDITOR, exactly)) == [2, 5]
    small = JournalFilter(amount_max=money("100", "EUR"))
    assert ids(journal.list_entries(books, AUDITOR, small)) == [3, 4]
    large = JournalFilter(amount_min=money("100.01", "EUR"))
    assert ids(journal.list_entries(books, AUDITOR, large)) == [1, 2, 5]
    none_in_chf = JournalFilter(amount_min=money("1", "CHF"))
    assert ids(journal.list_entries(books, AUDITOR, none_in_chf)) == []


def test_an_amount_with_an_account_is_looked_for_on_that_account(books: UnitOfWork) -> None:
    """Entry 3 moves 4.20 from the bank to charges: on 6100 it is found, on 4000 it is not,
    and 5000.00 is on the bank (entry 1) but not on the charges."""
    charge = money("4.20", "EUR")
    on_charges = JournalFilter(account_code="6100", amount_min=charge, amount_max=charge)
    assert ids(journal.list_entries(books, AUDITOR, on_charges)) == [3]
    on_gifts = JournalFilter(account_code="4000", amount_min=charge, amount_max=charge)
    assert ids(journal.list_entries(books, AUDITOR, on_gifts)) == []
    big = money("5000", "EUR")
    on_charges_big = JournalFilter(account_code="6100", amount_min=big)
    assert ids(journal.list_entries(books, AUDITOR, on_charges_big)) == []
    bank_big = JournalFilter(account_code="1000", amount_min=big)
    assert ids(journal.list_entries(books, AUDITOR, bank_big)) == [1]


def test_the_latest_entries_first(books: UnitOfWork) -> None:
    """By entry number, the latest recorded first, whatever their booking dates."""
    book(books, TREASURER, "2026-02-20 donation 5.00 Dr 1000 Cr 4000")  # 6, backdated
    latest, total = journal.list_entries(
        books, AUDITOR, JournalFilter(), limit=4, latest_first=True
    )
    assert total == 6 and [e.id for e in latest] == [6, 5, 4, 3]
    rest, _ = journal.list_entries(
        books, AUDITOR, JournalFilter(), limit=4, offset=4, latest_first=True
    )
    assert [e.id for e in rest] == [2, 1]
    by_date = journal.list_entries(books, AUDITOR, JournalFilter(), limit=2)
    assert ids(by_date) == [6, 1]


def test_a_filter_that_makes_no_sense_is_refused_with_its_field() -> None:
    with pytest.raises(ValidationError) as dates:
        JournalFilter(date_from=date(2026, 3, 5), date_to=date(2026, 3, 4))
    assert dates.value.field == "date_from"
    with pytest.raises(ValidationError) as amounts:
        JournalFilter(amount_min=money("5", "EUR"), amount_max=money("4.99", "EUR"))
    assert amounts.value.field == "amount_min"
    with pytest.raises(ValidationError) as currencies:
        JournalFilter(amount_min=money("5", "EUR"), amount_max=money("6", "CHF"))
    assert currencies.value.field == "amount_max"
    with pytest.raises(ValidationError) as zero:
        JournalFilter(amount_max=money("0", "EUR"))
    assert zero.value.field == "amount_max"
    with pytest.raises(TypeError):
        JournalFilter(amount_min=5.0)  # type: ignore[arg-type]
    assert JournalFilter(date_from=date(2026, 3, 5), date_to=date(2026, 3, 5)).date_to


def test_an_unknown_account_in_a_filter_is_not_found(books: UnitOfWork) -> None:
    with pytest.raises(NotFound) as missing:
        journal.list_entries(books, AUDITOR, JournalFilter(account_code="9999"))
    assert missing.value.field == "account"


def test_an_entry_with_its_accounts_and_its_place_in_the_chain(books: UnitOfWork) -> None:
    first = journal.entry_detail(books, AUDITOR, 1)
    assert first.hash_matches and first.chain_matches
    assert first.previous_hash == GENESIS_HASH
    assert set(first.accounts) == {"1000", "3000"}
    assert first.accounts["3000"].name
    assert first.last_id == 5
    third = journal.entry_detail(books, AUDITOR, 3)
    assert third.previous_hash == journal.get_entry(books, AUDITOR, 2).hash
    assert third.chain_matches
    with pytest.raises(PermissionDenied):
        journal.entry_detail(books, CASEWORKER, 3)
    with pytest.raises(NotFound):
        journal.entry_detail(books, AUDITOR, 6)


def test_an_entry_changed_behind_the_journals_back_shows_it(books: UnitOfWork) -> None:
    """The database refuses an UPDATE on entries; with its guard dropped (what an intruder with
    the database's keys could do), the page's check says the hash no longer matches."""
    engine = books.engine
    change = "UPDATE journal_entries SET description = 'edited' WHERE id = 2"
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path
        con = sqlite3.connect(path)
        try:
            con.execute("DROP TRIGGER IF EXISTS journal_entries_no_update")
            con.execute(change)
            con.commit()
        finally:
            con.close()
    else:
        guard = "TRIGGER journal_entries_append_only"
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE journal_entries DISABLE {guard}"))
            conn.execute(text(change))
            conn.execute(text(f"ALTER TABLE journal_entries ENABLE {guard}"))
    second = journal.entry_detail(books, AUDITOR, 2)
    assert not second.hash_matches
    assert second.chain_matches  # its link to entry 1 is untouched
    assert journal.entry_detail(books, AUDITOR, 3).hash_matches


def test_the_trial_balance_adds_the_loans_accounts_up(chart: UnitOfWork) -> None:
    book(chart, TREASURER, "2026-03-01 capital 10000.00 Dr 1000 Cr 3000")
    first = loan_in(chart, LoanStatus.ACTIVE, person(chart))
    second = loan_in(chart, LoanStatus.ACTIVE, person(chart))
    full = journal.trial_balance(chart, AUDITOR)
    summary = journal.trial_balance_summary(chart, AUDITOR)
    assert summary.totals == full.totals == {"EUR": 0} and summary.balanced
    loan_lines = [li for li in summary.lines if li.sub_accounts]
    assert len(loan_lines) == 1
    line = loan_lines[0]
    assert line.account.is_control and line.sub_accounts == 2
    deposits = first.terms.deposit.amount + second.terms.deposit.amount
    assert line.balance_minor == int(deposits * 100)
    assert sum(li.balance_minor for li in summary.lines) == 0
    # Today's figures come from the accounts' balances; they are the lines' sums.
    rolled = {li.account.code: li.balance_minor for li in summary.lines if not li.sub_accounts}
    from_legs = {li.account.code: li.balance_minor for li in full.lines}
    assert rolled == {code: v for code, v in from_legs.items() if code in rolled}
    assert line.balance_minor == sum(
        li.balance_minor for li in full.lines if li.account.parent_id == line.account.id
    )
    codes = [li.account.code for li in summary.lines]
    assert codes == sorted(codes)
    assert not any(li.account.parent_id for li in summary.lines)
    before = journal.trial_balance_summary(chart, AUDITOR, date(2026, 3, 1))
    assert [(li.balance_minor, li.sub_accounts) for li in before.lines if li.sub_accounts] == [
        (0, 2)
    ]


# -- reads of personal data ------------------------------------------------------------------


def _reads(uow: UnitOfWork, flt: ReadsFilter | None = None) -> list[PersonalRead]:
    found = audit.personal_reads(uow, AUDITOR, flt or ReadsFilter(), limit=50)
    assert found.total == len(found.items) and found.newer == 0
    return found.items


def test_reads_name_the_people_by_their_ids(chart: UnitOfWork, clock: Clock) -> None:
    book(chart, TREASURER, "2026-03-01 capital 10000.00 Dr 1000 Cr 3000")
    amina = person(chart)
    loan = loan_in(chart, LoanStatus.ACTIVE, amina)
    loans.get_loan(chart, CASEWORKER, loan.id)  # the lease: a read through the loan
    loans.read_beneficiary(chart, CASEWORKER, amina.id)
    found, _ = loans.search_beneficiaries(chart, CASEWORKER, "Amina", limit=10, offset=0)
    assert found
    reads = _reads(chart)
    assert {r.action for r in reads} <= set(PERSONAL_READS)
    newest = reads[0]
    assert (newest.target, newest.via) == ("people:search", "search")
    assert newest.beneficiary_ids == (amina.id,)
    by_person = next(r for r in reads if r.target == f"person:{amina.id}")
    assert by_person.beneficiary_ids == (amina.id,) and by_person.loan_id is None
    by_loan = next(r for r in reads if r.target == f"loan:{loan.id}")
    assert by_loan.beneficiary_ids == (amina.id,) and by_loan.loan_id == loan.id
    assert all(r.actor == CASEWORKER.name for r in reads)
    # Other records (logins, postings) are not reads.
    journal_only = audit.list_audit(chart, AUDITOR, by=TREASURER.name)[0]
    assert journal_only and not {r.id for r in journal_only} & {r.id for r in reads}
    with pytest.raises(PermissionDenied):
        audit.personal_reads(chart, CASEWORKER, ReadsFilter())


def _read_at(engine: Engine, at: datetime, actor: str = "cas", target: str = "person:B1") -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(audit_log).values(
                at=at, actor=actor, action="read_personal_data", target=target, details=None
            )
        )


def test_reads_between_days_of_the_funds_zone(engine: Engine, clock: Clock) -> None:
    """23:30 UTC on 31 March is already 1 April in Brussels."""
    brussels = UnitOfWork(engine, clock=clock, zone=ZoneInfo("Europe/Brussels"))
    _read_at(engine, datetime(2026, 3, 31, 21, 30, tzinfo=UTC))  # 23:30 in Brussels
    _read_at(engine, datetime(2026, 3, 31, 22, 30, tzinfo=UTC), target="person:B2")  # 00:30
    _read_at(engine, datetime(2026, 4, 2, 8, 0, tzinfo=UTC), actor="ada", target="person:B3")
    march = _reads(brussels, ReadsFilter(date_to=date(2026, 3, 31)))
    assert [r.beneficiary_ids for r in march] == [("B1",)]
    april = _reads(brussels, ReadsFilter(date_from=date(2026, 4, 1)))
    assert [r.beneficiary_ids for r in april] == [("B3",), ("B2",)]
    first_of_april = ReadsFilter(date_from=date(2026, 4, 1), date_to=date(2026, 4, 1))
    assert [r.beneficiary_ids for r in _reads(brussels, first_of_april)] == [("B2",)]
    by_ada = _reads(brussels, ReadsFilter(by="ada"))
    assert [r.actor for r in by_ada] == ["ada"]
    # A page from the last read seen, newest first, and where it stands.
    newest = audit.personal_reads(brussels, AUDITOR, ReadsFilter(), limit=2)
    assert [r.beneficiary_ids for r in newest.items] == [("B3",), ("B2",)]
    assert (newest.total, newest.first, newest.last, newest.has_older) == (3, 1, 2, True)
    assert not newest.has_newer and newest.last_id is not None
    everyone = ReadsFilter()
    older = audit.personal_reads(
        brussels, AUDITOR, everyone, Window(before=newest.last_id), limit=2
    )
    assert [r.beneficiary_ids for r in older.items] == [("B1",)]
    assert (older.total, older.first, older.last, older.has_older) == (3, 3, 3, False)
    assert older.has_newer and older.first_id is not None
    back = audit.personal_reads(brussels, AUDITOR, everyone, Window(after=older.first_id), limit=2)
    assert [r.beneficiary_ids for r in back.items] == [("B3",), ("B2",)]  # the newest page
    by_offset = audit.personal_reads(brussels, AUDITOR, everyone, Window(offset=2), limit=2)
    assert [r.beneficiary_ids for r in by_offset.items] == [("B1",)] and by_offset.newer == 2
    with pytest.raises(ValidationError) as wrong:
        ReadsFilter(date_from=date(2026, 4, 2), date_to=date(2026, 4, 1))
    assert wrong.value.field == "date_from"


def test_the_reads_csv_neutralises_formulas(engine: Engine, clock: Clock) -> None:
    uow = UnitOfWork(engine, clock=clock)
    for day in range(1, 6):
        _read_at(engine, datetime(2026, 3, 1, 9, 0, tzinfo=UTC) + timedelta(days=day))
    _read_at(engine, datetime(2026, 3, 20, 9, 0, tzinfo=UTC), actor="=cmd|' /C calc'!A0")
    _read_at(engine, datetime(2026, 3, 21, 9, 0, tzinfo=UTC), target="person:+B9")
    text = "".join(audit.personal_reads_csv(uow, AUDITOR, ReadsFilter()))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(audit.READ_COLUMNS)
    assert len(rows) == 1 + 7
    assert rows[1][4] == "'+B9" and rows[1][7] == "person:+B9"  # newest first
    assert rows[2][2] == "'=cmd|' /C calc'!A0"
    assert rows[2][1] == "2026-03-20T09:00:00Z"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    with pytest.raises(PermissionDenied):
        audit.personal_reads_csv(uow, TREASURER, ReadsFilter())
