"""Payment references: Belgian structured communication, ISO 11649 RF, Swiss QR reference."""

from __future__ import annotations

import pytest
from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.ch import esr

from ledger.domain.errors import ValidationError
from ledger.domain.references import (
    MAX_LOAN_NUMBER,
    PaymentReference,
    ReferenceKind,
    find_reference,
    ogm_reference,
    parse_reference,
    qrr_reference,
    reference_for,
    rf_reference,
)

# -- Belgian structured communication (OGM/VCS) ----------------------------------------------


@pytest.mark.parametrize(
    ("number", "value", "display"),
    [
        (1, "000000000101", "+++000/0000/00101+++"),
        (42, "000000004242", "+++000/0000/04242+++"),
        (1234567890, "123456789002", "+++123/4567/89002+++"),
        (9999999999, "999999999948", "+++999/9999/99948+++"),
    ],
)
def test_ogm_check_digits_and_display(number: int, value: str, display: str) -> None:
    ref = ogm_reference(number)
    assert ref == PaymentReference(ReferenceKind.OGM, value)
    assert ref.display == display
    assert int(value[:10]) % 97 == int(value[10:])


@pytest.mark.parametrize("number", [97, 194, 9_999_999_951])
def test_ogm_remainder_zero_gives_97(number: int) -> None:
    assert number % 97 == 0
    ref = ogm_reference(number)
    assert ref.value.endswith("97")
    assert ref.value == f"{number:010d}97"
    assert ogm_vcs.is_valid(ref.value)


@pytest.mark.parametrize(
    "text",
    [
        "+++000/0000/00101+++",
        "***000/0000/00101***",
        "000/0000/00101",
        "000000000101",
        "  +++000 / 0000 / 00101+++ ",
    ],
)
def test_ogm_written_in_every_usual_way(text: str) -> None:
    assert parse_reference(text) == ogm_reference(1)


@pytest.mark.parametrize(
    "text",
    [
        "+++000/0000/00102+++",  # wrong check digits
        "+++000/0000/01001+++",  # two digits swapped
        "+++100/0000/00101+++",  # a digit changed
    ],
)
def test_ogm_typos_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="typing error") as err:
        parse_reference(text)
    assert err.value.field == "reference"


# -- ISO 11649 creditor reference ------------------------------------------------------------


@pytest.mark.parametrize("number", [1, 42, 97, 1234567890, MAX_LOAN_NUMBER])
def test_rf_is_valid_per_iso_11649(number: int) -> None:
    ref = rf_reference(number)
    assert ref.kind is ReferenceKind.RF
    assert iso11649.is_valid(ref.value)
    assert ref.value.startswith("RF") and ref.value.endswith(f"{number:010d}")
    # ISO 11649: move "RF" + check digits to the end, letters to numbers (R=27, F=15): mod 97 = 1
    rearranged = ref.value[4:] + "2715" + ref.value[2:4]
    assert int(rearranged) % 97 == 1


def test_rf_known_value_and_display() -> None:
    assert rf_reference(1).value == "RF740000000001"
    assert rf_reference(1).display == "RF74 0000 0000 01"
    # The example of the standard itself.
    assert parse_reference("RF18 5390 0754 7034") == PaymentReference(
        ReferenceKind.RF, "RF18539007547034"
    )


@pytest.mark.parametrize("text", ["RF740000000001", "rf74 0000 0000 01", " RF74-0000-0000-01 "])
def test_rf_written_in_every_usual_way(text: str) -> None:
    assert parse_reference(text) == rf_reference(1)


@pytest.mark.parametrize("text", ["RF750000000001", "RF740000000010", "RF74000000000l", "RF"])
def test_rf_typos_refused(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_reference(text)
    assert err.value.field == "reference"


# -- Swiss QR reference ----------------------------------------------------------------------


def test_qrr_keeps_all_27_digits_with_leading_zeros() -> None:
    ref = qrr_reference(1)
    assert ref.value == "000000000000000000000000011"
    assert len(ref.value) == 27
    assert esr.is_valid(ref.value)
    assert ref.display == "00 00000 00000 00000 00000 00011"
    # python-stdnum's own compact form drops the zeros; ours does not.
    assert esr.compact(ref.value) == "11"
    assert parse_reference(ref.display) == ref
    assert parse_reference(ref.value) == ref


def test_qrr_with_customer_prefix() -> None:
    ref = qrr_reference(1234567890, "123456")
    assert len(ref.value) == 27
    assert ref.value.startswith("123456")
    assert ref.value[16:26] == "1234567890"
    assert esr.is_valid(ref.value)
    assert parse_reference(ref.value) == ref
    with pytest.raises(ValidationError):
        qrr_reference(1, "12a")
    with pytest.raises(ValidationError):
        qrr_reference(1, "1" * 17)


def test_qrr_typo_refused() -> None:
    good = qrr_reference(1234).value
    typo = good[:-2] + str((int(good[-2]) + 1) % 10) + good[-1]
    with pytest.raises(ValidationError, match="typing error"):
        parse_reference(typo)


# -- generation and parsing in general -------------------------------------------------------


@pytest.mark.parametrize("kind", list(ReferenceKind))
@pytest.mark.parametrize("number", [1, 97, 5_000, MAX_LOAN_NUMBER])
def test_every_reference_parses_back_from_its_display(kind: ReferenceKind, number: int) -> None:
    ref = reference_for(kind, number)
    assert ref.kind is kind
    assert parse_reference(ref.display) == ref
    assert parse_reference(ref.value) == ref


@pytest.mark.parametrize("number", [0, -1, MAX_LOAN_NUMBER + 1])
def test_loan_number_out_of_range(number: int) -> None:
    for make in (ogm_reference, rf_reference, qrr_reference):
        with pytest.raises(ValidationError):
            make(number)


@pytest.mark.parametrize("number", [True, 1.0, "1"])
def test_loan_number_must_be_an_int(number: object) -> None:
    with pytest.raises(TypeError):
        ogm_reference(number)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "12345", "hello", "+++000/0000/001+++", "1" * 20])
def test_not_a_reference(text: str) -> None:
    with pytest.raises(ValidationError, match=r"not a payment reference|not valid"):
        parse_reference(text)


def test_parse_refuses_non_text() -> None:
    with pytest.raises(ValidationError):
        parse_reference(101)  # type: ignore[arg-type]


# -- finding a reference in a bank's free text -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Loyer mars +++000/0000/00101+++ merci", ogm_reference(1)),
        ("Loyer mars ***000/0000/00101*** merci", ogm_reference(1)),
        ("Loyer +++ 000 / 0000 / 00101 +++", ogm_reference(1)),
        ("virement 000000000101 avril", ogm_reference(1)),
        ("ref RF74 0000 0000 01 thanks", rf_reference(1)),
        ("ref RF740000000001 thanks", rf_reference(1)),
        ("ref rf74 0000 0000 01", rf_reference(1)),
        (
            "payment RF18 5390 0754 7034 for May",
            PaymentReference(ReferenceKind.RF, "RF18539007547034"),
        ),
        ("Zahlung 000000000000000000000000011 Mai", qrr_reference(1)),
        ("Zahlung 00 00000 00000 00000 00000 00011 Mai", qrr_reference(1)),
    ],
)
def test_find_reference_in_free_text(text: str, expected: PaymentReference) -> None:
    assert find_reference(text) == expected


def test_find_reference_skips_an_invalid_candidate() -> None:
    # The first 12-digit number has wrong check digits; the second is the loan's.
    assert find_reference("invoice 123456789012 ref +++000/0000/00101+++") == ogm_reference(1)


@pytest.mark.parametrize(
    "text", ["", "no reference here", "call 0470 12 34 56", "+++000/0000/00102+++"]
)
def test_find_reference_finds_nothing(text: str) -> None:
    assert find_reference(text) is None
