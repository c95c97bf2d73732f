"""The journal's rules before anything is written: where each amount goes, and what is refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from ledger.domain.accounts import Account, AccountRole, AccountType
from ledger.domain.errors import ClosedAccount, ClosedPeriod, Overdraft, ValidationError
from ledger.domain.journal import EntryDraft, Leg
from ledger.domain.money import money
from ledger.domain.posting_rules import balance_changes, days_to_check
from ledger.domain.statuses import EntryKind


def account(
    aid: int, code: str, type_: AccountType, *, balance: int = 0, **changes: object
) -> Account:
    plain = Account(
        id=aid,
        code=code,
        name=code,
        type=type_,
        currency="EUR",
        role=AccountRole.BANK if code == "1000" else AccountRole.LOAN,
        parent_id=None,
        is_control=False,
        no_overdraft=False,
        closed_at=None,
        balance_minor=balance,
    )
    return replace(plain, **changes)  # type: ignore[arg-type]


BANK = account(1, "1000", AccountType.ASSET, balance=10_000, no_overdraft=True)
CONTROL = account(2, "1200", AccountType.ASSET, balance=500, is_control=True)
LOAN = account(3, "1200-L000001", AccountType.ASSET, balance=500, parent_id=2)
ACCOUNTS = {a.code: a for a in (BANK, CONTROL, LOAN)}


def draft(amount: str, *, day: date = date(2026, 3, 5), to: str = LOAN.code) -> EntryDraft:
    value = money(amount, "EUR")
    return EntryDraft(
        booking_date=day,
        description="payout",
        kind=EntryKind.DISBURSEMENT,
        legs=(Leg.debit(to, value), Leg.credit(BANK.code, value)),
    )


def test_each_account_moves_by_its_legs_and_the_control_account_with_its_sub_account() -> None:
    changes = balance_changes([draft("60.00"), draft("15.25")], ACCOUNTS, frozenset())
    assert changes == {BANK.id: -7_525, CONTROL.id: 7_525, LOAN.id: 7_525}


def test_the_bank_may_reach_zero_but_not_go_below() -> None:
    assert balance_changes([draft("100.00")], ACCOUNTS, frozenset())[BANK.id] == -10_000
    with pytest.raises(Overdraft, match=r"1000 may not be overdrawn; .*0\.01 below zero"):
        balance_changes([draft("60.00"), draft("40.01")], ACCOUNTS, frozenset())


def test_a_draft_in_a_closed_month_is_refused_naming_the_month() -> None:
    with pytest.raises(ClosedPeriod, match="2026-02 is closed"):
        balance_changes(
            [draft("1.00"), draft("1.00", day=date(2026, 2, 28))], ACCOUNTS, frozenset({"2026-02"})
        )


def test_legs_on_closed_control_or_foreign_currency_accounts_are_refused() -> None:
    closed = {**ACCOUNTS, LOAN.code: replace(LOAN, closed_at=datetime(2026, 1, 1, tzinfo=UTC))}
    with pytest.raises(ClosedAccount, match="1200-L000001 is closed"):
        balance_changes([draft("1.00")], closed, frozenset())
    with pytest.raises(ValidationError, match="1200 is a control account"):
        balance_changes([draft("1.00", to=CONTROL.code)], ACCOUNTS, frozenset())
    chf = {**ACCOUNTS, LOAN.code: replace(LOAN, currency="CHF")}
    with pytest.raises(ValidationError, match="kept in CHF, not EUR"):
        balance_changes([draft("1.00")], chf, frozenset())


# -- the balance on past days (issue 16, finding 6) ---------------------------------------------
# The bank holds 100.00 today: 30.00 came in on 10 March (before it, 70.00).
LATER = {BANK.id: {date(2026, 3, 10): 3_000}}


def test_a_backdated_payout_needs_the_money_on_its_own_day() -> None:
    backdated = draft("70.01", day=date(2026, 3, 5))
    assert days_to_check([backdated], ACCOUNTS) == {BANK.id: date(2026, 3, 5)}
    with pytest.raises(Overdraft, match=r"0\.01 below zero at the end of 2026-03-05") as e:
        balance_changes([backdated], ACCOUNTS, frozenset(), LATER)
    assert e.value.key == "err.overdraft.on_day"
    changes = balance_changes([draft("70.00", day=date(2026, 3, 5))], ACCOUNTS, frozenset(), LATER)
    assert changes[BANK.id] == -7_000
    on_the_day = balance_changes([draft("100.00", day=date(2026, 3, 10))], ACCOUNTS, frozenset())
    assert on_the_day[BANK.id] == -10_000


def test_a_backdated_payout_may_not_take_a_later_day_below_zero() -> None:
    """The bank held 80.00 on 5 March and holds 80.00 today, but 20.00 went out on 12 March
    and came back on 14 March: 70.00 paid out on 5 March leave 10.00 on that day and today,
    and take the bank 10.00 below zero at the end of 12 March."""
    later = {BANK.id: {date(2026, 3, 12): -2_000, date(2026, 3, 14): 2_000}}
    moved = {**ACCOUNTS, BANK.code: replace(BANK, balance_minor=8_000)}
    with pytest.raises(Overdraft, match=r"10\.00 below zero at the end of 2026-03-12"):
        balance_changes([draft("70.00", day=date(2026, 3, 5))], moved, frozenset(), later)


def test_money_coming_in_is_never_checked_on_past_days() -> None:
    repayment = EntryDraft(
        booking_date=date(2026, 3, 1),
        description="repayment",
        kind=EntryKind.REPAYMENT,
        legs=(
            Leg.debit(BANK.code, money("5.00", "EUR")),
            Leg.credit(LOAN.code, money("5.00", "EUR")),
        ),
    )
    assert days_to_check([repayment], ACCOUNTS) == {}
