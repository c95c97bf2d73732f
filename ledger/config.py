"""Settings, read from environment variables prefixed ``FUNDLEDGER_`` (or a ``.env`` file).

A bad one stops the process with one line a setting (``SettingsInvalid``), not a traceback."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from ledger.config_errors import SettingsInvalid
from ledger.domain.references import is_qr_iban

#: A language as catalogs name it: ISO 639 code, optionally a region or script (de_CH, sr_Latn).
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(_[A-Za-z0-9]{2,8})?")

#: The languages a fund's contracts may be binding in (FUNDLEDGER_FUND_LEGAL_LANGUAGE).
LEGAL_LANGUAGES = ("fr", "nl", "de")

#: The fund's profile: what contracts, schedules and payment QR codes print. A real fund sets
#: each of these itself; their defaults are the demo fund's (``Settings.profile_problems``).
PROFILE_SETTINGS = (
    "fund_name",
    "fund_iban",
    "fund_address",
    "fund_postcode",
    "fund_city",
    "fund_phone",
    "fund_email",
    "fund_legal_language",
)
#: Profile values no real fund has: refused even when set explicitly (a Brussels fund may well
#: be at 1000 Bruxelles, but not at the demo's street, IBAN, phone or e-mail).
DEMO_ONLY = frozenset({"fund_name", "fund_iban", "fund_address", "fund_phone", "fund_email"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUNDLEDGER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///fundledger.db",
        description="SQLAlchemy URL: a SQLite file by default, postgresql+psycopg://...",
    )
    currency: str = Field(default="EUR", description="The fund's currency (ISO 4217)")
    timezone: str = Field(
        default="Europe/Brussels",
        description="The fund's time zone (IANA name): what 'today' is for booking dates, due "
        "dates and the end of a month",
    )
    fund_name: str = Field(default="Rental guarantee fund", max_length=200)
    rules_file: Path | None = Field(
        default=None,
        description="TOML file of the fund's lending rules (ledger/fund/rules_file.py); default "
        "rules when unset",
    )
    chart_file: Path | None = Field(
        default=None, description="TOML chart of accounts used by `fundledger init`"
    )
    demo: bool = Field(
        default=False,
        description="A demo fund, whose profile may keep the demo values (`fundledger demo` "
        "sets it); `fundledger serve` refuses a fund that is not a demo on demo values",
    )
    token_ttl_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    max_request_bytes: int = Field(default=1_000_000, ge=1_000)
    # The staff web application (docs/web.md).
    web_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="A web session ends after this long unused"
    )
    web_session_hours: int = Field(
        default=12, ge=1, le=7 * 24, description="and at the latest this long after sign-in"
    )
    web_secure_cookies: bool = Field(
        default=False,
        description="Send the session cookie only over HTTPS: set it when the fund serves "
        "fundledger behind TLS",
    )
    log_level: str = "INFO"

    # The fund as it appears on contracts, schedules and payment QR codes. The defaults are a
    # demo fund (IBAN BE71 0961 2345 6769 is the IBAN registry's Belgian example).
    fund_iban: str = Field(default="BE71096123456769", description="Account repayments go to")
    fund_bic: str | None = Field(default=None, description="BIC (optional within SEPA)")
    fund_qr_iban: str | None = Field(
        default=None, description="Swiss QR-IBAN; with it, CHF loans are paid with a QR reference"
    )
    fund_creditor_name: str | None = Field(
        default=None, max_length=70, description="Account holder's name; default: fund_name"
    )
    fund_address: str = Field(
        default="Rue de l'Exemple 1",
        max_length=200,
        description="Street and number; several lines separated by ';' or a new line",
    )
    fund_postcode: str = Field(default="1000", max_length=16)
    fund_city: str = Field(default="Bruxelles", max_length=35)
    fund_country: str | None = Field(
        default=None, description="ISO 3166 country code; default: the IBAN's country"
    )
    report_language: str = Field(
        default="en",
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$",
        description="Language of the monthly fund report unless a request names one (en, fr, "
        "nl, de; a language without a catalog gives English, reported)",
    )
    fund_languages: str = Field(
        default="fr,nl,de,en",
        max_length=200,
        description="Languages the fund works in, comma-separated, the first the default: "
        "offered to staff and to beneficiaries (see languages())",
    )
    fund_legal_language: str = Field(
        default="fr",
        description="The language the fund's contracts are binding in: fr, nl or de (a "
        "beneficiary's own language is printed after it as a translation for information)",
    )
    fund_city_names: str = Field(
        default="",
        max_length=400,
        description="The fund's town in other languages, for contracts: "
        "'nl=Brussel; de=Brüssel; en=Brussels' (a language not listed: fund_city as written)",
    )
    fund_court: str = Field(
        default="",
        max_length=400,
        description="Where the competent court sits (BE: the judicial district; CH: the fund's "
        "seat), optionally per language: 'Bruxelles; nl=Brussel; de=Brüssel'; default: the "
        "fund's town",
    )
    fund_retention_years: int = Field(
        default=10,
        ge=1,
        le=30,
        description="How many years after a loan is closed its contract and accounting "
        "records are kept (said in the contract's privacy notice)",
    )
    fund_phone: str = Field(default="+32 2 000 00 00", max_length=40)
    fund_email: str = Field(default="fund@example.org", max_length=254)
    documents_dir: Path | None = Field(
        default=None,
        description="Content-addressed store of contracts and scans; default: documents/ beside "
        "the SQLite file (or in the working directory); see documents_path()",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="PKCS#12 file with the fund's signing key and certificate "
        "(`fundledger keys init` makes one)",
    )
    signing_key_password: SecretStr | None = Field(default=None, description="its password")
    max_upload_bytes: int = Field(
        default=10_000_000, ge=10_000, description="Largest signed scan (PDF) accepted"
    )
    max_signature_image_bytes: int = Field(
        default=300_000, ge=1_000, description="Largest signature drawn on screen (PNG)"
    )
    access_link_days: int = Field(
        default=90, ge=1, le=366, description="Default lifetime of a beneficiary's personal link"
    )

    # Payment reminders (docs/reminders.md): the e-mails go through this SMTP server.
    public_url: str | None = Field(
        default=None,
        max_length=200,
        description="The address beneficiaries open the service at (https://fund.example.org): "
        "a reminder's e-mail carries the person's link under it",
    )
    smtp_host: str | None = Field(default=None, max_length=253, description="SMTP server")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = Field(default=None, max_length=254, description="SMTP login, if any")
    smtp_password: SecretStr | None = Field(default=None, description="its password")
    smtp_from: str | None = Field(
        default=None,
        max_length=254,
        description="The reminders' sender address; default: FUNDLEDGER_FUND_EMAIL",
    )
    smtp_starttls: bool = Field(
        default=True, description="Switch the connection to TLS (STARTTLS) before sending"
    )
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    reminder_link_days: int = Field(
        default=30, ge=1, le=366, description="Lifetime of the personal link a reminder carries"
    )

    # Bank statements (docs/bank.md).
    hash_key: SecretStr | None = Field(
        default=None,
        description="Secret keying the hashes of payers' IBANs (at least 32 characters); "
        "default: read from hash_key_file, which `fundledger init` creates",
    )
    hash_key_file: Path | None = Field(
        default=None, description="File holding the hash key; default: beside the SQLite file"
    )
    max_statement_bytes: int = Field(
        default=50 * 1024 * 1024, ge=10_000, description="Largest statement file accepted"
    )

    def profile_problems(self) -> list[str]:
        """What keeps this fund's profile from being printed on a real contract: each profile
        setting left at its (demo) default, empty, or set to the demo value, with what to do.
        Empty for a complete profile."""
        problems = []
        for name in PROFILE_SETTINGS:
            variable = f"FUNDLEDGER_{name.upper()}"
            value = str(getattr(self, name)).strip()
            default = str(type(self).model_fields[name].default).strip()
            if not value:
                problems.append(f"{variable} is empty: set the fund's own value")
            elif name not in self.model_fields_set or (value == default and name in DEMO_ONLY):
                problems.append(
                    f"{variable} is not set (the demo fund's value is {default!r}): set the "
                    "fund's own value"
                )
        return problems

    def city_names(self) -> dict[str, str]:
        """``fund_city_names`` as {language: name}."""
        return dict(local_names(self.fund_city_names)[1])

    def court_names(self) -> tuple[str, dict[str, str]]:
        """Where the competent court sits: the name printed in any language, and the names
        per language (``fund_court``; by default the fund's town and its names)."""
        if not self.fund_court.strip():
            return self.fund_city, self.city_names()
        default, names = local_names(self.fund_court)
        return default or self.fund_city, dict(names)

    def languages(self) -> tuple[str, ...]:
        """``fund_languages`` as a tuple of language tags, the default first."""
        return tuple(tag.strip() for tag in self.fund_languages.split(","))

    def hash_key_path(self) -> Path:
        """``hash_key_file``, else ``fundledger-hash.key`` beside the SQLite database file (or
        in the working directory)."""
        if self.hash_key_file is not None:
            return self.hash_key_file
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).parent / "fundledger-hash.key"
        return Path("fundledger-hash.key")

    def documents_path(self) -> Path:
        """Where documents are stored: ``documents_dir``, else ``documents/`` beside the SQLite
        database file, else ``documents/`` in the working directory."""
        if self.documents_dir is not None:
            return self.documents_dir
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).parent / "documents"
        return Path("documents")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as Europe/Brussels or "
                "Europe/Zurich"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, url: str) -> str:
        # A plain postgresql:// URL would make SQLAlchemy look for psycopg2; we ship psycopg 3.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
            raise ValueError(
                f"{value!r} is not the address of a site: write it as https://fund.example.org"
            )
        return url

    @field_validator("smtp_host", "smtp_user", "smtp_from")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() if value is not None and value.strip() else None

    @field_validator("fund_iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        value = _valid_iban(value)
        if is_qr_iban(value):
            raise ValueError(
                "this is a QR-IBAN (institution id 30000-31999), paid with Swiss QR references "
                "only: set it as FUNDLEDGER_FUND_QR_IBAN and the account's ordinary IBAN here"
            )
        return value

    @field_validator("fund_qr_iban")
    @classmethod
    def _qr_iban(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = _valid_iban(value)
        if not is_qr_iban(value):
            raise ValueError("a QR-IBAN is a Swiss or Liechtenstein IBAN with IID 30000-31999")
        return value

    @field_validator("fund_bic")
    @classmethod
    def _bic(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return str(stdnum_bic.validate(value))
        except StdnumError as exc:
            raise ValueError(f"{value!r} is not a valid BIC ({exc})") from None

    @field_validator("fund_languages")
    @classmethod
    def _languages(cls, value: str) -> str:
        tags = [tag.strip() for tag in value.split(",")]
        if not tags or not all(tags):
            raise ValueError('list the languages comma-separated, e.g. "fr,nl,de,en"')
        for tag in tags:
            if not _LANGUAGE_TAG.fullmatch(tag):
                raise ValueError(f"{tag!r} is not a language tag such as fr, nl, de or de_CH")
        if len(set(tags)) != len(tags):
            raise ValueError("a language is listed twice")
        return ",".join(tags)

    @field_validator("fund_legal_language")
    @classmethod
    def _legal_language(cls, value: str) -> str:
        code = value.strip().lower()
        if code not in LEGAL_LANGUAGES:
            raise ValueError(
                f"{value!r} is not a language a contract can be binding in: set "
                "FUNDLEDGER_FUND_LEGAL_LANGUAGE to fr, nl or de (the language of the fund's "
                "region that its contracts are made in)"
            )
        return code

    @field_validator("fund_city_names", "fund_court")
    @classmethod
    def _local_names(cls, value: str) -> str:
        local_names(value)  # refuses what it cannot read, saying how to write it
        return value.strip()

    @field_validator("fund_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value.strip()) != 2 or not value.strip().isalpha():
            raise ValueError("fund_country is a two-letter ISO 3166 code such as BE or CH")
        return value.strip().upper()


def local_names(value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A place written for several languages: ``"Bruxelles; nl=Brussel; de=Brüssel"`` is
    ("Bruxelles", (("nl", "Brussel"), ("de", "Brüssel"))); the part without ``=`` is the name
    in any other language (optional). ``ValueError`` says what is wrong and how to write it."""
    default = ""
    names: dict[str, str] = {}
    how = "write it as 'Bruxelles; nl=Brussel; de=Brüssel' (a language code, '=', the name)"
    for part in (p.strip() for p in re.split(r"[;,]", value)):
        if not part:
            continue
        code, equals, name = (s.strip() for s in part.partition("="))
        if not equals:
            if default:
                raise ValueError(f"two names without a language ({default!r}, {part!r}): {how}")
            default = part
        elif not _LANGUAGE_TAG.fullmatch(code) or not name:
            raise ValueError(f"{part!r} is not a language code and a name: {how}")
        elif code in names:
            raise ValueError(f"the language {code!r} is given twice: {how}")
        else:
            names[code] = name
        if len(name or part) > 100:
            raise ValueError(f"{part!r} is longer than 100 characters")
    return default, tuple(names.items())


def _valid_iban(value: str) -> str:
    try:
        return str(stdnum_iban.validate(value))
    except StdnumError as exc:
        raise ValueError(f"{value!r} is not a valid IBAN ({exc})") from None


def settings_problems(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        field = Settings.model_fields.get(name)
        if field is None:
            lines.append(f"FUNDLEDGER_* settings: {message}")
            continue
        about = field.description or ""
        want = f"; set it to {about[:1].lower()}{about[1:]}" if about else ""
        lines.append(f"FUNDLEDGER_{name.upper()}: {message}{want}")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process; ``SettingsInvalid`` (one line a setting) if any is bad."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsInvalid(settings_problems(exc)) from None
