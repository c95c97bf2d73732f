"""`fundledger verify`: prove the books from the legs up, trusting nothing cached.

Checks, each independently of what the application wrote alongside:
1. the hash chain: ids run 1, 2, 3, ...; each entry's hash is recomputed from its content and the
   previous hash; the chain head matches the last entry;
2. every entry has two or more legs that sum to zero per currency, in its accounts' currencies;
3. every account's cached balance equals the sum of its legs; a control account's cached balance
   equals the sum of its sub-accounts' legs (the loan sub-ledger against its control account);
4. the trial balance is zero per currency;
5. every reversal mirrors the entry it reverses, and every idempotency key points at its entry;
6. each loan's sub-account and status agree with its schedule;
7. each loan's arrears projection (``loan_arrears``) equals the one the full computation makes
   now (every payment replayed over the schedules in force): a stale, altered, missing or
   extra step is named with its loan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ledger.domain.accounts import Account
from ledger.domain.journal import GENESIS_HASH, Entry, recomputed_hash
from ledger.domain.money import from_minor
from ledger.domain.repayment import allocate
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import LoanStatus
from ledger.store.uow import UnitOfWork

MAX_PROBLEMS = 100
END_OF_TIME = date(9999, 12, 30)


@dataclass
class VerifyReport:
    entries: int = 0
    legs: int = 0
    accounts: int = 0
    loans_projected: int = 0
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.more_problems += 1

    def summary(self) -> str:
        head = (
            f"{self.entries} entries, {self.legs} legs, {self.accounts} accounts; trial balance "
            + (
                ", ".join(f"{c} {from_minor(t, c)}" for c, t in sorted(self.totals.items()))
                or "empty"
            )
        )
        if self.ok:
            return (
                f"OK: {head}; hash chain intact; cached balances match the legs; arrears "
                f"projection of {self.loans_projected} loan(s) matches the full computation"
            )
        lines = [f"FAILED: {len(self.problems) + self.more_problems} problem(s); {head}"]
        lines += [f"  - {p}" for p in self.problems]
        if self.more_problems:
            lines.append(f"  ... and {self.more_problems} more")
        return "\n".join(lines)


def verify(uow: UnitOfWork, actor: Actor) -> VerifyReport:
    actor.require(Permission.LEDGER_READ)
    report = VerifyReport()
    with uow:
        accounts = {a.id: a for a in uow.accounts.all()}
        report.accounts = len(accounts)
        keys = _check_journal(report, uow, {a.code: a for a in accounts.values()})
        sums = _check_balances(report, uow, accounts)
        for key, entry_id in uow.idempotency.all():
            if keys.get(key) != entry_id:
                report.problem(f"idempotency key {key} points at entry {entry_id}, which lacks it")
        _check_loans(report, uow, sums)
        _check_arrears(report, uow)
    return report


def _check_arrears(report: VerifyReport, uow: UnitOfWork) -> None:
    """7. The arrears projection made again in memory and compared, loan by loan."""
    from ledger.services.loans.arrears import projection_problems

    for problem in projection_problems(uow):
        report.problem(problem)
    report.loans_projected = len(uow.arrears.loan_ids())


def _check_journal(
    report: VerifyReport, uow: UnitOfWork, by_code: Mapping[str, Account]
) -> dict[str, int]:
    """1, 2, 5: the chain walked in order, each entry and each reversal checked; returns each
    idempotency key the entries carry -> its entry."""
    prev_hash, expected_id = GENESIS_HASH, 1
    reversals: dict[int, tuple[Entry, int]] = {}
    originals: dict[int, Entry] = {}
    keys: dict[str, int] = {}
    for entry in uow.journal.iter_all():
        report.entries += 1
        _check_chain(report, entry, expected_id, prev_hash)
        prev_hash, expected_id = entry.hash, entry.id + 1
        _check_entry(report, entry, by_code)
        if entry.reverses_id is not None:
            reversals[entry.id] = (entry, entry.reverses_id)
        if entry.reversed_by_id is not None:
            originals[entry.id] = entry
        if entry.idempotency_key is not None:
            keys[entry.idempotency_key] = entry.id
    head_id, head_hash = uow.journal.head()
    if (head_id, head_hash) != (expected_id - 1, prev_hash):
        report.problem(
            f"chain head says entry {head_id} ({head_hash[:12]}...) but the journal ends at "
            f"entry {expected_id - 1} ({prev_hash[:12]}...): entries were removed or added"
        )
    for rev, reverses_id in reversals.values():
        orig = originals.get(reverses_id)
        if orig is None:
            report.problem(f"entry {rev.id} reverses entry {reverses_id}, which is missing")
            continue
        mirror = sorted((leg.account_code, -leg.minor, leg.currency) for leg in orig.legs)
        mine = sorted((leg.account_code, leg.minor, leg.currency) for leg in rev.legs)
        if mirror != mine:
            report.problem(f"entry {rev.id} does not mirror entry {orig.id}, which it reverses")
    return keys


def _check_balances(
    report: VerifyReport, uow: UnitOfWork, accounts: Mapping[int, Account]
) -> dict[int, int]:
    """3, 4: the legs summed straight from the table, per currency (the trial balance) and per
    account (its cached balance; a control account's is its sub-accounts'); returns the sums."""
    sums: dict[int, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    for account_id, amount, currency in uow.journal.leg_rows():
        report.legs += 1
        sums[account_id] += amount
        totals[currency] += amount
    report.totals = dict(totals)
    for currency, total in sorted(totals.items()):
        if total:
            report.problem(
                f"trial balance in {currency} is {from_minor(total, currency)}, not zero"
            )
    children: dict[int, list[int]] = defaultdict(list)
    for account in accounts.values():
        if account.parent_id is not None:
            children[account.parent_id].append(account.id)
    for account in sorted(accounts.values(), key=lambda a: a.code):
        legs_sum = sums.get(account.id, 0)
        if account.is_control:
            if legs_sum:
                report.problem(f"control account {account.code} has legs of its own")
            legs_sum += sum(sums.get(c, 0) for c in children[account.id])
            what = "its sub-accounts' legs sum to"
        else:
            what = "its legs sum to"
        if account.balance_minor != legs_sum:
            report.problem(
                f"account {account.code}: cached balance "
                f"{from_minor(account.balance_minor, account.currency)} but {what} "
                f"{from_minor(legs_sum, account.currency)}"
            )
    return sums


def _check_loans(report: VerifyReport, uow: UnitOfWork, sums: Mapping[int, int]) -> None:
    """6. Each loan's sub-account holds what its schedule says is outstanding (zero once
    written off), and each loan's status agrees with its balances."""
    accounts_of = uow.loans.disbursed_accounts()
    outstanding: dict[str, int] = {}
    for loan_id, _cur, insts, pays in uow.loans.portfolio(
        [LoanStatus.ACTIVE, LoanStatus.CLOSED, LoanStatus.OVERPAID], as_of=END_OF_TIME
    ):
        alloc = allocate(insts, pays)
        outstanding[loan_id] = sum(i.minor for i in insts) - alloc.total_paid
    for loan_id, (account_id, written_off, status) in sorted(accounts_of.items()):
        held = sums.get(account_id, 0)
        expected = 0 if written_off else outstanding.get(loan_id, 0)
        if written_off and held > 0 and uow.loans.pending_write_off(loan_id) is not None:
            # Owed again (a payment from before the write-off reversed), its write-off
            # proposed: a second treasurer approves it (four eyes).
            expected = held
        if held != expected:
            report.problem(
                f"loan {loan_id}: its account holds {held} minor units but its schedule says "
                f"{expected} are outstanding"
            )
        if not written_off and (expected > 0) != (status is LoanStatus.ACTIVE):
            report.problem(f"loan {loan_id} is {status.value} but {expected} minor units are owed")


def _check_chain(report: VerifyReport, entry: Entry, expected_id: int, prev_hash: str) -> None:
    if entry.id != expected_id:
        report.problem(f"entry {expected_id} is missing from the chain (next is {entry.id})")
    if entry.prev_hash != prev_hash:
        report.problem(f"entry {entry.id}: previous hash does not match entry {entry.id - 1}")
    if recomputed_hash(entry) != entry.hash:
        report.problem(f"entry {entry.id}: content does not match its hash (changed after posting)")


def _check_entry(report: VerifyReport, entry: Entry, by_code: Mapping[str, Account]) -> None:
    if len(entry.legs) < 2:
        report.problem(f"entry {entry.id} has {len(entry.legs)} leg(s); at least two are needed")
    per_currency: dict[str, int] = defaultdict(int)
    for leg in entry.legs:
        per_currency[leg.currency] += leg.minor
        account = by_code.get(leg.account_code)
        if account is not None and account.currency != leg.currency:
            report.problem(f"entry {entry.id}: leg in {leg.currency} on account {leg.account_code}")
    for currency, total in sorted(per_currency.items()):
        if total:
            report.problem(
                f"entry {entry.id} does not balance: {from_minor(total, currency)} in {currency}"
            )
