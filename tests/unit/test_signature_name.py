"""The name a beneficiary types to sign on screen against the name registered for them."""

from __future__ import annotations

import pytest

from ledger.domain.beneficiaries import name_words, same_name

REGISTERED = "Olena Kovalenko / Олена Коваленко"


@pytest.mark.parametrize(
    ("typed", "registered"),
    [
        ("Amina Haile", "Amina Haile"),
        ("amina  HAILE", "Amina Haile"),  # capitals and spaces
        (" Haile Amina ", "Amina Haile"),  # family name first
        ("Helene Dupont-Moreau", "Hélène Dupont-Moreau"),  # no accents on the keyboard
        ("Hélène Dupont Moreau", "Hélène Dupont-Moreau"),  # a space for the hyphen
        ("Yusuf O'Brien", "Yusuf O\u2019Brien"),  # straight or curly apostrophe
        ("Soren Kjaer", "Søren Kjær"),  # letters a keyboard may not have
        ("Olena Kovalenko", REGISTERED),  # either script of a name written in two
        ("олена коваленко", REGISTERED),
        (REGISTERED, REGISTERED),
        ("Amina Haile", "Amina  Haile "),
        ("ሳባ ገብረ", "ሳባ ገብረ"),  # Ethiopic
        ("محمد علي", "مُحَمَّد علي"),  # Arabic, without its vowel marks
        ("علی کریمی", "علي كريمي"),  # on a Persian keyboard: ی and ک for ي and ك
        ("فاطمه", "فاطمة"),  # heh for teh marbuta
        ("میکنم", "می\u200cکنم"),  # without the zero-width non-joiner
    ],
)
def test_the_same_name_written_differently_matches(typed: str, registered: str) -> None:
    assert same_name(typed, registered)


@pytest.mark.parametrize(
    ("typed", "registered"),
    [
        ("Amina", "Amina Haile"),  # a word missing
        ("Amina B. Haile", "Amina Haile"),  # a word added
        ("Amina Hailé Kebede", "Amina Haile"),
        ("Amina Kebede", "Amina Haile"),  # someone else
        ("Olena", REGISTERED),
        ("Olena Коваленко", REGISTERED),  # half of each form is neither
        ("", "Amina Haile"),
        (" - . ", "Amina Haile"),  # no word at all
        ("Amina Haile", ""),
    ],
)
def test_another_name_does_not_match(typed: str, registered: str) -> None:
    assert not same_name(typed, registered)


def test_the_words_compared() -> None:
    assert name_words("  Jean-Éric  D'Ávila ") == ("jean", "eric", "d", "avila")
    assert name_words("Straße") == ("strasse",)
