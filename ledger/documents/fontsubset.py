"""Font subsetting without repeated work, for WeasyPrint's fontTools path; the same bytes out.

Every PDF embeds the subset of each font it uses (PDF/A). Without the system's HarfBuzz-Subset
library WeasyPrint subsets with fontTools, from the whole font file, for every font of every
document, and most of that time is waste:

* fontTools (4.68) reads and converts the font's GSUB and GPOS tables (the shaping rules: the
  largest tables of DejaVu Sans) before it drops them, as WeasyPrint asks it to. They are
  removed here once per font file and process, and fontTools is given the font without them.
  fontTools also drops a legacy ``kern`` table when the font has GPOS; it is dropped with them.
  The subset comes out byte for byte the same (checked by
  ``tests/integration/test_documents_rendering_work.py``).
* The same font subset to the same glyphs gives the same bytes: the last results are kept, so
  the headings' bold font of a mailing in one language, say, is subset once.

The subset is made here with WeasyPrint's own fontTools options, and stamped with a fixed
modification time (``FONT_TIMESTAMP``). fontTools otherwise stamps each font it saves with the
time now, or ``SOURCE_DATE_EPOCH`` when the process has it: the bytes of a document then depended
on the process's environment (a mailing worker rendered other bytes than its parent once a test
had removed the variable). Now they depend on the document alone, in any process.

Each embedded subset is named with a tag of its own (``ABCDEF+Font-Name``, PDF 32000 9.6.4):
six capital letters from a hash of the font's name and the glyphs kept. WeasyPrint derives the
tag from the font's description alone, so two subsets of one font (the contract's text and a
signature block drawn into it later, each laid out on its own) had one tag for two different
font programs. ``install()`` also names them (``subset_tag``); ``uninstall()`` leaves that.

Nothing changes what Pango shapes with (it reads the font files themselves): only the input of
the subsetting, after the layout. ``install()`` is idempotent and called where WeasyPrint is
set up (``render._printing``, ``stamps``); with HarfBuzz-Subset present WeasyPrint does not use
fontTools and this has no effect.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

#: Tables WeasyPrint has fontTools drop which fontTools nevertheless reads first.
DROPPED_LAYOUT = ("GSUB", "GPOS")
#: What every embedded font says it was modified at: 2000-01-01T00:00:00Z, in seconds since 1970
#: (the value documents were rendered with under ``SOURCE_DATE_EPOCH`` before: same bytes).
FONT_TIMESTAMP = 946684800
SUBSETS_KEPT = 128  # about 45 KiB each

_original: Any = None
_original_fonts_dictionary: Any = None


@functools.lru_cache(maxsize=16)
def without_layout_tables(content: bytes, index: int) -> bytes:
    """The font file ``content`` without GSUB and GPOS (and ``kern`` when it has GPOS, which
    fontTools' subsetter would drop too); the other tables are copied as they are."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    if index != 0 or content[:4] == b"ttcf":
        return content  # a font collection (a system font Pango fell back to): left as it is
    font = TTFont(io.BytesIO(content), lazy=True, recalcTimestamp=False)
    if not any(tag in font for tag in DROPPED_LAYOUT):
        return content
    if "GPOS" in font and "kern" in font:
        del font["kern"]
    for tag in DROPPED_LAYOUT:
        if tag in font:
            del font[tag]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


_SubsetKey = tuple[bytes, int, frozenset[int], bool, bool]
_subsets: OrderedDict[_SubsetKey, bytes] = OrderedDict()
_lock = threading.Lock()  # the service renders in several threads


def subset_font(
    content: bytes, index: int, glyphs: frozenset[int], hinting: bool, notdef: bool
) -> bytes | None:
    """The font ``content`` subset to the glyph ids ``glyphs``, as WeasyPrint's fontTools step
    makes it (same options, same tables dropped), stamped ``FONT_TIMESTAMP``; None when fontTools
    cannot subset it (WeasyPrint then embeds the whole font)."""
    from fontTools import subset  # type: ignore[import-untyped]
    from fontTools.misc.timeTools import timestampSinceEpoch  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont, TTLibError

    options = subset.Options(
        retain_gids=True,
        passthrough_tables=True,
        ignore_missing_glyphs=True,
        hinting=hinting,
        desubroutinize=True,
        notdef_outline=notdef,
    )
    options.drop_tables += ["GSUB", "GPOS", "SVG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=glyphs)
    try:
        font = TTFont(io.BytesIO(content), fontNumber=index, recalcTimestamp=False)
        subsetter.subset(font)
    except TTLibError:
        log.warning("fontTools could not subset a font: it is embedded whole", exc_info=True)
        return None
    if "head" in font:
        font["head"].modified = timestampSinceEpoch(FONT_TIMESTAMP)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _fonttools_subset(self: Any, to_unicode: dict[int, Any], hinting: bool) -> None:
    """In place of WeasyPrint's ``Font._fonttools_subset``: the same subset, made from the font
    without its layout tables, or reused when the same font was subset to the same glyphs."""
    content = without_layout_tables(self.file_content, self.index)
    # WeasyPrint subsets to the glyph ids (the keys) and draws the notdef glyph when some were
    # missing: that, the font and hinting is all its result depends on.
    key = (content, self.index, frozenset(to_unicode), bool(hinting), bool(self.missing))
    with _lock:
        subset = _subsets.get(key)
        if subset is not None:
            _subsets.move_to_end(key)
    if subset is None:
        made = subset_font(content, self.index, key[2], key[3], key[4])
        if made is None:
            return  # as WeasyPrint does: the whole font, untouched
        subset = made
        with _lock:
            _subsets[key] = subset
            if len(_subsets) > SUBSETS_KEPT:
                _subsets.popitem(last=False)
    self.file_content = subset


def subset_tag(name: bytes, glyphs: Iterable[int]) -> bytes:
    """Six capital letters naming the subset of the font ``name`` to the glyph ids ``glyphs``
    (all of them for a font embedded whole: ``glyphs`` empty)."""
    kept = ",".join(str(g) for g in sorted(set(glyphs))).encode("ascii")
    digest = hashlib.sha256(name + b"\0" + kept).digest()
    return bytes(65 + b % 26 for b in digest[:6])


def _tag_fonts(fonts: dict[Any, Any], subset: bool) -> None:
    """Name each of WeasyPrint's fonts of a document ``/TAG+Name`` with ``subset_tag``.

    WeasyPrint embeds one font program for the fonts that share its ``hash`` (the description's),
    subset to the glyphs they use together (``build_fonts_dictionary``): they get one tag."""
    groups: dict[str, list[Any]] = {}
    for font in fonts.values():
        groups.setdefault(font.hash, []).append(font)
    for group in groups.values():
        glyphs: set[int] = set()
        if subset and not group[0].used_in_forms:
            for font in group:
                glyphs.update(font.to_unicode)
        for font in group:
            base = font.name.split(b"+", 1)[-1]
            font.name = b"/" + subset_tag(base, glyphs) + b"+" + base


def _fonts_dictionary(pdf: Any, fonts: Any, compress: Any, subset: Any, options: Any) -> Any:
    """In place of WeasyPrint's ``build_fonts_dictionary``: the same, fonts tagged first."""
    _tag_fonts(fonts, bool(subset))
    return _original_fonts_dictionary(pdf, fonts, compress, subset, options)


def _install_tags() -> None:
    global _original_fonts_dictionary
    if _original_fonts_dictionary is not None:
        return
    import weasyprint.pdf as pdf_module

    original = getattr(pdf_module, "build_fonts_dictionary", None)
    if original is None:
        log.warning("WeasyPrint has no build_fonts_dictionary: subset tags are WeasyPrint's")
        return
    _original_fonts_dictionary = original
    pdf_module.build_fonts_dictionary = _fonts_dictionary


def install() -> bool:
    """Route WeasyPrint's fontTools subsetting through here, and name subsets with their own
    tags; False if WeasyPrint has no such subsetting step (another version): it then subsets as
    it always does."""
    global _original
    _install_tags()
    if _original is not None:
        return True
    from weasyprint.pdf import fonts

    font_class = getattr(fonts, "Font", None)
    original = getattr(font_class, "_fonttools_subset", None)
    if font_class is None or original is None:
        log.info("WeasyPrint has no fontTools subsetting step: fonts are subset as it does")
        return False
    _original = original
    font_class._fonttools_subset = _fonttools_subset
    return True


def uninstall() -> None:
    """WeasyPrint's own subsetting again (for comparing the two); the subset tags stay ours."""
    global _original
    if _original is None:
        return
    from weasyprint.pdf import fonts

    fonts.Font._fonttools_subset = _original
    _original = None
    with _lock:
        _subsets.clear()
