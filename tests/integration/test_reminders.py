"""Payment reminders through the service, on SQLite and PostgreSQL, against a local SMTP server
(aiosmtpd): once a day per reminder however often the run goes, the opt-out and a missing
address recorded as skipped, a refused or lost e-mail tried again, the e-mail's content (the
first name and the link, no amount), the fund's day near midnight, and the letter."""

from __future__ import annotations

import io
import re
import smtplib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from ledger.documents.model import ScheduleData
from ledger.domain.errors import Conflict, PermissionDenied, ValidationError
from ledger.domain.money import from_minor
from ledger.domain.reminders import ReminderRules, SkipReason, Tone
from ledger.domain.statuses import LoanStatus, ReminderChannel, ReminderKind, ReminderStatus
from ledger.mail import MailFailed, SmtpMailer, SmtpSettings, error_text
from ledger.services import access_links, loans
from ledger.services.reminders import (
    ReminderRun,
    ReminderSettings,
    reminder_letter,
    reminders_of,
    send_reminders,
    set_reminders_opt_out,
)
from ledger.store.uow import UnitOfWork
from tests.support import loans as support_loans
from tests.support.clock import Clock
from tests.support.documents import fund_eur
from tests.support.loans import AUDITOR, CASEWORKER, TREASURER, loan_in, person
from tests.support.queries import counts
from tests.support.smtp import Inbox, free_port, smtp_server


@pytest.fixture(autouse=True)
def _people_speak_a_language_without_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reminders go in the fund's first language when the person's has no catalog: the
    people of these tests speak one (``NO_CATALOG``)."""
    monkeypatch.setattr(support_loans, "LANGUAGE", support_loans.NO_CATALOG)


SETTINGS = ReminderSettings(
    rules=ReminderRules(before_due_days=5, late_days=10, formal_notice_days=30),
    fund=fund_eur(),
    languages=("fr", "nl", "de", "en"),
    public_url="https://fund.example.org",
    sender="rappels@fund.example.org",
    link_days=30,
)
BRUSSELS = ZoneInfo("Europe/Brussels")
LATE, BEFORE, FORMAL = ReminderKind.LATE, ReminderKind.BEFORE_DUE, ReminderKind.FORMAL_NOTICE


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


def at(clock: Clock, day: str, hour: int = 8) -> None:
    clock.now = datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def run(uow: UnitOfWork, inbox: Inbox, **options: object) -> ReminderRun:
    with SmtpMailer(inbox.settings) as mailer:
        return send_reminders(uow, CASEWORKER, SETTINGS, mailer, **options)  # type: ignore[arg-type]


def seen(result: ReminderRun) -> list[tuple[str, str, str, str | None]]:
    return [
        (o.loan_id, o.kind.value, o.due_date.isoformat(), o.status.value if o.status else None)
        for o in result.outcomes
    ]


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_each_reminder_goes_once_however_often_the_run_goes(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    loan = loan_in(funded, LoanStatus.ACTIVE)  # paid out 15 March, first installment 31 March
    at(clock, "2026-03-25")
    assert run(funded, inbox).outcomes == ()
    at(clock, "2026-03-26")
    first = run(funded, inbox)
    assert seen(first) == [(loan.id, "before_due", "2026-03-31", "sent")]
    assert (first.day, first.loans, first.failed) == (date(2026, 3, 26), 1, 0)
    assert run(funded, inbox).outcomes == ()  # the same day again: nothing
    at(clock, "2026-03-27", hour=20)
    assert run(funded, inbox).outcomes == ()  # the next day of the window: sent already
    at(clock, "2026-04-10")
    assert seen(run(funded, inbox)) == [(loan.id, "late", "2026-03-31", "sent")]
    assert run(funded, inbox).outcomes == ()
    at(clock, "2026-04-30")
    assert seen(run(funded, inbox)) == [(loan.id, "formal_notice", "2026-03-31", "sent")]
    at(clock, "2026-05-20")
    assert run(funded, inbox).outcomes == ()
    assert len(inbox.messages) == 3
    recorded = reminders_of(funded, AUDITOR, loan.id)
    assert [(r.kind, r.status, r.attempts, r.channel) for r in recorded] == [
        (FORMAL, ReminderStatus.SENT, 1, ReminderChannel.EMAIL),
        (LATE, ReminderStatus.SENT, 1, ReminderChannel.EMAIL),
        (BEFORE, ReminderStatus.SENT, 1, ReminderChannel.EMAIL),
    ]
    assert {r.message_id for r in recorded} == {
        str(m["Message-ID"]).strip() for m in inbox.messages
    }
    assert [r.days_late for r in recorded] == [30, 10, 0]


def test_the_e_mail_carries_the_first_name_and_a_working_link_and_nothing_about_money(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    loan = loan_in(funded, LoanStatus.ACTIVE)
    at(clock, "2026-04-12")
    run(funded, inbox)
    (message,) = inbox.messages
    text = body(message)
    assert message["To"] == "amina@example.org"
    assert message["From"] == "rappels@fund.example.org"
    assert message["Reply-To"] == "fonds@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    # Tigrinya has no catalog yet: the fund's first language, not English.
    assert message["Content-Language"] == "fr"
    assert message["Subject"] == "Avez-vous oublié un paiement ?"
    assert text.startswith("Bonjour Amina,\n")
    assert "Kebede" not in text  # the first name only
    # No amount, no currency, no due date, no reference: nothing about the loan's money.
    assert re.search(r"\d+[.,]\d\d", text) is None
    for money_word in ("€", "EUR", "70", "1700", "31 mars", "2026-03-31", loan.reference.display):
        assert money_word not in text
    links = re.findall(r"https://fund\.example\.org/b/([A-Za-z0-9_-]+)", text)
    assert len(links) == 1
    opened = access_links.open_link(funded, links[0], fund_eur(), shown="page")
    assert isinstance(opened, ScheduleData) and opened.loan_id == loan.id
    assert "12 mai 2026" in text  # the link's end: 30 days (FUNDLEDGER_REMINDER_LINK_DAYS)
    (recorded,) = reminders_of(funded, AUDITOR, loan.id)
    assert recorded.language == "fr" and recorded.link_id is not None


def test_the_neutral_tone_and_the_person_s_own_language(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    who = person(funded, full_name="Jan de Vries", preferred_language="nl")
    loan_in(funded, LoanStatus.ACTIVE, who)
    neutral = ReminderSettings(
        rules=ReminderRules(tone=Tone.NEUTRAL), fund=fund_eur(), languages=("fr", "en"),
        public_url="https://fund.example.org",
    )  # fmt: skip
    at(clock, "2026-05-01")  # 31 days late
    with SmtpMailer(inbox.settings) as mailer:
        send_reminders(funded, CASEWORKER, neutral, mailer)
    (message,) = inbox.messages
    assert message["Subject"] == "Ingebrekestelling: betalingen te laat"
    assert message["From"] == "fonds@example.org"  # no sender set: the fund's address
    assert body(message).startswith("Beste Jan,\n")


def test_an_opted_out_person_and_one_without_an_address_are_skipped_and_said_once(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    quiet = person(funded, full_name="Quiet One")
    no_mail = person(funded, full_name="No Mail", email=None)
    first = loan_in(funded, LoanStatus.ACTIVE, quiet)
    second = loan_in(funded, LoanStatus.ACTIVE, no_mail)
    set_reminders_opt_out(funded, CASEWORKER, quiet.id, True)
    at(clock, "2026-04-10")
    result = run(funded, inbox)
    assert sorted((o.loan_id, o.status, o.reason) for o in result.outcomes) == [
        (first.id, ReminderStatus.SKIPPED, SkipReason.OPTED_OUT),
        (second.id, ReminderStatus.SKIPPED, SkipReason.NO_EMAIL),
    ]
    assert inbox.messages == []
    assert run(funded, inbox).outcomes == ()  # still skipped: not said again
    # Opted in again the next day: the late reminder still due goes.
    set_reminders_opt_out(funded, CASEWORKER, quiet.id, False)
    at(clock, "2026-04-11")
    assert seen(run(funded, inbox)) == [(first.id, "late", "2026-03-31", "sent")]
    (message,) = inbox.messages
    assert body(message).startswith("Bonjour Quiet,")
    assert [r.status for r in reminders_of(funded, AUDITOR, second.id)] == [ReminderStatus.SKIPPED]
    assert loans.read_beneficiary(funded, CASEWORKER, quiet.id).reminders_opt_out is False


def test_a_refused_e_mail_is_recorded_without_the_address_and_tried_again_next_run(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    loan = loan_in(funded, LoanStatus.ACTIVE)
    inbox.refused.add("amina@example.org")
    at(clock, "2026-04-10")
    failed = run(funded, inbox)
    assert seen(failed) == [(loan.id, "late", "2026-03-31", "failed")]
    assert failed.failed == 1
    (outcome,) = failed.outcomes
    assert outcome.error is not None and "550" in outcome.error
    assert "amina" not in outcome.error and "<address>" in outcome.error
    (recorded,) = reminders_of(funded, AUDITOR, loan.id)
    assert (recorded.status, recorded.attempts, recorded.error) == (
        ReminderStatus.FAILED,
        1,
        outcome.error,
    )
    first_link = recorded.link_id
    inbox.refused.clear()
    at(clock, "2026-04-11")
    retried = run(funded, inbox)
    assert seen(retried) == [(loan.id, "late", "2026-03-31", "sent")]
    (recorded,) = reminders_of(funded, AUDITOR, loan.id)
    assert (recorded.status, recorded.attempts, recorded.error) == (ReminderStatus.SENT, 2, None)
    assert recorded.link_id != first_link  # a new link: the first one's token is not kept
    assert len(inbox.messages) == 1


def test_a_server_that_cannot_be_reached_fails_the_run_s_e_mails(
    funded: UnitOfWork, clock: Clock
) -> None:
    loan_in(funded, LoanStatus.ACTIVE)
    at(clock, "2026-04-10")
    nowhere = SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, timeout=5)
    with SmtpMailer(nowhere) as mailer:
        result = send_reminders(funded, CASEWORKER, SETTINGS, mailer)
    (outcome,) = result.outcomes
    assert outcome.status is ReminderStatus.FAILED
    assert outcome.error is not None and "Connection" in outcome.error


class Crash(Exception):
    pass


class CrashingMailer:
    def send(self, message: EmailMessage) -> None:
        raise Crash("the process died while sending")


def test_a_reminder_left_on_its_way_by_a_run_that_died_is_tried_again_an_hour_later(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    loan = loan_in(funded, LoanStatus.ACTIVE)
    at(clock, "2026-04-10")
    with pytest.raises(Crash):
        send_reminders(funded, CASEWORKER, SETTINGS, CrashingMailer())
    (recorded,) = reminders_of(funded, AUDITOR, loan.id)
    assert recorded.status is ReminderStatus.SENDING
    clock.advance(minutes=30)
    assert run(funded, inbox).outcomes == ()  # maybe still on its way: left alone
    clock.advance(minutes=31)
    assert seen(run(funded, inbox)) == [(loan.id, "late", "2026-03-31", "sent")]
    (recorded,) = reminders_of(funded, AUDITOR, loan.id)
    assert (recorded.status, recorded.attempts) == (ReminderStatus.SENT, 2)


def test_a_dry_run_says_what_would_go_and_changes_nothing(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    loan = loan_in(funded, LoanStatus.ACTIVE)
    no_mail = loan_in(funded, LoanStatus.ACTIVE, person(funded, email=None))
    at(clock, "2026-04-10")
    before = counts(funded)
    result = send_reminders(funded, CASEWORKER, SETTINGS, None, dry_run=True)
    assert result.dry_run
    assert sorted((o.loan_id, o.kind, o.status, o.reason) for o in result.outcomes) == [
        (loan.id, LATE, None, None),
        (no_mail.id, LATE, None, SkipReason.NO_EMAIL),
    ]
    assert counts(funded) == before
    assert inbox.messages == []
    # A day ahead, to see what goes then; a real run is refused for a day not yet come.
    ahead = send_reminders(funded, CASEWORKER, SETTINGS, None, day=date(2026, 4, 30), dry_run=True)
    assert {o.kind for o in ahead.outcomes} == {FORMAL}
    with pytest.raises(ValidationError) as refused:
        run(funded, inbox, day=date(2026, 4, 11))
    assert refused.value.key == "err.reminders.future"


def test_a_backdated_payment_clears_what_it_paid(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    loan = loan_in(funded, LoanStatus.ACTIVE)
    at(clock, "2026-04-10")
    assert seen(run(funded, inbox)) == [(loan.id, "late", "2026-03-31", "sent")]
    first = loans.get_loan(funded, AUDITOR, loan.id).installments[0]
    at(clock, "2026-04-20")  # booked on 20 April, received on 1 April
    loans.record_payment(
        funded,
        TREASURER,
        loan.id,
        from_minor(first.amount, "EUR"),
        on=date(2026, 4, 1),
        idempotency_key="late-bank-statement",
    )
    at(clock, "2026-04-26")
    assert seen(run(funded, inbox)) == [(loan.id, "before_due", "2026-04-30", "sent")]
    at(clock, "2026-05-01")
    assert run(funded, inbox).outcomes == ()  # one day late: no formal notice, no reminder


def test_a_loan_repaid_or_not_yet_paid_out_gets_none(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    repaid = loan_in(funded, LoanStatus.ACTIVE)
    loan_in(funded, LoanStatus.CONTRACT_SIGNED)
    loans.record_payment(
        funded, TREASURER, repaid.id, repaid.terms.deposit, on=date(2026, 3, 15),
        idempotency_key="all-at-once",
    )  # fmt: skip
    assert loans.get_loan(funded, AUDITOR, repaid.id).loan.status is LoanStatus.CLOSED
    for day in ("2026-03-27", "2026-04-10", "2026-05-01"):
        at(clock, day)
        result = run(funded, inbox)
        assert (result.outcomes, result.loans) == ((), 0)


def test_the_day_is_the_fund_s_near_midnight(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    loan_in(funded, LoanStatus.ACTIVE)
    brussels = UnitOfWork(funded.engine, clock=clock, zone=BRUSSELS)
    clock.now = datetime(2026, 3, 25, 22, 59, tzinfo=UTC)  # 23:59 on 25 March in Brussels
    assert run(brussels, inbox).outcomes == ()
    clock.now = datetime(2026, 3, 25, 23, 0, tzinfo=UTC)  # midnight: 26 March, five days before
    result = run(brussels, inbox)
    assert result.day == date(2026, 3, 26)
    assert [o.kind for o in result.outcomes] == [BEFORE]
    (recorded,) = reminders_of(brussels, AUDITOR, "L000001")
    assert recorded.day == date(2026, 3, 26)


def test_what_a_run_needs_and_who_may_run_it(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    at(clock, "2026-04-10")
    off = ReminderSettings(
        rules=None, fund=fund_eur(), languages=("fr",), public_url="https://x.org"
    )
    with pytest.raises(ValidationError) as refused:
        send_reminders(funded, CASEWORKER, off, None, dry_run=True)
    assert refused.value.key == "err.reminders.off" and "[reminders]" in refused.value.detail
    no_url = ReminderSettings(rules=ReminderRules(), fund=fund_eur(), languages=("fr",))
    with (
        pytest.raises(ValidationError, match="FUNDLEDGER_PUBLIC_URL"),
        SmtpMailer(inbox.settings) as mailer,
    ):
        send_reminders(funded, CASEWORKER, no_url, mailer)
    with pytest.raises(PermissionDenied):
        send_reminders(funded, TREASURER, SETTINGS, None, dry_run=True)


def test_the_letter_says_what_is_late_and_is_recorded_each_time_it_is_printed(
    funded: UnitOfWork, clock: Clock
) -> None:
    loan = loan_in(funded, LoanStatus.ACTIVE)
    at(clock, "2026-04-12")
    printed = reminder_letter(funded, CASEWORKER, SETTINGS, loan.id)
    assert printed.rendered.pdf.startswith(b"%PDF")
    assert printed.file_name == f"{loan.id}-reminder-late-2026-04-12.pdf"
    words = pdf_text(printed.rendered.pdf)
    first = loans.get_loan(funded, AUDITOR, loan.id).installments[0]
    amount = f"{first.amount // 100},{first.amount % 100:02d}"
    assert "Rappel de paiement" in words and "Amina Kebede" in words
    assert amount in words  # the letter, unlike the e-mail, says what is late
    assert "Rue de la Loi 1" in words  # the lease's address: where the person lives
    assert loan.reference.display in words
    r = printed.reminder
    assert (r.kind, r.channel, r.status, r.attempts, r.language) == (
        LATE, ReminderChannel.LETTER, ReminderStatus.PRINTED, 1, "fr"
    )  # fmt: skip
    again = reminder_letter(funded, CASEWORKER, SETTINGS, loan.id)
    assert (again.reminder.id, again.reminder.attempts) == (r.id, 2)
    formal = reminder_letter(funded, CASEWORKER, SETTINGS, loan.id, kind=FORMAL)
    formal_text = pdf_text(formal.rendered.pdf)
    assert "Mise en demeure" in formal_text and "26 avril 2026" in formal_text  # 14 days to act
    assert len(reminders_of(funded, AUDITOR, loan.id)) == 2


def test_no_letter_for_a_loan_not_being_repaid_or_with_nothing_to_remind(
    funded: UnitOfWork, clock: Clock
) -> None:
    signed = loan_in(funded, LoanStatus.CONTRACT_SIGNED)
    with pytest.raises(Conflict) as refused:
        reminder_letter(funded, CASEWORKER, SETTINGS, signed.id)
    assert refused.value.key == "err.reminder.not_active"
    active = loan_in(funded, LoanStatus.ACTIVE)
    at(clock, "2026-03-20")
    with pytest.raises(Conflict) as nothing:
        reminder_letter(funded, CASEWORKER, SETTINGS, active.id, kind=LATE)
    assert nothing.value.key == "err.reminder.nothing"
    with pytest.raises(PermissionDenied):
        reminder_letter(funded, AUDITOR, SETTINGS, active.id)


def test_an_erased_person_cannot_opt_out(funded: UnitOfWork) -> None:
    who = person(funded)
    loans.erase_beneficiary(funded, CASEWORKER, who.id)
    with pytest.raises(Conflict) as refused:
        set_reminders_opt_out(funded, CASEWORKER, who.id, True)
    assert refused.value.key == "err.person.erased"


def test_the_mailer_names_no_address_when_it_fails() -> None:
    refused = smtplib.SMTPRecipientsRefused(
        {"x.y@example.org": (550, b"5.1.1 <x.y@example.org> no")}
    )
    assert error_text(refused) == "recipient refused: 550 5.1.1 <<address>> no"
    assert error_text(OSError("cannot reach z@q.org")) == "OSError: cannot reach <address>"
    assert MailFailed("why").text == "why"


def pdf_text(pdf: bytes) -> str:
    return " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages
    )


def test_links_last_as_long_as_the_settings_say(
    funded: UnitOfWork, clock: Clock, inbox: Inbox
) -> None:
    loan = loan_in(funded, LoanStatus.ACTIVE)
    at(clock, "2026-04-10")
    run(funded, inbox)
    (link,) = access_links.list_links(funded, CASEWORKER, loan.id)
    assert link.expires_at - link.created_at == timedelta(days=30)
