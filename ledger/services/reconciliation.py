"""The monthly reconciliation: what the ledger says beside what the bank says, per currency.

For each bank account (a ledger account with role ``bank``, or one a statement import linked to
an IBAN): the ledger's balance at month end beside the closing balance of the last statement
up to then, the items in transit (booked, not on a statement yet), the statement lines nothing
explains, and what no item explains. Then the loans receivable control account beside the
loans' own accounts, the unidentified receipts by age, arrears aging and PAR30, the fund's
position and the month's movements, with sentences saying what the treasurer must do.

Every figure is a set-based query (``store/reconciliation_repository.py`` and
``StatementRepository``); the aging is ``ledger.services.loans.portfolio`` (computed by
``ledger.domain.aging``). The month close
(``ledger.services.periods``) refuses a month whose reconciliation does not hold.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from ledger.domain.accounts import AccountRole
from ledger.domain.aging import Aging
from ledger.domain.eligibility import EligibilityRules
from ledger.domain.journal import month_end, parse_month
from ledger.domain.reconciliation import (
    MOVEMENT_KINDS,
    RECEIPT_AGES,
    BankReconciliation,
    FundPosition,
    InTransit,
    MissingStatements,
    MonthReconciliation,
    Movement,
    Note,
    OpenLine,
    SubLedgerCheck,
    UnidentifiedReceipt,
    movement_kind,
    receipt_age,
    receipt_age_since,
)
from ledger.domain.roles import Actor, Permission
from ledger.domain.statements import amount_text, sequence_gaps
from ledger.services import loans
from ledger.store.reconciliation_repository import BankLedgerAccount, LedgerSums
from ledger.store.uow import UnitOfWork

#: Items in transit older than this (before the statement's end) are worth a question to the
#: bank; unidentified receipts older than this are worth chasing.
STALE_DAYS = 30
#: What the month close leaves empty: it reads the bank accounts and the sub-ledger only.
NO_AGING = Aging(loans=0, outstanding_minor=0, buckets={}, par30_minor=0)


@dataclass(frozen=True, slots=True)
class Reading:
    """How a caller reads the month. Whatever it chooses, every figure it reads is the same
    (tests/integration/test_reconciliation_reading.py compares them on odd books); only the
    work differs, and what it leaves out.

    ``cached_balances``: the ledger's sums at month end from the accounts' cached balances
    less the legs booked after it (a recent month: a few legs), instead of every leg up to
    month end. ``receipts``: how many unidentified receipts to read as rows per currency, the
    oldest first, the rest counted and added up by age in the database (None: every one, as
    the monthly report lists them). ``movements``: the month's movements, or none (a page
    that does not show them)."""

    cached_balances: bool = False
    receipts: int | None = None
    movements: bool = True


#: Every figure from the legs themselves, every receipt listed: the API, the command line and
#: the month close (which then sums every leg it asserts, trusting no cached balance).
FULL = Reading()


def page_reading(shown: int) -> Reading:
    """What the reconciliation page reads: cached balances, the first ``shown`` receipts, no
    movements."""
    return Reading(cached_balances=True, receipts=shown, movements=False)


def reconcile(
    uow: UnitOfWork,
    actor: Actor,
    month: str,
    *,
    rules: EligibilityRules | None = None,
    aging: bool = True,
    reading: Reading = FULL,
) -> list[MonthReconciliation]:
    """The month's reconciliation, one per currency the fund has a bank account in, read in one
    transaction (a read-only unit of work sees one snapshot of the books). ``aging=False``
    leaves the portfolio's aging empty (the reconciliation page, which does not show it);
    ``reading`` says how much else to read and how."""
    actor.require(Permission.LEDGER_READ)
    actor.require(Permission.LOANS_READ)
    month = parse_month(month)
    with uow:
        if not aging:
            return reconcile_books(uow, month, rules=rules, reading=reading)
        return compute_reconciliation(uow, month, rules=rules, reading=reading)


def compute_reconciliation(
    uow: UnitOfWork,
    month: str,
    *,
    rules: EligibilityRules | None = None,
    reading: Reading = FULL,
) -> list[MonthReconciliation]:
    """``reconcile`` inside an open unit of work (the caller checks the permissions)."""
    out = []
    for rec in reconcile_books(uow, month, rules=rules, reading=reading):
        p = loans.compute_portfolio(uow, rec.as_of, rec.currency)
        out.append(replace(rec, aging=p.aging))
    return out


def reading_day(uow: UnitOfWork, month: str) -> tuple[date, date | None]:
    """The day ``month``'s figures are read at, and the fund's today when that is it: the
    month's end once the month is over; today while it runs (its last day included, as the
    month close says it has not ended), never a day still to come."""
    end, today = month_end(month), uow.today()
    if end < today:
        return end, None
    return today, today


def reconcile_books(
    uow: UnitOfWork,
    month: str,
    *,
    rules: EligibilityRules | None = None,
    reading: Reading = FULL,
) -> list[MonthReconciliation]:
    """Everything but the aging (left empty), inside the caller's open unit of work: what the
    month close checks and records. A month not over yet is read as of today
    (``reading_day``)."""
    rules = rules or EligibilityRules()
    as_of, today = reading_day(uow, month)
    if reading.cached_balances:
        sums = uow.reconciliation.balances_as_of(as_of)
    else:
        sums = uow.reconciliation.sums_as_of(as_of)
    banks = [
        b
        for acct in uow.reconciliation.bank_ledger_accounts()
        if (b := _bank(uow, acct, as_of, sums)) is not None
    ]
    currencies = sorted({b.currency for b in banks})
    if not currencies:
        return []
    control = uow.reconciliation.control_as_of(as_of)
    promised = uow.reconciliation.promised_as_of(as_of, uow.zone)
    if reading.receipts is None:
        unidentified, counted = _unidentified(uow, as_of), None
    else:
        unidentified, counted = _unidentified_first(uow, as_of, reading.receipts)
    movements = (
        movements_of(uow.reconciliation.movements(date.fromisoformat(f"{month}-01"), as_of))
        if reading.movements
        else {}
    )
    closed = month in uow.periods.closed_months()
    out = []
    for cur in currencies:
        own = tuple(b for b in banks if b.currency == cur)
        sub = SubLedgerCheck(cur, control.get(cur, 0), sums.loans.get(cur, 0))
        position = FundPosition(
            currency=cur,
            # Equity plus the result so far (income less expenses): credits, turned positive.
            capital_minor=-sums.by_types(("equity", "income", "expense"), cur),
            cash_minor=sum(b.ledger_minor for b in own),
            loans_outstanding_minor=sub.control_minor,
            approved_not_disbursed_minor=promised.get(cur, 0),
            reserve_minor=rules.cash_reserve_minor,
            liabilities_minor=-(
                sums.by_role(AccountRole.BENEFICIARY_CREDIT, cur)
                + sums.by_role(AccountRole.UNIDENTIFIED_RECEIPTS, cur)
            ),
        )
        rec = MonthReconciliation(
            month=month,
            month_end=month_end(month),
            currency=cur,
            banks=own,
            sub_ledger=sub,
            unidentified=tuple(unidentified.get(cur, ())),
            aging=NO_AGING,
            position=position,
            movements=tuple(movements.get(cur, ())),
            closed=closed,
            unidentified_counted=None if counted is None else counted.get(cur, {}),
            today=today,
        )
        found = tuple(to_do(rec))
        out.append(replace(rec, to_do=found, notes=tuple(note_text(n) for n in found)))
    return out


def _bank(
    uow: UnitOfWork, acct: BankLedgerAccount, end: date, sums: LedgerSums
) -> BankReconciliation | None:
    ledger = sums.by_account.get(acct.account_id, 0)
    statement = first = None
    if acct.bank_account_id is not None:
        statement = uow.statements.statement_up_to(acct.bank_account_id, end)
        if statement is not None:
            first = uow.statements.first_statement(acct.bank_account_id)
    day = statement.closing_date if statement is not None else None
    entries = uow.statements.unexplained_entries(acct.account_id, as_of=end, statement_date=day)
    # The first statement's opening balance stands for what the ledger booked before it.
    opening_date = first.opening_date if first is not None else None
    before = [e for e in entries if opening_date is not None and e.booking_date <= opening_date]
    transit = [e for e in entries if opening_date is None or e.booking_date > opening_date]
    if acct.closed and not ledger and not entries and statement is None:
        return None  # an account closed before it ever held money: nothing to reconcile
    unmatched = (
        uow.statements.open_lines("unmatched", date_to=day, bank_account_id=acct.bank_account_id)
        if day is not None and acct.bank_account_id is not None
        else []
    )
    return BankReconciliation(
        iban=acct.iban or "",
        account_code=acct.code,
        currency=acct.currency,
        ledger_minor=ledger,
        bank_minor=statement.closing_minor if statement is not None else None,
        statement_date=day,
        in_transit=tuple(
            InTransit(e.entry_id, e.booking_date, e.kind, e.description, e.amount_minor)
            for e in transit
        ),
        unmatched=tuple(OpenLine(*line) for line in unmatched),
        opening_minor=first.opening_minor if opening_date is not None and first else None,
        opening_date=opening_date,
        before_opening_minor=sum(e.amount_minor for e in before),
        missing_statements=tuple(
            MissingStatements(
                gap.first, gap.last, gap.after.statement_key, gap.before.statement_key
            )
            for gap in sequence_gaps(uow.statements.series(acct.bank_account_id, up_to=end))
        )
        if acct.bank_account_id is not None
        else (),
    )


def _receipt(end: date, row: tuple[int, date, int, str, str | None]) -> UnidentifiedReceipt:
    line_id, day, amount, _currency, suggested = row
    return UnidentifiedReceipt(line_id, day, amount, receipt_age((end - day).days), suggested)


def _unidentified(uow: UnitOfWork, end: date) -> dict[str, list[UnidentifiedReceipt]]:
    out: dict[str, list[UnidentifiedReceipt]] = defaultdict(list)
    for row in uow.statements.receipts_in_state("unidentified", date_to=end):
        out[row[3]].append(_receipt(end, row))
    return out


def _unidentified_first(
    uow: UnitOfWork, end: date, first: int
) -> tuple[dict[str, list[UnidentifiedReceipt]], dict[str, dict[str, tuple[int, int]]]]:
    """The unidentified receipts counted and added up by age in the database, per currency,
    and the ``first`` oldest of each currency read as rows."""
    counted = uow.statements.receipts_by_age(
        "unidentified", as_of=end, ages=receipt_age_since(end), oldest=RECEIPT_AGES[-1]
    )
    listed = {
        cur: [
            _receipt(end, row)
            for row in uow.statements.receipts_in_state(
                "unidentified", date_to=end, currency=cur, limit=first
            )
        ]
        for cur in sorted(counted)
        if first > 0
    }
    return listed, counted


def movements_of(rows: list[tuple[str, str, int, int]]) -> dict[str, list[Movement]]:
    """The movements per currency, in the order a report lists them, from the (entry kind,
    currency, entries, total) a query counted."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for kind, cur, n, total in rows:
        slot = counts[(cur, movement_kind(kind))]
        slot[0] += n
        slot[1] += total
    out: dict[str, list[Movement]] = defaultdict(list)
    for cur in sorted({cur for cur, _ in counts}):
        for kind in MOVEMENT_KINDS:
            if (cur, kind) in counts:
                n, total = counts[(cur, kind)]
                out[cur].append(Movement(kind, n, total))
    return out


# -- what the treasurer must do ------------------------------------------------------------
# Each condition is tested once, here: it gives a Note (a code and its figures); note_text
# words it in English for the command line and the API, the monthly report words it from its
# catalogs (``report.note.<code>``, ledger/documents/report.py).


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


#: Statement lines a note names by their ids; the rest are counted.
NAMED_LINES = 10


def bank_problems(b: BankReconciliation, end: date) -> list[Note]:
    """Why one bank account does not reconcile as of ``end`` (nothing when it does)."""
    cur = b.currency
    if b.bank_minor is None:
        if not (b.ledger_minor or b.in_transit):
            return []
        code = "no_statement" if b.iban else "no_statement_unlinked"
        return [
            Note.of(
                code, cur, iban=b.iban, account=b.account_code, end=end, ledger_minor=b.ledger_minor
            )
        ]
    out = []
    where = {"iban": b.iban, "account": b.account_code}
    if b.unmatched:
        out.append(
            Note.of(
                "unmatched_lines",
                cur,
                **where,
                count=len(b.unmatched),
                total_minor=sum(u.amount_minor for u in b.unmatched),
                lines=tuple(u.line_id for u in b.unmatched[:NAMED_LINES]),
            )
        )
    if b.opening_difference:
        out.append(
            Note.of(
                "opening_difference",
                cur,
                **where,
                opening_minor=b.opening_minor or 0,
                opening_date=b.opening_date or end,  # set whenever opening_minor is
                held_minor=b.before_opening_minor,
                difference_minor=b.opening_difference,
            )
        )
    rest = b.unexplained - b.opening_difference
    if rest:
        out.append(Note.of("unexplained", cur, **where, difference_minor=rest))
    return out


def bank_advice(b: BankReconciliation, end: date) -> list[Note]:
    """What is worth a look as of ``end`` even when the account reconciles."""
    if b.statement_date is None:
        return []
    out = []
    if b.statement_date < end:
        out.append(
            Note.of(
                "statement_behind",
                b.currency,
                iban=b.iban,
                account=b.account_code,
                statement_date=b.statement_date,
                end=end,
            )
        )
    out += [
        Note.of(
            "missing_statement",
            b.currency,
            iban=b.iban,
            account=b.account_code,
            numbers=gap.numbers,
            after=gap.after,
            before=gap.before,
        )
        for gap in b.missing_statements
    ]
    stale = [t for t in b.in_transit if t.booking_date < b.statement_date - timedelta(STALE_DAYS)]
    if stale:
        out.append(
            Note.of(
                "stale_in_transit",
                b.currency,
                account=b.account_code,
                count=len(stale),
                total_minor=sum(t.amount_minor for t in stale),
                days=STALE_DAYS,
            )
        )
    return out


def sub_ledger_notes(s: SubLedgerCheck) -> list[Note]:
    if not s.difference:
        return []
    return [
        Note.of(
            "sub_ledger",
            s.currency,
            control_minor=s.control_minor,
            loans_minor=s.loans_minor,
            difference_minor=s.difference,
        )
    ]


def to_do(rec: MonthReconciliation) -> list[Note]:
    """Each difference of the month and what is worth a look, as of the day it is read at."""
    out = [n for b in rec.banks for n in bank_problems(b, rec.as_of)]
    out += sub_ledger_notes(rec.sub_ledger)
    out += [n for b in rec.banks for n in bank_advice(b, rec.as_of)]
    count = rec.unidentified_count
    if count:
        out.append(
            Note.of(
                "unidentified",
                rec.currency,
                count=count,
                total_minor=rec.unidentified_total,
                old=count - rec.unidentified_by_age[RECEIPT_AGES[0]][0],
                days=STALE_DAYS,
            )
        )
    return out


def note_text(n: Note) -> str:
    """A note as a plain English sentence for the command line and the API: what is wrong
    and what to do, with the commands that do it."""
    cur = n.currency

    def amount(name: str) -> str:
        return amount_text(n.number(name), cur)

    def name() -> str:
        return n.text("iban") or f"ledger account {n.text('account')}"

    code = n.code
    if code in ("no_statement", "no_statement_unlinked"):
        how = (
            "`fundledger statement import FILE`"
            if code == "no_statement"
            else f"`fundledger statement import FILE --account {n.text('account')}`"
        )
        return (
            f"No statement of {name()} imported up to {n.day('end')}: import it ({how}); until "
            f"then the ledger's {amount('ledger_minor')} on {n.text('account')} is unconfirmed."
        )
    if code == "unmatched_lines":
        count, ids = n.number("count"), n.ids("lines")
        more = ", ..." if count > len(ids) else ""
        return (
            f"{_plural(count, 'statement line')} of {name()} unmatched "
            f"({amount('total_minor')}; {'line' if count == 1 else 'lines'} "
            f"{', '.join(str(i) for i in ids)}{more}): link each to the entry that explains it "
            "with `fundledger statement link LINE --entry ID`, or book it with "
            "`fundledger statement book LINE --account CODE --kind KIND`."
        )
    if code == "opening_difference":
        return (
            f"The first statement of {name()} opens with {amount('opening_minor')}"
            f" on {n.day('opening_date')}, but the ledger's {n.text('account')} held "
            f"{amount('held_minor')} by then (difference {amount('difference_minor')}): correct "
            "the opening entries."
        )
    if code == "unexplained":
        return (
            f"The ledger's {n.text('account')} and the bank's {name()} differ by "
            f"{amount('difference_minor')} that no item in transit or unmatched line explains: "
            "look for a line linked to the wrong entry, or an entry booked after the line that "
            "brought it."
        )
    if code == "sub_ledger":
        return (
            f"The loans receivable control account holds {amount('control_minor')} but the "
            f"loans' own accounts {amount('loans_minor')} (difference "
            f"{amount('difference_minor')}): run `fundledger verify`."
        )
    if code == "statement_behind":
        day = n.day("statement_date")
        return (
            f"The latest statement of {name()} ends on {day}: import the statement up to "
            f"{n.day('end')} if there is one; the ledger's entries after {day} count as in "
            "transit."
        )
    if code == "missing_statement":
        numbers = n.text("numbers")
        return (
            f"The statement {'nos.' if '-' in numbers else 'no.'} {numbers} of {name()} is "
            f"missing (between {n.text('after')} and {n.text('before')}): its lines are not in "
            "the ledger even though the balances agree; ask the bank for it and import it."
        )
    if code == "stale_in_transit":
        return (
            f"{_plural(n.number('count'), 'item')} in transit on {n.text('account')} "
            f"({amount('total_minor')}) booked more than {n.number('days')} days before the "
            "statement's end and still not at the bank: check that they were executed."
        )
    if code == "unidentified":
        count, old = n.number("count"), n.number("old")
        return (
            f"{_plural(count, 'unidentified receipt')} ({amount('total_minor')}) "
            f"{'waits' if count == 1 else 'wait'} to be matched"
            + (f", {old} of them for more than {n.number('days')} days" if old else "")
            + ": match each to its loan with `fundledger statement match LINE --loan ID`, or "
            "book it with `fundledger statement book LINE --account CODE --kind KIND`."
        )
    raise ValueError(f"no English wording for the note {code!r}")


def refusals(recs: list[MonthReconciliation]) -> list[str]:
    """Why the month does not reconcile, currency by currency: what blocks its close."""
    return [
        f"{rec.currency}: {note_text(problem)}"
        for rec in recs
        for problem in (
            [n for b in rec.banks for n in bank_problems(b, rec.as_of)]
            + sub_ledger_notes(rec.sub_ledger)
        )
    ]


def summary(recs: list[MonthReconciliation]) -> dict[str, Any]:
    """What a month close records of the reconciliation, in minor units."""
    return {
        "reconciled": all(r.reconciled for r in recs),
        "currencies": {
            r.currency: {
                "reconciled": r.reconciled,
                "sub_ledger": {
                    "control": r.sub_ledger.control_minor,
                    "loans": r.sub_ledger.loans_minor,
                    "difference": r.sub_ledger.difference,
                },
                "banks": [
                    {
                        "account": b.account_code,
                        "iban": b.iban or None,
                        "ledger": b.ledger_minor,
                        "bank": b.bank_minor,
                        "statement_date": b.statement_date.isoformat()
                        if b.statement_date
                        else None,
                        "difference": b.difference,
                        "in_transit": sum(t.amount_minor for t in b.in_transit),
                        "in_transit_items": len(b.in_transit),
                        "unmatched": sum(u.amount_minor for u in b.unmatched),
                        "unmatched_lines": len(b.unmatched),
                        "unexplained": b.unexplained,
                        "reconciled": b.reconciled,
                    }
                    for b in r.banks
                ],
            }
            for r in recs
        },
    }
