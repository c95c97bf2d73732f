"""Which payment reminder a loan is due on a day (ledger.domain.reminders), from its schedule,
payments and arrears: the edges of each window, payments that clear or reopen arrears."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ledger.domain.arrears import LoanHistory, ScheduleVersion, TimedPayment
from ledger.domain.reminders import (
    DueReminder,
    ReminderRules,
    first_name,
    letter_for,
    reminder_due,
    standing_on,
)
from ledger.domain.repayment import DueAmount, PaymentEvent
from ledger.domain.statuses import ReminderKind

RULES = ReminderRules(before_due_days=5, late_days=10, formal_notice_days=30)
PAID_OUT = date(2026, 3, 15)
DUES = (date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30))
BEFORE, LATE, FORMAL = ReminderKind.BEFORE_DUE, ReminderKind.LATE, ReminderKind.FORMAL_NOTICE


def day(text: str) -> date:
    return date.fromisoformat(text)


def history(
    *payments: tuple[str, int] | tuple[str, int, str],
    written_off_on: date | None = None,
    schedules: tuple[ScheduleVersion, ...] | None = None,
) -> LoanHistory:
    """A loan of 4 x 100.00 paid out on 15 March; payments (value date, minor[, reversed on])."""
    timed = tuple(
        TimedPayment(
            PaymentEvent(n, day(p[0]), p[1]),
            day(p[2]) if len(p) == 3 else None,
        )
        for n, p in enumerate(payments, start=1)
    )
    plan = (
        ScheduleVersion(1, PAID_OUT, tuple(DueAmount(n, d, 10_000) for n, d in enumerate(DUES, 1))),
    )
    return LoanHistory(
        loan_id="L000001",
        currency="EUR",
        caseworker="carl",
        paid_out_on=PAID_OUT,
        written_off_on=written_off_on,
        schedules=schedules or plan,
        payments=timed,
    )


def due_on(h: LoanHistory, text: str, rules: ReminderRules = RULES) -> DueReminder | None:
    return reminder_due(standing_on(h, day(text)), rules)


def kind_on(h: LoanHistory, text: str, rules: ReminderRules = RULES) -> tuple[str, str] | None:
    found = due_on(h, text, rules)
    return None if found is None else (found.kind.value, found.due_date.isoformat())


def test_the_friendly_one_comes_k_days_before_and_until_the_day_before_the_due_date() -> None:
    h = history()
    assert kind_on(h, "2026-03-25") is None  # six days before
    assert kind_on(h, "2026-03-26") == ("before_due", "2026-03-31")  # five days before
    assert kind_on(h, "2026-03-30") == ("before_due", "2026-03-31")  # a missed day caught up
    assert kind_on(h, "2026-03-31") is None  # due today: not before, not late yet


def test_nothing_before_a_due_date_when_the_rules_say_zero_days() -> None:
    no_before = ReminderRules(before_due_days=0, late_days=10, formal_notice_days=30)
    assert kind_on(history(), "2026-03-30", no_before) is None
    assert kind_on(history(), "2026-04-10", no_before) == ("late", "2026-03-31")


def test_late_exactly_n_days_then_the_formal_notice_at_m_days() -> None:
    h = history()
    assert kind_on(h, "2026-04-01") is None  # one day late: too early for a reminder
    assert kind_on(h, "2026-04-09") is None  # nine days
    found = due_on(h, "2026-04-10")
    assert found == DueReminder("L000001", LATE, day("2026-03-31"), 10)
    assert kind_on(h, "2026-04-29") == ("late", "2026-03-31")  # 29 days: still the late one
    # 30 days: the formal notice; the next installment due today does not start an episode.
    assert due_on(h, "2026-04-30") == DueReminder("L000001", FORMAL, day("2026-03-31"), 30)
    assert kind_on(h, "2026-06-20") == ("formal_notice", "2026-03-31")  # as long as it lasts


def test_no_friendly_word_about_the_next_installment_while_one_is_late() -> None:
    h = history()
    assert kind_on(h, "2026-04-27") == ("late", "2026-03-31")  # not before_due for 30 April
    assert kind_on(h, "2026-04-03") is None  # late three days: nothing yet, and no before_due


def test_a_payment_in_advance_leaves_nothing_to_remind_until_the_next_installment() -> None:
    h = history(("2026-03-20", 10_000))
    assert kind_on(h, "2026-03-28") is None
    assert kind_on(h, "2026-04-25") == ("before_due", "2026-04-30")


def test_a_part_paid_installment_is_still_reminded() -> None:
    h = history(("2026-03-20", 4_000))
    assert kind_on(h, "2026-03-28") == ("before_due", "2026-03-31")
    standing = standing_on(h, day("2026-03-28"))
    assert standing is not None and standing.next_unpaid() is not None
    assert standing.next_unpaid().left == 6_000  # type: ignore[union-attr]
    assert kind_on(h, "2026-04-10") == ("late", "2026-03-31")
    assert standing_on(h, day("2026-04-10")).overdue == 6_000  # type: ignore[union-attr]


def test_a_payment_that_clears_the_arrears_stops_the_late_reminders() -> None:
    h = history(("2026-04-12", 10_000))
    assert kind_on(h, "2026-04-11") == ("late", "2026-03-31")
    assert kind_on(h, "2026-04-12") is None
    assert kind_on(h, "2026-04-24") is None  # no late one any more, the next not yet near
    assert kind_on(h, "2026-04-25") == ("before_due", "2026-04-30")


def test_a_backdated_payment_counts_from_its_value_date() -> None:
    """A payment booked late with a value date before the due date: the loan was never late."""
    h = history(("2026-03-30", 10_000))
    assert kind_on(h, "2026-04-10") is None
    assert kind_on(h, "2026-04-30") is None


def test_a_bounced_payment_reopens_the_arrears_from_the_day_it_is_reversed() -> None:
    h = history(("2026-03-30", 10_000, "2026-04-12"))
    assert kind_on(h, "2026-04-11") is None
    assert due_on(h, "2026-04-12") == DueReminder("L000001", LATE, day("2026-03-31"), 12)


def test_paying_the_oldest_starts_a_new_episode_from_the_next_unpaid_due_date() -> None:
    h = history(("2026-05-05", 10_000))
    assert kind_on(h, "2026-05-04") == ("formal_notice", "2026-03-31")
    assert kind_on(h, "2026-05-05") is None  # late since 30 April: five days
    assert kind_on(h, "2026-05-10") == ("late", "2026-04-30")


def test_no_reminder_before_the_payout_once_written_off_or_repaid() -> None:
    assert standing_on(history(), day("2026-03-14")) is None
    written_off = history(written_off_on=day("2026-05-01"))
    assert kind_on(written_off, "2026-04-30") == ("formal_notice", "2026-03-31")
    assert kind_on(written_off, "2026-05-01") is None
    repaid = history(("2026-03-20", 40_000))
    assert kind_on(repaid, "2026-04-26") is None
    assert kind_on(repaid, "2026-06-29") is None
    assert reminder_due(None, RULES) is None


def test_the_schedule_in_force_on_the_day_decides() -> None:
    """Rescheduled on 5 April: the first installment moved to 31 May."""
    first = ScheduleVersion(1, PAID_OUT, (DueAmount(1, DUES[0], 20_000),))
    moved = ScheduleVersion(2, day("2026-04-05"), (DueAmount(1, DUES[2], 20_000),))
    h = history(schedules=(first, moved))
    assert kind_on(h, "2026-04-04") is None  # four days late under the first version
    assert kind_on(h, "2026-04-10") is None  # not late under the second
    assert kind_on(h, "2026-05-27") == ("before_due", "2026-05-31")


@pytest.mark.parametrize(
    ("on", "asked", "expected"),
    [
        ("2026-03-20", None, ("before_due", "2026-03-31")),  # any day before: the next one
        ("2026-04-02", None, ("late", "2026-03-31")),  # late at all: the late letter
        ("2026-04-30", None, ("formal_notice", "2026-03-31")),
        ("2026-04-02", FORMAL, ("formal_notice", "2026-03-31")),  # asked for by name
        ("2026-04-02", BEFORE, None),  # a late loan gets no "before due" letter
        ("2026-03-20", LATE, None),  # nothing late: no late letter
    ],
)
def test_the_letter_fits_the_loan_on_the_day_it_is_printed(
    on: str, asked: ReminderKind | None, expected: tuple[str, str] | None
) -> None:
    found = letter_for(standing_on(history(), day(on)), RULES, asked)
    assert (None if found is None else (found.kind.value, found.due_date.isoformat())) == expected


def test_no_letter_for_a_loan_repaid() -> None:
    assert (
        letter_for(standing_on(history(("2026-03-20", 40_000)), day("2026-04-02")), RULES) is None
    )


def test_each_day_of_a_long_window_names_the_same_reminder() -> None:
    """The store keeps (loan, kind, due date) once: every day of the window gives that key."""
    h = history()
    keys = {
        found.key
        for n in range(0, 60)
        if (found := due_on(h, (day("2026-03-20") + timedelta(days=n)).isoformat())) is not None
    }
    assert keys == {
        ("L000001", BEFORE, day("2026-03-31")),
        ("L000001", LATE, day("2026-03-31")),
        ("L000001", FORMAL, day("2026-03-31")),
    }


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Amina Kebede", "Amina"),
        ("  Jean-Pierre   Dupont ", "Jean-Pierre"),
        ("Olena Kovalenko / Олена Коваленко", "Olena"),
        ("Ahmad", "Ahmad"),
    ],
)
def test_the_first_name_is_the_first_word_of_the_name(name: str, first: str) -> None:
    assert first_name(name) == first
