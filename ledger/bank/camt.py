"""ISO 20022 camt.053 bank-to-customer statements, versions .001.02 to .001.13.

Parsed as a stream (a statement's entries are let go once read) by lxml, safely: a file with a
DTD is refused outright (a bank statement never has one), entities are never resolved (no
billion laughs), nothing is fetched from the network, libxml2's limits on huge trees stay on,
and the size limit of ``ledger.bank.files`` applies while reading.

Fields moved between versions; each is looked for where any version puts it:
- entry status: text of ``Sts`` (up to .06) or ``Sts/Cd`` (.07 on);
- related parties: ``Dbtr/Nm`` (up to .06) or ``Dbtr/Pty/Nm`` (.07 on);
- transaction amount: ``TxDtls/Amt`` (.03 on) or ``TxDtls/AmtDtls/TxAmt/Amt`` (.02);
- structured reference: ``CdtrRefInf/Tp/CdOrPrtry/Cd`` SCOR (RF, Belgian OGM) or ``Prtry``
  QRR (Swiss QR reference); the reference itself in ``CdtrRefInf/Ref``.
Only booked entries (status BOOK) move the balance; pending and information entries are left out.

Nesting is limited to ``MAX_DEPTH`` levels (libxml2 applies no depth limit to a streamed parse):
the deepest path any camt.053 version defines is about 20 levels, so a deeper file is refused at
the first element too deep, before it costs time or memory. The parser's memory then stays
proportional to the statement lines read, whatever the nesting.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, BinaryIO

from lxml import etree

from ledger.bank.files import DEFAULT_MAX_BYTES, Source, open_statement
from ledger.domain.errors import StatementRefused, ValidationError
from ledger.domain.money import minor_digits, parse_amount
from ledger.domain.statements import (
    Direction,
    Statement,
    StatementEntry,
    amount_text,
    check_statement,
    clip,
    normalise_iban,
)

_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.(\d{3})\.001\.(\d{2})$")
SUPPORTED_VERSIONS = range(2, 14)  # .001.02 to .001.13
OPENING_CODES = ("OPBD", "PRCD")  # opening booked; some banks give "previously closed booked"
CLOSING_CODES = ("CLBD",)
_NOT_PROVIDED = "NOTPROVIDED"
#: Deepest nesting accepted, counting the Document (or its envelope) as level 1. The schemas'
#: deepest paths (a party's scheme code, a tax period, a remittance line's amounts) are about 20
#: levels below the Document; envelopes add a few.
MAX_DEPTH = 64
#: Different element paths one statement, balance, entry or transaction may hold (a real one has
#: a few dozen to a couple of hundred), and texts kept for one path (a remittance is cut at 500
#: characters anyway): a wide file is refused or cut, so memory follows the lines, not the file.
MAX_PATHS = 1000
MAX_VALUES = 256
#: Characters kept of one element's text (the longest camt.053 field has 500).
MAX_TEXT = 10_000


def parse_camt(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Statement]:
    """Every statement in the file, each checked (currency, opening + credits - debits =
    closing). A hostile, broken or truncated file raises ``StatementRefused``. The Document
    may stand in an envelope (a business application header around it)."""
    with open_statement(source, max_bytes) as stream:
        _refuse_dtd(stream)
        target = _Target()
        parser = etree.XMLParser(
            target=target,
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
        )
        try:
            while chunk := stream.read(1 << 16):
                parser.feed(chunk)
            statements: list[Statement] = parser.close()
        except etree.XMLSyntaxError as exc:
            raise StatementRefused(
                f"the file is not well-formed XML ({exc}); it may be truncated or damaged: "
                "download it from the bank again"
            ) from None
    if target.prefix is None:
        _root(target.root or "")  # says what the file is, when it is not a statement
    if not statements:
        raise StatementRefused("the file holds no statement (BkToCstmrStmt/Stmt)")
    return statements


_PROLOG_ITEM = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.S)
_DTD_REFUSED = (
    "the file declares a DTD (<!DOCTYPE ...>); bank statements never do, and a DTD can hide "
    "entity expansion or references to other files: refused"
)


def _refuse_dtd(stream: BinaryIO) -> None:
    """Look at what comes before the first element: a DOCTYPE is refused before parsing."""
    head = stream.peek(1 << 16)[: 1 << 16]  # type: ignore[attr-defined]
    head = head.removeprefix(b"\xef\xbb\xbf")
    pos = 0
    while m := _PROLOG_ITEM.match(head, pos):
        pos = m.end()
    rest = head[pos:].lstrip()
    if rest[:9].upper() == b"<!DOCTYPE":
        raise StatementRefused(_DTD_REFUSED)
    if rest and not rest.startswith(b"<"):
        raise StatementRefused("the file is not XML")


Flat = dict[str, list[str]]
#: Elements read as a unit, with the element they must stand in.
_UNITS = {"Stmt": "BkToCstmrStmt", "Bal": "Stmt", "Ntry": "Stmt", "TxDtls": "NtryDtls"}


class _Unit:
    __slots__ = ("depth", "flat", "kind", "parts")

    def __init__(self, kind: str, depth: int) -> None:
        self.kind = kind
        self.depth = depth  # its own place in the path
        self.flat: Flat = {}  # texts below it by relative path: "Refs/EndToEndId"
        self.parts: list[Flat] = []  # Stmt: its balances; Ntry: its transactions


class _Target:
    """Receives the parser's events (no tree is built: a big statement stays small in memory)
    and turns each Stmt, Bal, Ntry and TxDtls into a flat map of its texts, then into values.
    Called twice for each of the file's elements: kept lean."""

    def __init__(self) -> None:
        self.prefix: str | None = None  # "{urn:...camt.053.001.08}"
        self.cut = 0  # len(prefix)
        self.version = ""
        self.root: str | None = None
        self.path: list[str] = []  # local names from the root
        self.rels: list[str] = []  # each open element's path within its unit
        self.text = ""
        self.units: list[_Unit] = []
        self.statements: list[Statement] = []
        self.entries: list[StatementEntry] = []
        self.ntry_count = 0
        self.others = False  # entries that are not booked: totals cannot be compared

    def doctype(self, *_: object) -> None:
        raise StatementRefused(_DTD_REFUSED)

    def start(self, tag: str, attrib: Any) -> None:
        prefix = self.prefix
        if prefix is None:
            self.root = self.root or tag
            if tag.endswith("}Document"):
                prefix, self.version = _root(tag)
                self.prefix, self.cut = prefix, len(prefix)
        local = tag[self.cut :] if prefix and tag.startswith(prefix) else tag
        path = self.path
        if len(path) >= MAX_DEPTH:
            raise _too_deep(path, local)
        inside = _UNITS.get(local)
        if (
            inside is not None
            and prefix
            and path
            and path[-1] == inside
            and (local != "TxDtls" or (self.units and self.units[-1].kind == "Ntry"))
        ):
            self.units.append(_Unit(local, len(path) + 1))
            rel = ""
        elif self.rels and self.rels[-1]:
            rel = self.rels[-1] + "/" + local
        elif self.units and self.units[-1].depth == len(path):
            rel = local  # a child of the unit itself
        else:
            rel = ""
        path.append(local)
        self.rels.append(rel)
        self.text = ""
        if attrib and self.units:
            ccy = attrib.get("Ccy")
            if ccy is not None:
                self._keep(rel + "@Ccy", ccy, local)

    def data(self, text: str) -> None:
        if len(self.text) < MAX_TEXT:  # the rest of an overlong text is not kept
            self.text += text

    def end(self, _tag: str) -> None:  # lxml's target interface
        units = self.units
        rel = self.rels.pop()
        if units and units[-1].depth == len(self.path):
            self._finish(units.pop())
        elif rel and self.text:
            value = self.text.strip()
            if value:
                self._keep(rel, value, rel)
        self.text = ""
        self.path.pop()

    def _keep(self, rel: str, value: str, where: str) -> None:
        unit = self.units[-1]
        values = unit.flat.get(rel)
        if values is None:
            if len(unit.flat) >= MAX_PATHS:
                raise _too_wide(unit, where)
            unit.flat[rel] = [value]
        elif len(values) < MAX_VALUES:
            values.append(value)

    def close(self) -> list[Statement]:
        return self.statements

    def _label(self) -> str:
        stmt = next(u for u in self.units if u.kind == "Stmt")
        sid = _first(stmt.flat, "Id")
        return f"statement {sid}" if sid else f"statement {len(self.statements) + 1} of the file"

    def _finish(self, unit: _Unit) -> None:
        owner = self.units[-1] if self.units else None
        if unit.kind in ("Bal", "TxDtls"):
            if owner is not None:
                owner.parts.append(unit.flat)
        elif unit.kind == "Ntry":
            self.ntry_count += 1
            read = _entry(unit.flat, unit.parts, self.ntry_count, self._label())
            if read is None:
                self.others = True
            else:
                self.entries.extend(read)
        else:
            number = len(self.statements) + 1
            statement = _statement(unit, self.version, self.entries, number)
            _check_summary(unit.flat, statement, self.ntry_count, self.others)
            check_statement(statement)
            self.statements.append(statement)
            self.entries, self.ntry_count, self.others = [], 0, False


def _too_deep(path: list[str], local: str) -> StatementRefused:
    shown = "/".join(name[:40] for name in path[:6])
    return StatementRefused(
        f"the element {local[:40]!r} is nested {len(path) + 1} levels deep (under "
        f"{shown}/...); a camt.053 statement is never deeper than {MAX_DEPTH} levels: the file "
        "is damaged or is not a bank statement; download it from the bank again"
    )


def _too_wide(unit: _Unit, where: str) -> StatementRefused:
    what = {"Stmt": "a statement", "Bal": "a balance", "Ntry": "an entry"}.get(
        unit.kind, "a transaction"
    )
    return StatementRefused(
        f"{what} ({unit.kind}) holds more than {MAX_PATHS} different elements (the last one "
        f"{where[:80]!r}); a real one holds a few dozen: the file is damaged or is not a bank "
        "statement; download it from the bank again"
    )


def _root(tag: str) -> tuple[str, str]:
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
    return "{" + m.group(1) + "}", f"camt.053.001.{version:02d}"


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


def _statement(unit: _Unit, version: str, entries: list[StatementEntry], number: int) -> Statement:
    flat = unit.flat
    sid = _first(flat, "Id")
    label = f"statement {sid}" if sid else f"statement {number} of the file"
    if sid is None:
        raise StatementRefused(f"{label} has no Id")
    account = _first(flat, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
    if account is None:
        raise StatementRefused(f"{label} names no account (Acct/Id/IBAN)")
    balances: dict[str, tuple[int, date | None]] = {}
    currency = _first(flat, "Acct/Ccy")
    for bal in unit.parts:
        code = _first(bal, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry") or "?"
        ccy = _first(bal, "Amt@Ccy")
        currency = currency or ccy
        if ccy != currency:
            raise StatementRefused(
                f"{label}: balance {code} is in {ccy}, but the account is in {currency}"
            )
        minor = _amount(_first(bal, "Amt"), ccy, label, f"balance {code}")
        if _direction(_first(bal, "CdtDbtInd"), f"{label}, balance {code}") is Direction.DEBIT:
            minor = -minor
        balances.setdefault(code, (minor, _flat_date(bal, "Dt", label, code)))
    opening = next((balances[c] for c in OPENING_CODES if c in balances), None)
    closing = next((balances[c] for c in CLOSING_CODES if c in balances), None)
    if opening is None:
        raise StatementRefused(f"{label} has no opening booked balance (Bal with code OPBD)")
    if closing is None:
        raise StatementRefused(f"{label} has no closing booked balance (Bal with code CLBD)")
    if currency is None:
        raise StatementRefused(f"{label} names no currency (Acct/Ccy or the balances' Ccy)")
    seq = _first(flat, "ElctrncSeqNb", "LglSeqNb")
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


def _check_summary(flat: Flat, statement: Statement, ntry_count: int, others: bool) -> None:
    """The statement's own totals (TxsSummry), when it gives them, must match its entries."""
    label = statement.label
    total = _first(flat, "TxsSummry/TtlNtries/NbOfNtries")
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
        text = _first(flat, path)
        if text is None:
            continue
        expected = _amount(text, statement.currency, label, f"summary of {what}")
        found = sum(e.amount_minor for e in statement.entries if e.direction is direction)
        if expected != found:
            raise StatementRefused(
                f"{label}: the summary gives {what} of {amount_text(expected, statement.currency)}"
                f", the entries add up to {amount_text(found, statement.currency)}; the file is "
                "incomplete or damaged"
            )


def _first(flat: Flat, *paths: str) -> str | None:
    for p in paths:
        found = flat.get(p)
        if found:
            return found[0]
    return None


def _flat_date(flat: Flat, path: str, where: str, what: str) -> date | None:
    text = _first(flat, f"{path}/Dt", f"{path}/DtTm")
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StatementRefused(f"{where}: {what} {text!r} is not a date") from None


def _entry(flat: Flat, details: list[Flat], number: int, label: str) -> list[StatementEntry] | None:
    """The booked entry as one or more statement entries (a batch is split when its
    transactions carry their own amounts); None for an entry that is not booked."""
    ref = _first(flat, "AcctSvcrRef")
    where = f"{label}, entry {number}" + (f" (AcctSvcrRef {ref})" if ref else "")
    status = _first(flat, "Sts/Cd", "Sts/Prtry", "Sts") or "BOOK"
    if status != "BOOK":
        return None
    currency = _first(flat, "Amt@Ccy")
    if currency is None:
        raise StatementRefused(f"{where}: the amount has no currency (Amt@Ccy)")
    minor = _amount(_first(flat, "Amt"), currency, where, "amount")
    direction = _direction(_first(flat, "CdtDbtInd"), where)
    booked = _flat_date(flat, "BookgDt", where, "booking date")
    valued = _flat_date(flat, "ValDt", where, "value date")
    if booked is None:
        booked = valued
    if booked is None:
        raise StatementRefused(f"{where} has no booking date")
    reversal = (_first(flat, "RvslInd") or "").lower() in ("true", "1")
    code = _bank_code(flat)
    common: dict[str, Any] = {
        "booking_date": booked,
        "value_date": valued,
        "currency": currency,
        "reversal": reversal,
    }
    # A card payment or a bank's own entry often has no remittance, only the bank's text.
    entry_text = flat.get("AddtlNtryInf", [])
    parts = _split(details, minor, currency, direction, where)
    if parts is None:
        return [
            StatementEntry(
                amount_minor=minor,
                direction=direction,
                bank_reference=ref,
                bank_code=code or (_bank_code(details[0]) if details else None),
                where=where,
                **common,
                **_details(details, direction, entry_text),
            )
        ]
    return [
        StatementEntry(
            amount_minor=part_minor,
            direction=direction,
            bank_reference=_first(tx, "Refs/AcctSvcrRef") or (f"{ref}/{i}" if ref else None),
            bank_code=_bank_code(tx) or code,
            where=f"{where}, transaction {i}",
            **common,
            **_details([tx], direction, entry_text),
        )
        for i, (tx, part_minor) in enumerate(parts, start=1)
    ]


def _split(
    details: list[Flat], minor: int, currency: str, direction: Direction, where: str
) -> list[tuple[Flat, int]] | None:
    """A batch entry's transactions with their amounts, when they add up to the entry."""
    if len(details) < 2:
        return None
    parts = []
    for tx in details:
        path = "Amt" if "Amt" in tx else "AmtDtls/TxAmt/Amt"
        indicator = _first(tx, "CdtDbtInd")
        if (
            path not in tx
            or _first(tx, path + "@Ccy") != currency
            or (indicator is not None and _direction(indicator, where) is not direction)
        ):
            return None
        parts.append((tx, _amount(_first(tx, path), currency, where, "transaction amount")))
    return parts if sum(p for _, p in parts) == minor else None


def _bank_code(flat: Flat) -> str | None:
    domain = _first(flat, "BkTxCd/Domn/Cd")
    family = _first(flat, "BkTxCd/Domn/Fmly/Cd")
    sub = _first(flat, "BkTxCd/Domn/Fmly/SubFmlyCd")
    if domain and family and sub:
        return f"{domain}/{family}/{sub}"
    proprietary = _first(flat, "BkTxCd/Prtry/Cd")
    return clip(f"PRTRY/{proprietary}", 35) if proprietary else None


def _details(details: list[Flat], direction: Direction, entry_text: list[str]) -> dict[str, Any]:
    """Counterparty, references and remittance from the entry's transaction details. Without
    a remittance, the line's text is the transactions' additional information (AddtlTxInf),
    else the entry's (AddtlNtryInf): what the bank shows for a card payment, say."""
    party = "Dbtr" if direction is Direction.CREDIT else "Cdtr"
    out: dict[str, Any] = {}
    texts: list[str] = []
    for tx in details:
        e2e = _first(tx, "Refs/EndToEndId")
        if e2e and e2e != _NOT_PROVIDED:
            out.setdefault("end_to_end_id", clip(e2e, 64))
        name = _first(tx, f"RltdPties/{party}/Pty/Nm", f"RltdPties/{party}/Nm")
        if name:
            out.setdefault("counterparty_name", clip(name))
        iban = _first(tx, f"RltdPties/{party}Acct/Id/IBAN", f"RltdPties/{party}Acct/Id/Othr/Id")
        if iban:
            out.setdefault("counterparty_iban", normalise_iban(iban)[:34])
        texts.extend(tx.get("RmtInf/Ustrd", []) + tx.get("RmtInf/Strd/AddtlRmtInf", []))
        reference = _first(tx, "RmtInf/Strd/CdtrRefInf/Ref")
        if reference:
            out.setdefault("creditor_reference", clip(reference, 40))
        reason = _first(tx, "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry")
        if reason:
            out.setdefault("return_reason", clip(reason, 35))
    if not texts:
        texts = [t for tx in details for t in tx.get("AddtlTxInf", [])] or entry_text
    if texts:
        out["remittance"] = clip(" ".join(texts), 500)
    return out
