"""What the command line prints is text for a terminal: control characters in it (a payer's
name or remittance from a bank file, a note) are shown escaped (``\\x1b``), never sent to the
terminal, where an escape sequence could clear the screen, rewrite what was printed before or
set the window's title. Line breaks (a CSV's CR LF too) and tabs are kept.

``escape_control`` is the rule; ``EscapingStream`` applies it to everything written to standard
output, so that no command has to remember it (``ledger.cli.app`` installs it).
"""

from __future__ import annotations

import re
from typing import Any, TextIO

#: Control characters but tab and line feed; a carriage return only where it ends a CSV's
#: line (CR LF): alone it moves the cursor back over what was printed.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def escape_control(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class EscapingStream:
    """A text stream that writes to ``inner`` with control characters escaped."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(escape_control(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install(stream_owner: Any) -> None:
    """Wrap ``stream_owner.stdout`` (``sys``) once."""
    if not isinstance(stream_owner.stdout, EscapingStream):
        stream_owner.stdout = EscapingStream(stream_owner.stdout)
