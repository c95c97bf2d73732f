"""Sending e-mail: the payment reminders' (docs/reminders.md), over SMTP with the standard
library (``smtplib``, ``email.message.EmailMessage``).

A ``Mailer`` sends one message or raises ``MailFailed``, whose text says why without any
address in it: the reminders table keeps it and the log prints it, and neither may hold
personal data. ``SmtpMailer`` keeps one connection for a run of many messages, opened at the
first one (with STARTTLS and a login when the settings ask for them), opened again after the
server dropped it, and closed at the end of the ``with`` block.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ledger.config import Settings

#: Anything that looks like an e-mail address, in a server's answer (``<a@b.org>``).
_ADDRESS = re.compile(r"[^\s<>\"'@]+@[^\s<>\"'@]+")
MAX_ERROR = 500


class MailFailed(Exception):
    """A message was not sent; ``text`` says why, with every address blanked out."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def error_text(exc: BaseException) -> str:
    """Why sending failed, as the server or the network said it, without addresses."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = sorted({_reply(code, msg) for code, msg in exc.recipients.values()})
        text = "recipient refused: " + "; ".join(answers)
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"{type(exc).__name__}: {_reply(exc.smtp_code, exc.smtp_error)}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return _ADDRESS.sub("<address>", text)[:MAX_ERROR]


def _reply(code: int, message: bytes | str) -> str:
    words = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(words.split())}"


class Mailer(Protocol):
    """Sends a message, or raises ``MailFailed``."""

    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to hand messages over: ``FUNDLEDGER_SMTP_*``."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings:
        if not settings.smtp_host:
            raise ValueError(
                "FUNDLEDGER_SMTP_HOST is not set: name the mail server reminders are sent "
                "through (and FUNDLEDGER_SMTP_PORT, _USER, _PASSWORD, _STARTTLS as it needs)"
            )
        password = settings.smtp_password
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=password.get_secret_value() if password is not None else None,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )


class SmtpMailer:
    """A mailer over one SMTP connection for a run (``with SmtpMailer(...) as mailer``)."""

    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp
        self._conn: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        conn = smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout)
        try:
            if self.smtp.starttls:
                conn.starttls(context=ssl.create_default_context())
            if self.smtp.user:
                conn.login(self.smtp.user, self.smtp.password or "")
        except BaseException:
            conn.close()
            raise
        return conn

    def send(self, message: EmailMessage) -> None:
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise MailFailed(error_text(exc)) from None  # the connection is still good
        except (smtplib.SMTPException, OSError) as exc:
            self.close()  # dropped, or in a state unknown: the next message connects again
            raise MailFailed(error_text(exc)) from None

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()
