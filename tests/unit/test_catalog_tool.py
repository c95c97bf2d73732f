"""The catalog tool: a translation is current until its English changes, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.documents import catalogs

EN = """msgid ""
msgstr ""
"Language: en\\n"

msgid "greet"
msgstr "Hello %(name)s"

msgid "bye"
msgstr "Goodbye"
"""


@pytest.fixture
def locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(catalogs, "locale_dir", lambda: tmp_path)
    (tmp_path / "en" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "en" / "LC_MESSAGES" / "documents.po").write_text(EN, encoding="utf-8")
    return tmp_path


def what(language: str) -> dict[str, str]:
    return {p.msgid: p.what.split(" ")[0] for p in catalogs.problems(language)}


def translate(language: str, **texts: str) -> None:
    cat = catalogs.load(language)
    for msgid, text in texts.items():
        cat.entries[msgid].msgstr = text
    catalogs.save(cat)


def test_a_new_catalog_lists_every_message_to_translate_and_is_a_draft(locale: Path) -> None:
    catalogs.new("fr")
    assert catalogs.load("fr").review_state == "drafted"
    assert what("fr") == {"greet": "empty", "bye": "empty"}


def test_translated_then_stamped_is_current_until_the_english_changes(locale: Path) -> None:
    catalogs.new("fr")
    translate("fr", greet="Bonjour %(name)s", bye='Au revoir "\\" \u00e0 bient\u00f4t')
    assert what("fr") == {"greet": "unstamped", "bye": "unstamped"}
    assert catalogs.stamp("fr") == 2
    assert what("fr") == {}
    # the file written and read again keeps the text, quotes and backslash included
    assert catalogs.load("fr").entries["bye"].msgstr == 'Au revoir "\\" \u00e0 bient\u00f4t'
    english = locale / "en" / "LC_MESSAGES" / "documents.po"
    english.write_text(EN.replace("Goodbye", "Good bye, see you"), encoding="utf-8")
    assert what("fr") == {"bye": "stale"}
    catalogs.sync("fr")
    assert catalogs.load("fr").entries["bye"].fuzzy
    assert what("fr") == {"bye": "fuzzy"}
    translate("fr", bye="Au revoir, \u00e0 bient\u00f4t")
    catalogs.stamp("fr", msgids=["bye"])
    assert what("fr") == {}


def test_placeholders_extra_messages_and_the_review_header_are_checked(locale: Path) -> None:
    catalogs.new("nl")
    translate("nl", greet="Hallo %(naam)s", bye="Dag")
    catalogs.stamp("nl")
    cat = catalogs.load("nl")
    cat.entries["old"] = catalogs.Entry("old", "oud", source="0123456789")
    cat.header["X-Review-State"] = "reviewed"
    catalogs.save(cat)
    assert what("nl") == {"greet": "placeholders", "old": "extra", "(header)": "a"}
    catalogs.sync("nl")  # drops what English no longer has
    assert "old" not in catalogs.load("nl").entries


def test_stamping_a_catalog_without_a_review_state_makes_it_a_draft(locale: Path) -> None:
    """Catalogs written before the tool (fr, nl, de by the developers) get the draft header."""
    (locale / "de" / "LC_MESSAGES").mkdir(parents=True)
    german = EN.replace("Language: en", "Language: de").replace("Hello", "Hallo")
    (locale / "de" / "LC_MESSAGES" / "documents.po").write_text(
        german.replace("Goodbye", "Auf Wiedersehen"), encoding="utf-8"
    )
    assert what("de")["(header)"] == "X-Review-State"
    assert catalogs.stamp("de") == 2
    cat = catalogs.load("de")
    assert (cat.review_state, cat.reviewed_by, what("de")) == ("drafted", "", {})
    cat.header["X-Review-State"], cat.header["X-Reviewed-By"] = "reviewed", "A. Translator"
    catalogs.save(cat)
    catalogs.stamp("de")  # a review state the catalog has is kept
    assert catalogs.load("de").review_state == "reviewed"
