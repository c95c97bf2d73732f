"""Loans from application to closure. Every money movement is posted through the journal.

The ledger is kept equal to the schedules at all times: after each money event the loan's
sub-account holds exactly what the schedule says is outstanding and the beneficiary-credit
account exactly what was paid beyond it ("settling"). When a backdated or reversed payment
changes that split, a reallocation entry moves the difference; nothing is ever edited.

One module per use case; callers import from this package, which names them all:

- ``beneficiaries``: personal data, registered, read, changed, erased;
- ``applications``: applications opened and amended, eligibility decided, submitted, overridden;
- ``approvals``: approval (four eyes), rejection, withdrawal, the signed contract;
- ``disbursal``: the payout, and undoing it;
- ``payments``: payments allocated by the schedule, reversed; credit refunded;
- ``release``: the deposit released at the end of the lease;
- ``write_off``: write-offs proposed, approved, rejected;
- ``queue``: the approvers' queue (what waits for a second person);
- ``worklist``: what needs a caseworker's attention, and the summary for other roles;
- ``rules``: the lending rules in force, and the sets of rules that decided applications;
- ``schedules``: payment holidays and reschedules;
- ``views``: a loan as of a date (and with its beneficiary, as its page shows it), and lists
  of loans;
- ``portfolio``: arrears aging and PAR30 of the portfolio (from the arrears projection);
- ``arrears``: the loans in arrears as of a day (list and CSV), the projection checked and
  rebuilt;
- ``position`` and ``common``: what they share (a loan's position and settling it; reasons,
  transitions, money commands).

The lending policy, a value of the fund's rules, is ``ledger.domain.policy.LoanPolicy``.
"""

from ledger.domain.policy import LoanPolicy
from ledger.services.loans.applications import (
    amend_application,
    check_eligibility,
    open_application,
    override_eligibility,
    preview_eligibility,
    stored_reasons,
    submit,
    vars_of,
)
from ledger.services.loans.approvals import _void_contract as _void_contract
from ledger.services.loans.approvals import (
    approve,
    own_application,
    record_contract_signed,
    reject,
    sign_contract,
    undo_approval,
    withdraw,
)
from ledger.services.loans.arrears import (
    ArrearsLine,
    ArrearsList,
    ArrearsOverview,
    arrears_csv,
    arrears_currencies,
    arrears_list,
    arrears_overview,
    caseworkers_in_arrears,
    projection_problems,
    rebuild_arrears,
)
from ledger.services.loans.beneficiaries import (
    erase_beneficiary,
    read_beneficiary,
    register_beneficiary,
    search_beneficiaries,
    update_beneficiary,
)
from ledger.services.loans.common import MAX_REASON, OPEN_STATUSES, MoneyResult
from ledger.services.loans.disbursal import book_disbursement, disburse, undo_disbursement
from ledger.services.loans.payments import (
    PaymentIn,
    book_payment,
    book_payment_reversal,
    book_payments,
    record_payment,
    refund_credit,
    reverse_payment,
)
from ledger.services.loans.portfolio import (
    Portfolio,
    compute_portfolio,
    portfolio,
    replay_portfolio,
)
from ledger.services.loans.position import Balances, balances_of
from ledger.services.loans.queue import (
    ApplicationItem,
    ApprovalQueue,
    PayoutItem,
    WriteOffItem,
    approval_queue,
)
from ledger.services.loans.release import ReleaseResult, record_deposit_release
from ledger.services.loans.rules import RuleSetting, rules_history, rules_in_force
from ledger.services.loans.schedules import add_holiday, reschedule
from ledger.services.loans.views import InstallmentView, LoanView, get_loan, list_loans, loan_page
from ledger.services.loans.worklist import (
    Summary,
    WorkItem,
    WorkKind,
    Worklist,
    summary,
    work_page,
    worklist,
)
from ledger.services.loans.write_off import (
    approve_write_off,
    own_proposal,
    propose_write_off,
    reject_write_off,
)

__all__ = [
    "MAX_REASON",
    "OPEN_STATUSES",
    "ApplicationItem",
    "ApprovalQueue",
    "ArrearsLine",
    "ArrearsList",
    "ArrearsOverview",
    "Balances",
    "InstallmentView",
    "LoanPolicy",
    "LoanView",
    "MoneyResult",
    "PaymentIn",
    "PayoutItem",
    "Portfolio",
    "ReleaseResult",
    "RuleSetting",
    "Summary",
    "WorkItem",
    "WorkKind",
    "Worklist",
    "WriteOffItem",
    "add_holiday",
    "amend_application",
    "approval_queue",
    "approve",
    "approve_write_off",
    "arrears_csv",
    "arrears_currencies",
    "arrears_list",
    "arrears_overview",
    "balances_of",
    "book_disbursement",
    "book_payment",
    "book_payment_reversal",
    "book_payments",
    "caseworkers_in_arrears",
    "check_eligibility",
    "compute_portfolio",
    "disburse",
    "erase_beneficiary",
    "get_loan",
    "list_loans",
    "loan_page",
    "open_application",
    "override_eligibility",
    "own_application",
    "own_proposal",
    "portfolio",
    "preview_eligibility",
    "projection_problems",
    "propose_write_off",
    "read_beneficiary",
    "rebuild_arrears",
    "record_contract_signed",
    "record_deposit_release",
    "record_payment",
    "refund_credit",
    "register_beneficiary",
    "reject",
    "reject_write_off",
    "replay_portfolio",
    "reschedule",
    "reverse_payment",
    "rules_history",
    "rules_in_force",
    "search_beneficiaries",
    "sign_contract",
    "stored_reasons",
    "submit",
    "summary",
    "undo_approval",
    "undo_disbursement",
    "update_beneficiary",
    "vars_of",
    "withdraw",
    "work_page",
    "worklist",
]
