"""The web application's wording and formats, in each user's language.

Catalogs are ``ledger/web/locale/<lang>/LC_MESSAGES/*.po`` (one file per area of the
application, all read together); message ids are keys (``nav.home``) and English is the
reference and the fallback, as for the documents (``ledger.documents.i18n``). Amounts and dates
go through the same Babel formatting as the documents; times are shown in the fund's zone.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import NumberFormatError, format_decimal, parse_decimal

from ledger.documents.i18n import FALLBACK, Translator, read_messages
from ledger.domain.errors import LedgerError, ValidationError
from ledger.domain.money import Money, minor_digits, money

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"

#: Languages the staff screens are written in (each has a complete catalog).
UI_LANGUAGES = ("fr", "nl", "de", "en")

#: A language's name in that language, for the language menu.
LANGUAGE_NAMES = {"fr": "Français", "nl": "Nederlands", "de": "Deutsch", "en": "English"}


@functools.cache
def web_catalog(language: str) -> Mapping[str, str] | None:
    """Every message of every ``.po`` file of ``language``; None if it has none."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    files = sorted(folder.glob("*.po")) if folder.is_dir() else []
    if not files:
        return None
    messages: dict[str, str] = {}
    for path in files:
        messages.update(read_messages(path, language))
    return messages


def ui_language(preferred: str | None, fund_languages: tuple[str, ...]) -> str:
    """The user's language if the screens have it, else the fund's first that they have."""
    for candidate in (preferred, *fund_languages):
        if candidate in UI_LANGUAGES:
            return candidate
    return FALLBACK


class WebText(Translator):
    """A translator for one request: wording, amounts, dates and times for one user."""

    def __init__(self, language: str, country: str, zone: ZoneInfo) -> None:
        super().__init__(language, country, catalogs=web_catalog)
        self.zone = zone

    def time(self, value: datetime | None) -> str:
        """An instant, in the fund's zone, as the user's locale writes date and time."""
        if value is None:
            return ""
        return str(format_datetime(value.astimezone(self.zone), "medium", locale=self.locale))

    def day(self, value: date | None) -> str:
        return "" if value is None else self.short_date(value)

    def amount(self, value: Money | None) -> str:
        return "" if value is None else self.money(value)

    def number(self, value: Decimal | int) -> str:
        return str(format_decimal(value, locale=self.locale))

    def amount_input(self, value: Money | None) -> str:
        """An amount as the user types it back into a form field: locale's separators, no
        currency, no grouping (``1234,56`` in French)."""
        if value is None:
            return ""
        return str(
            format_decimal(value.amount, format="0.00", locale=self.locale, group_separator=False)
        )

    def refusal(self, exc: LedgerError) -> str:
        """What a service refused, in the user's language: the refusal's message key with its
        values formatted in the user's locale; a refusal without a key (or whose values do not
        fit its message) is said in English, as the API says it."""
        if exc.key is not None and self.has(exc.key):
            try:
                return self.text(exc.key, **{k: self._shown(v) for k, v in exc.params.items()})
            except (KeyError, ValueError, TypeError):
                log.warning("refusal %r: its values do not fit its message", exc.key)
        return exc.detail

    def refusal_title(self, exc: LedgerError) -> str:
        """A refusal's heading for an error page, by its code."""
        key = f"err.title.{exc.code}"
        if not self.has(key):
            key = {403: "err.title.forbidden", 404: "err.title.not-found"}.get(
                exc.status, "err.title.ledger-error"
            )
        return self.text(key)

    def _shown(self, value: object) -> str:
        if isinstance(value, Money):
            return self.amount(value)
        if isinstance(value, datetime):
            return self.time(value)
        if isinstance(value, date):
            return self.day(value)
        if isinstance(value, Enum):
            key = f"status.{value.value}"
            return self.text(key) if self.has(key) else str(value.value)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return self.number(value)
        return str(value)

    def parse_amount(self, text: str, currency: str, field: str) -> Money:
        """What the user typed, read in their locale ("1.234,56" in fr/nl/de), exact; an
        ambiguous or malformed amount is refused, never guessed."""
        example = str(format_decimal(Decimal("1234.56"), format="0.00", locale=self.locale))
        cleaned = "".join(text.split()).replace("\u00a0", "").replace("\u202f", "")
        if not cleaned:
            raise ValidationError(self.text("form.amount_missing"), field)
        try:
            value = parse_decimal(cleaned, locale=self.locale, strict=True)
        except (NumberFormatError, InvalidOperation):
            raise ValidationError(self.text("form.amount_bad", example=example), field) from None
        if not value.is_finite() or value <= 0:
            raise ValidationError(self.text("form.amount_positive"), field)
        digits = minor_digits(currency)
        if value != value.quantize(Decimal(1).scaleb(-digits)):
            raise ValidationError(self.text("form.amount_cents", digits=digits), field)
        return money(value, currency)

    def parse_balance(self, text: str, field: str) -> Decimal:
        """A balance typed in the user's locale: like an amount, but zero or below zero too
        ("-12,50"); at most two decimals. Exact, never guessed."""
        cleaned = "".join(text.split()).replace("\u00a0", "").replace("\u202f", "")
        negative = cleaned.startswith(("-", "\u2212"))
        body = cleaned[1:] if negative else cleaned
        example = str(format_decimal(Decimal("-1234.56"), format="0.00", locale=self.locale))
        try:
            value = parse_decimal(body, locale=self.locale, strict=True)
        except (NumberFormatError, InvalidOperation):
            raise ValidationError(self.text("form.balance_bad", example=example), field) from None
        if not value.is_finite() or value != value.quantize(Decimal("0.01")):
            raise ValidationError(self.text("form.balance_bad", example=example), field)
        return -value if negative else value
