"""Statement parsers on files the project writes: every camt.053 version, CODA, CSV with two
banks' mappings; and hostile or broken files, each refused with what is wrong."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from ledger.bank.camt import MAX_DEPTH, MAX_PATHS, parse_camt
from ledger.bank.coda import parse_coda
from ledger.bank.csv_statement import CsvMapping, parse_csv
from ledger.bank.files import StatementFormat, detect_format, read_all
from ledger.bank.writers import camt053, coda, csv_export
from ledger.domain.errors import StatementRefused, ValidationError
from ledger.domain.statements import (
    Direction,
    Statement,
    StoredStatement,
    check_continuity,
    end_to_end_id,
    entry_id_of,
    fingerprint,
    iban_digest,
    is_charge,
    line_keys,
    payment_reference,
    sequence_gaps,
)
from tests.support.limits import memory_limit, peak_memory
from tests.support.statements import (
    FUND_IBAN,
    HASH_KEY,
    PAYER_IBAN,
    closing_of,
    entry,
    statement,
)

OGM = "000000000101"  # +++000/0000/00101+++
RF = "RF740000000001"
QRR = "000000000000000000000000011"


def sample(iban: str = FUND_IBAN, currency: str = "EUR") -> Statement:
    return statement(
        "2026-03-A",
        125_000,
        [
            entry("2026-03-02", "70.83", ref="R1", currency=currency, creditor_reference=OGM,
                  counterparty_name="Amina Haile", counterparty_iban=PAYER_IBAN),
            entry("2026-03-03", "7.50", "debit", ref="C1", currency=currency,
                  bank_code="ACMT/MDOP/CHRG"),
            entry("2026-03-04", "20.00", ref="U1", currency=currency,
                  remittance="loyer mars +++000/0000/00202+++ merci"),
            entry("2026-03-05", "1700.00", "debit", ref="D1", currency=currency,
                  end_to_end_id="FL-E12", counterparty_iban="BE62510007547061"),
        ],
        iban=iban,
        currency=currency,
        sequence=7,
    )  # fmt: skip


@pytest.mark.parametrize("version", [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
def test_camt053_every_version_reads_back_the_same_statement(version: int) -> None:
    st = sample()
    [read] = parse_camt(camt053([st], version=version))
    assert read.source_format == f"camt.053.001.{version:02d}"
    assert (read.account_iban, read.currency, read.statement_id, read.sequence) == (
        FUND_IBAN, "EUR", "2026-03-A", 7,
    )  # fmt: skip
    assert (read.opening_minor, read.closing_minor) == (
        125_000,
        125_000 + 7083 - 750 + 2000 - 170000,
    )
    assert (read.opening_date, read.closing_date) == (date(2026, 3, 1), date(2026, 3, 14))
    first, charge, free, payout = read.entries
    assert (first.amount_minor, first.direction, first.creditor_reference) == (
        7083,
        Direction.CREDIT,
        OGM,
    )
    assert (first.counterparty_name, first.counterparty_iban) == ("Amina Haile", PAYER_IBAN)
    assert is_charge(charge) and charge.direction is Direction.DEBIT
    assert payment_reference(free) is not None and payment_reference(free).value == "000000000202"  # type: ignore[union-attr]
    assert payout.end_to_end_id == "FL-E12" and entry_id_of(payout.end_to_end_id) == 12
    assert payout.counterparty_iban == "BE62510007547061"  # the creditor, on a debit


def test_camt053_several_statements_in_one_file_and_an_envelope() -> None:
    a = sample()
    b = replace(statement("2026-03-B", closing_of(a), [entry("2026-03-20", "5.00", ref="R9")]),
                sequence=8)  # fmt: skip
    data = camt053([a, b], version=8)
    wrapped = data.replace(b"<Document", b"<message><AppHdr><Fr>BANK</Fr></AppHdr><Document", 1)
    wrapped = wrapped.replace(b"</Document>", b"</Document></message>")
    for blob in (data, wrapped):
        read = parse_camt(blob)
        assert [s.statement_id for s in read] == ["2026-03-A", "2026-03-B"]
        assert read[1].entries[0].amount_minor == 500


def test_camt053_rf_in_scor_and_qrr_in_proprietary() -> None:
    st = statement("S", 0, [entry("2026-03-02", "10.00", ref="A", creditor_reference=RF),
                            entry("2026-03-02", "12.00", ref="B", creditor_reference=QRR,
                                  currency="CHF")], currency="CHF")  # fmt: skip
    st = replace(st, entries=(replace(st.entries[0], currency="CHF"), st.entries[1]))
    data = camt053([st], version=4)
    assert b"<Cd>SCOR</Cd>" in data and b"<Prtry>QRR</Prtry>" in data
    read = parse_camt(data)[0]
    refs = [payment_reference(e) for e in read.entries]
    assert [(r.kind.value, r.value) for r in refs if r] == [("rf", RF), ("qrr", QRR)]


def test_camt053_batch_entry_is_split_into_its_transactions() -> None:
    data = camt053([statement("S", 0, [entry("2026-03-02", "30.00", ref="B1")])], version=8)
    tx = (
        b'<TxDtls><Refs><EndToEndId>A</EndToEndId></Refs><Amt Ccy="EUR">10.00</Amt>'
        b"<RmtInf><Strd><CdtrRefInf><Ref>000000000101</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"
        b'<TxDtls><Refs><EndToEndId>B</EndToEndId></Refs><Amt Ccy="EUR">20.00</Amt>'
        b"<RmtInf><Ustrd>+++000/0000/00202+++</Ustrd></RmtInf></TxDtls>"
    )
    start = data.index(b"<NtryDtls>") + len(b"<NtryDtls>")
    end = data.index(b"</NtryDtls>")
    read = parse_camt(data[:start] + tx + data[end:])[0]
    assert [(e.amount_minor, e.bank_reference, e.end_to_end_id) for e in read.entries] == [
        (1000, "B1/1", "A"),
        (2000, "B1/2", "B"),
    ]


def test_camt053_pending_entries_do_not_move_the_balance() -> None:
    data = camt053([statement("S", 0, [entry("2026-03-02", "30.00", ref="B1")])], version=4)
    pending = data.replace(b"<Sts>BOOK</Sts>", b"<Sts>PDNG</Sts>")
    with pytest.raises(StatementRefused, match=r"does not add up"):
        parse_camt(pending)  # the closing balance counted it: the file disagrees with itself


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((b'<Amt Ccy="EUR">70.83</Amt>', b'<Amt Ccy="EUR">70.38</Amt>'), "gives credits of 90.83"),
        ((b"<Cd>CLBD</Cd>", b"<Cd>XXXX</Cd>"), "no closing booked balance"),
        ((b'<Amt Ccy="EUR">7.50</Amt>', b'<Amt Ccy="USD">7.50</Amt>'), "is in USD"),
        ((b'<Amt Ccy="EUR">20.00</Amt>', b'<Amt Ccy="EUR">20.001</Amt>'), "more decimals"),
        ((b'<Amt Ccy="EUR">20.00</Amt>', b'<Amt Ccy="EUR">twenty</Amt>'), "not an amount"),
        ((b"<NbOfNtries>4</NbOfNtries>", b"<NbOfNtries>5</NbOfNtries>"), "counts 5 entries"),
        ((b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBT</CdtDbtInd>"), "neither CRDT"),
        ((b"camt.053.001.08", b"camt.054.001.08"), "debit/credit notification"),
        ((b"camt.053.001.08", b"camt.053.001.01"), "not supported"),
    ],
)
def test_camt053_wrong_figures_are_refused_naming_statement_entry_and_figure(
    change: tuple[bytes, bytes], message: str
) -> None:
    data = camt053([sample()], version=8)
    assert change[0] in data
    with pytest.raises(StatementRefused, match=message) as refused:
        parse_camt(data.replace(change[0], change[1], 1))
    if message in ("is in USD", "more decimals", "not an amount"):
        assert "statement 2026-03-A" in refused.value.detail and "entry" in refused.value.detail


def test_camt053_arithmetic_refusal_gives_the_figures() -> None:
    bad = statement("S-9", 10_000, [entry("2026-03-02", "1.00", ref="R")], closing=10_200)
    with pytest.raises(StatementRefused) as refused:
        parse_camt(camt053([bad]))
    text = refused.value.detail
    assert "statement S-9" in text and "opening balance 100.00 EUR" in text
    assert "credits 1.00 EUR" in text and "closing balance is 102.00 EUR" in text
    assert "difference 1.00 EUR" in text


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Id>&lol3;</Id></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Id>&secret;</Id></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/evil.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"/>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_hostile_xml_is_refused_before_any_entity_is_expanded_or_fetched(data: bytes) -> None:
    with pytest.raises(StatementRefused, match=r"DTD"):
        parse_camt(data)


def nested(data: bytes, anchor: bytes, depth: int, name: bytes = b"a") -> bytes:
    """The file with ``depth`` elements nested one in the other before ``anchor``."""
    return data.replace(
        anchor, b"<" + name + b">" * 1 + (b"<" + name + b">") * (depth - 1) + b"x"
        + (b"</" + name + b">") * depth + anchor, 1,
    )  # fmt: skip


#: Where a hostile file can nest: outside any statement, in a statement, a balance, an entry,
#: a transaction's details (the 701 KB file of issue 16 nested 100,000 elements there).
NESTING_PLACES = [b"<BkToCstmrStmt>", b"<Acct>", b"<CdtDbtInd>CRDT</CdtDbtInd><Dt>",
                  b"<BookgDt>", b"<Ustrd>"]  # fmt: skip


@pytest.mark.parametrize("anchor", NESTING_PLACES)
def test_deep_nesting_is_refused_at_the_first_level_too_deep_within_a_memory_limit(
    anchor: bytes,
) -> None:
    data = nested(camt053([sample()], version=8), anchor, 100_000)
    assert len(data) > 700_000
    with memory_limit(256 * 1024 * 1024):  # the unlimited parser took 10.5 GB (issue 16)
        outcome, peak = peak_memory(lambda: parse_camt(data))
    assert isinstance(outcome, StatementRefused), outcome
    detail = outcome.detail
    assert f"the element 'a' is nested {MAX_DEPTH + 1} levels deep (under Document/" in detail
    assert f"never deeper than {MAX_DEPTH} levels" in detail and "download it" in detail
    assert peak < 2 * 1024 * 1024


def test_nesting_a_statement_may_need_is_read() -> None:
    """20 levels deeper than the deepest field read (a party's scheme code is 14 levels down)
    is still a statement, read the same and within the same memory as without them."""
    data = camt053([sample()], version=8)
    deep = nested(data, b"<Ustrd>", 20, b"Prtry")
    assert parse_camt(deep) == parse_camt(data)
    _, flat = peak_memory(lambda: parse_camt(data))
    _, deeper = peak_memory(lambda: parse_camt(deep))
    assert deeper < 2 * flat


@pytest.mark.parametrize(
    ("what", "insert"),
    [
        ("100,000 texts of one element", b"<Ustrd>zz</Ustrd>" * 100_000),
        ("100,000 unknown elements", b"<Xyz>zz</Xyz>" * 100_000),
        ("100,000 elements 50 levels deep", (b"<Nm>" * 50 + b"z" + b"</Nm>" * 50) * 2_000),
        ("one text of 5 MB", b"<Ustrd>" + b"y" * 5_000_000 + b"</Ustrd>"),
    ],
)
def test_a_wide_file_is_read_in_memory_that_follows_its_lines_not_its_size(
    what: str, insert: bytes
) -> None:
    data = camt053([sample()], version=8).replace(b"<Ustrd>", insert + b"<Ustrd>", 1)
    with memory_limit(256 * 1024 * 1024):
        outcome, peak = peak_memory(lambda: parse_camt(data))
    assert isinstance(outcome, list), outcome
    [read] = outcome
    assert read.entries[2].remittance is not None and len(read.entries[2].remittance) <= 500
    assert peak < 1_000_000  # each file is 1.3 to 5 MB


def test_an_entry_with_a_thousand_different_elements_is_refused() -> None:
    many = b"".join(b"<X%d>z</X%d>" % (i, i) for i in range(100_000))
    data = camt053([sample()], version=8).replace(b"<Ustrd>", many + b"<Ustrd>", 1)
    outcome, peak = peak_memory(lambda: parse_camt(data))
    assert isinstance(outcome, StatementRefused), outcome
    assert f"a transaction (TxDtls) holds more than {MAX_PATHS} different elements" in (
        outcome.detail
    )
    assert peak < 2_000_000


def test_the_banks_own_text_is_the_line_text_when_there_is_no_remittance() -> None:
    """A card payment as banks report it: no transaction details, only the entry's
    AddtlNtryInf; a transfer whose only text is the transaction's AddtlTxInf; a remittance,
    when there is one, stays the text."""
    st = statement(
        "S-card",
        10_000,
        [entry("2026-03-02", "12.40", "debit", ref="K1"),
         entry("2026-03-03", "3.00", "debit", ref="K2"),
         entry("2026-03-04", "5.00", ref="K3", remittance="gift")],
    )  # fmt: skip
    data = camt053([st], version=8).decode()
    ntries = data.split("<Ntry>")
    card = ntries[1].split("<NtryDtls>")[0]
    ntries[1] = card + (
        "<AddtlNtryInf>PAIEMENT MAESTRO 02/03 14:12 DELHAIZE IXELLES BE CARTE 6703 XXXX 1234"
        "</AddtlNtryInf></Ntry>\n"
    )
    ntries[2] = (
        ntries[2]
        .replace("</TxDtls>", "<AddtlTxInf>FRAIS DE TENUE DE COMPTE MARS</AddtlTxInf></TxDtls>")
        .replace("</Ntry>", "<AddtlNtryInf>DOMICILIATION</AddtlNtryInf></Ntry>")
    )
    ntries[3] = ntries[3].replace("</Ntry>", "<AddtlNtryInf>VIREMENT</AddtlNtryInf></Ntry>")
    [read] = parse_camt("<Ntry>".join(ntries).encode())
    assert [e.remittance for e in read.entries] == [
        "PAIEMENT MAESTRO 02/03 14:12 DELHAIZE IXELLES BE CARTE 6703 XXXX 1234",
        "FRAIS DE TENUE DE COMPTE MARS",
        "gift",
    ]


def test_truncated_xml_is_refused_as_not_well_formed() -> None:
    data = camt053([sample()])
    with pytest.raises(StatementRefused, match=r"not well-formed XML.*truncated"):
        parse_camt(data[: len(data) // 2])


def test_other_xml_is_not_a_statement() -> None:
    with pytest.raises(StatementRefused, match=r"not an ISO 20022 camt.053"):
        parse_camt(b"<html><body>login expired</body></html>")


def test_a_100_mb_file_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: 100 MB on paper, nothing on disk

    class Counting(io.FileIO):
        served = 0

        def readinto(self, buffer: Any) -> int | None:
            n = super().readinto(buffer)
            Counting.served += n or 0
            return n

    with pytest.raises(StatementRefused, match=r"104,857,600 bytes.*at most 52,428,800"):
        parse_camt(path)
    with Counting(path) as stream, pytest.raises(StatementRefused, match=r"at most"):
        parse_camt(stream)
    assert Counting.served == 0


def test_a_stream_of_unknown_size_is_cut_at_the_limit() -> None:
    class Endless:
        def __init__(self) -> None:
            self.served = 0

        def read(self, n: int = -1) -> bytes:
            n = 65536 if n < 0 else n
            self.served += n
            return b"<" * n

        def seekable(self) -> bool:
            return False

    stream = Endless()
    with pytest.raises(StatementRefused, match=r"at most 1,000,000 bytes"):
        read_all(cast(BinaryIO, stream), 1_000_000)  # read() and seekable(): all it uses
    assert stream.served < 1_200_000


# -- CODA -----------------------------------------------------------------------------------


def test_coda_reads_back_balances_movements_and_structured_communication() -> None:
    data = coda([sample()])
    lines = data.decode("cp1252").splitlines()
    assert all(len(line) == 128 for line in lines)
    assert [line[0] for line in lines[:2]] == ["0", "1"] and lines[-1][0] == "9"
    [read] = parse_coda(data)
    assert read.source_format == "coda" and read.account_iban == FUND_IBAN
    assert (read.opening_minor, read.closing_minor) == (
        125_000,
        125_000 + 7083 - 750 + 2000 - 170000,
    )
    first, charge, free, payout = read.entries
    assert first.creditor_reference == OGM and first.counterparty_name == "Amina Haile"
    assert first.counterparty_iban == PAYER_IBAN
    assert is_charge(charge) and charge.bank_code == "CODA/80/37/000"
    assert payment_reference(free).value == "000000000202"  # type: ignore[union-attr]
    assert payout.end_to_end_id == "FL-E12" and payout.direction is Direction.DEBIT


def test_coda_several_statements_in_one_file() -> None:
    a = sample()
    b = statement(
        "x", closing_of(a), [entry("2026-03-20", "5.00", ref="R9")], end="2026-03-20", sequence=8
    )
    read = parse_coda(coda([a, b]))
    assert [s.statement_id for s in read] == ["2026-007", "2026-008"]
    assert read[1].opening_minor == read[0].closing_minor


def _coda_lines() -> list[str]:
    return coda([sample()]).decode("cp1252").splitlines()


def _coda(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("cp1252")


def test_coda_short_record_is_refused_with_its_line() -> None:
    lines = _coda_lines()
    lines[3] = lines[3][:120]
    with pytest.raises(StatementRefused, match=r"CODA line 4 is 120 characters long"):
        parse_coda(_coda(lines))


def test_coda_without_trailer_is_truncated() -> None:
    with pytest.raises(StatementRefused, match=r"ends without its trailer"):
        parse_coda(_coda(_coda_lines()[:-3]))


def test_coda_trailer_count_and_totals_must_match() -> None:
    lines = _coda_lines()
    trailer = lines[-1]
    with pytest.raises(StatementRefused, match=r"counts 15 records, the file holds 14"):
        parse_coda(_coda([*lines[:-1], trailer[:16] + "000015" + trailer[22:]]))
    debit_total = int(trailer[22:37])
    changed = trailer[:22] + f"{debit_total + 10:015d}" + trailer[37:]
    with pytest.raises(StatementRefused, match=r"trailer .* gives debits of 1707.510"):
        parse_coda(_coda([*lines[:-1], changed]))


def test_coda_movement_amount_changed_breaks_the_balance() -> None:
    lines = _coda_lines()
    i = next(n for n, line in enumerate(lines) if line.startswith("21"))
    movement = lines[i]
    lines[i] = movement[:32] + f"{int(movement[32:47]) + 10:015d}" + movement[47:]
    with pytest.raises(StatementRefused, match=r"trailer|does not add up"):
        parse_coda(_coda(lines))


def test_coda_version_1_and_garbage_are_refused() -> None:
    lines = _coda_lines()
    with pytest.raises(StatementRefused, match=r"only CODA version 2"):
        parse_coda(_coda([lines[0][:127] + "1", *lines[1:]]))
    with pytest.raises(StatementRefused, match=r"not a number"):
        parse_coda(_coda([lines[0], lines[1][:43] + "12345abc" + lines[1][51:], *lines[2:]]))


# -- CSV ------------------------------------------------------------------------------------

BELGIAN = CsvMapping(
    name="be-bank",
    date="Date",
    amount="Montant",
    counterparty="Contrepartie",
    iban="Compte contrepartie",
    communication="Communication",
    reference="Communication structurée",
    bank_reference="Référence",
    type="Type",
    charge_pattern="(?i)frais|charges",
    encoding="cp1252",
    skip_lines=2,
)
SWISS = CsvMapping(
    name="ch-bank",
    date="Buchungsdatum",
    debit="Belastung",
    credit="Gutschrift",
    value_date="Valuta",
    communication="Mitteilung",
    date_format="%d.%m.%Y",
    decimal_separator=".",
    thousands_separator="'",
    delimiter=",",
    account_iban="CH9300762011623852957",
)


def test_csv_with_a_belgian_mapping() -> None:
    st = sample()
    data = csv_export(st, BELGIAN)
    assert data.startswith(b"Export of account") and b";" in data
    [read] = parse_csv(data, BELGIAN, currency="EUR", account_iban=FUND_IBAN)
    assert read.opening_minor is None and read.closing_minor is None  # CSV has no balances
    assert read.source_format == "csv:be-bank" and read.statement_id.startswith("csv-")
    assert [e.signed_minor for e in read.entries] == [7083, -750, 2000, -170000]
    assert read.entries[0].creditor_reference == OGM and read.entries[0].bank_reference == "R1"
    assert is_charge(read.entries[1]) and not is_charge(read.entries[0])


def test_csv_with_a_swiss_mapping_debit_credit_columns() -> None:
    st = statement("S", 0, [entry("2026-03-02", "1234.50", currency="CHF", remittance="Miete"),
                            entry("2026-03-03", "7.00", "debit", currency="CHF")],
                   iban="CH9300762011623852957", currency="CHF")  # fmt: skip
    data = csv_export(st, SWISS).replace(b"1234.50", b"1'234.50")
    [read] = parse_csv(data, SWISS, currency="CHF")
    assert read.account_iban == "CH9300762011623852957"
    assert [(e.signed_minor, e.booking_date) for e in read.entries] == [
        (123450, date(2026, 3, 2)),
        (-700, date(2026, 3, 3)),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((b"70,83", b"70,8x3"), "CSV line 4: amount '70,8x3' is not an amount"),
        ((b"02/03/2026", b"2026-03-02"), "CSV line 4: date '2026-03-02' does not match"),
        ((b"Montant", b"Betrag"), "no column 'Montant'"),
        ((b"70,83", b"70,833"), "more decimals"),
    ],
)
def test_csv_bad_rows_are_refused_with_line_and_column(
    change: tuple[bytes, bytes], message: str
) -> None:
    data = csv_export(sample(), BELGIAN).replace(*change)
    with pytest.raises(StatementRefused, match=message):
        parse_csv(data, BELGIAN, currency="EUR", account_iban=FUND_IBAN)


def test_csv_mapping_is_validated() -> None:
    with pytest.raises(ValidationError, match=r"either an amount column"):
        CsvMapping(name="x", date="D")
    with pytest.raises(ValidationError, match=r"unknown mapping field"):
        CsvMapping.from_dict({"name": "x", "date": "D", "amount": "A", "colour": "red"})
    with pytest.raises(ValidationError, match=r"regex"):
        CsvMapping(name="x", date="D", amount="A", charge_pattern="(")
    assert CsvMapping.from_dict(BELGIAN.to_dict()) == BELGIAN


# -- format, keys and continuity ------------------------------------------------------------


def test_formats_are_recognised() -> None:
    assert detect_format(camt053([sample()])) is StatementFormat.CAMT
    assert detect_format(coda([sample()])) is StatementFormat.CODA
    assert detect_format(csv_export(sample(), BELGIAN)) is StatementFormat.CSV


def test_line_keys_use_the_bank_reference_else_a_keyed_fingerprint() -> None:
    twice = entry("2026-03-02", "20.00", remittance="rent")
    keys = line_keys(HASH_KEY, [entry("2026-03-02", "1.00", ref="R1"), twice, twice])
    assert keys[0] == "ref:R1"
    assert keys[1].startswith("fp:") and keys[2].startswith("fp:") and keys[1] != keys[2]
    assert keys[1] == fingerprint(HASH_KEY, twice, 0)
    assert fingerprint(b"another key 0123456789", twice, 0) != keys[1]
    assert all(len(k) <= 64 for k in keys)


def test_iban_digest_is_keyed_and_ignores_spaces() -> None:
    digest = iban_digest(HASH_KEY, "BE68 5390 0754 7034")
    assert digest == iban_digest(HASH_KEY, PAYER_IBAN) and len(digest or "") == 64
    assert digest != iban_digest(b"another key 0123456789", PAYER_IBAN)
    assert PAYER_IBAN not in (digest or "")


def test_continuity_names_both_statements_and_the_difference() -> None:
    st = statement("B", 10_000, [entry("2026-03-20", "1.00", ref="X")])
    check_continuity(st, "A", 10_000, 0)
    check_continuity(st, "A", 10_100, 100)  # an overlap: 1.00 of B came with A already
    with pytest.raises(StatementRefused) as refused:
        check_continuity(st, "A", 12_000, 0)
    assert "statement B" in refused.value.detail and "statement A" in refused.value.detail
    assert "100.00 EUR" in refused.value.detail and "120.00 EUR" in refused.value.detail


def test_end_to_end_ids_name_the_entry_they_pay() -> None:
    assert entry_id_of(end_to_end_id(4711)) == 4711
    assert entry_id_of("NOTPROVIDED") is None and entry_id_of(None) is None


def stored(key: str, closing: str, sequence: int | None, n: int) -> StoredStatement:
    day = date.fromisoformat(closing)
    return StoredStatement(
        n,
        1,
        FUND_IBAN,
        key,
        "test",
        sequence,
        0,
        None,
        0,
        day,
        0,
        0,
        0,
        0,
        datetime(2026, 1, 1),
        "t",
    )


def test_sequence_gaps_follow_dates_skip_unnumbered_and_restart_each_year() -> None:
    series = [
        stored("B", "2026-03-20", 9, 2),
        stored("A", "2026-03-10", 7, 1),
        stored("csv", "2026-03-25", None, 3),
        stored("C", "2026-03-31", 12, 4),
        stored("D", "2027-01-10", 3, 5),  # a new year's numbering, from 1
        stored("E", "2027-01-17", 4, 6),
    ]
    gaps = sequence_gaps(series)
    assert [(g.first, g.last, g.after.statement_key, g.before.statement_key) for g in gaps] == [
        (8, 8, "A", "B"),
        (10, 11, "B", "C"),
        (1, 2, "C", "D"),
    ]
    assert gaps[1].numbers == "nos. 10-11" and gaps[1].holds(11) and not gaps[1].holds(12)
    assert sequence_gaps(series[:2]) != [] and sequence_gaps([series[0]]) == []
