"""The web application's wording: every key a page uses exists, every language has every key,
placeholders agree, and each catalog says whether a translator reviewed it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from ledger.documents.i18n import read_messages
from ledger.web.i18n import LOCALE_DIR, UI_LANGUAGES, web_catalog

WEB = Path(__file__).resolve().parents[2] / "ledger" / "web"
#: t("key" ...), t.text("key" ...), text.text("key" ...), and "flash.x" keys for redirect(...).
_USED = re.compile(r"""(?:\bt|\.text)\(\s*["']([a-z0-9_]+\.[a-z0-9_.]*)["']\s*(~)?""")
_FLASH = re.compile(r"""["'](flash\.[a-z0-9_]+)["']""")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _sources() -> list[Path]:
    return [*WEB.rglob("*.html"), *WEB.rglob("*.py")]


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        # A literal followed by ~ is a prefix the page completes with a value: marked by "~".
        keys |= {key + ("~" if tilde else "") for key, tilde in _USED.findall(text)}
        keys |= set(_FLASH.findall(text))
    return keys


def test_every_key_a_page_uses_is_in_the_english_catalog() -> None:
    """A literal key must be there; a prefix that a page completes with a value
    (``t("status." ~ loan.status.value)``) must have keys (each value's: tested below or in
    the area's own tests)."""
    english = web_catalog("en") or {}
    missing = sorted(
        k
        for k in used_keys()
        if (
            k not in english
            if not k.endswith("~")
            else not any(e.startswith(k[:-1]) for e in english)
        )
    )
    assert missing == []


def test_keys_built_from_a_prefix_have_every_value() -> None:
    """``t("status." ~ loan.status.value)``: every loan state, role and kind has its words."""
    english = web_catalog("en") or {}
    from ledger.domain.roles import Role
    from ledger.domain.statuses import LoanStatus

    for prefix, values in (("status.", LoanStatus), ("role.", Role)):
        assert [v.value for v in values if f"{prefix}{v.value}" not in english] == []


@pytest.mark.parametrize("language", [lang for lang in UI_LANGUAGES if lang != "en"])
def test_each_language_is_complete_with_the_same_placeholders(language: str) -> None:
    english = web_catalog("en") or {}
    own = web_catalog(language) or {}
    assert sorted(set(english) - set(own)) == []
    assert sorted(set(own) - set(english)) == []
    wrong = [
        key
        for key, text in own.items()
        if sorted(_PLACEHOLDER.findall(text)) != sorted(_PLACEHOLDER.findall(english[key]))
    ]
    assert wrong == []


@pytest.mark.parametrize("language", UI_LANGUAGES)
def test_each_catalog_file_records_its_review(language: str) -> None:
    files = sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))
    assert files
    for path in files:
        head = path.read_text(encoding="utf-8")[:2000]
        assert "X-Translation-Review:" in head, path
        assert read_messages(path, language), path


def test_no_key_is_defined_in_two_files_of_a_language() -> None:
    for language in UI_LANGUAGES:
        seen: dict[str, str] = {}
        for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
            for key in read_messages(path, language):
                assert key not in seen, f"{key} in {seen.get(key)} and {path.name}"
                seen[key] = path.name


def test_the_vendored_htmx_is_the_release_named_in_its_readme() -> None:
    vendor = WEB / "static" / "vendor"
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((vendor / "htmx-2.0.11.min.js").read_bytes()).hexdigest()
    assert f"`{digest}`" in readme
    from ledger.web.render import HTMX

    assert (WEB / "static" / HTMX).is_file()
