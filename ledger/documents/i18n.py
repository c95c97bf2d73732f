"""The wording of documents, from gettext catalogs, and amounts and dates in the reader's locale.

Catalogs are the ``.po`` files under ``contracts/templates/locale/<lang>/LC_MESSAGES/``; they are
read (compiled) when first used, so no binary ``.mo`` file can go stale. Message ids are keys
(``contract.art2.text``); the English catalog holds the reference wording and is the fallback:
a message missing, left empty, marked fuzzy or with broken placeholders in the reader's
catalog is taken from English and reported, so a document is never broken.

Two domains: ``documents.po`` holds what beneficiaries read (contract, schedule, page) and
exists in each of their languages; ``report.po`` holds the monthly report's wording, for staff
only (en, fr, nl, de). The report reads both (``report_catalog``).

Which catalog a whole document uses when its reader's language has none depends on the reader:

* a document for the fund's staff (the monthly report) is written in English;
* a document for a beneficiary (their contract, schedule and personal page) is written in the
  fund's legal language, and says that no translation exists yet: ``beneficiary_language`` is
  that one rule, and ``Translator.for_beneficiary`` the translator it gives.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_group_symbol
from markupsafe import Markup, escape

from ledger.config import LEGAL_LANGUAGES as LEGAL_LANGUAGES  # the languages contracts bind in
from ledger.domain.money import Money

log = logging.getLogger(__name__)

FALLBACK = "en"
DOMAIN = "documents"
#: Further catalogs of a language, read with its documents' catalog as one: the payment
#: reminders' wording (e-mails and letters, ``reminders.po``).
REMINDERS_DOMAIN = "reminders"
MORE_DOMAINS = (REMINDERS_DOMAIN,)
REPORT_DOMAIN = "report"
_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?[a-zA-Z%]")
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z0-9]{2,8}))?$")


def contracts_dir() -> Path:
    """``contracts/`` in a checkout, or its copy inside an installed package."""
    import ledger

    package = Path(ledger.__file__).resolve().parent
    for candidate in (package / "_contracts", package.parent / "contracts"):
        if (candidate / "templates").is_dir():
            return candidate
    raise FileNotFoundError("contracts/templates not found next to the ledger package")


def locale_dir() -> Path:
    return contracts_dir() / "templates" / "locale"


@functools.cache
def domain_catalog(language: str, domain: str) -> Mapping[str, str] | None:
    """The translated, non-fuzzy messages of ``language`` in ``domain``, or None if it has no
    catalog there."""
    path = locale_dir() / language / "LC_MESSAGES" / f"{domain}.po"
    if not path.is_file():
        return None
    return read_messages(path, language)


def catalog(language: str) -> Mapping[str, str] | None:
    """The documents' messages of ``language`` (contract, schedule, page) with those of the
    catalogs read beside it (``MORE_DOMAINS``: the reminders), or None if it has no
    documents' catalog."""
    own = domain_catalog(language, DOMAIN)
    if own is None:
        return None
    messages = dict(own)
    for domain in MORE_DOMAINS:
        messages.update(domain_catalog(language, domain) or {})
    return messages


def report_catalog(language: str) -> Mapping[str, str] | None:
    """The monthly report's messages of ``language``: its own domain and the documents' (the
    shared frame), or None if the report has no catalog in that language."""
    own = domain_catalog(language, REPORT_DOMAIN)
    if own is None:
        return None
    return {**(catalog(language) or {}), **own}


def read_messages(path: Path, language: str) -> dict[str, str]:
    """The translated, non-fuzzy messages of one ``.po`` file."""
    with path.open("rb") as f:
        po = read_po(f, locale=language, domain=path.stem)
    return {
        str(m.id): str(m.string)
        for m in po
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
        if not m.fuzzy
    }


#: Where a translator's messages come from: a language's catalog, None if it has none.
Catalogs = Callable[[str], Mapping[str, str] | None]


def available_languages(domain: str = DOMAIN) -> tuple[str, ...]:
    """The languages with a catalog in ``domain``, English included."""
    root = locale_dir()
    return tuple(
        sorted(p.parent.parent.name for p in root.glob(f"*/LC_MESSAGES/{domain}.po") if p.is_file())
    )


def placeholders_of(message: str) -> list[str]:
    """The placeholders of a message, sorted: names, "?" for an unnamed one (``%%`` is none)."""
    return sorted(m.group(1) or "?" for m in _PLACEHOLDER.finditer(message) if m.group(0) != "%%")


def _babel_locale(language: str, region: str | None, country: str) -> Locale:
    """The richest locale Babel knows: language_REGION, then language_<fund country>."""
    for candidate in (f"{language}_{region}" if region else None, f"{language}_{country}"):
        if candidate:
            try:
                return Locale.parse(candidate)
            except (UnknownLocaleError, ValueError):
                continue
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):  # a catalog for a language CLDR does not know
        return Locale.parse(FALLBACK)


_DIGITS = re.compile(r"[0-9]+")


def zone_text(at: datetime) -> str:
    """The zone of an aware time as a reader checks it: its name and its offset from UTC,
    ``CET (UTC+01:00)``, ``CEST (UTC+02:00)``; ``UTC`` alone for UTC. What the contract's
    signature stamps and the monthly report print beside a time."""
    offset = at.utcoffset()
    if offset is None:
        raise ValueError(f"{at.isoformat()} has no time zone: give the time in the fund's zone")
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    utc = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    zone = at.tzname() or utc
    return zone if zone in ("UTC", utc) else f"{zone} ({utc})"


def format_money(value: Money, locale: Locale) -> str:
    """``value`` as the locale writes an amount: its currency pattern, symbols and grouping.

    Babel formats without grouping, then the integer digits are grouped here with the locale's
    own group symbol and sizes. Babel 2.19 unquotes ``'...'`` in the whole formatted text, so
    where the group symbol is an ASCII apostrophe (CLDR 47 for de-CH, fr-CH, it-CH) it dropped
    the separators of every amount with two groups or more ("CHF 999999999.99").
    """
    pattern = locale.currency_formats["standard"]
    text = str(
        format_currency(
            value.amount, str(value.currency.code), locale=locale, group_separator=False
        )
    )
    match = _DIGITS.search(text)
    if match is None:  # every amount has digits; kept as Babel wrote it if not
        return text
    digits, groups = match.group(), list[str]()
    size = pattern.grouping[0]
    while len(digits) > size:
        groups.insert(0, digits[-size:])
        digits = digits[:-size]
        size = pattern.grouping[1]
    groups.insert(0, digits)
    grouped = get_group_symbol(locale, numbering_system="latn").join(groups)
    return text[: match.start()] + grouped + text[match.end() :]


#: A value this short never needs to wrap: keep it on one line (an amount, a date, a phone).
SHORT = 40
_SHORT_VALUE = Markup('<bdi class="k"%s>%s</bdi>')
_VALUE = Markup("<bdi%s>%s</bdi>")
_LTR = Markup(' dir="ltr"')
_SPACE_BEFORE_VALUE = re.compile(r" (<bdi(?: [^>]*)?>)")
#: Letters of the right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko...; their
#: presentation forms) and the marks that ask for right to left (RLM, ALM, RLE, RLO, RLI).
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\u200f\u061c\u202b\u202e\u2067]")


def _isolate(value: object, rtl: bool = False) -> Markup:
    """A value inside a sentence, isolated so a right-to-left name cannot reorder the text.

    In a right-to-left document, a value with nothing right-to-left in it (a phone number, an
    e-mail address, a reference, a Latin name, an amount the locale writes left to right) is
    also set left to right: its groups of digits stay in their order ("+32 2 000 00 00", not
    "00 00 000 2 +32"). A value with right-to-left letters or marks (an Arabic name, a date
    with an Arabic month, an amount CLDR marks right to left) follows the document. A short value
    (an amount, a date, a phone number) stays on one line."""
    text = str(value)
    direction = _LTR if rtl and not _RTL.search(text) else Markup("")
    if len(text) <= SHORT:
        return _SHORT_VALUE % (direction, text)  # kept on one line (print.css: bdi.k)
    return _VALUE % (direction, text)


def _parse_tag(requested: str) -> tuple[str, str | None]:
    """The primary language (lower case, "" if the tag is not one) and region of a tag."""
    match = _TAG.match(requested or "")
    if match is None:
        return "", None
    return match.group(1).lower(), match.group(2).upper() if match.group(2) else None


@dataclass(frozen=True, slots=True)
class ReaderLanguage:
    """The catalog a document for a beneficiary is written in (``beneficiary_language``)."""

    requested: str  # the tag registered for the beneficiary: ti, fr-CH, uk...
    language: str  # the catalog used: the requested language's, else the fund's legal language
    region: str | None  # the requested tag's region, kept when its own catalog is used
    translated: bool  # False: the requested language has no catalog (the document says so)


def beneficiary_language(
    requested: str, legal_language: str, catalogs: Catalogs | None = None
) -> ReaderLanguage:
    """Which language a document a beneficiary reads is in: their own when it has a catalog,
    else the fund's legal language (fr, nl or de), never English by default; a document made
    in the legal language for want of a catalog must say that no translation exists yet
    (``translated`` is then False). English is used only for a beneficiary registered in it."""
    load = catalogs or catalog
    primary, region = _parse_tag(requested)
    if primary and load(primary) is not None:
        return ReaderLanguage(requested, primary, region, True)
    if load(legal_language) is None:
        raise ValueError(f"the fund's legal language {legal_language!r} has no catalog")
    return ReaderLanguage(requested, legal_language, None, False)


class Translator:
    """Wording and formats for one document; remembers which messages fell back to English.

    ``fallback`` is the catalog used when the requested language has none: English for the
    fund's staff; a beneficiary's documents use ``Translator.for_beneficiary``."""

    def __init__(
        self,
        requested: str,
        country: str = "",
        catalogs: Catalogs | None = None,
        *,
        fallback: str = FALLBACK,
    ) -> None:
        load = catalogs or catalog  # the documents' (looked up now: tests replace it)
        self.requested = requested
        self.primary, region = _parse_tag(requested)
        own = load(self.primary) if self.primary else None
        if own is None:
            own = load(fallback)
            if own is None:
                raise ValueError(f"the fallback language {fallback!r} has no catalog")
            # A document in English: every message is reported as missing.
            log.warning("no catalog for language %r: the document is in %r", requested, fallback)
            self.language, region = fallback, None
            self._reported = fallback == FALLBACK
        else:
            self.language = self.primary
            self._reported = False
        self.locale = _babel_locale(self.language, region, country.upper())
        self._own = own
        self._english = load(FALLBACK) or {}
        self._missing: dict[str, None] = {}

    @classmethod
    def for_beneficiary(
        cls,
        requested: str,
        legal_language: str,
        country: str = "",
        catalogs: Catalogs | None = None,
    ) -> Translator:
        """The translator of a document a beneficiary reads (``beneficiary_language``)."""
        chosen = beneficiary_language(requested, legal_language, catalogs)
        return cls(requested, country, catalogs, fallback=chosen.language)

    @property
    def direction(self) -> str:
        """``rtl`` for a language written right to left (Arabic, Persian...), else ``ltr``: the
        document's ``dir`` (CLDR's character order of the language the wording is in)."""
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    @property
    def fell_back(self) -> bool:
        """True when the requested language has no catalog at all."""
        return self.language != self.primary

    def direction_of(self, text: str) -> str:
        """The direction a line of its own (an address line) is read in: ``rtl`` if it has
        right-to-left letters, else ``ltr`` ("1000 Bruxelles" stays so in an Arabic letter)."""
        return "rtl" if _RTL.search(text) else "ltr"

    def language_name(self, code: str) -> str:
        """The name of language ``code`` in this document's language ("néerlandais")."""
        primary, _ = _parse_tag(code)
        return str(self.locale.languages.get(primary) or code)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(self._missing)

    def has(self, msgid: str) -> bool:
        """Whether the message exists at all (in English, the reference catalog)."""
        return msgid in self._english

    def text(self, msgid: str, **values: object) -> str:
        """The message as plain text (for the PDF's title)."""
        template = self._template(msgid, values)
        return template % {k: str(v) for k, v in values.items()}

    def __call__(self, msgid: str, **values: object) -> Markup:
        """The message as HTML: its text escaped, each value escaped and isolated (``<bdi>``)."""
        template = escape(self._template(msgid, values))
        rtl = self.direction == "rtl"
        html = template % {k: _isolate(v, rtl) for k, v in values.items()}
        if rtl:
            return html
        # The space before a value goes inside its <bdi>: WeasyPrint, when a value does not
        # fit at the end of a line, breaks the line at its first break opportunity instead of
        # at that space ("L'emprunteur" alone on a line before a phone number); a space that
        # starts the box is a break opportunity inside it. (In a right-to-left document the
        # space would land on the wrong side of a left-to-right value: left as it is.)
        return Markup(_SPACE_BEFORE_VALUE.sub(r"\1 ", str(html)))  # noqa: S704 - escaped above

    def _template(self, msgid: str, values: Mapping[str, object]) -> str:
        """The reader's wording if it is there and its placeholders work, else English."""
        english = self._english.get(msgid, msgid)
        own = self._own.get(msgid)
        if self._reported:  # English for a language without a catalog: reported as missing
            own = None
        if own is not None:
            if placeholders_of(own) == placeholders_of(english):
                try:
                    own % {k: "" for k in values}
                    return own
                except (KeyError, ValueError, TypeError):
                    pass
            log.warning("message %r in %r has wrong placeholders", msgid, self.language)
        self._missing[msgid] = None
        return english

    def money(self, value: Money) -> str:
        return format_money(value, self.locale)

    def long_date(self, value: date) -> str:
        return str(format_date(value, "long", locale=self.locale))

    def short_date(self, value: date) -> str:
        return str(format_date(value, "medium", locale=self.locale))
