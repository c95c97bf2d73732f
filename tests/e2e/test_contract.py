"""The contract of an approved loan in a real browser, from the first click to the payout
booked: made in the fund's legal language with the beneficiary's after it, signed on screen
("read and approved" and the name typed, the signature drawn with a mouse, or with a finger on a
phone) or on paper (the scan uploaded), signed for the fund by a second staff member, then paid
out by the treasurer."""

from __future__ import annotations

import io
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pypdf import PdfReader

from ledger.config import Settings
from ledger.documents.signing import create_fund_key
from ledger.domain.beneficiaries import PersonalData
from ledger.domain.eligibility import PublicAlternatives
from ledger.domain.loans import DepositForm, Lease, Loan, LoanTerms
from ledger.domain.money import money
from ledger.domain.policy import LoanPolicy
from ledger.domain.roles import Actor, Role
from ledger.domain.statuses import LoanStatus
from ledger.services import contracts, loans
from ledger.services.journal import post
from tests.support.ledgertext import entry
from tests.support.pdf import minimal_pdf
from tests.support.web import SCREENS, LiveServer, serious_violations, shoot, sign_in

KEY_PASSWORD = "e2e-key-password"
AMOUNT = "1.400,00\u00a0€"  # the fund's locale (en_BE) writes it so
CAS = Actor("cas", Role.CASEWORKER)
COR = Actor("cor", Role.CASEWORKER)
TOM = Actor("tom", Role.TREASURER)
AUD = Actor("aud", Role.AUDITOR)


@pytest.fixture(scope="session")
def fund_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-key") / "fund.p12"
    path.write_bytes(create_fund_key("Fonds de garanties locatives asbl", KEY_PASSWORD))
    return path


@pytest.fixture
def web_settings(
    web_settings: Settings, tmp_path: Path, fund_key: Path, request: pytest.FixtureRequest
) -> Settings:
    """The e2e fund's settings, with a signing key for the fund's signature (and, when a test
    is parametrized with one, its largest scan)."""
    key = tmp_path / "fund.p12"
    shutil.copyfile(fund_key, key)
    update: dict[str, object] = {
        "signing_key_file": key,
        "signing_key_password": SecretStr(KEY_PASSWORD),
    }
    if hasattr(request, "param"):
        update["max_upload_bytes"] = request.param
    return web_settings.model_copy(update=update)


def approved_loan(server: LiveServer, name: str, language: str) -> Loan:
    """A 1,400.00 deposit for a lease starting in two weeks, approved by a second caseworker,
    and capital in the fund's bank to pay it out."""
    today = server.uow().today()
    post(
        server.uow(),
        TOM,
        [entry(f"{today.isoformat()} capital 10000.00 EUR Dr 1000 Cr 3000 ; founding capital")],
    )
    person = loans.register_beneficiary(
        server.uow(),
        CAS,
        "EUR",
        PersonalData(
            name,
            language,
            monthly_net_income=money("1500.00", "EUR"),
            own_savings=money("50.00", "EUR"),
            residence_status="residence permit",
            permit_end_date=today + timedelta(days=4 * 365),
            household_size=1,
        ),
    )
    start = today + timedelta(days=14)
    terms = LoanTerms(
        deposit=money("1400.00", "EUR"),
        monthly_rent=money("700.00", "EUR"),
        jurisdiction="BE-BRU",
        deposit_form=DepositForm.BLOCKED_ACCOUNT,
        lease_start=start,
        lease_end=start + timedelta(days=3 * 365),
        first_due_date=start + timedelta(days=31),
        installments=14,
        public_alternatives=PublicAlternatives.REFUSED,
    )
    lease = Lease("Immo Exemple SRL", "Rue de la Loi 1, 1000 Bruxelles")
    loan = loans.open_application(server.uow(), CAS, person.id, terms, lease, loans.LoanPolicy())
    loans.submit(server.uow(), CAS, loan.id, loans.LoanPolicy())
    return loans.approve(server.uow(), COR, loan.id, LoanPolicy())


def draw(page: Any, selector: str = "#signature") -> None:
    """A signature drawn with the mouse across the pad."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.7)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(x + w * (0.1 + 0.04 * i), y + h * (0.7 - 0.4 * ((i % 4) / 3)))
    page.mouse.up()


def draw_with_a_finger(page: Any, selector: str = "#signature") -> None:
    """The same with a finger: the browser's own touch input (Chrome DevTools Protocol), which
    the page sees as pointer events of type touch."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    points = [(x + w * (0.1 + 0.05 * i), y + h * (0.3 + 0.03 * i)) for i in range(16)]
    for kind, (px, py) in [
        ("touchStart", points[0]),
        *[("touchMove", p) for p in points[1:]],
        ("touchEnd", points[-1]),
    ]:
        touches = [] if kind == "touchEnd" else [{"x": px, "y": py, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touches})
    cdp.detach()


def flash(page: Any) -> str:
    text: str = page.locator(".flash").inner_text()
    return text


def test_signed_on_screen_then_for_the_fund_then_paid_out(server: LiveServer, page: Any) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    loan = approved_loan(server, "Olena Kovalenko / Олена Коваленко", "nl")
    url = f"{server.url}/loans/{loan.id}/contract"

    # 1. The caseworker makes the contract: binding in French (the fund's legal language),
    # then in the beneficiary's language (Dutch), for information.
    sign_in(page, server.url, "cas")
    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == f"Contract of loan {loan.id}"
    assert page.locator(f"a[href='/loans/{loan.id}']").count() == 1  # back to the loan
    assert serious_violations(page) == []
    shoot(page, "contract-to-make")
    page.get_by_role("button", name="Make the contract").click()
    page.wait_for_url(url)
    assert flash(page) == "Contract version 1 is made, in French with a translation into Dutch."
    assert "French with a translation into Dutch" in page.locator("dl.facts").inner_text()
    assert "Made, not signed yet" in page.locator("dl.facts").inner_text()

    # The PDF: shown in the browser (inline), the same file to print or download.
    link = page.get_by_role("link", name="Open to read or print – Contract (not signed)")
    assert link.get_attribute("target") == "_blank"
    shown = page.request.get(server.url + str(link.get_attribute("href")))
    assert shown.status == 200
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline;")
    assert shown.body().startswith(b"%PDF-")
    with page.expect_popup() as opened:
        link.click()
    viewer = opened.value  # the browser's own PDF viewer, under the pages' CSP
    viewer.wait_for_load_state()
    assert viewer.url == server.url + str(link.get_attribute("href"))
    viewer.wait_for_timeout(2000)  # the viewer draws the pages after "load"
    viewer.screenshot(path=str(SCREENS / "contract-pdf-laptop.png"))
    viewer.close()
    saved = page.request.get(server.url + str(link.get_attribute("href")) + "?download=1")
    assert saved.headers["content-disposition"].startswith("attachment;")
    assert saved.body() == shown.body()

    # 2. Signing: nothing drawn, no words typed: said beside the field, nothing recorded.
    pad = page.locator("#signature")
    assert pad.get_attribute("tabindex") == "-1"  # not a keyboard stop; the hint says why
    assert "Cannot draw (keyboard only)? Sign on paper instead." in page.inner_text("#sign")
    assert page.locator("#signature-status").inner_text() == "Nothing drawn yet."
    page.locator("#full_name").fill("Olena Kovalenko")
    page.get_by_role("button", name="Sign the contract").click()
    assert page.locator("#signature-error").inner_text().startswith("Draw the signature")
    assert page.locator("#full_name").input_value() == "Olena Kovalenko"  # kept
    assert page.locator(".error-summary").is_visible()
    assert serious_violations(page) == []
    shoot(page, "contract-sign-refused")

    draw(page)
    assert page.locator("#signature-status").inner_text().startswith("Signature drawn")
    page.get_by_role("button", name="Clear").click()
    assert page.locator("#signature-status").inner_text() == "Nothing drawn yet."
    # The words "read and approved" are typed, in one of the contract's languages or English.
    words = page.get_by_label("Read and approved")
    assert "lu et approuvé / gelezen en goedgekeurd / read and approved" in page.inner_text(
        "#read_and_approved-hint"
    )
    draw(page)
    words.fill("ok")
    page.get_by_role("button", name="Sign the contract").click()
    assert (
        page.locator("#read_and_approved-error")
        .inner_text()
        .startswith(
            "Have the person type the words that come before a signature on paper: lu et approuvé"
        )
    )
    assert serious_violations(page) == []
    shoot(page, "contract-sign-words-refused")

    draw(page)  # the page came back: the drawing is made again
    words.fill("gelezen en goedgekeurd")
    page.locator("#full_name").fill("Olena Someone")  # not the registered name
    page.get_by_role("button", name="Sign the contract").click()
    assert (
        page.locator("#full_name-error")
        .inner_text()
        .startswith("This is not the name registered for this person.")
    )
    assert words.input_value() == "gelezen en goedgekeurd"  # kept
    status = contracts.contract_status(server.uow(), AUD, loan.id)
    assert status.state == "generated"  # nothing recorded by the refusals

    draw(page)
    words.fill("Gelezen en goedgekeurd")
    page.locator("#full_name").fill("kovalenko olena")
    page.get_by_role("button", name="Sign the contract").click()
    page.wait_for_url(url)
    assert flash(page).startswith("The person's signature is recorded.")
    assert "You recorded the person's signature" in page.inner_text("#next")
    assert page.get_by_role("button", name="Sign for the fund").count() == 0  # four eyes
    shoot(page, "contract-signed-by-beneficiary")
    page.get_by_role("button", name="Sign out").click()

    # 3. Another caseworker signs for the fund.
    sign_in(page, server.url, "cor")
    page.goto(url)
    signed_link = page.get_by_role(
        "link", name="Open to read or print – Signed by the person on screen"
    )
    signed_pdf = page.request.get(server.url + str(signed_link.get_attribute("href")))
    assert signed_pdf.ok
    # The words and the name as typed, and the time in the fund's zone (never a bare UTC).
    stamped = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(signed_pdf.body())).pages)
    assert "Gelezen en goedgekeurd" in stamped and "kovalenko olena" in stamped
    assert " CET (UTC+01:00)" in stamped or " CEST (UTC+02:00)" in stamped
    page.get_by_role("button", name="Sign for the fund").click()
    page.wait_for_url(url)
    assert flash(page).startswith("The fund signed the contract.")
    assert "waiting for the payout by the treasurer" in page.inner_text("#next")
    assert page.get_by_role("button", name="Book the payout of 1.400,00 €").count() == 0
    assert serious_violations(page) == []
    shoot(page, "contract-waiting-for-payout")
    view = loans.get_loan(server.uow(), AUD, loan.id)
    assert view.loan.status is LoanStatus.CONTRACT_SIGNED
    page.get_by_role("button", name="Sign out").click()

    # 4. The treasurer pays out; a resent form books once.
    sign_in(page, server.url, "tom")
    page.goto(url)
    assert page.get_by_role("link", name="Open to read or print").count() == 0  # no personal data
    today = server.uow().today()  # the fund's day
    day = f"{today.day:02d} {today.strftime('%b')} {today.year}"  # en's medium date
    assert page.locator("#payout_on").input_value() == today.isoformat()
    assert serious_violations(page) == []
    shoot(page, "contract-payout")
    page.locator("#payout_on").fill("")
    page.get_by_role("button", name="Book the payout of 1.400,00 €").click()
    assert page.locator("#payout_on-error").inner_text() == "Enter a date, like 31/01/2027."
    page.locator("#payout_on").fill(today.isoformat())
    resent = {
        "csrf": page.locator("#payout input[name=csrf]").input_value(),
        "idempotency_key": page.locator("#payout input[name=idempotency_key]").input_value(),
        "payout_on": today.isoformat(),
    }
    page.get_by_role("button", name="Book the payout of 1.400,00 €").click()
    page.wait_for_url(url)
    assert flash(page) == f"Payout of {AMOUNT} booked on {day}. The loan is now being repaid."
    assert "The loan is being repaid" in page.inner_text("#next")
    shoot(page, "contract-paid-out")
    # The same form sent again (a double click, a browser's resend): booked once.
    again = page.request.post(f"{server.url}/loans/{loan.id}/payout", form=resent)
    assert again.ok and "was already booked: it is booked only once." in again.text()

    paid = loans.get_loan(server.uow(), AUD, loan.id).loan
    assert paid.status is LoanStatus.ACTIVE and paid.disbursement_entry_id is not None
    balances = loans.balances_of(server.uow(), AUD, loan.id)
    assert balances.ledger_loan == 140_000  # the deposit, booked once
    assert [e for e in errors if "status of 422" not in e] == [], errors


@pytest.mark.parametrize("web_settings", [50_000], indirect=True)  # the largest scan
def test_signed_on_paper_at_a_phone_then_waiting_for_payout(
    server: LiveServer, page: Any, tmp_path: Path
) -> None:
    big = b"0" * 60_000
    loan = approved_loan(server, "Hélène Dupont-Moreau", "fr")
    url = f"{server.url}/loans/{loan.id}/contract"
    sign_in(page, server.url, "cas")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    page.get_by_role("button", name="Make the contract").click()
    page.wait_for_url(url)
    assert flash(page) == "Contract version 1 is made, in French."

    # At a phone's width the pad fits, and a finger draws on it.
    pad = page.locator("#signature").bounding_box()
    assert pad is not None and pad["x"] >= 0 and pad["x"] + pad["width"] <= 390
    assert pad["height"] >= 80
    draw_with_a_finger(page)
    assert page.locator("#signature-status").inner_text().startswith("Signature drawn")
    shoot(page, "contract-sign-phone")

    # A file that is not a PDF is refused, says why, and nothing is kept.
    not_pdf = tmp_path / "photo.pdf"
    not_pdf.write_bytes(b"GIF89a not a pdf at all")
    page.set_input_files("#scan", str(not_pdf))
    page.get_by_role("button", name="Upload the signed contract").click()
    assert page.locator("#scan-error").inner_text().startswith("This file cannot be used")
    assert serious_violations(page) == []
    shoot(page, "contract-scan-refused")
    assert contracts.contract_status(server.uow(), AUD, loan.id).state == "generated"

    # A file over the size limit is refused in the browser, before a long upload.
    page.set_input_files(
        "#scan",
        files=[{"name": "huge.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-" + big}],
    )
    assert (
        page.locator("#scan-js-error").inner_text().startswith("The file is larger than 0,05 MB.")
    )
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    page.get_by_role("button", name="Upload the signed contract").click()
    page.wait_for_timeout(300)
    assert sent == [] and page.locator("#scan-js-error").is_visible()
    assert page.locator("#scan").get_attribute("aria-invalid") == "true"

    # No file chosen: said in the reader's words.
    page.set_input_files("#scan", [])
    assert page.locator("#scan-js-error").is_hidden()
    page.get_by_role("button", name="Upload the signed contract").click()
    assert page.locator("#scan-error").inner_text() == "Choose the PDF file of the signed contract."

    scan = tmp_path / "signed.pdf"
    scan.write_bytes(minimal_pdf())
    page.set_input_files("#scan", str(scan))
    page.get_by_role("button", name="Upload the signed contract").click()
    page.wait_for_url(url)
    assert flash(page).startswith("The signed contract (scan) is saved.")
    assert "Signed by the person on paper (scan)" in page.inner_text("#documents")
    page.get_by_role("button", name="Sign out").click()

    # An admin signs for the fund; the caseworker then sees the loan waiting for its payout.
    sign_in(page, server.url, "ada")
    page.goto(url)
    page.get_by_role("button", name="Sign for the fund").click()
    page.wait_for_url(url)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server.url, "cas")
    page.goto(url)
    assert "Contract signed. The loan is waiting for the payout by the treasurer." in (
        page.inner_text("#next")
    )
    assert page.locator("#payout").count() == 0
    assert serious_violations(page) == []
    shoot(page, "contract-caseworker-waits")
    got = loans.get_loan(server.uow(), AUD, loan.id).loan
    assert got.status is LoanStatus.CONTRACT_SIGNED


def test_the_page_speaks_the_users_language(server: LiveServer, page: Any) -> None:
    loan = approved_loan(server, "Amina Haile", "de")
    sign_in(page, server.url, "cor")
    page.goto(f"{server.url}/")
    page.locator("#language").select_option("fr")
    page.get_by_role("heading", name="Accueil").wait_for()
    page.goto(f"{server.url}/loans/{loan.id}/contract")
    assert page.get_by_role("heading", level=1).inner_text() == f"Contrat du prêt {loan.id}"
    page.get_by_role("button", name="Préparer le contrat").click()
    page.wait_for_url(f"{server.url}/loans/{loan.id}/contract")
    assert flash(page) == (
        "La version 1 du contrat est préparée, en français avec une traduction en allemand."
    )
    assert serious_violations(page) == []
    shoot(page, "contract-fr")
