"""Passwords that are common, or contain the username, are refused when set (issue 16, #16)."""

from __future__ import annotations

import pytest

from ledger.domain.errors import ValidationError
from ledger.domain.roles import SYSTEM
from ledger.services import users
from ledger.services.users import COMMON_PASSWORDS, common_password


def test_the_list_is_shipped_with_its_source_and_licence() -> None:
    text = COMMON_PASSWORDS.read_text(encoding="utf-8")
    assert "MIT License" in text and "zxcvbn" in text
    entries = [line for line in text.splitlines() if line and not line.startswith("# ")]
    assert len(entries) == 10_000 and entries[:2] == ["123456", "password"]


@pytest.mark.parametrize(
    "password",
    [
        "1qaz2wsx3edc",
        "Q1W2E3R4T5Y6",
        "password1234",
        "Monkey2024!!!",
        "  starwars 123 ",
        "1q2w3e4r5t6y",
    ],
)
def test_common_passwords_and_common_ones_with_digits_added(password: str) -> None:
    assert common_password(password)


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "a long enough password", "x" * 20]
)
def test_uncommon_passwords(password: str) -> None:
    assert not common_password(password)


class _NoDatabase:
    """The checks run before the unit of work is entered: none is needed."""

    def __enter__(self) -> None:
        raise AssertionError("a refused password reached the database")


@pytest.mark.parametrize(
    ("username", "password", "words"),
    [
        ("rita", "Monkey2024!!!", "most common passwords"),
        ("rita", "my name is RITA, ok?", "must not contain the username"),
        ("marie.dupont", "marie.dupont-1234", "must not contain the username"),
        ("marie.dupont", "the dupont family home", "must not contain the username"),
    ],
)
def test_create_user_and_set_password_refuse_them(username: str, password: str, words: str) -> None:
    for call in (
        lambda: users.create_user(_NoDatabase(), SYSTEM, username, password, "auditor"),  # type: ignore[arg-type]
        lambda: users.set_password(_NoDatabase(), SYSTEM, username, password),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValidationError) as refused:
            call()
        assert refused.value.field == "password"
        assert words in refused.value.detail


def test_a_short_username_inside_a_word_is_not_the_username() -> None:
    users._check_password("correct horse battery staple", "cor")
