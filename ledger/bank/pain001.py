"""SEPA credit transfer initiation (ISO 20022 pain.001.001.09) for the fund's payouts.

One message, one payment information block with batch booking requested, one ``CdtTrfTxInf``
per disbursement or refund. Each transfer's ``EndToEndId`` is ``end_to_end_id(entry_id)`` of
the entry it pays; the bank brings it back on the statement (camt.053 ``TxDtls``: a batch debit
whose transactions carry their amounts is read as one line per transfer), and the import links
the debit to that entry.

The bytes depend only on the arguments (no clock, no random id), so a stored file can be made
again byte for byte and its SHA-256 compared. Written with lxml rather than ``sepaxml``: sepaxml
stamps the creation time from the clock and draws a random message id, so a file could not be
made again identically; sepaxml's XSDs check these files in the tests.

EUR files are SEPA (service level ``SEPA``, charges ``SLEV``); a file in another currency
(CHF) is a plain ISO 20022 pain.001 without the SEPA service level.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from lxml import etree

from ledger.domain.beneficiaries import checked_iban
from ledger.domain.errors import ValidationError
from ledger.domain.money import from_minor

SCHEMA = "pain.001.001.09"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
MAX_NAME = 70  # EPC: names at most 70 characters
MAX_REMITTANCE = 140  # one Ustrd
MAX_ID = 35  # MsgId, PmtInfId, EndToEndId

# The EPC's basic Latin character set for SEPA messages.
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_ID = re.compile(r"^[A-Za-z0-9/\-?:().,'+]{1,35}$")


@dataclass(frozen=True, slots=True)
class Debtor:
    """The fund's account the transfers are paid from."""

    name: str
    iban: str
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    end_to_end_id: str
    amount_minor: int
    creditor_name: str
    creditor_iban: str
    remittance: str  # unstructured: the loan and its reference, nothing about the person


def sepa_text(text: str, limit: int) -> str:
    """Text in the SEPA character set: accents dropped (é -> e), other characters become
    spaces, whitespace folded, cut to ``limit``. May come back empty (a name in another
    script): the caller refuses that."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = _NOT_SEPA.sub(" ", ascii_only)
    return " ".join(cleaned.split())[:limit].strip()


def _check_id(value: str, what: str) -> None:
    if not _ID.match(value):
        raise ValidationError(
            f"{what} {value!r} must be 1 to {MAX_ID} characters of A-Z, a-z, 0-9 and /-?:().,'+",
            what.replace(" ", "_"),
        )


def _amount(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency).amount:f}"


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}")
    if text is not None:
        node.text = text
    return node


def _iso_datetime(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValidationError("the creation time must carry its time zone", "created_at")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _check_transfers(transfers: Sequence[Transfer]) -> None:
    """Each transfer has its own valid end-to-end id and a positive amount in minor units."""
    seen: set[str] = set()
    for t in transfers:
        _check_id(t.end_to_end_id, "end-to-end id")
        if t.end_to_end_id in seen:
            raise ValidationError(f"end-to-end id {t.end_to_end_id} appears twice", "entry_ids")
        seen.add(t.end_to_end_id)
        if isinstance(t.amount_minor, bool) or not isinstance(t.amount_minor, int):
            raise TypeError("amounts are integers of minor units")
        if t.amount_minor <= 0:
            raise ValidationError(
                f"transfer {t.end_to_end_id}: the amount must be positive", "amount"
            )


def write_pain001(
    *,
    message_id: str,
    created_at: datetime,
    execution_date: date,
    currency: str,
    debtor: Debtor,
    transfers: Sequence[Transfer],
) -> bytes:
    """The pain.001 document paying ``transfers`` from ``debtor``'s account (UTF-8 bytes)."""
    _check_id(message_id, "message id")
    if not transfers:
        raise ValidationError("a payment file needs at least one transfer", "entry_ids")
    debtor_iban = checked_iban(debtor.iban, "fund_iban")
    debtor_name = sepa_text(debtor.name, MAX_NAME)
    if debtor_iban is None or not debtor_name:
        raise ValidationError(
            "the fund's account holder name and IBAN are needed (FUNDLEDGER_FUND_NAME or "
            "FUNDLEDGER_FUND_CREDITOR_NAME, FUNDLEDGER_FUND_IBAN)",
            "fund_iban",
        )
    _check_transfers(transfers)
    total = sum(t.amount_minor for t in transfers)
    sepa = currency == "EUR"

    root = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    initiation = _sub(root, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", _iso_datetime(created_at))
    _sub(header, "NbOfTxs", str(len(transfers)))
    _sub(header, "CtrlSum", _amount(total, currency))
    _sub(_sub(header, "InitgPty"), "Nm", debtor_name)

    info = _sub(initiation, "PmtInf")
    _sub(info, "PmtInfId", message_id)
    _sub(info, "PmtMtd", "TRF")
    _sub(info, "BtchBookg", "true")
    _sub(info, "NbOfTxs", str(len(transfers)))
    _sub(info, "CtrlSum", _amount(total, currency))
    if sepa:
        _sub(_sub(_sub(info, "PmtTpInf"), "SvcLvl"), "Cd", "SEPA")
    _sub(_sub(info, "ReqdExctnDt"), "Dt", execution_date.isoformat())
    _sub(_sub(info, "Dbtr"), "Nm", debtor_name)
    account = _sub(info, "DbtrAcct")
    _sub(_sub(account, "Id"), "IBAN", debtor_iban)
    _sub(account, "Ccy", currency)
    institution = _sub(_sub(info, "DbtrAgt"), "FinInstnId")
    if debtor.bic:
        _sub(institution, "BICFI", debtor.bic)
    else:
        _sub(_sub(institution, "Othr"), "Id", "NOTPROVIDED")
    if sepa:
        _sub(info, "ChrgBr", "SLEV")

    for t in transfers:
        name = sepa_text(t.creditor_name, MAX_NAME)
        iban = checked_iban(t.creditor_iban, "iban")
        if not name or iban is None:
            raise ValidationError(
                f"transfer {t.end_to_end_id}: the creditor's name (in Latin letters) and IBAN "
                "are needed",
                "iban",
            )
        tx = _sub(info, "CdtTrfTxInf")
        _sub(_sub(tx, "PmtId"), "EndToEndId", t.end_to_end_id)
        _sub(_sub(tx, "Amt"), "InstdAmt", _amount(t.amount_minor, currency)).set("Ccy", currency)
        _sub(_sub(tx, "Cdtr"), "Nm", name)
        _sub(_sub(_sub(tx, "CdtrAcct"), "Id"), "IBAN", iban)
        remittance = sepa_text(t.remittance, MAX_REMITTANCE)
        if remittance:
            _sub(_sub(tx, "RmtInf"), "Ustrd", remittance)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
