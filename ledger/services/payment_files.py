"""Payment files: the fund's payouts and refunds as one SEPA credit transfer file (pain.001).

The treasurer makes a file of the disbursements and refunds booked on the bank account and
not yet paid, uploads it to the bank, and marks it sent; the bank's debits come back on the
statement with each transfer's end-to-end id (``FL-E<entry id>``), and the import links them to
their entries as it does for any payout (``docs/bank.md``).

- An entry is paid by at most one live (created or sent) file; cancelling a created file frees
  its entries for another one. A sent file cannot be cancelled here: the bank has it.
- The creditors' names and IBANs are not copied into the file's rows: they are read from the
  lease (landlord, for a deposit) and the beneficiary (for a refund) when the file is made, and
  again when it is downloaded later; if they changed meanwhile the SHA-256 would differ and the
  download is refused.
- Idempotency: the file's message id is derived from the request's idempotency key, so a retry
  finds the file the first request made (``payment_files`` needs no column of its own for it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from ledger.bank.pain001 import MAX_NAME, Debtor, Transfer, sepa_text, write_pain001
from ledger.domain.accounts import AccountRole
from ledger.domain.beneficiaries import checked_iban
from ledger.domain.errors import Conflict, NotFound, ValidationError
from ledger.domain.idempotency import check_same_request
from ledger.domain.money import currency as currency_of
from ledger.domain.money import to_minor
from ledger.domain.payment_files import Payout, StoredItem, StoredPaymentFile
from ledger.domain.roles import Actor, Permission
from ledger.domain.statements import BankAccount, end_to_end_id
from ledger.domain.statuses import LoanStatus, PaymentFileStatus, PayoutKind
from ledger.services.loans.disbursal import book_disbursement
from ledger.store.uow import UnitOfWork

if TYPE_CHECKING:
    from ledger.config import Settings

#: Entries a payment file pays: money the fund sends out.
KINDS = tuple(PayoutKind)
STATUSES = tuple(s.value for s in PaymentFileStatus)
#: Banks take a requested execution date up to about a year ahead.
MAX_DAYS_AHEAD = 365


@dataclass(frozen=True, slots=True)
class PendingPayout:
    entry_id: int
    booking_date: date
    kind: PayoutKind
    loan_id: str | None
    amount_minor: int
    currency: str
    end_to_end_id: str
    missing: str | None  # what keeps it out of a file (e.g. the landlord's IBAN), None: ready


@dataclass(frozen=True, slots=True)
class MadeFile:
    file: StoredPaymentFile
    xml: bytes
    replayed: bool  # a retry with the same idempotency key: the file made the first time


@dataclass(frozen=True, slots=True)
class PaymentFileView:
    file: StoredPaymentFile
    items: tuple[StoredItem, ...]


def fund_debtor(settings: Settings) -> Debtor:
    """The fund's account as a payment file's debtor (the API and the CLI make files with it)."""
    return Debtor(
        settings.fund_creditor_name or settings.fund_name, settings.fund_iban, settings.fund_bic
    )


def message_id_for(idempotency_key: str) -> str:
    """The file's message id (35 characters): a hash of the request's idempotency key."""
    return "FLPF-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:30]


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 200:
        raise ValidationError(
            "a payment file needs an idempotency key of 1 to 200 characters (a retry with the "
            "same key returns the same file)",
            "idempotency_key",
        )
    return key


# -- creditor accounts -----------------------------------------------------------------------


def set_landlord_account(
    uow: UnitOfWork, actor: Actor, loan_id: str, *, iban: str, name: str | None = None
) -> None:
    """Record where a loan's deposit is paid: the landlord's IBAN (and name, if given)."""
    actor.require(Permission.PERSONAL_WRITE)
    checked = checked_iban(iban, "landlord_iban")
    if checked is None:
        raise ValidationError("give the landlord's IBAN", "landlord_iban")
    if name is not None and not 1 <= len(name.strip()) <= 200:
        raise ValidationError("the landlord's name must have 1 to 200 characters", "landlord")
    with uow:
        loan = uow.loans.get(loan_id, lock=True)
        if uow.beneficiaries.get(loan.beneficiary_id).erased:
            raise Conflict(
                f"the personal data of loan {loan_id} was erased; its lease is not kept any more",
                "loan_id",
            )
        lease = uow.loans.lease(loan_id)
        uow.loans.update_lease(
            loan_id,
            replace(
                lease,
                landlord_name=name.strip() if name is not None else lease.landlord_name,
                landlord_iban=checked,
            ),
        )
        uow.audit_event(actor, action="landlord_account_set", target=f"loan:{loan_id}")
        uow.commit()


def _creditor(uow: UnitOfWork, kind: PayoutKind, loan_id: str | None) -> tuple[str, str] | str:
    """(name, IBAN) of who an entry pays, or what is missing, in a sentence naming the loan
    and how to add it."""
    if loan_id is None:
        return "the entry belongs to no loan; pay it by hand"
    loan = uow.loans.get(loan_id)
    person = uow.beneficiaries.get(loan.beneficiary_id)
    if person.personal is None:
        return (
            f"loan {loan_id}: the beneficiary's personal data was erased, so there is no "
            "account to pay; pay by hand and link the bank's debit to the entry"
        )
    if kind == PayoutKind.DISBURSEMENT:
        lease = uow.loans.lease(loan_id)
        how = (
            f"a caseworker adds it with `fundledger loan landlord-account {loan_id} --iban IBAN "
            f"--name NAME` or PUT /api/loans/{loan_id}/landlord-account"
        )
        name, iban, who = lease.landlord_name, lease.landlord_iban, "the landlord"
    else:
        how = (
            f"a caseworker adds it to beneficiary {person.id} (PUT /api/beneficiaries/"
            f"{person.id} with its iban)"
        )
        name, iban, who = person.personal.full_name, person.personal.iban, "the beneficiary"
    if iban is None:
        return f"loan {loan_id}: {who}'s IBAN is missing; {how}"
    if not name or not sepa_text(name, MAX_NAME):
        return (
            f"loan {loan_id}: {who}'s name is missing or has no Latin letters, and the bank "
            f"needs the account holder's name in Latin letters; {how}"
        )
    return name, iban


def _remittance(uow: UnitOfWork, kind: PayoutKind, loan_id: str) -> str:
    """What the creditor reads: the loan and its payment reference, nothing about the person."""
    reference = uow.loans.get(loan_id).reference.display
    what = "Rental deposit" if kind == PayoutKind.DISBURSEMENT else "Refund of credit"
    return f"{what}, loan {loan_id}, ref {reference}"


def _transfers(
    uow: UnitOfWork, payouts: Sequence[Payout | StoredItem]
) -> tuple[list[Transfer], list[str]]:
    transfers: list[Transfer] = []
    problems: list[str] = []
    for p in payouts:
        found = _creditor(uow, p.kind, p.loan_id)
        if isinstance(found, str):
            problems.append(f"entry {p.entry_id} ({p.kind}): {found}")
            continue
        if p.loan_id is None:
            problems.append(f"entry {p.entry_id} ({p.kind}): it belongs to no loan")
            continue
        transfers.append(
            Transfer(
                end_to_end_id=end_to_end_id(p.entry_id),
                amount_minor=p.amount_minor,
                creditor_name=found[0],
                creditor_iban=found[1],
                remittance=_remittance(uow, p.kind, p.loan_id),
            )
        )
    return transfers, problems


# -- the fund's account ----------------------------------------------------------------------


def _ledger_bank(uow: UnitOfWork, currency: str) -> int:
    """The id of the ledger account that mirrors the fund's bank account in ``currency``."""
    try:
        return uow.accounts.by_role(AccountRole.BANK, currency).id
    except NotFound:
        raise NotFound(f"the fund has no bank account in {currency}", "currency") from None


def _bank_account(uow: UnitOfWork, actor: Actor, currency: str, debtor: Debtor) -> BankAccount:
    """The bank account the file pays from: the one linked to the ledger's bank account, or
    the fund's IBAN, linked now (as the first statement import would)."""
    account = uow.accounts.by_role(AccountRole.BANK, currency)
    linked = uow.statements.bank_account_of(account.id)
    if linked is not None:
        return linked
    iban = checked_iban(debtor.iban, "fund_iban")
    if iban is None:
        raise ValidationError("set the fund's IBAN (FUNDLEDGER_FUND_IBAN)", "fund_iban")
    other = uow.statements.bank_account(iban)
    if other is not None:
        raise Conflict(
            f"the fund's IBAN {iban} is linked to ledger account {other.account_code} in "
            f"{other.currency}, not to {account.code} in {currency}",
            "currency",
        )
    linked = uow.statements.add_bank_account(
        iban, account.id, currency, actor=actor.name, now=uow.now()
    )
    uow.audit_event(
        actor,
        action="bank_account_linked",
        target=f"account:{account.code}",
        details={"iban": iban},
    )
    return linked


def _bank_of(uow: UnitOfWork, file: StoredPaymentFile) -> BankAccount:
    return next(b for b in uow.statements.bank_accounts() if b.id == file.bank_account_id)


# -- use cases -------------------------------------------------------------------------------


def pending_payouts(uow: UnitOfWork, actor: Actor, currency: str) -> list[PendingPayout]:
    """Disbursements and refunds booked on the bank account and not yet paid: not reversed, in
    no created or sent file, explained by no statement line; each says what it still lacks."""
    actor.require(Permission.PAYMENT_FILES)
    currency_of(currency)
    with uow:
        payouts = uow.payment_files.pending(_ledger_bank(uow, currency), KINDS)
        result = []
        for p in payouts:
            found = _creditor(uow, p.kind, p.loan_id)
            result.append(
                PendingPayout(
                    p.entry_id,
                    p.booking_date,
                    p.kind,
                    p.loan_id,
                    p.amount_minor,
                    currency,
                    end_to_end_id(p.entry_id),
                    found if isinstance(found, str) else None,
                )
            )
        return result


def _replay(file: StoredPaymentFile, items: list[StoredItem], request: dict[str, object]) -> None:
    """Refuse a key reused for another request, naming what differs."""
    first = {
        "currency": file.currency,
        "execution_date": file.execution_date,
        "entry_ids": sorted(i.entry_id for i in items),
    }
    given = [name for name in first if request[name] is not None]  # None: not given, the default
    check_same_request(
        first,
        request,
        first_use=f"this idempotency key made payment file {file.id}",
        new="file",
        names=given,
    )


def create_payment_file(
    uow: UnitOfWork,
    actor: Actor,
    *,
    currency: str,
    execution_date: date,
    debtor: Debtor,
    idempotency_key: str,
    entry_ids: Sequence[int] | None = None,
) -> MadeFile:
    """Make a pain.001 file paying ``entry_ids`` (None: every pending payout) on
    ``execution_date`` from the fund's account (``debtor``: its name and BIC; the IBAN is the
    bank account linked to the ledger's bank account, else ``debtor.iban``)."""
    actor.require(Permission.PAYMENT_FILES)
    currency_of(currency)
    key = _check_key(idempotency_key)
    wanted = sorted(set(entry_ids)) if entry_ids is not None else None
    if wanted is not None and not wanted:
        raise ValidationError("name at least one entry to pay, or none for all", "entry_ids")
    with uow:
        first = _replayed(uow, key, currency, execution_date, debtor, wanted)
        if first is not None:
            return first
        made = make_payment_file(uow, actor, currency, execution_date, debtor, key, wanted)
        uow.commit()
        return made


def _replayed(
    uow: UnitOfWork,
    key: str,
    currency: str,
    execution_date: date,
    debtor: Debtor,
    wanted: list[int] | None,
) -> MadeFile | None:
    """The file a first request with this key made, or None (the chain head locked)."""
    uow.journal.lock_head()  # files queue here, with the imports that link their entries
    first = uow.payment_files.by_message_id(message_id_for(key))
    if first is None:
        return None
    items = uow.payment_files.items(first.id)
    _replay(
        first,
        items,
        {"currency": currency, "execution_date": execution_date, "entry_ids": wanted},
    )
    return MadeFile(first, _regenerate(uow, first, items, debtor), True)


def make_payment_file(
    uow: UnitOfWork,
    actor: Actor,
    currency: str,
    execution_date: date,
    debtor: Debtor,
    key: str,
    wanted: list[int] | None,
) -> MadeFile:
    """``create_payment_file`` inside the caller's open unit of work, its key not used yet."""
    message_id = message_id_for(key)
    today = uow.today()
    if not today <= execution_date <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError(
            f"the execution date {execution_date} must be between today ({today}) and "
            f"{MAX_DAYS_AHEAD} days ahead",
            "execution_date",
        )
    account_id = _ledger_bank(uow, currency)
    pending = uow.payment_files.pending(account_id, KINDS)
    if wanted is None:
        chosen = pending
        if not chosen:
            raise Conflict(f"there is no payout in {currency} waiting for a payment file")
    else:
        by_id = {p.entry_id: p for p in pending}
        for entry_id in wanted:
            if entry_id not in by_id:
                raise Conflict(_why_not_pending(uow, entry_id), "entry_ids")
        chosen = [by_id[e] for e in wanted]
    transfers, problems = _transfers(uow, chosen)
    if problems:
        raise ValidationError(
            "these payouts cannot be paid by a file yet: " + "; ".join(problems), "entry_ids"
        )
    bank = _bank_account(uow, actor, currency, debtor)
    created_at = uow.now().replace(microsecond=0)
    xml = write_pain001(
        message_id=message_id,
        created_at=created_at,
        execution_date=execution_date,
        currency=currency,
        debtor=replace(debtor, iban=bank.iban),
        transfers=transfers,
    )
    file_id = uow.payment_files.add_file(
        {
            "message_id": message_id,
            "bank_account_id": bank.id,
            "currency": currency,
            "execution_date": execution_date,
            "transfers": len(chosen),
            "total_minor": sum(p.amount_minor for p in chosen),
            "sha256": hashlib.sha256(xml).hexdigest(),
            "status": PaymentFileStatus.CREATED,
            "created_at": created_at,
            "created_by": actor.name,
        },
        [
            {
                "entry_id": p.entry_id,
                "end_to_end_id": end_to_end_id(p.entry_id),
                "kind": p.kind,
                "loan_id": p.loan_id,
                "amount_minor": p.amount_minor,
            }
            for p in chosen
        ],
    )
    uow.audit_event(
        actor,
        action="payment_file_create",
        target=f"payment_file:{file_id}",
        details={
            "message_id": message_id,
            "entries": [p.entry_id for p in chosen],
            "execution_date": execution_date.isoformat(),
        },
    )
    return MadeFile(uow.payment_files.get(file_id), xml, False)


@dataclass(frozen=True, slots=True)
class WaitingLoan:
    """A loan whose contract is signed, waiting to be paid out."""

    loan_id: str
    amount_minor: int
    currency: str
    signed_at: datetime | None  # when it became contract signed
    missing: str | None  # what keeps it out of a file (the landlord's IBAN), None: ready


@dataclass(frozen=True, slots=True)
class PayoutChoice:
    """What the treasurer may put in a payment file: loans to pay out now (for who may pay
    loans out; None for others) and payouts already booked that no file pays yet."""

    loans: list[WaitingLoan] | None
    booked: list[PendingPayout]


def payout_choice(uow: UnitOfWork, actor: Actor, currency: str) -> PayoutChoice:
    """The loans approved and signed that wait for their payout, and the payouts booked that
    wait for a file, each saying what it still lacks (no name, no IBAN)."""
    booked = pending_payouts(uow, actor, currency)
    if not actor.can(Permission.LOANS_DISBURSE):
        return PayoutChoice(None, booked)
    with uow:
        waiting = []
        for s in uow.work.in_status((LoanStatus.CONTRACT_SIGNED,)):
            loan = uow.loans.get(s.loan_id)
            if loan.currency != currency:
                continue
            found = _creditor(uow, PayoutKind.DISBURSEMENT, loan.id)
            waiting.append(
                WaitingLoan(
                    loan.id,
                    to_minor(loan.terms.deposit),
                    loan.currency,
                    s.since,
                    found if isinstance(found, str) else None,
                )
            )
    return PayoutChoice(waiting, booked)


def pay_out_in_file(
    uow: UnitOfWork,
    actor: Actor,
    *,
    currency: str,
    execution_date: date,
    debtor: Debtor,
    idempotency_key: str,
    loan_ids: Sequence[str] = (),
    entry_ids: Sequence[int] = (),
) -> MadeFile:
    """Pay signed loans out and make the file that pays them (with payouts booked before), in
    one transaction: each loan's payout is booked today (``loans.disburse``, its key derived
    from the file's), then the file pays them all on ``execution_date``. A refusal books
    nothing; a retry with the same key returns the file the first request made."""
    actor.require(Permission.PAYMENT_FILES)
    loans_chosen = sorted(set(loan_ids))
    if loans_chosen:
        actor.require(Permission.LOANS_DISBURSE)
    currency_of(currency)
    key = _check_key(idempotency_key)
    if not loans_chosen and not entry_ids:
        raise ValidationError(
            "choose at least one loan or payout to pay",
            "entry_ids",
            key="err.payout_file.empty",
        )
    with uow:
        first = _replayed(uow, key, currency, execution_date, debtor, None)
        if first is not None:
            return first
        wanted = set(entry_ids)
        for loan_id in loans_chosen:
            booked = book_disbursement(
                uow, actor, loan_id, on=uow.today(), idempotency_key=f"{key[:40]}:{loan_id}"
            )
            wanted.add(booked.entry.id)
        made = make_payment_file(uow, actor, currency, execution_date, debtor, key, sorted(wanted))
        uow.commit()
        return made


def _why_not_pending(uow: UnitOfWork, entry_id: int) -> str:
    entry = uow.journal.get(entry_id)
    if entry.kind.value not in KINDS:
        return (
            f"entry {entry_id} is a {entry.kind.value}; a payment file pays disbursements and "
            "refunds"
        )
    if entry.reversed_by_id is not None:
        return f"entry {entry_id} is reversed: there is nothing to pay"
    live = uow.payment_files.live_file_of(entry_id)
    if live is not None:
        return (
            f"entry {entry_id} is already in payment file {live}; cancel that file first if it "
            "was not sent"
        )
    line = uow.statements.line_of_entry(entry_id)
    if line is not None:
        return f"entry {entry_id} is already paid: statement line {line.id} explains it"
    return f"entry {entry_id} does not take money out of the bank account in this currency"


def _regenerate(
    uow: UnitOfWork, file: StoredPaymentFile, items: Sequence[StoredItem], debtor: Debtor
) -> bytes:
    """The file's bytes made again from its items and today's creditor data; refused if they
    would differ from the file made then."""
    transfers, problems = _transfers(uow, items)
    if problems:
        raise Conflict(
            f"payment file {file.id} cannot be made again: " + "; ".join(problems), "file_id"
        )
    xml = write_pain001(
        message_id=file.message_id,
        created_at=file.created_at,
        execution_date=file.execution_date,
        currency=file.currency,
        debtor=replace(debtor, iban=_bank_of(uow, file).iban),
        transfers=transfers,
    )
    if hashlib.sha256(xml).hexdigest() != file.sha256:
        raise Conflict(
            f"payment file {file.id} made again would differ from the file made on "
            f"{file.created_at:%Y-%m-%d}: a creditor's name or IBAN (or the fund's name or BIC) "
            "changed since. "
            + (
                "The bank has the file as it was sent; use the copy you uploaded."
                if file.status is PaymentFileStatus.SENT
                else "Cancel it and make a new file with the current accounts."
            ),
            "file_id",
        )
    return xml


def payment_file_xml(uow: UnitOfWork, actor: Actor, file_id: int, debtor: Debtor) -> bytes:
    """Download a file again: made again from its items and the creditors' current data."""
    actor.require(Permission.PAYMENT_FILES)
    with uow:
        file = uow.payment_files.get(file_id)
        if file.status is PaymentFileStatus.CANCELLED:
            raise Conflict(
                f"payment file {file_id} was cancelled; make a new file for its payouts",
                "file_id",
            )
        xml = _regenerate(uow, file, uow.payment_files.items(file_id), debtor)
        uow.audit_event(
            actor,
            action="payment_file_download",
            target=f"payment_file:{file_id}",
        )
        uow.commit()
    return xml


def mark_sent(uow: UnitOfWork, actor: Actor, file_id: int) -> StoredPaymentFile:
    """The treasurer uploaded the file to the bank."""
    actor.require(Permission.PAYMENT_FILES)
    with uow:
        file = uow.payment_files.get(file_id, lock=True)
        if file.status is not PaymentFileStatus.CREATED:
            raise Conflict(f"payment file {file_id} is {file.status} already", "file_id")
        for item in uow.payment_files.items(file_id):
            if uow.journal.get(item.entry_id).reversed_by_id is not None:
                raise Conflict(
                    f"entry {item.entry_id} (loan {item.loan_id}) was reversed after payment "
                    f"file {file_id} was made; do not send it: cancel it and make a new file",
                    "file_id",
                )
        uow.payment_files.set_status(
            file_id, PaymentFileStatus.SENT, sent_at=uow.now(), sent_by=actor.name
        )
        uow.audit_event(
            actor,
            action="payment_file_sent",
            target=f"payment_file:{file_id}",
        )
        uow.commit()
        return uow.payment_files.get(file_id)


def cancel(uow: UnitOfWork, actor: Actor, file_id: int, reason: str) -> StoredPaymentFile:
    """Cancel a file not sent: its payouts can go into another file."""
    actor.require(Permission.PAYMENT_FILES)
    why = (reason or "").strip()
    if not why or len(why) > 500:
        raise ValidationError("say why the file is cancelled (1 to 500 characters)", "reason")
    with uow:
        uow.journal.lock_head()
        file = uow.payment_files.get(file_id, lock=True)
        if file.status is PaymentFileStatus.SENT:
            raise Conflict(
                f"payment file {file_id} was sent to the bank on {file.sent_at:%Y-%m-%d} and "
                "cannot be cancelled here: ask the bank to stop the transfers it has not "
                "executed; a payout the bank did not make stays unexplained on the statement, "
                "and can then be undone (loan disbursement undo) or paid again by hand",
                "file_id",
            )
        if file.status is PaymentFileStatus.CANCELLED:
            raise Conflict(f"payment file {file_id} is cancelled already", "file_id")
        uow.payment_files.set_status(
            file_id,
            PaymentFileStatus.CANCELLED,
            cancelled_at=uow.now(),
            cancelled_by=actor.name,
            cancel_reason=why,
        )
        uow.audit_event(
            actor,
            action="payment_file_cancel",
            target=f"payment_file:{file_id}",
            details={"reason": why},
        )
        uow.commit()
        return uow.payment_files.get(file_id)


def list_payment_files(
    uow: UnitOfWork, actor: Actor, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[StoredPaymentFile], int]:
    """Files, newest first, with how many of their transfers the bank has executed."""
    actor.require(Permission.LEDGER_READ)
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status is one of {', '.join(STATUSES)}", "status")
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1 to 500 and offset not negative", "limit")
    with uow:
        return uow.payment_files.page(status=status, limit=limit, offset=offset)


def get_payment_file(uow: UnitOfWork, actor: Actor, file_id: int) -> PaymentFileView:
    """A file's metadata and items (entry, end-to-end id, loan, amount, the statement line that
    executed it): no names, no IBANs."""
    actor.require(Permission.LEDGER_READ)
    with uow:
        return PaymentFileView(
            uow.payment_files.get(file_id), tuple(uow.payment_files.items(file_id))
        )
