"""An amount as JSON: the exact decimal string, its currency and its minor units. Shared by the
API's responses and the documents the CLI prints (``month reconcile --json``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ledger.domain.money import from_minor


class MoneyOut(BaseModel):
    amount: str = Field(
        description="exact decimal string; a balance is negative on the credit side",
        examples=["12.34"],
    )
    currency: str = Field(examples=["EUR"])
    minor: int = Field(description="the same amount in integer minor units (cents)")

    @classmethod
    def of(cls, minor: int, code: str) -> MoneyOut:
        return cls(amount=format(from_minor(minor, code).amount, "f"), currency=code, minor=minor)
