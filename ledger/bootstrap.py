"""The composition root: what a process that runs fundledger sets up once, at its start. The
service (``create_app``) and the command line call it; no module does any of this on import.

* the runtime (``build``): settings, the database engine (its schema checked), the clock and
  the fund's lending rules, built once and handed to the API's routes and the commands, which
  open their units of work from it (``Runtime.unit_of_work``);
* logging: pyHanko's tracebacks of failed signature checks are silenced (``signing.validate``
  reports each check instead), and the access log never prints a beneficiary's link token;
* the fund's profile: a fund that is not a demo is refused while its profile still has the demo
  fund's values (``Settings.profile_problems``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports this module at start: nothing heavy
    from sqlalchemy import Engine

    from ledger.config import Settings
    from ledger.domain.policy import LoanPolicy
    from ledger.store.uow import Clock, UnitOfWork

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


@dataclass(frozen=True, slots=True)
class Runtime:
    """What every request and command of one process shares."""

    settings: Settings
    engine: Engine
    clock: Clock
    policy: LoanPolicy  # the fund's lending rules (FUNDLEDGER_RULES_FILE, or the defaults)
    owns_engine: bool = True  # built here: disposed by ``close``

    def unit_of_work(self, *, readonly: bool = False) -> UnitOfWork:
        """A new unit of work on the fund's database, in the fund's time zone."""
        from ledger.store.uow import UnitOfWork

        return UnitOfWork(self.engine, clock=self.clock, readonly=readonly, zone=self.settings.zone)

    def close(self) -> None:
        if self.owns_engine:
            self.engine.dispose()


def open_engine(settings: Settings, *, check: bool = True) -> Engine:
    """The engine for ``settings.database_url``; with ``check``, refused (``SchemaOutdated``,
    ``OperationalError``) unless the database's schema is this code's, and disposed then."""
    from ledger.store.database import make_engine
    from ledger.store.migrate import check_schema

    engine = make_engine(settings.database_url)
    if check:
        try:
            check_schema(engine)
        except Exception:
            engine.dispose()
            raise
    return engine


def build(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
) -> Runtime:
    """The runtime for ``settings`` (default: the environment's). A given ``engine`` is used as
    it is (its schema still checked) and left open by ``close``; a bad rules file, an outdated
    schema or an unreachable database is refused here, before anything is served."""
    from ledger.config import get_settings
    from ledger.fund.rules_file import load_policy
    from ledger.store.migrate import check_schema
    from ledger.store.uow import utc_now

    settings = settings or get_settings()
    configure_logging()
    owns_engine = engine is None
    if engine is None:
        engine = open_engine(settings)
    else:
        check_schema(engine)
    try:
        policy = load_policy(
            settings.rules_file, settings.currency, qr_iban=settings.fund_qr_iban is not None
        )
    except Exception:
        if owns_engine:
            engine.dispose()
        raise
    return Runtime(settings, engine, clock or utc_now, policy, owns_engine)
