"""``SettingsInvalid``, apart from ``ledger.config`` so that catching it (the command line's
``main``) loads no pydantic."""

from __future__ import annotations


class SettingsInvalid(ValueError):
    """FUNDLEDGER_* settings that cannot be used: one line for each, naming the variable, what
    is wrong and what it takes (never its value: it may be a password in a database URL)."""
