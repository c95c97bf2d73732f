"""fontsubset replaces a private step of WeasyPrint: these fail loudly the day WeasyPrint changes
it, instead of documents silently losing the speed-up or changing bytes."""

from __future__ import annotations

import inspect

from weasyprint.pdf import fonts

from ledger.documents import fontsubset

WHY = (
    "WeasyPrint's private Font._fonttools_subset changed: compare fontsubset.subset_font with "
    "the new WeasyPrint code (options, dropped tables), then update fontsubset and this test"
)


def test_weasyprint_still_subsets_through_the_step_fontsubset_replaces() -> None:
    assert fontsubset.install(), WHY
    original = fontsubset._original
    assert original is not None, WHY
    assert list(inspect.signature(original).parameters) == ["self", "to_unicode", "hinting"], WHY
    assert fonts.Font._fonttools_subset is fontsubset._fonttools_subset
    # the font's attributes both read and write
    source = inspect.getsource(original)
    for used in ("self.file_content", "self.index", "self.missing", "retain_gids=True"):
        assert used in source, WHY
    assert "self._fonttools_subset(" in inspect.getsource(fonts.Font.subset), WHY


def test_install_is_idempotent_and_uninstall_restores_weasyprint() -> None:
    assert fontsubset.install() and fontsubset.install()
    original = fontsubset._original
    fontsubset.uninstall()
    try:
        assert fonts.Font._fonttools_subset is original
    finally:
        assert fontsubset.install()


def test_weasyprint_still_builds_its_fonts_where_the_tags_are_given() -> None:
    import weasyprint.pdf as pdf_module

    assert fontsubset.install()
    assert pdf_module.build_fonts_dictionary is fontsubset._fonts_dictionary
    original = fontsubset._original_fonts_dictionary
    assert list(inspect.signature(original).parameters) == [
        "pdf",
        "fonts",
        "compress",
        "subset",
        "options",
    ]
    source = inspect.getsource(original)
    # WeasyPrint still embeds one program per font hash, named by font.name
    for used in ("fonts_by_file_hash.setdefault(font.hash", "'BaseFont': font.name"):
        assert used in source
    assert "'FontName': font.name" in inspect.getsource(fonts)


def test_a_subset_tag_names_the_font_and_its_glyphs() -> None:
    tag = fontsubset.subset_tag(b"DejaVu-Sans", {3, 1, 2})
    assert len(tag) == 6 and tag.isalpha() and tag.isupper()
    assert fontsubset.subset_tag(b"DejaVu-Sans", [1, 2, 3, 3]) == tag  # a set: order, repeats
    assert fontsubset.subset_tag(b"DejaVu-Sans", {1, 2, 4}) != tag
    assert fontsubset.subset_tag(b"DejaVu-Sans-Bold", {1, 2, 3}) != tag
