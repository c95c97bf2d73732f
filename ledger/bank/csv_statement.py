"""CSV exports from e-banking, read through a column mapping saved per bank.

Each bank writes its own columns, dates, decimal separator, encoding and delimiter; a
``CsvMapping`` says which is which. A CSV export carries no balances: the statement comes back
without them, and the import takes them from the treasurer or from the previous statement.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.bank.files import DEFAULT_MAX_BYTES, Source, read_all
from ledger.domain.errors import StatementRefused, ValidationError
from ledger.domain.money import minor_digits
from ledger.domain.statements import (
    Direction,
    Statement,
    StatementEntry,
    check_statement,
    clip,
    normalise_iban,
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_COLUMN_FIELDS = (
    "date",
    "amount",
    "debit",
    "credit",
    "value_date",
    "currency",
    "counterparty",
    "iban",
    "communication",
    "reference",
    "bank_reference",
    "type",
)
MAX_ROWS = 500_000


@dataclass(frozen=True, slots=True)
class CsvMapping:
    """Where a bank's CSV export keeps each field. A column is named by its header, or by its
    position as ``#1``, ``#2``... Either ``amount`` (signed) or ``debit`` and ``credit``."""

    name: str
    date: str
    amount: str | None = None
    debit: str | None = None
    credit: str | None = None
    value_date: str | None = None
    currency: str | None = None
    counterparty: str | None = None
    iban: str | None = None
    communication: str | None = None
    reference: str | None = None  # structured communication / creditor reference
    bank_reference: str | None = None
    type: str | None = None  # the bank's description of the transaction kind
    charge_pattern: str | None = None  # regex on type and communication: a bank charge
    date_format: str = "%d/%m/%Y"
    decimal_separator: str = ","
    thousands_separator: str = ""
    encoding: str = "utf-8"
    delimiter: str = ";"
    skip_lines: int = 0  # lines before the header
    account_iban: str | None = None  # the account the export belongs to

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValidationError(
                "a mapping name is 1 to 40 lowercase letters, digits, '-' or '_'", "name"
            )
        self._check_columns()
        self._check_text_format()
        if not isinstance(self.skip_lines, int) or not 0 <= self.skip_lines <= 100:
            raise ValidationError("skip_lines must be between 0 and 100", "skip_lines")
        if self.charge_pattern is not None:
            if len(self.charge_pattern) > 200:
                raise ValidationError("charge_pattern is at most 200 characters", "charge_pattern")
            try:
                re.compile(self.charge_pattern)
            except re.error as exc:
                raise ValidationError(
                    f"charge_pattern is not a regex: {exc}", "charge_pattern"
                ) from None

    def _check_columns(self) -> None:
        """Each column named is a header; a date, and an amount or debit and credit."""
        for name in _COLUMN_FIELDS:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 100):
                raise ValidationError(
                    f"column {name} must be a header of 1 to 100 characters", name
                )
        if not self.date:
            raise ValidationError("say which column holds the booking date", "date")
        if (self.amount is None) == (self.debit is None and self.credit is None):
            raise ValidationError(
                "give either an amount column (signed) or debit and credit columns", "amount"
            )
        if self.amount is None and (self.debit is None or self.credit is None):
            raise ValidationError("give both the debit and the credit column", "debit")

    def _check_text_format(self) -> None:
        """Separators, encoding and date format that can read a file."""
        for name in ("delimiter", "decimal_separator"):
            if len(getattr(self, name)) != 1:
                raise ValidationError(f"{name} must be one character", name)
        if len(self.thousands_separator) > 1 or self.thousands_separator == self.decimal_separator:
            raise ValidationError(
                "thousands_separator must be empty or one character other than the decimal "
                "separator",
                "thousands_separator",
            )
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValidationError(f"encoding {self.encoding!r} is unknown", "encoding") from None
        if "%" not in self.date_format or len(self.date_format) > 40:
            raise ValidationError(
                "date_format is a strftime pattern such as %d/%m/%Y", "date_format"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CsvMapping:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(
                f"unknown mapping field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                unknown[0],
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValidationError(f"mapping is incomplete: {exc}", "name") from None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def parse_csv(
    source: Source,
    mapping: CsvMapping,
    *,
    currency: str,
    account_iban: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[Statement]:
    """One statement without balances from a CSV export; rows are checked one by one."""
    data = read_all(source, max_bytes)
    try:
        text = data.decode(mapping.encoding)
    except UnicodeDecodeError as exc:
        raise StatementRefused(
            f"the file is not in {mapping.encoding} (byte {exc.start}); check the encoding of "
            f"mapping {mapping.name}"
        ) from None
    iban = normalise_iban(account_iban or mapping.account_iban or "")
    if not iban:
        raise StatementRefused(
            "a CSV export does not say which account it belongs to: give the account's IBAN",
            field="iban",
        )
    lines = text.lstrip("\ufeff").splitlines()[mapping.skip_lines :]
    reader = csv.reader(lines, delimiter=mapping.delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise StatementRefused("the CSV file has no header line") from None
    except csv.Error as exc:
        raise StatementRefused(f"CSV header line: {exc}") from None
    columns = _columns(mapping, [h.strip() for h in header])
    charge = re.compile(mapping.charge_pattern) if mapping.charge_pattern else None
    entries: list[StatementEntry] = []
    try:
        for row in reader:
            line = reader.line_num + mapping.skip_lines
            if not any(cell.strip() for cell in row):
                continue
            if len(entries) >= MAX_ROWS:
                raise StatementRefused(f"the CSV file has more than {MAX_ROWS} rows")
            entries.append(_entry(mapping, columns, row, line, currency, charge))
    except csv.Error as exc:
        raise StatementRefused(
            f"CSV line {reader.line_num + mapping.skip_lines}: {exc}; the file is damaged"
        ) from None
    if not entries:
        raise StatementRefused("the CSV file holds no movement")
    days = [e.booking_date for e in entries]
    statement = Statement(
        account_iban=iban,
        currency=currency,
        statement_id="csv-" + hashlib.sha256(data).hexdigest()[:24],
        entries=tuple(entries),
        source_format=f"csv:{mapping.name}",
        opening_date=min(days),
        closing_date=max(days),
        where=f"CSV export ({mapping.name})",
    )
    check_statement(statement)
    return [statement]


def _columns(mapping: CsvMapping, header: list[str]) -> dict[str, int]:
    out = {}
    for name in _COLUMN_FIELDS:
        spec = getattr(mapping, name)
        if spec is None:
            continue
        if re.fullmatch(r"#\d{1,3}", spec):
            index = int(spec[1:]) - 1
            if not 0 <= index < len(header):
                raise StatementRefused(
                    f"mapping {mapping.name}: column {spec} ({name}) is beyond the header"
                )
        elif spec in header:
            index = header.index(spec)
        else:
            raise StatementRefused(
                f"mapping {mapping.name}: the file has no column {spec!r} ({name}); its columns "
                f"are {', '.join(repr(h) for h in header[:20])}"
            )
        out[name] = index
    return out


def _cell(row: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def _number(mapping: CsvMapping, text: str, line: int, what: str, currency: str) -> int:
    raw = text.replace("\u00a0", "").replace(" ", "")
    if mapping.thousands_separator:
        raw = raw.replace(mapping.thousands_separator, "")
    raw = raw.replace(mapping.decimal_separator, ".")
    if raw.startswith("+"):
        raw = raw[1:]
    if not re.fullmatch(r"-?\d{1,15}(\.\d{1,5})?", raw):
        raise StatementRefused(f"CSV line {line}: {what} {text!r} is not an amount")
    value = Decimal(raw)
    digits = minor_digits(currency)
    try:
        scaled = value.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise InvalidOperation
    except InvalidOperation:
        raise StatementRefused(
            f"CSV line {line}: {what} {text!r} has more decimals than {currency} allows"
        ) from None
    return int(scaled)


def _day(mapping: CsvMapping, text: str, line: int, what: str) -> date:
    try:
        return datetime.strptime(text, mapping.date_format).date()  # noqa: DTZ007 - a date only
    except ValueError:
        raise StatementRefused(
            f"CSV line {line}: {what} {text!r} does not match the date format "
            f"{mapping.date_format} of mapping {mapping.name}"
        ) from None


def _entry(
    mapping: CsvMapping,
    columns: dict[str, int],
    row: list[str],
    line: int,
    currency: str,
    charge: re.Pattern[str] | None,
) -> StatementEntry:
    def cell(name: str) -> str:
        return _cell(row, columns, name)

    if mapping.amount is not None:
        signed = _number(mapping, cell("amount"), line, "amount", currency)
    else:
        debit, credit = cell("debit"), cell("credit")
        if bool(debit) == bool(credit):
            raise StatementRefused(
                f"CSV line {line}: give a debit or a credit amount, not both or none"
            )
        signed = (
            -abs(_number(mapping, debit, line, "debit", currency))
            if debit
            else abs(_number(mapping, credit, line, "credit", currency))
        )
    row_currency = cell("currency") or currency
    if row_currency != currency:
        raise StatementRefused(
            f"CSV line {line}: the amount is in {row_currency}, but the account is in {currency}"
        )
    value_text = cell("value_date")
    kind, communication = cell("type"), cell("communication")
    is_charge = charge is not None and bool(charge.search(kind) or charge.search(communication))
    return StatementEntry(
        booking_date=_day(mapping, cell("date"), line, "date"),
        amount_minor=abs(signed),
        currency=currency,
        direction=Direction.DEBIT if signed < 0 else Direction.CREDIT,
        bank_reference=clip(cell("bank_reference"), 56),
        value_date=_day(mapping, value_text, line, "value date") if value_text else None,
        counterparty_name=clip(cell("counterparty")),
        counterparty_iban=normalise_iban(cell("iban"))[:34] or None,
        remittance=clip(communication, 500),
        creditor_reference=clip(cell("reference"), 40),
        bank_code="CSV/CHRG" if is_charge else None,
        where=f"CSV line {line}",
    )
