"""What the command line prints: control characters escaped, line ends kept."""

from __future__ import annotations

from ledger.cli.output import escape_control


def test_escape_codes_are_shown_not_sent_and_line_ends_are_kept() -> None:
    assert escape_control("\x1b[2Jpayer\x07") == "\\x1b[2Jpayer\\x07"
    assert escape_control("a,b\r\nc\td\n") == "a,b\r\nc\td\n"  # a CSV's CR LF, a tab
    assert escape_control("paid\roverwritten") == "paid\\roverwritten"  # a lone CR
    assert escape_control("\x9b31m") == "\\x9b31m"  # the 8-bit CSI
