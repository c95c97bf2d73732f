"""Importing bank statements and matching their lines to the ledger.

A file is parsed (``ledger/bank``), every statement in it checked, and everything it brings is
booked in one transaction, or nothing is. Each line is booked once, whatever statements bring
it again: lines are keyed per bank account on the bank's reference, or on a fingerprint.

How a new line is matched (``docs/bank.md``):

- a credit with a payment reference (structured field, or found in the free text) that names a
  loan being repaid is booked as that loan's repayment (``record_payment``);
- any other credit is booked to unidentified receipts (Dr bank, Cr 2200), with a suggested
  loan when the payer's (hashed) IBAN paid a loan before: the ledger's bank account always
  moves with the statement;
- a debit is linked to the disbursement or refund it pays (end-to-end id, else amount and date):
  those are booked already; a debit found nowhere stays unmatched for the treasurer;
- a bank charge (by the bank's transaction code) is booked to bank charges;
- a returned payment reverses the payment it returns.

The treasurer re-matches by hand; every change is a reversing entry and a new one, never an
edit, and ``statement_matches`` keeps the history. Payers' names and IBANs are not kept.

The package: ``common`` (options, results, what lines explain), ``importing``, ``matching``
(the import's automatic matching), ``by_hand`` (the treasurer's, a transfer split across loans
included), ``queue`` (the lines waiting for the treasurer, with suggested loans and why),
``reading``.
"""

from ledger.services.statements.by_hand import (
    MAX_PARTS,
    LineView,
    SplitPart,
    book_line,
    link_line,
    match_line_to_loan,
    split_line,
    unmatch_line,
)
from ledger.services.statements.common import (
    KEEP_TEXT,
    LINK_DAYS_AFTER,
    LINK_DAYS_BEFORE,
    LINKABLE_KINDS,
    LOAN_RECEIPT_KINDS,
    MIN_KEY_BYTES,
    OTHER_RECEIPT_KINDS,
    PAYABLE,
    ImportOptions,
    ImportResult,
    StatementReport,
    check_key,
    fund_ibans,
    line_ref,
)
from ledger.services.statements.importing import (
    import_statements,
    parse_file,
)
from ledger.services.statements.queue import (
    QueueLine,
    QueuePage,
    Suggestion,
    Why,
    bookable_accounts,
    matching_queue,
    suggestions_for,
)
from ledger.services.statements.reading import (
    bank_accounts,
    get_line,
    get_statement,
    imported_file,
    list_lines,
    list_mappings,
    list_statements,
    save_mapping,
    statement_figures,
    statement_page,
)

__all__ = [
    "KEEP_TEXT",
    "LINKABLE_KINDS",
    "LINK_DAYS_AFTER",
    "LINK_DAYS_BEFORE",
    "LOAN_RECEIPT_KINDS",
    "MAX_PARTS",
    "MIN_KEY_BYTES",
    "OTHER_RECEIPT_KINDS",
    "PAYABLE",
    "ImportOptions",
    "ImportResult",
    "LineView",
    "QueueLine",
    "QueuePage",
    "SplitPart",
    "StatementReport",
    "Suggestion",
    "Why",
    "bank_accounts",
    "book_line",
    "bookable_accounts",
    "check_key",
    "fund_ibans",
    "get_line",
    "get_statement",
    "import_statements",
    "imported_file",
    "line_ref",
    "link_line",
    "list_lines",
    "list_mappings",
    "list_statements",
    "match_line_to_loan",
    "matching_queue",
    "parse_file",
    "save_mapping",
    "split_line",
    "statement_figures",
    "statement_page",
    "suggestions_for",
    "unmatch_line",
]
