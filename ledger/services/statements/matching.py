"""How each new line of a statement is matched to the ledger as it is imported."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ledger.domain.accounts import AccountRole
from ledger.domain.errors import NotFound
from ledger.domain.journal import EntryDraft, Leg, reversal_of
from ledger.domain.money import from_minor
from ledger.domain.roles import Actor
from ledger.domain.statements import (
    BankAccount,
    Direction,
    StatementEntry,
    entry_id_of,
    iban_digest,
    is_charge,
    payment_reference,
)
from ledger.domain.statuses import EntryKind, LineState
from ledger.services.journal import book_entries
from ledger.services.loans import PaymentIn, book_payment_reversal, book_payments
from ledger.services.statements.common import (
    KEEP_TEXT,
    LINK_DAYS_AFTER,
    LINK_DAYS_BEFORE,
    LINKABLE_KINDS,
    LOAN_RECEIPT_KINDS,
    OTHER_RECEIPT_KINDS,
    PAYABLE,
    line_ref,
)
from ledger.store.statement_repository import LinkCandidate
from ledger.store.uow import UnitOfWork

if TYPE_CHECKING:
    pass

#: Loans whose repayments a statement books; others' money (a closed loan's included, as
#: record_payment refuses it) goes to unidentified receipts with a note naming the loan.


@dataclass
class _Plan:
    position: int
    entry: StatementEntry
    key: str
    ref: str
    state: LineState = LineState.UNMATCHED
    reference: str | None = None
    digest: str | None = None
    loan_id: str | None = None
    suggested: str | None = None
    note: str | None = None
    entry_id: int | None = None
    draft: EntryDraft | None = None
    payment: PaymentIn | None = None


class Matcher:
    """Classifies a statement's new lines, books them in bulk, and stores them."""

    def __init__(self, uow: UnitOfWork, actor: Actor, bank: BankAccount, hash_key: bytes) -> None:
        self.uow, self.actor, self.bank, self.key = uow, actor, bank, hash_key
        self.loans: dict[str, Any] = {}
        self.suspense = uow.accounts.by_role(AccountRole.UNIDENTIFIED_RECEIPTS, bank.currency).code
        self.charges = uow.accounts.by_role(AccountRole.BANK_CHARGES, bank.currency).code

    def book(self, statement_id: int, fresh: list[tuple[int, StatementEntry, str]]) -> list[_Plan]:
        plans = [
            _Plan(
                i,
                e,
                k,
                line_ref(self.bank.id, k),
                digest=iban_digest(self.key, e.counterparty_iban),
            )
            for i, e, k in fresh
        ]
        returns = [p for p in plans if p.entry.is_return and p.entry.direction is Direction.DEBIT]
        normal = [
            p for p in plans if not (p.entry.is_return and p.entry.direction is Direction.DEBIT)
        ]
        for p in normal:
            self._classify(p)
        self._link_booked(normal)
        self._link_debits(
            [
                p
                for p in normal
                if p.state is LineState.UNMATCHED and p.entry.direction is Direction.DEBIT
            ]
        )
        self._suggest(normal)
        self._post(normal)
        self._store(statement_id, normal, action="import")
        for p in returns:
            self._return(p)
            self._store(statement_id, [p], action="import")
        return plans

    # -- deciding ----------------------------------------------------------------------
    def _loan_by_reference(self, value: str) -> Any:
        if value not in self.loans:
            self.loans[value] = self.uow.loans.by_reference(value)
        return self.loans[value]

    def _classify(self, p: _Plan) -> None:
        e = p.entry
        if e.amount_minor == 0:
            p.state = LineState.IGNORED
            return
        if is_charge(e):
            p.state = LineState.CHARGE
            p.draft = _charge_draft(self.charges, self.bank, e, p.ref, f"{p.ref}:0")
            return
        if e.direction is Direction.DEBIT:
            p.state = LineState.UNMATCHED
            return
        if e.is_return:
            # A payout or refund of the fund that the bank sent back: held as unidentified
            # (never booked as someone's repayment), with what it returns.
            p.state = LineState.UNIDENTIFIED
            p.draft = unidentified_draft(self.suspense, self.bank, e, p.ref, f"{p.ref}:0")
            p.note, p.suggested = self._returned_payout(e)
            return
        found = payment_reference(e)
        p.reference = found.value if found else None
        loan = self._loan_by_reference(found.value) if found else None
        if loan is not None and loan.status in PAYABLE and loan.currency == e.currency:
            p.state, p.loan_id = LineState.LOAN, loan.id
            p.payment = PaymentIn(loan.id, e.amount, e.booking_date, f"{p.ref}:0", p.ref)
            return
        if found is not None:
            p.note = (
                f"reference {found.display} names no loan"
                if loan is None
                else f"reference {found.display} names loan {loan.id}, which is "
                f"{loan.status.value.replace('_', ' ')}"
            )
            if loan is not None:
                p.suggested = loan.id
        p.state = LineState.UNIDENTIFIED
        p.draft = unidentified_draft(self.suspense, self.bank, e, p.ref, f"{p.ref}:0")

    def _returned_payout(self, e: StatementEntry) -> tuple[str, str | None]:
        """The note of money the bank sent back, naming the payment its end-to-end id names."""
        reason = f"sent back by the bank ({e.return_reason or 'reversal'})"
        wanted = entry_id_of(e.end_to_end_id)
        try:
            paid = self.uow.journal.get(wanted) if wanted is not None else None
        except NotFound:
            paid = None
        if paid is None:
            return (
                f"{reason}: a payment of the fund that did not arrive; find it (same amount, "
                "shortly before), check the account it went to, and pay again or match this "
                "line by hand",
                None,
            )
        loan = f" of loan {paid.loan_id}" if paid.loan_id else ""
        return (
            f"{reason}: the {paid.kind.value.replace('_', ' ')}{loan} (entry {paid.id}) did "
            "not arrive; check the account it went to, then pay it again or match this line "
            "by hand",
            paid.loan_id,
        )

    def _link_booked(self, plans: list[_Plan]) -> None:
        """Money in (a repayment, a donation) or a bank charge the treasurer booked by hand
        before the statement came: the line explains that entry when exactly one fits (same
        amount, booked at most a few days apart, the same loan when the line names one),
        instead of booking the money twice. Several fits: booked as usual, with a note."""
        waiting = [
            p
            for p in plans
            if p.state in (LineState.LOAN, LineState.UNIDENTIFIED, LineState.CHARGE)
        ]
        if not waiting:
            return
        days = [p.entry.booking_date for p in waiting]
        lo = min(days) - timedelta(days=LINK_DAYS_BEFORE)
        hi = max(days) + timedelta(days=LINK_DAYS_BEFORE)
        account = self.bank.account_id
        credits = self.uow.statements.link_candidates(
            account, LOAN_RECEIPT_KINDS + OTHER_RECEIPT_KINDS, lo, hi, money_in=True
        )
        charges = self.uow.statements.link_candidates(account, ("bank_charge",), lo, hi)
        if not credits and not charges:
            return
        taken: set[int] = set()
        for p in waiting:
            day, amount = p.entry.booking_date, p.entry.amount_minor
            pool = charges if p.state is LineState.CHARGE else credits
            fits = [
                c
                for c in pool
                if c.entry_id not in taken
                and c.amount_minor == amount
                and abs((c.booking_date - day).days) <= LINK_DAYS_BEFORE
                and (p.state is not LineState.LOAN or c.loan_id == p.loan_id)
            ]
            if len(fits) == 1:
                c = fits[0]
                p.state, p.entry_id, p.draft, p.payment = LineState.LINKED, c.entry_id, None, None
                p.loan_id = c.loan_id
                p.note = f"{c.kind.replace('_', ' ')} booked by hand (entry {c.entry_id})"
                taken.add(c.entry_id)
            elif len(fits) > 1:
                p.note = (
                    f"{len(fits)} entries booked by hand fit this line (entries "
                    f"{', '.join(str(c.entry_id) for c in fits[:5])}); it was booked on its "
                    "own: if it is one of them, re-match it by hand"
                )

    def _link_debits(self, plans: list[_Plan]) -> None:
        """A debit is a payout or refund booked before: by end-to-end id, else by amount and
        date when exactly one entry fits."""
        if not plans:
            return
        days = [p.entry.booking_date for p in plans]
        pool = self.uow.statements.link_candidates(
            self.bank.account_id,
            LINKABLE_KINDS,
            min(days) - timedelta(days=366),
            max(days) + timedelta(days=LINK_DAYS_AFTER),
        )
        by_id = {c.entry_id: c for c in pool}
        taken: set[int] = set()
        explained_by: dict[int, str] = {}  # entry -> which line explains it, in words
        repeats: set[str] = set()
        for p in plans:
            wanted = entry_id_of(p.entry.end_to_end_id)
            if wanted is None:
                continue
            c = by_id.get(wanted)
            if c is not None and c.entry_id not in taken:
                if c.amount_minor == p.entry.amount_minor:
                    self._link(p, c, taken)
                    explained_by[c.entry_id] = (
                        f"this statement's debit of {p.entry.booking_date} "
                        f"(its line {p.position + 1})"
                    )
                continue
            earlier = explained_by.get(wanted)
            if earlier is None and c is None:
                line = self.uow.statements.line_of_entry(wanted)
                earlier = (
                    f"line {line.id} (a debit of {line.booking_date})" if line is not None else None
                )
            if earlier is not None:
                # The same transfer debited again: one payment explains one debit only.
                repeats.add(p.ref)
                p.note = (
                    f"its end-to-end id {p.entry.end_to_end_id} names entry {wanted}, already "
                    f"explained by {earlier}: the bank may have paid it twice; ask the "
                    "bank, then book this debit by hand (or have it returned)"
                )
        for p in plans:
            if p.state is not LineState.UNMATCHED or p.ref in repeats:
                continue
            day = p.entry.booking_date
            fits = [
                c
                for c in pool
                if c.entry_id not in taken
                and c.amount_minor == p.entry.amount_minor
                and day - timedelta(days=LINK_DAYS_BEFORE)
                <= c.booking_date
                <= day + timedelta(days=LINK_DAYS_AFTER)
            ]
            if len(fits) == 1:
                self._link(p, fits[0], taken)
            elif fits:
                p.note = (
                    f"{len(fits)} payments of this amount fit (entries "
                    f"{', '.join(str(c.entry_id) for c in fits[:5])}); link the right one by hand"
                )
                p.suggested = fits[0].loan_id

    @staticmethod
    def _link(p: _Plan, c: LinkCandidate, taken: set[int]) -> None:
        p.state, p.entry_id, p.loan_id = LineState.LINKED, c.entry_id, None
        p.note = f"{c.kind} of loan {c.loan_id}" if c.loan_id else c.kind
        taken.add(c.entry_id)

    def _suggest(self, plans: list[_Plan]) -> None:
        """A payer's (hashed) IBAN that paid a loan before (or earlier in this statement)
        suggests it for an unidentified receipt; the amount decides between several."""
        waiting = [p for p in plans if p.state is LineState.UNIDENTIFIED and p.suggested is None]
        digests = [p.digest for p in waiting if p.digest]
        if not digests:
            return
        paid = self.uow.statements.loans_paid_from(digests)
        for p in plans:
            if p.state is LineState.LOAN and p.digest and p.loan_id:
                known = paid.setdefault(p.digest, [])
                if p.loan_id not in known:
                    known.insert(0, p.loan_id)
        for p in waiting:
            candidates = paid.get(p.digest or "", [])
            if not candidates:
                continue
            for loan_id in candidates:
                _, schedule = self.uow.loans.schedule(loan_id)
                if any(i.minor == p.entry.amount_minor for i in schedule.installments):
                    p.suggested = loan_id
                    break
            else:
                p.suggested = candidates[0]

    # -- booking -----------------------------------------------------------------------
    def _post(self, plans: list[_Plan]) -> None:
        """Payments first, then other money in, then money out: the bank account never
        dips below what the statement shows."""
        payments = [p for p in plans if p.payment is not None]
        results = book_payments(self.uow, self.actor, [p.payment for p in payments if p.payment])
        for p, result in zip(payments, results, strict=True):
            p.entry_id = result.entry.id
        drafts = sorted(
            (p for p in plans if p.draft is not None),
            key=lambda p: p.entry.direction is Direction.DEBIT,
        )
        if not drafts:
            return
        posted = book_entries(
            self.uow,
            self.actor,
            [p.draft for p in drafts if p.draft is not None],
            command="statement_line",
        )
        for p, done in zip(drafts, posted, strict=True):
            p.entry_id = done.entry.id

    def _store(self, statement_id: int, plans: list[_Plan], *, action: str) -> None:
        now = self.uow.now()
        self.uow.statements.add_lines(
            [
                {
                    "ref": p.ref,
                    "bank_account_id": self.bank.id,
                    "statement_id": statement_id,
                    "line_key": p.key,
                    "position": p.position,
                    "booking_date": p.entry.booking_date,
                    "value_date": p.entry.value_date,
                    "amount_minor": p.entry.signed_minor,
                    "currency": p.entry.currency,
                    "reversal": p.entry.reversal,
                    "end_to_end_id": p.entry.end_to_end_id,
                    "payment_reference": p.reference,
                    "bank_code": p.entry.bank_code,
                    "return_reason": p.entry.return_reason,
                    "counterparty_digest": p.digest,
                    "remittance": p.entry.remittance if p.state in KEEP_TEXT else None,
                    "state": p.state.value,
                    "entry_id": p.entry_id,
                    "loan_id": p.loan_id,
                    "suggested_loan_id": p.suggested,
                    "note": p.note[:300] if p.note else None,
                    "updated_at": now,
                }
                for p in plans
            ]
        )
        self.uow.statements.add_matches_of_lines(
            statement_id, [p.ref for p in plans], at=now, actor=self.actor.name, action=action
        )

    def _return(self, p: _Plan) -> None:
        """A payment sent back: reverse what booked it; if none is found, the debit waits."""
        e = p.entry
        candidates = self.uow.statements.returned_candidates(
            self.bank.id, e.amount_minor, e.booking_date
        )
        found = payment_reference(e)
        p.reference = found.value if found else None
        original = next(
            (c for c in candidates if e.end_to_end_id and c.end_to_end_id == e.end_to_end_id),
            None,
        ) or next(
            (c for c in candidates if p.reference and c.payment_reference == p.reference), None
        )
        if original is None and len(candidates) == 1:
            original = candidates[0]
        reason = f"returned by the bank ({e.return_reason or 'reversal'})"
        if original is None or original.entry_id is None:
            p.state = LineState.UNMATCHED
            p.note = f"{reason}; the payment it returns was not found"
            return
        key = f"{p.ref}:0"
        on = max(e.booking_date, self.uow.journal.get(original.entry_id).booking_date)
        booked = self.uow.journal.get(original.entry_id)
        if original.state == LineState.LOAN or booked.kind.value in LOAN_RECEIPT_KINDS:
            # A transfer split across loans is returned whole: every part is reversed.
            parts = (
                self.uow.statements.bookings_of(original.ref)
                if original.state == LineState.LOAN
                else []
            ) or [original.entry_id]
            results = [
                book_payment_reversal(
                    self.uow,
                    self.actor,
                    entry_id,
                    on=max(on, self.uow.journal.get(entry_id).booking_date),
                    reason=reason,
                    idempotency_key=key if i == 0 else f"{key}{i}",
                )
                for i, entry_id in enumerate(parts)
            ]
            p.entry_id, p.loan_id = results[0].entry.id, original.loan_id
        else:
            what = "Unidentified receipt" if original.state == LineState.UNIDENTIFIED else "Receipt"
            draft = reversal_of(
                booked,
                booking_date=on,
                idempotency_key=key,
                description=f"{what} returned by the bank ({original.ref})",
            )
            p.entry_id = book_entries(self.uow, self.actor, [draft], command="statement_line")[
                0
            ].entry.id
        p.state = LineState.RETURNED
        p.note = f"{reason}: returns statement line {original.id}"


def bank_legs(bank_code: str, other: str, entry_minor: int, currency: str) -> tuple[Leg, Leg]:
    """Dr bank / Cr other for money in (positive), Dr other / Cr bank for money out."""
    amount = from_minor(abs(entry_minor), currency)
    if entry_minor > 0:
        return Leg.debit(bank_code, amount), Leg.credit(other, amount)
    return Leg.debit(other, amount), Leg.credit(bank_code, amount)


def _charge_draft(
    charges: str, bank: BankAccount, e: StatementEntry, ref: str, key: str
) -> EntryDraft:
    return EntryDraft(
        e.booking_date,
        f"Bank charge ({ref})"
        if e.direction is Direction.DEBIT
        else f"Bank charge refunded ({ref})",
        EntryKind.BANK_CHARGE,
        bank_legs(bank.account_code, charges, e.signed_minor, e.currency),
        statement_line_id=ref,
        idempotency_key=key,
    )


def unidentified_draft(
    suspense: str, bank: BankAccount, e: StatementEntry, ref: str, key: str
) -> EntryDraft:
    return EntryDraft(
        e.booking_date,
        f"Unidentified receipt ({ref})",
        EntryKind.UNIDENTIFIED_RECEIPT,
        bank_legs(bank.account_code, suspense, e.signed_minor, e.currency),
        statement_line_id=ref,
        idempotency_key=key,
    )
