"""What waits for someone: the caseworker's work list, the approvers' queue, the rules' history
(services on both engines)."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.errors import PermissionDenied
from ledger.domain.money import money
from ledger.domain.statuses import LoanStatus
from ledger.services import access_links, audit, loans
from ledger.services.loans import WorkKind
from ledger.store.uow import UnitOfWork
from tests.support.clock import Clock
from tests.support.loans import (
    ADMIN,
    ADMIN2,
    AUDITOR,
    CASEWORKER,
    CASEWORKER2,
    POLICY,
    TREASURER,
    TREASURER2,
    application,
    loan_in,
    person,
)

TODAY = date(2026, 3, 15)  # the clock's day


def kinds(items: list[loans.WorkItem]) -> list[tuple[str, WorkKind]]:
    return [(i.loan_id, i.kind) for i in items]


def test_the_work_list_names_each_thing_to_do_on_my_loans(funded: UnitOfWork) -> None:
    draft = application(funded)
    submitted = loan_in(funded, LoanStatus.SUBMITTED)
    approved = loan_in(funded, LoanStatus.APPROVED)
    signed = loan_in(funded, LoanStatus.CONTRACT_SIGNED)
    ending = application(funded, lease_end=date(2026, 5, 10), installments=2)
    items = loans.worklist(funded, CASEWORKER)
    assert kinds(items) == [
        (approved.id, WorkKind.CONTRACT_NOT_SIGNED),
        (submitted.id, WorkKind.APPROVAL_WAITING),
        (ending.id, WorkKind.LEASE_ENDING),
    ]
    assert items[0].on == TODAY  # approved today
    assert items[0].name == "Amina Kebede"  # each person's read audited
    reads, _ = audit.list_audit(funded, AUDITOR, by=CASEWORKER.name, action="read_personal_data")
    assert {r.target for r in reads} == {f"person:{i.beneficiary_id}" for i in items}
    assert items[2].on == date(2026, 5, 10)
    assert draft.id not in {i.loan_id for i in items}
    assert signed.id not in {i.loan_id for i in items}  # the treasurer's turn
    # "Mine": another caseworker has nothing to do; an admin sees every loan's.
    assert loans.worklist(funded, CASEWORKER2) == []
    assert kinds(loans.worklist(funded, ADMIN)) == kinds(items)
    with pytest.raises(PermissionDenied):
        loans.worklist(funded, TREASURER)


def test_a_first_installment_unpaid_after_its_due_day_is_late(funded: UnitOfWork) -> None:
    active = loan_in(funded, LoanStatus.ACTIVE)  # first installment 70.84 due 2026-03-31
    assert loans.worklist(funded, CASEWORKER, date(2026, 3, 31)) == []  # due today: not late
    late = loans.worklist(funded, CASEWORKER, date(2026, 4, 1))
    assert kinds(late) == [(active.id, WorkKind.FIRST_INSTALLMENT_LATE)]
    assert late[0].on == date(2026, 3, 31)
    part = money("50.00", "EUR")
    loans.record_payment(funded, TREASURER, active.id, part, on=TODAY, idempotency_key="p1")
    assert kinds(loans.worklist(funded, CASEWORKER, date(2026, 4, 1))) == kinds(late)
    rest = money("20.84", "EUR")
    loans.record_payment(funded, TREASURER, active.id, rest, on=TODAY, idempotency_key="p2")
    assert loans.worklist(funded, CASEWORKER, date(2026, 4, 1)) == []
    # A payment that bounced (reversed) leaves the installment unpaid again.
    paid = loans.get_loan(funded, AUDITOR, active.id).payments
    loans.reverse_payment(
        funded, TREASURER, paid[-1][0], on=TODAY, reason="bounced", idempotency_key="r1"
    )
    assert kinds(loans.worklist(funded, CASEWORKER, date(2026, 4, 1))) == kinds(late)


def test_the_home_page_shows_a_few_of_each_kind_and_says_how_many(funded: UnitOfWork) -> None:
    """On a large fund an admin's list has thousands of late loans: the page reads (and
    audits) at most ``shown`` of each kind, the longest waiting first, and says how many wait."""
    late = [loan_in(funded, LoanStatus.ACTIVE) for _ in range(3)]
    waiting = [loan_in(funded, LoanStatus.SUBMITTED) for _ in range(3)]
    before = len(audit.list_audit(funded, AUDITOR, action="read_personal_data")[0])
    page = loans.work_page(funded, ADMIN, date(2026, 4, 1), shown=2)
    assert kinds(page.items) == [
        (late[0].id, WorkKind.FIRST_INSTALLMENT_LATE),
        (late[1].id, WorkKind.FIRST_INSTALLMENT_LATE),
        (waiting[0].id, WorkKind.APPROVAL_WAITING),
        (waiting[1].id, WorkKind.APPROVAL_WAITING),
    ]
    assert page.totals[WorkKind.APPROVAL_WAITING] == 3
    assert page.totals[WorkKind.FIRST_INSTALLMENT_LATE] == 3
    assert page.more == {WorkKind.FIRST_INSTALLMENT_LATE, WorkKind.APPROVAL_WAITING}
    reads = len(audit.list_audit(funded, AUDITOR, action="read_personal_data")[0])
    assert reads == before + 4  # the people shown, no one else
    whole = loans.work_page(funded, ADMIN, date(2026, 4, 1), shown=3)
    assert whole.more == frozenset()
    assert whole.totals[WorkKind.FIRST_INSTALLMENT_LATE] == 3


def test_a_personal_link_ending_within_14_days_is_on_the_list(
    funded: UnitOfWork, clock: Clock
) -> None:
    active = loan_in(funded, LoanStatus.ACTIVE)
    access_links.create_link(funded, CASEWORKER, active.id, days=10)
    items = loans.worklist(funded, CASEWORKER)
    assert kinds(items) == [(active.id, WorkKind.LINK_EXPIRING)]
    assert items[0].on == date(2026, 3, 25)
    # A newer link that lasts longer: nothing to renew.
    access_links.create_link(funded, CASEWORKER, active.id, days=60)
    assert loans.worklist(funded, CASEWORKER) == []
    clock.advance(days=47)  # the long link now ends within 14 days (and the loan is late)
    assert links(loans.worklist(funded, CASEWORKER)) == [(active.id, date(2026, 5, 14))]
    clock.advance(days=14)  # ended: nothing to renew any more (a new one is made on request)
    assert links(loans.worklist(funded, CASEWORKER)) == []


def links(items: list[loans.WorkItem]) -> list[tuple[str, date | None]]:
    return [(i.loan_id, i.on) for i in items if i.kind is WorkKind.LINK_EXPIRING]


def test_the_queue_never_offers_a_decision_on_ones_own_request(funded: UnitOfWork) -> None:
    mine = loan_in(funded, LoanStatus.SUBMITTED)  # opened and submitted by CASEWORKER
    review = application(funded, person(funded, own_savings=None))
    loans.submit(funded, CASEWORKER2, review.id, POLICY)  # own savings unknown: review
    own_view = loans.approval_queue(funded, CASEWORKER)
    assert own_view.applications is not None
    by_id = {a.loan.id: a for a in own_view.applications}
    assert by_id[mine.id].own and not by_id[mine.id].may_approve
    assert not by_id[mine.id].may_reject
    assert own_view.write_offs is None and own_view.payouts is None
    other = {a.loan.id: a for a in loans.approval_queue(funded, CASEWORKER2).applications or []}
    assert other[mine.id].may_approve and other[mine.id].may_reject
    decision = other[mine.id].decision
    assert decision is not None and decision.outcome == "pass"
    assert other[mine.id].installments == 24
    assert other[mine.id].rent_months == 2
    # The application in review: nobody approves it before a supervisor's override.
    assert other[review.id].own  # CASEWORKER2 submitted it
    assert by_id[review.id].needs_override and not by_id[review.id].may_approve
    assert not by_id[review.id].may_override  # a caseworker does not override
    admin = {a.loan.id: a for a in loans.approval_queue(funded, ADMIN).applications or []}
    assert admin[review.id].may_override and not admin[review.id].may_approve
    loans.override_eligibility(funded, ADMIN, review.id, "savings are nil: checked")
    admin = {a.loan.id: a for a in loans.approval_queue(funded, ADMIN2).applications or []}
    assert admin[review.id].may_approve and not admin[review.id].needs_override
    # Reading the decisions (income, savings) is audited, loan by loan.
    reads, _ = audit.list_audit(funded, AUDITOR, by=CASEWORKER2.name, action="read_personal_data")
    assert {r.target for r in reads} == {f"loan:{mine.id}", f"loan:{review.id}"}
    assert all(r.details == {"via": "approval_queue"} for r in reads)
    with pytest.raises(PermissionDenied):
        loans.approval_queue(funded, AUDITOR)


def test_the_treasurers_queue_has_write_offs_and_payouts(funded: UnitOfWork) -> None:
    signed = loan_in(funded, LoanStatus.CONTRACT_SIGNED)
    active = loan_in(funded, LoanStatus.ACTIVE)
    proposal = loans.propose_write_off(funded, TREASURER, active.id, "left the country")
    queue = loans.approval_queue(funded, TREASURER)
    assert queue.applications is None
    assert [p.loan.id for p in queue.payouts or []] == [signed.id]
    (item,) = queue.write_offs or []
    assert (item.id, item.own, item.may_decide) == (proposal.id, True, False)
    assert item.outstanding == money("1700.00", "EUR")
    assert item.proposed_by == TREASURER.name
    (other,) = loans.approval_queue(funded, TREASURER2).write_offs or []
    assert other.may_decide
    summary = loans.summary(funded, AUDITOR)
    assert summary.write_offs_waiting == 1
    assert summary.by_status[LoanStatus.ACTIVE] == 1
    assert summary.by_status[LoanStatus.CONTRACT_SIGNED] == 1
    assert summary.by_status[LoanStatus.CLOSED] == 0


def test_the_rules_history_lists_each_set_of_rules_that_decided(
    funded: UnitOfWork, clock: Clock
) -> None:
    assert loans.rules_history(funded, AUDITOR) == []
    first = loan_in(funded, LoanStatus.SUBMITTED)
    clock.advance(days=3)
    loans.check_eligibility(funded, CASEWORKER, first.id, POLICY)
    (used,) = loans.rules_history(funded, ADMIN)
    assert (used.version, used.fingerprint) == (
        POLICY.rules.version,
        POLICY.rules.fingerprint,
    )
    assert used.decisions == 2
    assert used.first.date() == TODAY and (used.last - used.first).days == 3
    settings = {s.name: s.value for s in loans.rules_in_force(AUDITOR, POLICY, "EUR")}
    assert settings["version"] == POLICY.rules.version
    assert settings["fund_cap"] == money("3000.00", "EUR")
    with pytest.raises(PermissionDenied):
        loans.rules_history(funded, CASEWORKER)
    with pytest.raises(PermissionDenied):
        loans.rules_in_force(TREASURER, POLICY, "EUR")
