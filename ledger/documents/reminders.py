"""The payment reminders' wording: the e-mail's text and the printable letter (PDF/A).

Both are in the beneficiary's language, from the ``reminder.*`` messages of the documents'
catalogs (``contracts/templates/locale/<lang>/LC_MESSAGES/reminders.po``), in the tone the fund's
rules set (friendly or neutral). A language with no catalog is written in the fund's first
language that has one (not silently in English): the reminder records the language used.

The e-mail carries the person's first name and their personal link, and nothing about money:
no amount, no date, no history (an e-mail can be read by others, on a shared phone or in a
mailbox a caseworker set up). The letter, printed by staff and given or posted to the person,
says what is late (or the next payment) and how to pay: docs/reminders.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ledger.documents import render
from ledger.documents.i18n import FALLBACK, REMINDERS_DOMAIN, Translator, domain_catalog
from ledger.documents.model import FundInfo
from ledger.documents.payment_qr import epc_payload, epc_svg
from ledger.domain.money import Money
from ledger.domain.references import PaymentReference, ReferenceKind
from ledger.domain.reminders import Tone
from ledger.domain.statuses import ReminderKind


def reminder_language(preferred: str, fund_languages: tuple[str, ...]) -> str:
    """The language a reminder is written in: the person's if the reminders have a catalog
    for it, else the fund's first that has one (English only when none has). A language whose
    documents are translated but whose reminders are not yet gets no half-translated letter."""
    for candidate in (preferred, *fund_languages):
        primary = candidate.replace("_", "-").split("-")[0].lower()
        if primary and domain_catalog(primary, REMINDERS_DOMAIN) is not None:
            return candidate
    return FALLBACK


@dataclass(frozen=True, slots=True)
class ReminderMail:
    """An e-mail reminder's subject and plain text, and the language they are in."""

    language: str
    subject: str
    text: str


def reminder_mail(
    kind: ReminderKind,
    tone: Tone,
    language: str,
    *,
    name: str,
    link: str,
    link_until: date,
    fund: FundInfo,
) -> ReminderMail:
    """The e-mail: the greeting with the first name, what it is about in the fund's tone, the
    link, whom to call; no amount, no date of a payment, no history."""
    t = Translator(language, fund.country)
    paragraphs = [
        t.text(f"reminder.hello.{tone.value}", name=name),
        t.text(f"reminder.{kind.value}.text.{tone.value}"),
    ]
    if kind is not ReminderKind.BEFORE_DUE:
        paragraphs.append(t.text("reminder.already_paid"))
    until = t.text("reminder.mail.link_until", date=t.long_date(link_until))
    paragraphs += [
        f"{t.text('reminder.mail.link')}\n{link}\n{until}",
        t.text("reminder.help", phone=fund.phone, email=fund.email),
        f"{t.text(f'reminder.closing.{tone.value}')}\n{fund.name}",
        t.text("reminder.mail.stop"),
    ]
    return ReminderMail(
        language=t.language,
        subject=t.text(f"reminder.{kind.value}.subject.{tone.value}"),
        text="\n\n".join(paragraphs) + "\n",
    )


#: A formal notice gives the person this many days to pay or call before the fund acts.
NOTICE_DAYS = 14


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderLetter:
    """What a reminder letter says: to whom, about what, and how to pay."""

    loan_id: str
    kind: ReminderKind
    tone: Tone
    language: str
    beneficiary_name: str
    address_lines: tuple[str, ...]  # the lease's address, where the person lives (may be none)
    day: date  # the letter's date
    due_date: date  # the next installment's due date, or the oldest unpaid one's
    amount: Money  # what is left of the next installment, or what is late
    reference: PaymentReference
    fund: FundInfo

    @property
    def deadline(self) -> date | None:
        """The day a formal notice asks the person to pay or call by."""
        if self.kind is not ReminderKind.FORMAL_NOTICE:
            return None
        return self.day + timedelta(days=NOTICE_DAYS)

    @property
    def iban(self) -> str:
        return self.fund.account_for(self.reference)


def render_reminder_letter(letter: ReminderLetter) -> render.Rendered:
    """The letter as a PDF/A, with a SEPA payment QR code for an amount in euros."""
    t = Translator(letter.language, letter.fund.country)
    qr = None
    if (
        letter.amount.currency.code == "EUR"
        and letter.amount.amount > 0
        and letter.reference.kind is not ReferenceKind.QRR
    ):
        qr = epc_svg(epc_payload(letter.fund, letter.amount, letter.reference, letter.loan_id))
    html = render._html(
        "reminder_letter.html",
        t,
        letter.day,
        letter.fund,
        d=letter,
        iban_display=render._iban_display(letter.iban),
        epc_svg=qr,
    )
    pdf, _ = render._pdf(html)
    return render._rendered(pdf, t)
