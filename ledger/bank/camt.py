"""ISO 20022 camt.053 bank-to-customer statements, versions .001.02 to .001.13.

Parsed as a stream (a statement's entries are let go once read) by defusedxml over expat: a
file with a DTD is refused outright, so there is no entity to expand (billion laughs) and no
external reference to follow, and the size limit of ``ledger.bank.files`` applies while reading.

Fields moved between versions; each is looked for where any version puts it:
- entry status: text of ``Sts`` (up to .06) or ``Sts/Cd`` (.07 on);
- related parties: ``Dbtr/Nm`` (up to .06) or ``Dbtr/Pty/Nm`` (.07 on);
- transaction amount: ``TxDtls/Amt`` (.03 on) or ``TxDtls/AmtDtls/TxAmt/Amt`` (.02);
- structured reference: ``CdtrRefInf/Tp/CdOrPrtry/Cd`` SCOR (RF, Belgian OGM) or ``Prtry``
  QRR (Swiss QR reference); the reference itself in ``CdtrRefInf/Ref``.
Only booked entries (status BOOK) move the balance; pending and information entries are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

from ledger.bank.files import DEFAULT_MAX_BYTES, Source, open_statement
from ledger.domain.errors import ValidationError
from ledger.domain.money import minor_digits, parse_amount
from ledger.domain.statements import (
    Direction,
    Statement,
    StatementEntry,
    StatementRefused,
    check_statement,
    clip,
    normalise_iban,
)

_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.(\d{3})\.001\.(\d{2})$")
SUPPORTED_VERSIONS = range(2, 14)  # .001.02 to .001.13
OPENING_CODES = ("OPBD", "PRCD")  # opening booked; some banks give "previously closed booked"
CLOSING_CODES = ("CLBD",)
_NOT_PROVIDED = "NOTPROVIDED"


def parse_camt(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Statement]:
    """Every statement in the file, each checked (currency, opening + credits - debits =
    closing). A hostile, broken or truncated file raises ``StatementRefused``. The Document
    may stand in an envelope (a business application header around it)."""
    with open_statement(source, max_bytes) as stream:
        try:
            statements = list(_statements(iterparse(stream, ("start", "end"), forbid_dtd=True)))
        except DTDForbidden:
            raise StatementRefused(
                "the file declares a DTD (<!DOCTYPE ...>); bank statements never do, and a DTD "
                "can hide entity expansion or references to other files: refused"
            ) from None
        except (EntitiesForbidden, ExternalReferenceForbidden):
            raise StatementRefused(
                "the file declares XML entities or external references: refused"
            ) from None
        except ParseError as exc:
            raise StatementRefused(
                f"the file is not well-formed XML ({exc}); it may be truncated or damaged: "
                "download it from the bank again"
            ) from None
    if not statements:
        raise StatementRefused("the file holds no statement (BkToCstmrStmt/Stmt)")
    return statements


class _Names:
    """Element paths in the file's namespace: ``Acct/Id/IBAN`` -> ``{ns}Acct/{ns}Id/{ns}IBAN``."""

    def __init__(self, namespace: str) -> None:
        self.prefix = "{" + namespace + "}"

        @cache
        def path(p: str) -> str:
            return "/".join(self.prefix + part for part in p.split("/"))

        self.path = path

    def local(self, tag: str) -> str:
        return tag[len(self.prefix) :] if tag.startswith(self.prefix) else tag

    def find(self, elem: Element, p: str) -> Element | None:
        return elem.find(self.path(p))

    def all(self, elem: Element, p: str) -> list[Element]:
        return elem.findall(self.path(p))

    def text(self, elem: Element | None, *paths: str) -> str | None:
        """The stripped text of the first of ``paths`` that is there and not empty."""
        if elem is None:
            return None
        for p in paths:
            found = elem.find(self.path(p))
            if found is not None and found.text and found.text.strip():
                return found.text.strip()
        return None


def _statements(events: Iterator[tuple[str, Any]]) -> Iterator[Statement]:
    names: _Names | None = None
    version = ""
    stack: list[Element] = []
    entries: list[StatementEntry] = []
    count = 0
    ntry_count = 0
    others = False  # entries that are not booked: the summary totals cannot be compared
    before = 0  # elements of an envelope before the Document
    for event, elem in events:
        if event == "start":
            if names is None and elem.tag.endswith("}Document"):
                names, version = _root(elem.tag)
            elif names is None:
                before += 1
                if before > 200:  # no Document near the top: say what the file is not
                    _root(stack[0].tag if stack else elem.tag)
            stack.append(elem)
            continue
        stack.pop()
        if names is None:
            if not stack:
                _root(elem.tag)  # the file ended without a Document: says what it is not
            continue
        local = names.local(elem.tag)
        if local == "Ntry" and stack and names.local(stack[-1].tag) == "Stmt":
            ntry_count += 1
            stmt = stack[-1]
            label = _label(names, stmt, count + 1)
            read = _entry(names, elem, ntry_count, label)
            if read is None:
                others = True
            else:
                entries.extend(read)
            stmt.remove(elem)  # keeps memory flat on large files
        elif local == "Stmt":
            count += 1
            statement = _statement(names, elem, version, entries, count)
            _check_summary(names, elem, statement, ntry_count, others)
            check_statement(statement)
            yield statement
            entries, ntry_count, others = [], 0, False
            if stack:
                stack[-1].remove(elem)


def _root(tag: str) -> tuple[_Names, str]:
    m = re.match(r"^\{([^}]*)\}Document$", tag)
    ns = _NAMESPACE.match(m.group(1)) if m else None
    if m is None or ns is None:
        raise StatementRefused(
            "this XML file is not an ISO 20022 camt.053 statement (expected a Document in the "
            "namespace urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN)"
        )
    message, version = ns.group(1), int(ns.group(2))
    if message != "053":
        what = {"052": "an intraday account report", "054": "a debit/credit notification"}.get(
            message, "another ISO 20022 message"
        )
        raise StatementRefused(
            f"this is camt.{message}, {what}, not a camt.053 statement: ask the bank for the "
            "end-of-day statement (camt.053)"
        )
    if version not in SUPPORTED_VERSIONS:
        raise StatementRefused(
            f"camt.053.001.{version:02d} is not supported; versions .02 to "
            f".{SUPPORTED_VERSIONS[-1]:02d} are"
        )
    return _Names(m.group(1)), f"camt.053.001.{version:02d}"


def _label(names: _Names, stmt: Element, number: int) -> str:
    sid = names.text(stmt, "Id")
    return f"statement {sid}" if sid else f"statement {number} of the file"


def _date(names: _Names, elem: Element | None, where: str, what: str) -> date | None:
    text = names.text(elem, "Dt", "DtTm") if elem is not None else None
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StatementRefused(f"{where}: {what} {text!r} is not a date") from None


def _amount(text: str | None, currency: str | None, where: str, what: str) -> int:
    if text is None or currency is None:
        raise StatementRefused(f"{where}: {what} is missing (amount or its currency)")
    if not re.fullmatch(r"\d{1,18}(\.\d{1,5})?", text):
        raise StatementRefused(f"{where}: {what} {text!r} is not an amount")
    try:
        value = parse_amount(text, currency, field="amount")
    except ValidationError as exc:
        raise StatementRefused(f"{where}: {what}: {exc.detail}") from None
    return int(value.scaleb(minor_digits(currency)))


def _direction(text: str | None, where: str) -> Direction:
    if text == "CRDT":
        return Direction.CREDIT
    if text == "DBIT":
        return Direction.DEBIT
    raise StatementRefused(f"{where}: credit/debit indicator {text!r} is neither CRDT nor DBIT")


def _statement(
    names: _Names, stmt: Element, version: str, entries: list[StatementEntry], number: int
) -> Statement:
    label = _label(names, stmt, number)
    sid = names.text(stmt, "Id")
    if sid is None:
        raise StatementRefused(f"{label} has no Id")
    account = names.text(stmt, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
    if account is None:
        raise StatementRefused(f"{label} names no account (Acct/Id/IBAN)")
    balances: dict[str, tuple[int, date | None]] = {}
    currency = names.text(stmt, "Acct/Ccy")
    for bal in names.all(stmt, "Bal"):
        code = names.text(bal, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry") or "?"
        amt = names.find(bal, "Amt")
        ccy = amt.get("Ccy") if amt is not None else None
        currency = currency or ccy
        if ccy != currency:
            raise StatementRefused(
                f"{label}: balance {code} is in {ccy}, but the account is in {currency}"
            )
        minor = _amount(names.text(bal, "Amt"), ccy, label, f"balance {code}")
        if _direction(names.text(bal, "CdtDbtInd"), f"{label}, balance {code}") is Direction.DEBIT:
            minor = -minor
        balances.setdefault(code, (minor, _date(names, names.find(bal, "Dt"), label, code)))
    opening = next((balances[c] for c in OPENING_CODES if c in balances), None)
    closing = next((balances[c] for c in CLOSING_CODES if c in balances), None)
    if opening is None:
        raise StatementRefused(f"{label} has no opening booked balance (Bal with code OPBD)")
    if closing is None:
        raise StatementRefused(f"{label} has no closing booked balance (Bal with code CLBD)")
    assert currency is not None
    seq = names.text(stmt, "ElctrncSeqNb", "LglSeqNb")
    return Statement(
        account_iban=normalise_iban(account),
        currency=currency,
        statement_id=sid[:64],
        entries=tuple(entries),
        source_format=version,
        sequence=int(seq) if seq and seq.isdigit() and len(seq) <= 18 else None,
        opening_minor=opening[0],
        opening_date=opening[1],
        closing_minor=closing[0],
        closing_date=closing[1],
        where=label,
    )


def _check_summary(
    names: _Names, stmt: Element, statement: Statement, ntry_count: int, others: bool
) -> None:
    """The statement's own totals (TxsSummry), when it gives them, must match its entries."""
    label = statement.label
    total = names.text(stmt, "TxsSummry/TtlNtries/NbOfNtries")
    if total is not None and total.isdigit() and int(total) != ntry_count:
        raise StatementRefused(
            f"{label}: the summary counts {int(total)} entries, the file holds {ntry_count}; "
            "the file is incomplete"
        )
    if others:
        return
    for path, direction, what in (
        ("TxsSummry/TtlCdtNtries/Sum", Direction.CREDIT, "credits"),
        ("TxsSummry/TtlDbtNtries/Sum", Direction.DEBIT, "debits"),
    ):
        text = names.text(stmt, path)
        if text is None:
            continue
        expected = _amount(text, statement.currency, label, f"summary of {what}")
        found = sum(e.amount_minor for e in statement.entries if e.direction is direction)
        if expected != found:
            raise StatementRefused(
                f"{label}: the summary gives {what} of {Decimal(text)} {statement.currency}, "
                f"the entries add up to {found / 10 ** minor_digits(statement.currency)} "
                f"{statement.currency}; the file is incomplete or damaged"
            )


def _entry(names: _Names, ntry: Element, number: int, label: str) -> list[StatementEntry] | None:
    """The booked entry as one or more statement entries (a batch is split when its
    transactions carry their own amounts); None for an entry that is not booked."""
    ref = names.text(ntry, "AcctSvcrRef")
    where = f"{label}, entry {number}" + (f" (AcctSvcrRef {ref})" if ref else "")
    status = names.text(ntry, "Sts/Cd", "Sts/Prtry", "Sts") or "BOOK"
    if status != "BOOK":
        return None
    amt = names.find(ntry, "Amt")
    currency = amt.get("Ccy") if amt is not None else None
    minor = _amount(names.text(ntry, "Amt"), currency, where, "amount")
    assert currency is not None
    direction = _direction(names.text(ntry, "CdtDbtInd"), where)
    booked = _date(names, names.find(ntry, "BookgDt"), where, "booking date")
    valued = _date(names, names.find(ntry, "ValDt"), where, "value date")
    if booked is None:
        booked = valued
    if booked is None:
        raise StatementRefused(f"{where} has no booking date")
    reversal = (names.text(ntry, "RvslInd") or "").lower() in ("true", "1")
    code = _bank_code(names, ntry)
    details = names.all(ntry, "NtryDtls/TxDtls")
    common: dict[str, Any] = {
        "booking_date": booked,
        "value_date": valued,
        "currency": currency,
        "reversal": reversal,
    }
    parts = _split(names, details, minor, currency, direction, where)
    if parts is None:
        return [
            StatementEntry(
                amount_minor=minor,
                direction=direction,
                bank_reference=ref,
                bank_code=code or (_bank_code(names, details[0]) if details else None),
                where=where,
                **common,
                **_details(names, details, direction),
            )
        ]
    return [
        StatementEntry(
            amount_minor=part_minor,
            direction=direction,
            bank_reference=names.text(tx, "Refs/AcctSvcrRef") or (f"{ref}/{i}" if ref else None),
            bank_code=_bank_code(names, tx) or code,
            where=f"{where}, transaction {i}",
            **common,
            **_details(names, [tx], direction),
        )
        for i, (tx, part_minor) in enumerate(parts, start=1)
    ]


def _split(
    names: _Names,
    details: list[Element],
    minor: int,
    currency: str,
    direction: Direction,
    where: str,
) -> list[tuple[Element, int]] | None:
    """A batch entry's transactions with their amounts, when they add up to the entry."""
    if len(details) < 2:
        return None
    parts = []
    for tx in details:
        amt = names.find(tx, "Amt")
        if amt is None:
            amt = names.find(tx, "AmtDtls/TxAmt/Amt")
        indicator = names.text(tx, "CdtDbtInd")
        if (
            amt is None
            or amt.get("Ccy") != currency
            or (indicator is not None and _direction(indicator, where) is not direction)
        ):
            return None
        parts.append((tx, _amount((amt.text or "").strip(), currency, where, "transaction amount")))
    return parts if sum(p for _, p in parts) == minor else None


def _bank_code(names: _Names, elem: Element) -> str | None:
    domain = names.text(elem, "BkTxCd/Domn/Cd")
    family = names.text(elem, "BkTxCd/Domn/Fmly/Cd")
    sub = names.text(elem, "BkTxCd/Domn/Fmly/SubFmlyCd")
    if domain and family and sub:
        return f"{domain}/{family}/{sub}"
    proprietary = names.text(elem, "BkTxCd/Prtry/Cd")
    return clip(f"PRTRY/{proprietary}", 35) if proprietary else None


def _details(names: _Names, details: list[Element], direction: Direction) -> dict[str, Any]:
    """Counterparty, references and remittance from the entry's transaction details."""
    party = "Dbtr" if direction is Direction.CREDIT else "Cdtr"
    out: dict[str, Any] = {}
    texts: list[str] = []
    for tx in details:
        e2e = names.text(tx, "Refs/EndToEndId")
        if e2e and e2e != _NOT_PROVIDED:
            out.setdefault("end_to_end_id", clip(e2e, 64))
        name = names.text(tx, f"RltdPties/{party}/Pty/Nm", f"RltdPties/{party}/Nm")
        if name:
            out.setdefault("counterparty_name", clip(name))
        iban = names.text(tx, f"RltdPties/{party}Acct/Id/IBAN", f"RltdPties/{party}Acct/Id/Othr/Id")
        if iban:
            out.setdefault("counterparty_iban", normalise_iban(iban)[:34])
        texts.extend(
            t.text.strip()
            for t in names.all(tx, "RmtInf/Ustrd") + names.all(tx, "RmtInf/Strd/AddtlRmtInf")
            if t.text and t.text.strip()
        )
        for ref_info in names.all(tx, "RmtInf/Strd/CdtrRefInf"):
            reference = names.text(ref_info, "Ref")
            if reference:
                out.setdefault("creditor_reference", clip(reference, 40))
        reason = names.text(tx, "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry")
        if reason:
            out.setdefault("return_reason", clip(reason, 35))
    if texts:
        out["remittance"] = clip(" ".join(texts), 500)
    return out
