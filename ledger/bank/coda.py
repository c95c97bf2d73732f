"""Belgian CODA statements, version 2 (Febelfin standard 2.x).

Fixed-width records of 128 characters: 0 header, 1 old balance, 2.1/2.2/2.3 movement, 3.1/3.2/3.3
information, 4 free message, 8 new balance, 9 trailer; a file may hold several statements, one
0...9 group each. Amounts have 15 digits with 3 implied decimals and a sign code (0 credit,
1 debit). Every record's length is checked, and the trailer's record count and debit and credit
totals must agree with the records, or the file is refused naming the line and the figure.

Movements with detail number 0000 make the balance; a globalisation (one movement for a batch)
is replaced by its details when they add up to it, so each payment finds its own loan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from ledger.bank.files import DEFAULT_MAX_BYTES, Source, read_all
from ledger.domain.errors import StatementRefused
from ledger.domain.money import minor_digits
from ledger.domain.statements import (
    Direction,
    Statement,
    StatementEntry,
    check_statement,
    clip,
    normalise_iban,
)

RECORD = 128
#: Structured communication types that carry a Belgian structured communication (OGM).
OGM_TYPES = ("101", "102")


def parse_coda(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Statement]:
    """Every statement in the file, each checked against its trailer and its balances."""
    data = read_all(source, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    lines = [line.rstrip("\r") for line in text.lstrip("\ufeff").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if len(line) != RECORD:
            raise StatementRefused(
                f"CODA line {number} is {len(line)} characters long; every record has {RECORD}: "
                "the file is truncated or was changed by hand"
            )
    statements = list(_groups(lines))
    if not statements:
        raise StatementRefused("the CODA file holds no statement")
    return statements


@dataclass
class _Movement:
    line: int
    sequence: str
    detail: str
    reference: str
    direction: Direction
    minor: int
    value_date: date | None
    entry_date: date | None
    code: str
    structured: bool
    communication: str
    customer_reference: str = ""
    r_type: str = ""
    r_reason: str = ""
    counterparty_account: str = ""
    counterparty_name: str = ""
    information: list[str] = field(default_factory=list)


@dataclass
class _Group:
    start: int
    iban: str = ""
    currency: str = ""
    old: tuple[int, date | None] | None = None
    new: tuple[int, date | None] | None = None
    sequence: str = ""
    counted: int = 0
    debits: int = 0
    credits: int = 0
    movements: list[_Movement] = field(default_factory=list)


def _groups(lines: list[str]) -> Iterator[Statement]:
    # What each record inside a statement adds to it (4, free communication, adds nothing).
    records: dict[str, Callable[[_Group, str, int], None]] = {
        "1": _old_balance,
        "2": _movement,
        "3": _information,
        "8": _new_balance,
    }
    group: _Group | None = None
    number_in_file = 0
    for n, line in enumerate(lines, start=1):
        kind = line[0]
        if kind == "0":
            _check_header(group, line, n)
            group = _Group(start=n)
            number_in_file += 1
        elif group is None:
            raise StatementRefused(f"CODA line {n}: record {kind!r} before the header record (0)")
        elif kind == "9":
            yield _finish(group, line, n, number_in_file)
            group = None
        elif kind in records:
            group.counted += 1
            records[kind](group, line, n)
        elif kind != "4":
            raise StatementRefused(f"CODA line {n}: unknown record type {kind!r}")
    if group is not None:
        raise StatementRefused(
            f"the CODA file ends without its trailer record (9) after line {len(lines)}: it is "
            "truncated"
        )


def _check_header(group: _Group | None, line: str, n: int) -> None:
    if group is not None:
        raise StatementRefused(f"CODA line {n}: a new header before the trailer (9)")
    if line[127] != "2":
        raise StatementRefused(
            f"CODA line {n}: version code {line[127]!r}; only CODA version 2 is supported"
        )


def _digits(line: str, start: int, end: int, n: int, what: str) -> int:
    """Positions ``start`` to ``end`` (1-based, inclusive) as a number."""
    text = line[start - 1 : end]
    if not text.isdigit():
        raise StatementRefused(
            f"CODA line {n}, positions {start}-{end}: {what} {text!r} is not a number"
        )
    return int(text)


def _amount(line: str, start: int, currency: str, n: int, what: str) -> int:
    """15 digits with 3 implied decimals, as minor units of ``currency``."""
    thousandths = _digits(line, start, start + 14, n, what)
    digits = minor_digits(currency) if currency else 2
    scale = 10 ** (3 - digits) if digits <= 3 else 1
    if thousandths % scale:
        raise StatementRefused(
            f"CODA line {n}: {what} {thousandths / 1000} has more decimals than {currency} allows"
        )
    return thousandths // scale


def _sign(char: str, n: int, what: str) -> Direction:
    if char == "0":
        return Direction.CREDIT
    if char == "1":
        return Direction.DEBIT
    raise StatementRefused(f"CODA line {n}: sign of the {what} {char!r} is neither 0 nor 1")


def _date(text: str, n: int, what: str) -> date | None:
    if text in ("000000", "      "):
        return None
    try:
        return date(2000 + int(text[4:6]), int(text[2:4]), int(text[0:2]))
    except ValueError:
        raise StatementRefused(f"CODA line {n}: {what} {text!r} is not a date (DDMMYY)") from None


def _account(structure: str, zone: str, n: int) -> tuple[str, str]:
    """(account, currency) from the 37-character account zone of records 1 and 8."""
    if structure == "0":  # Belgian account number: 12 digits, blank, currency
        return zone[0:12].strip(), zone[13:16].strip()
    if structure in ("1", "2", "3"):  # foreign number or IBAN, currency in the last 3
        return zone[0:34].strip(), zone[34:37].strip()
    raise StatementRefused(f"CODA line {n}: account structure {structure!r} is unknown")


def _old_balance(group: _Group, line: str, n: int) -> None:
    account, currency = _account(line[1], line[5:42], n)
    if not account or len(currency) != 3:
        raise StatementRefused(
            f"CODA line {n}: the old balance record names no account or currency"
        )
    group.iban, group.currency = normalise_iban(account), currency
    sign = _sign(line[42], n, "old balance")
    minor = _amount(line, 44, currency, n, "old balance")
    group.old = (
        minor if sign is Direction.CREDIT else -minor,
        _date(line[58:64], n, "old balance date"),
    )
    group.sequence = line[125:128]


def _new_balance(group: _Group, line: str, n: int) -> None:
    if group.old is None:
        raise StatementRefused(f"CODA line {n}: new balance (8) without an old balance (1)")
    sign = _sign(line[41], n, "new balance")
    minor = _amount(line, 43, group.currency, n, "new balance")
    group.new = (
        minor if sign is Direction.CREDIT else -minor,
        _date(line[57:63], n, "new balance date"),
    )


def _movement(group: _Group, line: str, n: int) -> None:
    if group.old is None:
        raise StatementRefused(f"CODA line {n}: movement before the old balance record (1)")
    article = line[1]
    sequence, detail = line[2:6], line[6:10]
    if article == "1":
        direction = _sign(line[31], n, "movement")
        group.movements.append(
            _Movement(
                line=n,
                sequence=sequence,
                detail=detail,
                reference=line[10:31].strip(),
                direction=direction,
                minor=_amount(line, 33, group.currency, n, "amount"),
                value_date=_date(line[47:53], n, "value date"),
                entry_date=_date(line[115:121], n, "entry date"),
                code=f"CODA/{line[54:56]}/{line[56:58]}/{line[58:61]}",
                structured=line[61] == "1",
                communication=line[62:115],
            )
        )
        return
    current = group.movements[-1] if group.movements else None
    if current is None or (current.sequence, current.detail) != (sequence, detail):
        raise StatementRefused(
            f"CODA line {n}: movement record 2.{article} does not follow its record 2.1 "
            f"(sequence {sequence}, detail {detail})"
        )
    if article == "2":
        current.communication += line[10:63]
        current.customer_reference = line[63:98].strip()
        current.r_type = line[112].strip()
        current.r_reason = line[113:117].strip()
    elif article == "3":
        current.counterparty_account = line[10:47].strip()
        current.counterparty_name = line[47:82].strip()
        current.communication += line[82:125]
    else:
        raise StatementRefused(f"CODA line {n}: unknown movement record 2.{article}")


def _information(group: _Group, line: str, n: int) -> None:
    sequence = line[2:6]
    owner = next((m for m in reversed(group.movements) if m.sequence == sequence), None)
    if owner is None:
        raise StatementRefused(f"CODA line {n}: information record for no movement ({sequence})")
    if line[1] == "1":
        owner.information.append(line[40:113])
    elif line[1] == "2":
        owner.information.append(line[10:115])
    elif line[1] == "3":
        owner.information.append(line[10:100])
    else:
        raise StatementRefused(f"CODA line {n}: unknown information record 3.{line[1]}")


def _finish(group: _Group, line: str, n: int, number_in_file: int) -> Statement:
    label_seq = group.sequence.strip() or "?"
    label = f"CODA statement {number_in_file} (sequence {label_seq}) of account {group.iban}"
    if group.old is None or group.new is None:
        raise StatementRefused(f"{label}: an old (1) or new (8) balance record is missing")
    count = _digits(line, 17, 22, n, "number of records")
    debits = _digits(line, 23, 37, n, "total of debits")
    credits = _digits(line, 38, 52, n, "total of credits")
    if count != group.counted:
        raise StatementRefused(
            f"{label}: the trailer (line {n}) counts {count} records, the file holds "
            f"{group.counted}; records are missing or were added"
        )
    mains = [m for m in group.movements if m.detail == "0000"]
    scale = 10 ** (3 - minor_digits(group.currency))
    for what, given, direction in (
        ("debits", debits, Direction.DEBIT),
        ("credits", credits, Direction.CREDIT),
    ):
        found = sum(m.minor for m in mains if m.direction is direction) * scale
        if given != found:
            raise StatementRefused(
                f"{label}: the trailer (line {n}) gives {what} of {given / 1000:.3f}, the "
                f"movements add up to {found / 1000:.3f}; the file is incomplete or damaged"
            )
    entries: list[StatementEntry] = []
    for main in mains:
        details = [m for m in group.movements if m.sequence == main.sequence and m.detail != "0000"]
        same = all(d.direction is main.direction for d in details)
        use = (
            details if details and same and sum(d.minor for d in details) == main.minor else [main]
        )
        entries.extend(_entry(m, group, label) for m in use)
    sequence = group.sequence if group.sequence.strip("0 ") else ""
    closing_date = group.new[1]
    statement = Statement(
        account_iban=group.iban,
        currency=group.currency,
        statement_id=(
            f"{closing_date.year if closing_date else 0}-{sequence}"
            if sequence
            else f"{closing_date.isoformat() if closing_date else 'undated'}"
        ),
        entries=tuple(entries),
        source_format="coda",
        sequence=int(sequence) if sequence.isdigit() else None,
        opening_minor=group.old[0],
        opening_date=group.old[1],
        closing_minor=group.new[0],
        closing_date=closing_date,
        where=label,
    )
    check_statement(statement)
    return statement


def _entry(m: _Movement, group: _Group, label: str) -> StatementEntry:
    where = f"{label}, movement {m.sequence}" + (f"/{m.detail}" if m.detail != "0000" else "")
    where += f" (line {m.line})"
    reference = None
    remittance = m.communication
    if m.structured:
        kind, body = m.communication[:3], m.communication[3:]
        if kind in OGM_TYPES:
            reference = body[:12]
            remittance = body[12:]
        else:
            remittance = body
    text = " ".join(part for part in (remittance, *m.information) if part.strip())
    booked = m.entry_date or (group.new[1] if group.new else None)
    if booked is None:
        raise StatementRefused(f"{where}: no entry date")
    account = m.counterparty_account.split(" ")[0] if m.counterparty_account else ""
    return StatementEntry(
        booking_date=booked,
        amount_minor=m.minor,
        currency=group.currency,
        direction=m.direction,
        bank_reference=(m.reference + (f"/{m.detail}" if m.detail != "0000" else ""))[:56] or None,
        value_date=m.value_date,
        reversal=m.r_type in ("4", "5"),
        end_to_end_id=clip(m.customer_reference, 64),
        counterparty_name=clip(m.counterparty_name),
        counterparty_iban=normalise_iban(account)[:34] or None,
        remittance=clip(text, 500),
        creditor_reference=reference,
        bank_code=m.code,
        return_reason=(m.r_reason or f"R{m.r_type}") if m.r_type in ("1", "2", "3") else None,
        where=where,
    )
