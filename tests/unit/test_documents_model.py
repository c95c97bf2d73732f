"""What goes into a contract or a schedule: the fund's details and the builders from a loan."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError as SettingsError

from ledger.config import Settings
from ledger.documents.model import ContractData, FundInfo, contract_data, schedule_data
from ledger.domain.beneficiaries import PersonalData
from ledger.domain.errors import ValidationError
from ledger.domain.loans import Lease
from ledger.domain.money import money
from ledger.domain.references import ogm_reference, qrr_reference, rf_reference
from ledger.domain.statuses import LoanStatus
from tests.support.documents import contract, fund_chf, fund_eur, view

PERSON = PersonalData(full_name="Анна Петровна Иванова", preferred_language="nl")
LEASE = Lease("Immo Exemple SRL", "Rue Fictive 10, 1000 Bruxelles")


def eur(amount: str) -> object:
    return money(amount, "EUR")


# -- the fund --------------------------------------------------------------------------------


def test_fund_iban_is_compacted_and_gives_the_country() -> None:
    fund = fund_eur(iban="be71 0961 2345 6769")
    assert fund.iban == "BE71096123456769"
    assert fund.country == "BE"
    assert fund.postal_lines == ("Rue de l'Exemple 1", "1000 Bruxelles")


def test_a_qr_reference_is_paid_to_the_qr_iban_and_needs_one() -> None:
    assert fund_chf().account_for(qrr_reference(1)) == "CH4431999123000889012"
    assert fund_chf().account_for(rf_reference(1)) == "CH9300762011623852957"
    with pytest.raises(ValidationError, match="QR-IBAN"):
        fund_chf(qr_iban=None).account_for(qrr_reference(1))


def test_a_qr_iban_takes_qr_references_only_and_they_go_to_it_only() -> None:
    # An ordinary IBAN given as the QR-IBAN cannot take a QR reference (QRR)...
    ordinary = fund_chf(qr_iban="CH93 0076 2011 6238 5295 7")
    with pytest.raises(ValidationError, match="is not a QR-IBAN") as refused:
        ordinary.account_for(qrr_reference(1))
    assert refused.value.field == "qr_iban"
    # ...nor a QR-IBAN given as the ordinary IBAN an RF creditor reference (SCOR) or an OGM.
    qr_as_iban = fund_chf(iban="CH44 3199 9123 0008 8901 2", qr_iban=None)
    for reference in (rf_reference(1), ogm_reference(1)):
        with pytest.raises(ValidationError, match="is a QR-IBAN") as refused:
            qr_as_iban.account_for(reference)
        assert refused.value.field == "iban"
        assert "FUNDLEDGER_FUND_QR_IBAN" in refused.value.detail


def test_fund_from_settings() -> None:
    settings = Settings(
        fund_name="Fonds de garantie",
        fund_iban="CH93 0076 2011 6238 5295 7",
        fund_qr_iban="CH44 3199 9123 0008 8901 2",
        fund_bic="POFICHBE",
        fund_address="c/o Maison des associations; Rue de Bourg 1",
        fund_postcode="1003",
        fund_city="Lausanne",
        fund_phone="+41 21 000 00 00",
        fund_email="fonds@example.ch",
    )
    fund = FundInfo.from_settings(settings)
    assert fund.address_lines == ("c/o Maison des associations", "Rue de Bourg 1")
    assert fund.postal_lines[-1] == "1003 Lausanne"
    assert fund.creditor_name == "Fonds de garantie"  # defaults to the fund's name
    assert (fund.iban, fund.qr_iban, fund.bic) == (
        "CH9300762011623852957",
        "CH4431999123000889012",
        "POFICHBE",
    )
    assert fund.country == "CH"


def test_default_settings_make_a_valid_demo_fund() -> None:
    fund = FundInfo.from_settings(Settings())
    assert fund.iban.startswith("BE") and fund.country == "BE"
    assert fund.qr_iban is None


@pytest.mark.parametrize(
    "changes",
    [
        {"fund_iban": "BE71 0961 2345 6760"},  # wrong check digits
        {"fund_qr_iban": "CH93 0076 2011 6238 5295 7"},  # an ordinary IBAN is not a QR-IBAN
        {"fund_iban": "CH44 3199 9123 0008 8901 2"},  # a QR-IBAN is not the ordinary IBAN
        {"fund_bic": "NOT A BIC"},
        {"fund_country": "Belgium"},
    ],
)
def test_settings_refuse_bad_bank_details(changes: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings(**changes)  # type: ignore[arg-type]


# -- contracts -------------------------------------------------------------------------------


def test_contract_data_from_a_loan() -> None:
    data = contract_data(view(LoanStatus.APPROVED), PERSON, LEASE, fund_eur(), version=2)
    assert data.contract_id == "C-L000042"
    assert data.version == 2
    assert data.beneficiary_name == "Анна Петровна Иванова"
    assert data.language == "nl"
    assert data.legal_basis == "Brusselse Huisvestingscode, art. 248"
    assert [str(i.amount.amount) for i in data.installments] == ["333.33", "333.33", "333.34"]
    assert [i.due_date for i in data.installments] == [
        date(2026, 2, 5),
        date(2026, 3, 5),
        date(2026, 4, 5),
    ]
    assert data.deposit == eur("1000.00")
    assert data.issued_on == date(2026, 3, 20)  # the view's date
    assert data.payment_reference == "000000004242"  # 42, check digits 42 mod 97 = 42
    assert data.payment_reference_display == "+++000/0000/04242+++"
    assert data.iban == "BE71096123456769"


@pytest.mark.parametrize(
    "lease", [None, Lease(None, "Rue Fictive 10"), Lease("Immo SRL", "  ")], ids=str
)
def test_a_contract_needs_the_lease(lease: Lease | None) -> None:
    with pytest.raises(ValidationError, match="lease"):
        contract_data(view(LoanStatus.APPROVED), PERSON, lease, fund_eur(), version=1)


def test_a_contract_whose_schedule_does_not_add_up_is_refused() -> None:
    good = contract()
    fields = {f: getattr(good, f) for f in good.__dataclass_fields__}
    with pytest.raises(ValidationError, match="add up"):
        ContractData(**{**fields, "installments": good.installments[:-1]})
    with pytest.raises(ValidationError, match="version"):
        ContractData(**{**fields, "version": 0})


# -- schedules -------------------------------------------------------------------------------


def test_schedule_of_an_active_loan_in_arrears() -> None:
    # 5 Feb paid, 5 Mar unpaid, 5 Apr still to come on 20 March.
    data = schedule_data(view(paid=(33333, 0, 0)), PERSON, fund_eur())
    assert data.paid == eur("333.33")
    assert data.outstanding == eur("666.67")
    assert data.overdue == eur("333.33")
    assert data.next_due_date == date(2026, 4, 5)
    assert data.next_amount_due == eur("666.67")  # the late one and the next one
    assert [str(line.remaining.amount) for line in data.lines] == ["0.00", "333.33", "333.34"]


def test_schedule_paid_up_to_date_asks_for_the_next_installment() -> None:
    data = schedule_data(view(paid=(33333, 33333, 0)), PERSON, fund_eur())
    assert data.overdue == eur("0.00")
    assert (data.next_due_date, data.next_amount_due) == (date(2026, 4, 5), eur("333.34"))


def test_schedule_after_the_last_due_date_asks_for_what_is_late() -> None:
    data = schedule_data(view(paid=(33333, 0, 0), as_of=date(2026, 5, 1)), PERSON, fund_eur())
    assert data.overdue == eur("666.67")
    assert (data.next_due_date, data.next_amount_due) == (date(2026, 5, 1), eur("666.67"))


def test_schedule_before_the_payout_asks_nothing_and_says_the_first_installment() -> None:
    data = schedule_data(view(LoanStatus.APPROVED, as_of=date(2026, 3, 20)), PERSON, fund_eur())
    assert data.outstanding == eur("0.00")  # nothing is owed before the money went out
    assert data.overdue == eur("0.00")  # nothing is late either
    assert (data.next_due_date, data.next_amount_due) == (None, eur("0.00"))  # nor asked
    assert not data.standing.asks_payment
    first = (data.standing.next_due_date, data.money(data.standing.next_amount))
    assert first == (date(2026, 2, 5), eur("333.33"))  # what will come, told as such
    assert [str(line.remaining.amount) for line in data.lines] == ["333.33", "333.33", "333.34"]


@pytest.mark.parametrize("status", [LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF, LoanStatus.REJECTED])
def test_nothing_is_asked_of_a_closed_written_off_or_rejected_loan(status: LoanStatus) -> None:
    paid = (33333, 33333, 33334) if status is LoanStatus.CLOSED else (0, 0, 0)
    data = schedule_data(view(status, paid=paid), PERSON, fund_eur())
    assert data.outstanding == eur("0.00")
    assert data.next_due_date is None
    assert data.next_amount_due == eur("0.00")


def test_overpaid_loan_shows_the_credit() -> None:
    data = schedule_data(
        view(LoanStatus.OVERPAID, paid=(33333, 33333, 33334), credit=1500), PERSON, fund_eur()
    )
    assert data.credit == eur("15.00")
    assert data.next_amount_due == eur("0.00")
