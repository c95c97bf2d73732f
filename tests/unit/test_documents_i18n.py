"""Document wording: complete catalogs, English fallback that is reported, locale formats."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest
from babel import Locale
from babel.numbers import (
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)

from ledger.documents import i18n
from ledger.documents.i18n import (
    REPORT_DOMAIN,
    Translator,
    available_languages,
    catalog,
    domain_catalog,
    report_catalog,
)
from ledger.documents.model import LEGAL_BASIS
from ledger.domain.loans import DepositForm
from ledger.domain.money import Money, money

TEMPLATES = Path(__file__).resolve().parents[2] / "contracts" / "templates"
REQUIRED = ("en", "fr", "nl", "de")
COUNTRIES = ("BE", "CH", "other")  # a contract's law, court and data protection authority
LAWS = ("EU", "CH")  # the data protection law a privacy notice cites
NOTICE = ("title", "text")


def english() -> Mapping[str, str]:
    messages = catalog("en")
    assert messages is not None
    return messages


def english_report() -> Mapping[str, str]:
    """The report's own messages (its domain alone, without the documents')."""
    messages = domain_catalog("en", REPORT_DOMAIN)
    assert messages is not None
    return messages


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", text))


def test_required_languages_have_catalogs() -> None:
    assert set(REQUIRED) <= set(available_languages())
    assert set(REQUIRED) == set(available_languages(REPORT_DOMAIN)), "the report is for staff"


@pytest.mark.parametrize("language", REQUIRED[1:])
def test_catalog_is_complete_with_the_same_placeholders(language: str) -> None:
    for reference, messages in [
        (english(), catalog(language)),
        (english_report(), domain_catalog(language, REPORT_DOMAIN)),
    ]:
        assert messages is not None
        assert set(messages) == set(reference), "every English message is translated, no extra"
        for msgid, text in messages.items():
            assert placeholders(text) == placeholders(reference[msgid]), msgid


def quoted_messages(template: Path) -> set[str]:
    # Every quoted dotted name is a message id, e.g. t('contract.title') or a prefix
    # completed at run time: t('deposit_form.' ~ form).
    quoted = re.findall(r"'([a-z_]+\.[\w.-]*)'", template.read_text())
    return {q for q in quoted if not q.endswith(".")}


def test_templates_use_only_messages_that_exist() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        if template.name != "report_monthly.html":
            used |= quoted_messages(template)
    used |= {f"deposit_form.{form.value}" for form in DepositForm}
    used |= {f"jurisdiction.{code}" for code in LEGAL_BASIS}
    # The contract's wording chosen by the fund's country and the deposit's holder.
    used |= {f"contract.{what}.{country}" for what in ("law", "court") for country in COUNTRIES}
    used |= {f"contract.privacy.authority.{country}" for country in COUNTRIES}
    used |= {f"contract.privacy.{what}.{law}" for what in ("basis", "special") for law in LAWS}
    used |= {f"contract.notice.{to}.{what}" for to in ("landlord", "bank") for what in NOTICE}
    assert len(used) > 50
    assert used - set(english()) == set(), "the beneficiaries' documents read documents.po only"
    report = quoted_messages(TEMPLATES / "report_monthly.html")
    assert len(report) > 50
    assert report - set(english()) - set(english_report()) == set()


def test_the_report_has_its_own_domain_and_beneficiaries_do_not_get_it() -> None:
    """Staff wording (the monthly report) is not in the catalogs translators of the
    beneficiaries' languages work on; the report reads both domains."""
    assert not [msgid for msgid in english() if msgid.startswith("report.")]
    assert english_report() and all(m.startswith("report.") for m in english_report())
    both = report_catalog("fr")
    assert both is not None
    assert both["report.title"] == "Rapport mensuel du fonds"
    assert both["doc.page"] == (catalog("fr") or {})["doc.page"]
    assert report_catalog("ti") is None  # no report in a beneficiary's language


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
    t = Translator("am", "BE")
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
    # in a left-to-right document the space before a value goes inside it (a break there)
    assert f"Hello<bdi> {long_name}</bdi>" in t("schedule.hello", name=long_name)
    phone = str(t("schedule.help.text", phone="+32 2 000 00 00", email="a@example.org"))
    assert '<bdi class="k"> +32 2 000 00 00</bdi>' in phone


def assert_written_as_the_locale_writes(text: str, value: Money, locale: Locale) -> None:
    """What the product promises of a printed amount, whatever the Babel release: the currency's
    symbol and the locale's own separators from Babel's data, digits grouped by the locale's
    pattern, and the text parses back to the exact amount."""
    symbol = get_currency_symbol(str(value.currency.code), locale=locale)
    assert text.count(symbol) == 1, (text, symbol)
    number = text.replace(symbol, "").strip(" \xa0\u202f")
    group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
    # not strict=True: Babel 2.19's strict check formats through the same unquoting bug
    assert parse_decimal(number, locale=locale) == value.amount, text
    whole, _, cents = number.lstrip("-").partition(decimal)
    assert cents == f"{value.amount:.2f}".split(".")[1], text
    size, more = locale.currency_formats["standard"].grouping
    groups = whole.split(group)
    assert all(g.isdigit() for g in groups), (text, group)
    assert len(groups[-1]) == size or len(groups) == 1, text
    assert all(len(g) == more for g in groups[1:-1]) and 1 <= len(groups[0]) <= more, text
    assert "".join(groups) == str(abs(int(value.amount))), text


READERS = [("fr", "BE"), ("nl", "BE"), ("de", "BE"), ("en", "BE"), ("de-CH", "CH"), ("fr", "CH")]


@pytest.mark.parametrize(("language", "country"), READERS)
@pytest.mark.parametrize("value", ["0.05", "1234.50", "70.83", "1000000.00", "999999999.99"])
@pytest.mark.parametrize("currency", ["EUR", "CHF"])
def test_amounts_in_the_readers_locale_parse_back_exactly(
    language: str, country: str, value: str, currency: str
) -> None:
    t = Translator(language, country)
    amount = money(value, currency)
    assert_written_as_the_locale_writes(t.money(amount), amount, t.locale)


@pytest.mark.parametrize(
    ("language", "country", "locale"),
    [
        (*reader, locale)
        for reader, locale in zip(
            READERS, ["fr_BE", "nl_BE", "de_BE", "en_BE", "de_CH", "fr_CH"], strict=True
        )
    ],
)
def test_dates_in_the_readers_locale(language: str, country: str, locale: str) -> None:
    t = Translator(language, country)
    assert str(t.locale) == locale
    february = t.locale.months["format"]["wide"][2]
    assert february in t.long_date(date(2026, 2, 5)) and "2026" in t.long_date(date(2026, 2, 5))
    assert "5" in t.long_date(date(2026, 2, 5)).replace(february, "")


def test_swiss_amounts_keep_every_group_separator() -> None:
    """Babel 2.19 drops the separators of ``CHF 999'999'999.99`` (the apostrophe is taken for a
    quote): the product groups the digits itself, with the locale's symbol."""
    t = Translator("de", "CH")
    group = get_group_symbol(t.locale)
    assert t.money(money("0.05", "CHF")) == "CHF\xa00.05"
    assert t.money(money("999999999.99", "CHF")) == f"CHF\xa0999{group}999{group}999.99"
    assert t.money(money("-1234567.50", "EUR")) == f"EUR-1{group}234{group}567.50"


@pytest.mark.parametrize(
    ("language", "direction"), [("ar", "rtl"), ("fa", "rtl"), ("fr", "ltr"), ("zh", "ltr")]
)
def test_the_direction_comes_from_the_language_of_the_wording(
    language: str, direction: str
) -> None:
    def own(lang: str) -> Mapping[str, str] | None:
        return {} if lang == language else catalog(lang)

    assert Translator(language, "BE", catalogs=own).direction == direction


def test_a_language_without_catalog_is_english_and_left_to_right() -> None:
    t = Translator("ar", "BE", catalogs=lambda lang: catalog(lang) if lang == "en" else None)
    assert (t.language, t.direction) == ("en", "ltr")


def test_in_right_to_left_wording_values_without_rtl_letters_read_left_to_right() -> None:
    reference = english()
    t = Translator("ar", "BE", catalogs=lambda lang: reference)
    html = str(t("schedule.help.text", phone="+32 2 000 00 00", email="a@example.org"))
    assert '<bdi class="k" dir="ltr">+32 2 000 00 00</bdi>' in html
    assert '<bdi class="k" dir="ltr">a@example.org</bdi>' in html
    assert '<bdi class="k">فاطمة</bdi>' in str(t("schedule.hello", name="فاطمة"))
    assert '<bdi class="k">\u200f1,700.00\xa0€</bdi>' in str(
        t("schedule.hello", name="\u200f1,700.00\xa0€")  # CLDR marked it right to left
    )


# -- the one rule of a beneficiary's documents -------------------------------------------------


def test_a_beneficiary_reads_their_own_language_when_it_has_a_catalog() -> None:
    chosen = i18n.beneficiary_language("fr-CH", "de")
    assert (chosen.language, chosen.region, chosen.translated) == ("fr", "CH", True)
    assert i18n.beneficiary_language("en", "nl").language == "en"


def test_a_beneficiary_without_a_catalog_gets_the_legal_language_never_english() -> None:
    chosen = i18n.beneficiary_language("am", "nl")
    assert (chosen.language, chosen.region, chosen.translated) == ("nl", None, False)
    t = Translator.for_beneficiary("am", "nl", "BE")
    assert (t.language, t.fell_back, str(t.locale)) == ("nl", True, "nl_BE")
    assert t.text("contract.title") == catalog("nl")["contract.title"]  # type: ignore[index]
    assert t.missing == ()  # a complete catalog: nothing came from English
    # The fund's staff still read English for a language without a catalog.
    assert Translator("am", "BE").language == "en"


def test_a_legal_language_without_a_catalog_is_refused() -> None:
    with pytest.raises(ValueError, match="legal language 'xx'"):
        i18n.beneficiary_language("am", "xx")


def test_the_direction_and_language_names_come_from_the_locale() -> None:
    fake = {"ar": {"contract.title": "عقد"}, "en": dict(english())}
    assert Translator("ar", "BE", catalogs=fake.get).direction == "rtl"
    assert Translator("fr", "BE").direction == "ltr"
    assert Translator("fr", "BE").language_name("nl") == "néerlandais"
    assert Translator("de", "CH").language_name("ti-ER") == "Tigrinya"


def test_a_line_of_its_own_is_read_in_the_direction_of_its_letters() -> None:
    t = Translator("ar", "BE")
    assert t.direction == "rtl"
    assert t.direction_of("1000 Bruxelles") == "ltr"  # the address block of an Arabic letter
    assert t.direction_of("شارع النصر 5") == "rtl"
    assert Translator("fr", "BE").direction_of("فاطمة") == "rtl"
