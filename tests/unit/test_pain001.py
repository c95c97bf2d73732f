"""The pain.001 writer: what the bank reads, checked against the ISO 20022 schema (the XSD
shipped by sepaxml)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from ledger.bank.pain001 import NAMESPACE, Debtor, Transfer, sepa_text, write_pain001
from ledger.domain.errors import ValidationError

XSD = etree.XMLSchema(
    etree.parse(str(Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.09.xsd"))
)
NS = {"p": NAMESPACE}
FUND = Debtor("Fonds de garanties locatives ASBL", "BE71 0961 2345 6769")
AT = datetime(2026, 3, 15, 12, 30, 15, tzinfo=UTC)
IBANS = ["DE89370400440532013000", "FR1420041010050500013M02606", "BE62510007547061"]


def transfers(*minors: int) -> list[Transfer]:
    return [
        Transfer(f"FL-E{10 + i}", m, f"Créancier {i}", IBANS[i % 3], f"Rental deposit, loan L{i}")
        for i, m in enumerate(minors)
    ]


def write(items: list[Transfer], currency: str = "EUR", debtor: Debtor = FUND) -> bytes:
    return write_pain001(
        message_id="FLPF-0123456789abcdef",
        created_at=AT,
        execution_date=date(2026, 3, 16),
        currency=currency,
        debtor=debtor,
        transfers=items,
    )


def test_a_file_the_bank_reads() -> None:
    doc = etree.fromstring(write(transfers(170_000, 100_000, 5_001)))
    assert XSD.validate(doc), XSD.error_log
    header = doc.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert header is not None
    assert header.findtext("p:MsgId", namespaces=NS) == "FLPF-0123456789abcdef"
    assert header.findtext("p:CreDtTm", namespaces=NS) == "2026-03-15T12:30:15"
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "3"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "2750.01"
    info = doc.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert info is not None
    assert info.findtext("p:BtchBookg", namespaces=NS) == "true"
    assert info.findtext("p:CtrlSum", namespaces=NS) == "2750.01"
    assert info.findtext("p:PmtTpInf/p:SvcLvl/p:Cd", namespaces=NS) == "SEPA"
    assert info.findtext("p:ReqdExctnDt/p:Dt", namespaces=NS) == "2026-03-16"
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "BE71096123456769"
    assert info.findtext("p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "NOTPROVIDED"
    rows = [
        (
            t.findtext("p:PmtId/p:EndToEndId", namespaces=NS),
            t.findtext("p:Amt/p:InstdAmt", namespaces=NS),
            t.find("p:Amt/p:InstdAmt", NS).get("Ccy"),
            t.findtext("p:Cdtr/p:Nm", namespaces=NS),
            t.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS),
            t.findtext("p:RmtInf/p:Ustrd", namespaces=NS),
        )
        for t in info.findall("p:CdtTrfTxInf", NS)
    ]
    assert rows == [
        ("FL-E10", "1700.00", "EUR", "Creancier 0", IBANS[0], "Rental deposit, loan L0"),
        ("FL-E11", "1000.00", "EUR", "Creancier 1", IBANS[1], "Rental deposit, loan L1"),
        ("FL-E12", "50.01", "EUR", "Creancier 2", IBANS[2], "Rental deposit, loan L2"),
    ]


def test_the_same_arguments_make_the_same_bytes() -> None:
    assert write(transfers(100, 200)) == write(transfers(100, 200))
    assert write(transfers(100, 200)) != write(transfers(100, 201))


def test_a_bic_and_a_file_in_another_currency() -> None:
    doc = etree.fromstring(write(transfers(123), "CHF", Debtor("Fonds", IBANS[0], "GEBABEBB")))
    assert XSD.validate(doc), XSD.error_log
    assert doc.findtext(".//p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == "GEBABEBB"
    assert doc.find(".//p:PmtTpInf", NS) is None  # SEPA is EUR only
    assert doc.findtext(".//p:InstdAmt", namespaces=NS) == "1.23"


@given(st.lists(st.integers(min_value=1, max_value=10**11 - 1), min_size=1, max_size=30))
def test_the_control_sum_is_exact(minors: list[int]) -> None:
    doc = etree.fromstring(write(transfers(*minors)))
    amounts = [Decimal(a.text or "") for a in doc.iterfind(".//p:InstdAmt", NS)]
    assert [int(a * 100) for a in amounts] == minors
    assert Decimal(doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) or "") == sum(amounts)
    assert sum(amounts) * 100 == sum(minors)


def test_names_are_written_in_the_sepa_character_set() -> None:
    assert sepa_text("Ångström & Söhne  GmbH", 70) == "Angstrom Sohne GmbH"
    assert sepa_text("Анна", 70) == ""  # another script: nothing the bank can read
    assert len(sepa_text("x" * 100, 70)) == 70
    with pytest.raises(ValidationError, match=r"name \(in Latin letters\) and IBAN"):
        write([Transfer("FL-E1", 100, "Анна", IBANS[0], "r")])


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "at least one transfer"),
        (transfers(0), "must be positive"),
        ([*transfers(1), *transfers(2)], "appears twice"),
        ([Transfer("FL E1", 1, "A", IBANS[0], "r")], "end-to-end id"),
        ([Transfer("FL-E1", 1, "A", "DE00 0000", "r")], "not a valid IBAN"),
    ],
)
def test_refusals(items: list[Transfer], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        write(items)


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        write([Transfer("FL-E1", 1.5, "A", IBANS[0], "r")])  # type: ignore[arg-type]


def test_a_time_without_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        write_pain001(
            message_id="M",
            created_at=datetime(2026, 3, 15),
            execution_date=date(2026, 3, 16),
            currency="EUR",
            debtor=FUND,
            transfers=transfers(1),
        )
