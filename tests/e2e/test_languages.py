"""Every language's contract, schedule and personal page, rendered and kept as images to look at
(tests/e2e/screens/languages/): ``<lang>-contract-<page>.png`` and ``<lang>-schedule-<page>.png``
(the PDFs at 50 dpi) and ``<lang>-page.png`` (the page in Chromium at 390 px).

What a machine can check is checked: each document is in its language, every character of its
text is in a font shipped in contracts/fonts and every font is one of them, embedded (no system
font, no empty box for a missing glyph), and the page is right to left in Arabic and Persian.

The 15 languages beyond en, fr, nl, de are the translators' work; a language whose catalog is
not there yet is rendered from a stand-in in its script (tests/support/pseudo_catalogs.py), so
that its letters, line breaking and direction are looked at all the same. All run in this one
process, one document after the other (about a minute for the 19 languages).
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pypdf import PdfReader

from ledger.documents.i18n import contracts_dir
from ledger.documents.render import render_contract, render_schedule, render_schedule_html
from tests.support.documents import contract, schedule
from tests.support.pseudo_catalogs import locale_with
from tests.support.web import SCREENS

#: The documents' languages (issue 15): the staff's four and the beneficiaries' fifteen more.
LANGUAGES = (
    *("en", "fr", "nl", "de"),
    *("ar", "bg", "es", "fa", "hu", "pt", "ro", "ru", "sq", "th", "ti", "tr", "uk", "vi", "zh"),
)
RIGHT_TO_LEFT = {"ar", "fa"}
#: A beneficiary's name as it might be registered, in the language's script.
NAMES = {
    "ar": "فاطمة الزهراء",
    "fa": "پریسا کریمی",
    "th": "สมชาย ใจดี",
    "zh": "王小明",
    "ti": "ሰላም ተስፋይ",
    "ru": "Анна Петровна Иванова",
    "uk": "Олена Ковальчук",
    "bg": "Мария Георгиева",
    "vi": "Nguyễn Thị Ánh",
    "tr": "Ayşe Yıldız",
    "ro": "Ioana Țăranu",
    "hu": "Kovács Erzsébet",
    "sq": "Arbër Çela",
}
OUT = SCREENS / "languages"


@pytest.fixture(scope="module")
def locale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """The shipped catalogs, and a stand-in for each language that has none yet."""
    with locale_with(tmp_path_factory.mktemp("locale"), LANGUAGES) as stand_ins:
        yield stand_ins


@pytest.fixture(scope="module")
def weasyprint_warnings() -> Iterator[list[logging.LogRecord]]:
    """WeasyPrint's warnings while the documents render (a glyph no font has: ".notdef")."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.WARNING)
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@cache
def shipped_fonts() -> dict[str, set[int]]:
    """Each shipped font's PDF name (``FundLedger-Sans-Bold``...) -> the characters it has."""
    fonts: dict[str, set[int]] = {}
    for path in (contracts_dir() / "fonts").glob("*.[ot]tf"):
        font = TTFont(path, lazy=True)
        fonts[path.name] = set(font.getBestCmap())
    return fonts


def characters(pdf: bytes) -> str:
    """Every character of the document's text, as drawn."""
    document = pdfium.PdfDocument(pdf)
    try:
        text = "".join(page.get_textpage().get_text_range() for page in document)
        # PDFium writes a hyphen that ends a line ("jour-" / "là") as U+FFFE.
        return text.replace("\ufffe", "-")
    finally:
        document.close()


def fonts_of(pdf: bytes) -> dict[str, bool]:
    """Each font's name (without its subset tag) -> whether its program is embedded."""
    found: dict[str, bool] = {}

    def visit(resources: Any) -> None:
        res = resources.get_object() if resources is not None else {}
        for font in res.get("/Font", {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor", {})
            name = str(font["/BaseFont"]).lstrip("/").split("+", 1)[-1]
            found[name] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
        for xobject in res.get("/XObject", {}).values():
            visit(xobject.get_object().get("/Resources"))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        visit(page.get("/Resources"))
    return found


def printable(text: str) -> set[str]:
    """The characters a font must draw: not spaces, line ends or invisible format marks."""
    return {c for c in text if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf")}


def pictures(pdf: bytes, name: str) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob(f"{name}-*.png"):
        old.unlink()
    path = OUT / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(OUT / name)], check=True)
    path.unlink()
    return sorted(OUT.glob(f"{name}-*.png"))


def check_document(pdf: bytes, warnings: list[logging.LogRecord]) -> None:
    fonts = fonts_of(pdf)
    assert fonts and all(fonts.values()), f"every font is embedded: {fonts}"
    assert all(f.startswith("FundLedger-") or f.startswith("Liberation") for f in fonts), (
        f"only the shipped fonts, no system font: {sorted(fonts)}"
    )
    covered = set().union(*shipped_fonts().values())
    missing = sorted(c for c in printable(characters(pdf)) if ord(c) not in covered)
    assert missing == [], f"characters no shipped font has: {missing}"
    notdef = [r.getMessage() for r in warnings if ".notdef" in r.getMessage()]
    assert notdef == [], notdef


@pytest.mark.parametrize("language", LANGUAGES)
def test_contract_and_schedule_in_every_language(
    language: str, locale: list[str], weasyprint_warnings: list[logging.LogRecord]
) -> None:
    name = NAMES.get(language, "Amina Haddad")
    weasyprint_warnings.clear()
    made = render_contract(contract(language, name=name))
    # Binding in the fund's legal language (the test fund's: French), the person's after it.
    assert (made.language, made.fell_back) == ("fr", False)
    assert made.translation == (None if language == "fr" else language)
    check_document(made.pdf, weasyprint_warnings)
    assert pictures(made.pdf, f"{language}-contract")

    weasyprint_warnings.clear()
    plan = render_schedule(schedule(language, name=name))
    assert (plan.language, plan.fell_back) == (language, False)
    check_document(plan.pdf, weasyprint_warnings)
    assert pictures(plan.pdf, f"{language}-schedule")


#: The fonts a phone has for each script, as the page's font list names them (screen.css).
#: The machine running the tests may have none of them: the page's browser is given the
#: shipped ones as system fonts, as a phone has its owner's (the page itself loads no font).
PHONE_FONTS = {
    "Noto Naskh Arabic": ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf"),
    "Noto Sans Thai": ("NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf"),
    "Noto Sans CJK SC": ("NotoSansCJKsc-Regular.otf",),
    "Abyssinica SIL": ("AbyssinicaSIL-Regular.ttf",),
}


def test_the_page_names_the_phone_fonts() -> None:
    css = (contracts_dir() / "templates" / "screen.css").read_text(encoding="utf-8")
    assert all(f'"{family}"' in css for family in PHONE_FONTS)


#: The script's font a page in that language is drawn with (Latin, Greek, Cyrillic and
#: Arabic: the machine's DejaVu Sans, which comes first in the page's list).
SCRIPT_FONT = {"th": "Noto Sans Thai", "zh": "Noto Sans CJK SC", "ti": "Abyssinica SIL"}


@pytest.fixture(scope="module")
def phone(
    browser_type: Any,
    browser_type_launch_args: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """A page at 390 px in a browser whose system has the phone's fonts besides its own."""
    folder = tmp_path_factory.mktemp("phone-fonts")
    for files in PHONE_FONTS.values():
        for file in files:
            (folder / file).symlink_to(contracts_dir() / "fonts" / file)
    config = folder / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        '<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{folder}</dir><cachedir>{folder / 'cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(config)}
    browser = browser_type.launch(**browser_type_launch_args, env=env)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    yield page
    browser.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_page_in_every_language_at_phone_width(
    language: str, locale: list[str], phone: Any
) -> None:
    html = render_schedule_html(schedule(language, name=NAMES.get(language, "Amina Haddad")))
    page = phone
    page.set_content(html)
    root = page.locator("html")
    assert root.get_attribute("lang") == language
    assert root.get_attribute("dir") == ("rtl" if language in RIGHT_TO_LEFT else "ltr")
    direction = page.evaluate("getComputedStyle(document.querySelector('h1')).direction")
    assert direction == ("rtl" if language in RIGHT_TO_LEFT else "ltr")
    if language in SCRIPT_FONT:  # the title in the phone's font of its script, not a box
        assert SCRIPT_FONT[language] in platform_fonts(page, "h1")
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{language}-page.png"), full_page=True)


def platform_fonts(page: Any, selector: str) -> list[str]:
    """The fonts Chromium drew the element's text with."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return [f["familyName"] for f in fonts]
    finally:
        cdp.detach()
