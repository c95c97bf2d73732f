"""What a process that runs fundledger sets up once, at its start: the service (``create_app``)
and the command line call it; no module does any of this on import.

* logging: pyHanko's tracebacks of failed signature checks are silenced (``signing.validate``
  reports each check instead), and the access log never prints a beneficiary's link token;
* the fund's profile: a fund that is not a demo is refused while its profile still has the demo
  fund's values (``Settings.profile_problems``).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports this module at start: nothing heavy
    from ledger.config import Settings

#: The public path of a beneficiary's personal link: ``/b/<token>/...``.
_LINK_TOKEN = re.compile(r"/b/[^/\s\"?]+")


class HideLinkTokens(logging.Filter):
    """Access logs print request paths: keep the beneficiaries' tokens out of them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _LINK_TOKEN.sub("/b/***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def configure_logging() -> None:
    """Idempotent: the filters and levels fundledger's logs need, whatever logs them."""
    # pyHanko logs every failed check at ERROR with a traceback; validate() reports them instead.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideLinkTokens) for f in access.filters):
        access.addFilter(HideLinkTokens())


def profile_refusals(settings: Settings) -> list[str]:
    """Why this fund may not be served: its profile's problems, unless it is a demo fund."""
    return [] if settings.demo else settings.profile_problems()
