"""Where money received for a written-off loan goes (issue 16): ``receipt_on_written_off``."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.loans import WrittenOffReceipt, receipt_on_written_off

WROTE_OFF = date(2026, 6, 15)


def test_recovery_is_capped_at_the_loss_not_yet_recovered() -> None:
    # The case: written off at 916.67, 35.00 recovered, a release of 1,000.00.
    got = receipt_on_written_off(
        100_000, on=date(2026, 7, 1), written_off_on=WROTE_OFF, written_off=91_667, recovered=3_500
    )
    assert got == WrittenOffReceipt(to_loan=0, to_recovery=88_167, to_credit=11_833)


def test_on_the_write_off_day_it_is_a_recovery() -> None:
    got = receipt_on_written_off(
        5_000, on=WROTE_OFF, written_off_on=WROTE_OFF, written_off=10_000, recovered=0
    )
    assert got == WrittenOffReceipt(0, 5_000, 0)


def test_before_the_write_off_it_repays_and_frees_recoveries_beyond_the_smaller_loss() -> None:
    got = receipt_on_written_off(
        148_000,
        on=date(2026, 5, 31),
        written_off_on=WROTE_OFF,
        written_off=150_000,
        recovered=3_500,
    )
    assert got == WrittenOffReceipt(
        to_loan=148_000, to_recovery=0, to_credit=0, recovery_to_credit=1_500
    )
    beyond = receipt_on_written_off(
        5_000, on=date(2026, 6, 1), written_off_on=WROTE_OFF, written_off=2_000, recovered=2_000
    )
    assert beyond == WrittenOffReceipt(2_000, 0, 3_000, 2_000)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="not negative"):
        receipt_on_written_off(
            -1, on=WROTE_OFF, written_off_on=WROTE_OFF, written_off=0, recovered=0
        )
