"""The fund's profile: a real fund sets its own, the demo's values are refused; secrets stay
secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from ledger.config import PROFILE_SETTINGS, Settings
from ledger.documents.model import FundInfo
from ledger.services.contracts import DocumentSettings

OWN = {
    "fund_name": "Fonds de garantie locative asbl",
    "fund_iban": "BE62510007547061",
    "fund_address": "Rue Haute 12",
    "fund_postcode": "1000",
    "fund_city": "Bruxelles",
    "fund_phone": "+32 2 511 22 33",
    "fund_email": "fonds@garantie.example",
    "fund_legal_language": "fr",
}


@pytest.fixture(autouse=True)
def no_profile_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROFILE_SETTINGS:
        monkeypatch.delenv(f"FUNDLEDGER_{name.upper()}", raising=False)


def test_a_fund_on_every_default_is_told_each_setting_to_set() -> None:
    problems = Settings().profile_problems()
    assert len(problems) == len(PROFILE_SETTINGS)
    for name in PROFILE_SETTINGS:
        assert any(p.startswith(f"FUNDLEDGER_{name.upper()} ") for p in problems), name
    assert any("BE71096123456769" in p for p in problems)  # says what the demo value is


def test_a_fund_with_its_own_profile_has_no_problem() -> None:
    # 1000 Bruxelles is the default too, but a real place: set explicitly, it is accepted
    assert Settings.model_validate(OWN).profile_problems() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("fund_iban", "BE71 0961 2345 6769"),
        ("fund_address", "Rue de l'Exemple 1"),
        ("fund_phone", "+32 2 000 00 00"),
        ("fund_email", "fund@example.org"),
        ("fund_name", "Rental guarantee fund"),
    ],
)
def test_a_demo_value_set_explicitly_is_still_refused(name: str, value: str) -> None:
    problems = Settings.model_validate({**OWN, name: value}).profile_problems()
    assert problems == [
        f"FUNDLEDGER_{name.upper()} is not set (the demo fund's value is "
        f"{Settings.model_fields[name].default!r}): set the fund's own value"
    ]


@pytest.mark.parametrize("name", ["fund_city", "fund_email", "fund_name"])
def test_an_empty_profile_value_is_named(name: str) -> None:
    problems = Settings.model_validate({**OWN, name: "  "}).profile_problems()
    assert problems == [f"FUNDLEDGER_{name.upper()} is empty: set the fund's own value"]


def test_the_profile_read_from_the_environment_counts_as_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in OWN.items():
        monkeypatch.setenv(f"FUNDLEDGER_{name.upper()}", value)
    assert Settings().profile_problems() == []
    monkeypatch.delenv("FUNDLEDGER_FUND_CITY")
    assert [p.split()[0] for p in Settings().profile_problems()] == ["FUNDLEDGER_FUND_CITY"]


def test_the_signing_key_password_is_never_shown(tmp_path: Path) -> None:
    secret = "correct horse battery staple 42"
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'fund.db'}",
        signing_key_file=tmp_path / "fund.p12",
        signing_key_password=SecretStr(secret),
    )
    documents = DocumentSettings.from_settings(settings)
    for shown in (repr(settings), str(settings), repr(documents), str(documents)):
        assert secret not in shown
    assert documents.key_password is not None
    assert documents.key_password.get_secret_value() == secret


def test_the_funds_languages_default_first() -> None:
    settings = Settings(_env_file=None, fund_languages=" de , fr,en ")
    assert settings.languages() == ("de", "fr", "en")
    assert Settings(_env_file=None).languages() == ("fr", "nl", "de", "en")


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("", "comma-separated"),
        ("fr,,en", "comma-separated"),
        ("fr,French", "'French' is not a language tag"),
        ("fr,nl,fr", "listed twice"),
    ],
)
def test_a_bad_language_list_is_refused_with_what_to_write(value: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        Settings(_env_file=None, fund_languages=value)


# -- the contract's legal language, the town's names, the court ----------------------------------


def test_a_real_fund_is_told_to_choose_the_language_its_contracts_bind_in() -> None:
    without = {k: v for k, v in OWN.items() if k != "fund_legal_language"}
    assert Settings.model_validate(without).profile_problems() == [
        "FUNDLEDGER_FUND_LEGAL_LANGUAGE is not set (the demo fund's value is 'fr'): set the "
        "fund's own value"
    ]
    assert Settings.model_validate({**OWN, "fund_legal_language": " NL "}).fund_legal_language == (
        "nl"
    )


@pytest.mark.parametrize("value", ["en", "it", "ti", "french", ""])
def test_a_legal_language_other_than_fr_nl_de_is_refused_saying_which(value: str) -> None:
    with pytest.raises(ValueError, match="set FUNDLEDGER_FUND_LEGAL_LANGUAGE to fr, nl or de"):
        Settings.model_validate({**OWN, "fund_legal_language": value})


def test_the_town_and_the_court_are_written_in_each_language() -> None:
    settings = Settings.model_validate(
        {**OWN, "fund_city_names": "nl=Brussel; de=Brüssel; en=Brussels"}
    )
    fund = FundInfo.from_settings(settings)
    assert [fund.city_in(lang) for lang in ("fr", "nl-BE", "de", "en", "ti")] == [
        "Bruxelles",
        "Brussel",
        "Brüssel",
        "Brussels",
        "Bruxelles",
    ]
    # The court sits in the fund's town unless the profile names another place.
    assert fund.court_in("nl") == "Brussel"
    other = FundInfo.from_settings(
        Settings.model_validate({**OWN, "fund_court": "Nivelles; nl=Nijvel; de=Nivelles"})
    )
    assert (other.court_in("fr"), other.court_in("nl"), other.court_in("en")) == (
        "Nivelles",
        "Nijvel",
        "Nivelles",
    )


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("nl=Brussel; Bruxelles; Brussels", "two names without a language"),
        ("nl=", "is not a language code and a name"),
        ("Dutch=Brussel", "is not a language code and a name"),
        ("nl=Brussel; nl=Brussels", "the language 'nl' is given twice"),
    ],
)
def test_names_the_profile_cannot_read_are_refused_with_how_to_write_them(
    value: str, said: str
) -> None:
    with pytest.raises(ValueError, match=said):
        Settings.model_validate({**OWN, "fund_city_names": value})
