"""The composition root: what a process that runs fundledger sets up once, at its start. The
service (``create_app``) and the command line call it; no module does any of this on import.

* the runtime (``build``): settings, the database engine (its schema checked), the clock and
  the fund's lending rules, built once and handed to the API's routes and the commands, which
  open their units of work from it (``Runtime.unit_of_work``);
* logging: pyHanko's tracebacks of failed signature checks are silenced (``signing.validate``
  reports each check instead), and no log (access, errors, any logger) prints a beneficiary's
  link token;
* the fund's profile: a fund that is not a demo is refused while its profile still has the demo
  fund's values (``Settings.profile_problems``).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command line imports this module at start: nothing heavy
    from sqlalchemy import Engine

    from ledger.config import Settings
    from ledger.domain.policy import LoanPolicy
    from ledger.store.uow import Clock, UnitOfWork

#: The public path of a beneficiary's personal link: ``/b/<token>/...``.
_LINK_TOKEN = re.compile(r"/b/[^/\s\"'?#]+")


def hide_link_tokens(text: str) -> str:
    return _LINK_TOKEN.sub("/b/***", text)


class HideLinkTokens(logging.Filter):
    """Masks the beneficiaries' link tokens in a record: its message, its arguments, and the
    text of its exception (an error on ``/b/<token>`` names the path, and so may its cause)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def mask_record(record: logging.LogRecord) -> None:
    if getattr(record, "_link_tokens_hidden", False):
        return
    record._link_tokens_hidden = True
    if isinstance(record.args, tuple):
        record.args = tuple(_masked_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _masked_arg(v) for k, v in record.args.items()}
    if isinstance(record.msg, str):
        record.msg = hide_link_tokens(record.msg)
    else:  # an object logged as the message: its text, masked
        with contextlib.suppress(Exception):  # one that cannot be formatted: the logger's
            record.msg, record.args = hide_link_tokens(record.getMessage()), ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = hide_link_tokens(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = hide_link_tokens(record.exc_text)
    if record.stack_info:
        record.stack_info = hide_link_tokens(record.stack_info)


def _masked_arg(arg: object) -> object:
    """A string, or an object whose text holds a link (an URL object): its masked text."""
    if isinstance(arg, (int, float)) or arg is None:
        return arg
    try:
        text = str(arg)
    except Exception:
        return arg
    masked = hide_link_tokens(text)
    return masked if masked != text or isinstance(arg, str) else arg


def _masking_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        mask_record(record)
        return record

    make._hides_link_tokens = True  # type: ignore[attr-defined]
    return make


def configure_logging() -> None:
    """Idempotent: the filters and levels fundledger's logs need, whatever logs them."""
    # pyHanko logs every failed check at ERROR with a traceback; validate() reports them instead.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    # Every record of every logger (ours, uvicorn's, libraries') is masked as it is made: a
    # filter on one logger does not see what its children propagate.
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "_hides_link_tokens", False):
        logging.setLogRecordFactory(_masking_factory(factory))
    # Kept for records made before (or around) the factory, e.g. by a handler of its own.
    for name in ("uvicorn.access", "uvicorn.error", ""):
        logger = logging.getLogger(name)
        if not any(isinstance(f, HideLinkTokens) for f in logger.filters):
            logger.addFilter(HideLinkTokens())


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
