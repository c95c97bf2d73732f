"""Every catalog the project ships is complete and current with the English, and says whether a
translator reviewed it: a new English message, an English message changed without its
translations, or a catalog without a review state fails here (``make catalogs`` says which)."""

from __future__ import annotations

import pytest

from ledger.documents import catalogs
from ledger.documents.i18n import DOMAIN, REMINDERS_DOMAIN, REPORT_DOMAIN, available_languages

#: The staff's languages: the documents and the monthly report exist in each.
STAFF = ("en", "fr", "nl", "de")


def test_the_staff_languages_have_both_domains() -> None:
    assert set(STAFF) <= set(available_languages(DOMAIN))
    assert set(STAFF) <= set(available_languages(REPORT_DOMAIN))


@pytest.mark.parametrize("language", catalogs.languages(DOMAIN))
def test_each_documents_catalog_is_complete_current_and_has_a_review_state(
    language: str,
) -> None:
    found = [str(p) for p in catalogs.problems(language, DOMAIN)]
    assert found == [], "\n".join(found[:20])


def test_every_beneficiary_language_has_its_reminders() -> None:
    """A reminder goes to a beneficiary in their language: a language whose documents are
    translated has its reminders too (else its letters would be in another language)."""
    assert catalogs.languages(REMINDERS_DOMAIN) == catalogs.languages(DOMAIN)


@pytest.mark.parametrize("language", catalogs.languages(REMINDERS_DOMAIN))
def test_each_reminders_catalog_is_complete_current_and_has_a_review_state(
    language: str,
) -> None:
    found = [str(p) for p in catalogs.problems(language, REMINDERS_DOMAIN)]
    assert found == [], "\n".join(found[:20])


@pytest.mark.parametrize("language", [lang for lang in STAFF if lang != "en"])
def test_each_report_catalog_is_complete_current_and_has_a_review_state(language: str) -> None:
    found = [str(p) for p in catalogs.problems(language, REPORT_DOMAIN)]
    assert found == [], "\n".join(found[:20])


def test_the_report_is_in_the_staff_languages_only() -> None:
    assert set(catalogs.languages(REPORT_DOMAIN)) == set(STAFF) - {"en"}
