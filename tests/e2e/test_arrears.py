"""The loans in arrears in a real browser: the treasurer opens them from the menu, follows a
bucket of the day's aging to its list and downloads it as CSV (the formula in a name
neutralised), chooses a social worker, goes back to the last month end, opens a loan; a bad
bucket in the address comes back refused beside its field; the page in French and Dutch.
axe-core clean, photographed at 1366 and 390 px with no sideways scrolling."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.arrears_page import FORMULA_NAME, Late, late_fund
from tests.support.web import LiveServer, choose_language, serious_violations, shoot, sign_in


def _said(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).replace("\u202f", " ").split())


def _checked(page: Any, name: str) -> None:
    assert serious_violations(page) == []
    shoot(page, name)


def _listed(page: Any) -> list[str]:
    """The loans of the list, in order."""
    return [
        str(t) for t in page.locator("table.arrears tbody tr td:first-child a").all_inner_texts()
    ]


@pytest.fixture
def late(server: LiveServer) -> dict[str, Late]:
    return late_fund(server.engine, datetime.now(server.settings.zone).date())


def test_the_treasurer_reads_the_arrears(
    server: LiveServer, page: Any, late: dict[str, Late], tmp_path: Path
) -> None:
    ids = {name: item.loan.id for name, item in late.items()}
    sign_in(page, server.url, "tom")
    page.get_by_role("link", name="Arrears", exact=True).click()
    page.wait_for_url(f"{server.url}/arrears")
    assert _said(page.get_by_role("status")).startswith("Loans late: 5")
    assert _listed(page) == [ids[n] for n in ("long", "partial", "month", "formula", "short")]
    assert page.locator("figure.chart svg").count() == 1
    _checked(page, "arrears")

    # A bucket of the day's aging opens its list.
    page.locator("table.aging").get_by_role("link", name="1–30", exact=True).click()
    page.wait_for_url(lambda url: "bucket=1-30" in url)
    assert _listed(page) == [ids["formula"], ids["short"]]
    assert page.locator("#bucket").input_value() == "1-30"

    # That list as CSV, the name a spreadsheet would run as a formula neutralised.
    with page.expect_download() as info:
        page.get_by_role("link", name="Download this list (CSV)").click()
    today = datetime.now(server.settings.zone).date()
    assert info.value.suggested_filename == f"arrears-{today.isoformat()}.csv"
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(str(target))
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r[0], r[2]) for r in rows[1:]] == [
        (ids["formula"], "'" + FORMULA_NAME),
        (ids["short"], "cas"),
    ]

    # One social worker's late loans, of every bucket, by the form.
    page.locator("#bucket").select_option("")
    page.locator("#caseworker").select_option("cor")
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_url(lambda url: "caseworker=cor" in url)
    assert _listed(page) == [ids["long"], ids["partial"]]
    _checked(page, "arrears-social-worker")

    # Back at the last month end: the loan first due 10 days ago may not be late then.
    page.get_by_role("link", name="Show every late loan").click()
    page.wait_for_url(lambda url: "caseworker" not in url)
    month_end = page.locator("nav.quick-days a").nth(1)
    month_end.click()
    page.wait_for_url(lambda url: "as_of=" in url)
    end = today.replace(day=1) - timedelta(days=1)
    assert page.locator("#as_of").input_value() == end.isoformat()
    expected = [
        n for n in ("long", "partial", "month", "formula", "short") if late[n].first_due < end
    ]
    assert _listed(page) == [ids[n] for n in expected]
    _checked(page, "arrears-month-end")

    # Each loan links to its page.
    page.get_by_role("link", name=ids["long"], exact=True).click()
    page.wait_for_url(f"{server.url}/loans/{ids['long']}")

    # A bucket the page does not know, typed in the address: refused beside its field.
    page.goto(f"{server.url}/arrears?bucket=current")
    assert "Choose a group of days late from the list." in _said(page.locator("#bucket-error"))
    assert page.locator("#error-summary").is_visible()
    _checked(page, "arrears-refused")

    # In French and in Dutch, figures in their own way.
    page.goto(f"{server.url}/arrears")
    choose_language(page, "fr")
    page.wait_for_url(f"{server.url}/arrears")
    assert _said(page.get_by_role("status")).startswith("Prêts en retard : 5")
    assert "1 700,00 €" in _said(page.locator("table.arrears")).replace("\u00a0", " ")
    _checked(page, "arrears-fr")
    choose_language(page, "nl")
    assert _said(page.get_by_role("status")).startswith("Leningen met achterstand: 5")
    _checked(page, "arrears-nl")
