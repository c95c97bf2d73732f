"""A person who works in the fund's ledger, as the store holds them (never a beneficiary)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str
    active: bool
    password_hash: str
    language: str | None = None  # the web application's; None: the fund's default
