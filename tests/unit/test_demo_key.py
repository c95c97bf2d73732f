"""The demo fund's signing key: made once beside the demo database with a random password kept
next to it (owner-only), never with a password written in the code."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ledger.config import Settings
from ledger.demo import documents as demo_documents
from ledger.demo.documents import DEMO_KEY_NAME, DEMO_KEY_PASSWORD_NAME, demo_settings
from ledger.documents.signing import read_fund_key
from ledger.domain.errors import Conflict


def test_the_demo_key_gets_a_random_password_kept_beside_it(tmp_path: Path) -> None:
    settings = demo_settings(Settings(documents_dir=tmp_path / "demo" / "documents"))
    key, secret = tmp_path / "demo" / DEMO_KEY_NAME, tmp_path / "demo" / DEMO_KEY_PASSWORD_NAME
    assert settings.signing_key_file == key and settings.signing_key_password is not None
    password = settings.signing_key_password.get_secret_value()
    assert secret.read_text(encoding="ascii").strip() == password and len(password) >= 24
    for path in (key, secret):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    read_fund_key(key, password)
    made = key.read_bytes()

    again = demo_settings(Settings(documents_dir=tmp_path / "demo" / "documents"))
    assert again.signing_key_password == settings.signing_key_password
    assert key.read_bytes() == made
    other = demo_settings(Settings(documents_dir=tmp_path / "other" / "documents"))
    assert other.signing_key_password != settings.signing_key_password


def test_a_demo_key_without_its_password_file_is_refused(tmp_path: Path) -> None:
    documents = tmp_path / "demo" / "documents"
    demo_settings(Settings(documents_dir=documents))
    (tmp_path / "demo" / DEMO_KEY_PASSWORD_NAME).unlink()
    with pytest.raises(Conflict, match="delete the demo folder"):
        demo_settings(Settings(documents_dir=documents))


def test_no_password_is_written_in_the_demo_code() -> None:
    source = Path(demo_documents.__file__).read_text(encoding="utf-8")
    assert "password-" not in source and "PASSWORD =" not in source


def test_a_configured_key_is_kept(tmp_path: Path) -> None:
    settings = Settings(documents_dir=tmp_path / "documents", signing_key_file=tmp_path / "k.p12")
    assert demo_settings(settings).signing_key_file == settings.signing_key_file
    assert demo_settings(settings).signing_key_password is None
    assert not (tmp_path / DEMO_KEY_PASSWORD_NAME).exists()


def test_the_demo_town_is_named_in_each_language_unless_the_fund_names_its_own(
    tmp_path: Path,
) -> None:
    demo = demo_settings(Settings(_env_file=None, documents_dir=tmp_path / "demo" / "documents"))
    assert demo.city_names() == {"nl": "Brussel", "de": "Brüssel", "en": "Brussels"}
    liege = demo_settings(
        Settings(_env_file=None, documents_dir=tmp_path / "demo" / "documents", fund_city="Liège")
    )
    assert liege.city_names() == {}
