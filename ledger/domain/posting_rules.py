"""What entries may do to the accounts they post to, checked before anything is written.

Pure: given the drafts, the accounts they name (with the control accounts above them, and their
balances as locked) and the closed months, either the balance change of every account or the
first rule broken. The journal's repository writes what this allows; the database's guards
check the same rules again (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from ledger.domain.accounts import Account
from ledger.domain.errors import ClosedAccount, ClosedPeriod, Overdraft, ValidationError
from ledger.domain.journal import EntryDraft, Leg, month_of
from ledger.domain.money import from_minor


def check_leg(account: Account, leg: Leg) -> None:
    """A leg goes to an open, non-control account kept in the leg's currency."""
    if account.is_closed:
        raise ClosedAccount(f"account {account.code} is closed and takes no postings", field="legs")
    if account.is_control:
        raise ValidationError(
            f"account {account.code} is a control account; post to one of its sub-accounts",
            field="legs",
        )
    if account.currency != leg.currency:
        raise ValidationError(
            f"account {account.code} is kept in {account.currency}, not {leg.currency}",
            field="legs",
        )


def balance_changes(
    drafts: Sequence[EntryDraft],
    accounts: Mapping[str, Account],
    closed_months: frozenset[str],
    later: Mapping[int, Mapping[date, int]] | None = None,
) -> dict[int, int]:
    """Account id -> change of its balance in minor units (a control account moves with its
    sub-accounts), once every draft is checked in order: none in a closed month, every leg
    allowed on its account (``check_leg``), and no account that may not be overdrawn below
    zero after any draft, nor at the end of any day from the draft's date on (``later``:
    for each such account the drafts take money from, what was already posted on it after
    the earliest of their dates, by day; see ``days_to_check``). ``accounts`` maps each code
    the legs name to its account, and holds their control accounts too."""
    by_id = {a.id: a for a in accounts.values()}
    running = {a.id: a.balance_minor for a in accounts.values()}
    for draft in drafts:
        month = month_of(draft.booking_date)
        if month in closed_months:
            raise ClosedPeriod(
                f"{month} is closed: book on a date in an open month, or ask an admin to reopen it",
                field="booking_date",
                key="err.period.closed",
                params={"month": month},
            )
        for leg in draft.legs:
            account = accounts[leg.account_code]
            check_leg(account, leg)
            running[account.id] += leg.minor
            if account.parent_id is not None:
                running[account.parent_id] += leg.minor
        for leg in draft.legs:
            account = accounts[leg.account_code]
            short = account.overdrawn_by(running[account.id])
            if account.no_overdraft and short:
                raise Overdraft(
                    f"account {account.code} may not be overdrawn; this entry would take it "
                    f"{from_minor(short, account.currency)} below zero",
                    field="legs",
                )
    starts = days_to_check(drafts, accounts) if later else {}
    for aid, days in (later or {}).items():
        _check_past_days(by_id[aid], drafts, days, starts[aid])
    return {aid: running[aid] - by_id[aid].balance_minor for aid in running}


def days_to_check(drafts: Sequence[EntryDraft], accounts: Mapping[str, Account]) -> dict[int, date]:
    """For each account that may not be overdrawn and that the drafts take money from, the
    earliest date they do so: from the end of that day on, the account's balance is checked
    day by day (a backdated payout must have had the money on its own day, and must not take
    the account below zero on any day after it either)."""
    earliest: dict[int, date] = {}
    for draft in drafts:
        for leg in draft.legs:
            account = accounts[leg.account_code]
            if account.no_overdraft and account.type.normal_sign * leg.minor < 0:
                day = earliest.get(account.id)
                if day is None or draft.booking_date < day:
                    earliest[account.id] = draft.booking_date
    return earliest


def _check_past_days(
    account: Account, drafts: Sequence[EntryDraft], later: Mapping[date, int], start: date
) -> None:
    """``later``: what was posted on ``account`` after ``start`` (the earliest day the drafts
    take money from it), by day. The balance at the end of a day from ``start`` on is today's
    less what came after that day, plus the drafts dated on or before it. Sorted once and
    summed as it goes: a statement of thousands of lines over a year stays linear."""
    own: dict[date, int] = {}
    for draft in drafts:
        for leg in draft.legs:
            if leg.account_code == account.code:
                own[draft.booking_date] = own.get(draft.booking_date, 0) + leg.minor
    days = sorted({d for d in own if d >= start} | set(later) | {start})
    posted_after = sum(later.values())  # every day in ``later`` is after ``start``
    drafts_by = sum(minor for d, minor in own.items() if d < start)
    for day in days:
        posted_after -= later.get(day, 0)
        drafts_by += own.get(day, 0)
        balance = account.balance_minor - posted_after + drafts_by
        short = account.overdrawn_by(balance)
        if short:
            raise Overdraft(
                f"account {account.code} may not be overdrawn; this entry would take it "
                f"{from_minor(short, account.currency)} below zero at the end of "
                f"{day.isoformat()}: date it on or after a day the money was there",
                field="legs",
                key="err.overdraft.on_day",
                params={
                    "account": account.code,
                    "short": from_minor(short, account.currency),
                    "date": day,
                },
            )
