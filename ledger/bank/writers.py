"""Statement files written from ``Statement`` values: camt.053 (any version from .02), CODA 2
and CSV. The bank writes the real ones; these serve the demo fund, the tests and the
benchmarks, and show what the parsers expect."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape, quoteattr

from ledger.bank.csv_statement import CsvMapping
from ledger.domain.errors import LedgerError
from ledger.domain.money import from_minor, minor_digits
from ledger.domain.references import parse_reference
from ledger.domain.statements import Direction, Statement, StatementEntry, is_charge


def _amount(minor: int, currency: str) -> str:
    return str(from_minor(abs(minor), currency).amount)


def _bal(code: str, minor: int | None, day: date | None, currency: str) -> str:
    if minor is None or day is None:
        raise ValueError(f"camt.053 needs the {code} balance and its date")
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f"<Amt Ccy={quoteattr(currency)}>{_amount(minor, currency)}</Amt>"
        f"<CdtDbtInd>{'DBIT' if minor < 0 else 'CRDT'}</CdtDbtInd>"
        f"<Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>"
    )


def _text(tag: str, value: str | None) -> str:
    return f"<{tag}>{escape(value)}</{tag}>" if value else ""


def _party(entry: StatementEntry, version: int) -> str:
    role = "Dbtr" if entry.direction is Direction.CREDIT else "Cdtr"
    out = ""
    if entry.counterparty_name:
        name = _text("Nm", entry.counterparty_name)
        out += f"<{role}><Pty>{name}</Pty></{role}>" if version >= 7 else f"<{role}>{name}</{role}>"
    if entry.counterparty_iban:
        out += f"<{role}Acct><Id>{_text('IBAN', entry.counterparty_iban)}</Id></{role}Acct>"
    return f"<RltdPties>{out}</RltdPties>" if out else ""


def _remittance(entry: StatementEntry) -> str:
    out = _text("Ustrd", entry.remittance)
    ref = entry.creditor_reference
    if ref:
        try:
            kind = parse_reference(ref).kind.value
        except LedgerError:
            kind = "rf"
        tp = (
            "<CdOrPrtry><Prtry>QRR</Prtry></CdOrPrtry>"
            if kind == "qrr"
            else "<CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry>"
            + ("<Issr>BBA</Issr>" if kind == "ogm" else "")
        )
        out += f"<Strd><CdtrRefInf><Tp>{tp}</Tp>{_text('Ref', ref)}</CdtrRefInf></Strd>"
    return f"<RmtInf>{out}</RmtInf>" if out else ""


def _entry(entry: StatementEntry, version: int) -> str:
    cur = entry.currency
    amount = f"<Amt Ccy={quoteattr(cur)}>{_amount(entry.amount_minor, cur)}</Amt>"
    indicator = "CRDT" if entry.direction is Direction.CREDIT else "DBIT"
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= 7 else "<Sts>BOOK</Sts>"
    code = ""
    if (
        entry.bank_code
        and entry.bank_code.count("/") == 2
        and not entry.bank_code.startswith("CODA")
    ):
        d, f, s = entry.bank_code.split("/")
        code = (
            f"<BkTxCd><Domn><Cd>{d}</Cd><Fmly><Cd>{f}</Cd>"
            f"<SubFmlyCd>{s}</SubFmlyCd></Fmly></Domn></BkTxCd>"
        )
    tx_amount = (
        f"<AmtDtls><TxAmt>{amount}</TxAmt></AmtDtls>"
        if version == 2
        else amount + f"<CdtDbtInd>{indicator}</CdtDbtInd>"
    )
    refs = _text("EndToEndId", entry.end_to_end_id or "NOTPROVIDED")
    returned = (
        f"<RtrInf><Rsn><Cd>{escape(entry.return_reason)}</Cd></Rsn></RtrInf>"
        if entry.return_reason
        else ""
    )
    details = (
        f"<NtryDtls><TxDtls><Refs>{refs}</Refs>{tx_amount}{_party(entry, version)}"
        f"{_remittance(entry)}{returned}</TxDtls></NtryDtls>"
    )
    return (
        f"<Ntry>{_text('NtryRef', None)}{amount}<CdtDbtInd>{indicator}</CdtDbtInd>"
        + ("<RvslInd>true</RvslInd>" if entry.reversal else "")
        + f"{status}<BookgDt><Dt>{entry.booking_date.isoformat()}</Dt></BookgDt>"
        + (f"<ValDt><Dt>{entry.value_date.isoformat()}</Dt></ValDt>" if entry.value_date else "")
        + _text("AcctSvcrRef", entry.bank_reference)
        + f"{code}{details}</Ntry>\n"
    )


def camt053(
    statements: Sequence[Statement], *, version: int = 8, message_id: str = "MSG-1"
) -> bytes:
    """A camt.053.001.NN file holding ``statements`` (entries and both balances)."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<Document xmlns="{ns}"><BkToCstmrStmt>',
        f"<GrpHdr><MsgId>{escape(message_id)}</MsgId><CreDtTm>{now}</CreDtTm></GrpHdr>\n",
    ]
    for st in statements:
        cur = st.currency
        parts.append(
            f"<Stmt><Id>{escape(st.statement_id)}</Id>"
            + (f"<ElctrncSeqNb>{st.sequence}</ElctrncSeqNb>" if st.sequence is not None else "")
            + f"<CreDtTm>{now}</CreDtTm>"
            + f"<Acct><Id><IBAN>{escape(st.account_iban)}</IBAN></Id><Ccy>{cur}</Ccy></Acct>"
            + _bal("OPBD", st.opening_minor, st.opening_date, cur)
            + _bal("CLBD", st.closing_minor, st.closing_date, cur)
            + f"<TxsSummry><TtlNtries><NbOfNtries>{len(st.entries)}</NbOfNtries></TtlNtries>"
            + f"<TtlCdtNtries><Sum>{_amount(st.credits_minor, cur)}</Sum></TtlCdtNtries>"
            + f"<TtlDbtNtries><Sum>{_amount(st.debits_minor, cur)}</Sum></TtlDbtNtries>"
            + "</TxsSummry>\n"
        )
        parts.extend(_entry(e, version) for e in st.entries)
        parts.append("</Stmt>\n")
    parts.append("</BkToCstmrStmt></Document>\n")
    return "".join(parts).encode()


# -- CODA ----------------------------------------------------------------------------------


def _ddmmyy(day: date | None) -> str:
    return day.strftime("%d%m%y") if day else "000000"


def _coda_amount(minor: int, currency: str) -> str:
    return f"{abs(minor) * 10 ** (3 - minor_digits(currency)):015d}"


def _record(text: str) -> str:
    if len(text) > 128:
        raise ValueError(f"a CODA record has 128 characters, not {len(text)}: {text!r}")
    return text.ljust(128)


def _coda_account(st: Statement) -> tuple[str, str]:
    structure = "2" if st.account_iban.startswith("BE") else "3"
    zone = (
        st.account_iban.ljust(34) + st.currency
        if structure == "3"
        else (st.account_iban.ljust(31) + "   " + st.currency)
    )
    return structure, zone


def coda(statements: Sequence[Statement]) -> bytes:
    """A CODA 2 file, one 0...9 group per statement (movements with detail number 0000)."""
    lines: list[str] = []
    for number, st in enumerate(statements, start=1):
        if st.opening_minor is None or st.closing_minor is None:
            raise ValueError(f"CODA needs the opening and closing balance of {st.label}")
        group: list[str] = []
        structure, zone = _coda_account(st)
        created = st.closing_date or date(2026, 1, 1)
        group.append(
            f"00000{_ddmmyy(created)}00005 {' ' * 7}{'0' * 10}{'FUNDLEDGER'.ljust(26)}"
            f"GEBABEBB   {'0' * 11} 00000{' ' * 39}2"
        )
        seq = f"{(st.sequence or number) % 1000:03d}"
        group.append(
            _record(
                f"1{structure}{seq}{zone}{'1' if st.opening_minor < 0 else '0'}"
                f"{_coda_amount(st.opening_minor, st.currency)}{_ddmmyy(st.opening_date)}"
                + "FUNDLEDGER".ljust(26)
                + "Current account".ljust(35)
                + seq
            )
        )
        counted = 2  # records 1 and 8
        debits = credits = 0
        for i, e in enumerate(st.entries, start=1):
            counted += 3
            if e.direction is Direction.CREDIT:
                credits += e.amount_minor
            else:
                debits += e.amount_minor
            if e.bank_code and e.bank_code.startswith("CODA/"):
                family, transaction, category = e.bank_code.split("/")[1:4]
            elif is_charge(e):
                family, transaction, category = "80", "37", "000"
            else:
                family, transaction, category = (
                    "01",
                    "50" if e.direction is Direction.CREDIT else "01",
                    "000",
                )
            if (
                e.creditor_reference
                and len(e.creditor_reference) == 12
                and e.creditor_reference.isdigit()
            ):
                structured, comm = "1", ("101" + e.creditor_reference).ljust(53)
                rest = e.remittance or ""
            else:
                structured, comm = "0", (e.remittance or "")[:53].ljust(53)
                rest = (e.remittance or "")[53:]
            seqno = f"{i % 10000:04d}"
            ref = (e.bank_reference or "").ljust(21)[:21]
            group.append(
                _record(
                    f"21{seqno}0000{ref}{'1' if e.direction is Direction.DEBIT else '0'}"
                    f"{_coda_amount(e.amount_minor, e.currency)}{_ddmmyy(e.value_date)}"
                    f"0{family}{transaction}{category}{structured}{comm}"
                    f"{_ddmmyy(e.booking_date)}{seq}0" + "1 0"
                )
            )
            r_type = "2" if e.return_reason else ("4" if e.reversal else " ")
            group.append(
                _record(
                    f"22{seqno}0000{rest[:53].ljust(53)}{(e.end_to_end_id or '')[:35].ljust(35)}"
                    f"{'GEBABEBB'.ljust(11)}   {r_type}{(e.return_reason or '')[:4].ljust(4)}"
                    + " " * 8
                    + "1 0"
                )
            )
            group.append(
                _record(
                    f"23{seqno}0000{(e.counterparty_iban or '').ljust(37)[:37]}"
                    f"{(e.counterparty_name or '')[:35].ljust(35)}{rest[53:96].ljust(43)}0 0"
                )
            )
        group.append(
            _record(
                f"8{seq}{zone}{'1' if st.closing_minor < 0 else '0'}"
                f"{_coda_amount(st.closing_minor, st.currency)}{_ddmmyy(st.closing_date)}"
            )[:127]
            + "0"
        )
        scale = 10 ** (3 - minor_digits(st.currency))
        group.append(
            _record(f"9{' ' * 15}{counted:06d}{debits * scale:015d}{credits * scale:015d}")[:127]
            + ("2" if number == len(statements) else "1")
        )
        lines.extend(group)
    return ("\n".join(lines) + "\n").encode("cp1252", errors="replace")


# -- CSV -----------------------------------------------------------------------------------


def csv_export(statement: Statement, mapping: CsvMapping) -> bytes:
    """A bank's CSV export as ``mapping`` reads it (columns named by header)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=mapping.delimiter, lineterminator="\r\n")
    for _ in range(mapping.skip_lines):
        out.write("Export of account " + statement.account_iban + "\r\n")
    columns = [
        (name, getattr(mapping, name))
        for name in (
            "date",
            "value_date",
            "amount",
            "debit",
            "credit",
            "currency",
            "counterparty",
            "iban",
            "communication",
            "reference",
            "bank_reference",
            "type",
        )
        if getattr(mapping, name)
    ]
    writer.writerow([header for _, header in columns])

    def number(minor: int) -> str:
        text = _amount(minor, statement.currency).replace(".", mapping.decimal_separator)
        return ("-" if minor < 0 else "") + text

    for e in statement.entries:
        values = {
            "date": e.booking_date.strftime(mapping.date_format),
            "value_date": (e.value_date or e.booking_date).strftime(mapping.date_format),
            "amount": number(e.signed_minor),
            "debit": number(e.amount_minor) if e.direction is Direction.DEBIT else "",
            "credit": number(e.amount_minor) if e.direction is Direction.CREDIT else "",
            "currency": e.currency,
            "counterparty": e.counterparty_name or "",
            "iban": e.counterparty_iban or "",
            "communication": e.remittance or "",
            "reference": e.creditor_reference or "",
            "bank_reference": e.bank_reference or "",
            "type": "Bank charges" if is_charge(e) else "Transfer",
        }
        writer.writerow([values[name] for name, _ in columns])
    return out.getvalue().encode(mapping.encoding)
