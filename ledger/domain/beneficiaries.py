"""Beneficiaries' personal data: the minimum a caseworker needs, kept apart from the ledger.

The ledger and the loans know a beneficiary only by an opaque id. The fields below are
special-category data (the people are victims of crime): only caseworkers and admins see them,
every read is audited, and they can be erased once no loan is open.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, fields
from datetime import date

from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from ledger.domain.errors import ValidationError
from ledger.domain.money import Money, to_minor

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,185}\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,40}$")
_ID_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def new_beneficiary_id() -> str:
    """An opaque id that says nothing about the person: 'B' + 12 random characters."""
    return "B" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def checked_iban(value: str | None, field: str) -> str | None:
    """An IBAN checked (country format and check digits) and normalised (no spaces, capitals);
    None or blank stays None."""
    if value is None or not value.strip():
        return None
    try:
        return str(stdnum_iban.validate(value))
    except StdnumError as exc:
        raise ValidationError(
            f"{value!r} is not a valid IBAN ({exc}); copy it again from the bank details",
            field,
        ) from None


@dataclass(frozen=True, slots=True)
class PersonalData:
    full_name: str
    preferred_language: str = "fr"
    email: str | None = None
    phone: str | None = None
    residence_status: str | None = None
    permit_end_date: date | None = None
    monthly_net_income: Money | None = None
    household_size: int | None = None
    own_savings: Money | None = None
    iban: str | None = None  # where a refund of the person's credit is paid

    def __post_init__(self) -> None:
        name = self.full_name.strip() if isinstance(self.full_name, str) else ""
        if not name:
            raise ValidationError("the beneficiary's name must not be empty", "full_name")
        if len(name) > 200:
            raise ValidationError("the name is longer than 200 characters", "full_name")
        object.__setattr__(self, "full_name", name)
        if not isinstance(self.preferred_language, str) or not _LANGUAGE.match(
            self.preferred_language
        ):
            raise ValidationError(
                "preferred language must be a language code such as fr, nl, en, ar or ti",
                "preferred_language",
            )
        if self.email is not None and not _EMAIL.match(self.email):
            raise ValidationError("this is not an e-mail address", "email")
        if self.phone is not None and not _PHONE.match(self.phone):
            raise ValidationError("a phone number has 6 to 40 digits, spaces or +()./-", "phone")
        if self.residence_status is not None and len(self.residence_status) > 64:
            raise ValidationError(
                "residence status is longer than 64 characters", "residence_status"
            )
        for name_, value in (
            ("monthly_net_income", self.monthly_net_income),
            ("own_savings", self.own_savings),
        ):
            if value is not None and to_minor(value) < 0:
                raise ValidationError(f"{name_} must not be negative", name_)
        if self.household_size is not None and not 1 <= self.household_size <= 30:
            raise ValidationError("household size must be between 1 and 30", "household_size")
        object.__setattr__(self, "iban", checked_iban(self.iban, "iban"))


PERSONAL_FIELDS = tuple(f.name for f in fields(PersonalData))


@dataclass(frozen=True, slots=True)
class Beneficiary:
    id: str
    currency: str
    personal: PersonalData | None  # None once erased, or for a role that may not see it
    erased: bool
    reminders_opt_out: bool = False  # asked for no payment reminders by e-mail


#: What separates the words of a name: spaces, hyphens and dashes, apostrophes, dots, commas,
#: and the slash between the forms of a name written in two scripts.
_NAME_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015'\u2018\u2019\u02bc`.,/]+")
#: Latin letters a keyboard may not have, written as their nearest plain letters; the letters
#: Arabic and Persian keyboards write differently (ي/ی, ك/ک, ة/ه) as one; the marks that only
#: join or stretch letters (zero-width non-joiner and joiner, tatweel) dropped.
_PLAIN_LETTERS = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "\u064a": "\u06cc",  # Arabic yeh -> Farsi yeh
        "\u0649": "\u06cc",  # alef maksura -> Farsi yeh
        "\u0643": "\u06a9",  # Arabic kaf -> keheh
        "\u0629": "\u0647",  # teh marbuta -> heh
        "\u06c0": "\u0647",  # heh with yeh above -> heh
        "\u200c": None,
        "\u200d": None,
        "\u0640": None,
    }
)


class NameMismatch(ValidationError):
    """The name typed to sign is not the name registered for the beneficiary."""

    code = "name-mismatch"
    title = "Name does not match"


def name_words(name: str) -> tuple[str, ...]:
    """The words of a name as compared: case, accents and punctuation dropped, in order."""
    text = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in text if not unicodedata.combining(c)).translate(_PLAIN_LETTERS)
    return tuple(w for w in _NAME_SEPARATORS.split(plain) if w)


def same_name(typed: str, registered: str) -> bool:
    """Whether the name a beneficiary typed (to sign on screen) is the name registered for them.

    The same words, whatever the capitals, accents (Helene for Hélène), hyphens, apostrophes,
    spaces and the order of first and family names; a registered name written in two scripts,
    separated by a slash ("Olena Kovalenko / Олена Коваленко"), is matched by either form or by
    both. Words missing or added (a middle name, an initial) do not match."""
    typed_words = sorted(name_words(typed))
    if not typed_words:
        return False
    forms = (registered, *registered.split("/"))
    return any(sorted(name_words(form)) == typed_words for form in forms)
