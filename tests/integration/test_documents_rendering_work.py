"""Rendering without repeated work, and the same bytes as before: fonts subset from fonts
without their layout tables (and reused for the same glyphs), and the mailing on a pool of
processes giving, schedule for schedule, what one process gives."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pypdf import PdfReader
from weasyprint.pdf import fonts as weasyprint_fonts

from ledger.documents import fontsubset, mailing, stamps
from ledger.documents.fontsubset import FONT_TIMESTAMP
from ledger.documents.i18n import contracts_dir
from ledger.documents.render import render_contract, render_schedule
from tests.support.documents import contract, schedule

NAMES = (
    ("fr", "Amina Haddad"),
    ("nl", "فاطمة الزهراء"),
    ("en", "Анна Петровна Иванова"),
    ("de", "ሰላም ተስፋይ"),
    ("am", "Nguyễn Thị Ánh"),  # no catalog: the fund's legal language (fr), said so
)


@pytest.fixture
def fonttools_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """WeasyPrint's fontTools subsetting, whether or not the machine has HarfBuzz-Subset."""
    monkeypatch.setattr(weasyprint_fonts, "harfbuzz_subset", None)
    yield
    fontsubset.install()


def shipped_fonts() -> list[Path]:
    return sorted((contracts_dir() / "fonts").glob("*.[ot]tf"))


def render_all() -> list[str]:
    hashes = [render_contract(contract("fr")).sha256, render_contract(contract("de")).sha256]
    hashes += [render_schedule(schedule(lang, name=name)).sha256 for lang, name in NAMES]
    hashes.append(render_schedule(schedule("fr", chf=True)).sha256)  # the QR-bill's Liberation
    return hashes


def test_documents_are_byte_for_byte_those_weasyprint_makes_alone(
    fonttools_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WeasyPrint alone stamps its subsets with the time now unless told the one fontsubset uses
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(FONT_TIMESTAMP))
    fontsubset.uninstall()
    alone = render_all()
    assert fontsubset.install()
    faster = render_all()
    assert faster == alone
    assert fontsubset._subsets, "the documents' fonts did not go through fontsubset"
    again = render_all()  # now with the subsets reused
    assert again == alone


@pytest.mark.parametrize("path", shipped_fonts(), ids=lambda p: p.name)
def test_each_shipped_font_subsets_to_the_same_bytes(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fontTools stamps a subset with the time unless told a fixed one, as rendering does
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(FONT_TIMESTAMP))
    content = path.read_bytes()
    stripped = fontsubset.without_layout_tables(content, 0)
    tables = set(TTFont(io.BytesIO(stripped)).keys())
    assert not tables & {"GSUB", "GPOS"}
    assert ("glyf" in tables or "CFF " in tables) and "cmap" in tables

    assert fontsubset.install()
    original = fontsubset._original
    font_class = weasyprint_fonts.Font

    def font(missing: dict[int, int]) -> Any:
        stand_in = font_class.__new__(font_class)
        stand_in.file_content, stand_in.index = content, 0
        stand_in.missing, stand_in.family = missing, path.stem.encode()
        return stand_in

    glyphs = {gid: 0 for gid in range(3, 400, 3)}
    subsets = {}
    for hinting in (False, True):
        for missing in ({}, {0x1F600: 65000}):
            by_weasyprint = font(missing)
            original(by_weasyprint, glyphs, hinting)
            ours = font(missing)
            fontsubset._fonttools_subset(ours, glyphs, hinting)
            assert ours.file_content == by_weasyprint.file_content
            subsets[hinting, bool(missing)] = ours.file_content
    assert len(set(subsets.values())) > 1  # each of these changes the subset

    calls: list[int] = []
    monkeypatch.setattr(fontsubset, "_original", lambda *args: calls.append(1))
    reused = font({})
    fontsubset._fonttools_subset(reused, glyphs, True)
    assert calls == [] and reused.file_content == subsets[True, False]


def test_the_mailing_on_two_processes_gives_what_one_gives() -> None:
    schedules = [schedule(lang, name=name, paid=n) for n, (lang, name) in enumerate(NAMES)]
    alone = [render_schedule(s) for s in schedules]
    pooled = list(mailing.render_schedules(schedules, workers=2))
    assert [r.sha256 for r in pooled] == [r.sha256 for r in alone]
    assert [r.language for r in pooled] == ["fr", "nl", "en", "de", "fr"]
    assert pooled[4].fell_back and pooled[4].requested_language == "am"
    assert [r.sha256 for r in mailing.render_schedules(schedules[:2], workers=1)] == [
        r.sha256 for r in alone[:2]
    ]
    with pytest.raises(ValueError, match="at least one worker"):
        list(mailing.render_schedules(schedules, workers=0))


@pytest.mark.parametrize("epoch", [None, "1700000000"])
def test_the_bytes_do_not_depend_on_the_process_environment(
    epoch: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fontTools stamps what it saves with SOURCE_DATE_EPOCH or the time now: a document's bytes
    must come from the document alone (a mailing worker once rendered other bytes than its
    parent because a test had removed the variable from the parent)."""
    expected = render_schedule(schedule("fr", name="Amina Haddad")).sha256
    if epoch is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    fontsubset.without_layout_tables.cache_clear()
    fontsubset._subsets.clear()
    assert render_schedule(schedule("fr", name="Amina Haddad")).sha256 == expected


def test_a_font_collection_is_left_as_it_is() -> None:
    """A system font Pango falls back to may be a collection (.ttc): fontTools then subsets
    the n-th font of it, so it is handed over whole, layout tables and all."""
    from fontTools.ttLib import TTCollection

    collection = TTCollection()
    collection.fonts = [TTFont(str(path)) for path in shipped_fonts()[:2]]
    out = io.BytesIO()
    collection.save(out)
    content = out.getvalue()
    assert content[:4] == b"ttcf"
    for index in (0, 1):
        assert fontsubset.without_layout_tables(content, index) is content


def block_fonts(pdf: bytes) -> set[str]:
    page: Any = PdfReader(io.BytesIO(pdf)).pages[0]
    fonts = page["/Resources"]["/Font"]
    return {str(fonts[name].get_object()["/BaseFont"]).split("+", 1)[-1] for name in fonts}


def test_signature_blocks_share_one_set_up_and_still_print_every_script() -> None:
    """The blocks stamped into contracts load their stylesheet and fonts once per process."""
    latin = stamps._block_pdf("<p>Amina Haddad</p>")
    both = stamps._block_pdf('<p dir="auto">Олена Коваленко ራሄል</p><p>2026-03-15 12:00 UTC</p>')
    mark = stamps._block_pdf('<div class="mark"><p>Fonds</p><p>PAdES &#x2713;</p></div>')
    assert stamps._block_setup.cache_info().currsize == 1
    assert stamps._block_setup.cache_info().hits >= 2
    assert block_fonts(latin) == {"Signature-Sans"}
    assert block_fonts(both) == {"Signature-Sans", "Signature-Ethiopic"}
    assert "Signature-Sans" in block_fonts(mark)
    for block in (latin, both, mark):
        box = PdfReader(io.BytesIO(block)).pages[0].mediabox
        assert (float(box.width), float(box.height)) == (stamps.BLOCK_WIDTH, stamps.BLOCK_HEIGHT)
    text = PdfReader(io.BytesIO(both)).pages[0].extract_text()
    assert "Олена Коваленко" in text and "2026-03-15 12:00 UTC" in text
