"""Payment reminders: the daily run that e-mails them, the letter staff print, the opt-out.

``send_reminders`` (``fundledger reminders send``, for cron) works in three steps:

1. In one transaction, it finds the reminder each active loan is due on the day
   (``ledger.domain.reminders``), leaves out those the loan already has (the ``reminders``
   table keeps each loan, kind, day and channel once), records as skipped those that cannot go
   (the person opted out, has no e-mail address, or was erased) and claims the others: each is
   recorded as on its way (``sending``) with a new personal link for its e-mail. A second run
   at the same time finds them claimed, or is refused by the table's UNIQUE constraint.
2. Outside any transaction, it sends the e-mails.
3. Each e-mail's fate is recorded in a transaction of its own as it comes: sent (with its
   Message-ID) or failed (with the server's answer, addresses blanked out). A failed one is
   tried again by the next run, with a new link, and so is one left on its way for over an hour
   by a run that stopped half-way (which may then reach the person twice: the price of never
   losing one).

So the run is idempotent per day: run again, it sends only what failed. Nothing of a person's
data is logged; the audit log names the loan and the reminder.

``reminder_letter`` makes the printable letter of the reminder that fits a loan today and
records it on the loan (channel ``letter``, as printed). ``set_reminders_opt_out`` records a
person's wish for no e-mails (letters stay possible: staff decide to print them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from ledger.documents.model import FundInfo
from ledger.documents.reminders import (
    ReminderLetter,
    reminder_language,
    reminder_mail,
    render_reminder_letter,
)
from ledger.documents.render import Rendered
from ledger.domain.beneficiaries import Beneficiary
from ledger.domain.errors import Conflict, ValidationError
from ledger.domain.money import from_minor
from ledger.domain.reminders import (
    DueReminder,
    ReminderRules,
    SkipReason,
    StoredReminder,
    first_name,
    letter_for,
    reminder_due,
    standing_on,
)
from ledger.domain.roles import Actor, Permission
from ledger.domain.statuses import LoanStatus, ReminderChannel, ReminderKind, ReminderStatus
from ledger.mail import Mailer, MailFailed
from ledger.services.access_links import add_link
from ledger.store.uow import UnitOfWork

if TYPE_CHECKING:
    from ledger.config import Settings
    from ledger.domain.policy import LoanPolicy

log = logging.getLogger(__name__)

#: A reminder claimed this long ago and still on its way: its run stopped; tried again.
STALE = timedelta(hours=1)
#: Loans whose schedules and payments are read per query round.
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """What the reminders need of the fund's settings and rules."""

    rules: ReminderRules | None  # the rules file's [reminders]; None: no e-mails are sent
    fund: FundInfo
    languages: tuple[str, ...]  # the fund's languages, the default first
    public_url: str | None = None  # the site beneficiaries open (their links start with it)
    sender: str | None = None  # the From address; default: the fund's e-mail
    link_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings, policy: LoanPolicy) -> ReminderSettings:
        return cls(
            rules=policy.reminders,
            fund=FundInfo.from_settings(settings),
            languages=settings.languages(),
            public_url=settings.public_url,
            sender=settings.smtp_from,
            link_days=settings.reminder_link_days,
        )


@dataclass(frozen=True, slots=True)
class ReminderOutcome:
    """What became of one reminder in a run (``status`` None: a dry run would send it)."""

    loan_id: str
    kind: ReminderKind
    due_date: date
    days_late: int
    status: ReminderStatus | None
    reason: SkipReason | None = None
    error: str | None = None
    language: str | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class ReminderRun:
    """A run of the reminders: the day, the loans looked at, and each reminder it dealt with
    (those sent, failed, newly skipped, or in a dry run those it would send or skip)."""

    day: date
    dry_run: bool
    loans: int
    outcomes: tuple[ReminderOutcome, ...]

    def count(self, status: ReminderStatus | None) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    @property
    def failed(self) -> int:
        return self.count(ReminderStatus.FAILED)


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A claimed e-mail, between the transaction that claimed it and the one recording it."""

    reminder_id: int
    due: DueReminder
    address: str
    name: str
    language: str
    link: str
    link_until: date
    attempts: int


def _skip_reason(person: Beneficiary) -> SkipReason | None:
    if person.personal is None:
        return SkipReason.ERASED
    if person.reminders_opt_out:
        return SkipReason.OPTED_OUT
    if not person.personal.email:
        return SkipReason.NO_EMAIL
    return None


def _checked(settings: ReminderSettings, mailer: Mailer | None, dry_run: bool) -> ReminderRules:
    """The rules, and for a real run what sending needs; else a refusal that says what to set."""
    if settings.rules is None:
        raise ValidationError(
            "the fund's rules file has no [reminders] table: add one to send payment reminders "
            "(docs/reminders.md)",
            "rules_file",
            key="err.reminders.off",
        )
    if not dry_run:
        if settings.public_url is None:
            raise ValidationError(
                "FUNDLEDGER_PUBLIC_URL is not set: set it to the address beneficiaries open "
                "(https://fund.example.org), so that a reminder's link works",
                "public_url",
            )
        if mailer is None:
            raise ValidationError("no mail server to send the reminders through", "smtp_host")
    return settings.rules


def send_reminders(
    uow: UnitOfWork,
    actor: Actor,
    settings: ReminderSettings,
    mailer: Mailer | None,
    *,
    day: date | None = None,
    dry_run: bool = False,
) -> ReminderRun:
    """E-mail the reminders the active loans are due on ``day`` (the fund's today by default);
    with ``dry_run``, only say what would be sent or skipped, changing nothing."""
    actor.require(Permission.PERSONAL_WRITE)
    rules = _checked(settings, mailer, dry_run)
    try:
        run, outgoing = _claim(uow, actor, settings, rules, day, dry_run)
    except IntegrityError:
        raise Conflict(
            "another run is sending reminders right now: wait for it to end, then run again "
            "(it sends only what is left)",
            key="err.reminders.busy",
        ) from None
    if not outgoing:
        return run
    assert mailer is not None  # _checked: a real run has one
    sent = {o.due.key: _send_one(uow, actor, settings, mailer, o) for o in outgoing}
    outcomes = tuple(sent.get((o.loan_id, o.kind, o.due_date), o) for o in run.outcomes)
    return ReminderRun(run.day, run.dry_run, run.loans, outcomes)


def _due_on(
    uow: UnitOfWork, rules: ReminderRules, day: date
) -> tuple[dict[str, str], list[DueReminder]]:
    """(each active loan's beneficiary, the reminder each loan is due on ``day``)."""
    owners = dict(uow.reminders.active_loans())
    active = list(owners)
    due: list[DueReminder] = []
    for start in range(0, len(active), CHUNK):
        for history in uow.arrears.histories(active[start : start + CHUNK]):
            found = reminder_due(standing_on(history, day), rules)
            if found is not None:
                due.append(found)
    return owners, due


def _claim(
    uow: UnitOfWork,
    actor: Actor,
    settings: ReminderSettings,
    rules: ReminderRules,
    day: date | None,
    dry_run: bool,
) -> tuple[ReminderRun, list[_Outgoing]]:
    """Step 1: what is due, what is skipped, and the e-mails claimed (a dry run claims none
    and commits nothing)."""
    outcomes: list[ReminderOutcome] = []
    outgoing: list[_Outgoing] = []
    with uow:
        today = uow.today()
        day = day or today
        if day > today and not dry_run:
            raise ValidationError(
                f"reminders are sent on their day: {day} is after today ({today}); try it with "
                "--dry-run to see what will go",
                "on",
                key="err.reminders.future",
                params={"day": day, "today": today},
            )
        now = uow.now()
        owners, due = _due_on(uow, rules, day)
        known = uow.reminders.by_keys([d.key for d in due], ReminderChannel.EMAIL)
        people = uow.beneficiaries.get_many(sorted({owners[d.loan_id] for d in due}))
        for d in due:
            stored = known.get(d.key)
            if stored is not None and (
                stored.status is ReminderStatus.SENT
                or (stored.status is ReminderStatus.SENDING and now - stored.updated_at < STALE)
            ):
                continue
            person = people[owners[d.loan_id]]
            reason = _skip_reason(person)
            if reason is not None:
                if (
                    stored is not None
                    and stored.status is ReminderStatus.SKIPPED
                    and stored.reason == reason.value
                ):
                    continue  # said when it was first skipped
                status = None if dry_run else ReminderStatus.SKIPPED
                if status is not None:
                    _record(uow, actor, d, stored, day, status, reason=reason)
                outcomes.append(
                    ReminderOutcome(d.loan_id, d.kind, d.due_date, d.days_late, status, reason)
                )
                continue
            assert person.personal is not None and person.personal.email is not None
            language = reminder_language(person.personal.preferred_language, settings.languages)
            if dry_run:
                outcomes.append(
                    ReminderOutcome(
                        d.loan_id, d.kind, d.due_date, d.days_late, None, language=language
                    )
                )
                continue
            link = add_link(uow, actor, d.loan_id, days=settings.link_days)
            reminder_id, attempts = _record(
                uow,
                actor,
                d,
                stored,
                day,
                ReminderStatus.SENDING,
                language=language,
                link_id=link.link.id,
            )
            outcomes.append(
                ReminderOutcome(
                    d.loan_id,
                    d.kind,
                    d.due_date,
                    d.days_late,
                    ReminderStatus.SENDING,
                    language=language,
                    attempts=attempts,
                )
            )
            outgoing.append(
                _Outgoing(
                    reminder_id=reminder_id,
                    due=d,
                    address=person.personal.email,
                    name=first_name(person.personal.full_name),
                    language=language,
                    link=f"{settings.public_url}/b/{link.token}",
                    link_until=link.link.expires_at.astimezone(uow.zone).date(),
                    attempts=attempts,
                )
            )
        if not dry_run:
            uow.commit()
    return ReminderRun(day, dry_run, len(owners), tuple(outcomes)), outgoing


def _record(
    uow: UnitOfWork,
    actor: Actor,
    due: DueReminder,
    stored: StoredReminder | None,
    day: date,
    status: ReminderStatus,
    *,
    channel: ReminderChannel = ReminderChannel.EMAIL,
    reason: SkipReason | None = None,
    language: str | None = None,
    link_id: int | None = None,
) -> tuple[int, int]:
    """The reminder recorded with ``status`` (a new row, or its row changed); returns its id
    and how many times it was tried (or printed)."""
    now = uow.now()
    tried = status in (ReminderStatus.SENDING, ReminderStatus.PRINTED)
    values: dict[str, Any] = {
        "status": status.value,
        "day": day,
        "days_late": due.days_late,
        "reason": None if reason is None else reason.value,
        "error": None,
        "message_id": None,
        "updated_at": now,
    }
    if language is not None:
        values["language"] = language
    if link_id is not None:
        values["link_id"] = link_id
    if stored is None:
        attempts = 1 if tried else 0
        reminder_id = uow.reminders.add(
            {
                "loan_id": due.loan_id,
                "kind": due.kind.value,
                "due_date": due.due_date,
                "channel": channel.value,
                "attempts": attempts,
                "created_at": now,
                "created_by": actor.name,
                "language": language,
                "link_id": link_id,
                **values,
            }
        )
    else:
        reminder_id = stored.id
        attempts = stored.attempts + (1 if tried else 0)
        uow.reminders.change(reminder_id, {**values, "attempts": attempts})
    if status is ReminderStatus.SKIPPED:
        uow.audit_event(
            actor,
            "reminder_skipped",
            target=f"loan:{due.loan_id}",
            details={
                "reminder": reminder_id,
                "kind": due.kind.value,
                "due": due.due_date.isoformat(),
                "reason": None if reason is None else reason.value,
            },
        )
    return reminder_id, attempts


def _message(
    settings: ReminderSettings, rules: ReminderRules, o: _Outgoing, now: datetime
) -> EmailMessage:
    fund = settings.fund
    mail = reminder_mail(
        o.due.kind,
        rules.tone,
        o.language,
        name=o.name,
        link=o.link,
        link_until=o.link_until,
        fund=fund,
    )
    sender = settings.sender or fund.email
    message = EmailMessage()
    message["From"] = sender
    message["To"] = o.address
    message["Reply-To"] = fund.email
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(f"reminder{o.reminder_id}", sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message["Content-Language"] = mail.language  # after the content: set_content clears it
    return message


def _send_one(
    uow: UnitOfWork, actor: Actor, settings: ReminderSettings, mailer: Mailer, o: _Outgoing
) -> ReminderOutcome:
    """Steps 2 and 3 for one e-mail: sent outside any transaction, then recorded."""
    assert settings.rules is not None
    message = _message(settings, settings.rules, o, uow.now())
    error: str | None = None
    try:
        mailer.send(message)
    except MailFailed as exc:
        error = exc.text
    status = ReminderStatus.FAILED if error else ReminderStatus.SENT
    d = o.due
    with uow:
        uow.reminders.change(
            o.reminder_id,
            {
                "status": status.value,
                "error": error,
                "message_id": None if error else str(message["Message-ID"]),
                "updated_at": uow.now(),
            },
        )
        uow.audit_event(
            actor,
            "reminder_failed" if error else "reminder_sent",
            target=f"loan:{d.loan_id}",
            details={
                "reminder": o.reminder_id,
                "kind": d.kind.value,
                "due": d.due_date.isoformat(),
                "channel": ReminderChannel.EMAIL.value,
                "attempt": o.attempts,
            },
        )
        uow.commit()
    if error:
        log.warning("reminder %s of loan %s not sent: %s", o.reminder_id, d.loan_id, error)
    else:
        log.info("reminder %s of loan %s sent (%s)", o.reminder_id, d.loan_id, d.kind.value)
    return ReminderOutcome(
        d.loan_id,
        d.kind,
        d.due_date,
        d.days_late,
        status,
        error=error,
        language=o.language,
        attempts=o.attempts,
    )


# -- the letter ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrintedLetter:
    """A reminder letter made for printing, and its record on the loan."""

    reminder: StoredReminder
    rendered: Rendered

    @property
    def file_name(self) -> str:
        r = self.reminder
        return f"{r.loan_id}-reminder-{r.kind.value}-{r.day.isoformat()}.pdf"


def reminder_letter(
    uow: UnitOfWork,
    actor: Actor,
    settings: ReminderSettings,
    loan_id: str,
    *,
    kind: ReminderKind | None = None,
) -> PrintedLetter:
    """The letter of the reminder that fits the loan today (``kind``: that one, if it fits),
    rendered and recorded on the loan. Without a ``[reminders]`` table in the rules, the
    default days and the friendly tone."""
    actor.require(Permission.PERSONAL_WRITE)
    rules = settings.rules or ReminderRules()
    with uow:
        loan = uow.loans.get(loan_id)
        if loan.status is not LoanStatus.ACTIVE:
            raise Conflict(
                f"loan {loan_id} is {loan.status.value}: only a loan being repaid gets reminders",
                "loan_id",
                key="err.reminder.not_active",
                params={"loan": loan_id, "status": loan.status},
            )
        day = uow.today()
        histories = uow.arrears.histories([loan_id])
        standing = standing_on(histories[0], day) if histories else None
        due = letter_for(standing, rules, kind)
        if due is None or standing is None:
            raise Conflict(
                f"loan {loan_id} has nothing late and nothing left to pay for this letter",
                "kind",
                key="err.reminder.nothing",
                params={"loan": loan_id},
            )
        person = uow.beneficiaries.get(loan.beneficiary_id)
        if person.personal is None:
            raise Conflict(
                f"the personal data of {loan.beneficiary_id} was erased",
                "loan_id",
                key="err.person.erased",
            )
        lease = uow.loans.lease(loan_id)
    if due.kind is ReminderKind.BEFORE_DUE:
        coming = standing.next_unpaid()
        minor = coming.left if coming is not None else 0
    else:
        minor = standing.overdue
    language = reminder_language(person.personal.preferred_language, settings.languages)
    address = tuple(
        line.strip()
        for line in (lease.property_address or "").replace(";", "\n").split("\n")
        if line.strip()
    )
    letter = ReminderLetter(
        loan_id=loan_id,
        kind=due.kind,
        tone=rules.tone,
        language=language,
        beneficiary_name=person.personal.full_name,
        address_lines=address,
        day=day,
        due_date=due.due_date,
        amount=from_minor(minor, loan.currency),
        reference=loan.reference,
        fund=settings.fund,
    )
    rendered = render_reminder_letter(letter)
    with uow:
        stored = uow.reminders.by_keys([due.key], ReminderChannel.LETTER).get(due.key)
        reminder_id, _ = _record(
            uow,
            actor,
            due,
            stored,
            day,
            ReminderStatus.PRINTED,
            channel=ReminderChannel.LETTER,
            language=rendered.language,
        )
        uow.audit_event(
            actor,
            "reminder_letter_printed",
            target=f"loan:{loan_id}",
            details={
                "reminder": reminder_id,
                "kind": due.kind.value,
                "due": due.due_date.isoformat(),
            },
        )
        uow.commit()
        return PrintedLetter(uow.reminders.get(reminder_id), rendered)


# -- reading and the opt-out -----------------------------------------------------------------


def reminders_of(uow: UnitOfWork, actor: Actor, loan_id: str) -> list[StoredReminder]:
    """The loan's reminders, the latest first (no personal data: any role reading loans)."""
    actor.require(Permission.LOANS_READ)
    with uow:
        uow.loans.get(loan_id)
        return uow.reminders.of_loan(loan_id)


def set_reminders_opt_out(
    uow: UnitOfWork, actor: Actor, beneficiary_id: str, opt_out: bool
) -> None:
    """The person wants no reminders by e-mail (``opt_out``), or wants them again."""
    actor.require(Permission.PERSONAL_WRITE)
    with uow:
        person = uow.beneficiaries.get(beneficiary_id)
        if person.erased:
            raise Conflict(
                f"the personal data of {beneficiary_id} was erased",
                "beneficiary_id",
                key="err.person.erased",
            )
        uow.beneficiaries.set_reminders_opt_out(beneficiary_id, opt_out)
        uow.audit_event(
            actor,
            "reminders_opt_out" if opt_out else "reminders_opt_in",
            target=f"person:{beneficiary_id}",
        )
        uow.commit()
