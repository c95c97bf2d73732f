"""Document wording: complete catalogs, English fallback that is reported, locale formats."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest

from ledger.documents import i18n
from ledger.documents.i18n import Translator, available_languages, catalog
from ledger.documents.model import LEGAL_BASIS
from ledger.domain.loans import DepositForm
from ledger.domain.money import money

TEMPLATES = Path(__file__).resolve().parents[2] / "contracts" / "templates"
REQUIRED = ("en", "fr", "nl", "de")


def english() -> Mapping[str, str]:
    messages = catalog("en")
    assert messages is not None
    return messages


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", text))


def test_required_languages_have_catalogs() -> None:
    assert set(REQUIRED) <= set(available_languages())


@pytest.mark.parametrize("language", REQUIRED[1:])
def test_catalog_is_complete_with_the_same_placeholders(language: str) -> None:
    messages = catalog(language)
    assert messages is not None
    assert set(messages) == set(english()), "every English message is translated, no extra"
    for msgid, text in messages.items():
        assert placeholders(text) == placeholders(english()[msgid]), msgid


def test_templates_use_only_messages_that_exist() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        # Every quoted dotted name is a message id, e.g. t('contract.title') or a prefix
        # completed at run time: t('deposit_form.' ~ form).
        quoted = re.findall(r"'([a-z_]+\.[\w.-]*)'", template.read_text())
        used |= {q for q in quoted if not q.endswith(".")}
    used |= {f"deposit_form.{form.value}" for form in DepositForm}
    used |= {f"jurisdiction.{code}" for code in LEGAL_BASIS}
    assert len(used) > 50
    assert used - set(english()) == set()


def test_wording_comes_from_the_readers_catalog() -> None:
    t = Translator("fr", "BE")
    assert t.language == "fr"
    assert t.text("contract.art2.title") == "Article 2 – Ni intérêts, ni frais"
    assert t.missing == ()


@pytest.fixture
def partial_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A language 'xx' that translates two messages, one of them with a broken placeholder."""
    real = i18n.catalog
    fake = {
        "contract.title": "Titre XX",
        "schedule.next": "Payez %(montant)s le %(date)s",  # renamed placeholder
    }
    monkeypatch.setattr(i18n, "catalog", lambda lang: fake if lang == "xx" else real(lang))


@pytest.mark.usefixtures("partial_catalog")
def test_a_missing_or_broken_translation_falls_back_to_english_and_is_reported() -> None:
    t = Translator("xx", "BE")
    assert t.language == "xx" and not t.fell_back
    assert t.text("contract.title") == "Titre XX"
    assert t.text("contract.art2.title") == "Article 2 – No interest, no fees"
    assert t.text("schedule.next", amount="10.00", date="1 May") == ("Please pay 10.00 by 1 May.")
    assert t.missing == ("contract.art2.title", "schedule.next")


def test_unknown_language_is_english_and_every_message_is_reported() -> None:
    t = Translator("ti", "BE")
    assert (t.language, t.fell_back) == ("en", True)
    assert t.text("contract.title") == english()["contract.title"]
    t.text("contract.art2.title")
    assert t.missing == ("contract.title", "contract.art2.title")


@pytest.mark.parametrize("tag", ["", "???", "fr_FR_x", "zz-ZZ"])
def test_malformed_or_unknown_tags_fall_back(tag: str) -> None:
    assert Translator(tag, "BE").language == "en"


def test_english_is_not_reported_as_missing() -> None:
    t = Translator("en-GB", "BE")
    t.text("contract.title")
    assert (t.language, t.missing, t.fell_back) == ("en", (), False)
    assert str(t.locale) == "en_GB"


def test_values_are_escaped_and_isolated() -> None:
    t = Translator("en", "BE")
    html = t("schedule.hello", name="<script>alert(1)</script>")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '<bdi class="k">' in html  # short: kept on one line, isolated for right-to-left names
    long_name = "ناصر " * 20
    assert f"<bdi>{long_name}</bdi>" in t("schedule.hello", name=long_name)


@pytest.mark.parametrize(
    ("language", "country", "amount", "day"),
    [
        ("fr", "BE", "1\u202f234,50\xa0€", "5 février 2026"),
        ("nl", "BE", "€\xa01.234,50", "5 februari 2026"),
        ("de", "BE", "1.234,50\xa0€", "5. Februar 2026"),
        ("en", "BE", "1.234,50\xa0€", "5 February 2026"),
        ("de-CH", "CH", "EUR\xa01’234.50", "5. Februar 2026"),
        ("fr", "CH", "1\u202f234,50\xa0€", "5 février 2026"),
    ],
)
def test_amounts_and_dates_in_the_readers_locale(
    language: str, country: str, amount: str, day: str
) -> None:
    t = Translator(language, country)
    assert t.money(money("1234.50", "EUR")) == amount
    assert t.long_date(date(2026, 2, 5)) == day


def test_swiss_francs_keep_their_cents_exactly() -> None:
    t = Translator("de", "CH")
    assert t.money(money("0.05", "CHF")) == "CHF\xa00.05"
    assert t.money(money("999999999.99", "CHF")) == "CHF\xa0999’999’999.99"
